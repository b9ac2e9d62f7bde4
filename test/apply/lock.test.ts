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

test("a lock from before the last boot is stale even if its pid is alive now", async (t) => {
  const dir = await stateDir(t);
  const earlier = new Date(Date.now() - 7 * 24 * 3600 * 1000).toISOString();
  await writeFile(lockPath(dir), JSON.stringify({ pid: process.pid, host: hostname(), startedAt: earlier, boot: earlier }));
  const lock = await acquireApplyLock(dir, silentLogger);
  assert.equal(lock.tookOverFrom?.startedAt, earlier);
  await lock.release();
});

test("of many agents taking over one stale lock at once, exactly one gets it", async (t) => {
  const dir = await stateDir(t);
  const dead = deadPid();
  for (let round = 0; round < 200; round++) {
    await writeFile(lockPath(dir), JSON.stringify({ pid: dead, host: hostname(), startedAt: "x" }));
    const results = await Promise.allSettled([1, 2, 3].map(() => acquireApplyLock(dir, silentLogger)));
    const won = results.filter((r) => r.status === "fulfilled");
    assert.equal(won.length, 1, `round ${round}: ${won.length} holders`);
    for (const r of results) if (r.status === "rejected") assert.ok(isLocked(r.reason));
    await (won[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof acquireApplyLock>>>).value.release();
  }
});
