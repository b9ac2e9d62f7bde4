/**
 * The backup driver's data: its slice of the desired state, what it observed, the record it
 * keeps, its actions and findings. Plain, serializable data; no I/O.
 */
import type { BackupHostFiles, NodeBackups } from "../../manifest/types.js";
import type { ActionBase, FindingBase } from "../../plan/types.js";

/** The slice of a node's desired state the backup driver converges. */
export interface BackupDesired {
  readonly node: string;
  readonly pool: string;
  /** What the policies ask of this node's datasets; absent when none has a policy. */
  readonly backups: NodeBackups | undefined;
  /** Full names the admin asked to destroy: their Steward snapshots go first. */
  readonly destroy: readonly string[];
  /** Node-local files for SSH and age (steward.yaml); absent when not configured. */
  readonly host: BackupHostFiles | undefined;
}

/** One snapshot as `zfs get -rHp guid,userrefs` showed it. */
export interface LocalSnapshot {
  /** The part after `@`. */
  readonly name: string;
  readonly guid: string;
  /** How many holds it has (`zfs hold`); a held snapshot cannot be destroyed. */
  readonly userrefs: number;
}

/** A bookmark (OpenZFS), the part after `#`. */
export interface LocalBookmark {
  readonly name: string;
  readonly guid: string;
}

/** A filesystem under `<pool>/steward`, with its snapshots (oldest first) and bookmarks. */
export interface LocalDataset {
  readonly name: string;
  /** Steward's marker is set on it (not inherited): the ZFS driver may destroy it. */
  readonly managed: boolean;
  readonly snapshots: readonly LocalSnapshot[];
  readonly bookmarks: readonly LocalBookmark[];
}

/**
 * Which ZFS the node runs: `openzfs` (feature flags: bookmarks, resumable and raw sends) or
 * `legacy` (a pool version of 28 or less, as zfs-fuse's 23: none of those).
 */
export type ZfsFeatures = "openzfs" | "legacy";

/** Everything the backup driver observed on one node. */
export interface BackupObserved {
  /** The clock of this observation (Unix ms): every due date and age is counted from it. */
  readonly nowMs: number;
  /** `<pool>/steward`. */
  readonly root: string;
  /** By name, every filesystem under the root. */
  readonly datasets: Readonly<Record<string, LocalDataset>>;
  readonly features: ZfsFeatures;
  /** The pools imported now (a cold disk is plugged in when its pool is among them). */
  readonly pools: readonly string[];
}

interface BackupActionBase extends ActionBase {
  readonly driver: "backup";
}

/** Take the snapshots that are due on a unit (a service's container with `-r`, or one dataset). */
export interface BackupSnapshotAction extends BackupActionBase {
  readonly kind: "backup.snapshot";
  readonly unit: string;
  readonly recursive: boolean;
  /** Names after `@`. */
  readonly snapshots: readonly string[];
}

/** Destroy the snapshots of a unit past its policy's retention. */
export interface BackupPruneAction extends BackupActionBase {
  readonly kind: "backup.prune";
  readonly unit: string;
  readonly recursive: boolean;
  readonly snapshots: readonly string[];
  /** Snapshots retention would have destroyed but an incremental base or a hold keeps. */
  readonly kept: readonly string[];
}

/** Release Steward's holds and destroy Steward's snapshots of a dataset listed in `destroy`. */
export interface BackupClearAction extends BackupActionBase {
  readonly kind: "backup.clear";
  readonly dataset: string;
  readonly snapshots: readonly string[];
  readonly releases: readonly { readonly snapshot: string; readonly tag: string }[];
}

export type BackupAction = BackupSnapshotAction | BackupPruneAction | BackupClearAction;
export type BackupActionKind = BackupAction["kind"];

interface BackupFindingBase extends FindingBase {
  readonly driver: "backup";
}

/**
 * What the backup plan found but will not act on:
 * - hold-unknown: a snapshot of a dataset listed in `destroy` is held by a hold Steward did not
 *                 place: the dataset's destroy will fail until it is released (`zfs holds`)
 */
export type BackupFinding = BackupFindingBase & { readonly kind: "hold-unknown"; readonly dataset: string; readonly snapshot: string };
