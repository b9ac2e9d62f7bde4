/**
 * Formatting values for people (reasons, plan text). Pure. Machines read the raw values in
 * the plan JSON; these strings are never parsed back.
 */

const SIZE_PROPERTIES = new Set(["quota", "refquota", "reservation", "refreservation", "recordsize", "volsize"]);
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

/** formatValue writes one property value for people: sizes with units, an unset quota as `none`. */
export function formatValue(property: string, value: string): string {
  if (!SIZE_PROPERTIES.has(property)) return value;
  if (value === "0" && property !== "recordsize" && property !== "volsize") return "none";
  return formatSize(value);
}
