/**
 * The repository lock across processes: `<state>/source/repo.lock` (file-lock.ts) held by a
 * live process makes the source step hold with SOURCE_LOCKED; a dead holder's lock is taken
 * over; a lock released while waiting is taken.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { hostname, uptime } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { AgentConfig } from "../../agent/src/config.js";
import { StewardError } from "../../agent/src/errors.js";
import { acquireFileLock } from "../../agent/src/file-lock.js";
import { silentLogger } from "../../agent/src/log.js";
import { parseRemoteUrl } from "../../agent/src/source/remotes.js";
import { repoLockPath, withRepoLock } from "../../agent/src/source/repo.js";
import { runSource } from "../../agent/src/source/source.js";
import { sourcePaths } from "../../agent/src/source/state.js";
import { makeTempDir, removeDir } from "../helpers/keys.js";

let dir: string;
let n = 0;
before(() => {
  dir = makeTempDir();
});
after(() => removeDir(dir));

function ownerLine(pid: number): string {
  return JSON.stringify({ pid, host: hostname(), startedAt: new Date().toISOString(), boot: new Date(Date.now() - uptime() * 1000).toISOString() });
}

function config(): AgentConfig {
  const state = join(dir, `s${n++}`);
  const url = "http://127.0.0.1:9/none.git";
  return { file: join(state, "steward.yaml"), node: "alpha", state, branch: "main", trust: join(dir, "none"), timeout: 1, remotes: [{ name: "origin", url, target: parseRemoteUrl(url), key: undefined, knownHosts: undefined }] };
}

test("the source step holds with SOURCE_LOCKED while another live process holds repo.lock", async () => {
  const c = config();
  const lock = repoLockPath(sourcePaths(c.state).gitdir);
  assert.equal(lock, join(c.state, "source", "repo.lock"));
  mkdirSync(join(c.state, "source"), { recursive: true });
  writeFileSync(lock, ownerLine(process.ppid));
  const r = await runSource(c, { log: silentLogger });
  assert.equal(r.decision.kind, "hold");
  assert.equal(r.decision.kind === "hold" && r.decision.reason.code, "SOURCE_LOCKED");
  assert.equal(r.decision.kind === "hold" && r.decision.reason.retry, "transient");
  assert.equal(existsSync(sourcePaths(c.state).gitdir), false, "nothing was fetched");
});

test("a repo.lock left by a dead process is taken over and released after the run", async () => {
  const c = config();
  const gitdir = sourcePaths(c.state).gitdir;
  mkdirSync(join(c.state, "source"), { recursive: true });
  const dead = spawnSync(process.execPath, ["-e", ""]).pid as number;
  writeFileSync(repoLockPath(gitdir), ownerLine(dead));
  let ran = false;
  await withRepoLock(gitdir, async () => {
    ran = true;
  });
  assert.equal(ran, true);
  assert.equal(existsSync(repoLockPath(gitdir)), false);
});

test("a lock released while a taker waits is taken; one still held is SOURCE_LOCKED after the wait", async () => {
  const path = join(dir, "wait", "repo.lock");
  const opts = { log: silentLogger, code: "SOURCE_LOCKED", what: "source repository", hint: "wait" } as const;
  const first = await acquireFileLock(path, opts);
  const started = performance.now();
  await assert.rejects(acquireFileLock(path, { ...opts, waitMs: 300 }), (e: unknown) => e instanceof StewardError && e.code === "SOURCE_LOCKED");
  assert.ok(performance.now() - started >= 200);
  setTimeout(() => void first.release(), 200);
  const second = await acquireFileLock(path, { ...opts, waitMs: 2_000 });
  await second.release();
});
