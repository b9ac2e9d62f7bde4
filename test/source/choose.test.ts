import assert from "node:assert/strict";
import { test } from "node:test";
import { chooseRevision, judgeRemotes, tipsToVerify, type ChoiceInput, type RemoteFact, type SourceProblem, type Verification } from "../../agent/src/source/choose.js";

const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);
const X = "e".repeat(40);
const Y = "f".repeat(40);

const down: SourceProblem = { code: "SOURCE_FETCH_FAILED", message: "unreachable", data: {}, retry: "transient" };
const timeout: SourceProblem = { code: "SOURCE_TIMEOUT", message: "timeout", data: {}, retry: "transient" };
const auth: SourceProblem = { code: "SOURCE_AUTH", message: "ssh refused", data: {}, hint: "check key:", retry: "stalled" };
const unsigned: SourceProblem = { code: "SOURCE_UNSIGNED", message: "unsigned", data: {}, retry: "stalled" };
const untrusted: SourceProblem = { code: "SOURCE_UNTRUSTED", message: "untrusted", data: {}, retry: "stalled" };

const tip = (remote: string, t: string): RemoteFact => ({ remote, tip: t });
const failed = (remote: string, problem: SourceProblem): RemoteFact => ({ remote, problem });
// A linear history A <- B <- C; X and Y are each unrelated to everything else.
const LINEAR: ChoiceInput["ancestry"] = [[A, B], [A, C], [B, C]];
const ok = (revision: string): Verification => ({ revision, ok: true, commits: 1 });
const bad = (revision: string, problem: SourceProblem): Verification => ({ revision, ok: false, problem });

interface Case {
  name: string;
  input: ChoiceInput;
  verified?: Verification[];
  want: { kind: string; revision?: string | undefined; remote?: string; code?: string; ignored?: string[]; names?: string[] };
}

const cases: Case[] = [
  {
    name: "applies the newest tip when both remotes agree and it descends from the last applied revision",
    input: { remotes: [tip("origin", B), tip("mirror", B)], lastApplied: A, ancestry: LINEAR },
    verified: [ok(B)],
    want: { kind: "apply", revision: B, remote: "origin" },
  },
  {
    name: "takes the mirror's tip when the primary is down",
    input: { remotes: [failed("origin", down), tip("mirror", B)], lastApplied: A, ancestry: LINEAR },
    verified: [ok(B)],
    want: { kind: "apply", revision: B, remote: "mirror" },
  },
  {
    name: "takes the primary's newer tip when the mirror is stale",
    input: { remotes: [tip("origin", C), tip("mirror", B)], lastApplied: A, ancestry: LINEAR },
    verified: [ok(C), ok(B)],
    want: { kind: "apply", revision: C, remote: "origin" },
  },
  {
    name: "takes the mirror's newer tip when the primary lags behind",
    input: { remotes: [tip("origin", B), tip("mirror", C)], lastApplied: A, ancestry: LINEAR },
    verified: [ok(C), ok(B)],
    want: { kind: "apply", revision: C, remote: "mirror" },
  },
  {
    name: "applies the primary's signed descendant when the mirror's tip on top of it is unsigned, and names the mirror",
    input: { remotes: [tip("origin", B), tip("mirror", C)], lastApplied: A, ancestry: LINEAR },
    verified: [bad(C, unsigned), ok(B)],
    want: { kind: "apply", revision: B, remote: "origin", ignored: ["mirror"] },
  },
  {
    name: "applies the mirror's signed descendant when the primary's tip is signed by an untrusted key",
    input: { remotes: [tip("origin", C), tip("mirror", B)], lastApplied: A, ancestry: LINEAR },
    verified: [bad(C, untrusted), ok(B)],
    want: { kind: "apply", revision: B, remote: "mirror", ignored: ["origin"] },
  },
  {
    name: "a mirror serving an unrelated unsigned commit does not stop the primary's update",
    input: { remotes: [tip("origin", B), tip("mirror", X)], lastApplied: A, ancestry: [[A, B]] },
    verified: [ok(B)],
    want: { kind: "apply", revision: B, remote: "origin", ignored: ["mirror"] },
  },
  {
    name: "on a first run, a mirror's unrelated unsigned tip does not stop the primary's signed one",
    input: { remotes: [tip("origin", B), tip("mirror", X)], lastApplied: undefined, ancestry: [] },
    verified: [ok(B), bad(X, unsigned)],
    want: { kind: "apply", revision: B, remote: "origin", ignored: ["mirror"] },
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
    name: "reports unchanged when the primary is current and the mirror is down",
    input: { remotes: [tip("origin", B), failed("mirror", down)], lastApplied: B, ancestry: LINEAR },
    want: { kind: "unchanged", revision: B },
  },
  {
    name: "holds naming both remotes when two verified tips diverge, keeping the last applied revision",
    input: { remotes: [tip("origin", B), tip("mirror", X)], lastApplied: A, ancestry: [[A, B], [A, X]] },
    verified: [ok(B), ok(X)],
    want: { kind: "hold", revision: A, code: "SOURCE_DIVERGED", names: ["origin", "mirror"] },
  },
  {
    name: "holds naming the mirror when it serves rewritten history and the primary is current",
    input: { remotes: [tip("origin", A), tip("mirror", X)], lastApplied: A, ancestry: [] },
    want: { kind: "hold", revision: A, code: "SOURCE_ROLLBACK", ignored: ["mirror"], names: ["mirror"] },
  },
  {
    name: "holds naming the mirror when it serves an unsigned commit and the primary is current",
    input: { remotes: [tip("origin", A), tip("mirror", B)], lastApplied: A, ancestry: LINEAR },
    verified: [bad(B, unsigned)],
    want: { kind: "hold", revision: A, code: "SOURCE_UNSIGNED", ignored: ["mirror"], names: ["mirror"] },
  },
  {
    name: "holds when every remote is behind the last applied revision (rollback)",
    input: { remotes: [tip("origin", A)], lastApplied: B, ancestry: LINEAR },
    want: { kind: "hold", revision: B, code: "SOURCE_ROLLBACK" },
  },
  {
    name: "holds when history was rewritten so the only tip does not descend from the last applied revision",
    input: { remotes: [tip("origin", X)], lastApplied: B, ancestry: [] },
    want: { kind: "hold", revision: B, code: "SOURCE_ROLLBACK", ignored: ["origin"], names: ["origin"] },
  },
  {
    name: "a mirror behind the last applied revision does not hide the primary's failure",
    input: { remotes: [failed("origin", auth), tip("mirror", A)], lastApplied: B, ancestry: LINEAR },
    want: { kind: "hold", revision: B, code: "SOURCE_FETCH_FAILED", names: ["origin: ssh refused", "mirror: behind"] },
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
    verified: [ok(B)],
    want: { kind: "apply", revision: B, remote: "origin" },
  },
  {
    name: "holds with the first remote's problem when every tip ahead fails verification",
    input: { remotes: [tip("origin", C), tip("mirror", B)], lastApplied: A, ancestry: LINEAR },
    verified: [bad(C, unsigned), bad(B, untrusted)],
    want: { kind: "hold", revision: A, code: "SOURCE_UNSIGNED", ignored: ["origin", "mirror"], names: ["origin"] },
  },
  {
    name: "holds as an internal error when a tip ahead was not verified",
    input: { remotes: [tip("origin", C)], lastApplied: A, ancestry: LINEAR },
    want: { kind: "hold", revision: A, code: "INTERNAL", ignored: ["origin"] },
  },
];

