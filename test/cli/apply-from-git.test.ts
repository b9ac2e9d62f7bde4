/**
 * The flow end to end through the real CLI: a cluster repo served by git http-backend, commits
 * signed by an admin, an agent configuration, and a real zfs-fuse pool. `plan` and `apply`
 * fetch and verify; apply records a revision only once it is in force; an unsigned commit is
 * held while the last applied revision stays converged.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { startGitHttpServer, type GitHttpServer } from "../helpers/git-http-server.js";
import { WorkRepo, makeBare, makeKey, makeTempDir, removeDir, writeAllowedSigners, type SshKey } from "../helpers/keys.js";
import { useSimulator, type Simulator } from "../helpers/sim.js";
import { TEST_RELEASE, createTestPool, installBase, type TestPool } from "../helpers/zfs-pool.js";

let root: string;
let http: GitHttpServer;
let pool: TestPool;
let admin: SshKey;
let work: WorkRepo;
let bare: string;
let config: string;
let sim: Simulator;

interface ApplyJson {
  ok: boolean;
  plan: { actions: { kind: string; id: string }[] };
  source: { revision: string; decision: { kind: string; reason?: { code: string } }; recorded: boolean };
}

const cluster = (quota: string): Record<string, string> => ({
  "cluster.yaml": `network:\n  jails: 10.17.0.0/24\n  protect: [192.168.1.0/24]\ndefaults:\n  release: ${TEST_RELEASE}\n  datasets: { compression: gzip }\n`,
  "nodes/n1.yaml": `arch: amd64\npool: ${pool.name}\ninterface: em0\njails: ${pool.dir}/jails\n`,
  "services/blog.yaml": `node: n1\njail:\n  ip: 10.17.0.40\ndatasets:\n  www: { mount: /usr/local/www, quota: ${quota} }\n`,
});

function commit(files: Record<string, string>, signed: boolean): string {
  for (const [path, text] of Object.entries(files)) work.write(path, text);
  const oid = work.commit("change", signed ? { signer: admin } : {});
  work.push(bare);
  return oid;
}

before(async () => {
  root = makeTempDir();
  pool = await createTestPool("sta");
  await installBase(pool);
  admin = makeKey(join(root, "keys"), "admin");
  const trust = writeAllowedSigners(join(root, "etc", "allowed_signers"), [{ principal: "admin@cluster", key: admin }]);
  mkdirSync(join(root, "srv"));
  bare = makeBare(join(root, "srv", "cluster.git"));
  http = await startGitHttpServer(join(root, "srv"));
  work = WorkRepo.create(join(root, "work"));
  config = join(root, "etc", "steward.yaml");
  mkdirSync(join(root, "jail.conf.d"));
  writeFileSync(config, `node: n1\nstate: ${join(root, "state")}\ntrust: ${trust}\njail_conf_dir: ${join(root, "jail.conf.d")}\ntimeout: 10\nremotes:\n  - name: origin\n    url: ${http.url("cluster.git")}\n`);
  sim = useSimulator();
});

after(async () => {
  sim?.close();
  await http?.close();
  await pool?.destroy();
  removeDir(root);
});

const apply = async (): Promise<{ code: number; out: ApplyJson }> => {
  const r = await runCli(["apply", "--config", config, "--json"]);
  return { code: r.code, out: JSON.parse(r.stdout) as ApplyJson };
};

test("plan shows the creates of a new signed revision and changes nothing", async () => {
  const first = commit(cluster("1G"), true);
  const r = await runCli(["plan", "--config", config, "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as ApplyJson;
  assert.equal(out.source.revision, first);
  assert.equal(out.source.decision.kind, "apply");
  assert.ok(out.plan.actions.length > 0 && out.plan.actions.every((a) => a.kind === "zfs.create" || a.kind === "zfs.clone" || a.kind.startsWith("jail.") || a.kind === "pf.load"));
  const fetched = JSON.parse((await runCli(["fetch", "--config", config, "--json"])).stdout) as { lastApplied: string | null };
  assert.equal(fetched.lastApplied, null, "plan records nothing");
});

test("apply converges the new revision and records it; a second apply does nothing", async () => {
  const first = await apply();
  assert.equal(first.code, 0);
  assert.equal(first.out.source.recorded, true);
  assert.equal(await pool.get(`${pool.name}/steward/data/blog/www`, "quota"), String(1024 ** 3));
  const second = await apply();
  assert.equal(second.code, 0);
  assert.equal(second.out.source.decision.kind, "unchanged");
  assert.deepEqual(second.out.plan.actions, []);
});

test("an unsigned commit is held: apply keeps the last applied revision converged and exits 1", async () => {
  const applied = (await apply()).out.source.revision;
  commit(cluster("5G"), false);
  const held = await apply();
  assert.equal(held.code, 1);
  assert.equal(held.out.source.decision.kind, "hold");
  assert.equal(held.out.source.decision.reason?.code, "SOURCE_UNSIGNED");
  assert.equal(held.out.source.revision, applied);
  assert.equal(held.out.source.recorded, false);
  assert.equal(await pool.get(`${pool.name}/steward/data/blog/www`, "quota"), String(1024 ** 3));
});

test("a signed commit on top of the unsigned one is still held", async () => {
  commit(cluster("2G"), true);
  const r = await apply();
  assert.equal(r.code, 1);
  assert.equal(r.out.source.decision.reason?.code, "SOURCE_UNSIGNED");
});

test("once the unsigned commit is replaced by a signed one, the change is applied: one set, recorded", async () => {
  const applied = (await apply()).out.source.revision;
  work.resetHard(applied);
  for (const [path, text] of Object.entries(cluster("2G"))) work.write(path, text);
  const fix = work.commit("quota 2G", { signer: admin });
  work.push(bare, { force: true });
  const r = await apply();
  assert.equal(r.code, 0);
  assert.equal(r.out.source.revision, fix);
  assert.deepEqual(r.out.plan.actions.map((a) => a.id), [`zfs.set:${pool.name}/steward/data/blog/www:quota`]);
  assert.equal(r.out.source.recorded, true);
  assert.equal(await pool.get(`${pool.name}/steward/data/blog/www`, "quota"), String(2 * 1024 ** 3));
});

test("plan --rev previews any fetched revision without verifying or changing anything", async () => {
  const old = work.head();
  const r = await runCli(["plan", "--config", config, "--rev", old.slice(0, 12), "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as ApplyJson).source.revision, old);
  assert.equal((await runCli(["apply", "--config", config, "--rev", old])).code, 2, "apply refuses --rev");
});

test("a signed commit whose manifest is invalid: the last applied revision stays converged (a hand edit is corrected), the invalid one is reported, exit 1", async () => {
  const applied = (await apply()).out.source.revision;
  const broken = commit({ "services/blog.yaml": "node: n1\njail:\n  ip: 10.17.0.40\ndatasets:\n  www: { mount: /usr/local/www, quota: lots }\n" }, true);
  // A hand edit the last applied revision must keep correcting.
  const dataset = `${pool.name}/steward/data/blog/www`;
  const zfs = await import("node:child_process");
  zfs.execFileSync("zfs", ["set", "quota=3G", dataset]);
  const plan = await runCli(["plan", "--config", config, "--json"]);
  assert.equal(plan.code, 1, plan.stderr);
  const planned = JSON.parse(plan.stdout) as ApplyJson & { diagnostics: { code: string; where: { file: string } }[]; source: { rejected: { revision: string } } };
  assert.equal(planned.source.revision, applied);
  assert.equal(planned.source.rejected.revision, broken);
  assert.ok(planned.diagnostics.some((d) => d.code === "MANIFEST_SCHEMA" && d.where.file === "services/blog.yaml"), JSON.stringify(planned.diagnostics));
  assert.deepEqual(planned.plan.actions.map((a) => a.id), [`zfs.set:${dataset}:quota`]);
  const r = await apply();
  assert.equal(r.code, 1);
  assert.equal(r.out.source.revision, applied);
  assert.equal(r.out.source.recorded, false);
  assert.equal(await pool.get(dataset, "quota"), String(2 * 1024 ** 3), "the hand edit is corrected");
  const text = await runCli(["apply", "--config", config]);
  assert.match(text.stderr, /^services\/blog\.yaml:\d+:\d+ {2}MANIFEST_SCHEMA/m);
  assert.match(text.stdout, new RegExp(`the new revision ${broken} .* is signed but its manifest is invalid`));
  // Fixing the manifest in a new signed commit moves the node on.
  const fixed = commit(cluster("2G"), true);
  const after = await apply();
  assert.equal(after.code, 0);
  assert.equal(after.out.source.revision, fixed);
  assert.equal(after.out.source.recorded, true);
});

test("a manifest whose jail roots would cover this node's own state directory is refused on the node, with file:line:col", async () => {
  const inside = join(root, "etc", "inside.yaml");
  const trust = join(root, "etc", "allowed_signers");
  writeFileSync(inside, `node: n1\nstate: ${pool.dir}/jails/blog/var/db/steward\ntrust: ${trust}\ntimeout: 10\nremotes:\n  - name: origin\n    url: ${http.url("cluster.git")}\n`);
  const r = await runCli(["plan", "--config", inside, "--json"]);
  assert.equal(r.code, 1, r.stderr);
  const out = JSON.parse(r.stdout) as { diagnostics: { code: string; where: { file: string; line: number } }[] };
  assert.deepEqual(out.diagnostics.map((d) => [d.code, d.where.file, d.where.line]), [["MANIFEST_PATH", "nodes/n1.yaml", 4]]);
});
