/**
 * Plans for people (terraform-like text) and for machines (canonical JSON). Pure. Each action
 * line comes from its driver (Driver.renderAction); the exact commands follow, indented, as
 * `$ argv`, quoted for reading (they run as argument vectors, never through a shell).
 */
import type { Driver } from "../drivers/driver.js";
import { driverOf, DRIVERS } from "../drivers/registry.js";
import type { Argv } from "../exec.js";
import { canonicalize } from "./canonical.js";
import type { ActionBase, FindingBase, Plan, PlanSummary, Step } from "./types.js";

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * renderSummary writes the last line: `Plan: 2 to create, 1 to change, 0 to destroy; 1 finding.`,
 * with restarts and removals when there are any.
 */
export function renderSummary(s: PlanSummary): string {
  const extra = [s.restart > 0 ? `, ${s.restart} to restart` : "", s.remove > 0 ? `, ${s.remove} to remove` : ""].join("");
  return `Plan: ${s.create} to create, ${s.change} to change${extra}, ${s.destroy} to destroy; ${plural(s.findings, "finding", "findings")}.`;
}

/** renderAction writes one action as one line, in its driver's words. */
export function renderAction(a: ActionBase, drivers: readonly Driver[] = DRIVERS): string {
  const driver = driverOf(a.driver, drivers);
  return driver === undefined ? `? ${a.kind} ${a.resource}  (${a.reason})` : driver.renderAction(a);
}

/** renderFinding writes one finding as one line. */
export function renderFinding(f: FindingBase): string {
  return `! ${f.kind.padEnd(19)} ${f.subject}: ${f.message}`;
}

/** renderArgv writes a command for reading: words with anything but safe characters single-quoted. */
export function renderArgv(argv: Argv): string {
  return argv.map((w) => (/^[A-Za-z0-9_./:=@%+,-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`)).join(" ");
}

function renderStep(step: Step): string {
  const input = !("input" in step) || step.input === undefined ? "" : ` (${step.input.bytes} bytes, sha256 ${step.input.sha256.slice(0, 12)})`;
  if ("write" in step) return `      > write ${step.write} mode ${step.mode.toString(8).padStart(4, "0")}${input}`;
  if ("pipeline" in step) return `      $ ${step.pipeline.map(renderArgv).join(" | ")}`;
  return `      $ ${renderArgv(step.argv)}${input === "" ? "" : ` <${input}`}`;
}

/**
 * renderHeadline says in one line what the plan amounts to: nothing to do, nothing to do but
 * findings to read, or how many actions. It agrees with the findings: a plan with drift left
 * alone does not say the node matches the manifest.
 */
export function renderHeadline(plan: Plan): string | undefined {
  if (plan.actions.length > 0) return undefined;
  const reported = plan.findings.filter((f) => f.kind === "drift-reported").length;
  if (plan.findings.length === 0) return "No changes: the node matches the manifest.";
  if (reported > 0) return `No actions: the node matches the manifest except for ${plural(reported, "change", "changes")} made by hand and left alone (drift: report); see the findings.`;
  return "No actions; see the findings.";
}

/**
 * renderPlanText writes a plan for people: a header, one line per action in order with its
 * commands below it, the findings, and the summary line.
 */
export function renderPlanText(plan: Plan, drivers: readonly Driver[] = DRIVERS): string {
  const lines: string[] = [`Plan for node ${plan.node}${plan.revision === null ? "" : ` (revision ${plan.revision.slice(0, 12)})`}:`, ""];
  const headline = renderHeadline(plan);
  if (headline !== undefined) lines.push(headline);
  for (const a of plan.actions) {
    lines.push(renderAction(a, drivers));
    for (const step of a.steps) lines.push(renderStep(step));
  }
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
