/**
 * How the backup driver reaches each kind of target (schema/README.md, "Backups"): the command
 * that lists what a target holds, the stages a stream goes through after `zfs send`, and the
 * step that prunes the copy there. Pure: argument vectors only.
 *
 * - replica: the peer's steward-receive (packaging/backup/steward-receive) over SSH, which
 *   confines this node's key to `<peer pool>/steward/replica/<this node>`.
 * - cold: a removable disk's pool, imported on this node: `zfs receive` into
 *   `<coldpool>/steward/<node>/<service>/<short>`, under containers with mountpoint=none (a
 *   copy is never mounted), then `zpool export`.
 */
import type { Argv } from "../../exec.js";
import type { BackupHostFiles, DatasetBackup, SshEndpoint } from "../../manifest/types.js";
import { LIST_TIMEOUT_MS, sshArgv, type SshFiles } from "./commands.js";
import { coldName, relativeName } from "./names.js";
import { destroySnapshotArgv, SNAPSHOT_GONE } from "./commands.js";
import type { CopyWay } from "./transfers.js";
import type { TargetRef } from "./types.js";

/** What zfs receive -A prints when there is no partial state to drop (zfs-receive(8)). */
const ABORT_NOTHING: readonly string[] = ["does not have any resumable receive state"];

/** How long a prune on a target may take. */
const PRUNE_TIMEOUT_MS = 5 * 60_000;

/** sshFiles are the backup SSH files of the host, or undefined when steward.yaml pins no host keys. */
export function sshFiles(host: BackupHostFiles | undefined): SshFiles | undefined {
  return host?.knownHosts === undefined ? undefined : { key: host.key, knownHosts: host.knownHosts };
}

/** endpointOf is how a target is reached over SSH; undefined when the manifest gives no way. */
export function endpointOf(d: DatasetBackup, t: TargetRef): SshEndpoint | undefined {
  if (t.kind === "replica") return d.replica?.endpoint;
  if (t.kind === "remote") return d.remote?.endpoint;
  return undefined;
}

/** listArgv lists what a replica peer holds of this node (steward-receive `list`). */
export function replicaListArgv(endpoint: SshEndpoint, files: SshFiles): { argv: Argv; timeoutMs: number } {
  return { argv: sshArgv(endpoint, files, ["list"]), timeoutMs: LIST_TIMEOUT_MS };
}

/** replicaWay sends a dataset to its replica on a peer, and prunes the replica's snapshots. */
export function replicaWay(d: DatasetBackup, endpoint: SshEndpoint, files: SshFiles): CopyWay {
  const rel = relativeName(d.service, d.short);
  return {
    receive: [sshArgv(endpoint, files, ["receive", rel])],
    prune: (names) => [{ argv: sshArgv(endpoint, files, ["prune", rel, ...names]), timeoutMs: PRUNE_TIMEOUT_MS }],
    abort: () => ({ argv: sshArgv(endpoint, files, ["abort", rel]), timeoutMs: LIST_TIMEOUT_MS, already: ABORT_NOTHING }),
  };
}

/** What `zfs create` prints when the dataset is there already: the container's work is done. */
const CREATE_EXISTS: readonly string[] = ["dataset already exists"];

/** coldRoot is this node's tree on a cold disk: `<coldpool>/steward/<node>`. */
export function coldRoot(pool: string, node: string): string {
  return `${pool}/steward/${node}`;
}

/** coldListArgv lists what a cold disk holds of this node (guids of its copies' snapshots). */
export function coldListArgv(pool: string, node: string): Argv {
  return ["zfs", "get", "-rHp", "-o", "name,property,value", "guid", coldRoot(pool, node)];
}

/** coldWay sends a dataset to its copy on a plugged-in cold disk, and prunes the copy's snapshots. */
export function coldWay(d: DatasetBackup, pool: string, node: string): CopyWay {
  const target = coldName(pool, node, d.service, d.short);
  const containers = [`${pool}/steward`, coldRoot(pool, node), `${coldRoot(pool, node)}/${d.service}`];
  return {
    receive: [["zfs", "receive", target]],
    prune: (names) => names.map((n) => ({ argv: destroySnapshotArgv(target, n, false), already: SNAPSHOT_GONE })),
    prepare: containers.map((c) => ({ argv: ["zfs", "create", "-o", "mountpoint=none", c] as Argv, already: CREATE_EXISTS })),
  };
}

/** exportArgv exports a cold disk's pool after its copies: then it can be unplugged (zpool-export(8)). */
export function exportArgv(pool: string): Argv {
  return ["zpool", "export", pool];
}
