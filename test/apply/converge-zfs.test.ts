/**
 * Converging real ZFS (zfs-fuse on a file-backed pool), one story in order: create from
 * scratch, no-op, manifest change, drift corrected, drift reported, hand-set property
 * reverted, hand-made dataset left alone, dataset removed from the manifest kept, destroy
 * when listed.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ActionOutcome } from "../../agent/src/apply/types.js";
import { appliedRecordPath } from "../../agent/src/drivers/zfs/state.js";
import { systemExecutor } from "../../agent/src/exec.js";
import { silentLogger } from "../../agent/src/log.js";
import type { DatasetSpec, Drift } from "../../agent/src/manifest/types.js";
import { applyNode, planNode } from "../../agent/src/reconcile.js";
import { createTestPool, zfsOk, zfsRun, type TestPool } from "../helpers/zfs-pool.js";
import { RecordingExecutor } from "../helpers/recording-executor.js";
import { containers, desiredState, ds } from "../drivers/zfs/build.js";

let pool: TestPool;
let state: string;
before(async () => {
  pool = await createTestPool();
  state = await mkdtemp(join(tmpdir(), "steward-converge-"));
});
after(async () => {
  await pool?.destroy();
  if (state !== undefined) await rm(state, { recursive: true, force: true });
});

const G = 1024 ** 3;
const mailName = (): string => `${pool.name}/steward/data/mail/mail`;
const spoolName = (): string => `${pool.name}/steward/data/mail/spool`;

function mail(quotaG: number, drift: Drift = "correct"): DatasetSpec {
  return ds(mailName(), { compression: "gzip-6", atime: "off", quota: String(quotaG * G), recordsize: "16384", mountpoint: `${pool.dir}/jails/mail/var/mail`, "org.example:backup": "daily" }, drift);
}
function spool(): DatasetSpec {
  return ds(spoolName(), { compression: "on", mountpoint: `${pool.dir}/jails/mail/var/spool` });
}
const isBusy = (o: ActionOutcome | undefined): boolean => o?.status === "failed" && /dataset is busy/.test(o.stderr);
const desired = (datasets: DatasetSpec[], destroy: string[] = []) => desiredState(pool.name, [...containers(pool.name), ...datasets], destroy);
const ctx = () => ({ executor: systemExecutor, stateDir: state, log: silentLogger });

test("creates every dataset from scratch, marked as Steward's, with its properties", async () => {
  const run = await applyNode(desired([mail(20), spool()]), ctx());
  assert.ok(run.result.ok);
  assert.deepEqual(run.plan.actions.map((a) => a.kind), Array(5).fill("zfs.create"));
  const got = await zfsOk(["zfs", "get", "-Hp", "-o", "property,value,source", "org.steward:managed,quota,compression,recordsize,org.example:backup", mailName()]);
  assert.deepEqual(got.trim().split("\n").map((l) => l.split("\t")), [
    ["org.steward:managed", "yes", "local"],
    ["quota", String(20 * G), "local"],
    ["compression", "gzip", "local"],
    ["recordsize", "16384", "local"],
    ["org.example:backup", "daily", "local"],
  ]);
  assert.equal(await pool.get(`${pool.name}/steward/data`, "org.steward:managed"), "yes");
  const record = JSON.parse(await readFile(appliedRecordPath(state), "utf8"));
  assert.equal(record.datasets[mailName()].quota, String(20 * G));
});

test("a second run is a no-op: zero actions and one zfs command (the observe)", async () => {
  const ex = new RecordingExecutor([], systemExecutor);
  const run = await applyNode(desired([mail(20), spool()]), { ...ctx(), executor: ex });
  assert.deepEqual([run.plan.actions.length, run.plan.findings.length, run.result.ok], [0, 0, true]);
  assert.equal(ex.calls.length, 1);
  assert.equal(ex.calls[0]?.[1], "get");
});

test("a manifest change sets exactly the changed property", async () => {
  const run = await applyNode(desired([mail(30), spool()]), ctx());
  assert.deepEqual(run.plan.actions.map((a) => [a.id, a.cause]), [[`zfs.set:${mailName()}:quota`, "manifest-changed"]]);
  assert.ok(run.result.ok);
  assert.equal(await pool.get(mailName(), "quota"), String(30 * G));
});

test("a property changed by hand is drift and is corrected", async () => {
  await zfsOk(["zfs", "set", "compression=off", mailName()]);
  const run = await applyNode(desired([mail(30), spool()]), ctx());
  assert.deepEqual(run.plan.actions.map((a) => [a.id, a.cause]), [[`zfs.set:${mailName()}:compression`, "drift"]]);
  assert.equal(await pool.get(mailName(), "compression"), "gzip");
});

test("a dataset unmounted by hand is mounted again", async () => {
  await zfsOk(["zfs", "unmount", spoolName()]);
  assert.equal(await pool.get(spoolName(), "mounted"), "no");
  const run = await applyNode(desired([mail(30), spool()]), ctx());
  assert.deepEqual(run.plan.actions.map((a) => a.id), [`zfs.mount:${spoolName()}`]);
  assert.ok(run.result.ok);
  assert.equal(await pool.get(spoolName(), "mounted"), "yes");
});

test("with drift: report, a property changed by hand is only reported", async () => {
  await zfsOk(["zfs", "set", "org.example:backup=never", mailName()]);
  const run = await applyNode(desired([mail(30, "report"), spool()]), ctx());
  assert.equal(run.plan.actions.length, 0);
  assert.deepEqual(run.plan.findings.map((f) => [f.kind, f.subject, "property" in f ? f.property : ""]), [["drift-reported", mailName(), "org.example:backup"]]);
  assert.equal(await pool.get(mailName(), "org.example:backup"), "never");
});

test("with drift: report, a manifest change is still applied", async () => {
  const run = await applyNode(desired([mail(25, "report"), spool()]), ctx());
  assert.deepEqual(run.plan.actions.map((a) => [a.id, a.cause]), [[`zfs.set:${mailName()}:quota`, "manifest-changed"]]);
  assert.equal(await pool.get(mailName(), "quota"), String(25 * G));
  // back to correcting: the hand-set backup value is drift, corrected now
  const fix = await applyNode(desired([mail(25), spool()]), ctx());
  assert.deepEqual(fix.plan.actions.map((a) => a.cause), ["drift"]);
  assert.equal(await pool.get(mailName(), "org.example:backup"), "daily");
});

test("an undeclared native property set by hand is reverted; an undeclared user property is left", async () => {
  await zfsOk(["zfs", "set", "atime=off", spoolName()]);
  await zfsOk(["zfs", "set", "quota=1073741824", spoolName()]);
  await zfsOk(["zfs", "set", "org.other:note=mine", spoolName()]);
  const run = await applyNode(desired([mail(25), spool()]), ctx());
  assert.deepEqual(run.plan.actions.map((a) => a.id), [`zfs.inherit:${spoolName()}:atime`, `zfs.inherit:${spoolName()}:quota`]);
  assert.ok(run.result.ok);
  assert.deepEqual([await pool.get(spoolName(), "atime"), await pool.get(spoolName(), "quota"), await pool.get(spoolName(), "org.other:note")], ["on", "0", "mine"]);
  const again = await planNode(desired([mail(25), spool()]), ctx());
  assert.equal(again.plan.actions.length, 0);
});

test("a dataset made by hand under the root is reported and never touched", async () => {
  const byhand = `${pool.name}/steward/data/mail/byhand`;
  await zfsOk(["zfs", "create", byhand]);
  const run = await applyNode(desired([mail(25), spool(), ds(byhand, { quota: String(G) })]), ctx());
  assert.equal(run.plan.actions.length, 0);
  assert.deepEqual(run.plan.findings.map((f) => [f.kind, f.subject]), [["unmanaged-conflict", byhand]]);
  assert.equal(await pool.get(byhand, "quota"), "0");
  // listed for destroy, it is still refused
  const refused = await applyNode(desired([mail(25), spool()], [byhand]), ctx());
  assert.deepEqual(refused.plan.findings.map((f) => [f.kind, "because" in f ? f.because : ""]), [["destroy-refused", "unmanaged"]]);
  assert.equal((await zfsRun(["zfs", "get", "-Hp", "-o", "value", "guid", byhand])).exitCode, 0);
});

test("a dataset removed from the manifest is kept and reported as an orphan", async () => {
  const run = await applyNode(desired([mail(25)]), ctx());
  assert.equal(run.plan.actions.length, 0);
  assert.ok(run.plan.findings.some((f) => f.kind === "orphan" && f.subject === spoolName()));
  assert.equal((await zfsRun(["zfs", "get", "-Hp", "-o", "value", "guid", spoolName()])).exitCode, 0);
});

test("a dataset listed for destroy is destroyed, after its guid is confirmed", async () => {
  let ex = new RecordingExecutor([], systemExecutor);
  let run = await applyNode(desired([mail(25)], [spoolName()]), { ...ctx(), executor: ex });
  assert.deepEqual(run.plan.actions.map((a) => a.id), [`zfs.destroy:${spoolName()}`]);
  // zfs-fuse only: a dataset used moments ago can be "busy" for a while (docs/decisions.md, "The portable subset of zfs");
  // the next reconcile retries, as the agent's next interval would.
  for (let i = 0; i < 30 && isBusy(run.result.outcomes[0]); i++) {
    await new Promise((r) => setTimeout(r, 200));
    ex = new RecordingExecutor([], systemExecutor);
    run = await applyNode(desired([mail(25)], [spoolName()]), { ...ctx(), executor: ex });
  }
  assert.deepEqual(run.result.outcomes.map((o) => o.status), ["applied"], JSON.stringify(run.result.outcomes));
  // Two observes (the ZFS driver's, and the backup driver's, which looks for its snapshots on
  // what is listed for destroy), the guid check, the destroy.
  assert.deepEqual(ex.calls.slice(2).map((a) => a.slice(0, 2)), [["zfs", "get"], ["zfs", "destroy"]]);
  const gone = await zfsRun(["zfs", "get", "-Hp", "-o", "value", "guid", spoolName()]);
  assert.equal(gone.exitCode, 1);
  const next = await planNode(desired([mail(25)], [spoolName()]), ctx());
  assert.deepEqual(next.plan.findings.map((f) => f.kind).filter((k) => k !== "unmanaged-conflict"), ["destroy-done"]);
});
