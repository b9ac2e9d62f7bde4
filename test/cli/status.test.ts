/**
 * `steward status` on an admin's clone: nodes' status branches written as the agent writes them
 * (signed status commits), one forged; the overview per node and downtime over a synthetic
 * month against the budgets in the manifest.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import git from "isomorphic-git";
import { buildStatus, renderStatus, type ServiceReport, type StatusDocument } from "../../agent/src/status/document.js";
import { sshSigner } from "../../agent/src/status/sign.js";
import { repoFs } from "../../agent/src/source/repo.js";
import { runCli } from "../helpers/cli.js";
import { WorkRepo, git as nativeGit, makeBare, makeKey, makeTempDir, removeDir, type SshKey } from "../helpers/keys.js";

let root: string;
let bare: string;
let main: string;
let keys: Record<string, SshKey>;
const DAY = 86_400_000;
const JAN = Date.UTC(2025, 0, 1);
const WEEK_S = 7 * 86_400;

/** writeReport commits a report on status/<node> of `gitdir`, signed with `key`, at `atMs`. */
async function writeReport(node: string, key: SshKey, atMs: number, services: readonly ServiceReport[], applied: string, previous?: StatusDocument): Promise<StatusDocument> {
  const doc = buildStatus(previous, {
    node,
    agentVersion: "0.1.0",
    heartbeatSeconds: WEEK_S,
    source: { decision: { kind: "unchanged", revision: applied }, lastApplied: applied, remotes: [{ name: "origin", standing: "current", tip: applied }] },
    newestCommit: { revision: applied, committedAt: Math.floor(JAN / 1000) - 86_400 },
    services,
    host: { architecture: "amd64", osVersion: "14.2-RELEASE", pools: [{ name: "zroot", health: "ONLINE", freeBytes: 1e9 }] },
  }, atMs);
  const fs = repoFs;
  const blob = await git.writeBlob({ fs, gitdir: bare, blob: Buffer.from(renderStatus(doc)) });
  const dir = await git.writeTree({ fs, gitdir: bare, tree: [{ mode: "100644", path: `${node}.yaml`, oid: blob, type: "blob" }] });
  const tree = await git.writeTree({ fs, gitdir: bare, tree: [{ mode: "040000", path: "status", oid: dir, type: "tree" }] });
  const ref = `refs/heads/status/${node}`;
  const parent = await git.resolveRef({ fs, gitdir: bare, ref }).then((o) => [o], () => []);
  const who = { name: `${node} agent`, email: `${node}@steward`, timestamp: Math.floor(atMs / 1000), timezoneOffset: 0 };
  const signer = sshSigner(key.private);
  await git.commit({ fs, gitdir: bare, ref, tree, parent, author: who, committer: who, message: `status ${node}\n\nSteward-Report: change\n`, signingKey: signer.key, onSign: signer.onSign });
  return doc;
}

const run = (name: string, jail: string, running: boolean): ServiceReport => ({ jail, service: name, running });

before(async () => {
  root = makeTempDir();
  keys = { alpha: makeKey(join(root, "keys"), "alpha"), beta: makeKey(join(root, "keys"), "beta"), admin: makeKey(join(root, "keys"), "admin") };
  const pub = (k: SshKey): string => readFileSync(`${k.private}.pub`, "utf8").trim();
  const work = WorkRepo.create(join(root, "work"));
  work.write("cluster.yaml", "network:\n  jails: 10.17.0.0/24\n  protect: [192.168.1.0/24]\ndefaults:\n  release: 14.2-RELEASE\n  budget: 1w\n");
  work.write("nodes/alpha.yaml", `arch: amd64\npool: zroot\ninterface: em0\nkey: ${pub(keys["alpha"] as SshKey)}\n`);
  work.write("nodes/beta.yaml", `arch: amd64\npool: zroot\ninterface: em0\nkey: ${pub(keys["beta"] as SshKey)}\n`);
  work.write("nodes/gamma.yaml", "arch: amd64\npool: zroot\ninterface: em0\n");
  work.write("services/mail.yaml", "node: alpha\nbudget: 3d\njail:\n  ip: 10.17.0.25\n  services: [postfix]\n");
  work.write("services/xmpp.yaml", "node: beta\nbudget: 1d\njail:\n  ip: 10.17.0.26\n  services: [prosody]\n");
  work.write("services/blog.yaml", "node: beta\njail:\n  ip: 10.17.0.27\n  services: [nginx]\n");
  const first = work.commit("one");
  main = work.commit("two");
  bare = makeBare(join(root, "cluster.git"));
  work.push(bare);

  const alpha = keys["alpha"] as SshKey;
  const beta = keys["beta"] as SshKey;
  // alpha: mail down for 6 hours on the 10th; otherwise a report every 6 days (heartbeat: a week).
  let a = await writeReport("alpha", alpha, JAN - DAY, [run("postfix", "mail", true)], first);
  for (const [at, ok] of [[JAN + 5 * DAY, true], [JAN + 9 * DAY, false], [JAN + 9 * DAY + 6 * 3_600_000, true], [JAN + 15 * DAY, true], [JAN + 21 * DAY, true], [JAN + 27 * DAY, true]] as const) {
    a = await writeReport("alpha", alpha, at, [run("postfix", "mail", ok)], main, a);
  }
  // beta: prosody down from the 2nd to the 4th (2 days, budget 1 day), then silent for 21 days (14 covered).
  let b = await writeReport("beta", beta, JAN - DAY, [run("prosody", "xmpp", true), run("nginx", "blog", true)], main);
  b = await writeReport("beta", beta, JAN + DAY, [run("prosody", "xmpp", false), run("nginx", "blog", true)], main, b);
  b = await writeReport("beta", beta, JAN + 3 * DAY, [run("prosody", "xmpp", true), run("nginx", "blog", true)], main, b);
  b = await writeReport("beta", beta, JAN + 24 * DAY, [run("prosody", "xmpp", true), run("nginx", "blog", true)], main, b);
  // A forged report on top of beta's branch, signed by the admin's key: not believed.
  await writeReport("beta", keys["admin"] as SshKey, JAN + 25 * DAY, [run("prosody", "xmpp", true), run("nginx", "blog", true)], main, b);
});

