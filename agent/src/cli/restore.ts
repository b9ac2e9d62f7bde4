/**
 * `steward restore`: bring a service's (or one dataset's) data back from a hot snapshot, its
 * replica on a peer, its cold disk or its remote store, into new datasets beside the live ones
 * (drivers/backup/restore.ts). The live datasets are never touched.
 */
import { SEND_TIMEOUT_MS } from "../drivers/backup/commands.js";
import { parseTargetList } from "../drivers/backup/parse-target.js";
import { parseStoreList } from "../drivers/backup/remote.js";
import { planRestore, RESTORE_SOURCES, restoreName, type RestoreInput, type RestorePlan, type RestoreSource } from "../drivers/backup/restore.js";
import { endpointOf, sshFiles } from "../drivers/backup/targets.js";
import { targetsOf } from "../drivers/backup/transfers.js";
import { coldName, relativeName } from "../drivers/backup/names.js";
import { sshArgv } from "../drivers/backup/commands.js";
import { StewardError } from "../errors.js";
import { systemExecutor, type Argv, type Executor } from "../exec.js";
import type { DatasetBackup, DesiredState } from "../manifest/types.js";
import { EXIT_OK, EXIT_PROBLEM, usageError, type Command } from "./command.js";
import { reportInvalid, resolveTarget, TARGET_OPTIONS, TARGET_USAGE } from "./target.js";

export const restoreCommand: Command = {
  name: "restore",
  usage: [
    "usage: steward restore SERVICE|DATASET --from snapshot|replica|cold|remote [--at TIME]",
    "                       [--config FILE | --dir DIR] [--node NAME] [--state DIR] [--json]",
    "",
    "Brings back every dataset of SERVICE with a backup policy (or one DATASET, by full name or",
    "SERVICE/NAME) as of its newest copy, or the newest at or before TIME (ISO 8601, e.g.",
    "2026-12-07T08:00:00Z), into a new dataset <pool>/steward/restore/<service>/<name>-<stamp>,",
    "not mounted. The live datasets are not touched: compare, then swap by hand with the service",
    "stopped (docs/backups.md, \"Restore\").",
    "",
    "  --from snapshot  a hot snapshot on this node (zfs send | zfs receive)",
    "  --from replica   the replica on the policy's peer (its steward-receive `send`)",
    "  --from cold      the cold disk, which must be plugged in (its pool imported)",
    "  --from remote    the remote store: the chain of files up to the copy, decrypted with",
    "                   steward.yaml's backup_identity",
    "",
    TARGET_USAGE,
    "  --json         print {ok, restores: [{dataset, from, snapshot, target}]}",
    "",
    "Exit status: 0 everything restored, 1 a copy was missing or a transfer failed (said), 2 usage.",
  ].join("\n"),
  options: { ...TARGET_OPTIONS, from: { type: "string" }, at: { type: "string" } },
  allowPositionals: true,
  async run(values, positionals, io) {
    if (positionals.length !== 1) throw usageError("name one SERVICE or DATASET");
    const from = values["from"];
    if (typeof from !== "string" || !RESTORE_SOURCES.includes(from as RestoreSource)) throw usageError(`--from is one of ${RESTORE_SOURCES.join(", ")}`);
    const atText = typeof values["at"] === "string" ? values["at"] : undefined;
    const atMs = atText === undefined ? undefined : Date.parse(atText);
    if (atMs !== undefined && Number.isNaN(atMs)) throw usageError(`--at ${atText ?? ""}: not an ISO 8601 time (e.g. 2026-12-07T08:00:00Z)`);
    const json = values["json"] === true;
    const target = await resolveTarget(values, io, false);
    const { desired } = target;
    if (desired === undefined) return reportInvalid(target, json, io);
    const name = positionals[0] as string;
    const chosen = (desired.backups?.datasets ?? []).filter((d) => d.service === name || d.dataset === name || relativeName(d.service, d.short) === name);
    if (chosen.length === 0) throw usageError(`${name}: no service or dataset of node ${target.node} with a backup policy`);
    const nowMs = Date.now();
    const results: { dataset: string; from: string; snapshot?: string; target?: string; problem?: string }[] = [];
    for (const d of chosen) {
      const input = await readSource(systemExecutor, desired, d, from as RestoreSource);
      const plan = typeof input === "string" ? input : planRestore(d, desired.node.name, input, restoreName(desired.node.pool, d, nowMs), atMs);
      if (typeof plan === "string") {
        results.push({ dataset: d.dataset, from, problem: plan });
        continue;
      }
      const problem = await runRestore(systemExecutor, desired.node.pool, d, plan);
      results.push({ dataset: d.dataset, from, snapshot: plan.snapshot, target: plan.target, ...(problem === undefined ? {} : { problem }) });
      io.log.info({ dataset: d.dataset, from, snapshot: plan.snapshot, target: plan.target }, problem === undefined ? "restored" : "restore failed");
    }
    const ok = results.every((r) => r.problem === undefined);
    if (json) io.out(JSON.stringify({ ok, restores: results }, null, 2));
    else for (const r of results) io.out(r.problem === undefined ? `${r.dataset}@${r.snapshot ?? ""} (from ${from}) restored into ${r.target ?? ""} (not mounted)` : `${r.dataset}: ${r.problem}`);
    return ok ? EXIT_OK : EXIT_PROBLEM;
  },
};

