/**
 * Cross-process locks (file-lock.ts) against other real processes: a holder in a child node
 * process (helpers/lock-holder.ts) keeps the lock while it lives, whatever the clocks say, and
 * loses it the moment it is killed.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcessByStdio } from "node:child_process";
import { once } from "node:events";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { acquireFileLock, holderArgv, ownerPath, type FileLockOptions } from "../agent/src/file-lock.js";
import { isStewardError } from "../agent/src/errors.js";
import { silentLogger } from "../agent/src/log.js";

const HOLDER = fileURLToPath(new URL("./helpers/lock-holder.js", import.meta.url));
const opts: FileLockOptions = { log: silentLogger, code: "SOURCE_LOCKED", what: "test", hint: "wait" };
const isHeld = (e: unknown): boolean => isStewardError(e) && e.code === "SOURCE_LOCKED" && e.retry === "transient";

type Answer = { ready?: true; held?: true; pid?: number; error?: string };

interface Holder {
  readonly child: ChildProcessByStdio<Writable, Readable, null>;
  /** The next JSON line the holder prints. */
  next(): Promise<Answer>;
  /** stop ends the holder's stdin (it releases the lock) and waits for it to exit. */
  stop(): Promise<void>;
}

type TestContext = { after: (fn: () => void | Promise<void>) => void };

