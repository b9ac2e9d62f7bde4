/**
 * The seam's ordering (plan.ts orderActions, apply's skipping) with made-up drivers: actions
 * run after the actions on the resources they need, teardown runs last in reverse registry
 * order, a resource a finding blocks stops what needs it, and a need no driver knows or a cycle
 * is INTERNAL.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { apply } from "../../agent/src/apply/apply.js";
import type { Driver, DriverPlan } from "../../agent/src/drivers/driver.js";
import { isStewardError } from "../../agent/src/errors.js";
import { orderActions, plan } from "../../agent/src/plan/plan.js";
import type { ActionBase, FindingBase } from "../../agent/src/plan/types.js";
import { desiredState } from "../drivers/zfs/build.js";
import { RecordingExecutor } from "../helpers/recording-executor.js";

function act(driver: string, id: string, resource: string, needs: string[] = [], teardown = false): ActionBase {
  return { id, kind: `${driver}.do`, driver, resource, needs, teardown, effect: teardown ? "destroy" : "change", steps: [{ argv: ["true", id] }], cause: "missing", reason: id };
}

function part(actions: ActionBase[], resources: string[] = [], findings: FindingBase[] = []): DriverPlan {
  return { actions, findings, resources };
}

const ids = (actions: readonly ActionBase[]): string[] => actions.map((a) => a.id);

for (const c of [
  {
    name: "an action runs after the actions on a resource it needs, even from a later driver's list",
    parts: [
      { driver: "a", part: part([act("a", "a1", "a:x", ["b:y"])]) },
      { driver: "b", part: part([act("b", "b1", "b:y")]) },
    ],
    want: ["b1", "a1"],
  },
  {
    name: "free actions keep registry order, then each driver's own order",
    parts: [
      { driver: "a", part: part([act("a", "a1", "a:x"), act("a", "a2", "a:z")]) },
      { driver: "b", part: part([act("b", "b1", "b:y")]) },
    ],
    want: ["a1", "a2", "b1"],
  },
  {
    name: "actions on one resource keep their order",
    parts: [{ driver: "a", part: part([act("a", "a1", "a:x"), act("a", "a2", "a:x", ["a:w"]), act("a", "a3", "a:w")]) }],
    want: ["a1", "a3", "a2"],
  },
  {
    name: "a need on a converged resource (no action) orders nothing",
    parts: [
      { driver: "a", part: part([], ["a:x"]) },
      { driver: "b", part: part([act("b", "b1", "b:y", ["a:x"])]) },
    ],
    want: ["b1"],
  },
  {
    name: "teardown runs last, drivers in reverse registry order",
    parts: [
      { driver: "zfs", part: part([act("zfs", "z-destroy", "zfs:d", [], true), act("zfs", "z-create", "zfs:e")]) },
      { driver: "jail", part: part([act("jail", "j-stop", "jail:m", [], true), act("jail", "j-start", "jail:n", ["zfs:e"])]) },
      { driver: "pf", part: part([act("pf", "pf-remove", "pf:steward", [], true)]) },
    ],
    want: ["z-create", "j-start", "pf-remove", "j-stop", "z-destroy"],
  },
  {
    name: "a teardown action that needs another's resource runs after it, whatever the registry order; one nothing tears down is met",
    parts: [
      { driver: "zfs", part: part([act("zfs", "z-destroy", "zfs:d", [], true)]) },
      { driver: "jail", part: part([act("jail", "j-stop", "jail:m", [], true)]) },
      { driver: "backup", part: part([act("backup", "b-final", "backup:final-m", ["jail:m"], true), act("backup", "b-final-gone", "backup:final-g", ["jail:gone"], true), act("backup", "b-clear", "backup:d", [], true)]) },
    ],
    want: ["b-final-gone", "b-clear", "j-stop", "b-final", "z-destroy"],
  },
]) {
  test(c.name, () => assert.deepEqual(ids(orderActions(c.parts)), c.want));
}

test("a need no driver knows is INTERNAL", () => {
  assert.throws(
    () => orderActions([{ driver: "a", part: part([act("a", "a1", "a:x", ["zfs:nowhere"])]) }]),
    (e: unknown) => isStewardError(e) && e.code === "INTERNAL" && e.data["need"] === "zfs:nowhere",
  );
});

test("needs that form a cycle are INTERNAL", () => {
  assert.throws(
    () => orderActions([{ driver: "a", part: part([act("a", "a1", "a:x", ["a:y"]), act("a", "a2", "a:y", ["a:x"])]) }]),
    (e: unknown) => isStewardError(e) && e.code === "INTERNAL" && Array.isArray(e.data["actions"]),
  );
});

/** A made-up driver whose plan is fixed. */
function fixed(name: string, p: DriverPlan): Driver {
  return { name, slice: () => undefined, observe: async () => undefined, plan: () => p, renderAction: (a) => `${a.id}` };
}

