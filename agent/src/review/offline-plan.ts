/**
 * What a revision would do on every node, computed on an admin's clone with no network
 * (`steward plan --rev REV [--against main]`, README.md, "Change control"): for each node, the
 * plan its agent would run for REV, made by the nodes' own planner (plan/plan.ts with the
 * drivers' plan functions) against the host as the node last reported it (the observed state
 * in its newest verified status commit, status/observed.ts). So what the review says is what
 * the node will do, as of that report; a report older than two heartbeats is flagged stale.
 *
 * reviewNode decides for one node (pure); reviewRevision reads the clone (the two revisions'
 * manifests, every node's status branch, verified with the key in `--against`'s manifest) and
 * joins the nodes with the reachability review (reachability.ts).
 */
import type { Driver } from "../drivers/driver.js";
import { DRIVERS } from "../drivers/registry.js";
import { StewardError, isStewardError, type Diagnostic } from "../errors.js";
import { loadModel } from "../manifest/load.js";
import { hostPathConflicts } from "../manifest/paths.js";
import type { ClusterModel, DesiredState, RepoSnapshot } from "../manifest/types.js";
import { canonicalize } from "../plan/canonical.js";
import { plan as makePlan } from "../plan/plan.js";
import type { ActionBase, Plan } from "../plan/types.js";
import { desiredFromSnapshot } from "../reconcile.js";
import { readCloneSnapshot } from "../source/snapshot.js";
import { readLatestObserved } from "../status/history.js";
import type { ObservedRecord } from "../status/observed.js";
import { DEFAULT_HEARTBEAT_SECONDS, STALE_HEARTBEATS } from "../status/overview.js";
import { STEWARD_VERSION } from "../version.js";
import { REACHABILITY, reviewReachability, type ReachabilityProvider, type ReachabilityReview } from "./reachability.js";

/** A revision as the review names it: what was asked for, the ref it resolved through, the commit. */
export interface NamedRevision {
  readonly name: string;
  readonly ref: string | null;
  readonly oid: string;
}

/** The report a node's plan was computed against. */
export interface Observation {
  /** The status commit that carries the observed state. */
  readonly report: string;
  /** When the node wrote it (its heartbeat). */
  readonly at: string;
  readonly ageSeconds: number;
  /** Older than two heartbeat intervals: the node may have changed since. */
  readonly stale: boolean;
  /** The revision the node had converged when it observed. */
  readonly revision: string | null;
  /** The agent version that observed (another planner may decide otherwise). */
  readonly agentVersion: string;
}

/** Actions of a plan that deserve a reviewer's eye first, by id, in plan order. */
export interface Highlights {
  /** effect destroy: data is lost. */
  readonly destroys: readonly string[];
  /** effect restart or remove: a service or jail goes down, for a moment or for good. */
  readonly interrupts: readonly string[];
}

export type NodeReview =
  | {
      readonly node: string;
      readonly state: "planned";
      readonly observation: Observation;
      readonly plan: Plan;
      readonly highlights: Highlights;
      /** Actions the node would run for `--against` too (drift, or a revision it has not applied yet): not this change's doing. */
      readonly pendingOnBase: readonly string[];
      /** What this revision needs observed that the node did not look at (Driver.scope): planned as absent. */
      readonly unobserved: readonly string[];
      /** Caveats for people (another agent version, …). */
      readonly notes: readonly string[];
      /** Warnings of the revision's manifest for this node. */
      readonly diagnostics: readonly Diagnostic[];
    }
  | {
      readonly node: string;
      /** The revision's manifest is invalid for this node: its agent will not apply it. */
      readonly state: "invalid";
      readonly diagnostics: readonly Diagnostic[];
    }
  | {
      readonly node: string;
      /** No plan: nothing the node reported can be planned against. */
      readonly state: "unknown";
      readonly reason: string;
      readonly observation?: Observation;
    };

export interface RevisionReview {
  /** The revision validates for every node and opens no undeclared path. */
  readonly ok: boolean;
  readonly revision: NamedRevision;
  readonly against: NamedRevision;
  /** Problems and warnings of the revision's manifest as a whole. */
  readonly diagnostics: readonly Diagnostic[];
  readonly nodes: readonly NodeReview[];
  readonly reachability: ReachabilityReview;
}

/** highlights picks the actions that destroy data or interrupt a service. Pure. */
export function highlights(actions: readonly ActionBase[]): Highlights {
  return {
    destroys: actions.filter((a) => a.effect === "destroy").map((a) => a.id),
    interrupts: actions.filter((a) => a.effect === "restart" || a.effect === "remove").map((a) => a.id),
  };
}

/**
 * unobservedFor lists what `desired` makes each driver look at (Driver.scope) that the record's
 * observation did not: a driver the record has no scope for counts as having looked at
 * nothing. Pure.
 */
