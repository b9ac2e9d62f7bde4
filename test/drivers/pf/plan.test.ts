/**
 * The pf driver's pure parts: what pfctl's output says (the main ruleset's hooks, lo0 skipped,
 * read-back against -nv), what the plan decides for each state of the anchor, and the
 * commit-confirm decision.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { decideConfirm, PROBE_INTERVAL_MS } from "../../../agent/src/drivers/pf/confirm.js";
import { compareReadback, parseHooks, parseLoopbackSkipped, readbackHash, splitPrinted } from "../../../agent/src/drivers/pf/parse.js";
import { planPf } from "../../../agent/src/drivers/pf/plan.js";
import type { PfDesired, PfObserved } from "../../../agent/src/drivers/pf/types.js";

const desired = (over: Partial<PfDesired> = {}): PfDesired => ({
  anchor: "steward",
  text: "x\n",
  content: { sha256: "a".repeat(64), bytes: 2 },
  counts: { jails: 2, nat: 1, rdr: 1, filter: 6 },
  drift: "correct",
  ...over,
});
const HOOKED = { nat: true, rdr: true, filter: true, quickBefore: [] };
const observed = (over: Partial<PfObserved> = {}): PfObserved => ({
  dir: "/state/pf",
  looked: true,
  running: true,
  hooks: HOOKED,
  loopbackSkipped: false,
  readback: { sha256: "r".repeat(64), empty: false },
  previousFile: true,
  applied: { version: 1, anchorSha256: "a".repeat(64), readbackSha256: "r".repeat(64) },
  ...over,
});

test("parseHooks finds the anchor calls and the quick pass rules before the filter anchor", () => {
  const rules = ["block drop log all", "pass in quick on em0 inet proto tcp from <homelan> to (em0) port = 2222 flags S/SA keep state", "pass quick on lo0 all flags S/SA keep state", 'anchor "steward" all', "pass out quick all flags S/SA keep state"].join("\n");
  assert.deepEqual(parseHooks(rules, 'nat-anchor "steward" all\nrdr-anchor "steward" all\n', "steward"), {
    nat: true,
    rdr: true,
    filter: true,
    quickBefore: ["pass quick on lo0 all flags S/SA keep state"],
  });
  assert.deepEqual(parseHooks('anchor "steward/*" all\n', 'nat-anchor "stewardx" all\n', "steward"), { nat: false, rdr: false, filter: false, quickBefore: [] });
});

test("parseLoopbackSkipped reads the skip flag of lo0", () => {
  assert.equal(parseLoopbackSkipped("lo0 (skip)\n"), true);
  assert.equal(parseLoopbackSkipped("lo0\n"), false);
});

test("compareReadback: equal when -sn/-sr/-sT show what -nv printed, the first difference otherwise", () => {
  const nv = "table <steward_jails> const { 10.17.0.22 }\nnat on em0 inet from 10.17.0.22 to any -> (em0) round-robin\nblock drop quick inet from <steward_jails> to any\n";
  const p = splitPrinted(nv);
  assert.deepEqual(p, { tables: ["steward_jails"], translation: ["nat on em0 inet from 10.17.0.22 to any -> (em0) round-robin"], filter: ["block drop quick inet from <steward_jails> to any"] });
  assert.deepEqual(compareReadback(p, `${p.translation[0]}\n`, `${p.filter[0]}\n`, "   steward_jails\n"), []);
  const d = compareReadback(p, "", `${p.filter[0]}\n`, "steward_jails\n");
  assert.equal(d.length, 1);
  assert.match(d[0] ?? "", /^translation rules: 0 read back, 1 loaded/);
  assert.notEqual(readbackHash("", "a\n", ""), readbackHash("", "b\n", ""));
  assert.equal(readbackHash("", "a\n", " t\n"), readbackHash("", "a", "t"));
});

for (const c of [
  { name: "in sync: nothing to do", obs: observed(), want: [] as string[] },
  { name: "never loaded, empty anchor: create", obs: observed({ applied: { version: 1 }, readback: { sha256: "e".repeat(64), empty: true }, previousFile: false }), want: ["create missing"] },
  { name: "never recorded, anchor holds rules: change, unrecorded", obs: observed({ applied: { version: 1 } }), want: ["change unrecorded"] },
  { name: "manifest changed", obs: observed({ applied: { version: 1, anchorSha256: "b".repeat(64), readbackSha256: "r".repeat(64) } }), want: ["change manifest-changed"] },
  { name: "read-back changed on the host: drift, corrected", obs: observed({ readback: { sha256: "x".repeat(64), empty: true } }), want: ["change drift"] },
]) {
  test(`planPf: ${c.name}`, () => {
    const p = planPf(desired(), c.obs);
    assert.deepEqual(p.actions.map((a) => `${a.effect} ${a.cause}`), c.want);
    assert.deepEqual(p.resources, ["pf:steward"]);
    for (const a of p.actions) {
      assert.deepEqual(a.steps, [
        { write: "/state/pf/steward.next.conf", input: desired().content, mode: 0o600 },
        { argv: ["pfctl", "-o", "none", "-n", "-a", "steward", "-f", "/state/pf/steward.next.conf"], timeoutMs: 60_000 },
        { argv: ["pfctl", "-o", "none", "-a", "steward", "-f", "/state/pf/steward.next.conf"], timeoutMs: 60_000 },
      ]);
      assert.equal(a.postcondition.previous, c.obs.previousFile ? "/state/pf/steward.conf" : null);
      assert.ok(!a.steps.some((s) => "argv" in s && s.argv.includes("-F")), "never flushes");
    }
  });
}

test("planPf: drift on a cluster that only reports drift is a finding", () => {
  const p = planPf(desired({ drift: "report" }), observed({ readback: { sha256: "x".repeat(64), empty: false } }));
  assert.deepEqual([p.actions, p.findings.map((f) => f.kind)], [[], ["drift-reported"]]);
});

test("planPf: findings say what keeps the anchor from being in force, and never block the load", () => {
  const p = planPf(desired(), observed({ running: false, loopbackSkipped: true, hooks: { nat: false, rdr: true, filter: false, quickBefore: ["pass quick all"] }, applied: { version: 1 } }));
  assert.deepEqual(p.findings.map((f) => [f.kind, f.blocking]), [["not-called", false], ["disabled", false], ["loopback-skipped", false], ["quick-before", false]]);
  assert.match(p.findings[0]?.message ?? "", /nat-anchor "steward", anchor "steward" missing/);
  assert.equal(p.actions.length, 1);
});

test("planPf: a node that never had jails or an anchor reads and does nothing", () => {
  assert.deepEqual(planPf(desired({ counts: { jails: 0, nat: 0, rdr: 0, filter: 0 } }), observed({ looked: false })), { actions: [], findings: [], resources: ["pf:steward"] });
});

test("decideConfirm: confirmed at the first answer, retried within the window, reverted after it", () => {
  const ok = [{ target: "origin", ok: true }];
  const no = [{ target: "origin", ok: false, error: "ECONNREFUSED" }];
  assert.equal(decideConfirm([no, ok], 1000, 5000), "confirmed");
  assert.equal(decideConfirm([no], 1000, 5000), "retry");
  assert.equal(decideConfirm([no, no], 5000 - PROBE_INTERVAL_MS, 5000), "revert");
  assert.equal(decideConfirm([ok, no], 1000, 5000), "retry", "only the last round counts");
});

test("planPf: pf that cannot be used (no /dev/pf) is a blocking finding, and nothing is loaded", () => {
  const p = planPf(desired(), observed({ unavailable: "pfctl cannot open /dev/pf: pfctl: /dev/pf: No such file or directory", applied: { version: 1 } }));
  assert.deepEqual([p.actions, p.findings.map((f) => [f.kind, f.blocking])], [[], [["unavailable", true]]]);
  assert.match(p.findings[0]?.message ?? "", /not isolated; load pf/);
});
