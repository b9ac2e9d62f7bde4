import { test } from "node:test";
import assert from "node:assert/strict";
import { apply } from "../../agent/src/apply/apply.js";
import type { ActionOutcome, ApplyObserver } from "../../agent/src/apply/types.js";
import type { Argv, Executor } from "../../agent/src/exec.js";
import { plan } from "../../agent/src/plan/plan.js";
import { RecordingExecutor, startsWith } from "../helpers/recording-executor.js";
import { containers, desiredState, ds, have, observed } from "../drivers/zfs/build.js";

const P = "tank";
const MAIL = `${P}/steward/data/mail/mail`;
const WEB = `${P}/steward/data/web`;
const C = containers(P);
const haveC = C.map((c) => have(c.name, { mountpoint: "none" }));

/** From scratch: 3 containers + mail/mail + mail/mail/sub; and a set on the web container. */
function scratchPlan(): ReturnType<typeof plan> {
  return plan(
    desiredState(P, [...C, ds(MAIL, { quota: "1024" }), ds(`${MAIL}/sub`), ds(WEB, { mountpoint: "none", atime: "off" })]),
    observed(P, [haveC[0]!, haveC[1]!, have(WEB, { mountpoint: "none", atime: "on", compression: "gzip" })]),
  );
}

const statuses = (os: readonly ActionOutcome[]): string[] => os.map((o) => `${o.status} ${o.action}`);

test("runs every action's argv in plan order and reports each applied", async () => {
  const p = scratchPlan();
  const ex = new RecordingExecutor();
  const r = await apply(p, ex);
  assert.deepEqual(ex.calls, p.actions.flatMap((a) => a.steps.flatMap((s) => ("argv" in s ? [s.argv] : []))));
  assert.ok(r.ok);
  assert.deepEqual(r.summary, { applied: p.actions.length, unchanged: 0, failed: 0, skipped: 0 });
  assert.deepEqual(
    r.outcomes.map((o) => o.action),
    p.actions.map((a) => a.id),
  );
});

test("a failed command fails its action, skips its dependents and its resource, and the rest still run", async () => {
  const p = scratchPlan();
  const ex = new RecordingExecutor([{ when: (a) => a[1] === "create" && a.at(-1) === `${P}/steward/data/mail`, reply: { exitCode: 1, stderr: "cannot create 'x': out of space\n" } }]);
  const r = await apply(p, ex);
  assert.equal(r.ok, false);
  assert.deepEqual(statuses(r.outcomes), [
    `failed zfs.create:${P}/steward/data/mail`,
    `skipped zfs.create:${MAIL}`,
    `skipped zfs.create:${MAIL}/sub`,
    `applied zfs.set:${WEB}:atime`,
    `applied zfs.inherit:${WEB}:compression`,
  ]);
  const failed = r.outcomes[0];
  assert.ok(failed?.status === "failed");
  assert.deepEqual([failed.code, failed.exitCode, failed.stderr], ["EXEC_FAILED", 1, "cannot create 'x': out of space\n"]);
  const skipped = r.outcomes[1];
  assert.ok(skipped?.status === "skipped");
  assert.deepEqual([skipped.because, skipped.blockedBy], ["dependency-failed", `zfs.create:${P}/steward/data/mail`]);
  assert.equal(ex.calls.filter((a) => a[1] === "create").length, 1);
});

test("after a failure on a resource, its later actions are skipped", async () => {
  const p = scratchPlan();
  const ex = new RecordingExecutor([{ when: startsWith("zfs", "set", "atime=off"), reply: { exitCode: 1, stderr: "cannot set property\n" } }]);
  const r = await apply(p, ex);
  const tail = r.outcomes.slice(-2);
  assert.deepEqual(statuses(tail), [`failed zfs.set:${WEB}:atime`, `skipped zfs.inherit:${WEB}:compression`]);
  assert.ok(tail[1]?.status === "skipped" && tail[1].because === "resource-failed");
});

