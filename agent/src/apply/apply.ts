/**
 * apply(plan, executor, observers): the plan's interpreter (docs/architecture.md, "The flow",
 * step 5). It knows actions only by the resources they act on and need.
 */
import type { Driver } from "../drivers/driver.js";
import { driverOf, DRIVERS } from "../drivers/registry.js";
import type { Executor } from "../exec.js";
import type { Plan } from "../plan/types.js";
import { runAction, type ContentStore } from "./run-action.js";
import type { ActionOutcome, ApplyObserver, ApplyResult, ApplySummary } from "./types.js";

export interface ApplyOptions {
  /** The drivers that check preconditions (the registry by default). */
  readonly drivers?: readonly Driver[];
  /** The bytes steps feed on stdin, by SHA-256 (Driver.contents). */
  readonly contents?: ContentStore;
  /**
   * Once aborted, no further action starts: the one running finishes and the rest are
   * `skipped` (because "stopped"). The agent aborts it on SIGTERM.
   */
  readonly stop?: AbortSignal;
}

/**
 * apply runs the plan's actions in order through the executor and returns one outcome per
 * action, in plan order. It never throws for an action: a failed command is a `failed`
 * outcome; after it, later actions on the same resource and every action that needs a failed
 * resource (or one a blocking finding keeps from being ready, `plan.blocked`) are `skipped`,
 * and the rest still run. Side effects: the commands, and the observers' (awaited, in order).
 * Throws only when an observer throws.
 */
export async function apply(plan: Plan, executor: Executor, observers: readonly ApplyObserver[] = [], options: ApplyOptions = {}): Promise<ApplyResult> {
  const drivers = options.drivers ?? DRIVERS;
  const contents = options.contents ?? new Map<string, Uint8Array>();
  const outcomes: ActionOutcome[] = [];
  // resource -> what made it fail (an action id, or the finding that blocks it)
  const failedResources = new Map<string, string>(plan.blocked.map((r) => [r, `finding on ${r}`]));
  for (const o of observers) await o.onApplyStart?.(plan);

  for (const action of plan.actions) {
    const badNeed = action.needs.find((r) => failedResources.has(r));
    const resourceFailure = failedResources.get(action.resource);
    let outcome: ActionOutcome;
    if (options.stop?.aborted === true) {
      outcome = { action: action.id, status: "skipped", because: "stopped", blockedBy: "the agent was asked to stop" };
    } else if (resourceFailure !== undefined) {
      outcome = { action: action.id, status: "skipped", because: "resource-failed", blockedBy: resourceFailure };
    } else if (badNeed !== undefined) {
      outcome = { action: action.id, status: "skipped", because: "dependency-failed", blockedBy: failedResources.get(badNeed) as string };
    } else {
      for (const o of observers) await o.onActionStart?.(action);
      const started = performance.now();
      try {
        const progress = (bytes: number, estimateBytes: number | undefined): void => {
          for (const o of observers) {
            try {
              o.onActionProgress?.(action, bytes, estimateBytes);
            } catch {
              // Progress is for people; a broken listener must not fail the action.
            }
          }
        };
        outcome = await runAction(action, driverOf(action.driver, drivers), executor, contents, progress);
      } catch (e) {
        outcome = {
          action: action.id,
          status: "failed",
          code: "EXEC_FAILED",
          argv: null,
          exitCode: null,
          stderr: "",
          message: `executor failed: ${e instanceof Error ? e.message : String(e)}`,
          durationMs: performance.now() - started,
        };
      }
    }
    if (outcome.status === "failed" || (outcome.status === "skipped" && outcome.because !== "stopped")) {
      if (!failedResources.has(action.resource)) failedResources.set(action.resource, action.id);
    }
    outcomes.push(outcome);
    for (const o of observers) await o.onActionEnd?.(action, outcome);
  }

  const summary = summarizeOutcomes(outcomes);
  const result: ApplyResult = { plan: plan.id, ok: summary.failed === 0 && summary.skipped === 0, outcomes, summary };
  for (const o of observers) await o.onApplyEnd?.(plan, result);
  return result;
}

/** summarizeOutcomes counts outcomes by status. Pure. */
export function summarizeOutcomes(outcomes: readonly ActionOutcome[]): ApplySummary {
  let applied = 0;
  let unchanged = 0;
  let failed = 0;
  let skipped = 0;
  for (const o of outcomes) {
    if (o.status === "applied") applied++;
    else if (o.status === "unchanged") unchanged++;
    else if (o.status === "failed") failed++;
    else skipped++;
  }
  return { applied, unchanged, failed, skipped };
}
