/**
 * Sizes as the manifest writes them (`quota: 20G`): which dataset properties are sizes, which
 * of those read `none` as 0 (`zfs get -p` prints them so), and how a written size becomes
 * bytes. Pure. The manifest step resolves sizes with it; the ZFS driver reads and prints
 * values with the same table (drivers/zfs/properties.ts).
 */

/** The size properties, and whether `none` (unset) is one of their values, printed as 0. */
export const SIZE_PROPERTIES: Readonly<Record<string, { readonly noneIsZero: boolean }>> = {
  quota: { noneIsZero: true },
  refquota: { noneIsZero: true },
  reservation: { noneIsZero: true },
  refreservation: { noneIsZero: true },
  recordsize: { noneIsZero: false },
  volsize: { noneIsZero: false },
};

/** isSizeProperty tells whether a property's value is a size in bytes. */
export function isSizeProperty(property: string): boolean {
  return Object.hasOwn(SIZE_PROPERTIES, property);
}

const UNITS: Readonly<Record<string, number>> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };

/** parseSize reads `20G`, `512`, `1.5T` (powers of 1024) into bytes; `none` is 0. */
export function parseSize(text: string): number | undefined {
  if (text === "none") return 0;
  const m = /^([0-9]{1,15}(?:\.[0-9]{1,3})?)([KMGTP]?)$/.exec(text);
  if (m === null) return undefined;
  const bytes = Math.floor(Number(m[1]) * (UNITS[m[2] ?? ""] ?? 1));
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}
