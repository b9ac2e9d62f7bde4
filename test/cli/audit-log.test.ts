/**
 * `steward log` on an admin's clone: main's first-parent history signed (and once not) by the
 * admin, two nodes' status branches written as the agent writes them (signed status commits),
 * one forged report; who signed what, when each node applied which revision and what changed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import git from "isomorphic-git";
import { repoFs } from "../../agent/src/source/repo.js";
import { buildStatus, renderStatus, type ResourceStatus } from "../../agent/src/status/document.js";
import { sshSigner } from "../../agent/src/status/sign.js";
import { runCli } from "../helpers/cli.js";
import { WorkRepo, allowedSigners, makeBare, makeKey, makeTempDir, removeDir, writeAllowedSigners, type SshKey } from "../helpers/keys.js";

let root: string;
let bare: string;
let bootstrap: string;
let admin: SshKey;
let keys: Record<string, SshKey>;
let c: string[];
const T = Date.UTC(2025, 2, 1, 12);
const H = 3_600_000;

/** report commits a status document on status/<node> of the bare repo, signed with `key`, at `atMs`. */
async function report(node: string, key: SshKey, atMs: number, applied: string, resources: readonly ResourceStatus[]): Promise<void> {
  const doc = { ...buildStatus(undefined, { node, agentVersion: "0.1.0", heartbeatSeconds: 900, source: { decision: { kind: "unchanged", revision: applied }, lastApplied: applied, remotes: [] }, services: [], host: { architecture: "amd64", osVersion: "14.2-RELEASE", pools: [] } }, atMs), resources };
  const fs = repoFs;
  const blob = await git.writeBlob({ fs, gitdir: bare, blob: Buffer.from(renderStatus(doc)) });
  const dir = await git.writeTree({ fs, gitdir: bare, tree: [{ mode: "100644", path: `${node}.yaml`, oid: blob, type: "blob" }] });
  const tree = await git.writeTree({ fs, gitdir: bare, tree: [{ mode: "040000", path: "status", oid: dir, type: "tree" }] });
  const ref = `refs/heads/status/${node}`;
  const parent = await git.resolveRef({ fs, gitdir: bare, ref }).then((o) => [o], () => []);
  const who = { name: `${node} agent`, email: `${node}@steward`, timestamp: Math.floor(atMs / 1000), timezoneOffset: 0 };
  const signer = sshSigner(key.private);
  await git.commit({ fs, gitdir: bare, ref, tree, parent, author: who, committer: who, message: `status ${node}\n\nSteward-Report: change\n`, signingKey: signer.key, onSign: signer.onSign });
}

before(async () => {
  root = makeTempDir();
  admin = makeKey(join(root, "keys"), "admin");
  keys = { alpha: makeKey(join(root, "keys"), "alpha"), beta: makeKey(join(root, "keys"), "beta") };
  bootstrap = writeAllowedSigners(join(root, "bootstrap_signers"), [{ principal: "admin@cluster", key: admin }]);
  const work = WorkRepo.create(join(root, "work"));
  const date = (h: number): string => `@${Math.floor((T + h * H) / 1000)} +0000`;
  work.write("cluster.yaml", "network:\n  jails: 10.17.0.0/24\n  protect: [192.168.1.0/24]\ndefaults:\n  release: 14.2-RELEASE\n");
  work.write("trust/allowed_signers", allowedSigners([{ principal: "admin@cluster", key: admin }]));
  for (const n of ["alpha", "beta"]) work.write(`nodes/${n}.yaml`, `arch: amd64\npool: zroot\ninterface: em0\nkey: ${(keys[n] as SshKey).publicLine}\n`);
  work.write("services/mail.yaml", "node: alpha\njail:\n  ip: 10.17.0.25\ndatasets:\n  mail: { quota: 1G }\n");
  c = [work.commit("the cluster", { signer: admin, date: date(0) })];
  c.push(work.write("services/mail.yaml", "node: alpha\njail:\n  ip: 10.17.0.25\ndatasets:\n  mail: { quota: 2G }\n").commit("more mail", { signer: admin, date: date(1) }));
  c.push(work.write("services/blog.yaml", "node: beta\njail:\n  ip: 10.17.0.40\n").commit("a blog, unsigned", { date: date(2) }));
  c.push(work.write("services/blog.yaml", "node: beta\njail:\n  ip: 10.17.0.41\n").commit("the blog moves", { signer: admin, date: date(3) }));
  bare = makeBare(join(root, "cluster.git"));
  work.push(bare);
  const [c0, c1, , c3] = c as [string, string, string, string];
  const alpha = keys["alpha"] as SshKey;
  const beta = keys["beta"] as SshKey;
  await report("alpha", alpha, T + 0.5 * H, c0, [{ resource: "zfs:zroot/steward/data/mail/mail", action: "zfs.create:zroot/steward/data/mail/mail", outcome: "applied" }]);
  await report("alpha", alpha, T + 4 * H, c3, [{ resource: "zfs:zroot/steward/data/mail/mail", action: "zfs.set:zroot/steward/data/mail/mail:quota", outcome: "applied" }, { resource: "jail:mail", action: null, outcome: "unchanged" }]);
  await report("beta", beta, T + 1.5 * H, c1, []);
  // A report beta did not sign, claiming it applied the tip: not believed.
  await report("beta", admin, T + 5 * H, c3, []);
});

