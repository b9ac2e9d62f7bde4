/**
 * Proven with real packets (docs/network.md): the policy rendered to nftables in a cluster of
 * network namespaces (test/helpers/netns), where real TCP connections and UDP datagrams go
 * between jails, nodes, the home LAN and the internet. For the template and for random
 * clusters, what gets through — answered, and merely arriving — must be exactly the matrix
 * `steward check` prints; the home LAN is never reached from a jail; the nodes' own traffic
 * (to their git remotes, and the admins' ssh to them) always gets through. Needs root, ip and
 * nft: where they are missing the test fails, it is never skipped.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { loadModel } from "../../agent/src/manifest/load.js";
import { compilePolicy } from "../../agent/src/network/compile.js";
import { checkMatrix, checkNodeAccess, reachability } from "../../agent/src/network/reach.js";
import type { ClusterPolicy, FilterRule } from "../../agent/src/network/types.js";
import type { RepoSnapshot } from "../../agent/src/manifest/types.js";
import { canRunLab, flowKey, Lab } from "../helpers/netns/lab.js";
import { randomCluster, snapshotOf } from "../helpers/random-cluster.js";
import { templateWith } from "../helpers/template.js";

const blocker = canRunLab();

function policyOf(snapshot: RepoSnapshot): ClusterPolicy {
  const { model, diagnostics } = loadModel(snapshot);
  assert.ok(model, JSON.stringify(diagnostics));
  return compilePolicy(model);
}

const sorted = (s: Iterable<string>): string[] => [...s].sort();

/** prove builds the lab for a policy and compares what real packets do with the matrix. */
async function prove(policy: ClusterPolicy): Promise<void> {
  const matrix = reachability(policy);
  assert.deepEqual([...checkMatrix(policy, matrix), ...checkNodeAccess(policy)], []);
  const lab = await Lab.build(policy, matrix);
  try {
    const seen = await lab.observe();
    const key = (r: (typeof matrix.reachable)[number]): string => flowKey(r.from, r.to, r.address, r.port, r.proto);
    assert.deepEqual(sorted(seen.answered), sorted(matrix.reachable.filter((r) => r.answered).map(key)), "answered connections are the matrix");
    assert.deepEqual(sorted(seen.delivered), sorted(matrix.reachable.map(key)), "arriving packets are the matrix");
    assert.deepEqual(sorted(seen.delivered).filter((k) => / (lan|node:\S+) /.test(k)), [], "no jail packet reaches the home LAN");
    for (const a of seen.nodeAccess) {
      const want = a.flow.startsWith("node:") ? (a.flow.split(" -> ")[1]?.startsWith("192.168.") ? "lan" : "internet") : a.flow.split(" -> ")[1]?.split(" ")[0];
      assert.equal(a.answeredBy, want, `the node's own traffic gets through: ${a.flow}`);
    }
  } finally {
    await lab.destroy();
  }
}

test("the lab can run on this machine (root, ip, nft)", () => {
  assert.equal(blocker, undefined, `the real-packet tests cannot run: ${blocker ?? ""}`);
});

test("the template: real packets get through exactly where steward check says", { timeout: 120_000 }, async () => {
  assert.equal(blocker, undefined, blocker);
  await prove(policyOf(await templateWith()));
});

test("the lab is not blind: a rule the manifest does not declare lets real packets through, and they are seen", { timeout: 120_000 }, async () => {
  assert.equal(blocker, undefined, blocker);
  const good = policyOf(await templateWith());
  // mail -> git:22/tcp and mail -> the home LAN on 9/udp, opened by hand on node alpha.
  const leaks: FilterRule[] = [
    { action: "pass", direction: "any", onUplink: false, proto: "udp", from: { kind: "host", ip: "10.17.0.25" }, to: { kind: "any" }, port: 9, origin: { kind: "route", text: "leak" } },
    { action: "pass", direction: "any", onUplink: false, proto: "tcp", from: { kind: "host", ip: "10.17.0.25" }, to: { kind: "host", ip: "10.17.0.22" }, port: 22, origin: { kind: "route", text: "leak" } },
  ];
  const broken: ClusterPolicy = { ...good, nodes: good.nodes.map((n) => (n.node === "alpha" ? { ...n, filter: [...leaks, ...n.filter] } : n)) };
  const lab = await Lab.build(broken, reachability(good));
  try {
    const seen = await lab.observe();
    assert.ok(seen.answered.has(flowKey("mail", "git", undefined, 22, "tcp")), "the undeclared route is seen");
    assert.ok(seen.delivered.has(flowKey("mail", "lan", "192.168.1.1", 9, "udp")), "the datagram into the home LAN is seen arriving, though never answered");
    assert.ok(!seen.answered.has(flowKey("mail", "lan", "192.168.1.1", 9, "udp")), "its answer is lost: the home LAN does not route the jail network");
    assert.ok(seen.answered.has(flowKey("git", "mail", undefined, 587, "tcp")), "declared routes still work");
  } finally {
    await lab.destroy();
  }
});

test("random clusters: real packets get through exactly where steward check says", { timeout: 600_000 }, async () => {
  assert.equal(blocker, undefined, blocker);
  await fc.assert(
    fc.asyncProperty(randomCluster(5), async (c) => {
      await prove(policyOf(snapshotOf(c)));
    }),
    { numRuns: 5, seed: Number(process.env["STEWARD_NETNS_SEED"] ?? Date.now() % 2 ** 31) },
  );
});
