import assert from "node:assert/strict";
import { test } from "node:test";
import { runPipeline } from "../agent/src/exec.js";

test("a pipeline streams each stage into the next and counts the bytes that leave the first", async () => {
  const seen: number[] = [];
  const r = await runPipeline([["head", "-c", "300000", "/dev/zero"], ["tr", "\\0", "a"], ["wc", "-c"]], { onProgress: (b) => seen.push(b) });
  assert.deepEqual([r.exitCode, r.stdout.trim(), r.bytes, r.timedOut], [0, "300000", 300_000, false]);
  assert.deepEqual(r.stages.map((s) => s.exitCode), [0, 0, 0]);
  assert.equal(seen.at(-1), 300_000, "the last report is the total");
});

test("a failing first stage fails the pipeline even when the last stage exits 0 (more than pipefail)", async () => {
  const r = await runPipeline([["sh", "-c", "echo partial; echo 'could not send' >&2; exit 3"], ["cat"]]);
  assert.deepEqual([r.exitCode, r.argv[0], r.stdout], [3, "sh", "partial\n"]);
  assert.match(r.stderr, /^sh: could not send$/m);
});

test("the cause is the stage that failed on its own, not the writer its exit broke", async () => {
  const r = await runPipeline([["head", "-c", "50000000", "/dev/zero"], ["sh", "-c", "head -c 10 >/dev/null; echo 'cannot receive' >&2; exit 4"]]);
  assert.deepEqual([r.exitCode, r.argv[0]], [4, "sh"]);
  assert.notEqual(r.stages[0]?.exitCode, 0, "the writer saw the broken pipe");
});

test("a pipeline past its deadline is killed, every stage, and says timedOut", async () => {
  const started = Date.now();
  const r = await runPipeline([["sleep", "30"], ["cat"]], { timeoutMs: 300 });
  assert.deepEqual([r.timedOut, r.exitCode], [true, null]);
  assert.ok(Date.now() - started < 10_000);
});

test("a stage that cannot start is a failed pipeline, never a throw", async () => {
  const r = await runPipeline([["printf", "x"], ["/nonexistent/steward-test-program"]]);
  assert.notEqual(r.exitCode, 0);
  assert.ok(r.spawnError !== undefined || r.stderr !== "");
});
