/**
 * Remote copies, encrypted, as files on a plain file store reached over SSH (schema/README.md,
 * "Backups"; docs/backups.md): the store's forced command (packaging/backup/steward-store)
 * keeps each node's files and nothing else. Pure: names, listings and plans.
 *
 * A copy is one file per send: `<service>/<dataset>/<snapshot>.full.age` (the whole snapshot)
 * or `<snapshot>.from.<base>.age` (every snapshot since `base`, `zfs send -I`), the stream
 * encrypted with age to the cluster's recipients before it leaves the node; a natively
 * encrypted dataset on OpenZFS goes as a raw send (`zfs send -w`, the key never leaves the
 * node), ending `.raw`. Files form chains: a full file, then increments each from the one
 * before. A new chain starts after CHAIN_LENGTH increments, and the newest KEEP_CHAINS chains
 * are kept. A file is written as `.part` and committed by name only after the send succeeded.
 */
import type { Argv } from "../../exec.js";
import type { Step } from "../../plan/types.js";
import { SEND_TIMEOUT_MS, sendArgv, sshArgv, type SshFiles } from "./commands.js";
import { compareSnapshotNames, isStewardSnapshot, parseSnapshotName } from "./names.js";
import { copyResource, keepBase, sendEstimate, sendStep } from "./transfers.js";
import type { BackupSendAction, LocalDataset, TargetRef, ZfsFeatures } from "./types.js";
import type { DatasetBackup, SshEndpoint } from "../../manifest/types.js";

/** Increments after a full file before the next copy starts a new chain. */
export const CHAIN_LENGTH = 7;
/** Chains kept on the store: the newest, and the one before (restorable while the new one grows). */
export const KEEP_CHAINS = 2;

/** One file of a remote copy, read back from its name. */
export interface RemoteFile {
  readonly path: string;
  /** `<service>/<dataset>`. */
  readonly rel: string;
  readonly to: string;
  readonly from: string | undefined;
  readonly raw: boolean;
}

/** remoteFileName names the file of a send of `to` (from `from`, else whole). */
export function remoteFileName(rel: string, to: string, from: string | undefined, raw: boolean): string {
  return `${rel}/${to}.${from === undefined ? "full" : `from.${from}`}.${raw ? "raw" : "age"}`;
}

/** parseRemoteFile reads a store path; undefined for anything Steward does not write. */
export function parseRemoteFile(path: string): RemoteFile | undefined {
  const parts = path.split("/");
  if (parts.length !== 3) return undefined;
  const [service = "", dataset = "", name = ""] = parts;
  const m = /^(.+?)\.(full|from\.(.+))\.(age|raw)$/.exec(name);
  if (m === null) return undefined;
  const to = m[1] ?? "";
  const from = m[3];
  if (!isStewardSnapshot(to) || (from !== undefined && !isStewardSnapshot(from))) return undefined;
  return { path, rel: `${service}/${dataset}`, to, from, raw: m[4] === "raw" };
}

/** parseStoreList groups steward-store's `list` by dataset, files oldest first (by the snapshot they bring). */
export function parseStoreList(stdout: string): Record<string, RemoteFile[]> {
  const out: Record<string, RemoteFile[]> = {};
  for (const line of stdout.split("\n")) {
    const f = parseRemoteFile(line.trim());
    if (f !== undefined) out[f.rel] = [...(out[f.rel] ?? []), f];
  }
  for (const files of Object.values(out)) files.sort((a, b) => compareSnapshotNames(a.to, b.to) || (a.from === undefined ? -1 : 1));
  return out;
}

/** chainOf follows a file back to the full file it builds on; undefined when a link is missing. */
export function chainOf(files: readonly RemoteFile[], last: RemoteFile): RemoteFile[] | undefined {
  const chain = [last];
  let at = last;
  while (at.from !== undefined) {
    const from = at.from;
    const prev = files.filter((f) => f.to === from).sort((a, b) => (a.from === undefined ? -1 : b.from === undefined ? 1 : 0))[0];
    if (prev === undefined) return undefined;
    chain.unshift(prev);
    at = prev;
  }
  return chain;
}

/** ageArgv encrypts stdin to every recipient (age(1) -r). */
export function ageArgv(recipients: readonly string[]): Argv {
  return ["age", ...recipients.flatMap((r) => ["-r", r])];
}

/** ageDecryptArgv decrypts stdin with an identity file (age(1) -d -i). */
export function ageDecryptArgv(identity: string): Argv {
  return ["age", "-d", "-i", identity];
}

