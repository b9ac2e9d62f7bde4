/**
 * The progress file apply writes while an action's pipelines move bytes, through the real apply
 * and the real executor (real processes): there while the transfer runs, gone after it, rewritten
 * while it stalls, and never a reason for a send to fail. And its reader: a file whose process
 * is gone, or too old, or not one, is no transfer.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { pino } from "pino";
import { apply } from "../../agent/src/apply/apply.js";
import { isCurrent, parseProgress, PROGRESS_STALE_MS, progressFileObserver, progressPath, readProgress, type ProgressRecord } from "../../agent/src/apply/progress-file.js";
import { systemExecutor } from "../../agent/src/exec.js";
import type { Logger } from "../../agent/src/log.js";
import type { ActionBase, Plan, Step } from "../../agent/src/plan/types.js";

function action(id: string, steps: readonly Step[]): ActionBase {
  return { id, kind: "test.copy", driver: "test", resource: `test:${id}`, needs: [], teardown: false, effect: "create", steps, cause: "due", reason: "test" };
}

function planOf(actions: readonly ActionBase[]): Plan {
  return { version: 2, id: "p", node: "alpha", revision: null, actions, findings: [], blocked: [], summary: { create: actions.length, change: 0, restart: 0, remove: 0, destroy: 0, findings: 0 } };
}

function capture(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: "debug" },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString("utf8")) as Record<string, unknown>);
        done();
      },
    }),
  );
  return { log, lines };
}

/** A pipeline that writes 100000 bytes, stalls for `seconds`, then writes 100000 more. */
const stalling = (seconds: number, estimateBytes?: number): Step => ({
  pipeline: [["sh", "-c", `head -c 100000 /dev/zero; sleep ${seconds}; head -c 100000 /dev/zero`], ["wc", "-c"]],
  ...(estimateBytes === undefined ? {} : { estimateBytes }),
});

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** watch reads the progress file every 50 ms until `done` settles; returns what it saw. */
async function watch(state: string, done: Promise<unknown>): Promise<ProgressRecord[]> {
  let over = false;
  void done.finally(() => {
    over = true;
  });
  const seen: ProgressRecord[] = [];
  while (!over) {
    const r = readProgress(state);
    if (r !== undefined) seen.push(r);
    await sleep(50);
  }
  return seen;
}

test("while an action's pipeline runs, the file names this process, the action, its bytes and estimate; it is gone after; a stall rewrites it", async () => {
  const state = await mkdtemp(join(tmpdir(), "steward-progress-"));
  try {
    const { log } = capture();
    const before = action("before", [{ argv: ["true"] }]);
    const send = action("send", [stalling(1.2, 250_000)]);
    const running = apply(planOf([before, send, action("after", [{ argv: ["true"] }])]), systemExecutor, [progressFileObserver(state, log, { heartbeatMs: 300 })]);
    const seen = await watch(state, running);
    const r = await running;
    assert.ok(r.ok, JSON.stringify(r.outcomes));
    assert.ok(seen.length > 0, "seen while it ran");
    for (const s of seen) {
      assert.deepEqual([s.pid, s.action, s.driver, s.resource, s.estimateBytes], [process.pid, "send", "test", "test:send", 250_000]);
      assert.ok(s.bytes > 0 && s.bytes <= 200_000, String(s.bytes));
      assert.ok(Date.parse(s.startedAt) <= Date.parse(s.updatedAt));
    }
    const first = seen[0];
    const stalled = seen.filter((s) => s.bytes === first?.bytes);
    assert.ok(new Set(stalled.map((s) => s.updatedAt)).size >= 2, "rewritten while no bytes came");
    assert.equal(existsSync(progressPath(state)), false, "removed when the action ended");
  } finally {
    await rm(state, { recursive: true, force: true });
  }
});

test("a progress file that cannot be written is a debug line: the send goes on and succeeds", async () => {
  const state = await mkdtemp(join(tmpdir(), "steward-progress-"));
  try {
    await writeFile(join(state, "apply"), "not a directory");
    const { log, lines } = capture();
    const r = await apply(planOf([action("send", [stalling(0.1, 1)])]), systemExecutor, [progressFileObserver(state, log)]);
    assert.ok(r.ok, JSON.stringify(r.outcomes));
    const failed = lines.filter((l) => l["msg"] === "progress file not written");
    assert.ok(failed.length > 0);
    assert.ok(failed.every((l) => l["level"] === 20), "debug");
  } finally {
    await rm(state, { recursive: true, force: true });
  }
});

test("a file an earlier apply left is removed when the next starts; one whose process is gone, or too old, or not a record, is no transfer", async () => {
  const state = await mkdtemp(join(tmpdir(), "steward-progress-"));
  try {
    const now = Date.parse("2026-12-07T10:00:00Z");
    const record: ProgressRecord = { version: 1, pid: process.pid, action: "send", driver: "test", resource: "test:send", startedAt: "2026-12-07T09:59:00.000Z", updatedAt: "2026-12-07T09:59:59.000Z", bytes: 10, estimateBytes: null };
    await mkdir(join(state, "apply"));
    await writeFile(progressPath(state), JSON.stringify(record));
    assert.deepEqual(readProgress(state, now), record, "this process lives and wrote it a second ago");
    assert.equal(readProgress(state, now, () => false), undefined, "its process is gone");
    assert.equal(readProgress(state, now + PROGRESS_STALE_MS + 1000), undefined, "not rewritten for minutes: a hung apply's");
    assert.equal(isCurrent(record, now, (pid) => pid === process.pid), true);

    for (const bad of ["", "{", "[]", JSON.stringify({ ...record, version: 2 }), JSON.stringify({ ...record, bytes: -1 }), JSON.stringify({ ...record, updatedAt: "yesterday" }), JSON.stringify({ ...record, estimateBytes: "lots" })]) {
      assert.equal(parseProgress(bad), undefined, bad);
    }
    assert.deepEqual(parseProgress(JSON.stringify({ ...record, estimateBytes: 20 }))?.estimateBytes, 20);

    const { log } = capture();
    await apply(planOf([]), systemExecutor, [progressFileObserver(state, log)]);
    assert.equal(existsSync(progressPath(state)), false, "the leftover is removed");
    assert.equal(readProgress(join(state, "missing")), undefined, "no file, no transfer");
  } finally {
    await rm(state, { recursive: true, force: true });
  }
});