for (const c of cases) {
  test(c.name, () => {
    const d = chooseRevision(c.input, new Map((c.verified ?? []).map((v) => [v.revision, v])));
    assert.equal(d.kind, c.want.kind, JSON.stringify(d));
    if ("revision" in c.want) assert.equal(d.revision, c.want.revision);
    if (c.want.remote !== undefined) assert.equal(d.kind === "apply" ? d.remote : undefined, c.want.remote);
    if (c.want.code !== undefined) assert.equal(d.kind === "hold" ? d.reason.code : undefined, c.want.code);
    assert.deepEqual((d.ignored ?? []).map((i) => i.remote), c.want.ignored ?? []);
    for (const name of c.want.names ?? []) assert.match(d.kind === "hold" ? d.reason.message : "", new RegExp(name), "the hold message names the remote");
  });
}

test("asks to verify every tip ahead of the last applied revision, newest first, and nothing else", () => {
  assert.deepEqual(tipsToVerify({ remotes: [tip("origin", B), tip("mirror", C), tip("third", A), tip("fourth", X)], lastApplied: A, ancestry: LINEAR }), [C, B]);
  assert.deepEqual(tipsToVerify({ remotes: [tip("origin", X), tip("mirror", Y)], lastApplied: undefined, ancestry: [] }).sort(), [X, Y]);
});

test("judges each remote on its own: failed, current, behind, verified, refused", () => {
  const standings = judgeRemotes(
    { remotes: [failed("down", down), tip("current", B), tip("behind", A), tip("ahead", C), tip("rewritten", X)], lastApplied: B, ancestry: LINEAR },
    new Map([[C, ok(C)]]),
  );
  assert.deepEqual(standings.map((s) => [s.remote, s.standing.kind]), [["down", "failed"], ["current", "current"], ["behind", "behind"], ["ahead", "verified"], ["rewritten", "refused"]]);
});

test("names every remote's error when all failed", () => {
  const d = chooseRevision({ remotes: [failed("origin", down), failed("mirror", timeout)], lastApplied: A, ancestry: [] }, new Map());
  assert.equal(d.kind, "hold");
  assert.equal(d.kind === "hold" && d.reason.retry, "transient");
  assert.deepEqual(d.kind === "hold" && (d.reason.data["remotes"] as { code: string }[]).map((r) => r.code), ["SOURCE_FETCH_FAILED", "SOURCE_TIMEOUT"]);
});

test("a refused remote's problem names it in its data", () => {
  const d = chooseRevision({ remotes: [tip("origin", A), tip("mirror", B)], lastApplied: A, ancestry: LINEAR }, new Map([[B, bad(B, unsigned)]]));
  assert.equal(d.kind === "hold" && d.reason.data["remote"], "mirror");
});
