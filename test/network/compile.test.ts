/**
 * The policy compiler on the template and on random clusters: the rules each node gets, in
 * pf's terms, and the properties every policy has whatever the manifest says.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { loadModel } from "../../agent/src/manifest/load.js";
import { compilePolicy } from "../../agent/src/network/compile.js";
import type { ClusterPolicy, FilterRule } from "../../agent/src/network/types.js";
import { randomCluster, snapshotOf } from "../helpers/random-cluster.js";
import { templateWith } from "../helpers/template.js";

async function templatePolicy(edits: Parameters<typeof templateWith>[0] = {}): Promise<ClusterPolicy> {
  const { model, diagnostics } = loadModel(await templateWith(edits));
  assert.ok(model, JSON.stringify(diagnostics));
  return compilePolicy(model);
}

const node = (p: ClusterPolicy, name: string) => {
  const n = p.nodes.find((x) => x.node === name);
  assert.ok(n, name);
  return n;
};

test("the home LAN is blocked before any pass rule, on every node with jails", async () => {
  const p = await templatePolicy();
  for (const n of p.nodes) {
    const first = n.filter[0];
    assert.equal(first?.action, "block");
    assert.deepEqual([first?.from, first?.to], [{ kind: "table", table: "steward_jails", negate: false }, { kind: "table", table: "steward_protect", negate: false }]);
    assert.equal(first?.origin.where?.file, "cluster.yaml");
  }
});

test("a node's rules end with the default blocks for its jails' addresses", async () => {
  const p = await templatePolicy();
  for (const n of p.nodes) {
    assert.deepEqual(
      n.filter.slice(-2).map((r) => [r.action, r.from.kind, r.to.kind]),
      [
        ["block", "table", "any"],
        ["block", "any", "table"],
      ],
    );
  }
});

test("a route on one node is one pass rule; a route between nodes opens both ends", async () => {
  const p = await templatePolicy();
  const text = (r: FilterRule) => r.origin.text;
  assert.deepEqual(node(p, "alpha").filter.filter((r) => r.origin.kind === "route").map((r) => [text(r), r.direction, r.routeTo, r.replyTo]), [
    ["git -> mail:587/tcp", "any", undefined, undefined],
    ["blog -> git:22/tcp", "in", undefined, "192.168.1.12"],
  ]);
  assert.deepEqual(node(p, "pi").filter.filter((r) => r.origin.kind === "route").map((r) => [text(r), r.direction, r.routeTo]), [["blog -> git:22/tcp", "out", "192.168.1.10"]]);
});

test("every rule names the manifest line it comes from", async () => {
  const p = await templatePolicy();
  for (const n of p.nodes) {
    for (const r of [...n.filter, ...n.nat, ...n.rdr]) {
      if (r.origin.kind === "default" || r.origin.kind === "egress") continue;
      assert.ok(r.origin.where !== undefined && r.origin.where.line >= 1, `${n.node}: ${r.origin.text}`);
    }
  }
  const nat = node(p, "alpha").nat.find((r) => r.origin.text.startsWith("mail -> internet:25/tcp"));
  assert.deepEqual(nat?.origin.where, { file: "services/mail.yaml", line: 15, column: 10 });
});

test("routes to the internet are translation rules, one per route, limited to the port", async () => {
  const p = await templatePolicy();
  assert.deepEqual(
    node(p, "beta").nat.map((r) => `${r.from} ${r.proto}/${r.port} ${r.to.kind === "table" ? `!${r.to.table}` : ""}`),
    ["10.17.0.30 udp/53 !steward_private", "10.17.0.30 tcp/53 !steward_private", "10.17.0.32 udp/53 !steward_private", "10.17.0.32 tcp/53 !steward_private", "10.17.0.31 udp/53 !steward_private", "10.17.0.31 tcp/53 !steward_private", "10.17.0.31 tcp/5269 !steward_private"],
  );
});

test("a route to one host of the internet is translated for that host only", async () => {
  const p = await templatePolicy({ "services/mail.yaml": (t) => t.replace("routes: [internet:25/tcp, dns]", "routes: [203.0.113.7:25/tcp]") });
  assert.deepEqual(node(p, "alpha").nat.filter((r) => r.from === "10.17.0.25").map((r) => r.to), [{ kind: "net", cidr: "203.0.113.7/32" }]);
});

test("a node without jails gets no rules at all", async () => {
  const p = await templatePolicy({ "nodes/gamma.yaml": "arch: amd64\npool: tank\ninterface: em1\n" });
  const g = node(p, "gamma");
  assert.deepEqual([g.filter, g.nat, g.rdr], [[], [], []]);
});

test("a route written twice is one rule", async () => {
  const p = await templatePolicy({ "services/mail.yaml": (t) => t.replace("routes: [internet:25/tcp, dns]", "routes: [internet:53/udp, dns]") });
  assert.equal(node(p, "alpha").nat.filter((r) => r.from === "10.17.0.25" && r.port === 53 && r.proto === "udp").length, 1);
});

test("random clusters: every rule matches a jail address of its node, or is a default block", () => {
  fc.assert(
    fc.property(randomCluster(), (c) => {
      const { model, diagnostics } = loadModel(snapshotOf(c));
      assert.ok(model, JSON.stringify(diagnostics));
      const p = compilePolicy(model);
      for (const n of p.nodes) {
        const mine = new Set(n.jails.map((j) => j.ip));
        for (const r of n.filter) {
          const names = [r.from, r.to].filter((a) => a.kind === "host").map((a) => (a.kind === "host" ? a.ip : ""));
          const ok = names.some((ip) => mine.has(ip)) || [r.from, r.to].some((a) => a.kind === "table" && a.table === "steward_jails" && !a.negate) || r.tagged !== undefined;
          assert.ok(ok, `${n.node}: ${r.origin.text} names none of the node's jails`);
        }
        for (const r of n.nat) assert.ok(mine.has(r.from));
        for (const r of n.rdr) assert.ok(mine.has(r.target) && !(r.proto === "tcp" && r.port === n.ssh));
      }
    }),
    { numRuns: 200 },
  );
});
