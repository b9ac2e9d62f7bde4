/**
 * The status document: conditions (Ready derived, `since` carried over), the heartbeat fields,
 * stable rendering and parsing. Pure code: table-driven.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Diagnostic } from "../../agent/src/errors.js";
import {
  buildStatus,
  conditionForCode,
  deriveReady,
  findConditions,
  isHeartbeatOnly,
  parseStatus,
  reasonFor,
  renderStatus,
  settleConditions,
  summaryLine,
  type Condition,
  type Finding,
  type RunInput,
  type SourceInput,
  type StatusDocument,
  type StatusInputs,
} from "../../agent/src/status/document.js";

const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);
const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const MIN = 60_000;

const host = { architecture: "arm64", osVersion: "14.1-RELEASE-p5", pools: [{ name: "zroot", health: "ONLINE", freeBytes: 1_000_000 }] };
const base: StatusInputs = { node: "alpha", agentVersion: "0.1.0", services: [], host };

function source(over: Partial<SourceInput> = {}): SourceInput {
  return {
    decision: { kind: "unchanged", revision: A },
    lastApplied: A,
    remotes: [
      { name: "origin", standing: "current", tip: A },
      { name: "mirror", standing: "current", tip: A },
    ],
    ...over,
  };
}

function run(over: { actions?: RunInput["plan"]["actions"]; findings?: RunInput["plan"]["findings"]; blocked?: string[]; outcomes?: RunInput["result"]["outcomes"] } = {}): RunInput {
  const outcomes = over.outcomes ?? [];
  return {
    plan: { actions: over.actions ?? [], findings: over.findings ?? [], blocked: over.blocked ?? [] },
    result: { ok: outcomes.every((o) => o.status === "applied" || o.status === "unchanged"), outcomes },
  };
}

const diag = (code: Diagnostic["code"], message: string): Diagnostic => ({ code, severity: "error", message, where: { file: "services/mail.yaml", line: 3, column: 5 } });
const problem = (code: Diagnostic["code"], message = `${code} happened`) => ({ code, message });

function conditions(inputs: Partial<StatusInputs>, now = T0): Pick<Condition, "type" | "severity" | "reason">[] {
  return buildStatus(undefined, { ...base, ...inputs }, now).conditions.map((c) => ({ type: c.type, ...(c.severity === undefined ? {} : { severity: c.severity }), reason: c.reason }));
}

for (const c of [
  { name: "a node whose every step succeeded is Ready and nothing else", inputs: { source: source(), run: run() }, want: [{ type: "Ready", reason: "Converged" }] },
  {
    name: "one remote failing while another answers is a FetchFailed warning; Ready stays True",
    inputs: { source: source({ remotes: [{ name: "origin", standing: "failed", error: problem("SOURCE_TIMEOUT") }, { name: "mirror", standing: "current", tip: A }] }) },
    want: [{ type: "Ready", reason: "Converged" }, { type: "FetchFailed", severity: "Warning", reason: "SourceTimeout" }],
  },
  {
    name: "no remote answering is a FetchFailed error and Ready is False",
    inputs: {
      source: source({
        decision: { kind: "hold", revision: A, reason: problem("SOURCE_FETCH_FAILED") },
        remotes: [
          { name: "origin", standing: "failed", error: problem("SOURCE_FETCH_FAILED") },
          { name: "mirror", standing: "failed", error: problem("SOURCE_NOT_FOUND") },
        ],
      }),
    },
    want: [{ type: "Ready", reason: "FetchFailed" }, { type: "FetchFailed", severity: "Error", reason: "SourceFetchFailed" }],
  },
  {
    name: "a hold on an unsigned tip is a VerificationFailed error",
    inputs: { source: source({ decision: { kind: "hold", revision: A, reason: problem("SOURCE_UNSIGNED") }, remotes: [{ name: "origin", standing: "refused", tip: B, refused: problem("SOURCE_UNSIGNED") }] }) },
    want: [{ type: "Ready", reason: "VerificationFailed" }, { type: "VerificationFailed", severity: "Error", reason: "SourceUnsigned" }],
  },
  {
    name: "a mirror refused while origin is applied is a VerificationFailed warning",
    inputs: {
      source: source({
        decision: { kind: "apply", revision: B },
        remotes: [
          { name: "origin", standing: "verified", tip: B },
          { name: "mirror", standing: "refused", tip: C, refused: problem("SOURCE_ROLLBACK") },
        ],
      }),
      recorded: B,
    },
    want: [{ type: "Ready", reason: "Converged" }, { type: "VerificationFailed", severity: "Warning", reason: "SourceRollback" }],
  },
  {
    name: "a mirror behind the applied revision is a SourceStale warning",
    inputs: { source: source({ remotes: [{ name: "origin", standing: "current", tip: A }, { name: "mirror", standing: "behind", tip: B }] }) },
    want: [{ type: "Ready", reason: "Converged" }, { type: "SourceStale", severity: "Warning", reason: "RemoteBehind" }],
  },
  {
    name: "a newest verified commit older than the allowed age is a SourceStale error",
    inputs: { source: source(), newestCommit: { revision: A, committedAt: T0 / 1000 - 8 * 86_400 }, maxSourceAgeSeconds: 7 * 86_400 },
    want: [{ type: "Ready", reason: "SourceStale" }, { type: "SourceStale", severity: "Error", reason: "NewestCommitTooOld" }],
  },
  {
    name: "a young newest commit is not stale",
    inputs: { source: source(), newestCommit: { revision: A, committedAt: T0 / 1000 - 86_400 }, maxSourceAgeSeconds: 7 * 86_400 },
    want: [{ type: "Ready", reason: "Converged" }],
  },
  {
    name: "an invalid manifest is ManifestInvalid, reason the first problem's code",
    inputs: { source: source(), target: { revision: A, desired: undefined, diagnostics: [diag("MANIFEST_SCHEMA", "/jail/ip: must match format ipv4")] } },
    want: [{ type: "Ready", reason: "ManifestInvalid" }, { type: "ManifestInvalid", severity: "Error", reason: "ManifestSchema" }],
  },
  {
    name: "a rejected new revision is ManifestInvalid even though the old one converges",
    inputs: { source: source({ decision: { kind: "apply", revision: B } }), target: { revision: A, desired: {}, diagnostics: [], rejected: { revision: B, diagnostics: [diag("MANIFEST_REFERENCE", "no such node")] } }, run: run() },
    want: [{ type: "Ready", reason: "ManifestInvalid" }, { type: "ManifestInvalid", severity: "Error", reason: "ManifestReference" }],
  },
  {
    name: "a failed action is ApplyFailed",
    inputs: {
      source: source(),
      run: run({
        actions: [
          { id: "zfs.create:tank/a", resource: "zfs:tank/a", cause: "missing" },
          { id: "zfs.set:tank/a:quota", resource: "zfs:tank/a", cause: "missing" },
        ],
        outcomes: [
          { action: "zfs.create:tank/a", status: "failed", code: "EXEC_FAILED", message: "zfs create failed" },
          { action: "zfs.set:tank/a:quota", status: "skipped", blockedBy: "zfs.create:tank/a" },
        ],
      }),
    },
    want: [{ type: "Ready", reason: "ApplyFailed" }, { type: "ApplyFailed", severity: "Error", reason: "ActionFailed" }],
  },
  {
    name: "drift put back is a Drifted warning; drift left in place says so",
    inputs: {
      source: source(),
      run: run({
        actions: [{ id: "zfs.set:tank/a:quota", resource: "zfs:tank/a", cause: "drift" }],
        findings: [{ resource: "zfs:tank/b", kind: "drift-reported", message: "quota changed by hand", blocking: false }],
        outcomes: [{ action: "zfs.set:tank/a:quota", status: "applied" }],
      }),
    },
    want: [{ type: "Ready", reason: "Converged" }, { type: "Drifted", severity: "Warning", reason: "DriftRemains" }],
  },
  {
    name: "drift that was all corrected is DriftCorrected",
    inputs: { source: source(), run: run({ actions: [{ id: "zfs.set:tank/a:quota", resource: "zfs:tank/a", cause: "drift" }], outcomes: [{ action: "zfs.set:tank/a:quota", status: "applied" }] }) },
    want: [{ type: "Ready", reason: "Converged" }, { type: "Drifted", severity: "Warning", reason: "DriftCorrected" }],
  },
  {
    name: "a resource blocked by a finding is ApplyFailed",
    inputs: { source: source(), run: run({ blocked: ["zfs:tank/x"] }) },
    want: [{ type: "Ready", reason: "ApplyFailed" }, { type: "ApplyFailed", severity: "Error", reason: "ResourceBlocked" }],
  },
  {
    name: "a reconcile that threw APPLY_LOCKED is ApplyFailed with that reason",
    inputs: { failure: problem("APPLY_LOCKED") },
    want: [{ type: "Ready", reason: "ApplyFailed" }, { type: "ApplyFailed", severity: "Error", reason: "ApplyLocked" }],
  },
  {
    name: "a first run that could reach no remote (thrown hold) is FetchFailed",
    inputs: { failure: problem("SOURCE_TIMEOUT") },
    want: [{ type: "Ready", reason: "FetchFailed" }, { type: "FetchFailed", severity: "Error", reason: "SourceTimeout" }],
  },
  {
    name: "conditions are listed in the fixed order and Ready names the first error",
    inputs: {
      source: source({ remotes: [{ name: "origin", standing: "current", tip: A }, { name: "mirror", standing: "behind", tip: B }] }),
      target: { revision: A, desired: {}, diagnostics: [] },
      run: run({ outcomes: [{ action: "x", status: "failed", code: "EXEC_FAILED", message: "no" }] }),
      newestCommit: { revision: A, committedAt: 0 },
      maxSourceAgeSeconds: 60,
    },
    want: [
      { type: "Ready", reason: "ApplyFailed" },
      { type: "ApplyFailed", severity: "Error", reason: "ActionFailed" },
      { type: "SourceStale", severity: "Error", reason: "NewestCommitTooOld" },
    ],
  },
] as const) {
  test(c.name, () => assert.deepEqual(conditions(c.inputs as Partial<StatusInputs>), c.want));
}

test("Ready is derived from the others alone: False on any Error, True with warnings named", () => {
  const w = (type: Finding["type"]): Finding => ({ type, severity: "Warning", reason: "X", message: `${type} w` });
  const e = (type: Finding["type"]): Finding => ({ type, severity: "Error", reason: "X", message: `${type} e` });
  for (const c of [
    { negatives: [], status: "True", reason: "Converged", message: "every step succeeded" },
    { negatives: [w("Drifted"), w("FetchFailed")], status: "True", reason: "Converged", message: "every step succeeded; warnings: FetchFailed, Drifted" },
    { negatives: [w("FetchFailed"), e("SourceStale"), e("ManifestInvalid")], status: "False", reason: "ManifestInvalid", message: "ManifestInvalid e" },
  ]) {
    assert.deepEqual(deriveReady(c.negatives), { status: c.status, reason: c.reason, message: c.message });
  }
});

test("since is carried over while a condition holds with the same status, and reset when it changes", () => {
  const f = (type: Finding["type"], severity: Finding["severity"] = "Error"): Finding => ({ type, severity, reason: "R", message: "m" });
  const t1 = "2025-01-01T00:00:00Z";
  const t2 = "2025-01-02T00:00:00Z";
  const first = settleConditions([f("ApplyFailed")], undefined, t1);
  assert.deepEqual(first.map((c) => [c.type, c.status, c.since]), [["Ready", "False", t1], ["ApplyFailed", "True", t1]]);
  // Still failing a day later, and a warning appears: ApplyFailed and Ready keep their since.
  const second = settleConditions([f("ApplyFailed"), f("Drifted", "Warning")], first, t2);
  assert.deepEqual(second.map((c) => [c.type, c.status, c.since]), [["Ready", "False", t1], ["Drifted", "True", t2], ["ApplyFailed", "True", t1]]);
  // Fixed: ApplyFailed disappears, Ready turns True now.
  const third = settleConditions([f("Drifted", "Warning")], second, "2025-01-03T00:00:00Z");
  assert.deepEqual(third.map((c) => [c.type, c.status, c.since]), [["Ready", "True", "2025-01-03T00:00:00Z"], ["Drifted", "True", t2]]);
  // A condition that went away and came back starts again.
  const fourth = settleConditions([f("ApplyFailed")], settleConditions([], third, "2025-01-04T00:00:00Z"), "2025-01-05T00:00:00Z");
  assert.equal(fourth.find((c) => c.type === "ApplyFailed")?.since, "2025-01-05T00:00:00Z");
});

test("buildStatus carries since and changedAt from the previous document across runs", () => {
  const failing: Partial<StatusInputs> = { source: source(), run: run({ outcomes: [{ action: "x", status: "failed", code: "EXEC_FAILED", message: "no" }] }) };
  const d1 = buildStatus(undefined, { ...base, ...failing }, T0);
  const d2 = buildStatus(d1, { ...base, ...failing }, T0 + 10 * MIN);
  assert.equal(d2.changedAt, d1.changedAt);
  assert.deepEqual(d2.conditions.map((c) => c.since), d1.conditions.map((c) => c.since));
  assert.notEqual(d2.heartbeat, d1.heartbeat);
  const d3 = buildStatus(d2, { ...base, source: source(), run: run() }, T0 + 20 * MIN);
  assert.equal(d3.changedAt, "2025-01-01T12:20:00Z");
  assert.equal(d3.conditions[0]?.since, "2025-01-01T12:20:00Z");
});

test("an unchanged node renders byte-identical text apart from the heartbeat fields", () => {
  const inputs = (freeBytes: number): StatusInputs => ({
    ...base,
    source: source(),
    run: run(),
    newestCommit: { revision: A, committedAt: T0 / 1000 - 3600 },
    services: [{ jail: "mail", service: "postfix", running: true }, { jail: "dav", service: "radicale", running: true }],
    host: { ...host, pools: [{ name: "zroot", health: "ONLINE", freeBytes }] },
  });
  const d1 = buildStatus(undefined, inputs(1000), T0);
  const d2 = buildStatus(d1, inputs(2000), T0 + 5 * MIN);
  assert.ok(isHeartbeatOnly(d1, d2));
  const lines1 = renderStatus(d1).split("\n");
  const lines2 = renderStatus(d2).split("\n");
  assert.equal(lines1.length, lines2.length);
  const differing = lines1.flatMap((l, i) => (l === lines2[i] ? [] : [l.trim().split(":")[0]]));
  assert.deepEqual(differing, ["heartbeat", "lastAnswerAt", "ageSeconds", "freeBytes"]);
  // The same inputs at the same instant render the same bytes, whatever the input order.
  const shuffled = { ...inputs(1000), services: [...inputs(1000).services].reverse() };
  assert.equal(renderStatus(buildStatus(undefined, shuffled, T0)), renderStatus(d1));
});

test("a changed service, outcome or condition is not a heartbeat", () => {
  const d1 = buildStatus(undefined, { ...base, source: source(), services: [{ jail: "mail", service: "postfix", running: true }] }, T0);
  const d2 = buildStatus(d1, { ...base, source: source(), services: [{ jail: "mail", service: "postfix", running: false }] }, T0 + MIN);
  assert.equal(isHeartbeatOnly(d1, d2), false);
  assert.equal(d2.changedAt, "2025-01-01T12:01:00Z");
});

test("renderStatus and parseStatus round-trip; foreign or broken text parses to undefined", () => {
  const d = buildStatus(undefined, {
    ...base,
    source: source({ remotes: [{ name: "origin", standing: "failed", error: problem("SOURCE_AUTH", "ssh to origin was refused:\nkey or host key") }, { name: "mirror", standing: "current", tip: A }] }),
    run: run({ actions: [{ id: "zfs.create:tank/a", resource: "zfs:tank/a", cause: "missing" }], outcomes: [{ action: "zfs.create:tank/a", status: "applied" }] }),
  }, T0);
  const text = renderStatus(d);
  assert.ok(text.startsWith("# Written by the Steward agent"));
  assert.deepEqual(parseStatus(text), JSON.parse(JSON.stringify(d)) as StatusDocument);
  assert.equal(d.conditions.find((c) => c.type === "FetchFailed")?.message, "origin: ssh to origin was refused: key or host key");
  for (const bad of ["", "kind: NodeStatus\n", "- 1\n", "{", `${text.replace("version: 1", "version: 2")}`, text.replace(/heartbeat: .*/, "heartbeat: 3")]) assert.equal(parseStatus(bad), undefined, bad.slice(0, 40));
});

