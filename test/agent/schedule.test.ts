/** The agent's schedule (schedule.ts): which runs are retried sooner, and how much sooner. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { StewardError } from "../../agent/src/errors.js";
import { BACKOFF_BASE_MS, judgeCycle, nextRun, type CycleFacts } from "../../agent/src/agent/schedule.js";

const MINUTE = 60_000;
const facts = (over: Partial<{ decision: CycleFacts["source"]["decision"]; rejected: boolean; desired: boolean; ok: boolean }> = {}): CycleFacts => ({
  source: { decision: over.decision ?? { kind: "unchanged" } },
  target: { desired: over.desired === false ? undefined : {}, ...(over.rejected === true ? { rejected: {} } : {}) },
  run: { result: { ok: over.ok ?? true, outcomes: over.ok === false ? [{ status: "failed", code: "EXEC_FAILED" }] : [] } },
});

test("a run that converged, or found nothing to do, waits the interval", () => {
  assert.deepEqual(judgeCycle(facts(), undefined), { kind: "converged" });
  assert.deepEqual(nextRun({ kind: "converged" }, 3, MINUTE, 0), { delayMs: MINUTE, failures: 0 });
});

test("bad input stalls: a refused signature, an invalid new manifest, an unreadable one; no fast retry", () => {
  assert.deepEqual(judgeCycle(facts({ decision: { kind: "hold", reason: { code: "SOURCE_UNSIGNED", retry: "stalled" } } }), undefined), { kind: "stalled", code: "SOURCE_UNSIGNED" });
  assert.deepEqual(judgeCycle(facts({ rejected: true }), undefined), { kind: "stalled", code: "MANIFEST_INVALID" });
  assert.deepEqual(judgeCycle(facts({ desired: false }), undefined), { kind: "stalled", code: "MANIFEST_INVALID" });
  assert.deepEqual(judgeCycle(undefined, new StewardError("SOURCE_TRUST_INVALID", "x", { retry: "stalled" })), { kind: "stalled", code: "SOURCE_TRUST_INVALID" });
  assert.equal(nextRun({ kind: "stalled", code: "SOURCE_UNSIGNED" }, 0, MINUTE, 0).delayMs, MINUTE);
});

test("the world being unhelpful is transient: remotes down, a lock held, a failed action, a bug", () => {
  assert.deepEqual(judgeCycle(facts({ decision: { kind: "hold", reason: { code: "SOURCE_FETCH_FAILED", retry: "transient" } } }), undefined), { kind: "transient", code: "SOURCE_FETCH_FAILED" });
  assert.deepEqual(judgeCycle(undefined, new StewardError("APPLY_LOCKED", "x", { retry: "transient" })), { kind: "transient", code: "APPLY_LOCKED" });
  assert.deepEqual(judgeCycle(facts({ ok: false }), undefined), { kind: "transient", code: "EXEC_FAILED" });
  assert.deepEqual(judgeCycle(undefined, new Error("boom")), { kind: "transient", code: "INTERNAL" });
});

test("transient failures back off 5 s, 10 s, 20 s ... and never wait longer than the interval", () => {
  const delays: number[] = [];
  let failures = 0;
  for (let i = 0; i < 8; i += 1) {
    const next = nextRun({ kind: "transient", code: "SOURCE_TIMEOUT" }, failures, MINUTE, 0);
    delays.push(next.delayMs);
    failures = next.failures;
  }
  assert.deepEqual(delays, [BACKOFF_BASE_MS, 10_000, 20_000, 40_000, MINUTE, MINUTE, MINUTE, MINUTE]);
  assert.equal(nextRun({ kind: "converged" }, failures, MINUTE, 0).failures, 0, "a success resets the backoff");
});

test("jitter spreads the nodes: at most 10% earlier than the interval, never later", () => {
  for (const r of [0, 0.25, 0.5, 0.999]) {
    const d = nextRun({ kind: "converged" }, 0, MINUTE, r).delayMs;
    assert.ok(d <= MINUTE && d >= 0.9 * MINUTE, String(d));
    const b = nextRun({ kind: "transient", code: "SOURCE_TIMEOUT" }, 0, MINUTE, r).delayMs;
    assert.ok(b >= BACKOFF_BASE_MS && b <= 1.1 * BACKOFF_BASE_MS, String(b));
  }
});