after(() => removeDir(root));

interface LogJson {
  ok: boolean;
  commits: { oid: string; signer: string | null; problem: { code: string; message: string } | null; nodes: Record<string, { state: string; revision?: string; at?: string; resources?: { resource: string; outcome: string }[] }> }[];
  nodes: { node: string; refused: number; problem: string | null; applied: { revision: string; onBranch: boolean }[] }[];
}

test("each commit with its verified signer, and where each node stands on it", async () => {
  const r = await runCli(["log", "--repo", bare, "--trust", bootstrap, "--json"]);
  assert.equal(r.code, 1, "an unsigned commit and a forged report are flagged");
  const out = JSON.parse(r.stdout) as LogJson;
  const [c0, c1, c2, c3] = c as [string, string, string, string];
  assert.deepEqual(out.commits.map((x) => x.oid), [c3, c2, c1, c0], "newest first");
  assert.deepEqual(out.commits.map((x) => x.signer), ["admin@cluster", null, "admin@cluster", "admin@cluster"]);
  assert.equal(out.commits[1]?.problem?.code, "SOURCE_UNSIGNED");
  const at = (oid: string, node: string) => out.commits.find((x) => x.oid === oid)?.nodes[node];
  assert.deepEqual(at(c3, "alpha")?.resources, [{ resource: "zfs:zroot/steward/data/mail/mail", action: "zfs.set:zroot/steward/data/mail/mail:quota", outcome: "applied" }], "what changed, not what stayed");
  assert.deepEqual([at(c3, "alpha")?.state, at(c3, "alpha")?.at], ["applied", "2025-03-01T16:00:00Z"]);
  assert.deepEqual([at(c2, "alpha")?.state, at(c2, "alpha")?.revision], ["included", c3], "alpha went from the first commit to the tip in one run");
  assert.deepEqual([at(c1, "alpha")?.state, at(c0, "alpha")?.state], ["included", "applied"]);
  assert.deepEqual([at(c3, "beta")?.state, at(c2, "beta")?.state, at(c1, "beta")?.state, at(c0, "beta")?.state], ["pending", "pending", "applied", "included"]);
  const beta = out.nodes.find((n) => n.node === "beta");
  assert.equal(beta?.refused, 1);
  assert.match(beta?.problem ?? "", /not signed by beta's key/);
});

test("one node's trail as text; the first commit needs the nodes' bootstrap trust to verify", async () => {
  const r = await runCli(["log", "alpha", "--repo", bare]);
  assert.equal(r.code, 1);
  const [c0, , c2, c3] = (c as string[]).map((x) => x.slice(0, 12));
  assert.match(r.stdout, new RegExp(`^${c3}  2025-03-01 15:00Z  admin@cluster  the blog moves\\n    alpha  applied 2025-03-01 16:00Z \\(report \\w{12}\\): zfs:zroot/steward/data/mail/mail applied$`, "m"));
  assert.match(r.stdout, new RegExp(`^${c2}  .*  UNVERIFIED  a blog, unsigned\\n    ! SOURCE_UNSIGNED: .*\\n    alpha  applied 2025-03-01 16:00Z with ${c3}`, "m"));
  assert.match(r.stdout, new RegExp(`^${c0}  .*  UNVERIFIED  the cluster\\n    ! SOURCE_TRUST_INVALID: judged by the nodes' bootstrap trust, which was not given: pass --trust FILE`, "m"));
  assert.doesNotMatch(r.stdout, /beta/);
  const clean = await runCli(["log", "alpha", "--repo", bare, "--max", "1", "--json"]);
  assert.equal(clean.code, 0, clean.stdout);
  assert.equal((JSON.parse(clean.stdout) as LogJson).commits.length, 1);
  assert.equal((await runCli(["log", "gamma", "--repo", bare])).code, 2);
});
