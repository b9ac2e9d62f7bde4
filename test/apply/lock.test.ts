import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { acquireApplyLock, lockPath } from "../../agent/src/apply/lock.js";
import { isStewardError } from "../../agent/src/errors.js";
import { silentLogger } from "../../agent/src/log.js";

async function stateDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "steward-lock-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A pid that just exited (a child we started and reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ["-e", ""]);
  assert.ok(r.pid !== undefined);
  return r.pid;
}

const isLocked = (e: unknown): boolean => isStewardError(e) && e.code === "APPLY_LOCKED" && e.retry === "transient";

test("the lock holds our pid and a second taker gets APPLY_LOCKED until it is released", async (t) => {
  const dir = await stateDir(t);
  const lock = await acquireApplyLock(dir, silentLogger);
  assert.equal(JSON.parse(await readFile(lockPath(dir), "utf8")).pid, process.pid);
  await assert.rejects(acquireApplyLock(dir, silentLogger), isLocked);
  await lock.release();
  assert.equal(existsSync(lockPath(dir)), false);
  const again = await acquireApplyLock(dir, silentLogger);
  await again.release();
});

test("a lock left by a dead process is taken over", async (t) => {
  const dir = await stateDir(t);
  const pid = deadPid();
  await writeFile(lockPath(dir), JSON.stringify({ pid, host: hostname(), startedAt: "2025-01-01T00:00:00Z" }));
  const lock = await acquireApplyLock(dir, silentLogger);
  assert.equal(lock.tookOverFrom?.pid, pid);
  assert.equal(JSON.parse(await readFile(lockPath(dir), "utf8")).pid, process.pid);
  await lock.release();
});

test("a fresh unreadable lock is held (its owner is still writing it); an old one is taken over", async (t) => {
  const dir = await stateDir(t);
  await writeFile(lockPath(dir), "");
  await assert.rejects(acquireApplyLock(dir, silentLogger), isLocked);
  const old = new Date(Date.now() - 120_000);
  await utimes(lockPath(dir), old, old);
  const lock = await acquireApplyLock(dir, silentLogger);
  await lock.release();
});

test("release leaves a lock that is not ours", async (t) => {
  const dir = await stateDir(t);
  const lock = await acquireApplyLock(dir, silentLogger);
  const other = JSON.stringify({ pid: 1, host: hostname(), startedAt: "x" });
  await writeFile(lockPath(dir), other);
  await lock.release();
  assert.equal(await readFile(lockPath(dir), "utf8"), other);
});
