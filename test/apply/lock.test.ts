/**
 * The apply lock, `<state>/apply.lock`: held by a process while it lives (file-lock.ts), and
 * never held by a record someone left behind.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { hostname, tmpdir, uptime } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { acquireApplyLock, lockPath } from "../../agent/src/apply/lock.js";
import { isStewardError } from "../../agent/src/errors.js";
import { ownerPath } from "../../agent/src/file-lock.js";
import { silentLogger } from "../../agent/src/log.js";

const HOLDER = fileURLToPath(new URL("../helpers/lock-holder.js", import.meta.url));

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

test("the lock records our pid; a second taker gets APPLY_LOCKED until it is released", async (t) => {
  const dir = await stateDir(t);
  const lock = await acquireApplyLock(dir, silentLogger);
  assert.equal(JSON.parse(await readFile(ownerPath(lockPath(dir)), "utf8")).pid, process.pid);
  await assert.rejects(acquireApplyLock(dir, silentLogger), isLocked);
  await lock.release();
  assert.equal(existsSync(ownerPath(lockPath(dir))), false);
  const again = await acquireApplyLock(dir, silentLogger);
  await again.release();
});

test("an apply lock held by another process is APPLY_LOCKED naming it, and free once that process is killed", async (t) => {
  const dir = await stateDir(t);
  const child = spawn(process.execPath, [HOLDER, JSON.stringify({ path: lockPath(dir) })], { stdio: ["pipe", "pipe", "inherit"] });
  t.after(async () => {
    child.kill("SIGKILL");
  });
  const first = await createInterface({ input: child.stdout })[Symbol.asyncIterator]().next();
  assert.deepEqual(JSON.parse(first.value as string), { held: true, pid: child.pid });
  await assert.rejects(acquireApplyLock(dir, silentLogger), (e: unknown) => isLocked(e) && isStewardError(e) && e.data.pid === child.pid && e.data.host === hostname());
  child.kill("SIGKILL");
  await once(child, "exit");
  // The kernel drops the lock once the holder's cat has read EOF and exited, a moment after the
  // killed process's exit is reported (measured: usually before a new holder has started).
  const deadline = performance.now() + 1_000;
  let lock;
  while (lock === undefined) {
    try {
      lock = await acquireApplyLock(dir, silentLogger);
    } catch (e) {
      if (!isLocked(e) || performance.now() > deadline) throw e;
    }
  }
  await lock.release();
});

const boot = new Date(Date.now() - uptime() * 1000).toISOString();
const record = (o: object): string => `${JSON.stringify({ host: hostname(), startedAt: new Date().toISOString(), boot, ...o })}\n`;

for (const c of [
  { name: "a dead pid", content: () => record({ pid: deadPid() }) },
  { name: "a pid alive now (reused after a crash)", content: () => record({ pid: process.ppid }) },
  { name: "another host", content: () => record({ pid: process.ppid, host: `not-${hostname()}` }) },
  { name: "an earlier boot", content: () => record({ pid: process.ppid, boot: "2025-01-01T00:00:00Z" }) },
  { name: "nothing readable, just written", content: () => "" },
]) {
  test(`a record of ${c.name} left in the lock file and its owner record does not hold the lock`, async (t) => {
    const dir = await stateDir(t);
    const content = c.content();
    await writeFile(lockPath(dir), content);
    await writeFile(ownerPath(lockPath(dir)), content);
    const lock = await acquireApplyLock(dir, silentLogger);
    assert.equal(JSON.parse(await readFile(ownerPath(lockPath(dir)), "utf8")).pid, process.pid);
    await lock.release();
  });
}
