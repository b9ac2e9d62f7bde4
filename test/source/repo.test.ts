/**
 * The repository lock across processes: `<state>/source/repo.lock` (file-lock.ts) held by a
 * live process makes the source step hold with SOURCE_LOCKED; a record left by a dead process
 * holds nothing; a lock released while waiting is taken.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { hostname, uptime } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import type { AgentConfig } from "../../agent/src/config.js";
import { StewardError } from "../../agent/src/errors.js";
import { acquireFileLock, ownerPath } from "../../agent/src/file-lock.js";
import { silentLogger } from "../../agent/src/log.js";
import { parseRemoteUrl } from "../../agent/src/source/remotes.js";
import { repoLockPath, withRepoLock } from "../../agent/src/source/repo.js";
import { runSource } from "../../agent/src/source/source.js";
import { sourcePaths } from "../../agent/src/source/state.js";
import { makeTempDir, removeDir } from "../helpers/keys.js";

const HOLDER = fileURLToPath(new URL("../helpers/lock-holder.js", import.meta.url));
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
  return { file: join(state, "steward.yaml"), node: "alpha", state, branch: "main", trust: join(dir, "none"), timeout: 1, interval: 60, heartbeat: 900, remotes: [{ name: "origin", url, target: parseRemoteUrl(url), key: undefined, knownHosts: undefined }] };
}

test("the source step holds with SOURCE_LOCKED while another live process holds repo.lock", async (t) => {
  const c = config();
  const lock = repoLockPath(sourcePaths(c.state).gitdir);
  assert.equal(lock, join(c.state, "source", "repo.lock"));
  const holder = spawn(process.execPath, [HOLDER, JSON.stringify({ path: lock })], { stdio: ["pipe", "pipe", "inherit"] });
  t.after(() => {
    holder.kill("SIGKILL");
  });
  const answer = await createInterface({ input: holder.stdout })[Symbol.asyncIterator]().next();
  assert.equal(JSON.parse(answer.value as string).held, true);
  const r = await runSource(c, { log: silentLogger });
  assert.equal(r.decision.kind, "hold");
  assert.equal(r.decision.kind === "hold" && r.decision.reason.code, "SOURCE_LOCKED");
  assert.equal(r.decision.kind === "hold" && r.decision.reason.retry, "transient");
  assert.equal(existsSync(sourcePaths(c.state).gitdir), false, "nothing was fetched");
  holder.stdin.end();
  await once(holder, "exit");
});

test("a repo.lock and owner record left by a dead process hold nothing; the run keeps the lock file and removes the record", async () => {
  const c = config();
  const gitdir = sourcePaths(c.state).gitdir;
  mkdirSync(join(c.state, "source"), { recursive: true });
  const dead = spawnSync(process.execPath, ["-e", ""]).pid as number;
  writeFileSync(repoLockPath(gitdir), ownerLine(dead));
  writeFileSync(ownerPath(repoLockPath(gitdir)), ownerLine(dead));
  let ran = false;
  await withRepoLock(gitdir, async () => {
    ran = true;
  });
  assert.equal(ran, true);
  assert.equal(existsSync(repoLockPath(gitdir)), true);
  assert.equal(existsSync(ownerPath(repoLockPath(gitdir))), false);
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
