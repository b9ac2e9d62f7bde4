/**
 * Reachability judged from the compiled rules: the template's matrix is exactly what its
 * manifest declares; random clusters keep every promise (nothing undeclared, the home LAN
 * never, the nodes' own access untouched); a policy broken on purpose is caught.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { loadModel } from "../../agent/src/manifest/load.js";
import { compilePolicy } from "../../agent/src/network/compile.js";
import { indexPolicy, judge, portKey, portsBetween } from "../../agent/src/network/evaluate.js";
import { parseIpv4 } from "../../agent/src/manifest/ipv4.js";
import { checkMatrix, checkNodeAccess, explain, reachability } from "../../agent/src/network/reach.js";
import type { ClusterPolicy, FilterRule, NodePolicy } from "../../agent/src/network/types.js";
import { randomCluster, snapshotOf } from "../helpers/random-cluster.js";
import { templateWith } from "../helpers/template.js";

async function templatePolicy(): Promise<ClusterPolicy> {
  const { model, diagnostics } = loadModel(await templateWith());
  assert.ok(model, JSON.stringify(diagnostics));
  return compilePolicy(model);
}

const flows = (p: ClusterPolicy) =>
  reachability(p)
    .reachable.filter((r) => r.from !== "outside")
    .map((r) => `${r.from} -> ${r.to}${r.address === undefined ? "" : `@${r.address}`} ${r.port}/${r.proto}`);

test("the template's matrix: service to service and to the internet exactly as routed", async () => {
  const p = await templatePolicy();
  assert.deepEqual(flows(p), [
    "blog -> git 22/tcp",
    "blog -> internet@203.0.113.2 53/tcp",
    "blog -> internet@203.0.113.2 53/udp",
    "caldav -> internet@203.0.113.2 53/tcp",
    "caldav -> internet@203.0.113.2 53/udp",
    "git -> internet@203.0.113.2 53/tcp",
    "git -> internet@203.0.113.2 53/udp",
    "git -> mail 587/tcp",
    "mail -> internet@203.0.113.2 25/tcp",
    "mail -> internet@203.0.113.2 53/tcp",
    "mail -> internet@203.0.113.2 53/udp",
    "taskd -> internet@203.0.113.2 53/tcp",
    "taskd -> internet@203.0.113.2 53/udp",
    "xmpp -> internet@203.0.113.2 53/tcp",
    "xmpp -> internet@203.0.113.2 5269/tcp",
    "xmpp -> internet@203.0.113.2 53/udp",
  ]);
  const m = reachability(p);
  assert.deepEqual(checkMatrix(p, m), []);
  assert.ok(m.reachable.every((r) => r.answered));
  const outside = [...new Set(m.reachable.filter((r) => r.from === "outside").map((r) => `${r.to} ${r.port}/${r.proto}`))];
  assert.deepEqual(outside, ["blog 80/tcp", "blog 443/tcp", "caldav 5232/tcp", "git 22/tcp", "mail 25/tcp", "mail 465/tcp", "mail 587/tcp", "mail 993/tcp", "taskd 53589/tcp", "xmpp 5222/tcp", "xmpp 5269/tcp"]);
});

test("the nodes' own access is untouched by the template's policy", async () => {
  assert.deepEqual(checkNodeAccess(await templatePolicy()), []);
});

test("explain names the rule that lets a route through, and the one that stops the rest", async () => {
  const p = await templatePolicy();
  const e = explain(p, "git", "mail");
  assert.ok(e);
  const by = new Map(e.ports.map((x) => [`${x.port}/${x.proto}`, x.verdict]));
  const allowed = by.get("587/tcp");
  assert.equal(allowed?.delivered, true);
  assert.equal(allowed?.hops[0]?.rule?.origin.where?.file, "services/git.yaml");
  const other = e.ports.find((x) => x.probe);
  assert.equal(other?.verdict.delivered, false);
  assert.equal(other?.verdict.hops[0]?.rule?.origin.kind, "default");
  // mail -> git: nothing declared; git's exposed 22/tcp is for outside only.
  const back = explain(p, "mail", "git");
  assert.ok(back?.ports.every((x) => !x.verdict.delivered));
  const lan = explain(p, "blog", "lan");
  assert.ok(lan?.ports.every((x) => !x.verdict.delivered && x.verdict.hops[0]?.rule?.origin.kind === "protect"));
  assert.equal(explain(p, "nope", "mail"), undefined);
});

test("a cross-node route is delivered and answered only with both ends open", async () => {
  const p = await templatePolicy();
  const i = indexPolicy(p);
  const v = judge(i, { kind: "jail", service: "blog" }, "10.17.0.22", "tcp", 22);
  assert.deepEqual([v.delivered, v.answered, v.reached, v.hops.map((h) => `${h.node}:${h.action}`)], [true, true, "git", ["pi:pass", "alpha:pass"]]);
  // Without alpha's inbound rule, git's exposed port 22 still lets the packet in, but its
  // answers go to alpha's default router, which does not route the jail network.
  const alpha = p.nodes.find((n) => n.node === "alpha") as NodePolicy;
  const cut: ClusterPolicy = { ...p, nodes: p.nodes.map((n) => (n === alpha ? { ...n, filter: n.filter.filter((r) => r.direction !== "in" || r.origin.kind !== "route") } : n)) };
  const w = judge(indexPolicy(cut), { kind: "jail", service: "blog" }, "10.17.0.22", "tcp", 22);
  assert.deepEqual([w.delivered, w.answered, w.hops.map((h) => `${h.node}:${h.action}:${h.rule?.origin.kind}`)], [true, false, ["pi:pass:route", "alpha:pass:expose"]]);
  assert.equal(checkMatrix(cut, reachability(cut)).map((x) => x.kind).join(), "unanswered");
  // Without pi's outbound rule it never leaves pi.
  const pi = p.nodes.find((n) => n.node === "pi") as NodePolicy;
  const out: ClusterPolicy = { ...p, nodes: p.nodes.map((n) => (n === pi ? { ...n, filter: n.filter.filter((r) => r.origin.kind !== "route") } : n)) };
  const x = judge(indexPolicy(out), { kind: "jail", service: "blog" }, "10.17.0.22", "tcp", 22);
  assert.deepEqual([x.delivered, x.hops.map((h) => `${h.node}:${h.action}:${h.rule?.origin.kind}`)], [false, ["pi:block:default"]]);
  assert.equal(checkMatrix(out, reachability(out)).map((x) => x.kind).join(), "unreachable");
});

/** Policies broken on purpose, and the problem the check must find in each. */
const breakages: { name: string; kind: string; edit: (n: NodePolicy) => NodePolicy }[] = [
  { name: "without the home LAN block", kind: "lan", edit: (n) => ({ ...n, filter: [{ action: "pass", direction: "any", onUplink: false, from: { kind: "table", table: "steward_jails", negate: false }, to: { kind: "table", table: "steward_protect", negate: false }, origin: { kind: "route", text: "bad" } } as FilterRule, ...n.filter.slice(1)] }) },
  { name: "a pass rule nothing declares", kind: "undeclared", edit: (n) => ({ ...n, filter: [{ action: "pass", direction: "any", onUplink: false, proto: "tcp", from: { kind: "host", ip: "10.17.0.25" }, to: { kind: "host", ip: "10.17.0.22" }, port: 22, origin: { kind: "route", text: "bad" } } as FilterRule, ...n.filter] }) },
  { name: "translation of everything", kind: "undeclared", edit: (n) => ({ ...n, nat: [{ proto: "tcp", from: "10.17.0.25", to: { kind: "any" }, port: 9, tag: "steward_egress", origin: { kind: "route", text: "bad" } }, ...n.nat] }) },
  { name: "no default block to the jails", kind: "undeclared", edit: (n) => ({ ...n, filter: n.filter.slice(0, -1) }) },
  { name: "a rule on the node's own traffic", kind: "node-access", edit: (n) => ({ ...n, filter: [{ action: "block", direction: "out", onUplink: true, from: { kind: "uplink" }, to: { kind: "any" }, origin: { kind: "route", text: "bad" } } as FilterRule, ...n.filter] }) },
];

