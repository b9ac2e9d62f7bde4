/**
 * Observing for backups: one `zpool list` (which ZFS this is, which pools are imported), then one
 * `zfs get -rHp` of `<pool>/steward` (snapshots, holds, bookmarks, sizes), with the clock read
 * once; the record of what each target holds; and the targets a copy is due to, each read
 * once (a peer's steward-receive `list`, a plugged-in cold disk's `zfs get`). A run with
 * nothing due talks to no peer. A node
 * without backups and nothing to destroy runs nothing.
 */
import { StewardError } from "../../errors.js";
import type { DriverContext } from "../driver.js";
import { rootOf } from "../zfs/commands.js";
import { LIST_TIMEOUT_MS, observeArgv, poolsArgv, sshArgv, type SshFiles } from "./commands.js";
import { drillDue, parseStoreList } from "./remote.js";
import { finalCopy } from "./drain.js";
import type { Argv } from "../../exec.js";
import type { SshEndpoint } from "../../manifest/types.js";
import { parseLocalResult, parsePools } from "./parse.js";
import { groupRows, parseTargetList } from "./parse-target.js";
import { isDatasetMissing } from "../zfs/parse.js";
import { takenByUnit } from "./plan.js";
import { backupReport, coldDisks, type ColdDiskReport, type DatasetBackupReport } from "./report.js";
import { readBackupState } from "./state.js";
import { coldListArgv, coldRoot, endpointOf, replicaListArgv, sshFiles } from "./targets.js";
import { dueCopies, targetsOf } from "./transfers.js";
import { EMPTY_BACKUP_STATE, type BackupDesired, type BackupObserved, type TargetObservation } from "./types.js";

/**
 * observeBackups reads what the backup plan needs. Side effects: runs `zfs get`, `zpool
 * list`, and ssh to the peers a copy is due to; reads `<state>/backup/state.json`. Throws
 * OBSERVE_FAILED (transient) when a local read fails (other than a missing root); a peer that
 * cannot be read is an observation (`unreachable`), not a failure.
 */
export async function observeBackups(slice: BackupDesired, ctx: DriverContext): Promise<BackupObserved> {
  const nowMs = (ctx.now ?? Date.now)();
  const root = rootOf(slice.pool);
  if (slice.backups === undefined && slice.destroy.length === 0) return { nowMs, root, datasets: {}, features: "legacy", pools: [] };
  // Only backups care which ZFS this is and which disks are plugged in; a destroy does not.
  // The pools first: on OpenZFS the tree's read asks for `written` too, which zfs-fuse refuses.
  const [pools, state] = await Promise.all([
    slice.backups === undefined ? undefined : ctx.executor.run(poolsArgv()),
    ctx.stateDir === undefined || slice.backups === undefined ? EMPTY_BACKUP_STATE : readBackupState(ctx.stateDir, ctx.log),
  ]);
  if (pools !== undefined && (pools.exitCode !== 0 || pools.timedOut)) throw observeFailed(poolsArgv(), pools);
  const { pools: imported, features } = pools === undefined ? { pools: [], features: "legacy" as const } : parsePools(pools.stdout, slice.pool);
  const argv = observeArgv(root, features);
  const local = await ctx.executor.run(argv);
  const parsed = parseLocalResult(root, local);
  if (parsed.kind === "failed") throw observeFailed(argv, local);
  const datasets = parsed.kind === "rows" ? parsed.datasets : {};
  const base: BackupObserved = { nowMs, root, datasets, features, pools: imported, state };
  if (slice.backups === undefined) return base;
  const [targets, encrypted] = await Promise.all([readTargets(slice, base, ctx), features === "openzfs" ? readEncrypted(root, ctx) : Promise.resolve(undefined)]);
  return { ...base, targets, ...(encrypted === undefined ? {} : { encrypted }) };
}

/** readTargets reads, at once, every target a copy is due to that the host can reach. */
async function readTargets(slice: BackupDesired, observed: BackupObserved, ctx: DriverContext): Promise<Record<string, TargetObservation>> {
  const all = slice.backups?.datasets ?? [];
  const due = dueCopies(all, observed.datasets, takenByUnit(all, observed.datasets, observed.nowMs), observed.state ?? EMPTY_BACKUP_STATE, observed.nowMs, observed.pools);
  const files = sshFiles(slice.host);
  // A drain reads the new node's replica of a leaving dataset still owed its final copy.
  for (const d of slice.backups?.leaving ?? []) {
    const tag = targetsOf(d).find((t) => t.kind === "replica")?.tag;
    if (tag !== undefined && finalCopy(d, observed.datasets[d.dataset], observed.state ?? EMPTY_BACKUP_STATE, observed.nowMs) !== undefined) due.set(tag, [...(due.get(tag) ?? []), d]);
  }
  // A restore drill reads the remote store too, when one is due (and an identity can decrypt).
  if (slice.host?.identity !== undefined) {
    for (const d of all) {
      if (d.remote === undefined || !drillDue(observed.nowMs, slice.backups?.drill ?? 0, observed.state?.drills?.[d.dataset])) continue;
      const tag = targetsOf(d).find((t) => t.kind === "remote")?.tag;
      if (tag !== undefined && !due.has(tag)) due.set(tag, [d]);
    }
  }
  const reads: Promise<[string, TargetObservation]>[] = [];
  for (const [tag, ds] of due) {
    const first = ds[0];
    const ref = first === undefined ? undefined : targetsOf(first).find((t) => t.tag === tag);
    if (first === undefined || ref === undefined) continue;
    if (ref.kind === "cold") {
      reads.push(readCold(ref.name, slice.node, ctx).then((o): [string, TargetObservation] => [tag, o]));
      continue;
    }
    const endpoint = endpointOf(first, ref);
    if (files === undefined || endpoint === undefined) continue;
    if (ref.kind === "remote") {
      reads.push(readStore(tag, endpoint, files, ctx));
      continue;
    }
    const list = replicaListArgv(endpoint, files);
    reads.push(
      ctx.executor.run(list.argv, { timeoutMs: list.timeoutMs }).then((r): [string, TargetObservation] => {
        const seen = r.exitCode === 0 && !r.timedOut ? parseTargetList(r.stdout) : undefined;
        if (seen !== undefined) return [tag, { kind: "seen", ...seen }];
        const why = r.timedOut ? "timed out" : r.spawnError ?? (r.stderr.trim().split("\n").pop() || `exit ${String(r.exitCode)}, and no listing`);
        ctx.log.warn({ target: tag, exitCode: r.exitCode, stderr: r.stderr.slice(0, 2000) }, "backup target unreachable");
        return [tag, { kind: "unreachable", message: why }];
      }),
    );
  }
  return Object.fromEntries(await Promise.all(reads));
}

