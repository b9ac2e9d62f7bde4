/**
 * `make bench`: backups, against sanoid and syncoid (Debian's `sanoid` package) doing the same
 * on the same zfs-fuse pools in the same run.
 *
 * - backup-snapshot-200: one run that takes the due hourly snapshot of 200 datasets (each its
 *   own service, so 200 `zfs snapshot` calls), Steward's whole apply (observe, plan, snapshot,
 *   record). Baseline: `sanoid --take-snapshots` for the same 200 datasets (its pruning cannot
 *   run on zfs-fuse, which has no `zfs get -t`; neither side prunes here).
 * - backup-replicate-changed: the incremental copy of one dataset after 8 MiB changed, to a
 *   replica on a second pool: Steward's apply (snapshot, list the peer over SSH on loopback,
 *   zfs send -I | ssh steward-receive, hold) against `syncoid` (snapshot, list both sides, send,
 *   receive), each from a converged start. syncoid runs pool to pool on this machine, without
 *   SSH: on zfs-fuse, which has no `zfs get -t`, its fallback listing of a remote target puts
 *   its ssh command in twice and fails. The baseline is spared SSH's cost.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { backupDriver } from "../agent/src/drivers/backup/driver.js";
import type { Driver } from "../agent/src/drivers/driver.js";
import { zfsDriver } from "../agent/src/drivers/zfs/driver.js";
import { systemExecutor } from "../agent/src/exec.js";
import { silentLogger } from "../agent/src/log.js";
import type { DatasetBackup, DatasetSpec, DesiredState } from "../agent/src/manifest/types.js";
import { applyNode } from "../agent/src/reconcile.js";
import { REPO_ROOT } from "../test/helpers/cli.js";
import { removeDir } from "../test/helpers/keys.js";
import { startSshd } from "../test/helpers/sshd.js";
import { createTestPool, zfsOk } from "../test/helpers/zfs-pool.js";
import { containers, desiredState, ds } from "../test/drivers/zfs/build.js";
import { dsBackup, nodeBackups } from "../test/drivers/backup/build.js";

const run = promisify(execFile);
const DATASETS = 200;
const DRIVERS: readonly Driver[] = [zfsDriver as Driver, backupDriver as Driver];

function bench(name: string, steward: number, baselineName: string, baseline: number): void {
  console.log(`BENCH ${name} steward=${steward.toFixed(0)}ms baseline=${baselineName}:${baseline.toFixed(0)}ms ratio=${(baseline / steward).toFixed(2)}`);
}

async function timed(f: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await f();
  return performance.now() - t;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function snapshots200(): Promise<void> {
  const pool = await createTestPool("bbs", 512);
  const state = mkdtempSync(join(tmpdir(), "steward-bench-backup-"));
  try {
    const services = Array.from({ length: DATASETS }, (_, i) => `svc${String(i).padStart(3, "0")}`);
    const datasets: DatasetSpec[] = [...containers(pool.name).slice(0, 2), ...services.flatMap((s) => [ds(`${pool.name}/steward/data/${s}`, { mountpoint: "none" }, "correct", "steward"), ds(`${pool.name}/steward/data/${s}/data`, { mountpoint: "none" }, "correct", s)])];
    const backups: DatasetBackup[] = services.map((s) => dsBackup(pool.name, s, "data", { hourly: 24 }));
    const desired: DesiredState = { ...desiredState(pool.name, datasets), backups: nodeBackups(backups) };
    let clock = Date.parse("2026-12-07T08:05:00Z");
    const ctx = () => ({ executor: systemExecutor, stateDir: state, log: silentLogger, drivers: DRIVERS, now: () => clock });
    const made = await applyNode(desired, ctx());
    if (!made.result.ok) throw new Error("the datasets were not made");
    clock += 3600_000;
    const steward = await timed(async () => {
      const r = await applyNode(desired, ctx());
      if (r.plan.actions.filter((a) => a.kind === "backup.snapshot").length !== DATASETS || !r.result.ok) throw new Error("Steward did not take 200 snapshots");
    });
    const conf = mkdtempSync(join(tmpdir(), "steward-bench-sanoid-"));
    writeFileSync(
      join(conf, "sanoid.conf"),
      [...services.map((s) => `[${pool.name}/steward/data/${s}/data]\n  use_template = t\n`), "[template_t]\n  hourly = 24\n  daily = 0\n  monthly = 0\n  yearly = 0\n  autosnap = yes\n  autoprune = no\n"].join("\n"),
    );
    const sanoid = await timed(() => run("sanoid", ["--configdir", conf, "--cache-dir", conf, "--run-dir", conf, "--take-snapshots"], { maxBuffer: 64 * 1024 * 1024 }));
    const taken = (await zfsOk(["zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-r", `${pool.name}/steward/data`])).split("\n").filter((l) => l.includes("@autosnap_")).length;
    if (taken !== DATASETS) throw new Error(`sanoid took ${taken} snapshots, not ${DATASETS}`);
    removeDir(conf);
    bench("backup-snapshot-200", steward, "sanoid", sanoid);
  } finally {
    await pool.destroy();
    removeDir(state);
  }
}

async function replicateChanged(): Promise<void> {
  const [alpha, beta] = await Promise.all([createTestPool("bba", 512), createTestPool("bbb", 512)]);
  const state = mkdtempSync(join(tmpdir(), "steward-bench-replica-"));
  const dir = mkdtempSync(join(tmpdir(), "steward-bench-replica-sshd-"));
  await zfsOk(["zfs", "create", "-o", "mountpoint=none", `${beta.name}/steward`]);
  const sshd = await startSshd(dir, { command: `${join(REPO_ROOT, "packaging/backup/steward-receive")} ${beta.name}/steward/replica/alpha` });
  try {
    const mail = `${alpha.name}/steward/data/mail/mail`;
    const where = join(alpha.dir, "jails/mail/var/mail");
    const backup = dsBackup(alpha.name, "mail", "mail", { hourly: 24 }, { replica: { node: "beta", endpoint: { user: sshd.user, host: "127.0.0.1", port: sshd.port }, every: 0 } });
    const base = desiredState(alpha.name, [...containers(alpha.name), ds(mail, { mountpoint: where })]);
    const desired: DesiredState = { ...base, backups: nodeBackups([backup]), host: { jailConfDir: "/etc/jail.conf.d", backup: { key: sshd.clientKey.private, knownHosts: sshd.knownHosts, identity: undefined } } };
    let clock = Date.parse("2026-12-07T08:05:00Z");
    const ctx = () => ({ executor: systemExecutor, stateDir: state, log: silentLogger, drivers: DRIVERS, now: () => clock });
    if (!(await applyNode(base, ctx())).result.ok) throw new Error("the dataset was not made");
    writeFileSync(join(where, "mbox"), randomBytes(4 * 1024 * 1024));
    await sleep(1000);
    if (!(await applyNode(desired, ctx())).result.ok) throw new Error("the first replica failed");
    const opts = ["--no-privilege-elevation", "--quiet"];
    const syncTarget = `${beta.name}/syncoid/mail`;
    await zfsOk(["zfs", "create", "-o", "mountpoint=none", `${beta.name}/syncoid`]);
    await run("syncoid", [...opts, mail, syncTarget], { maxBuffer: 64 * 1024 * 1024 });

    writeFileSync(join(where, "mbox2"), randomBytes(8 * 1024 * 1024));
    await sleep(1000);
    clock += 3600_000;
    const steward = await timed(async () => {
      const r = await applyNode(desired, ctx());
      if (!r.result.ok || !r.plan.actions.some((a) => a.kind === "backup.send")) throw new Error("Steward did not replicate");
    });
    const syncoid = await timed(() => run("syncoid", [...opts, mail, syncTarget], { maxBuffer: 64 * 1024 * 1024 }));
    bench("backup-replicate-changed", steward, "syncoid-no-ssh", syncoid);
  } finally {
    await sshd.close();
    await Promise.all([alpha.destroy(), beta.destroy()]);
    for (const d of [state, dir]) removeDir(d);
  }
}

await snapshots200();
await replicateChanged();
