/**
 * The reconcile steps glued together for one node: desired state from a manifest snapshot,
 * observe (every driver), plan, and apply under the lock with the journal and the applied
 * record; and the whole sequence from git (reconcileFromSource): choose the revision, read
 * and validate it, apply it and record it, all under one apply lock. The CLI and the agent
 * loop call these; tests call them with their own executor.
 */
import { createHash } from "node:crypto";
import type { Diagnostic } from "./errors.js";
import { StewardError, isStewardError } from "./errors.js";
import type { Executor } from "./exec.js";
import type { Logger } from "./log.js";
import type { DesiredState, HostLayout, RepoSnapshot } from "./manifest/types.js";
import { loadModel } from "./manifest/load.js";
import { desiredStateFor } from "./manifest/desired.js";
import { readSnapshotFromDir } from "./source/dir.js";
import { DEFAULT_JAIL_CONF_DIR, DEFAULT_PF_CONFIRM_WINDOW, type AgentConfig } from "./config.js";
import { agentPaths, hostPathConflicts } from "./manifest/paths.js";
import { readSnapshot } from "./source/snapshot.js";
import { runSource, type SourceOptions, type SourceResult } from "./source/source.js";
import { recordApplied } from "./source/state.js";
import type { Driver, HealthOptions, ServiceHealth } from "./drivers/driver.js";
import type { DriverReport } from "./status/document.js";
import { DRIVERS } from "./drivers/registry.js";
import { plan as makePlan } from "./plan/plan.js";
import type { ObservedState, Plan } from "./plan/types.js";
import { apply } from "./apply/apply.js";
import { Journal, type InterruptedApply } from "./apply/journal.js";
import { acquireApplyLock, type ApplyLock } from "./apply/lock.js";
import { logObserver } from "./apply/log-observer.js";
import { progressFileObserver } from "./apply/progress-file.js";
import type { ApplyObserver, ApplyResult, OutcomeStatus } from "./apply/types.js";

/** The state directory of an installed agent (FreeBSD's place for daemon state). */
export const DEFAULT_STATE_DIR = "/var/db/steward";

export interface ObserveContext {
  readonly executor: Executor;
  /** Where the drivers' records live; undefined reads none. */
  readonly stateDir: string | undefined;
  readonly log: Logger;
  /** The drivers (the registry by default; tests pass their own). */
  readonly drivers?: readonly Driver[];
  /** The clock drivers observe time with (DriverContext.now); Date.now by default. */
  readonly now?: () => number;
}

/**
 * observe reads the host for every driver (a constant number of reads per kind of resource),
 * the drivers at once: each only reads. Side effects: runs the drivers' read commands and reads
 * their records. Throws the error of the first driver, in registry order, that failed
 * (OBSERVE_FAILED, transient), once every driver has finished.
 */
export async function observe(desired: DesiredState, ctx: ObserveContext): Promise<ObservedState> {
  const drivers = ctx.drivers ?? DRIVERS;
  const results = await Promise.allSettled(drivers.map((d) => d.observe(d.slice(desired), ctx)));
  const observed: Record<string, unknown> = {};
  for (const [i, r] of results.entries()) {
    if (r.status === "rejected") throw r.reason;
    observed[(drivers[i] as Driver).name] = r.value;
  }
  return observed;
}

/**
 * nodeHealth checks the services every driver supervises (Driver.health; the jail driver's rc
 * services), for the status report: read-only, bounded by `options`. Never throws.
 */
export async function nodeHealth(desired: DesiredState, executor: Executor, options?: HealthOptions, drivers: readonly Driver[] = DRIVERS): Promise<ServiceHealth[]> {
  const out: ServiceHealth[] = [];
  for (const d of drivers) if (d.health !== undefined) out.push(...(await d.health(d.slice(desired), executor, options)));
  return out;
}

/**
 * nodeReports reads what every driver adds to the status report (Driver.report), at once. A
 * driver whose read fails is left out, with a warning. Never throws.
 */
