/**
 * plan(desired, observed) → Plan (ARCHITECTURE.md step 4). Pure: no I/O, same input, same
 * plan, byte for byte.
 */
import type { DesiredState } from "../manifest/types.js";
import { planDatasets } from "../drivers/zfs/plan.js";
import { canonicalize, contentId } from "./canonical.js";
import type { Action, Finding, ObservedState, Plan, PlanSummary } from "./types.js";

/**
 * plan decides what to do on one node: every driver's actions in order (ZFS first: jails and
 * pf will need its datasets), each with the exact commands, and the findings that need a
 * person rather than an action. Pure. Throws INTERNAL only on input the manifest step
 * guarantees never happens (see planDatasets).
 */
export function plan(desired: DesiredState, observed: ObservedState): Plan {
  const zfs = planDatasets({ datasets: desired.datasets, destroy: desired.destroy }, observed.zfs);
  const actions: Action[] = [...zfs.actions];
  const findings: Finding[] = [...zfs.findings].sort(compareFindings);
  const body = {
    version: 1 as const,
    node: desired.node.name,
    pool: desired.node.pool,
    revision: desired.revision ?? null,
    actions,
    findings,
    summary: summarize(actions, findings),
  };
  return canonicalize({ ...body, id: contentId(body) });
}

/** summarize counts actions the way the plan text's last line says them. */
export function summarize(actions: readonly Action[], findings: readonly Finding[]): PlanSummary {
  let create = 0;
  let change = 0;
  let destroy = 0;
  for (const a of actions) {
    if (a.kind === "zfs.create") create++;
    else if (a.kind === "zfs.destroy") destroy++;
    else change++;
  }
  return { create, change, destroy, findings: findings.length };
}

function compareFindings(a: Finding, b: Finding): number {
  const x = `${a.resource}\u0000${a.kind}\u0000${"property" in a ? a.property : ""}`;
  const y = `${b.resource}\u0000${b.kind}\u0000${"property" in b ? b.property : ""}`;
  return x < y ? -1 : x > y ? 1 : 0;
}