after(() => removeDir(root));

interface SlaJson {
  ok: boolean;
  services: { service: string; node: string; downSeconds: number; unreportedSeconds: number; budgetSeconds?: number; leftSeconds?: number }[];
  warnings: string[];
}

test("--sla counts each service's downtime in the month from verified reports, against its budget", async () => {
  const r = await runCli(["status", bare, "--sla", "--month", "2025-01", "--json"]);
  assert.equal(r.code, 1, "xmpp exceeded its budget");
  const out = JSON.parse(r.stdout) as SlaJson;
  const by = Object.fromEntries(out.services.map((s) => [s.service, s]));
  assert.deepEqual([by["mail"]?.downSeconds, by["mail"]?.leftSeconds], [6 * 3600, 3 * 86_400 - 6 * 3600]);
  assert.deepEqual([by["xmpp"]?.downSeconds, by["xmpp"]?.unreportedSeconds], [2 * 86_400 + 7 * 86_400, 7 * 86_400]);
  assert.equal(by["xmpp"]?.leftSeconds, 86_400 - 9 * 86_400);
  assert.deepEqual([by["blog"]?.downSeconds, by["blog"]?.budgetSeconds], [7 * 86_400, 7 * 86_400], "the node's silence counts for each of its services; default budget 1w");
  assert.ok(out.warnings.some((w) => /beta: 1 commit not signed by its key/.test(w)), out.warnings.join("\n"));
});

test("--sla in text: one line per service, exceeded budgets said plainly", async () => {
  const r = await runCli(["status", bare, "--sla", "--month", "2025-01"]);
  assert.match(r.stdout, /^mail\s+alpha\s+6h\s+3d\s+2d 18h$/m);
  assert.match(r.stdout, /^xmpp\s+beta\s+1w 2d \(1w unreported\)\s+1d\s+exceeded by 1w 1d$/m);
});

test("the overview: one line per node; a forged tip is not believed; a node without a key cannot be verified", async () => {
  const r = await runCli(["status", bare, "--json"]);
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout) as { nodes: { node: string; verified: boolean; problem: string | null; appliedRevision: string | null; behind: number | null; stale: boolean; ready: { status: string } | null }[] };
  const by = Object.fromEntries(out.nodes.map((n) => [n.node, n]));
  assert.equal(by["alpha"]?.verified, true);
  assert.equal(by["alpha"]?.appliedRevision, main);
  assert.equal(by["alpha"]?.behind, 0);
  assert.equal(by["alpha"]?.ready?.status, "True");
  assert.equal(by["alpha"]?.stale, true, "its last report is from January 2025");
  assert.equal(by["beta"]?.verified, false);
  assert.match(by["beta"]?.problem ?? "", /not signed by beta's key/);
  assert.equal(by["gamma"]?.verified, false);
  assert.match(by["gamma"]?.problem ?? "", /no status branch/);
  const text = await runCli(["status", bare]);
  assert.match(text.stdout, /^alpha\s+ready\s+\w{12} \(current\)\s+.* ago \(stale\)/m);
  assert.match(text.stdout, /^gamma\s+unknown: no status branch/m);
});

test("a directory that is not a clone is a usage error", async () => {
  const r = await runCli(["status", root]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /not a clone/);
  assert.equal(nativeGit(bare, ["rev-parse", "main"]), main);
});
