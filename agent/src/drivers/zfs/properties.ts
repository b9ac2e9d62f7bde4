/**
 * What the ZFS driver knows about property values: which read `none` as 0, and how values
 * are written for people. Which properties are sizes is the manifest's table
 * (manifest/sizes.ts), which the manifest step resolves sizes with. Pure.
 */
import { isSizeProperty, SIZE_PROPERTIES } from "../../manifest/sizes.js";

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
