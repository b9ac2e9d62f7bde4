/**
 * Hot snapshots on real ZFS (zfs-fuse on a file-backed pool), with the clock in the test's
 * hands: taken atomically for a service, not again in the same window, pruned to the policy
 * as time passes, a held base never pruned, and a destroy the manifest asks for cleared of
 * Steward's snapshots first — or, when a hold Steward does not know stops it, said so.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backupDriver } from "../../../agent/src/drivers/backup/driver.js";
import { zfsDriver } from "../../../agent/src/drivers/zfs/driver.js";
import type { Driver } from "../../../agent/src/drivers/driver.js";
import { systemExecutor } from "../../../agent/src/exec.js";
import { silentLogger } from "../../../agent/src/log.js";
import type { DatasetBackup, DesiredState } from "../../../agent/src/manifest/types.js";
import { applyNode, planNode, type ApplyNodeResult } from "../../../agent/src/reconcile.js";
import { createTestPool, zfsOk, zfsRun, type TestPool } from "../../helpers/zfs-pool.js";
import { RecordingExecutor } from "../../helpers/recording-executor.js";
import { containers, desiredState, ds } from "../zfs/build.js";
import { at, dsBackup, nodeBackups } from "./build.js";

const DRIVERS: readonly Driver[] = [zfsDriver as Driver, backupDriver as Driver];
let pool: TestPool;
let state: string;
before(async () => {
  pool = await createTestPool("stb");
  state = await mkdtemp(join(tmpdir(), "steward-backup-hot-"));
});
after(async () => {
  await pool?.destroy();
  if (state !== undefined) await rm(state, { recursive: true, force: true });
});

const KEEP = { frequent: 2, hourly: 2, daily: 1 };
const unit = (): string => `${pool.name}/steward/data/mail`;
const mail = (): string => `${unit()}/mail`;
const spool = (): string => `${unit()}/spool`;
const www = (): string => `${pool.name}/steward/data/blog/www`;

function desired(opts: { spool?: boolean; blog?: boolean; destroy?: string[] } = {}): DesiredState {
  const withSpool = opts.spool ?? true;
  const withBlog = opts.blog ?? false;
  const datasets = [
    ...containers(pool.name),
    ...(withBlog ? [ds(`${pool.name}/steward/data/blog`, { mountpoint: "none" }, "correct", "steward"), ds(www(), { mountpoint: `${pool.dir}/jails/blog/www` }, "correct", "blog")] : []),
    ds(mail(), { mountpoint: `${pool.dir}/jails/mail/var/mail` }),
    ...(withSpool ? [ds(spool(), { mountpoint: `${pool.dir}/jails/mail/var/spool` })] : []),
  ];
  const backups: DatasetBackup[] = [
    dsBackup(pool.name, "mail", "mail", KEEP),
    ...(withSpool ? [dsBackup(pool.name, "mail", "spool", KEEP)] : []),
    ...(withBlog ? [dsBackup(pool.name, "blog", "www", { hourly: 1 })] : []),
  ];
  return { ...desiredState(pool.name, datasets, opts.destroy ?? []), backups: nodeBackups(backups) };
}

let clock = at("2026-12-07T08:05:00Z");
const ctx = () => ({ executor: systemExecutor, stateDir: state, log: silentLogger, drivers: DRIVERS, now: () => clock });

async function snapshotsOf(dataset: string): Promise<string[]> {
  const out = await zfsOk(["zfs", "get", "-rHp", "-o", "name", "guid", dataset]);
  return out
    .split("\n")
    .filter((l) => l.startsWith(`${dataset}@`))
    .map((l) => l.slice(dataset.length + 1))
    .sort();
}

/** applyBusy applies, retrying while zfs-fuse calls a just-used dataset busy (docs/decisions.md, "The portable subset of zfs"). */
async function applyBusy(d: DesiredState): Promise<ApplyNodeResult> {
  let run = await applyNode(d, ctx());
  for (let i = 0; i < 30 && run.result.outcomes.some((o) => o.status === "failed" && /dataset is busy/.test(o.stderr)); i++) {
    await new Promise((r) => setTimeout(r, 200));
    run = await applyNode(d, ctx());
  }
  return run;
}

test("the first run creates the datasets and snapshots the service atomically: each kind once, on every dataset", async () => {
  const run = await applyNode(desired(), ctx());
  assert.ok(run.result.ok, JSON.stringify(run.result.outcomes));
  const snaps = run.plan.actions.filter((a) => a.kind === "backup.snapshot");
  assert.deepEqual(snaps.map((a) => a.id), [`backup.snapshot:${unit()}`]);
  const names = ["daily", "frequent", "hourly"].map((k) => `steward_2026-12-07_08:05:00_${k}`);
  assert.deepEqual(await snapshotsOf(mail()), names);
  assert.deepEqual(await snapshotsOf(spool()), names);
  assert.deepEqual(await snapshotsOf(unit()), names);
});