for (const b of breakages) {
  test(`a policy broken on purpose is caught: ${b.name}`, async () => {
    const p = await templatePolicy();
    const broken: ClusterPolicy = { ...p, nodes: p.nodes.map((n) => (n.node === "alpha" ? b.edit(n) : n)) };
    const kinds = new Set<string>([...checkMatrix(broken, reachability(broken)), ...checkNodeAccess(broken)].map((x) => x.kind));
    assert.ok(kinds.has(b.kind), `found ${[...kinds].join(", ") || "nothing"}`);
  });
}

test("random clusters: the matrix is exactly what the manifest declares, and the nodes' own access is untouched", () => {
  fc.assert(
    fc.property(randomCluster(), (c) => {
      const { model, diagnostics } = loadModel(snapshotOf(c));
      assert.ok(model, JSON.stringify(diagnostics));
      const p = compilePolicy(model);
      const m = reachability(p);
      assert.deepEqual(checkMatrix(p, m), []);
      assert.deepEqual(checkNodeAccess(p), []);
      assert.ok(!m.reachable.some((r) => r.to === "lan" || r.to.startsWith("node:")));
    }),
    { numRuns: 300 },
  );
});

/** A random filter rule over the cluster's addresses, to break policies in every way. */
const randomRule = (ips: readonly string[]) =>
  fc.record({
    action: fc.constantFrom("pass" as const, "block" as const),
    direction: fc.constantFrom("in" as const, "out" as const, "any" as const),
    onUplink: fc.boolean(),
    proto: fc.option(fc.constantFrom("tcp" as const, "udp" as const), { nil: undefined }),
    port: fc.option(fc.constantFrom(22, 25, 53, 443, 5432, 6000), { nil: undefined }),
    from: fc.oneof(fc.constant({ kind: "any" as const }), fc.constantFrom(...ips).map((ip) => ({ kind: "host" as const, ip })), fc.constant({ kind: "table" as const, table: "steward_jails" as const, negate: false })),
    to: fc.oneof(fc.constant({ kind: "any" as const }), fc.constantFrom(...ips).map((ip) => ({ kind: "host" as const, ip })), fc.constant({ kind: "table" as const, table: "steward_private" as const, negate: true }), fc.constant({ kind: "uplink" as const })),
    at: fc.nat(40),
  }).map(({ at, ...r }) => ({ at, rule: { ...r, port: r.proto === undefined ? undefined : r.port, origin: { kind: "route" as const, text: "random" } } as FilterRule }));