export function unobservedFor(desired: DesiredState, record: ObservedRecord, drivers: readonly Driver[] = DRIVERS): string[] {
  const out: string[] = [];
  for (const d of drivers) {
    if (d.scope === undefined) continue;
    const seen = new Set(record.scope[d.name] ?? []);
    for (const item of d.scope(d.slice(desired))) if (!seen.has(item)) out.push(`${d.name}: ${item}`);
  }
  return [...new Set(out)].sort();
}

/** withRecordHost gives a desired state read from a repo the node-local settings the record carries. Pure. */
export function withRecordHost(desired: DesiredState, record: ObservedRecord): DesiredState {
  const { host: _ignored, ...rest } = desired;
  return record.host === null ? rest : { ...rest, host: record.host };
}

/**
 * planAgainstRecord plans `desired` (already given the record's host) against a node's recorded
 * observation with the nodes' planner: the plan, or why there is none (the record lacks a
 * driver's part, or a part this planner cannot read). Pure.
 */
export function planAgainstRecord(desired: DesiredState, record: ObservedRecord, drivers: readonly Driver[] = DRIVERS): { plan: Plan } | { problem: string } {
  const missing = drivers.filter((d) => record.drivers[d.name] === undefined).map((d) => d.name);
  if (missing.length > 0) return { problem: `the node's report has no observation of ${missing.join(", ")} (its agent predates that driver)` };
  try {
    return { plan: makePlan(desired, record.drivers, drivers) };
  } catch (e) {
    return { problem: `the node's observed state cannot be planned against by this steward: ${e instanceof Error ? e.message : String(e)}` };
  }
}

export interface NodeInputs {
  readonly node: string;
  /** The node's desired state for the revision (no host settings yet), or its manifest's problems. */
  readonly desired: { readonly desired: DesiredState | undefined; readonly diagnostics: readonly Diagnostic[] };
  /** The same for `--against`, for the actions already due there; undefined when it has none. */
  readonly base: DesiredState | undefined;
  /** The newest verified report with an observed state, or why there is none. */
  readonly observed: { readonly record: ObservedRecord; readonly observation: Observation } | { readonly problem: string };
}

/** reviewNode decides one node's part of the review from what was read. Pure. */
export function reviewNode(input: NodeInputs, drivers: readonly Driver[] = DRIVERS): NodeReview {
  const { node } = input;
  const errors = input.desired.diagnostics.filter((d) => d.severity === "error");
  if (input.desired.desired === undefined || errors.length > 0) return { node, state: "invalid", diagnostics: input.desired.diagnostics };
  if ("problem" in input.observed) return { node, state: "unknown", reason: input.observed.problem };
  const { record, observation } = input.observed;
  const desired = withRecordHost(input.desired.desired, record);
  const conflicts = hostPathConflicts(desired, record.protectedPaths);
  if (conflicts.length > 0) return { node, state: "invalid", diagnostics: [...input.desired.diagnostics, ...conflicts] };
  const planned = planAgainstRecord(desired, record, drivers);
  if ("problem" in planned) return { node, state: "unknown", reason: planned.problem, observation };
  const { plan } = planned;
  let pendingOnBase: string[] = [];
  if (input.base !== undefined) {
    const base = planAgainstRecord(withRecordHost(input.base, record), record, drivers);
    if ("plan" in base) {
      const same = new Set(base.plan.actions.map(actionKey));
      pendingOnBase = plan.actions.filter((a) => same.has(actionKey(a))).map((a) => a.id);
    }
  }
  const notes: string[] = [];
  if (observation.agentVersion !== STEWARD_VERSION) notes.push(`the node runs steward ${observation.agentVersion}, this is ${STEWARD_VERSION}: its planner may decide otherwise`);
  return {
    node,
    state: "planned",
    observation,
    plan,
    highlights: highlights(plan.actions),
    pendingOnBase,
    unobserved: unobservedFor(desired, record, drivers),
    notes,
    diagnostics: input.desired.diagnostics,
  };
}

/** An action as apply would run it, without the revision-dependent parts of the plan around it. */
function actionKey(a: ActionBase): string {
  return JSON.stringify(canonicalize(a));
}

export interface ReviewOptions {
  readonly gitdir: string;
  readonly revision: NamedRevision;
  readonly against: NamedRevision;
  /** The remote whose status branches are read first (`origin`), else local ones. */
  readonly remote: string;
  /** Only these nodes (default: every node of either revision). */
  readonly nodes?: readonly string[];
  readonly nowMs: number;
  readonly cache: object;
  readonly drivers?: readonly Driver[];
  /** The network policy (reachability.ts REACHABILITY by default). */
  readonly reachability?: ReachabilityProvider;
}

/**
 * reviewRevision reads what the review needs from the clone and decides it: the revision's and
 * `against`'s manifests, and for every node its newest verified report with an observed state
 * (checked against `key:` in `against`'s nodes/<node>.yaml, never the revision's: a change
 * cannot vouch for reports). Throws MANIFEST_INVALID when `against` does not validate (nothing
 * to verify reports with), USAGE for a node in neither revision, and what reading the clone
 * throws (SOURCE_NOT_FOUND, SOURCE_STATE). A revision that does not validate is a result.
 */