export async function nodeReports(desired: DesiredState, ctx: ObserveContext): Promise<DriverReport> {
  const parts = await Promise.all(
    (ctx.drivers ?? DRIVERS).map((d) =>
      d.report === undefined
        ? {}
        : d.report(d.slice(desired), ctx).catch((e: unknown): DriverReport => {
            ctx.log.warn({ driver: d.name, error: String(e) }, `${d.name}: its part of the status report not observed`);
            return {};
          }),
    ),
  );
  return Object.assign({}, ...parts) as DriverReport;
}

/**
 * planNode observes and plans; it changes nothing (no lock, no journal, no record written).
 * Throws OBSERVE_FAILED.
 */
export async function planNode(desired: DesiredState, ctx: ObserveContext): Promise<{ observed: ObservedState; plan: Plan }> {
  const observed = await observe(desired, ctx);
  return { observed, plan: makePlan(desired, observed, ctx.drivers ?? DRIVERS) };
}

export interface ApplyContext extends ObserveContext {
  readonly stateDir: string;
  /** Extra observers (tests, the status step), after the journal and the logger. */
  readonly observers?: readonly ApplyObserver[];
  /** The bytes of the files the desired state installs (desiredFromSnapshot); none by default. */
  readonly contents?: ContentStore;
  /** Once aborted, no further action starts (apply.ts ApplyOptions.stop). */
  readonly stop?: AbortSignal;
}

export interface ApplyNodeResult {
  readonly plan: Plan;
  /** What the drivers observed before the plan was made (observedAfter: the host after apply). */
  readonly observed: ObservedState;
  readonly result: ApplyResult;
  /** The previous apply, when the journal shows it never finished. */
  readonly interrupted: InterruptedApply | undefined;
}

/**
 * applyNode converges the node: takes the apply lock, opens the journal (reporting an apply
 * that never finished), observes, plans, applies, and records what each dataset converged to.
 * A plan that was interrupted converges here because everything is observed afresh.
 * Side effects: the host's commands; `<state>/apply.lock`, `journal.jsonl`, `zfs/applied.json`,
 * and `apply/progress.json` while a transfer runs (apply/progress-file.ts).
 * Throws APPLY_LOCKED (transient) when another apply runs, OBSERVE_FAILED, and APPLY_FAILED
 * (transient) when the state directory (lock, journal, record) cannot be written; a failed
 * action is an outcome, not a throw.
 */
export async function applyNode(desired: DesiredState, ctx: ApplyContext): Promise<ApplyNodeResult> {
  const log = ctx.log.child({ step: "apply", node: desired.node.name, ...(desired.revision === undefined ? {} : { revision: desired.revision }) });
  const lock = await takeApplyLock(ctx.stateDir, log);
  try {
    return await applyLocked(desired, { ...ctx, log });
  } finally {
    await lock.release();
  }
}

async function takeApplyLock(stateDir: string, log: Logger): Promise<ApplyLock> {
  return acquireApplyLock(stateDir, log).catch((e: unknown) => {
    throw isStewardError(e) ? e : new StewardError("APPLY_FAILED", "cannot create the apply lock", { retry: "transient", data: { stateDir, error: String(e) }, cause: e });
  });
}

