/**
 * `steward restore`: bring a service's (or one dataset's) data back from a hot snapshot, its
 * replica on a peer, its cold disk or its remote store, into new datasets beside the live ones
 * (drivers/backup/restore.ts); with `--swap`, put them in place of the live ones, which are kept
 * aside, unmounted (drivers/backup/swap.ts). Without `--swap` the live datasets are not touched.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { acquireApplyLock } from "../apply/lock.js";
import { SEND_TIMEOUT_MS, sshArgv } from "../drivers/backup/commands.js";
import { coldName, relativeName } from "../drivers/backup/names.js";
import { parseTargetList } from "../drivers/backup/parse-target.js";
import { parseStoreList } from "../drivers/backup/remote.js";
import { planRestore, RESTORE_SOURCES, restoreName, type RestoreInput, type RestorePlan, type RestoreSource } from "../drivers/backup/restore.js";
import { BUSY, BUSY_TRIES, BUSY_WAIT_MS, localPropertiesArgv, parseLocalProperties, planSwap, replacedName, undoSteps, type SwapCommand, type SwapDataset, type SwapJail } from "../drivers/backup/swap.js";
import { endpointOf, sshFiles } from "../drivers/backup/targets.js";
import { targetsOf } from "../drivers/backup/transfers.js";
import { jlsArgv } from "../drivers/jail/commands.js";
import { sliceJails } from "../drivers/jail/driver.js";
import { parseJls } from "../drivers/jail/parse.js";
import { StewardError, type ErrorCode } from "../errors.js";
import { systemExecutor, type Argv, type Executor } from "../exec.js";
import type { DatasetBackup, DesiredState } from "../manifest/types.js";
import { EXIT_OK, EXIT_PROBLEM, usageError, type Command } from "./command.js";
import { reportInvalid, resolveTarget, TARGET_OPTIONS, TARGET_USAGE } from "./target.js";

export const restoreCommand: Command = {
  name: "restore",
  usage: [
    "usage: steward restore SERVICE|DATASET --from snapshot|replica|cold|remote [--at TIME] [--swap]",
    "                       [--config FILE | --dir DIR] [--node NAME] [--state DIR] [--json]",
    "",
    "Brings back every dataset of SERVICE with a backup policy (or one DATASET, by full name or",
    "SERVICE/NAME) as of its newest copy, or the newest at or before TIME (ISO 8601, e.g.",
    "2026-12-07T08:00:00Z), into a new dataset <pool>/steward/restore/<service>/<name>-<stamp>,",
    "not mounted. Without --swap the live datasets are not touched: compare, then swap.",
    "",
    "  --from snapshot  a hot snapshot on this node (zfs send | zfs receive)",
    "  --from replica   the replica on the policy's peer (its steward-receive `send`)",
    "  --from cold      the cold disk, which must be plugged in (its pool imported)",
    "  --from remote    the remote store: the chain of files up to the copy, decrypted with",
    "                   steward.yaml's backup_identity",
    "  --swap         then, under the apply lock and with the service's jail stopped, put each",
    "                 restore in place of the live dataset, with the live one's properties; the",
    "                 live one is kept, unmounted, as <restore>/<service>/<name>-replaced-<stamp>",
    "                 (never destroyed); the jail is started again if it was running. A step",
    "                 that fails is undone, leaving the node as it was.",
    "",
    TARGET_USAGE,
    "  --json         print {ok, restores: [{dataset, from, snapshot, target, code, message}],",
    "                 swap: {ok, swapped: [{dataset, replaced}], jail, code, message}}",
    "",
    "Exit status: 0 everything restored (and swapped), 1 a copy was missing, a transfer or the",
    "swap failed (said, with its code: RESTORE_SOURCE, RESTORE_NO_COPY, RESTORE_FAILED,",
    "RESTORE_SWAP_REFUSED, RESTORE_SWAP_FAILED), 2 usage.",
  ].join("\n"),
  options: { ...TARGET_OPTIONS, from: { type: "string" }, at: { type: "string" }, swap: { type: "boolean" } },
  allowPositionals: true,
  async run(values, positionals, io) {
    if (positionals.length !== 1) throw usageError("name one SERVICE or DATASET");
    const from = values["from"];
    if (typeof from !== "string" || !RESTORE_SOURCES.includes(from as RestoreSource)) throw usageError(`--from is one of ${RESTORE_SOURCES.join(", ")}`);
    const source = from as RestoreSource;
    const atText = typeof values["at"] === "string" ? values["at"] : undefined;
    const atMs = atText === undefined ? undefined : Date.parse(atText);
    if (atMs !== undefined && Number.isNaN(atMs)) throw usageError(`--at ${atText ?? ""}: not an ISO 8601 time (e.g. 2026-12-07T08:00:00Z)`);
    const json = values["json"] === true;
    const swap = values["swap"] === true;
    const target = await resolveTarget(values, io, false);
    const { desired } = target;
    if (desired === undefined) return reportInvalid(target, json, io);
    const name = positionals[0] as string;
    const chosen = (desired.backups?.datasets ?? []).filter((d) => d.service === name || d.dataset === name || relativeName(d.service, d.short) === name);
    if (chosen.length === 0) throw usageError(`${name}: no service or dataset of node ${target.node} with a backup policy`);
    const nowMs = Date.now();
    const results: RestoreResult[] = [];
    for (const d of chosen) {
      const result = await restoreOne(systemExecutor, desired, d, source, restoreName(desired.node.pool, d, nowMs), atMs);
      results.push(result);
      if (result.code === undefined) io.log.info({ dataset: d.dataset, from: source, snapshot: result.snapshot, target: result.target }, "restored");
      else io.log.warn({ dataset: d.dataset, from: source, code: result.code, message: result.message }, "restore failed");
    }
    const restored = results.every((r) => r.code === undefined);
    let swapped: SwapResult | undefined;
    if (swap && restored) {
      const log = io.log.child({ step: "restore" });
      const lock = await acquireApplyLock(target.stateDir, log);
      try {
        swapped = await swapIn(systemExecutor, desired, chosen, results);
      } finally {
        await lock.release();
      }
      if (swapped.code === undefined) log.info({ swapped: swapped.swapped, jail: swapped.jail }, "restore swapped in");
      else log.warn({ code: swapped.code, message: swapped.message }, "restore not swapped in");
    } else if (swap) {
      swapped = { swapped: [], code: "RESTORE_SWAP_REFUSED", message: "not swapped: a restore failed, and a service is swapped whole or not at all" };
    }
    const ok = restored && (swapped === undefined || swapped.code === undefined);
    if (json) io.out(JSON.stringify({ ok, restores: results, ...(swapped === undefined ? {} : { swap: { ok: swapped.code === undefined, ...swapped } }) }, null, 2));
    else io.out([...results.map((r) => renderRestore(r, source)), ...(swapped === undefined ? [] : renderSwap(swapped))].join("\n"));
    return ok ? EXIT_OK : EXIT_PROBLEM;
  },
};

/** A swap's commands stop a jail or rename a dataset: minutes at most, even for a busy one. */
const SWAP_TIMEOUT_MS = 5 * 60_000;

