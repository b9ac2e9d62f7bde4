/**
 * The ZFS driver's data: one row of `zfs get -Hp`, a dataset as observed, and the record of
 * what apply last converged each dataset to. Plain, serializable data; no I/O.
 */

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
}

export const EMPTY_APPLIED_RECORD: AppliedRecord = { version: 1, datasets: {} };