/** readSource reads what the chosen source holds of a dataset; a string says why it cannot be read. */
async function readSource(ex: Executor, desired: DesiredState, d: DatasetBackup, from: RestoreSource): Promise<RestoreInput | string> {
  const names = async (dataset: string): Promise<string[] | string> => {
    const r = await ex.run(["zfs", "get", "-rHp", "-o", "name", "guid", dataset]);
    if (r.exitCode !== 0) return `cannot read ${dataset}: ${r.stderr.trim()}`;
    return r.stdout.split("\n").flatMap((l) => (l.startsWith(`${dataset}@`) ? [l.slice(dataset.length + 1)] : []));
  };
  const files = sshFiles(desired.host?.backup);
  const ref = targetsOf(d).find((t) => t.kind === from);
  if (from === "snapshot") {
    const snapshots = await names(d.dataset);
    return typeof snapshots === "string" ? snapshots : { from, snapshots };
  }
  if (ref === undefined) return `its policy has no ${from} copy`;
  if (from === "cold") {
    const pools = await ex.run(["zpool", "list", "-H", "-o", "name"]);
    if (!pools.stdout.split("\n").includes(ref.name)) return `plug in the cold disk and import its pool (zpool import ${ref.name}) first`;
    const snapshots = await names(coldName(ref.name, desired.node.name, d.service, d.short));
    return typeof snapshots === "string" ? snapshots : { from, pool: ref.name, node: desired.node.name, snapshots };
  }
  const endpoint = endpointOf(d, ref);
  if (files === undefined || endpoint === undefined) return `steward.yaml names no backup_known_hosts, or the manifest no way to reach ${ref.name}`;
  const list = await ex.run(sshArgv(endpoint, files, ["list"]), { timeoutMs: 60_000 });
  if (list.exitCode !== 0) return `${ref.name} could not be read: ${list.stderr.trim()}`;
  if (from === "replica") {
    const seen = parseTargetList(list.stdout);
    return { from, endpoint, files, snapshots: (seen?.datasets[relativeName(d.service, d.short)]?.snapshots ?? []).map((s) => s.name) };
  }
  const identity = desired.host?.backup?.identity;
  if (identity === undefined) return "steward.yaml names no backup_identity: remote copies cannot be decrypted here";
  return { from: "remote", endpoint, files, identity, stored: parseStoreList(list.stdout)[relativeName(d.service, d.short)] ?? [] };
}

/** runRestore makes the restore tree's containers and runs the pipelines in order; a string says which failed. */
async function runRestore(ex: Executor, pool: string, d: DatasetBackup, plan: RestorePlan): Promise<string | undefined> {
  for (const c of [`${pool}/steward/restore`, `${pool}/steward/restore/${d.service}`]) {
    const r = await ex.run(["zfs", "create", "-o", "mountpoint=none", c] as Argv);
    if (r.exitCode !== 0 && !r.stderr.includes("dataset already exists")) return `cannot create ${c}: ${r.stderr.trim()}`;
  }
  if (ex.pipe === undefined) throw new StewardError("INTERNAL", "the executor runs no pipelines", { retry: "internal" });
  for (const p of plan.pipelines) {
    const r = await ex.pipe(p, { timeoutMs: SEND_TIMEOUT_MS });
    if (r.exitCode !== 0 || r.timedOut) return `${r.argv.join(" ")} failed: ${r.timedOut ? "timed out" : r.stderr.trim()}`;
  }
  return undefined;
}