/** How old each dataset's copies are, and where the cold disks are (report.ts). */
export interface BackupReport {
  readonly datasets: readonly DatasetBackupReport[];
  readonly disks: readonly ColdDiskReport[];
}

/**
 * readBackupReport says how old each dataset's copies are now and whether each cold disk is
 * plugged in (report.ts), for the status report and `steward backup status`: one `zfs get` of
 * the tree, one `zpool list` and the record; no peer is asked. Throws OBSERVE_FAILED when the
 * tree or the pools cannot be read.
 */
export async function readBackupReport(slice: BackupDesired, ctx: DriverContext): Promise<BackupReport> {
  const datasets = slice.backups?.datasets ?? [];
  if (datasets.length === 0) return { datasets: [], disks: [] };
  const nowMs = (ctx.now ?? Date.now)();
  const root = rootOf(slice.pool);
  const argv = observeArgv(root);
  const [local, pools, state] = await Promise.all([ctx.executor.run(argv), ctx.executor.run(poolsArgv()), ctx.stateDir === undefined ? EMPTY_BACKUP_STATE : readBackupState(ctx.stateDir, ctx.log)]);
  const parsed = parseLocalResult(root, local);
  if (parsed.kind === "failed") throw observeFailed(argv, local);
  if (pools.exitCode !== 0 || pools.timedOut) throw observeFailed(poolsArgv(), pools);
  return { datasets: backupReport(datasets, parsed.kind === "rows" ? parsed.datasets : {}, state, nowMs), disks: coldDisks(datasets, parsePools(pools.stdout, slice.pool).pools, state) };
}

/** readStore lists a remote store's files of this node (steward-store `list`). */
async function readStore(tag: string, endpoint: SshEndpoint, files: SshFiles, ctx: DriverContext): Promise<[string, TargetObservation]> {
  const r = await ctx.executor.run(sshArgv(endpoint, files, ["list"]), { timeoutMs: LIST_TIMEOUT_MS });
  if (r.exitCode !== 0 || r.timedOut) {
    ctx.log.warn({ target: tag, exitCode: r.exitCode, stderr: r.stderr.slice(0, 2000) }, "backup target unreachable");
    return [tag, { kind: "unreachable", message: r.timedOut ? "timed out" : r.spawnError ?? (r.stderr.trim().split("\n").pop() || `exit ${String(r.exitCode)}`) }];
  }
  const byRel = parseStoreList(r.stdout);
  const datasets = Object.fromEntries(Object.entries(byRel).map(([rel, fs]) => [rel, { snapshots: fs.map((f) => ({ name: f.to, guid: "" })), files: fs.map((f) => f.path) }]));
  return [tag, { kind: "seen", features: "legacy", datasets }];
}

/** readEncrypted lists the natively encrypted datasets below the root (OpenZFS): their remote copies go raw. */
async function readEncrypted(root: string, ctx: DriverContext): Promise<string[]> {
  const argv: Argv = ["zfs", "get", "-rHp", "-o", "name,value", "encryption", root];
  const r = await ctx.executor.run(argv);
  if (r.exitCode !== 0 || r.timedOut) throw observeFailed(argv, r);
  return r.stdout.split("\n").flatMap((line) => {
    const [name = "", value = ""] = line.split("\t");
    return name !== "" && !name.includes("@") && value !== "off" && value !== "-" && value !== "" ? [name] : [];
  });
}

/** readCold lists this node's copies on a plugged-in cold disk; a disk without them yet holds nothing. */
async function readCold(pool: string, node: string, ctx: DriverContext): Promise<TargetObservation> {
  const root = coldRoot(pool, node);
  const r = await ctx.executor.run(coldListArgv(pool, node));
  if (r.exitCode === 1 && isDatasetMissing(r.stderr, root)) return { kind: "seen", features: "legacy", datasets: {} };
  if (r.exitCode !== 0 || r.timedOut) return { kind: "unreachable", message: r.timedOut ? "timed out" : r.stderr.trim().split("\n").pop() ?? `exit ${String(r.exitCode)}` };
  const rows = r.stdout.split("\n").flatMap((line) => (line.startsWith(`${root}/`) ? [line.slice(root.length + 1)] : []));
  return { kind: "seen", features: "legacy", datasets: groupRows(rows) };
}

function observeFailed(argv: readonly string[], r: { exitCode: number | null; stderr: string; timedOut: boolean }): StewardError {
  return new StewardError("OBSERVE_FAILED", `${argv.slice(0, 2).join(" ")} failed`, {
    retry: "transient",
    data: { argv, exitCode: r.exitCode, stderr: r.stderr.slice(0, 2000), timedOut: r.timedOut },
    hint: "run the command by hand to see why",
  });
}
