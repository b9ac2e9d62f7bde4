/**
 * Offline editing: an admin commits on a train and pushes thirty signed commits at once. One
 * reconcile verifies every one of them, each against the trust of the commit before, and
 * converges the tip in one apply (intermediate revisions are never applied); one bad commit in
 * the middle of a batch holds the whole batch and the node stays as it was. Real git, a real
 * zfs-fuse pool, the jail tools simulated.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadConfig, type AgentConfig } from "../../agent/src/config.js";
import { systemExecutor } from "../../agent/src/exec.js";
import { silentLogger } from "../../agent/src/log.js";
import { reconcileFromSource } from "../../agent/src/reconcile.js";
import { WorkRepo, makeBare, makeKey, makeTempDir, removeDir, writeAllowedSigners, type SshKey } from "../helpers/keys.js";
import { useSimulator, type Simulator } from "../helpers/sim.js";
import { TEST_RELEASE, createTestPool, installBase, type TestPool } from "../helpers/zfs-pool.js";

const BATCH = 30;
let root: string;
let pool: TestPool;
let admin: SshKey;
let work: WorkRepo;
let bare: string;
let config: AgentConfig;
let sim: Simulator;

const blog = (quotaG: number): string => `node: n1\njail:\n  ip: 10.17.0.40\ndatasets:\n  www: { mount: /usr/local/www, quota: ${quotaG}G }\n`;
const www = (): string => `${pool.name}/steward/data/blog/www`;
const reconcile = () => reconcileFromSource({ config, executor: systemExecutor, log: silentLogger });

before(async () => {
  root = makeTempDir();
  pool = await createTestPool("sob");
  await installBase(pool);
  admin = makeKey(join(root, "keys"), "admin");
  const trust = writeAllowedSigners(join(root, "etc", "allowed_signers"), [{ principal: "admin@cluster", key: admin }]);
  bare = makeBare(join(root, "cluster.git"));
  work = WorkRepo.create(join(root, "work"));
  work.write("cluster.yaml", `network:\n  jails: 10.17.0.0/24\n  protect: [192.168.1.0/24]\ndefaults:\n  release: ${TEST_RELEASE}\n  datasets: { compression: gzip }\n`);
  work.write("nodes/n1.yaml", `arch: amd64\npool: ${pool.name}\ninterface: em0\njails: ${pool.dir}/jails\n`);
  work.write("services/blog.yaml", blog(1));
  work.commit("the cluster", { signer: admin });
  work.push(bare);
  mkdirSync(join(root, "jail.conf.d"));
  const file = join(root, "etc", "steward.yaml");
  writeFileSync(file, `node: n1\nstate: ${join(root, "state")}\ntrust: ${trust}\njail_conf_dir: ${join(root, "jail.conf.d")}\ntimeout: 10\nremotes:\n  - name: origin\n    url: ${bare}\n`);
  config = await loadConfig(file);
  sim = useSimulator();
  const first = await reconcile();
  assert.equal(first.run?.result.ok, true);
});

after(async () => {
  sim?.close();
  await pool?.destroy();
  removeDir(root);
});

test(`${BATCH} signed commits pushed at once: one reconcile verifies each and applies the tip in one apply`, async () => {
  const oids: string[] = [];
  for (let i = 2; i < BATCH + 2; i++) oids.push(work.write("services/blog.yaml", blog(i)).commit(`quota ${i}G, written offline`, { signer: admin }));
  work.push(bare);
  const tip = oids.at(-1) as string;
  const r = await reconcile();
  assert.equal(r.source.decision.kind, "apply");
  assert.equal(r.source.verification?.ok && r.source.verification.commits, BATCH, "every commit of the batch was verified");
  assert.equal(r.recorded, tip);
  // One plan, for the tip: the quota goes straight to its last value.
  const sets = r.run?.plan.actions.filter((a) => a.kind === "zfs.set") ?? [];
  assert.deepEqual(sets.map((a) => a.id), [`zfs.set:${www()}:quota`]);
  assert.equal(r.run?.plan.actions.length, 1, JSON.stringify(r.run?.plan.actions.map((a) => a.id)));
  assert.equal(await pool.get(www(), "quota"), String((BATCH + 1) * 1024 ** 3));
});

test("a bad commit in the middle of a batch holds the whole batch; the node stays as it was", async () => {
  const before = await pool.get(www(), "quota");
  let bad = "";
  for (let i = 0; i < BATCH; i++) {
    const oid = work.write("services/blog.yaml", blog(100 + i)).commit(`quota ${100 + i}G`, i === BATCH / 2 ? {} : { signer: admin });
    if (i === BATCH / 2) bad = oid;
  }
  work.push(bare);
  const r = await reconcile();
  assert.equal(r.source.decision.kind, "hold");
  assert.ok(r.source.decision.kind === "hold" && r.source.decision.reason.code === "SOURCE_UNSIGNED", JSON.stringify(r.source.decision));
  assert.equal(r.source.decision.kind === "hold" ? r.source.decision.reason.data["commit"] : undefined, bad, "the refusal names the bad commit");
  assert.equal(r.recorded, undefined);
  assert.deepEqual(r.run?.plan.actions, [], "the last applied revision stays converged");
  assert.equal(await pool.get(www(), "quota"), before);
});
