/**
 * Cold copies on a removable disk, for real: the node's zfs-fuse pool and a second pool on its
 * own file standing for the disk, imported ("plugged in") and exported by the test and by
 * Steward. Plugged in, the disk gets the dataset (whole, then incrementally from the base held
 * on the node) and is exported, and the log and the report say it can be unplugged; unplugged,
 * snapshots go on and the base stays.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, open, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { randomBytes } from "node:crypto";
import { pino } from "pino";
import { backupDriver } from "../../../agent/src/drivers/backup/driver.js";
import { readBackupReport } from "../../../agent/src/drivers/backup/observe.js";
import type { Driver } from "../../../agent/src/drivers/driver.js";
import { zfsDriver } from "../../../agent/src/drivers/zfs/driver.js";
import { systemExecutor } from "../../../agent/src/exec.js";
import type { DesiredState } from "../../../agent/src/manifest/types.js";
import { applyNode } from "../../../agent/src/reconcile.js";
import { createTestPool, zfsOk, zfsRun, type TestPool } from "../../helpers/zfs-pool.js";
import { containers, desiredState, ds } from "../zfs/build.js";
import { at, dsBackup, nodeBackups } from "./build.js";

const DRIVERS: readonly Driver[] = [zfsDriver as Driver, backupDriver as Driver];
let alpha: TestPool;
let state: string;
let diskDir: string;
let cold: string;
const lines: string[] = [];
const log = pino(
  { level: "info" },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(chunk.toString("utf8"));
      done();
    },
  }),
);

before(async () => {
  alpha = await createTestPool("sca");
  state = await mkdtemp(join(tmpdir(), "steward-cold-"));
  // The disk: its own directory, so that `zpool import -d` reads no other pool's file.
  diskDir = await mkdtemp("/var/tmp/steward-cold-");
  cold = `scd${randomBytes(4).toString("hex")}`;
  const fh = await open(join(diskDir, "disk.img"), "w");
  await fh.truncate(128 * 1024 * 1024);
  await fh.close();
  await zfsOk(["zpool", "create", "-m", "none", cold, join(diskDir, "disk.img")]);
});
after(async () => {
  await alpha?.destroy();
  if (cold !== undefined) {
    if (!(await imported())) await zfsRun(["zpool", "import", "-d", diskDir, cold]);
    for (let i = 0; i < 40 && (await zfsRun(["zpool", "destroy", "-f", cold])).exitCode !== 0; i++) await new Promise((r) => setTimeout(r, 250));
  }
  for (const d of [state, diskDir]) if (d !== undefined) await rm(d, { recursive: true, force: true });
});

const mail = (): string => `${alpha.name}/steward/data/mail/mail`;
const copy = (): string => `${cold}/steward/alpha/mail/mail`;

function desired(): DesiredState {
  return {
    ...desiredState(alpha.name, [...containers(alpha.name), ds(mail(), { mountpoint: join(alpha.dir, "jails/mail/var/mail") })]),
    backups: nodeBackups([dsBackup(alpha.name, "mail", "mail", { hourly: 2 }, { cold: { pool: cold, every: 604_800 } })]),
  };
}

let clock = at("2026-12-07T08:05:00Z");
const ctx = () => ({ executor: systemExecutor, stateDir: state, log, drivers: DRIVERS, now: () => clock });

async function imported(): Promise<boolean> {
  return (await zfsOk(["zpool", "list", "-H", "-o", "name"])).split("\n").includes(cold);
}

async function snapshotsOf(dataset: string): Promise<{ name: string; guid: string }[]> {
  const r = await zfsRun(["zfs", "get", "-rHp", "-o", "name,value", "guid", dataset]);
  if (r.exitCode !== 0) return [];
  return r.stdout
    .split("\n")
    .filter((l) => l.startsWith(`${dataset}@`))
    .map((l) => ({ name: (l.split("\t")[0] ?? "").slice(dataset.length + 1), guid: l.split("\t")[1] ?? "" }))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}

const userrefs = async (snapshot: string): Promise<string> => (await zfsOk(["zfs", "get", "-Hp", "-o", "value", "userrefs", snapshot])).trim();

test("plugged in: the dataset is copied whole to the disk, the base held, the disk exported, and the log says it can be unplugged", async () => {
  const run = await applyNode(desired(), ctx());
  assert.ok(run.result.ok, JSON.stringify(run.result.outcomes));
  assert.deepEqual(run.plan.actions.map((a) => a.kind), ["zfs.create", "zfs.create", "zfs.create", "zfs.create", "backup.snapshot", "backup.send", "backup.export"]);
  assert.equal(await imported(), false, "exported");
  assert.ok(lines.some((l) => l.includes(`cold disk ${cold} exported: it can be unplugged`)));
  const local = await snapshotsOf(mail());
  assert.equal(await userrefs(`${mail()}@${local[0]?.name}`), "1", `held for the disk (steward-cold-${cold})`);
  const report = await readBackupReport(backupDriver.slice(desired()), { executor: systemExecutor, stateDir: state, log, now: () => clock });
  assert.deepEqual(report.disks, [{ pool: cold, imported: false, exportedAt: "2026-12-07T08:05:00Z", canUnplug: true }]);
  assert.deepEqual(report.datasets[0]?.copies.find((c) => c.kind === "cold")?.newest, local[0]?.name);

  await zfsOk(["zpool", "import", "-d", diskDir, cold]);
  assert.deepEqual(await snapshotsOf(copy()), local, "the same snapshot (same guid) on the disk");
  assert.equal((await zfsOk(["zfs", "get", "-Hp", "-o", "value", "mountpoint", copy()])).trim(), "none", "a copy is never mounted");
  await zfsOk(["zpool", "export", cold]);
});

test("unplugged: snapshots are taken and pruned as usual, the disk's base is kept, nothing is sent", async () => {
  const [base] = await snapshotsOf(mail());
  for (let i = 0; i < 3; i++) {
    clock += 3600_000;
    const run = await applyNode(desired(), ctx());
    assert.ok(run.result.ok, JSON.stringify(run.result.outcomes));
    assert.ok(!run.plan.actions.some((a) => a.kind === "backup.send" || a.kind === "backup.export"));
  }
  const names = (await snapshotsOf(mail())).map((s) => s.name);
  assert.equal(names.length, 3, "hourly 2, and the held base");
  assert.equal(names[0], base?.name);
});

test("plugged in again: an incremental copy from the held base, the base moved, the disk exported again", async () => {
  const [base] = await snapshotsOf(mail());
  await zfsOk(["zpool", "import", "-d", diskDir, cold]);
  clock += 60_000;
  const run = await applyNode(desired(), ctx());
  assert.ok(run.result.ok, JSON.stringify(run.result.outcomes));
  const send = run.plan.actions.find((a) => a.kind === "backup.send");
  assert.deepEqual((send as { from?: unknown } | undefined)?.from, { snapshot: base?.name });
  assert.equal(await imported(), false);
  const local = await snapshotsOf(mail());
  const newest = local[local.length - 1];
  assert.equal(await userrefs(`${mail()}@${newest?.name}`), "1");
  await zfsOk(["zpool", "import", "-d", diskDir, cold]);
  const onDisk = await snapshotsOf(copy());
  assert.deepEqual(onDisk.at(-1), newest, "the disk holds the newest snapshot");
  assert.ok(onDisk.length <= 3, "pruned on the disk to the policy");
  for (const s of onDisk) {
    const same = local.find((l) => l.name === s.name);
    if (same !== undefined) assert.equal(s.guid, same.guid, `${s.name} is the node's snapshot`);
  }
  await zfsOk(["zpool", "export", cold]);
});