test("in the same window nothing is due: no action, and the backup driver's observe is two commands", async () => {
  const ex = new RecordingExecutor([], systemExecutor);
  clock += 5 * 60_000;
  const run = await applyNode(desired(), { ...ctx(), executor: ex });
  assert.deepEqual(run.plan.actions, []);
  // The ZFS driver's `zfs get`; the backup driver's `zpool list`, then its `zfs get` (its properties depend on the ZFS).
  assert.deepEqual(ex.calls.map((a) => a.slice(0, 2).join(" ")).sort(), ["zfs get", "zfs get", "zpool list"]);
  assert.ok(ex.calls.findIndex((a) => a[0] === "zpool") < ex.calls.findLastIndex((a) => a[1] === "get"), "the pools first");
});

test("as time passes, snapshots are taken in each new window and pruned to the policy", async () => {
  for (let i = 0; i < 12; i++) {
    clock += 15 * 60_000;
    const run = await applyNode(desired(), ctx());
    assert.ok(run.result.ok, JSON.stringify(run.result.outcomes));
  }
  // 11:10: two frequents (10:55, 11:10), two hourlies (10:10, 11:10), one daily (the first).
  const names = await snapshotsOf(mail());
  assert.deepEqual(names, ["steward_2026-12-07_08:05:00_daily", "steward_2026-12-07_10:10:00_hourly", "steward_2026-12-07_10:55:00_frequent", "steward_2026-12-07_11:10:00_frequent", "steward_2026-12-07_11:10:00_hourly"]);
  assert.deepEqual(await snapshotsOf(spool()), names, "the unit is pruned with -r: its datasets keep the same snapshots");
});

test("a held snapshot (an incremental base) is never pruned; the plan says it is kept", async () => {
  const base = "steward_2026-12-07_10:10:00_hourly";
  await zfsOk(["zfs", "hold", "steward-replica-beta", `${mail()}@${base}`]);
  clock += 60 * 60_000;
  const run = await applyNode(desired(), ctx());
  assert.ok(run.result.ok, JSON.stringify(run.result.outcomes));
  const prune = run.plan.actions.find((a) => a.kind === "backup.prune") as { kept?: string[] } | undefined;
  assert.deepEqual(prune?.kept, [base]);
  assert.ok((await snapshotsOf(mail())).includes(base));
  await zfsOk(["zfs", "release", "steward-replica-beta", `${mail()}@${base}`]);
});

test("a dataset the manifest lists for destroy: its Steward snapshots are cleared first, in the plan, then it is destroyed", async () => {
  const d = desired({ spool: false, destroy: [spool()] });
  const planned = await planNode(d, ctx());
  assert.deepEqual(planned.plan.actions.filter((a) => a.teardown).map((a) => a.kind), ["backup.clear", "zfs.destroy"]);
  const run = await applyBusy(d);
  assert.ok(run.result.ok, JSON.stringify(run.result.outcomes));
  assert.equal((await zfsRun(["zfs", "get", "-Hp", "-o", "value", "guid", spool()])).exitCode, 1, "destroyed");
});

test("a destroy stopped by a hold Steward did not place is said in the plan, and goes through once it is released", async () => {
  clock += 60 * 60_000;
  const first = await applyNode(desired({ spool: false, blog: true }), ctx());
  assert.ok(first.result.ok, JSON.stringify(first.result.outcomes));
  const [held] = await snapshotsOf(www());
  assert.ok(held !== undefined);
  await zfsOk(["zfs", "hold", "admin-keep", `${www()}@${held}`]);
  const gone = desired({ spool: false, blog: false, destroy: [www()] });
  const planned = await planNode(gone, ctx());
  assert.deepEqual(planned.plan.findings.filter((f) => f.driver === "backup").map((f) => [f.kind, f.subject]), [["hold-unknown", `${www()}@${held}`]]);
  const blocked = await applyNode(gone, ctx());
  assert.equal(blocked.result.ok, false);
  assert.equal((await zfsRun(["zfs", "get", "-Hp", "-o", "value", "guid", www()])).exitCode, 0, "still there");
  await zfsOk(["zfs", "release", "admin-keep", `${www()}@${held}`]);
  const run = await applyBusy(gone);
  assert.ok(run.result.ok, JSON.stringify(run.result.outcomes));
  assert.equal((await zfsRun(["zfs", "get", "-Hp", "-o", "value", "guid", www()])).exitCode, 1, "destroyed");
});
