/**
 * Progress of long pipelines through apply: the bytes an action's pipelines move (counted by
 * the real executor over real processes), with the sum of their drivers' estimates, heard by
 * observers and logged as `action progress` with the percent done.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { pino } from "pino";
import { apply } from "../../agent/src/apply/apply.js";
import { logObserver } from "../../agent/src/apply/log-observer.js";
import { bytesPerSecond, percentDone, secondsLeft } from "../../agent/src/apply/progress.js";
import { actionEstimate } from "../../agent/src/apply/run-action.js";
import type { ApplyObserver } from "../../agent/src/apply/types.js";
import { systemExecutor } from "../../agent/src/exec.js";
import type { ActionBase, Plan, Step } from "../../agent/src/plan/types.js";

function action(id: string, steps: readonly Step[]): ActionBase {
  return { id, kind: "test.copy", driver: "test", resource: `test:${id}`, needs: [], teardown: false, effect: "create", steps, cause: "due", reason: "test" };
}

function planOf(actions: readonly ActionBase[]): Plan {
  return { version: 2, id: "p", node: "alpha", revision: null, actions, findings: [], blocked: [], summary: { create: actions.length, change: 0, restart: 0, remove: 0, destroy: 0, findings: 0 } };
}

const zeros = (n: number) => ({ pipeline: [["head", "-c", String(n), "/dev/zero"], ["wc", "-c"]] as const });

test("an action's pipelines report the bytes moved so far, counted across them, with the sum of their estimates", async () => {
  const heard: [string, number, number | undefined][] = [];
  const obs: ApplyObserver = { onActionProgress: (a, bytes, estimate) => void heard.push([a.id, bytes, estimate]) };
  const two = action("two", [{ ...zeros(200_000), estimateBytes: 150_000 }, { argv: ["true"] }, { ...zeros(100_000), estimateBytes: 100_000 }]);
  const unknown = action("unknown", [{ ...zeros(50_000), estimateBytes: 10 }, zeros(70_000)]);
  const r = await apply(planOf([two, unknown]), systemExecutor, [obs]);
  assert.ok(r.ok, JSON.stringify(r.outcomes));
  const of = (id: string) => heard.filter(([a]) => a === id);
  assert.deepEqual(of("two").at(-1), ["two", 300_000, 250_000], "the second pipeline's bytes add to the first's");
  assert.ok(of("two").every(([, b], i, all) => i === 0 || b >= (all[i - 1]?.[1] ?? 0)), "never goes back");
  assert.ok(of("two").some(([, b]) => b === 200_000), "the first pipeline's end was reported");
  assert.deepEqual(of("unknown").at(-1), ["unknown", 120_000, undefined], "one pipeline without an estimate: no estimate");
  assert.equal(actionEstimate(action("none", [{ argv: ["true"] }])), undefined, "no pipeline, no estimate");
});

test("a throwing progress observer does not fail the action", async () => {
  const obs: ApplyObserver = {
    onActionProgress: () => {
      throw new Error("broken listener");
    },
  };
  const r = await apply(planOf([action("a", [zeros(10_000)])]), systemExecutor, [obs]);
  assert.ok(r.ok, JSON.stringify(r.outcomes));
});

test("`action progress` log lines carry the estimate and the percent done when the driver gave one", () => {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: "info" },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(JSON.parse(chunk.toString("utf8")) as Record<string, unknown>);
        done();
      },
    }),
  );
  const obs = logObserver(log, 0);
  const a = action("send", [zeros(1)]);
  obs.onActionProgress?.(a, 400, 1000);
  obs.onActionProgress?.(a, 1500, 1000);
  obs.onActionProgress?.(action("other", [zeros(1)]), 10);
  obs.onActionProgress?.(action("other", [zeros(1)]), 20);
  const progress = lines.filter((l) => l["msg"] === "action progress");
  assert.deepEqual(
    progress.map((l) => [l["action"], l["bytes"], l["estimateBytes"], l["percent"]]),
    [
      ["send", 400, 1000, 40],
      ["send", 1500, 1000, 99],
      ["other", 10, undefined, undefined],
      ["other", 20, undefined, undefined],
    ],
  );
  assert.ok(progress.every((l) => typeof l["bytesPerSecond"] === "number"));
});

test("percent done is capped at 99 while running; rate and time left from the mean rate", () => {
  assert.deepEqual([percentDone(0, 1000), percentDone(399, 1000), percentDone(1000, 1000), percentDone(5000, 1000)], [0, 39, 99, 99]);
  assert.deepEqual([percentDone(10, undefined), percentDone(10, 0)], [undefined, undefined], "no estimate, no percent");
  assert.equal(bytesPerSecond(3_000_000, 2000), 1_500_000);
  assert.equal(bytesPerSecond(10, 0), 0);
  assert.equal(secondsLeft(1_000, 4_000, 1_000), 3);
  assert.deepEqual([secondsLeft(1_000, undefined, 1_000), secondsLeft(5_000, 4_000, 1_000), secondsLeft(1_000, 4_000, 0)], [undefined, undefined, undefined]);
});
