/**
 * The ZFS driver's data: its slice of the desired state, one row of `zfs get -Hp`, a dataset as
 * observed, the record of what apply last converged each dataset to, and its actions and
 * findings. Plain, serializable data; no I/O.
 */
import type { DatasetSpec } from "../../manifest/types.js";
import type { ActionBase, CommandStep, FindingBase, PipelineStep, Precondition } from "../../plan/types.js";

/** The source column of `zfs get`, without the dataset name of `inherited from <dataset>`. */
export type PropertySource = "local" | "default" | "inherited" | "received" | "temporary" | "none";

/** One line of `zfs get -Hp -o name,property,value,source`. */
export interface ZfsGetRow {
  readonly name: string;
  readonly property: string;
  readonly value: string;
  readonly source: PropertySource;
  /** The dataset named by `inherited from <dataset>`, when source is "inherited". */
  readonly inheritedFrom?: string;
}

export interface ObservedProperty {
  readonly value: string;
  readonly source: PropertySource;
  readonly inheritedFrom?: string;
}

/** A filesystem under `<pool>/steward` as `zfs get -rHp` showed it (snapshots folded in as a count). */
export interface ObservedDataset {
  readonly name: string;
  /** True only when `org.steward:managed` is `yes` and set here (source local or received), not inherited. */
  readonly managed: boolean;
  /** Identifies the dataset across renames; destroys are confirmed against it. */
  readonly guid: string | undefined;
  /** Snapshots of this dataset (their rows are dropped; a destroy would fail on them). */
  readonly snapshots: number;
  /** Their names, the part after `@`, sorted (a base release's `steward` snapshot is looked up here). */
  readonly snapshotNames?: readonly string[];
  /** Every observed property except the marker and guid, by name. */
  readonly properties: Readonly<Record<string, ObservedProperty>>;
}

/**
 * What apply last converged each dataset to: the manifest's values for the properties it
 * declared, at the time of that apply. It tells a property changed by hand (observed differs,
 * record equals desired) from a manifest change (record differs from desired).
 */
