/**
 * Apply results for people. Pure.
 */
import type { Plan } from "../plan/types.js";
import { assertNever } from "../plan/assert-never.js";
import { renderFinding, renderHeadline } from "../plan/render.js";
import type { ActionOutcome, ApplyResult } from "./types.js";
import type { InterruptedApply } from "./journal.js";

/** renderOutcome writes one outcome as one line. */
export function renderOutcome(o: ActionOutcome): string {
  switch (o.status) {
    case "applied":
      return `applied   ${o.action}`;
    case "unchanged":
      return `unchanged ${o.action} (${o.why})`;
    case "failed": {
      const first = o.stderr.split("\n").find((l) => l.trim() !== "");
      return `FAILED    ${o.action}: ${o.code}: ${o.message}${first === undefined ? "" : `: ${first.trim()}`}`;
    }
    case "skipped":
      if (o.because === "stopped") return `skipped   ${o.action} (${o.blockedBy})`;
      return `skipped   ${o.action} (${o.because === "dependency-failed" ? "depends on" : "same resource as"} ${o.blockedBy})`;
    default:
      return assertNever(o, "outcome");
  }
}

/**
 * renderApplyText writes what apply did: a note about an interrupted previous apply, one line
 * per outcome, the findings left for people, and a summary line.
 */
export function renderApplyText(plan: Plan, result: ApplyResult, interrupted?: InterruptedApply): string {
  const lines: string[] = [];
  if (interrupted !== undefined) {
    lines.push(`note: the previous apply (run ${interrupted.run}, started ${interrupted.startedAt}) was interrupted${interrupted.inFlight === undefined ? "" : ` at action ${interrupted.inFlight}`}; observed again and converging now`, "");
  }
  lines.push(`Apply on node ${plan.node}${plan.revision === null ? "" : ` (revision ${plan.revision.slice(0, 12)})`}:`, "");
  if (result.outcomes.length === 0) lines.push(renderHeadline(plan) ?? "");
  for (const o of result.outcomes) lines.push(renderOutcome(o));
  if (plan.findings.length > 0) {
    lines.push("", "Findings:");
    for (const f of plan.findings) lines.push(renderFinding(f));
  }
  const s = result.summary;
  const actions = result.outcomes.length === 0 ? "nothing to do" : `${s.applied} applied, ${s.unchanged} already done, ${s.failed} failed, ${s.skipped} skipped`;
  lines.push("", `Apply: ${actions}; ${plan.findings.length} finding${plan.findings.length === 1 ? "" : "s"}.`);
  return `${lines.join("\n")}\n`;
}