test("a timeout is EXEC_TIMEOUT and an executor that throws is EXEC_FAILED; apply does not throw", async () => {
  const p = plan(desiredState(P, [...C, ds(MAIL, { quota: "1" }), ds(WEB)]), observed(P, [...haveC, have(MAIL, { quota: "2" })]));
  const throwing: Executor = {
    async writeFile() {
      throw new Error("not expected");
    },
    async run(argv: Argv) {
      if (argv[1] === "create") throw new Error("spawn exploded");
      return { argv, exitCode: null, stdout: "", stderr: "", timedOut: true, durationMs: 60_000 };
    },
  };
  const r = await apply(p, throwing);
  assert.deepEqual(
    r.outcomes.map((o) => (o.status === "failed" ? o.code : o.status)),
    ["EXEC_TIMEOUT", "EXEC_FAILED"],
  );
});

function destroyPlan(): ReturnType<typeof plan> {
  return plan(desiredState(P, [...C], [`${P}/steward/data/old`]), observed(P, [...haveC, have(`${P}/steward/data/old`, {}, { guid: "4242" })]));
}

test("a destroy runs only after the guid check confirms the dataset", async () => {
  const ex = new RecordingExecutor([{ when: startsWith("zfs", "get"), reply: { stdout: "4242\n" } }]);
  const r = await apply(destroyPlan(), ex);
  assert.deepEqual(statuses(r.outcomes), [`applied zfs.destroy:${P}/steward/data/old`]);
  assert.deepEqual(ex.calls, [
    ["zfs", "get", "-Hp", "-o", "value", "guid", `${P}/steward/data/old`],
    ["zfs", "destroy", `${P}/steward/data/old`],
  ]);
});

test("a destroy whose dataset has another guid now fails APPLY_PRECONDITION and destroys nothing", async () => {
  const ex = new RecordingExecutor([{ when: startsWith("zfs", "get"), reply: { stdout: "9999\n" } }]);
  const r = await apply(destroyPlan(), ex);
  assert.ok(r.outcomes[0]?.status === "failed" && r.outcomes[0].code === "APPLY_PRECONDITION");
  assert.equal(ex.calls.filter((a) => a[1] === "destroy").length, 0);
});

test("a destroy whose dataset is already gone is unchanged", async () => {
  const name = `${P}/steward/data/old`;
  const ex = new RecordingExecutor([{ when: startsWith("zfs", "get"), reply: { exitCode: 1, stderr: `cannot open '${name}': dataset does not exist\n` } }]);
  const r = await apply(destroyPlan(), ex);
  assert.deepEqual(statuses(r.outcomes), [`unchanged zfs.destroy:${name}`]);
  assert.ok(r.ok);
  assert.equal(ex.calls.length, 1);
});

test("observers hear start, each action and end, in order; skipped actions only end", async () => {
  const p = scratchPlan();
  const events: string[] = [];
  const obs: ApplyObserver = {
    onApplyStart: () => void events.push("start"),
    onActionStart: (a) => void events.push(`+${a.id}`),
    onActionEnd: (a, o) => void events.push(`-${a.id}:${o.status}`),
    onApplyEnd: (_p, r) => void events.push(`end:${r.ok}`),
  };
  const ex = new RecordingExecutor([{ when: (a) => a[1] === "create" && a.at(-1) === `${MAIL}`, reply: { exitCode: 1 } }]);
  await apply(p, ex, [obs]);
  assert.deepEqual(events, [
    "start",
    `+zfs.create:${P}/steward/data/mail`,
    `-zfs.create:${P}/steward/data/mail:applied`,
    `+zfs.create:${MAIL}`,
    `-zfs.create:${MAIL}:failed`,
    `-zfs.create:${MAIL}/sub:skipped`,
    `+zfs.set:${WEB}:atime`,
    `-zfs.set:${WEB}:atime:applied`,
    `+zfs.inherit:${WEB}:compression`,
    `-zfs.inherit:${WEB}:compression:applied`,
    "end:false",
  ]);
});

test("an empty plan runs nothing and is ok", async () => {
  const ex = new RecordingExecutor();
  const r = await apply(plan(desiredState(P, [...C]), observed(P, haveC)), ex);
  assert.deepEqual([r.ok, r.outcomes.length, ex.calls.length], [true, 0, 0]);
});

