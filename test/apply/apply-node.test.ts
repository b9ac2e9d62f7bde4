/**
 * applyNode with a scripted executor (no ZFS): lock, journal and record around one apply.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseJournal, journalPath } from "../../agent/src/apply/journal.js";
import { acquireApplyLock, lockPath } from "../../agent/src/apply/lock.js";
import { appliedRecordPath } from "../../agent/src/drivers/zfs/state.js";
import { isStewardError } from "../../agent/src/errors.js";
import { ownerPath } from "../../agent/src/file-lock.js";
import { silentLogger } from "../../agent/src/log.js";
import { applyNode } from "../../agent/src/reconcile.js";
import { RecordingExecutor, startsWith } from "../helpers/recording-executor.js";
import { containers, desiredState, ds } from "../drivers/zfs/build.js";

const P = "tank";
const nothingYet = new RecordingExecutor([{ when: startsWith("zfs", "get"), reply: { exitCode: 1, stderr: `cannot open '${P}/steward': dataset does not exist\n` } }]);

/** assertReleased checks that the apply lock is free again and its owner record gone. */
async function assertReleased(dir: string): Promise<void> {
  assert.equal(existsSync(ownerPath(lockPath(dir))), false);
  await (await acquireApplyLock(dir, silentLogger)).release();
}

async function stateDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "steward-applynode-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test("one apply: creates from nothing, journals every action, records the result, releases the lock", async (t) => {
  const dir = await stateDir(t);
  const desired = desiredState(P, [...containers(P), ds(`${P}/steward/data/mail/mail`, { quota: "1024" })]);
  const run = await applyNode(desired, { executor: nothingYet, stateDir: dir, log: silentLogger });
  assert.deepEqual([run.result.ok, run.plan.actions.length, run.interrupted], [true, 4, undefined]);
  const types = parseJournal(await readFile(journalPath(dir), "utf8")).map((e) => e.type);
  assert.deepEqual([types[0], types.at(-1), types.length], ["apply-start", "apply-end", 10]);
  const record = JSON.parse(await readFile(appliedRecordPath(dir), "utf8"));
  assert.deepEqual(record.datasets[`${P}/steward/data/mail/mail`], { quota: "1024" });
  await assertReleased(dir);
});

test("a state directory that cannot be written is APPLY_FAILED, and nothing runs", async (t) => {
  const dir = await stateDir(t);
  const file = join(dir, "not-a-dir");
  await writeFile(file, "");
  const ex = new RecordingExecutor();
  await assert.rejects(
    applyNode(desiredState(P, containers(P)), { executor: ex, stateDir: file, log: silentLogger }),
    (e: unknown) => isStewardError(e) && e.code === "APPLY_FAILED" && e.retry === "transient",
  );
  assert.equal(ex.calls.length, 0);
});

test("an observe failure is OBSERVE_FAILED and releases the lock", async (t) => {
  const dir = await stateDir(t);
  const down = new RecordingExecutor([{ when: startsWith("zfs"), reply: { exitCode: 1, stderr: "internal error: failed to initialize ZFS library\n" } }]);
  await assert.rejects(
    applyNode(desiredState(P, containers(P)), { executor: down, stateDir: dir, log: silentLogger }),
    (e: unknown) => isStewardError(e) && e.code === "OBSERVE_FAILED",
  );
  await assertReleased(dir);
});