export async function reviewRevision(options: ReviewOptions): Promise<RevisionReview> {
  const { gitdir, cache } = options;
  const drivers = options.drivers ?? DRIVERS;
  const baseSnapshot = await readCloneSnapshot(gitdir, options.against.oid, cache);
  const base = loadModel(baseSnapshot);
  if (base.model === undefined) {
    throw new StewardError("MANIFEST_INVALID", `the manifest of ${options.against.name} (${options.against.oid.slice(0, 12)}) does not validate`, {
      data: { revision: options.against.oid, diagnostics: base.diagnostics },
      hint: "plan against a revision that validates (--against), or fix it first: steward validate on a checkout of it shows every problem",
      retry: "stalled",
    });
  }
  const snapshot = await readCloneSnapshot(gitdir, options.revision.oid, cache);
  const loaded = loadModel(snapshot);
  const valid = loaded.model !== undefined && !loaded.diagnostics.some((d) => d.severity === "error");
  const baseModel = base.model;
  const names = [...new Set([...(loaded.model?.nodes ?? []).map((n) => n.name), ...baseModel.nodes.map((n) => n.name)])].sort();
  for (const n of options.nodes ?? []) {
    if (!names.includes(n)) throw new StewardError("USAGE", `node '${n}' is in neither ${options.revision.name} nor ${options.against.name}`, { data: { node: n, nodes: names }, hint: `the nodes are ${names.join(", ")}` });
  }
  const wanted = options.nodes === undefined ? names : names.filter((n) => options.nodes?.includes(n));
  const nodes: NodeReview[] = [];
  if (valid) {
    for (const node of wanted) {
      const key = baseModel.nodes.find((n) => n.name === node)?.key;
      nodes.push(
        reviewNode(
          {
            node,
            desired: await nodeDesired(snapshot, node),
            base: baseModel.nodes.some((n) => n.name === node) ? (await nodeDesired(baseSnapshot, node)).desired : undefined,
            observed: await latestObservation(gitdir, node, key, options, baseModel),
          },
          drivers,
        ),
      );
    }
  }
  const reachability: ReachabilityReview =
    loaded.model === undefined || !valid ? { available: false, reason: "the revision does not validate" } : reviewReachability(baseModel, loaded.model, options.reachability ?? REACHABILITY);
  const ok = valid && nodes.every((n) => n.state !== "invalid") && (!reachability.available || reachability.undeclared.length === 0);
  return { ok, revision: options.revision, against: options.against, diagnostics: loaded.diagnostics, nodes, reachability };
}

/** nodeDesired resolves one node of a snapshot; a node the manifest lacks is a problem, as on the node itself. */
async function nodeDesired(snapshot: RepoSnapshot, node: string): Promise<{ desired: DesiredState | undefined; diagnostics: readonly Diagnostic[] }> {
  try {
    return await desiredFromSnapshot(snapshot, node);
  } catch (e) {
    if (!isStewardError(e) || e.code !== "MANIFEST_REFERENCE") throw e;
    return {
      desired: undefined,
      diagnostics: [{ code: e.code, severity: "error", message: `${e.message}: the node's agent refuses this revision and keeps the last one it applied`, where: { file: `nodes/${node}.yaml`, line: 1, column: 1 }, hint: "decommission the node (stop its agent) before removing it from the repo" }],
    };
  }
}

/** latestObservation finds the node's newest verified report with an observed state, and how old it is. */
async function latestObservation(gitdir: string, node: string, key: string | undefined, options: ReviewOptions, base: ClusterModel): Promise<NodeInputs["observed"]> {
  if (!base.nodes.some((n) => n.name === node)) return { problem: `a new node: it is not in ${options.against.name}, so it has no key to verify reports with, and has reported nothing` };
  const h = await readLatestObserved(gitdir, node, key, options.remote, options.cache);
  const found = h.observed;
  if (found === undefined) {
    if (h.tipProblem !== undefined && h.reports.length === 0) return { problem: h.tipProblem };
    const refused = h.refused > 0 ? `; ${h.refused} commit${h.refused === 1 ? "" : "s"} not signed by its key ignored` : "";
    return { problem: `no verified report carries the node's observed state (its agent predates it, or it could not observe the host)${refused}` };
  }
  const at = Date.parse(found.document.heartbeat);
  const ageSeconds = Number.isFinite(at) ? Math.max(0, Math.round((options.nowMs - at) / 1000)) : 0;
  const heartbeat = found.document.agent.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS;
  return {
    record: found.observed,
    observation: {
      report: found.oid,
      at: found.document.heartbeat,
      ageSeconds,
      stale: !Number.isFinite(at) || ageSeconds > STALE_HEARTBEATS * heartbeat,
      revision: found.observed.revision,
      agentVersion: found.document.agent.version,
    },
  };
}
