/**
 * What the ZFS driver knows about property values, in one place: which properties are sizes
 * (`zfs get -p` prints them in bytes; the manifest writes `20G`), which of those read `none`
 * as 0, and how values are written for people. Pure. The manifest step reads sizes with this
 * table, the planner compares with it, the renderer prints with it.
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

/** noneIsZero tells whether `none` is how a property says "unset", which `zfs get -p` prints as 0. */
export function noneIsZero(property: string): boolean {
  return SIZE_PROPERTIES[property]?.noneIsZero === true;
}

const UNITS = ["K", "M", "G", "T", "P", "E"];

/**
 * formatSize writes a byte count the way an admin writes it in a manifest: `20G` when it is an
 * exact multiple of a power of 1024, else the plain number.
 */
export function formatSize(bytes: string): string {
  if (!/^\d+$/.test(bytes)) return bytes;
  let n = BigInt(bytes);
  if (n === 0n) return "0";
  let unit = -1;
  while (n % 1024n === 0n && unit < UNITS.length - 1) {
    n /= 1024n;
    unit++;
  }
  return unit < 0 ? bytes : `${n}${UNITS[unit]}`;
}

/**
 * formatValue writes one property value for people (reasons, plan text): sizes with units, an
 * unset quota as `none`. Machines read the raw values in the plan JSON; these strings are never
 * parsed back.
 */
export function formatValue(property: string, value: string): string {
  if (!isSizeProperty(property)) return value;
  if (value === "0" && noneIsZero(property)) return "none";
  return formatSize(value);
}