/** applyLocked is applyNode for a caller that holds the apply lock. */
async function applyLocked(desired: DesiredState, ctx: ApplyContext): Promise<ApplyNodeResult> {
  const { log } = ctx;
  let opened: Awaited<ReturnType<typeof Journal.open>>;
  try {
    opened = await Journal.open(ctx.stateDir);
  } catch (e) {
    throw new StewardError("APPLY_FAILED", "cannot open the apply journal", { retry: "transient", data: { stateDir: ctx.stateDir, error: String(e) }, cause: e });
  }
  const { journal, interrupted } = opened;
  try {
    if (interrupted !== undefined) log.warn({ run: interrupted.run, plan: interrupted.plan, inFlight: interrupted.inFlight, lastEnded: interrupted.lastEnded, startedAt: interrupted.startedAt }, "previous apply interrupted");
    const drivers = ctx.drivers ?? DRIVERS;
    const observed = await observe(desired, ctx);
    const plan = makePlan(desired, observed, drivers);
    const contents = new Map<string, Uint8Array>(ctx.contents ?? []);
    for (const d of drivers) for (const [hash, bytes] of d.contents?.(d.slice(desired)) ?? []) contents.set(hash, bytes);
    const result = await apply(plan, ctx.executor, [journal, logObserver(log), progressFileObserver(ctx.stateDir, log), ...(ctx.observers ?? [])], { drivers, contents, ...(ctx.stop === undefined ? {} : { stop: ctx.stop }) }).catch((e: unknown) => {
      // Only an observer throws out of apply: most likely the journal could not be written.
      throw isStewardError(e) ? e : new StewardError("APPLY_FAILED", "apply stopped: an observer failed", { retry: "transient", data: { error: String(e) }, cause: e });
    });
    const statuses = new Map<string, OutcomeStatus>(result.outcomes.map((o) => [o.action, o.status]));
    // Each driver records what it converged, under the lock, failures included.
    for (const d of drivers) {
      if (d.record === undefined) continue;
      const part = { actions: plan.actions.filter((a) => a.driver === d.name), findings: plan.findings.filter((f) => f.driver === d.name), resources: [] };
      await d.record(d.slice(desired), observed[d.name], part, statuses, { ...ctx, stateDir: ctx.stateDir });
    }
    return { plan, observed, result, interrupted };
  } finally {
    await journal.close();
  }
}

/**
 * observedAfter is the host as an apply left it, for the status report: the apply's own
 * observation when its plan had no action (nothing was run since), else a fresh one. Undefined
 * when the fresh one cannot be read (logged: the report then carries none). Side effects: the
 * drivers' reads, only when the plan had actions.
 */
export async function observedAfter(desired: DesiredState, run: Pick<ApplyNodeResult, "plan" | "observed">, ctx: ObserveContext): Promise<ObservedState | undefined> {
  if (run.plan.actions.length === 0) return run.observed;
  try {
    return await observe(desired, ctx);
  } catch (e) {
    ctx.log.warn({ code: isStewardError(e) ? e.code : "INTERNAL", error: String(e) }, "the host could not be observed after apply; the report carries no observed state");
    return undefined;
  }
}

/**
 * hostLayout is where things live on this host, and how its pf loads are confirmed (the
 * network remotes of the configuration: host and TCP port), from the agent configuration. Pure.
 */
export function hostLayout(config: Pick<AgentConfig, "jailConfDir" | "pfConfirmWindow" | "backupKey" | "backupKnownHosts" | "backupIdentity"> & Partial<Pick<AgentConfig, "remotes">>): HostLayout {
  const targets = (config.remotes ?? []).flatMap((r) => {
    const t = remoteProbeTarget(r.target);
    return t === undefined ? [] : [{ name: r.name, ...t }];
  });
  const windowMs = (config.pfConfirmWindow ?? DEFAULT_PF_CONFIRM_WINDOW) * 1000;
  return {
    jailConfDir: config.jailConfDir ?? DEFAULT_JAIL_CONF_DIR,
    backup: { key: config.backupKey, knownHosts: config.backupKnownHosts, identity: config.backupIdentity },
    ...(targets.length === 0 || windowMs === 0 ? {} : { pfConfirm: { targets, windowMs } }),
  };
}

/** remoteProbeTarget is where a remote answers TCP connections: ssh's host and port, an http(s) URL's; none for a local path. */
function remoteProbeTarget(target: AgentConfig["remotes"][number]["target"]): { host: string; port: number } | undefined {
  if (target.kind === "ssh") return { host: target.host, port: target.port ?? 22 };
  if (target.kind === "local") return undefined;
  const url = new URL(target.url);
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  return { host, port: url.port === "" ? (url.protocol === "https:" ? 443 : 80) : Number(url.port) };
}

