/**
 * The exact commands of the backup driver, as argument vectors (zfs(8): zfs-snapshot(8),
 * zfs-destroy(8), zfs-hold(8), zfs-bookmark(8), zfs-send(8), zfs-receive(8); zpool-list(8),
 * zpool-export(8)). Pure: builds arrays, runs nothing. Only what zfs-fuse 0.7.0 and OpenZFS
 * both accept, except where a function says it is for OpenZFS.
 */
import type { Argv } from "../../exec.js";
import { MANAGED_PROPERTY } from "../zfs/commands.js";

/**
 * observeArgv is the one read of the local tree: the guid and hold count of every filesystem,
 * snapshot and (OpenZFS) bookmark under `<pool>/steward`, and Steward's marker. No `-t`:
 * zfs-fuse has none.
 */
export function observeArgv(root: string): Argv {
  return ["zfs", "get", "-rHp", "-o", "name,property,value,source", `guid,userrefs,${MANAGED_PROPERTY}`, root];
}

/** poolsArgv lists the imported pools and their versions (`-` for feature flags): which ZFS this is, and whether a cold disk is plugged in. */
export function poolsArgv(): Argv {
  return ["zpool", "list", "-H", "-o", "name,version"];
}

/**
 * snapshotArgv takes one snapshot; `-r` takes it of the unit and every dataset below it in one
 * transaction (zfs-snapshot(8): "atomically"). zfs-fuse takes one snapshot name per call.
 */
export function snapshotArgv(unit: string, name: string, recursive: boolean): Argv {
  return recursive ? ["zfs", "snapshot", "-r", `${unit}@${name}`] : ["zfs", "snapshot", `${unit}@${name}`];
}

/**
 * destroySnapshotArgv destroys one snapshot; with `-r` the snapshot of that name on the unit
 * and below it, as `snapshot -r` took it (never a filesystem: the name has an `@`).
 */
export function destroySnapshotArgv(unit: string, name: string, recursive: boolean): Argv {
  return recursive ? ["zfs", "destroy", "-r", `${unit}@${name}`] : ["zfs", "destroy", `${unit}@${name}`];
}

/** releaseArgv removes one hold (zfs-hold(8)). */
export function releaseArgv(tag: string, dataset: string, snapshot: string): Argv {
  return ["zfs", "release", tag, `${dataset}@${snapshot}`];
}

/** holdArgv places one hold: the snapshot cannot be destroyed until it is released (zfs-hold(8)). */
export function holdArgv(tag: string, dataset: string, snapshot: string): Argv {
  return ["zfs", "hold", tag, `${dataset}@${snapshot}`];
}

/** What zfs prints when a hold, a release or a snapshot's destroy has nothing to do: the step's work is done already. */
export const HOLD_EXISTS: readonly string[] = ["tag already exists on this dataset"];
export const HOLD_MISSING: readonly string[] = ["no such tag on this dataset"];
/** zfs-fuse and OpenZFS on a single snapshot; OpenZFS on a `-r` one (zfs-destroy(8)). */
export const SNAPSHOT_GONE: readonly string[] = ["dataset does not exist", "could not find any snapshots to destroy"];
