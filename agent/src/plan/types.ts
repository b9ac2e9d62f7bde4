/**
 * The plan model (docs/architecture.md, "Plans"): the ordered actions and findings that
 * `plan()` derives from desired and observed state. Plain data, serializable, stable. These are
 * the shapes every driver's actions and findings extend; the generic layers (plan, apply,
 * renderers, journal) read nothing else, so a new driver touches none of them.
 */
import type { Argv } from "../exec.js";
import type { ContentRef } from "../manifest/types.js";

/** Everything the drivers observed on one node, by driver name; `plan()` reads nothing else. */
export type ObservedState = Readonly<Record<string, unknown>>;

/**
 * Why an action is in the plan, as data (the `reason` says the same for people):
 * - missing:               the resource does not exist yet
 * - unrecorded:            differs from the manifest and nothing was converged before (first run)
 * - drift:                 changed on the host since the last apply; the manifest did not change
 * - manifest-changed:      the manifest now says something else than at the last apply
 * - listed-for-destroy:    named in the node's `destroy` list
 * - removed-from-manifest: the manifest no longer names it (stopped; data kept)
 * - restart-due:           something it depends on changed, or an earlier restart failed
 * - due:                   its time came: a backup policy's snapshot, prune or copy
 */
export type ActionCause = "missing" | "unrecorded" | "drift" | "manifest-changed" | "listed-for-destroy" | "removed-from-manifest" | "restart-due" | "due";

/**
 * What an action does to the node, for counts and for people reviewing a change:
 * create, change (in place), restart (a service or jail; no state lost), remove (stop and
 * unconfigure; data kept), destroy (data lost).
 */
export type ActionEffect = "create" | "change" | "restart" | "remove" | "destroy";

/**
 * Bytes an action writes (a file's content), named by their SHA-256: plans and journals carry
 * the hash, never the content, because a configuration file can hold secrets. apply looks the
 * bytes up in the content store it is given.
 */
export type { ContentRef };

/** One command of an action. */
export interface CommandStep {
  readonly argv: Argv;
  /** Content written to stdin. */
  readonly input?: ContentRef;
  /** Hard limit for this command (`pkg install` takes minutes); the executor's default otherwise. */
  readonly timeoutMs?: number;
  /**
   * Texts any of which in stderr means a failed command found its work already done (`zfs
   * hold` of a hold in place): the step then counts as succeeded, so an action interrupted
   * after it can run again.
   */
  readonly already?: readonly string[];
}

/** Write a file on the host atomically (temp file, fsync, rename), creating its directory. */
export interface WriteStep {
  /** Absolute host path. */
  readonly write: string;
  readonly input: ContentRef;
  /** Permission bits, e.g. 0o644. */
  readonly mode: number;
}

/**
 * Commands run as a pipeline, each one's stdout on the next one's stdin (`zfs send | ssh peer
 * receive`), without a shell. The step fails when any stage does.
 */
export interface PipelineStep {
  readonly pipeline: readonly Argv[];
  /** Hard limit for the whole pipeline; the executor's default otherwise. */
  readonly timeoutMs?: number;
  /**
   * About how many bytes the first stage writes (a send's size, as the driver read it when it
   * planned): for progress only (a percentage, a time left), never a limit.
   */
  readonly estimateBytes?: number;
}

/** One step of an action: a command, a pipeline, or a file write. */
export type Step = CommandStep | PipelineStep | WriteStep;

/**
 * What a driver checks on the host right before an action's commands run, as data (a destroy
 * carries the guid it expects). The driver that planned the action checks it.
 */
export interface Precondition {
  readonly kind: string;
}

/** What a driver verifies on the host right after an action's steps ran, as data. */
export interface Postcondition {
  readonly kind: string;
}

/** What every action has. Drivers extend it with their own fields and a closed union of kinds. */
export interface ActionBase {
  /** Stable across runs: `<kind>:<subject>[:<detail>]`. */
  readonly id: string;
  /** `<driver>.<verb>`, from the driver's closed union. */
  readonly kind: string;
  /** The driver that planned it (and checks and renders it). */
  readonly driver: string;
  /**
   * The resource it acts on, `<driver>:<name>` (`zfs:tank/steward/data/mail`, `jail:mail`,
   * `pf:steward`). A failed action marks it failed: later actions on it, and actions that need
   * it, are skipped.
   */
  readonly resource: string;
  /** Resources that must be ready first: converged already, or made so by earlier actions. */
  readonly needs: readonly string[];
  /**
   * Part of tearing something down: teardown actions run after every other action, drivers
   * in reverse registry order (pf, then jails, then datasets), each driver's in its own order.
   */
  readonly teardown: boolean;
  readonly effect: ActionEffect;
  /** The exact commands, run in order; the first that fails fails the action. */
  readonly steps: readonly Step[];
  readonly precondition?: Precondition;
  /**
   * What the driver checks right after the steps succeeded (a pf anchor read back and the
   * node still reaching its remotes), as data; when it does not hold the action fails, and the
   * driver may undo the steps' effect first and say so.
   */
  readonly postcondition?: Postcondition;
  readonly cause: ActionCause;
  /** For people only; apply never reads it. */
  readonly reason: string;
}

/** What every finding has: something the plan found but will not act on. */
export interface FindingBase {
  readonly driver: string;
  /** From the driver's closed union. */
  readonly kind: string;
  readonly resource: string;
  /** What it is about, for people (a dataset, a jail). */
  readonly subject: string;
  /** For people only. */
  readonly message: string;
  /** The resource cannot be made ready: actions that need it are skipped. */
  readonly blocking: boolean;
}

export interface PlanSummary {
  readonly create: number;
  readonly change: number;
  readonly restart: number;
  readonly remove: number;
  readonly destroy: number;
  readonly findings: number;
}

/** A plan: ordered actions and the findings, for one node. `JSON.stringify` of it is canonical. */
export interface Plan<A extends ActionBase = ActionBase, F extends FindingBase = FindingBase> {
  readonly version: 2;
  /** Hash of the content: equal plans have equal ids. */
  readonly id: string;
  readonly node: string;
  readonly revision: string | null;
  /** In the order apply runs them. */
  readonly actions: readonly A[];
  readonly findings: readonly F[];
  /** Resources a blocking finding keeps from being ready, sorted. */
  readonly blocked: readonly string[];
  readonly summary: PlanSummary;
}
