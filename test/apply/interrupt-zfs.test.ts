/**
 * Failures and crashes on real ZFS (zfs-fuse): an action zfs rejects, a command failing
 * mid-plan, a process killed mid-apply, and two applies at once. After each, the next apply
 * converges (everything is observed afresh) and the one after is a no-op.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { acquireApplyLock, lockPath } from "../../agent/src/apply/lock.js";
import { findInterrupted, journalPath, parseJournal } from "../../agent/src/apply/journal.js";
import { systemExecutor } from "../../agent/src/exec.js";
import { isStewardError } from "../../agent/src/errors.js";
import { ownerPath } from "../../agent/src/file-lock.js";
import { silentLogger } from "../../agent/src/log.js";
import type { DatasetSpec, DesiredState } from "../../agent/src/manifest/types.js";
import { applyNode } from "../../agent/src/reconcile.js";
import { createTestPool, zfsRun, type TestPool } from "../helpers/zfs-pool.js";
import { failingNth } from "../helpers/recording-executor.js";
import { containers, desiredState, ds } from "../drivers/zfs/build.js";

const CHILD = join(dirname(fileURLToPath(import.meta.url)), "apply-child.js");

let pool: TestPool;
let state: string;
before(async () => {
  pool = await createTestPool();
  state = await mkdtemp(join(tmpdir(), "steward-interrupt-"));
});
after(async () => {
  await pool?.destroy();
  if (state !== undefined) await rm(state, { recursive: true, force: true });
});

const ctx = () => ({ executor: systemExecutor, stateDir: state, log: silentLogger });
const data = (svc: string, name: string, props: Record<string, string> = {}): DatasetSpec => ds(`${pool.name}/steward/data/${svc}/${name}`, props, "correct", svc);
const svc = (name: string): DatasetSpec[] => containers(pool.name, name).slice(2);
const exists = async (name: string): Promise<boolean> => (await zfsRun(["zfs", "get", "-Hp", "-o", "value", "guid", name])).exitCode === 0;
let all: DatasetSpec[] = [];
/** Each scenario adds its service to the node; the earlier ones stay converged. */
function node(extra: DatasetSpec[]): DesiredState {
  return desiredState(pool.name, [...containers(pool.name).slice(0, 2), ...all, ...extra]);
}

test("a value zfs rejects fails its create and skips its children; the rest converges; a fixed manifest converges", async () => {
  const bad = [...svc("mail"), data("mail", "mail", { compression: "lz4" }), ds(`${pool.name}/steward/data/mail/mail/sub`, {}, "correct", "mail"), data("mail", "spool", { compression: "on" })];
  const run = await applyNode(node(bad), ctx());
  assert.deepEqual(
    run.result.outcomes.map((o) => `${o.status} ${o.action}`),
    [
      `applied zfs.create:${pool.name}/steward`,
      `applied zfs.create:${pool.name}/steward/data`,
      `applied zfs.create:${pool.name}/steward/data/mail`,
      `failed zfs.create:${pool.name}/steward/data/mail/mail`,
      `skipped zfs.create:${pool.name}/steward/data/mail/mail/sub`,
      `applied zfs.create:${pool.name}/steward/data/mail/spool`,
    ],
  );
  assert.equal(run.result.ok, false);
  const fixed = [...svc("mail"), data("mail", "mail", { compression: "gzip" }), ds(`${pool.name}/steward/data/mail/mail/sub`, {}, "correct", "mail"), data("mail", "spool", { compression: "on" })];
  const rerun = await applyNode(node(fixed), ctx());
  assert.deepEqual(rerun.plan.actions.map((a) => a.id), [`zfs.create:${pool.name}/steward/data/mail/mail`, `zfs.create:${pool.name}/steward/data/mail/mail/sub`]);
  assert.ok(rerun.result.ok);
  all = fixed;
  assert.equal((await applyNode(node([]), ctx())).plan.actions.length, 0);
});

