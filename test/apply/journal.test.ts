import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { apply } from "../../agent/src/apply/apply.js";
import { Journal, findInterrupted, journalPath, parseJournal } from "../../agent/src/apply/journal.js";
import { plan } from "../../agent/src/plan/plan.js";
import { RecordingExecutor } from "../helpers/recording-executor.js";
import { containers, desiredState, observed } from "../drivers/zfs/build.js";

const P = "tank";

async function stateDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "steward-journal-"));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const line = (o: object): string => `${JSON.stringify(o)}\n`;
const at = "2025-01-01T00:00:00.000Z";

test("a finished apply is not interrupted", () => {
  const text = line({ type: "apply-start", run: "r1", plan: "p", node: "n", actions: 1, pid: 1, at }) + line({ type: "action-start", run: "r1", action: "a", at }) + line({ type: "action-end", run: "r1", action: "a", status: "applied", at }) + line({ type: "apply-end", run: "r1", ok: true, summary: {}, at });
  assert.equal(findInterrupted(parseJournal(text)), undefined);
});

test("an apply without its end is interrupted at the action in flight; a torn last line is ignored", () => {
  const text =
    line({ type: "apply-start", run: "r2", plan: "p2", node: "n", actions: 3, pid: 7, at }) +
    line({ type: "action-start", run: "r2", action: "a", at }) +
    line({ type: "action-end", run: "r2", action: "a", status: "applied", at }) +
    line({ type: "action-start", run: "r2", action: "b", at }) +
    '{"type":"action-end","run":"r2","act';
  assert.deepEqual(findInterrupted(parseJournal(text)), { run: "r2", plan: "p2", pid: 7, startedAt: at, inFlight: "b", lastEnded: "a", actionsEnded: 1 });
});

test("an interrupted apply that a later apply noted is not reported again", () => {
  const text = line({ type: "apply-start", run: "r3", plan: "p", node: "n", actions: 1, pid: 1, at }) + line({ type: "interrupted-noted", run: "r3", by: "r4", at });
  assert.equal(findInterrupted(parseJournal(text)), undefined);
});

test("the journal records start, every action and end of an apply, one fsynced line each", async (t) => {
  const dir = await stateDir(t);
  const { journal, interrupted } = await Journal.open(dir);
  assert.equal(interrupted, undefined);
  const p = plan(desiredState(P, containers(P)), observed(P, []));
  await apply(p, new RecordingExecutor(), [journal]);
  await journal.close();
  const entries = parseJournal(await readFile(journalPath(dir), "utf8"));
  assert.deepEqual(
    entries.map((e) => e.type),
    ["apply-start", ...p.actions.flatMap(() => ["action-start", "action-end"]), "apply-end"],
  );
  assert.ok(entries.every((e) => e.run === journal.run));
});

test("opening a journal whose last apply never ended reports it once", async (t) => {
  const dir = await stateDir(t);
  await writeFile(journalPath(dir), line({ type: "apply-start", run: "dead", plan: "p", node: "n", actions: 2, pid: 1, at }) + line({ type: "action-start", run: "dead", action: "zfs.create:tank/steward", at }));
  const first = await Journal.open(dir);
  await first.journal.close();
  assert.equal(first.interrupted?.run, "dead");
  assert.equal(first.interrupted?.inFlight, "zfs.create:tank/steward");
  const second = await Journal.open(dir);
  await second.journal.close();
  assert.equal(second.interrupted, undefined);
});

test("a plan without actions writes nothing to the journal", async (t) => {
  const dir = await stateDir(t);
  const { journal } = await Journal.open(dir);
  const p = plan(desiredState(P, []), observed(P, []));
  await apply(p, new RecordingExecutor(), [journal]);
  await journal.close();
  assert.equal(await readFile(journalPath(dir), "utf8"), "");
});
