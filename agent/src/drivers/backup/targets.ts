/**
 * How the backup driver reaches each kind of target (schema/README.md, "Backups"): the command
 * that lists what a target holds, the stages a stream goes through after `zfs send`, and the
 * step that prunes the copy there. Pure: argument vectors only.
 *
 * - replica: the peer's steward-receive (packaging/backup/steward-receive) over SSH, which
 *   confines this node's key to `<peer pool>/steward/replica/<this node>`.
 */
import type { Argv } from "../../exec.js";
import type { BackupHostFiles, DatasetBackup, SshEndpoint } from "../../manifest/types.js";
import { LIST_TIMEOUT_MS, sshArgv, type SshFiles } from "./commands.js";
import { relativeName } from "./names.js";
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
    prune: (names) => ({ argv: sshArgv(endpoint, files, ["prune", rel, ...names]), timeoutMs: PRUNE_TIMEOUT_MS }),
    abort: () => ({ argv: sshArgv(endpoint, files, ["abort", rel]), timeoutMs: LIST_TIMEOUT_MS, already: ABORT_NOTHING }),
  };
}
