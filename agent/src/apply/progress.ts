/**
 * How far a long transfer (an action's pipelines: a backup send) got, in numbers people read:
 * the share of the driver's estimate, the rate, the time left. Pure.
 */

/**
 * percentDone is how much of `estimateBytes` moved, in whole percent: at most 99 while the
 * transfer runs (an estimate is a guess: a send may pass it), undefined without an estimate.
 */
export function percentDone(bytes: number, estimateBytes: number | undefined): number | undefined {
  if (estimateBytes === undefined || !(estimateBytes > 0)) return undefined;
  return Math.max(0, Math.min(99, Math.floor((bytes * 100) / estimateBytes)));
}

/** bytesPerSecond is the mean rate over `elapsedMs` (0 before any time passed). */
export function bytesPerSecond(bytes: number, elapsedMs: number): number {
  return elapsedMs > 0 ? Math.round((bytes * 1000) / elapsedMs) : 0;
}

/** secondsLeft is the time the rest of the estimate takes at `rate`; undefined without an estimate, a rate, or once past it. */
export function secondsLeft(bytes: number, estimateBytes: number | undefined, rate: number): number | undefined {
  if (estimateBytes === undefined || !(rate > 0) || bytes >= estimateBytes) return undefined;
  return Math.ceil((estimateBytes - bytes) / rate);
}

/** humanBytes writes a size for people, in powers of 1024: `512 B`, `1.5 KiB`, `3.0 GiB`. */
export function humanBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${units[i] as string}`;
}