/** What one dataset's restore did: where it went, or the code and message of why it did not. */
interface RestoreResult {
  readonly dataset: string;
  readonly from: RestoreSource;
  readonly snapshot?: string;
  readonly target?: string;
  readonly code?: ErrorCode;
  readonly message?: string;
}

/** What a swap did: each dataset swapped and where its live one went, the jail stopped and started, or why not. */
interface SwapResult {
  readonly swapped: readonly { readonly dataset: string; readonly replaced: string }[];
  readonly jail?: string;
  readonly code?: ErrorCode;
  readonly message?: string;
}

function renderRestore(r: RestoreResult, from: RestoreSource): string {
  if (r.code !== undefined) return `${r.dataset}: ${r.code} ${r.message ?? ""}`;
  return `${r.dataset}@${r.snapshot ?? ""} (from ${from}) restored into ${r.target ?? ""} (not mounted)`;
}

function renderSwap(s: SwapResult): string[] {
  if (s.code !== undefined) return [`${s.code} ${s.message ?? ""}`];
  return [
    ...s.swapped.map((x) => `${x.dataset}: swapped in; the data it held is kept, unmounted, as ${x.replaced} (destroy it when you are sure)`),
    ...(s.jail === undefined ? [] : [`jail ${s.jail}: stopped for the swap and started again`]),
  ];
}

