/**
 * Plans for people (terraform-like text) and for machines (canonical JSON). Pure.
 */
import { NON_INHERITABLE } from "../drivers/zfs/commands.js";
import { assertNever } from "./assert-never.js";
import { canonicalize } from "./canonical.js";
import { formatValue } from "./format.js";
import type { Action, Finding, Plan, PlanSummary } from "./types.js";

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** renderSummary writes the last line: `Plan: 2 to create, 1 to change, 0 to destroy; 1 finding.` */
export function renderSummary(s: PlanSummary): string {
  return `Plan: ${s.create} to create, ${s.change} to change, ${s.destroy} to destroy; ${plural(s.findings, "finding", "findings")}.`;
}

/** renderAction writes one action as one line, with its reason in parentheses. */
export function renderAction(a: Action): string {
  switch (a.kind) {
    case "zfs.create": {
      const props = Object.entries(a.after).map(([k, v]) => `${k}=${formatValue(k, v)}`);
      return `+ create  ${a.dataset}${props.length > 0 ? ` (${props.join(" ")})` : ""}`;
    }
    case "zfs.set":
      return `~ set     ${a.dataset} ${a.property}: ${formatValue(a.property, a.before)} -> ${formatValue(a.property, a.after)}  (${a.reason})`;
    case "zfs.inherit": {
      const to = NON_INHERITABLE[a.property] ?? "(inherited)";
      return `~ inherit ${a.dataset} ${a.property}: ${formatValue(a.property, a.before)} -> ${to}  (${a.reason})`;
    }
    case "zfs.mount":
      return `~ mount   ${a.dataset}  (${a.reason})`;
    case "zfs.destroy":
      return `- destroy ${a.dataset} (guid ${a.guid})  (${a.reason})`;
    default:
      return assertNever(a, "action");
  }
}

/** renderFinding writes one finding as one line. */
export function renderFinding(f: Finding): string {
  return `! ${f.kind.padEnd(19)} ${f.dataset}: ${f.message}`;
}

/**
 * renderPlanText writes a plan for people: a header, one line per action in order, the
 * findings, and the summary line.
 */
export function renderPlanText(plan: Plan): string {
  const lines: string[] = [`Plan for node ${plan.node} (pool ${plan.pool}${plan.revision === null ? "" : `, revision ${plan.revision.slice(0, 12)}`}):`, ""];
  if (plan.actions.length === 0) lines.push("No changes: the datasets match the manifest.");
  else for (const a of plan.actions) lines.push(renderAction(a));
  if (plan.findings.length > 0) {
    lines.push("", "Findings:");
    for (const f of plan.findings) lines.push(renderFinding(f));
  }
  lines.push("", renderSummary(plan.summary));
  return `${lines.join("\n")}\n`;
}

/** renderPlanJson writes a plan as canonical JSON (sorted keys), indented, newline-terminated. */
export function renderPlanJson(plan: Plan): string {
  return `${JSON.stringify(canonicalize(plan), null, 2)}\n`;
}