/** The desired state a node runs, read from the revision the source step chose. */
export interface SourceTarget {
  /** The revision the desired state was read from. */
  readonly revision: string;
  /** Absent when that revision's manifest is invalid (its problems are in `diagnostics`). */
  readonly desired: DesiredState | undefined;
  /** Problems (and warnings) of `revision`'s manifest for this node. */
  readonly diagnostics: readonly Diagnostic[];
  /** The bytes of the files its services install, by SHA-256. */
  readonly contents: ContentStore;
  /**
   * A new verified revision whose manifest is invalid for this node: the node keeps converging
   * the last applied revision (`revision`) and reports this one.
   */
  readonly rejected?: { readonly revision: string; readonly diagnostics: readonly Diagnostic[] };
}

/**
 * desiredFromSource reads and validates, for `node`, the revision the source step chose (or
 * `rev`, when given), checking its jail roots and mountpoints against the node's own
 * directories (`protectedPaths`: agentPaths of its configuration). When a new revision's
 * manifest is invalid and a revision was applied before, the last applied one is read
 * instead and the new one is returned as `rejected`, so the node keeps converging. Throws the
 * hold's reason (its code and retry) when there is no revision at all to read, and what
 * readSnapshot throws.
 */
export async function desiredFromSource(result: SourceResult, node: string, protectedPaths: readonly string[], rev?: string, host?: HostLayout): Promise<SourceTarget> {
  const decision = result.decision;
  const revision = rev ?? decision.revision;
  if (revision === undefined) {
    const reason = decision.kind === "hold" ? decision.reason : undefined;
    throw new StewardError(reason?.code ?? "SOURCE_EMPTY", reason?.message ?? "no revision to read", {
      data: { decision },
      hint: reason?.hint ?? "push a signed commit to the tracked branch",
      retry: reason?.retry ?? "transient",
    });
  }
  const read = async (oid: string): Promise<NodeDesired> => {
    const loaded = await desiredFromSnapshot(await readSnapshot(result.gitdir, oid, result.cache), node);
    if (loaded.desired === undefined) return loaded;
    const conflicts = hostPathConflicts(loaded.desired, protectedPaths);
    if (conflicts.length > 0) return { desired: undefined, diagnostics: [...loaded.diagnostics, ...conflicts], contents: new Map() };
    return host === undefined ? loaded : { ...loaded, desired: { ...loaded.desired, host } };
  };
  const chosen = await read(revision);
  if (chosen.desired !== undefined || rev !== undefined || decision.kind !== "apply" || result.lastApplied === undefined) return { revision, ...chosen };
  const kept = await read(result.lastApplied);
  return { revision: result.lastApplied, ...kept, rejected: { revision, diagnostics: chosen.diagnostics } };
}

/** What one reconcile from git did. */
export interface ReconcileResult {
  readonly source: SourceResult;
  /** The revision run and its manifest; absent when the source step gave nothing to read. */
  readonly target: SourceTarget;
  /** Absent when the desired state is invalid (nothing was applied). */
  readonly run?: ApplyNodeResult;
  /** The revision recorded as applied by this reconcile, if any. */
  readonly recorded?: string;
}

export interface ReconcileContext {
  readonly config: AgentConfig;
  readonly executor: Executor;
  readonly log: Logger;
  /** The node (default: the configuration's). */
  readonly node?: string;
  /** Extra apply observers. */
  readonly observers?: readonly ApplyObserver[];
  /** Passed to the source step (the agent's object cache and fetch worker, a clock). */
  readonly source?: Omit<SourceOptions, "log">;
  /** Once aborted, no further action starts (apply.ts ApplyOptions.stop). */
  readonly stop?: AbortSignal;
}

/**
 * reconcileFromSource is the whole sequence for one node, under one apply lock so that no other
 * apply can interleave: the source step chooses a revision (fetching and verifying), its
 * manifest is read and validated (an invalid new one leaves the last applied revision in
 * force, see desiredFromSource), the node is converged, and the revision is recorded as
 * applied when it is new and every action succeeded. Throws APPLY_LOCKED when another apply
 * holds the lock, the hold's reason when nothing was ever applied and nothing can be, and
 * what applyNode throws; a held revision or an invalid manifest is a result, not a throw.
 */