type Problem = { readonly code: ErrorCode; readonly message: string };

/** restoreOne reads what the source holds of `d`, plans and runs its restore into `into`. */
async function restoreOne(ex: Executor, desired: DesiredState, d: DatasetBackup, from: RestoreSource, into: string, atMs: number | undefined): Promise<RestoreResult> {
  const input = await readSource(ex, desired, d, from);
  if ("code" in input) return { dataset: d.dataset, from, ...input };
  const plan = planRestore(d, desired.node.name, input, into, atMs);
  if (typeof plan === "string") return { dataset: d.dataset, from, code: "RESTORE_NO_COPY", message: plan };
  const failed = await runRestore(ex, desired.node.pool, d, plan);
  return { dataset: d.dataset, from, snapshot: plan.snapshot, target: plan.target, ...(failed === undefined ? {} : { code: "RESTORE_FAILED", message: failed }) };
}

/** readSource reads what the chosen source holds of a dataset, or says why it cannot be read. */
async function readSource(ex: Executor, desired: DesiredState, d: DatasetBackup, from: RestoreSource): Promise<RestoreInput | Problem> {
  const unavailable = (message: string): Problem => ({ code: "RESTORE_SOURCE", message });
  const names = async (dataset: string): Promise<string[] | Problem> => {
    const r = await ex.run(["zfs", "get", "-rHp", "-o", "name", "guid", dataset]);
    if (r.exitCode !== 0) return unavailable(`cannot read ${dataset}: ${r.stderr.trim()}`);
    return r.stdout.split("\n").flatMap((l) => (l.startsWith(`${dataset}@`) ? [l.slice(dataset.length + 1)] : []));
  };
  const withSnapshots = <T extends RestoreInput>(snapshots: string[] | Problem, make: (s: string[]) => T): T | Problem => (Array.isArray(snapshots) ? make(snapshots) : snapshots);
  const files = sshFiles(desired.host?.backup);
  const ref = targetsOf(d).find((t) => t.kind === from);
  if (from === "snapshot") return withSnapshots(await names(d.dataset), (snapshots) => ({ from, snapshots }));
  if (ref === undefined) return unavailable(`its policy has no ${from} copy`);
  if (from === "cold") {
    const pools = await ex.run(["zpool", "list", "-H", "-o", "name"]);
    if (!pools.stdout.split("\n").includes(ref.name)) return unavailable(`plug in the cold disk and import its pool (zpool import ${ref.name}) first`);
    return withSnapshots(await names(coldName(ref.name, desired.node.name, d.service, d.short)), (snapshots) => ({ from, pool: ref.name, node: desired.node.name, snapshots }));
  }
  const endpoint = endpointOf(d, ref);
  if (files === undefined || endpoint === undefined) return unavailable(`steward.yaml names no backup_known_hosts, or the manifest no way to reach ${ref.name}`);
  const list = await ex.run(sshArgv(endpoint, files, ["list"]), { timeoutMs: 60_000 });
  if (list.exitCode !== 0) return unavailable(`${ref.name} could not be read: ${list.stderr.trim()}`);
  if (from === "replica") {
    const seen = parseTargetList(list.stdout);
    return { from, endpoint, files, snapshots: (seen?.datasets[relativeName(d.service, d.short)]?.snapshots ?? []).map((s) => s.name) };
  }
  const identity = desired.host?.backup?.identity;
  if (identity === undefined) return unavailable("steward.yaml names no backup_identity: remote copies cannot be decrypted here");
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

/**
 * swapIn puts the restores in place of the live datasets (swap.ts): reads each live one's local
 * properties and children and whether the service's jail runs, then runs the steps; a step
 * that fails has the ones before it undone, last first. The caller holds the apply lock.
 */
async function swapIn(ex: Executor, desired: DesiredState, chosen: readonly DatasetBackup[], results: readonly RestoreResult[]): Promise<SwapResult> {
  const refused = (message: string): SwapResult => ({ swapped: [], code: "RESTORE_SWAP_REFUSED", message });
  const datasets: SwapDataset[] = [];
  for (const d of chosen) {
    const restored = results.find((r) => r.dataset === d.dataset)?.target;
    if (restored === undefined) return refused(`${d.dataset} was not restored`);
    const [props, tree] = await Promise.all([ex.run(localPropertiesArgv(d.dataset)), ex.run(["zfs", "get", "-rHp", "-o", "name,value", "mounted", d.dataset])]);
    if (props.exitCode !== 0 || tree.exitCode !== 0) return refused(`cannot read ${d.dataset} (${(props.stderr || tree.stderr).trim()}): a swap needs the live dataset; \`steward apply\` creates it`);
    const rows = tree.stdout.split("\n").map((l) => l.split("\t"));
    const children = rows.flatMap(([n = ""]) => (n !== "" && n !== d.dataset && !n.includes("@") && !n.includes("#") ? [n] : []));
    const mounted = rows.some(([n, v]) => n === d.dataset && v === "yes");
    datasets.push({ live: d.dataset, restored, replaced: replacedName(restored), properties: parseLocalProperties(props.stdout), children, mounted });
  }
  const service = chosen[0]?.service ?? "";
  const jls = await ex.run(jlsArgv());
  const running = parseJls(jls);
  if (running === undefined) return refused(`cannot tell whether jail ${service} runs: jls failed (${jls.stderr.trim() || `exit ${String(jls.exitCode)}`})`);
  const spec = sliceJails(desired).jails.find((j) => j.name === service);
  const jail: SwapJail | undefined = spec !== undefined && running.some((j) => j.name === service) ? { name: spec.name, confPath: spec.confPath } : undefined;
  const steps = planSwap(datasets, jail);
  if (typeof steps === "string") return refused(steps);
  for (const [i, step] of steps.entries()) {
    const r = await runCommand(ex, step);
    if (r === undefined) continue;
    const failure = `${step.argv.join(" ")} failed: ${r}`;
    const undo = undoSteps(steps, i);
    for (const [k, command] of undo.entries()) {
      const u = await runCommand(ex, command);
      if (u === undefined) continue;
      const left = undo.slice(k).map((c) => `  ${c.argv.join(" ")}`);
      return { swapped: [], code: "RESTORE_SWAP_FAILED", message: `${failure}; undoing it failed too (${command.argv.join(" ")}: ${u}): put the node back by hand:\n${left.join("\n")}` };
    }
    return { swapped: [], code: "RESTORE_SWAP_FAILED", message: `${failure}; undone: the live datasets are as they were${jail === undefined ? "" : ` and jail ${jail.name} runs again`}` };
  }
  return { swapped: datasets.map((d) => ({ dataset: d.live, replaced: d.replaced })), ...(jail === undefined ? {} : { jail: jail.name }) };
}

/**
 * runCommand runs one command of a swap, again while the file system is busy (swap.ts BUSY),
 * up to BUSY_TRIES times; a string says why it failed (its work not done already).
 */
async function runCommand(ex: Executor, c: SwapCommand): Promise<string | undefined> {
  for (let attempt = 1; ; attempt++) {
    const r = await ex.run(c.argv, { timeoutMs: SWAP_TIMEOUT_MS });
    if (r.timedOut) return "timed out";
    if (r.exitCode === 0 || (c.already !== undefined && r.stderr.includes(c.already))) return undefined;
    const why = r.stderr.trim() || r.spawnError || `exit ${String(r.exitCode)}`;
    if (!BUSY.test(r.stderr) || attempt >= BUSY_TRIES) return attempt > 1 ? `${why} (tried ${attempt} times)` : why;
    await sleep(BUSY_WAIT_MS);
  }
}
