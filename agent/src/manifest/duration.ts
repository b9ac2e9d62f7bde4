/**
 * Durations as manifests write them (`3d`, common.schema.json#/$defs/duration) and as Steward
 * prints them. Pure.
 */

const UNIT_SECONDS: Readonly<Record<string, number>> = { m: 60, h: 3600, d: 86_400, w: 604_800 };

/** durationSeconds reads a schema-valid duration (`30m`, `12h`, `3d`, `1w`) as seconds. */
export function durationSeconds(text: string): number {
  const m = /^([1-9][0-9]{0,5})([mhdw])$/.exec(text);
  if (m === null) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * (UNIT_SECONDS[m[2] as string] as number);
}

/** formatDuration writes seconds as the two largest units: `2d 3h`, `45m`, `0m`; under a minute, `12s`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  const parts: string[] = [];
  let rest = s;
  for (const [unit, size] of [["w", 604_800], ["d", 86_400], ["h", 3600], ["m", 60]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0 || (parts.length === 0 && unit === "m")) parts.push(`${n}${unit}`);
    rest -= n * size;
    if (parts.length === 2) break;
  }
  return parts.join(" ");
}