export async function reconcileFromSource(ctx: ReconcileContext): Promise<ReconcileResult> {
  const { config } = ctx;
  const node = ctx.node ?? config.node;
  const log = ctx.log.child({ node });
  const lock = await takeApplyLock(config.state, log);
  try {
    const source = await runSource(config, { ...ctx.source, log });
    const target = await desiredFromSource(source, node, agentPaths(config), undefined, hostLayout(config));
    if (target.rejected !== undefined) log.warn({ revision: target.rejected.revision, problems: target.rejected.diagnostics.length, kept: target.revision }, "new revision's manifest is invalid; keeping the last applied revision");
    if (target.desired === undefined) return { source, target };
    const run = await applyLocked(target.desired, { executor: ctx.executor, stateDir: config.state, log: log.child({ step: "apply", revision: target.revision }), contents: target.contents, ...(ctx.observers === undefined ? {} : { observers: ctx.observers }), ...(ctx.stop === undefined ? {} : { stop: ctx.stop }) });
    const decision = source.decision;
    if (run.result.ok && decision.kind === "apply" && target.revision === decision.revision) {
      await recordApplied(config.state, decision.revision, new Date(), source.cache);
      log.info({ revision: decision.revision }, "revision recorded as applied");
      return { source, target, run, recorded: decision.revision };
    }
    return { source, target, run };
  } finally {
    await lock.release();
  }
}

/** The bytes of the files a node's services install, by SHA-256 (the plan carries only hashes). */
export type ContentStore = ReadonlyMap<string, Uint8Array>;

/** A node's desired state, or why there is none, and the contents its files need. */
export interface NodeDesired {
  readonly desired: DesiredState | undefined;
  readonly diagnostics: readonly Diagnostic[];
  readonly contents: ContentStore;
}

/**
 * desiredFromSnapshot validates a manifest snapshot, resolves it for one node and reads the
 * files its services install (their hashes go into the desired state, their bytes into
 * `contents`). Returns the diagnostics (and no desired state) when the manifest has any error,
 * or a file cannot be read (too large, not a regular file). Throws MANIFEST_REFERENCE (from
 * desiredStateFor) when the node is not in the manifest. The seam for `--rev`: the source
 * step's `readSnapshot(gitdir, oid, cache)` yields the same RepoSnapshot as `readSnapshotFromDir`.
 */
export async function desiredFromSnapshot(snapshot: RepoSnapshot, node: string): Promise<NodeDesired> {
  const loaded = loadModel(snapshot);
  const diagnostics = loaded.diagnostics;
  const contents = new Map<string, Uint8Array>();
  if (loaded.model === undefined || diagnostics.some((d) => d.severity === "error")) return { desired: undefined, diagnostics, contents };
  const desired = desiredStateFor(loaded.model, node);
  const problems: Diagnostic[] = [];
  const services = [];
  for (const s of desired.services) {
    const files = [];
    for (const f of s.files) {
      if (snapshot.readFile === undefined) {
        files.push(f);
        continue;
      }
      try {
        const bytes = await snapshot.readFile(f.from);
        const sha256 = createHash("sha256").update(bytes).digest("hex");
        contents.set(sha256, bytes);
        files.push({ ...f, content: { sha256, bytes: bytes.length } });
      } catch (e) {
        if (!isStewardError(e) || (e.code !== "MANIFEST_INVALID" && e.code !== "MANIFEST_MISSING")) throw e;
        problems.push({ code: e.code, severity: "error", message: e.message, where: e.where ?? s.where, ...(e.hint === undefined ? {} : { hint: e.hint }) });
      }
    }
    services.push({ ...s, files });
  }
  if (problems.length > 0) return { desired: undefined, diagnostics: [...diagnostics, ...problems], contents: new Map() };
  return { desired: { ...desired, services }, diagnostics, contents };
}

/** desiredFromDir reads a cluster repo checkout (no git involved) and resolves it for one node; see desiredFromSnapshot. */
export async function desiredFromDir(dir: string, node: string): Promise<NodeDesired> {
  return desiredFromSnapshot(await readSnapshotFromDir(dir), node);
}
