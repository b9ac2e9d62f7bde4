/**
 * When the agent runs next (docs/agent.md, "The loop"). Pure: what the last run gave, the
 * count of transient failures in a row, the interval and a random number in; a verdict and a
 * delay out.
 *
 * - converged: every step succeeded (or there was nothing to do). Next run after the interval.
 * - stalled:   the input is wrong (a refused signature, an invalid manifest, a bad trust file):
 *              retrying cannot help until someone pushes a new revision or fixes the node's
 *              configuration. Next run after the interval, which fetches (cheap when nothing
 *              changed) and keeps converging the last applied revision; a push that a trigger
 *              sees runs it at once.
 * - transient: the world was unhelpful (every remote down, a lock held, a command failed).
 *              Retried sooner, with exponential backoff: 5 s, 10 s, 20 s ... capped at the
 *              interval.
 * Every delay carries up to 10% jitter (downward for the interval, so a node never waits
 * longer than configured), so that the nodes of a cluster do not all fetch in the same second.
 */
import { isStewardError, type ErrorCode, type Retry } from "../errors.js";

export type CycleVerdict =
  | { readonly kind: "converged" }
  | { readonly kind: "stalled"; readonly code: ErrorCode }
  | { readonly kind: "transient"; readonly code: ErrorCode };

/** What judgeCycle reads of a reconcile's result (reconcile.ts ReconcileResult satisfies it). */
export interface CycleFacts {
  readonly source: { readonly decision: { readonly kind: "apply" | "unchanged" | "hold"; readonly reason?: { readonly code: ErrorCode; readonly retry: Retry } } };
  readonly target: { readonly desired: unknown; readonly rejected?: unknown };
  readonly run?: { readonly result: { readonly ok: boolean; readonly outcomes: readonly { readonly status: string; readonly code?: ErrorCode }[] } };
}

/** The first backoff delay after a transient failure. */
export const BACKOFF_BASE_MS = 5_000;
/** The share of a delay that jitter may take off (or add to a backoff). */
export const JITTER = 0.1;

/**
 * judgeCycle classifies one run from its result, or from what it threw (`error`; the result is
 * then undefined). Pure.
 */
export function judgeCycle(result: CycleFacts | undefined, error: unknown): CycleVerdict {
  if (result === undefined) {
    if (!isStewardError(error)) return { kind: "transient", code: "INTERNAL" };
    return error.retry === "stalled" ? { kind: "stalled", code: error.code } : { kind: "transient", code: error.code };
  }
  const { decision } = result.source;
  if (decision.kind === "hold" && decision.reason !== undefined) {
    return decision.reason.retry === "stalled" ? { kind: "stalled", code: decision.reason.code } : { kind: "transient", code: decision.reason.code };
  }
  if (result.target.rejected !== undefined || result.target.desired === undefined) return { kind: "stalled", code: "MANIFEST_INVALID" };
  const run = result.run;
  if (run !== undefined && !run.result.ok) {
    const failed = run.result.outcomes.find((o) => o.status === "failed");
    return { kind: "transient", code: failed?.code ?? "APPLY_FAILED" };
  }
  return { kind: "converged" };
}

export interface NextRun {
  readonly delayMs: number;
  /** Transient failures in a row, this run included. */
  readonly failures: number;
}

/**
 * nextRun says how long to wait after a run judged `verdict`, given the transient failures in a
 * row before it, the interval (ms) and `random` in [0, 1). Pure.
 */
export function nextRun(verdict: CycleVerdict, failuresBefore: number, intervalMs: number, random: number): NextRun {
  if (verdict.kind !== "transient") return { delayMs: Math.round(intervalMs * (1 - JITTER * random)), failures: 0 };
  const failures = failuresBefore + 1;
  const backoff = Math.min(intervalMs, BACKOFF_BASE_MS * 2 ** Math.min(failures - 1, 30));
  return { delayMs: Math.round(Math.min(intervalMs, backoff * (1 + JITTER * random))), failures };
}