function startHolder(t: TestContext, input: { path: string; waitMs?: number; clockOffsetMs?: number; go?: boolean }): Holder {
  const child = spawn(process.execPath, [HOLDER, JSON.stringify(input)], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = once(child, "exit");
  t.after(() => {
    child.kill("SIGKILL");
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  return {
    child,
    async next() {
      const line = await lines.next();
      assert.ok(line.done !== true, "the holder exited without answering");
      return JSON.parse(line.value as string) as Answer;
    },
    async stop() {
      child.stdin.end();
      await exited;
    },
  };
}

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "steward-file-lock-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

for (const c of [
  { name: "Linux takes the lock with flock(1) at once", platform: "linux", waitMs: 0, argv: ["flock", "-n", "-E", "75", "/s/a.lock", "cat"] },
  { name: "Linux waits in flock(1) to the millisecond", platform: "linux", waitMs: 2_500, argv: ["flock", "-w", "2.500", "-E", "75", "/s/a.lock", "cat"] },
  { name: "FreeBSD takes the lock with lockf(1) at once, keeping the file", platform: "freebsd", waitMs: 0, argv: ["lockf", "-k", "-s", "-t", "0", "/s/a.lock", "cat"] },
  { name: "FreeBSD waits in lockf(1) for whole seconds, rounded up", platform: "freebsd", waitMs: 300, argv: ["lockf", "-k", "-s", "-t", "1", "/s/a.lock", "cat"] },
  { name: "FreeBSD waits two seconds for a two-second wait", platform: "freebsd", waitMs: 2_000, argv: ["lockf", "-k", "-s", "-t", "2", "/s/a.lock", "cat"] },
  { name: "another platform has no lock tool", platform: "darwin", waitMs: 0, argv: undefined },
] as const) {
  test(c.name, () => assert.deepEqual(holderArgv(c.platform, "/s/a.lock", c.waitMs), c.argv));
}

test("a lock held by a live process is refused, naming it; once that process is SIGKILLed the lock is free", async (t) => {
  const path = join(await tempDir(t), "a.lock");
  const holder = startHolder(t, { path });
  assert.deepEqual(await holder.next(), { held: true, pid: holder.child.pid });
  await assert.rejects(acquireFileLock(path, opts), (e: unknown) => isHeld(e) && isStewardError(e) && e.data.pid === holder.child.pid);
  holder.child.kill("SIGKILL");
  await once(holder.child, "exit");
  // The kernel drops the lock when the holder's cat has read EOF and exited, a moment after the
  // agent's own death is reported; a short kernel wait covers that moment without polling.
  const started = performance.now();
  const lock = await acquireFileLock(path, { ...opts, waitMs: 2_000 });
  assert.ok(performance.now() - started < 1_000, `took ${performance.now() - started} ms`);
  assert.equal(JSON.parse(await readFile(ownerPath(path), "utf8")).pid, process.pid, "the dead holder's record is replaced");
  await lock.release();
});

for (const c of [
  { name: "a clock stepped forward after the holder took the lock (ntpd at boot) does not free it", clockOffsetMs: -2 * 3600_000 },
  { name: "a clock stepped back by 90 s does not free the lock", clockOffsetMs: 90_000 },
]) {
  test(c.name, async (t) => {
    const path = join(await tempDir(t), "a.lock");
    const holder = startHolder(t, { path, clockOffsetMs: c.clockOffsetMs });
    assert.equal((await holder.next()).held, true);
    await assert.rejects(acquireFileLock(path, opts), isHeld);
    await holder.stop();
    const lock = await acquireFileLock(path, opts);
    await lock.release();
  });
}

test("a lock released within the wait is taken; one held past the wait is refused after it", async (t) => {
  const path = join(await tempDir(t), "a.lock");
  const holder = startHolder(t, { path });
  assert.equal((await holder.next()).held, true);
  let started = performance.now();
  await assert.rejects(acquireFileLock(path, { ...opts, waitMs: 300 }), isHeld);
  assert.ok(performance.now() - started >= 250, `gave up after ${performance.now() - started} ms`);
  setTimeout(() => void holder.stop(), 300);
  started = performance.now();
  const lock = await acquireFileLock(path, { ...opts, waitMs: 5_000 });
  const took = performance.now() - started;
  assert.ok(took >= 250 && took < 4_000, `took ${took} ms`);
  await lock.release();
});

test("of two processes racing for a free lock, exactly one gets it, round after round", async (t) => {
  const path = join(await tempDir(t), "a.lock");
  const racers = [startHolder(t, { path, go: true }), startHolder(t, { path, go: true })];
  for (let round = 0; round < 20; round++) {
    for (const r of racers) assert.deepEqual(await r.next(), { ready: true });
    for (const r of racers) r.child.stdin.write("go\n");
    const answers = await Promise.all(racers.map((r) => r.next()));
    assert.deepEqual(answers.map((a) => (a.held === true ? "held" : a.error)).sort(), ["APPLY_LOCKED", "held"], `round ${round}`);
    for (const r of racers) r.child.stdin.write("release\n");
  }
  await Promise.all(racers.map((r) => r.stop()));
});

test("two acquisitions in one process conflict; release frees the lock, keeps the file and removes the owner record", async (t) => {
  const path = join(await tempDir(t), "sub", "a.lock");
  const first = await acquireFileLock(path, opts);
  assert.deepEqual(first.owner.pid, process.pid);
  assert.equal(JSON.parse(await readFile(ownerPath(path), "utf8")).pid, process.pid);
  await assert.rejects(acquireFileLock(path, opts), (e: unknown) => isHeld(e) && isStewardError(e) && e.data.pid === process.pid);
  await first.release();
  await first.release();
  assert.equal(existsSync(path), true, "the lock file is never removed");
  assert.equal(existsSync(ownerPath(path)), false);
  const second = await acquireFileLock(path, opts);
  await second.release();
});

test("without the lock tool on PATH the lock fails with EXEC_FAILED (stalled)", { skip: holderArgv(process.platform, "/x", 0) === undefined }, async (t) => {
  const path = join(await tempDir(t), "a.lock");
  const saved = process.env.PATH;
  process.env.PATH = join(path, "nowhere");
  try {
    await assert.rejects(acquireFileLock(path, opts), (e: unknown) => isStewardError(e) && e.code === "EXEC_FAILED" && e.retry === "stalled");
  } finally {
    process.env.PATH = saved;
  }
});
