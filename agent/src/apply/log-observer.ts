/**
 * Apply progress as log lines: constant messages, facts in fields. One line per action with its
 * resource and outcome (the revision is in the logger's bindings), and every ten seconds of a
 * long pipeline (a send) the bytes moved so far (with the driver's estimate and the percent
 * done, when it gave one); a run with nothing to do logs at debug only, so an idle agent stays
 * quiet.
 */
import type { Logger } from "../log.js";
import type { ActionBase as Action, Plan } from "../plan/types.js";
import { bytesPerSecond, percentDone } from "./progress.js";
import type { ActionOutcome, ApplyObserver, ApplyResult } from "./types.js";

/** logObserver logs apply's progress on `log` (a child logger for the apply step). Side effects: log lines only. */
export function logObserver(log: Logger, progressEveryMs = 10_000): ApplyObserver {
  // A long send says how far it got every `progressEveryMs`, so a log shows it is moving.
  let current: { id: string; started: number; logged: number } | undefined;
  return {
    onActionProgress(action: Action, bytes: number, estimateBytes?: number) {
      const now = performance.now();
      if (current?.id !== action.id) current = { id: action.id, started: now, logged: now };
      if (now - current.logged < progressEveryMs) return;
      current.logged = now;
      const percent = percentDone(bytes, estimateBytes);
      const estimate = estimateBytes === undefined ? {} : { estimateBytes, ...(percent === undefined ? {} : { percent }) };
      log.info({ action: action.id, resource: action.resource, bytes, ...estimate, bytesPerSecond: bytesPerSecond(bytes, now - current.started) }, "action progress");
    },
    onApplyStart(plan: Plan) {
      const level = plan.actions.length === 0 ? "debug" : "info";
      log[level]({ plan: plan.id, actions: plan.actions.length, findings: plan.findings.length }, "apply started");
    },
    onActionStart(action: Action) {
      log.debug({ action: action.id }, "action started");
    },
    onActionEnd(action: Action, outcome: ActionOutcome) {
      switch (outcome.status) {
        case "applied":
        case "unchanged":
          log.info({ action: action.id, resource: action.resource, outcome: outcome.status, ms: Math.round(outcome.durationMs) }, "action done");
          break;
        case "failed":
          log.warn({ action: action.id, resource: action.resource, outcome: "failed", code: outcome.code, exitCode: outcome.exitCode, stderr: outcome.stderr.split("\n", 1)[0] }, "action failed");
          break;
        case "skipped":
          log.warn({ action: action.id, resource: action.resource, outcome: "skipped", because: outcome.because, blockedBy: outcome.blockedBy }, "action skipped");
          break;
      }
    },
    onApplyEnd(plan: Plan, result: ApplyResult) {
      const level = result.outcomes.length === 0 ? "debug" : "info";
      log[level]({ plan: plan.id, ok: result.ok, ...result.summary }, "apply finished");
    },
  };
}
