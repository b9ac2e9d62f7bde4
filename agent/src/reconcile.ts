/**
 * The reconcile steps glued together for one node: desired state from a manifest snapshot,
 * observe (every driver), plan, and apply under the lock with the journal and the applied
 * record. The CLI and the agent loop call these; tests call them with their own executor.
 */
import type { Diagnostic } from "./errors.js";
import { StewardError, isStewardError } from "./errors.js";
import type { Executor } from "./exec.js";
import type { Logger } from "./log.js";
import type { DesiredState, RepoSnapshot } from "./manifest/types.js";
import { loadModel } from "./manifest/load.js";
import { desiredStateFor } from "./manifest/desired.js";
import { readSnapshotFromDir } from "./source/dir.js";
import { observeZfs } from "./drivers/zfs/observe.js";
import { nextAppliedRecord, renderAppliedRecord, type RecordOutcome } from "./drivers/zfs/record.js";
import { writeAppliedRecord } from "./drivers/zfs/state.js";
import { plan as makePlan } from "./plan/plan.js";
import type { ObservedState, Plan } from "./plan/types.js";
import { apply } from "./apply/apply.js";
import { Journal, type InterruptedApply } from "./apply/journal.js";
import { acquireApplyLock } from "./apply/lock.js";
import { logObserver } from "./apply/log-observer.js";
import type { ApplyObserver, ApplyResult } from "./apply/types.js";

/** The state directory of an installed agent (FreeBSD's place for daemon state). */
export const DEFAULT_STATE_DIR = "/var/db/steward";

export interface ObserveContext {
  readonly executor: Executor;
  /** Where the drivers' records live; undefined reads none. */
  readonly stateDir: string | undefined;
  readonly log: Logger;
}

/**
 * observe reads the host for every driver (one read per kind of resource). Side effects: runs
 * the drivers' read commands and reads their records. Throws OBSERVE_FAILED (transient).
 */
export async function observe(desired: DesiredState, ctx: ObserveContext): Promise<ObservedState> {
  const zfs = await observeZfs({ pool: desired.node.pool, datasets: desired.datasets }, ctx);
  return { zfs };
}

/**
 * planNode observes and plans; it changes nothing (no lock, no journal, no record written).
 * Throws OBSERVE_FAILED.
 */
export async function planNode(desired: DesiredState, ctx: ObserveContext): Promise<{ observed: ObservedState; plan: Plan }> {
  const observed = await observe(desired, ctx);
  return { observed, plan: makePlan(desired, observed) };
}

export interface ApplyContext extends ObserveContext {
  readonly stateDir: string;
  /** Extra observers (tests, the status step), after the journal and the logger. */
  readonly observers?: readonly ApplyObserver[];
}

export interface ApplyNodeResult {
  readonly plan: Plan;
  readonly result: ApplyResult;
  /** The previous apply, when the journal shows it never finished. */
  readonly interrupted: InterruptedApply | undefined;
}

/**
 * applyNode converges the node: takes the apply lock, opens the journal (reporting an apply
 * that never finished), observes, plans, applies, and records what each dataset converged to.
 * A plan that was interrupted converges here because everything is observed afresh.
 * Side effects: the host's commands; `<state>/apply.lock`, `journal.jsonl`, `zfs/applied.json`.
 * Throws APPLY_LOCKED (transient) when another apply runs, OBSERVE_FAILED, and APPLY_FAILED
 * (transient) when the state directory (lock, journal, record) cannot be written; a failed
 * action is an outcome, not a throw.
 */
export async function applyNode(desired: DesiredState, ctx: ApplyContext): Promise<ApplyNodeResult> {
  const log = ctx.log.child({ step: "apply", node: desired.node.name, ...(desired.revision === undefined ? {} : { revision: desired.revision }) });
  const lock = await acquireApplyLock(ctx.stateDir, log).catch((e: unknown) => {
    throw isStewardError(e) ? e : new StewardError("APPLY_FAILED", "cannot create the apply lock", { retry: "transient", data: { stateDir: ctx.stateDir, error: String(e) }, cause: e });
  });
  try {
    let opened: Awaited<ReturnType<typeof Journal.open>>;
    try {
      opened = await Journal.open(ctx.stateDir);
    } catch (e) {
      throw new StewardError("APPLY_FAILED", "cannot open the apply journal", { retry: "transient", data: { stateDir: ctx.stateDir, error: String(e) }, cause: e });
    }
    const { journal, interrupted } = opened;
    try {
      if (interrupted !== undefined) log.warn({ run: interrupted.run, plan: interrupted.plan, inFlight: interrupted.inFlight, lastEnded: interrupted.lastEnded, startedAt: interrupted.startedAt }, "previous apply interrupted");
      const observed = await observe(desired, { ...ctx, log });
      const plan = makePlan(desired, observed);
      const result = await apply(plan, ctx.executor, [journal, logObserver(log), ...(ctx.observers ?? [])]).catch((e: unknown) => {
        // Only an observer throws out of apply: most likely the journal could not be written.
        throw isStewardError(e) ? e : new StewardError("APPLY_FAILED", "apply stopped: an observer failed", { retry: "transient", data: { error: String(e) }, cause: e });
      });
      const statuses = new Map<string, RecordOutcome>(result.outcomes.map((o) => [o.action, o.status]));
      const record = nextAppliedRecord(observed.zfs.applied, desired.datasets, plan, statuses);
      if (renderAppliedRecord(record) !== renderAppliedRecord(observed.zfs.applied) || plan.actions.length > 0) await writeAppliedRecord(ctx.stateDir, record);
      return { plan, result, interrupted };
    } finally {
      await journal.close();
    }
  } finally {
    await lock.release();
  }
}

/**
 * desiredFromSnapshot validates a manifest snapshot and resolves it for one node. Returns the
 * diagnostics (and no desired state) when the manifest has any error. Throws
 * MANIFEST_REFERENCE (from desiredStateFor) when the node is not in the manifest.
 * The seam for `--rev`: the source step's `readSnapshot(gitdir, oid, cache)` yields the same
 * RepoSnapshot as `readSnapshotFromDir`; pass it here.
 */
export async function desiredFromSnapshot(snapshot: RepoSnapshot, node: string): Promise<{ desired: DesiredState | undefined; diagnostics: readonly Diagnostic[] }> {
  const loaded = loadModel(snapshot);
  const diagnostics = loaded.diagnostics;
  if (loaded.model === undefined || diagnostics.some((d) => d.severity === "error")) return { desired: undefined, diagnostics };
  const desired = desiredStateFor(loaded.model, node);
  return { desired, diagnostics };
}

/** desiredFromDir reads a cluster repo checkout (no git involved) and resolves it for one node; see desiredFromSnapshot. */
export async function desiredFromDir(dir: string, node: string): Promise<{ desired: DesiredState | undefined; diagnostics: readonly Diagnostic[] }> {
  return desiredFromSnapshot(await readSnapshotFromDir(dir), node);
}