test("a step whose stderr says its work is already done (`already`) counts as done; other failures still fail", async () => {
  const step = (argv: Argv, already?: string) => ({ argv, ...(already === undefined ? {} : { already: [already] }) });
  const action = (id: string, steps: ReturnType<typeof step>[]) => ({ id, kind: "test.x", driver: "test", resource: `test:${id}`, needs: [], teardown: false, effect: "change" as const, steps, cause: "due" as const, reason: "" });
  const p = { version: 2 as const, id: "p", node: "n", revision: null, actions: [action("a", [step(["zfs", "hold", "t", "d@s"], "tag already exists"), step(["true"])]), action("b", [step(["zfs", "hold", "t", "d@x"], "tag already exists")])], findings: [], blocked: [], summary: { create: 0, change: 2, restart: 0, remove: 0, destroy: 0, findings: 0 } };
  const ex = new RecordingExecutor([
    { when: (a) => a.at(-1) === "d@s", reply: { exitCode: 1, stderr: "cannot hold 'd@s': tag already exists on this dataset\n" } },
    { when: (a) => a.at(-1) === "d@x", reply: { exitCode: 1, stderr: "cannot hold 'd@x': dataset does not exist\n" } },
  ]);
  const r = await apply(p, ex, [], { drivers: [] });
  assert.deepEqual(statuses(r.outcomes), ["applied a", "failed b"]);
  assert.deepEqual(ex.calls, [["zfs", "hold", "t", "d@s"], ["true"], ["zfs", "hold", "t", "d@x"]]);
});

/** A plan of one action of a made-up driver, with a postcondition its driver verifies. */
function verifiedPlan(): Parameters<typeof apply>[0] {
  const action = { id: "v.load:x", kind: "v.load", driver: "v", resource: "v:x", needs: [], teardown: false, effect: "change" as const, steps: [{ argv: ["load", "x"] as Argv }], postcondition: { kind: "v.loaded" }, cause: "missing" as const, reason: "test" };
  const later = { ...action, id: "v.more:x", kind: "v.more", steps: [{ argv: ["more", "x"] as Argv }], postcondition: undefined };
  return { version: 2, id: "p", node: "n", revision: null, actions: [action, later], findings: [], blocked: [], summary: { create: 0, change: 2, restart: 0, remove: 0, destroy: 0, findings: 0 } };
}

for (const c of [
  { name: "a postcondition that holds leaves the action applied", verdict: { kind: "ok" as const }, want: ["applied v.load:x", "applied v.more:x"], code: undefined },
  { name: "a refused postcondition fails the action with the driver's code and skips what follows on its resource", verdict: { kind: "refused" as const, message: "reverted", code: "APPLY_REVERTED" as const }, want: ["failed v.load:x", "skipped v.more:x"], code: "APPLY_REVERTED" },
  { name: "a refused postcondition without a code is APPLY_VERIFY_FAILED", verdict: { kind: "refused" as const, message: "read back differs" }, want: ["failed v.load:x", "skipped v.more:x"], code: "APPLY_VERIFY_FAILED" },
]) {
  test(c.name, async () => {
    const verified: string[] = [];
    const driver = {
      name: "v",
      slice: () => ({}),
      observe: async () => ({}),
      plan: () => ({ actions: [], findings: [], resources: [] }),
      renderAction: () => "",
      verify: async (a: { id: string }) => {
        verified.push(a.id);
        return c.verdict;
      },
    };
    const ex = new RecordingExecutor();
    const r = await apply(verifiedPlan(), ex, [], { drivers: [driver] });
    assert.deepEqual(statuses(r.outcomes), c.want);
    assert.deepEqual(verified, ["v.load:x"], "verified once, after its steps");
    assert.deepEqual(ex.calls[0], ["load", "x"]);
    const first = r.outcomes[0];
    if (c.code !== undefined) assert.ok(first?.status === "failed" && first.code === c.code && "message" in c.verdict && first.message === c.verdict.message);
  });
}

test("a postcondition no driver verifies fails the action as a bug", async () => {
  const r = await apply(verifiedPlan(), new RecordingExecutor(), [], { drivers: [] });
  const first = r.outcomes[0];
  assert.ok(first?.status === "failed" && first.code === "INTERNAL");
});
