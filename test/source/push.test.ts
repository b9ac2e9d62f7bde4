import assert from "node:assert/strict";
import { test } from "node:test";
import type { SourceProblem, Verification } from "../../agent/src/source/choose.js";
import { judgePush, type PushFacts } from "../../agent/src/source/push.js";

const OLD = "a".repeat(40);
const NEW = "b".repeat(40);
const D = "d".repeat(40);
const E = "e".repeat(40);
const K = "c".repeat(40);

const problem = (code: SourceProblem["code"], commit?: string): SourceProblem => ({ code, message: code, data: commit === undefined ? {} : { commit }, retry: "stalled" });
const ok = (revision: string, commits: number): Verification => ({ revision, ok: true, commits });
const bad = (revision: string, p: SourceProblem): Verification => ({ revision, ok: false, problem: p });
const rewrite = (extra: Partial<Extract<PushFacts, { kind: "rewrite" }>>): PushFacts => ({ kind: "rewrite", old: OLD, tip: NEW, dropped: 2, firstDropped: D, kept: K, ...extra });

for (const c of [
  { name: "accepts a new branch whose tip verifies against the bootstrap trust", facts: { kind: "create", tip: NEW, verification: ok(NEW, 1) } as PushFacts, ok: true, commits: 1 },
  { name: "refuses a new branch whose tip the bootstrap trust does not admit, with the node's code", facts: { kind: "create", tip: NEW, verification: bad(NEW, problem("SOURCE_UNTRUSTED", NEW)) } as PushFacts, code: "SOURCE_UNTRUSTED" },
  { name: "accepts an unchanged tip without verifying anything", facts: { kind: "unchanged", tip: NEW } as PushFacts, ok: true, commits: 0 },
  { name: "accepts a fast-forward whose commits verify, counting them", facts: { kind: "fast-forward", old: OLD, tip: NEW, verification: ok(NEW, 3) } as PushFacts, ok: true, commits: 3 },
  { name: "refuses a fast-forward with an unsigned commit, with SOURCE_UNSIGNED", facts: { kind: "fast-forward", old: OLD, tip: NEW, verification: bad(NEW, problem("SOURCE_UNSIGNED", E)) } as PushFacts, code: "SOURCE_UNSIGNED" },
  {
    name: "accepts a rewrite whose oldest dropped commit is unsigned and whose new commits verify",
    facts: rewrite({ oldVerification: bad(OLD, problem("SOURCE_UNSIGNED", D)), verification: ok(NEW, 1) }),
    ok: true,
    commits: 1,
    refusedAs: "SOURCE_UNSIGNED",
  },
  {
    name: "accepts a rewrite whose oldest dropped commit is judged by a trust file that trusts nobody",
    facts: rewrite({ oldVerification: bad(OLD, problem("SOURCE_TRUST_INVALID", D)), verification: ok(NEW, 1) }),
    ok: true,
    commits: 1,
    refusedAs: "SOURCE_TRUST_INVALID",
  },
  { name: "refuses a rewrite whose dropped commits all verify (a node may have applied them)", facts: rewrite({ oldVerification: ok(OLD, 2), verification: ok(NEW, 1) }), code: "SOURCE_ROLLBACK" },
  {
    name: "refuses a rewrite whose oldest dropped commit verifies though a later one does not",
    facts: rewrite({ oldVerification: bad(OLD, problem("SOURCE_UNSIGNED", E)), verification: ok(NEW, 1) }),
    code: "SOURCE_ROLLBACK",
  },
  {
    name: "refuses a rewrite when the old chain fails without naming a commit (an unreadable revocation list)",
    facts: rewrite({ oldVerification: bad(OLD, problem("SOURCE_TRUST_INVALID")), verification: ok(NEW, 1) }),
    code: "SOURCE_ROLLBACK",
  },
  { name: "refuses a rewrite that drops everything down to a root commit", facts: rewrite({ kept: undefined }), code: "SOURCE_ROLLBACK" },
  {
    name: "refuses a rewrite that drops only refused commits but brings an unsigned one, with SOURCE_UNSIGNED",
    facts: rewrite({ oldVerification: bad(OLD, problem("SOURCE_UNSIGNED", D)), verification: bad(NEW, problem("SOURCE_UNSIGNED", NEW)) }),
    code: "SOURCE_UNSIGNED",
  },
]) {
  test(c.name, () => {
    const v = judgePush(c.facts);
    if (c.code !== undefined) {
      assert.equal(v.ok, false, JSON.stringify(v));
      assert.equal(!v.ok && v.problem.code, c.code);
      return;
    }
    assert.ok(v.ok, JSON.stringify(v));
    assert.equal(v.commits, c.commits);
    assert.equal(v.dropped?.refusedAs.code, c.refusedAs);
    if (c.refusedAs !== undefined) assert.equal(v.dropped?.first, D);
  });
}

test("a refused rewrite names the old tip, the new tip and the oldest dropped commit", () => {
  const v = judgePush(rewrite({ oldVerification: ok(OLD, 2), verification: ok(NEW, 1) }));
  assert.ok(!v.ok);
  assert.deepEqual({ old: v.problem.data["old"], tip: v.problem.data["tip"], firstDropped: v.problem.data["firstDropped"], kept: v.problem.data["kept"] }, { old: OLD, tip: NEW, firstDropped: D, kept: K });
});