test("a command failing mid-plan leaves the rest of the plan for the rerun, which converges", async () => {
  const web = [...svc("web"), data("web", "www", { quota: "1073741824" }), data("web", "logs", { atime: "off" }), data("web", "cache", { compression: "on" })];
  const ex = failingNth(systemExecutor, 3, { exitCode: 1, stderr: "injected failure\n" }, (a) => a[1] !== "get");
  const run = await applyNode(node(web), { ...ctx(), executor: ex });
  assert.equal(run.result.summary.failed, 1);
  assert.ok(run.result.summary.applied >= 2);
  const rerun = await applyNode(node(web), ctx());
  assert.ok(rerun.result.ok);
  assert.ok(rerun.plan.actions.length >= 1 && rerun.plan.actions.length < run.plan.actions.length);
  all = [...all, ...web];
  assert.equal((await applyNode(node([]), ctx())).plan.actions.length, 0);
  for (const d of web) assert.ok(await exists(d.name), d.name);
});

function runChild(input: object): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    void (async () => {
      const file = join(state, `child-${Date.now()}.json`);
      await writeFile(file, JSON.stringify(input));
      const child = spawn(process.execPath, [CHILD, file], { stdio: ["ignore", "pipe", "inherit"] });
      let stdout = "";
      child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
      child.on("error", reject);
      child.on("close", (code, signal) => resolve({ code, signal, stdout }));
    })().catch(reject);
  });
}

test("a crash mid-apply is reported by the next apply, which finds the lock free and converges", async () => {
  const git = [...svc("git"), data("git", "repos", { quota: "2147483648" }), data("git", "backup", { "org.example:backup": "hourly" }), data("git", "tmp")];
  const crashed = await runChild({ desired: node(git), stateDir: state, killAfter: 2 });
  assert.equal(crashed.signal, "SIGKILL");
  const deadOwner = JSON.parse(await readFile(ownerPath(lockPath(state)), "utf8")) as { pid: number };
  assert.notEqual(deadOwner.pid, process.pid, "the dead process's owner record stays behind");
  const interrupted = findInterrupted(parseJournal(await readFile(journalPath(state), "utf8")));
  assert.equal(interrupted?.actionsEnded, 2);
  assert.equal(interrupted?.inFlight, `zfs.create:${pool.name}/steward/data/git/repos`);

  const run = await applyNode(node(git), ctx());
  assert.equal(run.interrupted?.run, interrupted?.run);
  assert.equal(run.interrupted?.inFlight, interrupted?.inFlight);
  assert.ok(run.result.ok);
  assert.deepEqual(run.plan.actions.map((a) => a.kind), ["zfs.create", "zfs.create"]);
  all = [...all, ...git];
  const after = await applyNode(node([]), ctx());
  assert.deepEqual([after.plan.actions.length, after.interrupted], [0, undefined]);
  assert.deepEqual([existsSync(lockPath(state)), existsSync(ownerPath(lockPath(state)))], [true, false]);
});

test("two applies at once: one runs, the other gets APPLY_LOCKED", async () => {
  const results = await Promise.allSettled([applyNode(node([]), ctx()), applyNode(node([]), ctx())]);
  assert.deepEqual(results.map((r) => r.status).sort(), ["fulfilled", "rejected"]);
  const rejected = results.find((r) => r.status === "rejected");
  assert.ok(rejected?.status === "rejected" && isStewardError(rejected.reason) && rejected.reason.code === "APPLY_LOCKED");
});

test("an apply in another process while this one holds the lock fails with APPLY_LOCKED and changes nothing", async () => {
  const lock = await acquireApplyLock(state, silentLogger);
  try {
    const extra = [...svc("blog"), data("blog", "www")];
    const child = await runChild({ desired: node(extra), stateDir: state });
    assert.deepEqual([child.code, JSON.parse(child.stdout)], [1, { error: "APPLY_LOCKED" }]);
    assert.equal(await exists(`${pool.name}/steward/data/blog`), false);
  } finally {
    await lock.release();
  }
});
