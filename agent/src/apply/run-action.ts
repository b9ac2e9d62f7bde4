/**
 * Running one action's commands through the executor. The only branch on `kind` in apply:
 * most actions are "run every argv, stop at the first non-zero exit"; a destroy first confirms
 * the dataset's identity.
 */
import type { Argv, Executor, RunResult } from "../exec.js";
import { guidArgv } from "../drivers/zfs/commands.js";
import { parseGuidResult } from "../drivers/zfs/parse.js";
import { assertNever } from "../plan/assert-never.js";
import type { Action, ZfsDestroyAction } from "../plan/types.js";
import type { ActionOutcome } from "./types.js";

type RunOutcome = Exclude<ActionOutcome, { status: "skipped" }>;

const STDERR_KEPT = 4000;

function failedFrom(action: Action, r: RunResult, started: number): RunOutcome {
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

async function runAll(action: Action, argvs: readonly Argv[], executor: Executor, started: number): Promise<RunOutcome> {
  for (const argv of argvs) {
    const r = await executor.run(argv);
    if (r.exitCode !== 0 || r.timedOut) return failedFrom(action, r, started);
  }
  return { action: action.id, status: "applied", durationMs: performance.now() - started };
}

async function runDestroy(action: ZfsDestroyAction, executor: Executor, started: number): Promise<RunOutcome> {
  const check = await executor.run(guidArgv(action.dataset));
  const seen = parseGuidResult(action.dataset, check);
  switch (seen.kind) {
    case "absent":
      return { action: action.id, status: "unchanged", why: "already gone", durationMs: performance.now() - started };
    case "failed":
      return failedFrom(action, check, started);
    case "guid":
      if (seen.guid !== action.guid) {
        return {
          action: action.id,
          status: "failed",
          code: "APPLY_PRECONDITION",
          argv: check.argv,
          exitCode: check.exitCode,
          stderr: "",
          message: `guid is ${seen.guid}, the plan saw ${action.guid}: not the same dataset; not destroyed`,
          durationMs: performance.now() - started,
        };
      }
      return runAll(action, action.argv, executor, started);
    default:
      return assertNever(seen, "guid result");
  }
}

/**
 * runAction runs one action's commands and says how it went. Never throws for a failed command:
 * a non-zero exit, a timeout or a refused precondition is a `failed` outcome. Side effects:
 * the commands. An exception from the executor itself propagates (apply turns it into `failed`).
 */
export async function runAction(action: Action, executor: Executor): Promise<RunOutcome> {
  const started = performance.now();
  switch (action.kind) {
    case "zfs.create":
    case "zfs.set":
    case "zfs.inherit":
    case "zfs.mount":
      return runAll(action, action.argv, executor, started);
    case "zfs.destroy":
      return runDestroy(action, executor, started);
    default:
      return assertNever(action, "action");
  }
}
