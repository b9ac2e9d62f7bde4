/**
 * apply(plan, executor, observers): the plan's interpreter (ARCHITECTURE.md step 5).
 */
import type { Executor } from "../exec.js";
import type { Plan } from "../plan/types.js";
import { runAction } from "./run-action.js";
import type { ActionOutcome, ApplyObserver, ApplyResult, ApplySummary } from "./types.js";

/**
 * apply runs the plan's actions in order through the executor and returns one outcome per
 * action, in plan order. It never throws for an action: a failed command is a `failed`
 * outcome; after it, later actions on the same resource and every action depending on a
 * failed or skipped one are `skipped`, and the rest still run. Side effects: the commands,
 * and the observers' (awaited, in order). Throws only when an observer throws.
 */
export async function apply(plan: Plan, executor: Executor, observers: readonly ApplyObserver[] = []): Promise<ApplyResult> {
  const outcomes: ActionOutcome[] = [];
  const done = new Map<string, ActionOutcome["status"]>();
  const failedResources = new Map<string, string>();
  for (const o of observers) await o.onApplyStart?.(plan);

  for (const action of plan.actions) {
    const badDep = action.dependsOn.find((id) => {
      const s = done.get(id);
      return s !== "applied" && s !== "unchanged";
    });
    const resourceFailure = failedResources.get(action.resource);
    let outcome: ActionOutcome;
    if (badDep !== undefined) {
      outcome = { action: action.id, status: "skipped", because: "dependency-failed", blockedBy: badDep };
    } else if (resourceFailure !== undefined) {
      outcome = { action: action.id, status: "skipped", because: "resource-failed", blockedBy: resourceFailure };
    } else {
      for (const o of observers) await o.onActionStart?.(action);
      const started = performance.now();
      try {
        outcome = await runAction(action, executor);
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
    if (outcome.status === "failed" || outcome.status === "skipped") {
      if (!failedResources.has(action.resource)) failedResources.set(action.resource, action.id);
    }
    done.set(action.id, outcome.status);
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
