/**
 * Restores (docs/backups.md, "Restore"): a dataset's copy from a hot snapshot, its replica on a
 * peer, its cold disk or its remote store, received into a new dataset under
 * `<pool>/steward/restore/<service>/<dataset>-<stamp>` (never over the live one). Pure: what
 * the sources hold in, the pipelines out; cli/restore.ts reads and runs them.
 */
import type { Argv } from "../../exec.js";
import type { DatasetBackup, SshEndpoint } from "../../manifest/types.js";
import { sshArgv, type SshFiles } from "./commands.js";
import { coldName, compareSnapshotNames, isStewardSnapshot, parseSnapshotName, relativeName } from "./names.js";
import { ageDecryptArgv, restoreChain, type RemoteFile } from "./remote.js";

export type RestoreSource = "snapshot" | "replica" | "cold" | "remote";
export const RESTORE_SOURCES: readonly RestoreSource[] = ["snapshot", "replica", "cold", "remote"];

/** restoreName is where a restore lands: `<pool>/steward/restore/<service>/<dataset>-<YYYYMMDDTHHMMSSZ>`. */
export function restoreName(pool: string, d: Pick<DatasetBackup, "service" | "short">, nowMs: number): string {
  const stamp = new Date(Math.floor(nowMs / 1000) * 1000).toISOString().replace(/[-:]/g, "").replace(/\.000Z$/, "Z");
  return `${pool}/steward/restore/${d.service}/${d.short}-${stamp}`;
}

/** pickSnapshot is the newest Steward snapshot at or before `atMs` (the newest when undefined). Pure. */
export function pickSnapshot(names: readonly string[], atMs: number | undefined): string | undefined {
  const ok = names.filter((n) => isStewardSnapshot(n) && (atMs === undefined || (parseSnapshotName(n)?.at ?? Infinity) <= atMs)).sort(compareSnapshotNames);
  return ok[ok.length - 1];
}

/** What a restore reads from: the snapshots (or files) its source holds of the dataset. */
export type RestoreInput =
  | { readonly from: "snapshot"; readonly snapshots: readonly string[] }
  | { readonly from: "replica"; readonly snapshots: readonly string[]; readonly endpoint: SshEndpoint; readonly files: SshFiles }
  | { readonly from: "cold"; readonly pool: string; readonly node: string; readonly snapshots: readonly string[] }
  | { readonly from: "remote"; readonly stored: readonly RemoteFile[]; readonly endpoint: SshEndpoint; readonly files: SshFiles; readonly identity: string };

/** A restore's plan: the snapshot it brings back, and the pipelines that receive it into `target`, in order. */
export interface RestorePlan {
  readonly snapshot: string;
  readonly target: string;
  readonly pipelines: readonly (readonly Argv[])[];
}

/** planRestore decides how to bring `d` back as of `atMs` into `target`; a string says why it cannot. Pure. */
export function planRestore(d: DatasetBackup, node: string, input: RestoreInput, target: string, atMs: number | undefined): RestorePlan | string {
  const rel = relativeName(d.service, d.short);
  const receive: Argv = ["zfs", "receive", target];
  if (input.from === "remote") {
    const chain = restoreChain(input.stored, atMs);
    if (chain === undefined || chain.length === 0) return `the remote holds no copy of ${d.dataset}${atMs === undefined ? "" : " from before that time"}`;
    return {
      snapshot: chain[chain.length - 1]?.to as string,
      target,
      pipelines: chain.map((f) => [sshArgv(input.endpoint, input.files, ["get", f.path]), ...(f.raw ? [] : [ageDecryptArgv(input.identity)]), receive]),
    };
  }
  const snapshot = pickSnapshot(input.snapshots, atMs);
  if (snapshot === undefined) return `the ${input.from === "snapshot" ? "node" : input.from} holds no snapshot of ${d.dataset}${atMs === undefined ? "" : " from before that time"}`;
  switch (input.from) {
    case "snapshot":
      return { snapshot, target, pipelines: [[["zfs", "send", `${d.dataset}@${snapshot}`], receive]] };
    case "replica":
      return { snapshot, target, pipelines: [[sshArgv(input.endpoint, input.files, ["send", `${rel}@${snapshot}`]), receive]] };
    case "cold":
      return { snapshot, target, pipelines: [[["zfs", "send", `${coldName(input.pool, node, d.service, d.short)}@${snapshot}`], receive]] };
  }
}
