/**
 * The driver seam (docs/architecture.md, "Drivers"). Each kind of resource — ZFS datasets,
 * jails, pf — is one Driver, listed in registry.ts; the generic layers (reconcile, plan, apply,
 * the renderers, the journal) call these methods and never name a driver. A driver gives:
 * - its slice of the desired state (pure);
 * - `observe`: the host as it is, in a constant number of reads per node;
 * - `plan`: a pure function of slice and observation to actions, findings and the resources it
 *   knows (so a need that names anything else is a bug the planner reports);
 * - how its actions read for people;
 * - optionally: a check of an action's precondition right before its commands run, a
 *   verification of its postcondition right after them, the contents its actions feed on
 *   stdin, a record of what apply converged, the health of the services it supervises (for
 *   the status report), and the scope of its observation and what of it may be reported.
 */
import type { OutcomeStatus } from "../apply/types.js";
import type { ErrorCode } from "../errors.js";
import type { Executor, RunResult } from "../exec.js";
import type { Logger } from "../log.js";
import type { DesiredState } from "../manifest/types.js";
import type { ActionBase, FindingBase } from "../plan/types.js";
import type { DriverReport } from "../status/document.js";

/** What observe and record may use. */
export interface DriverContext {
  readonly executor: Executor;
  /** The agent's state directory; undefined when there is none (a plan from a checkout). */
  readonly stateDir: string | undefined;
  readonly log: Logger;
  /**
   * The clock (Unix ms) for drivers whose plans depend on time (backups: what is due). Observe
   * reads it once and puts it in its observation, so plan stays a pure function. Date.now
   * when absent; tests pass their own.
   */
  readonly now?: () => number;
}

/** What a driver's plan gives the generic planner. */
export interface DriverPlan<A extends ActionBase = ActionBase, F extends FindingBase = FindingBase> {
  readonly actions: readonly A[];
  readonly findings: readonly F[];
  /**
   * Every resource the driver manages on this node, whether or not an action touches it:
   * another driver's action may need any of them.
   */
  readonly resources: readonly string[];
}

/**
 * The answer to a precondition: go ahead, nothing to do after all (the action is `unchanged`,
 * e.g. a dataset to destroy is already gone), or refused (the action fails with
 * APPLY_PRECONDITION, or the check's own command failed).
 */
export type CheckResult =
  | { readonly kind: "ok" }
  | { readonly kind: "done"; readonly why: string }
  | {
      readonly kind: "refused";
      readonly message: string;
      readonly result?: RunResult;
      /** The outcome's code when it is not the command's (EXEC_FAILED) or APPLY_PRECONDITION. */
      readonly code?: ErrorCode;
    };

/**
 * One rc service the manifest lists in a jail, as a health check found it:
 * - running: rc.subr(8) says it runs (`service -j JAIL SERVICE onestatus` exited 0);
 * - stopped: the jail runs, the service does not (it exited 1);
 * - jail-down: the jail itself does not run, so neither does the service;
 * - unknown: the check could not tell (it failed, timed out, or the deadline passed first).
 * `detail` says it for people: the tool's own line ("postfix is running as pid 812.") or why.
 */
export interface ServiceHealth {
  readonly jail: string;
  readonly service: string;
  readonly state: "running" | "stopped" | "jail-down" | "unknown";
  readonly detail: string;
}

/** Bounds of a health check; every field has a default in the driver. */
export interface HealthOptions {
  /** The most one command may take. */
  readonly timeoutMs?: number;
  /** The most the whole check may take: what is not checked by then is `unknown`. */
  readonly deadlineMs?: number;
  /** How many commands run at once. */
  readonly concurrency?: number;
  /** The clock (ms, monotonic), for tests. */
  readonly now?: () => number;
}

/**
 * One kind of resource. Methods (not function properties) so that a driver of specific types
 * is a Driver of the base types in the registry.
 */
export interface Driver<S = unknown, O = unknown, A extends ActionBase = ActionBase, F extends FindingBase = FindingBase> {
  /** The prefix of its resources and action kinds: `zfs`, `jail`, `pf`. */
  readonly name: string;
  /** slice picks what this driver converges out of a node's desired state. Pure. */
  slice(desired: DesiredState): S;
  /** observe reads the host. Throws OBSERVE_FAILED (transient) when it cannot. */
  observe(slice: S, ctx: DriverContext): Promise<O>;
  /** plan decides. Pure. */
  plan(slice: S, observed: O): DriverPlan<A, F>;
  /** renderAction writes one of its actions as one line for people. Pure. */
  renderAction(action: A): string;
  /** check tests an action's precondition on the host, right before its commands run. */
  check?(action: A, executor: Executor): Promise<CheckResult>;
  /**
   * verify tests an action's postcondition on the host, right after its commands succeeded.
   * `refused` fails the action (the driver may have undone the commands' effect first, and
   * says so in the message and code); `done` is not an answer it gives.
   */
  verify?(action: A, executor: Executor): Promise<CheckResult>;
  /** contents are the bytes its actions' steps reference by hash, by SHA-256. */
  contents?(slice: S): ReadonlyMap<string, Uint8Array>;
  /**
   * record persists what this apply converged, under the apply lock, after every action ran
   * (failed and skipped ones included, so the next plan knows what is still due).
   */
  record?(slice: S, observed: O, part: DriverPlan<A, F>, outcomes: ReadonlyMap<string, OutcomeStatus>, ctx: DriverContext & { readonly stateDir: string }): Promise<void>;
  /**
   * health checks the services of its slice, read-only, in a bounded number of commands and
   * within `options.deadlineMs`; the agent calls it for the status report, after apply or
   * without one. Never throws: what it cannot check is `unknown`. Only drivers that supervise
   * services have it (jails).
   */
  health?(slice: S, executor: Executor, options?: HealthOptions): Promise<readonly ServiceHealth[]>;
  /**
   * report reads what this driver adds to the node's status report (status/document.ts,
   * DriverReport), after the run: the backup driver's copy ages and cold disks. Side effects:
   * reads only. May throw; the agent then reports without it.
   */
  report?(slice: S, ctx: DriverContext): Promise<DriverReport>;
  /**
   * scope names what `observe` reads for this slice beyond what it always reads (a property
   * the manifest declares, a jail's files), one string each. Pure. An observation made for one
   * slice and reused to plan another (`steward plan --rev` on an admin's clone, from a node's
   * report) lacks what the other's scope adds: those are listed as not observed. Without it,
   * every observation covers every slice.
   */
  scope?(slice: S): readonly string[];
  /**
   * redact keeps of an observation what may leave the node in its status report (which everyone
   * who reads the repo reads): at least everything its plan of `slice` reads, so the plan is the
   * same. Pure. Without it, the whole observation is reported.
   */
  redact?(slice: S, observed: O): O;
}
