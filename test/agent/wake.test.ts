/** What wakes the agent (wake.ts): the kick file, a local remote's refs, signals, and wakes that arrive mid-run. */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { silentLogger } from "../../agent/src/log.js";
import { Waker, kickFile, refPaths } from "../../agent/src/agent/wake.js";
import { WorkRepo, makeBare, makeTempDir, removeDir } from "../helpers/keys.js";

let dir: string;
let bare: string;
let waker: Waker;

before(async () => {
  dir = makeTempDir();
  mkdirSync(join(dir, "state"));
  writeFileSync(kickFile(join(dir, "state")), "");
  bare = makeBare(join(dir, "mirror.git"));
  waker = new Waker({ log: silentLogger, kick: kickFile(join(dir, "state")), pushes: refPaths(bare, "main") });
  await waker.start();
});

after(async () => {
  await waker.close();
  removeDir(dir);
});

test("with nothing happening, the wait ends with the timer", async () => {
  assert.equal(await waker.wait(50), "timer");
});

test("writing the kick file wakes it", async () => {
  const woke = waker.wait(10_000);
  writeFileSync(kickFile(join(dir, "state")), "now\n");
  assert.equal(await woke, "kick");
});

test("a push to a local remote wakes it, for a new branch and for a moved one", async () => {
  const work = WorkRepo.create(join(dir, "work"));
  for (let i = 0; i < 2; i += 1) {
    work.commit(`c${i}`);
    const woke = waker.wait(10_000);
    work.push(bare);
    assert.equal(await woke, "push");
    await waker.wait(200); // let the rest of this push's events pass
  }
});

test("a wake during a run is kept for the next wait; several count as one", async () => {
  waker.wake("hup");
  waker.wake("kick");
  assert.equal(await waker.wait(10_000), "hup");
  assert.equal(await waker.wait(50), "timer");
});

test("stop ends the current wait and every later one", async () => {
  const woke = waker.wait(10_000);
  waker.wake("stop");
  assert.equal(await woke, "stop");
  waker.wake("hup");
  assert.equal(await waker.wait(10_000), "stop");
});