export interface AppliedRecord {
  readonly version: 1;
  readonly datasets: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** Everything the ZFS driver observed on one node. */
export interface ZfsObserved {
  /** `<pool>/steward`: Steward looks nowhere else. */
  readonly root: string;
  readonly rootExists: boolean;
  /** Sorted by name; parents before children. */
  readonly datasets: readonly ObservedDataset[];
  readonly applied: AppliedRecord;
  /**
   * The clock of this observation (Unix ms), read only when a desired dataset may be seeded
   * from a replica: the plan says how old the replica's snapshot is.
   */
  readonly nowMs?: number;
}

export const EMPTY_APPLIED_RECORD: AppliedRecord = { version: 1, datasets: {} };

/** The slice of a node's desired state the ZFS driver converges. */
export interface ZfsDesired {
  readonly pool: string;
  /** Ordered parents first (re-sorted by the planner anyway). */
  readonly datasets: readonly DatasetSpec[];
  /** Full names the admin asked to destroy. */
  readonly destroy: readonly string[];
}

interface ZfsActionBase extends ActionBase {
  readonly driver: "zfs";
  readonly dataset: string;
  /** ZFS actions only run commands. */
  readonly steps: readonly CommandStep[];
}

/** Create a dataset with the marker and every declared property. */
export interface ZfsCreateAction extends ZfsActionBase {
  readonly kind: "zfs.create";
  readonly before: null;
  readonly after: Readonly<Record<string, string>>;
}

/** Clone a jail's root from its base release's snapshot, with the marker and its properties. */
export interface ZfsCloneAction extends ZfsActionBase {
  readonly kind: "zfs.clone";
  readonly origin: string;
  readonly before: null;
  readonly after: Readonly<Record<string, string>>;
}

/**
 * Seed an absent dataset from a replica on this node (a failover, or a drain's final copy):
 * `zfs send <replica>@<snapshot> | zfs receive <dataset>`, then the marker and every declared
 * property set, the mountpoint last. The replica is left as it was.
 */
export interface ZfsSeedAction extends Omit<ZfsActionBase, "steps"> {
  readonly kind: "zfs.seed";
  /** The send into the dataset (a pipeline), then `zfs set` and `zfs mount` commands. */
  readonly steps: readonly (CommandStep | PipelineStep)[];
  /** The replica dataset it is received from. */
  readonly source: string;
  /** The node that sent the replica (where the service lived). */
  readonly from: string;
  /** The replica's snapshot sent (the part after `@`). */
  readonly snapshot: string;
  /** When the snapshot was taken (Unix ms, from its name). */
  readonly takenAt: number;
  /** Why this replica may seed: the node is marked down, or the snapshot is its final copy (drain). */
  readonly because: "down" | "final";
  readonly before: null;
  readonly after: Readonly<Record<string, string>>;
}

/** Set one property. */
export interface ZfsSetAction extends ZfsActionBase {
  readonly kind: "zfs.set";
  readonly property: string;
  readonly before: string;
  readonly after: string;
}

/** Revert a local value the manifest does not declare (`zfs inherit`, or `set quota=none`). */
export interface ZfsInheritAction extends ZfsActionBase {
  readonly kind: "zfs.inherit";
  readonly property: string;
  readonly before: string;
  readonly after: null;
}

/** Mount a dataset that has a mountpoint but is not mounted (a mount that failed, or `zfs unmount` by hand). */
export interface ZfsMountAction extends ZfsActionBase {
  readonly kind: "zfs.mount";
  readonly before: "no";
  readonly after: "yes";
}

/** The precondition of a destroy: the dataset still has the guid the plan saw. */
export interface GuidPrecondition extends Precondition {
  readonly kind: "zfs.guid";
  readonly dataset: string;
  readonly guid: string;
}

/** Destroy one dataset, after confirming it still has the guid the plan saw. */
export interface ZfsDestroyAction extends ZfsActionBase {
  readonly kind: "zfs.destroy";
  readonly guid: string;
  readonly precondition: GuidPrecondition;
  /** Its locally set properties, for the record of what was lost. */
  readonly before: Readonly<Record<string, string>>;
  readonly after: null;
}

export type ZfsAction = ZfsCreateAction | ZfsCloneAction | ZfsSeedAction | ZfsSetAction | ZfsInheritAction | ZfsMountAction | ZfsDestroyAction;
export type ZfsActionKind = ZfsAction["kind"];

export type DestroyRefusal = "unmanaged" | "has-children" | "has-snapshots" | "still-wanted" | "no-guid";

interface ZfsFindingBase extends FindingBase {
  readonly driver: "zfs";
  readonly dataset: string;
}

/**
 * What the ZFS plan found but will not act on (blocking ones keep the dataset from being ready,
 * so nothing that needs it runs):
 * - unmanaged-conflict:  a dataset under `<pool>/steward` without Steward's marker (`wanted`:
 *                        the manifest names it; then blocking)
 * - blocked-by-conflict: a dataset that cannot be created because an ancestor is an unmanaged conflict (blocking)
 * - orphan:              a managed dataset the manifest no longer names: kept
 * - drift-reported:      changed by hand, and the resource says `drift: report`
 * - destroy-done:        listed for destroy and gone (destroyed by an earlier apply): the entry can go
 * - destroy-refused:     listed for destroy, but not safe to destroy (`because`)
 * - base-missing:        a base release jails are cloned from is not there, or lacks its snapshot
 *                        (blocking: the admin installs it, see the message)
 * - origin-differs:      a jail root is a clone of another snapshot than its release's (left alone)
 * - seed-waiting:        an absent dataset a replica here holds data for, none of which may seed
 *                        it yet: not created (blocking, so its jail does not start empty) until
 *                        the old node sends its final copy (drain) or is marked down (failover)
 * - handed-over:         a dataset whose newest snapshot is a drain's final copy: its service
 *                        moved away from here and came back, so its data is older than the
 *                        service's; never used as it is (blocking) until renamed or destroyed
 */
export type ZfsFinding =
  | (ZfsFindingBase & { readonly kind: "unmanaged-conflict"; readonly wanted: boolean })
  | (ZfsFindingBase & { readonly kind: "blocked-by-conflict"; readonly conflict: string })
  | (ZfsFindingBase & { readonly kind: "orphan" })
  | (ZfsFindingBase & { readonly kind: "drift-reported"; readonly property: string; readonly expected: string; readonly actual: string })
  | (ZfsFindingBase & { readonly kind: "destroy-done" })
  | (ZfsFindingBase & { readonly kind: "destroy-refused"; readonly because: DestroyRefusal })
  | (ZfsFindingBase & { readonly kind: "base-missing"; readonly snapshot: string })
  | (ZfsFindingBase & { readonly kind: "origin-differs"; readonly expected: string; readonly actual: string })
  | (ZfsFindingBase & { readonly kind: "handed-over"; readonly snapshot: string })
  | (ZfsFindingBase & { readonly kind: "seed-waiting"; readonly replicas: readonly { readonly dataset: string; readonly node: string; readonly snapshot: string }[] });
export type ZfsFindingKind = ZfsFinding["kind"];
