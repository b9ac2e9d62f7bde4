/**
 * Running one action: its driver checks its precondition (when it has one), then its steps run
 * in order through the executor, each with its stdin (looked up by hash in the content store)
 * and its timeout, stopping at the first failure (a pipeline's progress goes to `onProgress`,
 * with the driver's estimate of the bytes), then its driver verifies its postcondition (when it
 * has one). Knows no driver by name.
 */
import type { CheckResult, Driver } from "../drivers/driver.js";
import type { ErrorCode } from "../errors.js";
import type { Executor, RunResult } from "../exec.js";
import type { ActionBase } from "../plan/types.js";
import type { ActionOutcome } from "./types.js";

type RunOutcome = Exclude<ActionOutcome, { status: "skipped" }>;

/** The bytes steps feed on stdin, by SHA-256 (Driver.contents). */
export type ContentStore = ReadonlyMap<string, Uint8Array>;

const STDERR_KEPT = 4000;

function failedFrom(action: ActionBase, r: RunResult, started: number): RunOutcome {
  const spawn = r.spawnError === undefined ? "" : r.spawnError;
  return {
    action: action.id,
    status: "failed",
    code: r.timedOut ? "EXEC_TIMEOUT" : "EXEC_FAILED",
    argv: r.argv,
    exitCode: r.exitCode,
    stderr: (r.stderr || spawn).slice(0, STDERR_KEPT),
    message: r.timedOut ? "command timed out" : r.exitCode === null ? "command could not run" : `command exited ${r.exitCode}`,
    durationMs: performance.now() - started,
  };
}

/** Told the bytes an action's pipelines moved so far, and about how many they will move when its driver said. */
export type ActionProgress = (bytes: number, estimateBytes: number | undefined) => void;

/**
 * actionEstimate is about how many bytes an action's pipelines move: the sum of their
 * estimates, or undefined when one has none (a guess for part of a transfer is no guess). Pure.
 */
export function actionEstimate(action: ActionBase): number | undefined {
  let sum = 0;
  let any = false;
  for (const step of action.steps) {
    if (!("pipeline" in step)) continue;
    if (step.estimateBytes === undefined) return undefined;
    sum += step.estimateBytes;
    any = true;
  }
  return any ? sum : undefined;
}

/**
 * runAction runs one action and says how it went. Never throws for a failed command: a
 * non-zero exit, a timeout, a refused precondition or content missing from the store is a
 * `failed` outcome; a precondition that finds the work already done is `unchanged`. Side
 * effects: the commands. An exception from the executor or the driver's check propagates
 * (apply turns it into `failed`).
 */
export async function runAction(action: ActionBase, driver: Driver | undefined, executor: Executor, contents: ContentStore, onProgress?: ActionProgress): Promise<RunOutcome> {
  const started = performance.now();
  if (action.precondition !== undefined) {
    if (driver?.check === undefined) {
      return { action: action.id, status: "failed", code: "INTERNAL", argv: null, exitCode: null, stderr: "", message: `no driver checks ${action.precondition.kind}`, durationMs: performance.now() - started };
    }
    const checked = await driver.check(action, executor);
    if (checked.kind === "done") return { action: action.id, status: "unchanged", why: checked.why, durationMs: performance.now() - started };
    if (checked.kind === "refused") return refusedFrom(action, checked, "APPLY_PRECONDITION", started);
  }
  const estimateBytes = actionEstimate(action);
  // The bytes of the action's earlier pipelines: a drill's several files count as one transfer.
  let moved = 0;
  for (const step of action.steps) {
    if ("pipeline" in step) {
      if (executor.pipe === undefined) {
        return { action: action.id, status: "failed", code: "INTERNAL", argv: step.pipeline[0] ?? null, exitCode: null, stderr: "", message: "this executor runs no pipelines", durationMs: performance.now() - started };
      }
      const before = moved;
      const progress = onProgress === undefined ? {} : { onProgress: (bytes: number) => onProgress(before + bytes, estimateBytes) };
      const r = await executor.pipe(step.pipeline, { ...(step.timeoutMs === undefined ? {} : { timeoutMs: step.timeoutMs }), ...progress });
      moved += r.bytes;
      if (r.exitCode !== 0 || r.timedOut) return failedFrom(action, r, started);
      continue;
    }
    let input: Uint8Array | undefined;
    if (step.input !== undefined) {
      input = contents.get(step.input.sha256);
      if (input === undefined) {
        return { action: action.id, status: "failed", code: "INTERNAL", argv: "argv" in step ? step.argv : ["(write)", step.write], exitCode: null, stderr: "", message: `content ${step.input.sha256} is not in the content store`, durationMs: performance.now() - started };
      }
    }
    const r =
      "write" in step
        ? await executor.writeFile(step.write, input as Uint8Array, step.mode)
        : await executor.run(step.argv, { ...(input === undefined ? {} : { input }), ...(step.timeoutMs === undefined ? {} : { timeoutMs: step.timeoutMs }) });
    if (r.exitCode !== 0 || r.timedOut) {
      const done = !r.timedOut && r.exitCode !== null && "argv" in step && (step.already ?? []).some((text) => r.stderr.includes(text));
      if (!done) return failedFrom(action, r, started);
    }
  }
  if (action.postcondition !== undefined) {
    if (driver?.verify === undefined) {
      return { action: action.id, status: "failed", code: "INTERNAL", argv: null, exitCode: null, stderr: "", message: `no driver verifies ${action.postcondition.kind}`, durationMs: performance.now() - started };
    }
    const verified = await driver.verify(action, executor);
    if (verified.kind === "refused") return refusedFrom(action, verified, "APPLY_VERIFY_FAILED", started);
  }
  return { action: action.id, status: "applied", durationMs: performance.now() - started };
}

/** refusedFrom is the outcome of a refused pre- or postcondition: its own code, the failed command's, or `fallback`. */
function refusedFrom(action: ActionBase, checked: Extract<CheckResult, { kind: "refused" }>, fallback: ErrorCode, started: number): RunOutcome {
  const r = checked.result;
  return {
    action: action.id,
    status: "failed",
    code: checked.code ?? (r !== undefined && r.exitCode !== 0 ? (r.timedOut ? "EXEC_TIMEOUT" : "EXEC_FAILED") : fallback),
    argv: r?.argv ?? null,
    exitCode: r?.exitCode ?? null,
    stderr: (r?.stderr ?? "").slice(0, STDERR_KEPT),
    message: checked.message,
    durationMs: performance.now() - started,
  };
}
