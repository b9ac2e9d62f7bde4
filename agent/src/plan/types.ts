/**
 * The plan model (STYLE.md §2): what Steward observed, and the ordered actions and findings
 * that `plan()` derives from desired and observed state. Plain data, serializable, stable.
 */
import type { Argv } from "../exec.js";
import type { ZfsObserved } from "../drivers/zfs/types.js";

/** Everything the drivers observed on one node; `plan()` reads nothing else. */
export interface ObservedState {
  readonly zfs: ZfsObserved;
}

/**
 * Why an action is in the plan, as data (the `reason` says the same for people):
 * - missing:            the resource does not exist yet
 * - unrecorded:         differs from the manifest and nothing was converged before (first run)
 * - drift:              changed on the host since the last apply; the manifest did not change
 * - manifest-changed:   the manifest now says something else than at the last apply
 * - listed-for-destroy: named in the node's `destroy` list
 */
export type ActionCause = "missing" | "unrecorded" | "drift" | "manifest-changed" | "listed-for-destroy";

interface ActionBase {
  /** Stable across runs: `<kind>:<dataset>[:<property>]`. */
  readonly id: string;
  /** What a failure stops: later actions on the same resource are skipped. `zfs:<dataset>`. */
  readonly resource: string;
  readonly dataset: string;
  /** Ids of earlier actions that must have succeeded. */
  readonly dependsOn: readonly string[];
  /** The exact commands, run in order. */
  readonly argv: readonly Argv[];
  readonly cause: ActionCause;
  /** For people only; apply never reads it. */
  readonly reason: string;
}

/** Create a dataset with the marker and every declared property. */
export interface ZfsCreateAction extends ActionBase {
  readonly kind: "zfs.create";
  readonly before: null;
  readonly after: Readonly<Record<string, string>>;
}

/** Set one property. */
export interface ZfsSetAction extends ActionBase {
  readonly kind: "zfs.set";
  readonly property: string;
  readonly before: string;
  readonly after: string;
}

/** Revert a local value the manifest does not declare (`zfs inherit`, or `set quota=none`). */
export interface ZfsInheritAction extends ActionBase {
  readonly kind: "zfs.inherit";
  readonly property: string;
  readonly before: string;
  readonly after: null;
}

/** Mount a dataset that has a mountpoint but is not mounted (a mount that failed, or `zfs unmount` by hand). */
export interface ZfsMountAction extends ActionBase {
  readonly kind: "zfs.mount";
  readonly before: "no";
  readonly after: "yes";
}

/** Destroy one dataset, after confirming it still has the guid the plan saw. */
export interface ZfsDestroyAction extends ActionBase {
  readonly kind: "zfs.destroy";
  readonly guid: string;
  /** Its locally set properties, for the record of what was lost. */
  readonly before: Readonly<Record<string, string>>;
  readonly after: null;
}

export type Action = ZfsCreateAction | ZfsSetAction | ZfsInheritAction | ZfsMountAction | ZfsDestroyAction;
export type ActionKind = Action["kind"];

export type DestroyRefusal = "unmanaged" | "has-children" | "has-snapshots" | "still-wanted" | "no-guid";

interface FindingBase {
  readonly resource: string;
  readonly dataset: string;
  /** For people only. */
  readonly message: string;
}

/**
 * What the plan found but will not act on:
 * - unmanaged-conflict:  a dataset under `<pool>/steward` without Steward's marker (`wanted`: the manifest names it)
 * - blocked-by-conflict: a dataset that cannot be created because an ancestor is an unmanaged conflict
 * - orphan:              a managed dataset the manifest no longer names: kept
 * - drift-reported:      changed by hand, and the resource says `drift: report`
 * - destroy-missing:     listed for destroy, not there
 * - destroy-refused:     listed for destroy, but not safe to destroy (`because`)
 */
export type Finding =
  | (FindingBase & { readonly kind: "unmanaged-conflict"; readonly wanted: boolean })
  | (FindingBase & { readonly kind: "blocked-by-conflict"; readonly conflict: string })
  | (FindingBase & { readonly kind: "orphan" })
  | (FindingBase & { readonly kind: "drift-reported"; readonly property: string; readonly expected: string; readonly actual: string })
  | (FindingBase & { readonly kind: "destroy-missing" })
  | (FindingBase & { readonly kind: "destroy-refused"; readonly because: DestroyRefusal });
export type FindingKind = Finding["kind"];

export interface PlanSummary {
  readonly create: number;
  readonly change: number;
  readonly destroy: number;
  readonly findings: number;
}

/** A plan: ordered actions and the findings, for one node. `JSON.stringify` of it is canonical. */
export interface Plan {
  readonly version: 1;
  /** Hash of the content: equal plans have equal ids. */
  readonly id: string;
  readonly node: string;
  readonly pool: string;
  readonly revision: string | null;
  readonly actions: readonly Action[];
  readonly findings: readonly Finding[];
  readonly summary: PlanSummary;
}
