/**
 * `steward plan --rev` on an admin's clone: a real node (zfs-fuse pool, simulated jail tools)
 * runs `steward agent --once`, whose status commit carries its observed state; an admin clones
 * the repo, edits a branch offline and asks what every node would do. The plan the review shows
 * for the node is the plan the node itself makes once the branch reaches main.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { reviewRevision } from "../../agent/src/review/offline-plan.js";
import { runCli } from "../helpers/cli.js";
import { WorkRepo, git, makeBare, makeKey, makeTempDir, removeDir, writeAllowedSigners, type SshKey } from "../helpers/keys.js";
import { useSimulator, type Simulator } from "../helpers/sim.js";
import { TEST_RELEASE, createTestPool, installBase, type TestPool } from "../helpers/zfs-pool.js";

let root: string;
let pool: TestPool;
let admin: SshKey;
let n1: SshKey;
let n3: SshKey;
let bare: string;
let clone: string;
let config: string;
let sim: Simulator;
let main: string;

interface Action {
  id: string;
  kind: string;
  effect: string;
}
interface NodeJson {
  node: string;
  state: "planned" | "invalid" | "unknown";
  reason?: string;
  plan?: { id: string; revision: string; actions: Action[] };
  highlights?: { destroys: string[]; interrupts: string[] };
  unobserved?: string[];
  observation?: { report: string; stale: boolean; revision: string };
  diagnostics?: { code: string; message: string }[];
}
interface ReviewJson {
  ok: boolean;
  revision: { oid: string };
  against: { oid: string; ref: string };
  nodes: NodeJson[];
  reachability: { available: boolean };
  diagnostics: { code: string }[];
}

const dataset = (s: string): string => `${pool.name}/steward/data/blog/${s}`;
const node = (name: string, key: SshKey | undefined, extra = ""): string => `arch: amd64\npool: ${name === "n1" ? pool.name : "tank"}\ninterface: em0\n${name === "n1" ? `jails: ${pool.dir}/jails\n` : ""}${key === undefined ? "" : `key: ${key.publicLine}\n`}${extra}`;
const blog = (quota: string, withOld: boolean, extra = ""): string =>
  `node: n1\njail:\n  ip: 10.17.0.40\n  packages: [nginx]\n  services: [nginx]\n  rc: { nginx_enable: "YES" }\ndatasets:\n  www: { mount: /usr/local/www, quota: ${quota}${extra} }\n${withOld ? "  old: { mount: /var/old }\n" : ""}files:\n  /usr/local/www/index.html: { from: files/blog/index.html, restart: [nginx] }\n`;

function inClone(args: readonly string[]): string {
  return git(clone, args);
}

function commitInClone(message: string, files: Record<string, string | null>): string {
  for (const [path, text] of Object.entries(files)) {
    if (text === null) inClone(["rm", "-q", path]);
    else {
      mkdirSync(join(clone, path, ".."), { recursive: true });
      writeFileSync(join(clone, path), text);
    }
  }
  inClone(["add", "-A"]);
  inClone(["-c", "gpg.format=ssh", "-c", `user.signingkey=${admin.private}`, "commit", "-q", "-S", "-m", message]);
  return inClone(["rev-parse", "HEAD"]);
}

const review = async (args: readonly string[]): Promise<{ code: number; out: ReviewJson; stderr: string }> => {
  const r = await runCli(["plan", "--repo", clone, ...args, "--json"]);
  return { code: r.code, out: JSON.parse(r.stdout) as ReviewJson, stderr: r.stderr };
};
const byNode = (out: ReviewJson): Record<string, NodeJson> => Object.fromEntries(out.nodes.map((n) => [n.node, n]));

before(async () => {
  root = makeTempDir();
  pool = await createTestPool("spr");
  await installBase(pool);
  admin = makeKey(join(root, "keys"), "admin");
  n1 = makeKey(join(root, "etc"), "id_ed25519");
  n3 = makeKey(join(root, "keys"), "n3");
  const trust = writeAllowedSigners(join(root, "etc", "allowed_signers"), [{ principal: "admin@cluster", key: admin }]);
  bare = makeBare(join(root, "srv", "cluster.git"));
  const work = WorkRepo.create(join(root, "work"));
  work.write("cluster.yaml", `network:\n  jails: 10.17.0.0/24\n  protect: [192.168.1.0/24]\ndefaults:\n  release: ${TEST_RELEASE}\n  datasets: { compression: gzip }\n`);
  work.write("nodes/n1.yaml", node("n1", n1));
  work.write("nodes/n2.yaml", node("n2", undefined));
  work.write("nodes/n3.yaml", node("n3", n3));
  work.write("services/blog.yaml", blog("1G", true));
  work.write("files/blog/index.html", "<h1>one</h1>\n");
  main = work.commit("the cluster", { signer: admin });
  work.push(bare);
  // A report on status/n3 that n3 did not sign: the review must not believe it.
  git(work.dir, ["checkout", "-q", "--orphan", "forged"]);
  git(work.dir, ["rm", "-rqf", "."]);
  work.write("status/n3.yaml", "kind: NodeStatus\n").write("status/n3.observed.json", "{}\n");
  work.commit("status n3", { signer: admin });
  work.push(bare, { branch: "status/n3" });

  config = join(root, "etc", "steward.yaml");
  mkdirSync(join(root, "jail.conf.d"));
  writeFileSync(config, [`node: n1`, `state: ${join(root, "state")}`, `trust: ${trust}`, `key: ${n1.private}`, `jail_conf_dir: ${join(root, "jail.conf.d")}`, "timeout: 10", "remotes:", "  - name: origin", `    url: ${bare}`, ""].join("\n"));
  sim = useSimulator();
  const once = await runCli(["agent", "--once", "--config", config], { timeoutMs: 120_000 });
  assert.equal(once.code, 0, once.stderr);
  clone = join(root, "clone");
  git(root, ["clone", "-q", bare, clone]);
});

after(async () => {
  sim?.close();
  await pool?.destroy();
  removeDir(root);
});

test("the agent's status commit carries the host as it left it, next to the report", () => {
  const tip = git(bare, ["rev-parse", "refs/heads/status/n1"]);
  assert.equal(git(bare, ["ls-tree", "-r", "--name-only", tip]), "status/n1.observed.json\nstatus/n1.yaml");
  const record = JSON.parse(git(bare, ["show", `${tip}:status/n1.observed.json`])) as { revision: string; host: { jailConfDir: string }; drivers: Record<string, unknown>; protectedPaths: string[] };
  assert.equal(record.revision, main);
  assert.equal(record.host.jailConfDir, join(root, "jail.conf.d"));
  assert.deepEqual(Object.keys(record.drivers).sort(), ["backup", "jail", "pf", "zfs"]);
  assert.ok(record.protectedPaths.includes(join(root, "state")));
});

test("a branch edited offline: every node's plan, what destroys data and interrupts a service first; what the review says is what the node then runs", async () => {
  inClone(["checkout", "-q", "-b", "feature"]);
  const feature = commitInClone("grow www, drop old, new index", {
    "services/blog.yaml": blog("2G", false),
    "nodes/n1.yaml": node("n1", n1, `destroy: [${dataset("old")}]\n`),
    "files/blog/index.html": "<h1>two</h1>\n",
  });
  const { code, out, stderr } = await review(["--rev", "feature"]);
  assert.equal(code, 0, stderr);
  assert.equal(out.ok, true);
  assert.equal(out.revision.oid, feature);
  assert.deepEqual([out.against.oid, out.against.ref], [main, "refs/remotes/origin/main"]);
  const by = byNode(out);
  const alpha = by["n1"] as NodeJson;
  assert.equal(alpha.state, "planned", JSON.stringify(alpha));
  assert.equal(alpha.observation?.report, inClone(["rev-parse", "origin/status/n1"]));
  assert.equal(alpha.observation?.stale, false);
  const kinds = (alpha.plan?.actions ?? []).map((a) => a.id);
  assert.ok(kinds.includes(`zfs.set:${dataset("www")}:quota`), kinds.join("\n"));
  assert.deepEqual(alpha.highlights?.destroys, [`zfs.destroy:${dataset("old")}`]);
  assert.ok((alpha.highlights?.interrupts ?? []).some((id) => id.startsWith("jail.service-restart:blog:nginx")), JSON.stringify(alpha.highlights));
  assert.deepEqual(alpha.unobserved, []);
  assert.match(by["n2"]?.reason ?? "", /no key: in nodes\/n2\.yaml|no status branch/);
  assert.equal(by["n3"]?.state, "unknown");
  assert.match(by["n3"]?.reason ?? "", /not signed by n3's key/);
  assert.deepEqual(out.reachability, { available: true, opened: [], closed: [], undeclared: [] });

  const text = await runCli(["plan", "--repo", clone, "--rev", "feature"]);
  assert.equal(text.code, 0, text.stderr);
  assert.match(text.stdout, new RegExp(`^   DESTROYS DATA:\\n     - destroy ${dataset("old")} \\(guid \\d+\\)`, "m"));
  assert.match(text.stdout, /^== n3: not planned: .*not signed by n3's key/m);
  assert.match(text.stdout, /^reachability: unchanged/m);

  const md = await runCli(["plan", "--repo", clone, "--rev", "feature", "--markdown"]);
  assert.equal(md.code, 0, md.stderr);
  assert.match(md.stdout, /^### steward plan: `feature` \(\w{12}\) against `main` \(\w{12}\)$/m);
  assert.match(md.stdout, /^\*\*Destroys data\*\* on n1\.$/m);
  assert.match(md.stdout, /^\| n1 \| 4 \| \*\*1\*\* \| 1 \| report \w{12}, \d+s old \|$/m);
  assert.match(md.stdout, /^\| n3 \| – \| – \| – \| not planned: .*not signed by n3's key/m);
  assert.match(md.stdout, new RegExp(`^\\*\\*Destroys data\\*\\*\\n\\n- \`- destroy ${dataset("old")} \\(guid \\d+\\)`, "m"));
  // The whole plan, commands included, folded away.
  assert.match(md.stdout, new RegExp(`<details><summary>All 4 actions and 0 findings, with their commands</summary>\\n\\n\`\`\`text\\nPlan for node n1[^]*\\$ zfs destroy ${dataset("old")}\\n[^]*\`\`\`\\n\\n</details>`));
  assert.equal((await runCli(["plan", "--repo", clone, "--rev", "feature", "--markdown", "--json"])).code, 2);

  // The branch reaches main: the node plans exactly what the review said.
  inClone(["push", "-q", "origin", "feature:main"]);
  const onNode = await runCli(["plan", "--config", config, "--json"]);
  assert.equal(onNode.code, 0, onNode.stderr);
  const nodePlan = (JSON.parse(onNode.stdout) as { plan: NodeJson["plan"] }).plan;
  assert.equal(nodePlan?.revision, feature);
  assert.deepEqual(nodePlan, alpha.plan);
  inClone(["checkout", "-q", "main"]);
  inClone(["merge", "-q", "--ff-only", "feature"]);
  main = feature;
});

test("what the node never looked at is listed as not observed; an old report is flagged stale", async () => {
  inClone(["checkout", "-q", "-b", "tier", main]);
  commitInClone("a user property", { "services/blog.yaml": blog("2G", false, ", org.example:tier: gold") });
  const { out } = await review(["--rev", "tier", "--against", "feature", "--node", "n1"]);
  assert.deepEqual(out.nodes.map((n) => n.node), ["n1"]);
  assert.deepEqual(out.nodes[0]?.unobserved, ["zfs: property org.example:tier"]);
  const gitdir = join(clone, ".git");
  const oid = (ref: string): string => inClone(["rev-parse", ref]);
  const later = await reviewRevision({ gitdir, revision: { name: "tier", ref: null, oid: oid("tier") }, against: { name: "main", ref: null, oid: oid("main") }, remote: "origin", nodes: ["n1"], nowMs: Date.now() + 86_400_000, cache: {} });
  const n = later.nodes[0];
  assert.ok(n?.state === "planned" && n.observation.stale && n.observation.ageSeconds >= 86_400, JSON.stringify(n));
});

test("a revision that does not validate, is invalid for a node, or removes one exits 1 and says why", async () => {
  inClone(["checkout", "-q", "-b", "broken", main]);
  commitInClone("a typo", { "services/blog.yaml": blog("2G", false).replace("node: n1", "nod: n1") });
  const broken = await review(["--rev", "broken"]);
  assert.equal(broken.code, 1);
  assert.equal(broken.out.ok, false);
  assert.ok(broken.out.diagnostics.some((d) => d.code === "MANIFEST_SCHEMA"), JSON.stringify(broken.out.diagnostics));

  inClone(["checkout", "-q", "-b", "inside-state", main]);
  commitInClone("jails inside the agent's state directory", { "nodes/n1.yaml": node("n1", n1, `destroy: [${dataset("old")}]\n`).replace(`jails: ${pool.dir}/jails`, `jails: ${join(root, "state", "jails")}`) });
  const inside = await review(["--rev", "inside-state", "--node", "n1"]);
  assert.equal(inside.code, 1);
  assert.equal(inside.out.nodes[0]?.state, "invalid");
  assert.ok(inside.out.nodes[0]?.diagnostics?.some((d) => d.code === "MANIFEST_PATH"), "checked against the paths the node reported as its own");

  inClone(["checkout", "-q", "-b", "no-n2", main]);
  commitInClone("n2 leaves", { "nodes/n2.yaml": null });
  const gone = await review(["--rev", "no-n2"]);
  assert.equal(gone.code, 1);
  assert.equal(byNode(gone.out)["n2"]?.state, "invalid");
  assert.ok(byNode(gone.out)["n2"]?.diagnostics?.some((d) => d.code === "MANIFEST_REFERENCE"));
});