test("per-resource outcomes are each resource's last action, sorted, with blocked resources", () => {
  const d = buildStatus(undefined, {
    ...base,
    run: run({
      actions: [
        { id: "zfs.create:tank/b", resource: "zfs:tank/b", cause: "missing" },
        { id: "zfs.create:tank/a", resource: "zfs:tank/a", cause: "missing" },
        { id: "zfs.set:tank/a:quota", resource: "zfs:tank/a", cause: "missing" },
      ],
      blocked: ["zfs:tank/c"],
      outcomes: [
        { action: "zfs.create:tank/b", status: "applied" },
        { action: "zfs.create:tank/a", status: "failed", code: "EXEC_FAILED", message: "x" },
        { action: "zfs.set:tank/a:quota", status: "skipped", blockedBy: "zfs.create:tank/a" },
      ],
    }),
  }, T0);
  assert.deepEqual(d.resources, [
    { resource: "zfs:tank/a", action: "zfs.set:tank/a:quota", outcome: "skipped", blockedBy: "zfs.create:tank/a" },
    { resource: "zfs:tank/b", action: "zfs.create:tank/b", outcome: "applied" },
    { resource: "zfs:tank/c", action: null, outcome: "blocked" },
  ]);
});

test("revisions: attempted is the rejected or run revision, applied the record; both carried when nothing ran", () => {
  const d1 = buildStatus(undefined, { ...base, source: source({ decision: { kind: "apply", revision: B } }), target: { revision: A, desired: {}, diagnostics: [], rejected: { revision: B, diagnostics: [] } } }, T0);
  assert.deepEqual([d1.lastAttemptedRevision, d1.lastAppliedRevision], [B, A]);
  const d2 = buildStatus(d1, { ...base, failure: problem("APPLY_LOCKED") }, T0 + MIN);
  assert.deepEqual([d2.lastAttemptedRevision, d2.lastAppliedRevision], [B, A]);
  const d3 = buildStatus(d2, { ...base, source: source({ decision: { kind: "apply", revision: C } }), target: { revision: C, desired: {}, diagnostics: [] }, run: run(), recorded: C }, T0 + 2 * MIN);
  assert.deepEqual([d3.lastAttemptedRevision, d3.lastAppliedRevision], [C, C]);
  assert.equal(summaryLine(d3), `status alpha: Ready=True at ${C.slice(0, 12)}`);
});

