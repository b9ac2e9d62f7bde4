/**
 * The squash rule: when a report becomes a new commit, replaces the tip, or is not written.
 * Pure code: table-driven.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { buildStatus, type StatusDocument, type StatusInputs } from "../../agent/src/status/document.js";
import { commitMessage, decideWrite, reportKindOf, type TipFacts } from "../../agent/src/status/squash.js";

const T0 = Date.UTC(2025, 0, 1);
const MIN = 60_000;
const P = "p".repeat(40);
const TIP = "t".repeat(40);
const inputs = (running: boolean): StatusInputs => ({ node: "alpha", agentVersion: "0.1.0", services: [{ jail: "mail", service: "postfix", running }], host: { architecture: "amd64", osVersion: "14.1", pools: [] } });
const first = buildStatus(undefined, inputs(true), T0);
/** The next report after `first`: since and changedAt carried over as buildStatus does. */
const doc = (running: boolean, at: number): StatusDocument => buildStatus(first, inputs(running), at);
const tip = (over: Partial<TipFacts> = {}): TipFacts => ({ oid: TIP, parents: [P], document: first, kind: "heartbeat", delivered: false, ...over });

for (const c of [
  { name: "the first report is a root commit", tip: undefined, next: first, want: { action: "append", kind: "change", parents: [] } },
  { name: "a change is a new commit on the tip, delivered or not", tip: tip(), next: doc(false, T0 + MIN), want: { action: "append", kind: "change", parents: [TIP] } },
  { name: "a heartbeat before the interval writes nothing", tip: tip({ kind: "change", delivered: true }), next: doc(true, T0 + 5 * MIN), want: { action: "skip", kind: "heartbeat" } },
  { name: "an undelivered heartbeat before the interval is not replaced either", tip: tip(), next: doc(true, T0 + 5 * MIN), want: { action: "skip", kind: "heartbeat" } },
  { name: "a due heartbeat replaces an undelivered heartbeat tip", tip: tip(), next: doc(true, T0 + 15 * MIN), want: { action: "replace", kind: "heartbeat", parents: [P] } },
  { name: "a due heartbeat never replaces a delivered one", tip: tip({ delivered: true }), next: doc(true, T0 + 15 * MIN), want: { action: "append", kind: "heartbeat", parents: [TIP] } },
  { name: "a due heartbeat never replaces a change", tip: tip({ kind: "change" }), next: doc(true, T0 + 15 * MIN), want: { action: "append", kind: "heartbeat", parents: [TIP] } },
  { name: "a foreign tip is built on as a change", tip: tip({ kind: undefined, document: undefined }), next: doc(true, T0 + MIN), want: { action: "append", kind: "change", parents: [TIP] } },
] as const) {
  test(c.name, () => assert.deepEqual(decideWrite(c.tip, c.next, Date.parse(c.next.heartbeat), 15 * MIN), c.want));
}

const OBS = '{"kind": "NodeObserved"}\n';
for (const c of [
  { name: "the same observed state does not make a heartbeat a change", tip: tip({ kind: "change", delivered: true, observed: OBS }), observed: OBS, want: { action: "skip", kind: "heartbeat" } },
  { name: "another observed state makes a change, though the document is a heartbeat", tip: tip({ kind: "change", delivered: true, observed: OBS }), observed: `${OBS} `, want: { action: "append", kind: "change", parents: [TIP] } },
  { name: "an observed state where the tip had none is a change", tip: tip({ kind: "change", delivered: true }), observed: OBS, want: { action: "append", kind: "change", parents: [TIP] } },
  { name: "no observed state where the tip had one is a change", tip: tip({ kind: "change", delivered: true, observed: OBS }), observed: undefined, want: { action: "append", kind: "change", parents: [TIP] } },
] as const) {
  test(c.name, () => assert.deepEqual(decideWrite(c.tip, doc(true, T0 + 5 * MIN), T0 + 5 * MIN, 15 * MIN, c.observed), c.want));
}

test("the trailer names the kind of report and is read back; other messages have none", () => {
  assert.equal(reportKindOf(commitMessage("status alpha: Ready=True at abc", "heartbeat")), "heartbeat");
  assert.equal(reportKindOf(commitMessage("status alpha: Ready=True at abc", "change")), "change");
  assert.equal(reportKindOf("admin note\n\nSteward-Report: maybe\n"), undefined);
});