export interface RemoteInput {
  readonly d: DatasetBackup;
  readonly target: TargetRef;
  readonly endpoint: SshEndpoint;
  readonly files: SshFiles;
  readonly recipients: readonly string[];
  /** The copy's files on the store, oldest first. */
  readonly stored: readonly RemoteFile[];
  readonly local: LocalDataset | undefined;
  readonly newest: string;
  readonly recorded: string | undefined;
  readonly features: ZfsFeatures;
  /** Natively encrypted (OpenZFS): a raw send. */
  readonly raw: boolean;
  readonly needs: readonly string[];
}

/**
 * planRemote decides one dataset's due copy to a remote store. The base is the snapshot the
 * newest stored file brings when it is the one recorded, its chain is whole and this node still
 * holds it (held since that send); else the copy starts a chain. Pure.
 */
export function planRemote(c: RemoteInput): { action: BackupSendAction; base: string | undefined } {
  const rel = `${c.d.service}/${c.d.short}`;
  const last = c.stored[c.stored.length - 1];
  const chain = last === undefined ? undefined : chainOf(c.stored, last);
  const held = (name: string): boolean => (c.local?.snapshots ?? []).some((s) => s.name === name);
  const base = last !== undefined && chain !== undefined && last.to === c.recorded && held(last.to) && chain.length <= CHAIN_LENGTH && last.raw === c.raw ? last.to : undefined;
  const file = remoteFileName(rel, c.newest, base, c.raw);
  const from = base === undefined ? undefined : { snapshot: base };
  const ssh = (words: readonly string[]): Argv => sshArgv(c.endpoint, c.files, words);
  // After this file, the chains on the store: keep the newest KEEP_CHAINS (each from its full file).
  const after = [...c.stored, { path: file, rel, to: c.newest, from: base, raw: c.raw }];
  const fulls = after.filter((f) => f.from === undefined).sort((a, b) => compareSnapshotNames(a.to, b.to));
  const oldestKept = fulls[Math.max(0, fulls.length - KEEP_CHAINS)];
  const stale = oldestKept === undefined ? [] : c.stored.filter((f) => compareSnapshotNames(f.to, oldestKept.to) < 0);
  const steps: Step[] = [
    sendStep([sendArgv(c.d.dataset, c.newest, from, c.raw), ...(c.raw ? [] : [ageArgv(c.recipients)]), ssh(["put", file])], sendEstimate(c.local, c.newest, from)),
    { argv: ssh(["commit", file]), timeoutMs: 60_000 },
    ...keepBase(c.d.dataset, c.target.tag, c.newest, [c.recorded], c.local, c.features),
    ...(stale.length > 0 ? [{ argv: ssh(["delete", ...stale.map((f) => f.path)]), timeoutMs: 5 * 60_000 }] : []),
  ];
  const action: BackupSendAction = {
    kind: "backup.send",
    id: `backup.send:${c.d.dataset}:${c.target.tag}`,
    driver: "backup",
    resource: copyResource(c.d.dataset, c.target.tag),
    needs: [...c.needs],
    teardown: false,
    effect: "create",
    steps,
    cause: "due",
    reason: `${c.raw ? "raw (the dataset is encrypted; its key stays here)" : "encrypted with age"} to ${c.target.name}: ${base === undefined ? "a new chain, sent whole" : `the snapshots since ${base}`}${stale.length > 0 ? `; ${stale.length} file${stale.length === 1 ? "" : "s"} of older chains deleted` : ""}`,
    snapshot: c.newest,
    from,
    resume: false,
    dataset: c.d.dataset,
    target: c.target,
  };
  return { action, base };
}

/**
 * restoreChain lists the files that rebuild a copy up to `at` (the newest when undefined): the
 * chain of the newest file bringing a snapshot at or before it. Pure.
 */
export function restoreChain(stored: readonly RemoteFile[], at?: number): RemoteFile[] | undefined {
  const candidates = stored.filter((f) => at === undefined || (parseSnapshotName(f.to)?.at ?? Infinity) <= at);
  for (let i = candidates.length - 1; i >= 0; i--) {
    const chain = chainOf(stored, candidates[i] as RemoteFile);
    if (chain !== undefined) return chain;
  }
  return undefined;
}

/** drillDue answers whether a dataset's restore drill is due: never run, or `every` seconds ago. Pure. */
export function drillDue(nowMs: number, everySeconds: number, last: { readonly at: number } | undefined): boolean {
  return everySeconds > 0 && (last === undefined || nowMs - last.at >= everySeconds * 1000);
}