test("source facts: which remote answered, when one last did, how old the newest commit is", () => {
  const d1 = buildStatus(undefined, { ...base, source: source({ remotes: [{ name: "origin", standing: "failed", error: problem("SOURCE_TIMEOUT") }, { name: "mirror", standing: "current", tip: A }] }), newestCommit: { revision: A, committedAt: T0 / 1000 - 90 } }, T0);
  assert.deepEqual(d1.source, {
    answered: "mirror",
    lastAnswerAt: "2025-01-01T12:00:00Z",
    newestCommit: { revision: A, committedAt: "2025-01-01T11:58:30Z", ageSeconds: 90 },
    remotes: [{ name: "origin", standing: "failed", code: "SOURCE_TIMEOUT" }, { name: "mirror", standing: "current", tip: A }],
  });
  const none = source({ decision: { kind: "hold", revision: A, reason: problem("SOURCE_TIMEOUT") }, remotes: [{ name: "origin", standing: "failed", error: problem("SOURCE_TIMEOUT") }, { name: "mirror", standing: "failed", error: problem("SOURCE_TIMEOUT") }] });
  const d2 = buildStatus(d1, { ...base, source: none, newestCommit: { revision: A, committedAt: T0 / 1000 - 90 } }, T0 + 10 * MIN);
  assert.equal(d2.source.answered, null);
  assert.equal(d2.source.lastAnswerAt, "2025-01-01T12:00:00Z");
  assert.equal(d2.source.newestCommit?.ageSeconds, 690);
});

test("error codes map to conditions and CamelCase reasons", () => {
  for (const [code, type] of [["SOURCE_AUTH", "FetchFailed"], ["SOURCE_LOCKED", "FetchFailed"], ["SOURCE_DIVERGED", "VerificationFailed"], ["MANIFEST_YAML", "ManifestInvalid"], ["OBSERVE_FAILED", "ApplyFailed"], ["INTERNAL", "ApplyFailed"]] as const) {
    assert.equal(conditionForCode(code), type, code);
  }
  assert.equal(reasonFor("SOURCE_BACKDATED_COMMIT"), "SourceBackdatedCommit");
  assert.equal(findConditions({ ...base }, T0).length, 0);
});
