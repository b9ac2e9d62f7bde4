/**
 * plan(desired, observed) → Plan (docs/architecture.md, "The flow", step 4). Pure: no I/O, same
 * input, same plan, byte for byte. It joins the drivers' plans and orders their actions on the
 * resources they act on and need; it knows no driver by name.
 */
import { StewardError } from "../errors.js";
import type { Driver, DriverPlan } from "../drivers/driver.js";
import { DRIVERS } from "../drivers/registry.js";
import type { DesiredState } from "../manifest/types.js";
import { canonicalize, contentId } from "./canonical.js";
import type { ActionBase, FindingBase, ObservedState, Plan, PlanSummary } from "./types.js";

/**
 * plan decides what to do on one node: every driver plans its slice against its observation,
 * then actions are ordered so that each runs after the actions on the resources it needs
 * (orderActions), and findings are sorted. Pure. Throws INTERNAL when a driver's action needs a
 * resource no driver knows, or the needs form a cycle: both are bugs, never input errors.
 */
export function plan(desired: DesiredState, observed: ObservedState, drivers: readonly Driver[] = DRIVERS): Plan {
  const parts = drivers.map((d) => ({ driver: d.name, part: d.plan(d.slice(desired), observed[d.name]) }));
  const actions = orderActions(parts);
  const findings = parts.flatMap((p) => p.part.findings).sort(compareFindings);
  const blocked = [...new Set(findings.filter((f) => f.blocking).map((f) => f.resource))].sort();
  const body = {
    version: 2 as const,
    node: desired.node.name,
    revision: desired.revision ?? null,
    actions,
    findings,
    blocked,
    summary: summarize(actions, findings),
  };
  return canonicalize({ ...body, id: contentId(body) });
}

/**
 * orderActions puts the drivers' actions (given in registry order) in the order apply runs
 * them. Pure.
 * - Build-up first: an action runs after every other build-up action on a resource it needs,
 *   and after the earlier actions on its own resource; among actions free to run, registry
 *   order, then each driver's own order, decides (a stable topological sort).
 * - Teardown last: drivers in reverse registry order (pf rules, then jails, then datasets),
 *   each driver's teardown actions in its own order, except that a teardown action runs after
 *   the teardown actions on a resource it needs (a drain's final copy after its jail stopped).
 *   A teardown's need that nothing tears down is met: there is nothing to wait for.
 * Throws INTERNAL for a build-up need that names a resource no driver knows, or a cycle.
 */
export function orderActions(parts: readonly { readonly driver: string; readonly part: DriverPlan }[]): ActionBase[] {
  const known = new Set(parts.flatMap((p) => p.part.resources));
  const all = parts.flatMap((p) => p.part.actions);
  for (const a of all) {
    known.add(a.resource);
  }
  for (const a of all) {
    if (a.teardown) continue;
    for (const need of a.needs) {
      if (!known.has(need)) {
        throw new StewardError("INTERNAL", `action ${a.id} needs ${need}, which no driver knows`, { retry: "internal", data: { action: a.id, need } });
      }
    }
  }
  const build = all.filter((a) => !a.teardown);
  const teardown = [...parts].reverse().flatMap((p) => p.part.actions.filter((a) => a.teardown));
  return [...topological(build), ...topological(teardown)];
}

/**
 * topological orders `list` so that each action comes after the others of the list on a
 * resource it needs and after the earlier ones on its own resource; among actions free to run,
 * the earlier in `list` first (a stable sort). Throws INTERNAL for a cycle.
 */
function topological(list: readonly ActionBase[]): ActionBase[] {
  const producers = new Map<string, number[]>();
  list.forEach((a, i) => producers.set(a.resource, [...(producers.get(a.resource) ?? []), i]));
  const after = list.map(() => new Set<number>());
  list.forEach((a, i) => {
    for (const need of a.needs) for (const p of producers.get(need) ?? []) if (p !== i) after[i]?.add(p);
    const same = producers.get(a.resource) ?? [];
    const previous = same[same.indexOf(i) - 1];
    if (previous !== undefined) after[i]?.add(previous);
  });
  const remaining = after.map((s) => s.size);
  const next = new Map<number, number[]>();
  after.forEach((s, i) => {
    for (const p of s) next.set(p, [...(next.get(p) ?? []), i]);
  });
  const ready = remaining.flatMap((n, i) => (n === 0 ? [i] : []));
  const ordered: ActionBase[] = [];
  while (ready.length > 0) {
    // The smallest index first: registry order, then the driver's own order.
    ready.sort((x, y) => x - y);
    const i = ready.shift() as number;
    ordered.push(list[i] as ActionBase);
    for (const j of next.get(i) ?? []) {
      remaining[j] = (remaining[j] as number) - 1;
      if (remaining[j] === 0) ready.push(j);
    }
  }
  if (ordered.length < list.length) {
    const stuck = list.filter((_, i) => (remaining[i] as number) > 0).map((a) => a.id);
    throw new StewardError("INTERNAL", "the actions' needs form a cycle", { retry: "internal", data: { actions: stuck } });
  }
  return ordered;
}

/** summarize counts actions by effect, the way the plan text's last line says them. */
export function summarize(actions: readonly ActionBase[], findings: readonly FindingBase[]): PlanSummary {
  const n = (effect: ActionBase["effect"]): number => actions.filter((a) => a.effect === effect).length;
  return { create: n("create"), change: n("change"), restart: n("restart"), remove: n("remove"), destroy: n("destroy"), findings: findings.length };
}

function compareFindings(a: FindingBase, b: FindingBase): number {
  const key = (f: FindingBase): string => `${f.resource}\u0000${f.kind}\u0000${"property" in f ? String(f.property) : ""}`;
  const x = key(a);
  const y = key(b);
  return x < y ? -1 : x > y ? 1 : 0;
}
