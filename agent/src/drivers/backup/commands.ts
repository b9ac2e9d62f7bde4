/**
 * The exact commands of the backup driver, as argument vectors (zfs(8): zfs-snapshot(8),
 * zfs-destroy(8), zfs-hold(8), zfs-bookmark(8), zfs-send(8), zfs-receive(8); zpool-list(8),
 * zpool-export(8)). Pure: builds arrays, runs nothing. Only what zfs-fuse 0.7.0 and OpenZFS
 * both accept, except where a function says it is for OpenZFS.
 */
import type { Argv } from "../../exec.js";
import { sshArgv as ssh } from "../../ssh.js";
import type { SshEndpoint } from "../../manifest/types.js";
import { MANAGED_PROPERTY } from "../zfs/commands.js";
import type { ZfsFeatures } from "./types.js";

/**
 * observeArgv is the one read of the local tree: the guid, hold count and size (`referenced`;
 * on OpenZFS also `written`, the bytes written since the previous snapshot, which zfs-fuse does
 * not know and refuses) of every filesystem, snapshot and (OpenZFS) bookmark under
 * `<pool>/steward`, and Steward's marker. The sizes estimate a send's bytes, for its progress.
 * No `-t`: zfs-fuse has none.
 */
export function observeArgv(root: string, features: ZfsFeatures = "legacy"): Argv {
  return ["zfs", "get", "-rHp", "-o", "name,property,value,source", `guid,userrefs,referenced,${features === "openzfs" ? "written," : ""}${MANAGED_PROPERTY}`, root];
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

/** How long one send may take before it is killed (and resent, or resumed, next time). */
export const SEND_TIMEOUT_MS = 12 * 3600_000;
/** How long a peer's or a remote's listing may take. */
export const LIST_TIMEOUT_MS = 60_000;

/** The SSH files of backups: the key its forced commands confine, the pinned host keys. */
export interface SshFiles {
  readonly key: string | undefined;
  readonly knownHosts: string;
}

/**
 * sshArgv runs one request of a backup forced command (packaging/backup/steward-receive,
 * steward-store) on a peer or a remote: batch mode, the pinned known_hosts only, the backup
 * key only, no forwarding, no user configuration (ssh(1), ssh_config(5)). `words` are names
 * the manifest step and the schema checked: no spaces, no shell characters; ssh joins them
 * into the SSH_ORIGINAL_COMMAND the wrapper reads.
 */
export function sshArgv(endpoint: SshEndpoint, files: SshFiles, words: readonly string[]): Argv {
  return ssh({ host: endpoint.host, port: endpoint.port, user: endpoint.user, knownHosts: files.knownHosts, key: files.key, connectTimeoutSeconds: 10, aliveIntervalSeconds: 15, aliveCountMax: 4, command: words.join(" ") });
}

/** Where an incremental send starts: a snapshot (`-I`: every snapshot between), or a bookmark (`-i`: OpenZFS). */
export type SendBase = { readonly snapshot: string } | { readonly bookmark: string };

/**
 * sendArgv streams a snapshot (zfs-send(8)): whole, or from a base; `raw` (OpenZFS, `-w`)
 * sends an encrypted dataset's blocks as they are on disk, so the key never leaves the node.
 */
export function sendArgv(dataset: string, snapshot: string, from: SendBase | undefined, raw = false): Argv {
  const w = raw ? ["-w"] : [];
  if (from === undefined) return ["zfs", "send", ...w, `${dataset}@${snapshot}`];
  if ("snapshot" in from) return ["zfs", "send", ...w, "-I", `@${from.snapshot}`, `${dataset}@${snapshot}`];
  return ["zfs", "send", ...w, "-i", `${dataset}#${from.bookmark}`, `${dataset}@${snapshot}`];
}

/** resumeSendArgv continues an interrupted send from the receiver's token (OpenZFS, zfs-send(8) `-t`). */
export function resumeSendArgv(token: string): Argv {
  return ["zfs", "send", "-t", token];
}

/** bookmarkArgv keeps a snapshot's place as an incremental base after the snapshot is gone (OpenZFS, zfs-bookmark(8)). */
export function bookmarkArgv(dataset: string, snapshot: string, bookmark: string): Argv {
  return ["zfs", "bookmark", `${dataset}@${snapshot}`, `${dataset}#${bookmark}`];
}

/** destroyBookmarkArgv drops a bookmark (zfs-destroy(8)). */
export function destroyBookmarkArgv(dataset: string, bookmark: string): Argv {
  return ["zfs", "destroy", `${dataset}#${bookmark}`];
}

/** What OpenZFS prints when a bookmark is there already, or gone already (zfs-bookmark(8), zfs-destroy(8)). */
export const BOOKMARK_EXISTS: readonly string[] = ["bookmark exists", "already exists"];
export const BOOKMARK_GONE: readonly string[] = ["does not exist", "could not find"];