test("random clusters, with random rules thrown in: the matrix, which judges only the ports and pairs the rules tell apart, equals judging every pair on every port", () => {
  const ips = ["10.17.0.10", "10.17.0.11", "10.17.0.12", "10.17.0.13", "192.168.1.1", "203.0.113.2"];
  fc.assert(
    fc.property(randomCluster(8), fc.array(fc.tuple(fc.nat(2), randomRule(ips)), { maxLength: 4 }), (c, extra) => {
      const { model } = loadModel(snapshotOf(c));
      assert.ok(model);
      const compiled = compilePolicy(model);
      const p: ClusterPolicy = {
        ...compiled,
        nodes: compiled.nodes.map((n, k) => {
          const filter = [...n.filter];
          for (const [node, { at, rule }] of extra) if (node === k) filter.splice(at % (filter.length + 1), 0, rule);
          return { ...n, filter };
        }),
      };
      const m = reachability(p);
      const i = indexPolicy(p);
      const ports = new Set<string>([`${m.probe.tcp}/tcp`, `${m.probe.udp}/udp`]);
      for (const n of p.nodes) for (const r of [...n.filter, ...n.nat, ...n.rdr]) if (r.port !== undefined && r.proto !== undefined) ports.add(`${r.port}/${r.proto}`);
      const all = [...ports].map((k) => ({ port: Number(k.split("/")[0]), proto: k.split("/")[1] as "tcp" | "udp" }));
      // The matrix lists a pair's flows on the ports the rules between them name, and on the
      // probe port for all the others: expand it to every port of the cluster, and compare with
      // judging every pair on every port.
      const matrix = new Set(m.reachable.filter((r) => r.from !== "outside").map((r) => `${r.from} ${r.address ?? r.to} ${r.port}/${r.proto}`));
      const ip = (t: string): number => parseIpv4(t) as number;
      for (const a of p.services) {
        const targets = [...p.services.filter((b) => b.name !== a.name).map((b) => ({ address: b.ip, key: b.name, node: b.node })), ...m.stands.map((s) => ({ address: s.address, key: s.address, node: i.uplinks.get(ip(s.address)) }))];
        for (const t of targets) {
          const named = portsBetween(i, [...new Set([a.node, ...(t.node === undefined ? [] : [t.node])])], ip(a.ip), ip(t.address));
          for (const { port, proto } of all) {
            const brute = judge(i, { kind: "jail", service: a.name }, t.address, proto, port).delivered;
            const shown = named.has(portKey(port, proto)) || port === m.probe[proto] ? matrix.has(`${a.name} ${t.key} ${port}/${proto}`) : matrix.has(`${a.name} ${t.key} ${m.probe[proto]}/${proto}`);
            assert.equal(shown, brute, `${a.name} -> ${t.key} ${port}/${proto}`);
          }
        }
      }
    }),
    { numRuns: 150 },
  );
});
