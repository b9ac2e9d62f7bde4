import assert from "node:assert/strict";
import { test } from "node:test";
import { chooseRevision, pickCandidate, type ChoiceInput, type RemoteFact, type SourceProblem, type Verification } from "../../agent/src/source/choose.js";

const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);
const X = "e".repeat(40);

const down: SourceProblem = { code: "SOURCE_FETCH_FAILED", message: "unreachable", data: {}, retry: "transient" };
const timeout: SourceProblem = { code: "SOURCE_TIMEOUT", message: "timeout", data: {}, retry: "transient" };
const unsigned: SourceProblem = { code: "SOURCE_UNSIGNED", message: "unsigned", data: {}, retry: "stalled" };

const tip = (remote: string, t: string): RemoteFact => ({ remote, tip: t });
const failed = (remote: string, problem: SourceProblem): RemoteFact => ({ remote, problem });
// A linear history A <- B <- C; X is unrelated to all of them.
const LINEAR: ChoiceInput["ancestry"] = [[A, B], [A, C], [B, C]];
const ok = (revision: string): Verification => ({ revision, ok: true, commits: 1 });

interface Case {
  name: string;
  input: ChoiceInput;
  verification?: Verification;
  want: { kind: string; revision?: string | undefined; remote?: string; code?: string };
}

const cases: Case[] = [
  {
    name: "applies the newest tip when both remotes agree and it descends from the last applied revision",
    input: { remotes: [tip("origin", B), tip("mirror", B)], lastApplied: A, ancestry: LINEAR },
    verification: ok(B),
    want: { kind: "apply", revision: B, remote: "origin" },
  },
  {
    name: "takes the mirror's tip when the primary is down",
    input: { remotes: [failed("origin", down), tip("mirror", B)], lastApplied: A, ancestry: LINEAR },
    verification: ok(B),
    want: { kind: "apply", revision: B, remote: "mirror" },
  },
  {
    name: "takes the primary's newer tip when the mirror is stale",
    input: { remotes: [tip("origin", C), tip("mirror", B)], lastApplied: A, ancestry: LINEAR },
    verification: ok(C),
    want: { kind: "apply", revision: C, remote: "origin" },
  },
  {
    name: "takes the mirror's newer tip when the primary lags behind",
    input: { remotes: [tip("origin", B), tip("mirror", C)], lastApplied: A, ancestry: LINEAR },
    verification: ok(C),
    want: { kind: "apply", revision: C, remote: "mirror" },
  },
  {
    name: "reports unchanged when the newest tip is the last applied revision",
    input: { remotes: [tip("origin", B), tip("mirror", B)], lastApplied: B, ancestry: LINEAR },
    want: { kind: "unchanged", revision: B },
  },
  {
    name: "reports unchanged when the primary is at the last applied revision and the mirror is behind it",
    input: { remotes: [tip("origin", B), tip("mirror", A)], lastApplied: B, ancestry: LINEAR },
    want: { kind: "unchanged", revision: B },
  },
  {
    name: "holds when the remotes diverged, keeping the last applied revision",
    input: { remotes: [tip("origin", B), tip("mirror", X)], lastApplied: A, ancestry: [[A, B], [A, X]] },
    want: { kind: "hold", revision: A, code: "SOURCE_DIVERGED" },
  },
  {
    name: "holds when the remotes diverged even though one of them is at the last applied revision",
    input: { remotes: [tip("origin", A), tip("mirror", X)], lastApplied: A, ancestry: [] },
    want: { kind: "hold", revision: A, code: "SOURCE_DIVERGED" },
  },
  {
    name: "holds when the only tip is an ancestor of the last applied revision (rollback)",
    input: { remotes: [tip("origin", A)], lastApplied: B, ancestry: LINEAR },
    want: { kind: "hold", revision: B, code: "SOURCE_ROLLBACK" },
  },
  {
    name: "holds when history was rewritten so the tip does not descend from the last applied revision",
    input: { remotes: [tip("origin", X)], lastApplied: B, ancestry: [] },
    want: { kind: "hold", revision: B, code: "SOURCE_ROLLBACK" },
  },
  {
    name: "holds when every remote failed, keeping the last applied revision",
    input: { remotes: [failed("origin", down), failed("mirror", timeout)], lastApplied: A, ancestry: [] },
    want: { kind: "hold", revision: A, code: "SOURCE_FETCH_FAILED" },
  },
  {
    name: "holds with no revision when every remote failed on a first run",
    input: { remotes: [failed("origin", down)], lastApplied: undefined, ancestry: [] },
    want: { kind: "hold", revision: undefined, code: "SOURCE_FETCH_FAILED" },
  },
  {
    name: "holds when no remote is configured",
    input: { remotes: [], lastApplied: A, ancestry: [] },
    want: { kind: "hold", revision: A, code: "SOURCE_NO_REMOTE" },
  },
  {
    name: "applies the tip on a first run once it verifies",
    input: { remotes: [tip("origin", B)], lastApplied: undefined, ancestry: [] },
    verification: ok(B),
    want: { kind: "apply", revision: B, remote: "origin" },
  },
  {
    name: "holds with the verification's reason when the newest tip fails, even though an older tip would pass",
    input: { remotes: [tip("origin", C), tip("mirror", B)], lastApplied: A, ancestry: LINEAR },
    verification: { revision: C, ok: false, problem: unsigned },
    want: { kind: "hold", revision: A, code: "SOURCE_UNSIGNED" },
  },
  {
    name: "holds as an internal error when the verification is for another revision",
    input: { remotes: [tip("origin", C)], lastApplied: A, ancestry: LINEAR },
    verification: ok(B),
    want: { kind: "hold", revision: A, code: "INTERNAL" },
  },
  {
    name: "holds as an internal error when the candidate was not verified",
    input: { remotes: [tip("origin", C)], lastApplied: A, ancestry: LINEAR },
    want: { kind: "hold", revision: A, code: "INTERNAL" },
  },
];

for (const c of cases) {
  test(c.name, () => {
    const d = chooseRevision(c.input, c.verification);
    assert.equal(d.kind, c.want.kind);
    if ("revision" in c.want) assert.equal(d.revision, c.want.revision);
    if (c.want.remote !== undefined) assert.equal(d.kind === "apply" ? d.remote : undefined, c.want.remote);
    if (c.want.code !== undefined) assert.equal(d.kind === "hold" ? d.reason.code : undefined, c.want.code);
  });
}

test("asks to verify the newest tip before applying it", () => {
  assert.deepEqual(pickCandidate({ remotes: [tip("origin", B), tip("mirror", C)], lastApplied: A, ancestry: LINEAR }), { kind: "verify", revision: C, remote: "mirror" });
});

test("names every remote's error when all failed", () => {
  const d = pickCandidate({ remotes: [failed("origin", down), failed("mirror", timeout)], lastApplied: A, ancestry: [] });
  assert.equal(d.kind, "hold");
  assert.equal(d.kind === "hold" && d.reason.retry, "transient");
  assert.deepEqual(d.kind === "hold" && (d.reason.data["remotes"] as { code: string }[]).map((r) => r.code), ["SOURCE_FETCH_FAILED", "SOURCE_TIMEOUT"]);
});

test("says whether a refused tip is behind the last applied revision", () => {
  const d = pickCandidate({ remotes: [tip("origin", A)], lastApplied: B, ancestry: LINEAR });
  assert.equal(d.kind === "hold" && d.reason.data["behind"], true);
});