test("a resource a blocking finding keeps from being ready stops the actions that need it; the rest still run", async () => {
  const blocking: FindingBase = { driver: "zfs", kind: "unmanaged-conflict", resource: "zfs:d", subject: "d", message: "not Steward's", blocking: true };
  const drivers = [fixed("zfs", part([], ["zfs:d"], [blocking])), fixed("jail", part([act("jail", "start-mail", "jail:mail", ["zfs:d"]), act("jail", "start-blog", "jail:blog")]))];
  const p = plan(desiredState("tank", []), {}, drivers);
  assert.deepEqual(p.blocked, ["zfs:d"]);
  const ex = new RecordingExecutor();
  const r = await apply(p, ex, [], { drivers });
  assert.deepEqual(r.outcomes.map((o) => [o.action, o.status]), [["start-mail", "skipped"], ["start-blog", "applied"]]);
  assert.deepEqual(ex.calls, [["true", "start-blog"]]);
});

test("a failed action skips what needs its resource, in any driver", async () => {
  const drivers = [fixed("zfs", part([act("zfs", "create-d", "zfs:d")], ["zfs:d"])), fixed("jail", part([act("jail", "start-mail", "jail:mail", ["zfs:d"]), act("jail", "start-blog", "jail:blog")]))];
  const p = plan(desiredState("tank", []), {}, drivers);
  const ex = new RecordingExecutor([{ when: (argv) => argv[1] === "create-d", reply: { exitCode: 1 } }]);
  const r = await apply(p, ex, [], { drivers });
  assert.deepEqual(r.outcomes.map((o) => [o.action, o.status, o.status === "skipped" ? o.blockedBy : ""]), [["create-d", "failed", ""], ["start-mail", "skipped", "create-d"], ["start-blog", "applied", ""]]);
});

test("a step's stdin comes from the content store by hash, and the plan carries only the hash", async () => {
  const bytes = new TextEncoder().encode("secret=hunter2\n");
  const sha256 = "f".repeat(64);
  const write: ActionBase = { ...act("jail", "write", "jail:mail"), steps: [{ argv: ["tee", "/x"], input: { sha256, bytes: bytes.length }, timeoutMs: 5_000 }] };
  const drivers = [fixed("jail", part([write]))];
  const p = plan(desiredState("tank", []), {}, drivers);
  assert.ok(!JSON.stringify(p).includes("hunter2"));
  const ex = new RecordingExecutor();
  const ok = await apply(p, ex, [], { drivers, contents: new Map([[sha256, bytes]]) });
  assert.equal(ok.outcomes[0]?.status, "applied");
  assert.deepEqual(ex.inputs, [bytes]);
  assert.deepEqual(ex.timeouts, [5_000]);
  const missing = await apply(p, new RecordingExecutor(), [], { drivers });
  assert.deepEqual(missing.outcomes.map((o) => (o.status === "failed" ? o.code : o.status)), ["INTERNAL"]);
});
