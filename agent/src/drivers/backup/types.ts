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

/** One snapshot as `zfs get -rHp guid,userrefs,referenced[,written]` showed it. */
export interface LocalSnapshot {
  /** The part after `@`. */
  readonly name: string;
  readonly guid: string;
  /** How many holds it has (`zfs hold`); a held snapshot cannot be destroyed. */
  readonly userrefs: number;
  /** Bytes it refers to (`referenced`): about what a whole send of it writes. */
  readonly referenced?: number;
  /** Bytes written between the previous snapshot and it (`written`, OpenZFS only): about what an incremental send of it adds. */
  readonly written?: number;
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
  /**
   * The live filesystem's `referenced` and (OpenZFS) `written` since its newest snapshot: the
   * sizes of a snapshot this run takes. They change with every write, so they never leave the
   * node (backupDriver.redact).
   */
  readonly referenced?: number;
  readonly written?: number;
}

/**
 * Which ZFS the node runs: `openzfs` (feature flags: bookmarks, resumable and raw sends) or
 * `legacy` (a pool version of 28 or less, as zfs-fuse's 23: none of those).
 */
export type ZfsFeatures = "openzfs" | "legacy";

/** What one target (a peer's replica tree, a cold pool) holds of one dataset. */
export interface TargetDataset {
  /** Snapshots, oldest first (the part after `@`), with their guids: equal guids are the same snapshot. */
  readonly snapshots: readonly { readonly name: string; readonly guid: string }[];
  /** A resumable receive left partial state (OpenZFS `receive_resume_token`). */
  readonly resumeToken?: string;
  /** On a remote file store: the copy's files (`<service>/<dataset>/<name>`), oldest first. */
  readonly files?: readonly string[];
}

/** A target as observed this run: its datasets by `<service>/<short>`, or why it could not be read. */
export type TargetObservation =
  | { readonly kind: "seen"; readonly features: ZfsFeatures; readonly datasets: Readonly<Record<string, TargetDataset>> }
  | { readonly kind: "unreachable"; readonly message: string };

/** The newest snapshot a target is known to hold of a dataset, and when that was confirmed (Unix ms). */
export interface TargetRecord {
  readonly snapshot: string;
  readonly at: number;
}

/** Failed attempts at a target (or at one dataset's copy there), for backing off. */
export interface FailureRecord {
  readonly at: number;
  readonly count: number;
}

/**
 * `<state>/backup/state.json`: what each target holds (so a run with nothing due asks no
 * peer), and the failures to back off from.
 */
export interface BackupState {
  readonly version: 1;
  /** dataset -> target tag -> record. */
  readonly targets: Readonly<Record<string, Readonly<Record<string, TargetRecord>>>>;
  /** `<tag>` (the target could not be read) or `<dataset> <tag>` (a copy failed) -> failures. */
  readonly failures: Readonly<Record<string, FailureRecord>>;
  /** Cold disks by pool: when Steward last exported one after its copies (Unix ms). */
  readonly disks?: Readonly<Record<string, { readonly exportedAt: number }>>;
  /** Restore drills by dataset: when the last ran, whether the remote copy restored, which snapshot. */
  readonly drills?: Readonly<Record<string, DrillRecord>>;
}

export interface DrillRecord {
  readonly at: number;
  readonly ok: boolean;
  readonly snapshot: string;
}

export const EMPTY_BACKUP_STATE: BackupState = { version: 1, targets: {}, failures: {} };

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
  /** Natively encrypted datasets (OpenZFS; read only when a remote copy is due): sent raw. */
  readonly encrypted?: readonly string[];
  /** The targets read this run (only those a copy is due to), by tag. */
  readonly targets?: Readonly<Record<string, TargetObservation>>;
  readonly state?: BackupState;
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

/** Where a copy goes: the kind of target, and its name (a node, a pool, a remote). */
export interface TargetRef {
  readonly kind: "replica" | "cold" | "remote";
  readonly name: string;
  /** `replica-beta`: in holds, bookmarks, resources, the record. */
  readonly tag: string;
}

/**
 * Bring a dataset's copy on a target up to date: one send (whole, from a base snapshot or
 * bookmark, or resumed from the receiver's token), then the new base kept (a hold, or a
 * bookmark) and the old one let go, and the target's snapshots pruned to the policy.
 */
export interface BackupSendAction extends BackupActionBase {
  readonly kind: "backup.send";
  readonly dataset: string;
  readonly target: TargetRef;
  /** The snapshot sent (newest); for a resume, undefined (the token knows). */
  readonly snapshot: string | undefined;
  readonly from: { readonly snapshot: string } | { readonly bookmark: string } | undefined;
  readonly resume: boolean;
}

/** Move a target's kept base to the snapshot it already holds (after an interrupted run). */
export interface BackupRebaseAction extends BackupActionBase {
  readonly kind: "backup.rebase";
  readonly dataset: string;
  readonly target: TargetRef;
  readonly snapshot: string;
}

/** Export a cold disk's pool after its copies: it can be unplugged then. */
export interface BackupExportAction extends BackupActionBase {
  readonly kind: "backup.export";
  readonly pool: string;
}

/** Restore the newest remote copy into the drill tree, then destroy it: proves it decrypts and receives. */
export interface BackupDrillAction extends BackupActionBase {
  readonly kind: "backup.drill";
  readonly dataset: string;
  readonly snapshot: string;
}

export type BackupAction = BackupSnapshotAction | BackupPruneAction | BackupClearAction | BackupSendAction | BackupRebaseAction | BackupExportAction | BackupDrillAction;
export type BackupActionKind = BackupAction["kind"];

interface BackupFindingBase extends FindingBase {
  readonly driver: "backup";
}

/**
 * What the backup plan found but will not act on:
 * - hold-unknown:        a snapshot of a dataset listed in `destroy` is held by a hold Steward did
 *                        not place: the dataset's destroy will fail until it is released (`zfs holds`)
 * - target-unconfigured: copies go over SSH but steward.yaml names no backup_known_hosts
 * - target-unreachable:  a peer or remote could not be read (its copies wait; the failure backs off)
 * - copy-diverged:       a target holds a copy with no snapshot in common with this node's:
 *                        Steward never overwrites it (no `receive -F`); say what to do
 * - copy-ahead:          a target holds snapshots after the newest this node still has (an
 *                        older copy swapped in by a restore): the same, for those snapshots
 */
export type BackupFinding =
  | (BackupFindingBase & { readonly kind: "hold-unknown"; readonly dataset: string; readonly snapshot: string })
  | (BackupFindingBase & { readonly kind: "target-unconfigured"; readonly target: string })
  | (BackupFindingBase & { readonly kind: "target-unreachable"; readonly target: string })
  | (BackupFindingBase & { readonly kind: "copy-diverged" | "copy-ahead"; readonly dataset: string; readonly target: string });
