/**
 * Drain and failover for real (docs/backups.md, "Failover and drain"): two zfs-fuse pools,
 * alpha's and beta's, each node applying its own manifest through the built CLI with its own
 * simulated jail tools; an OpenSSH server on loopback whose key runs steward-receive for
 * alpha's replica tree on beta. Alpha's mail and cal data reach beta as replicas. Mail moved
 * while alpha lives is drained: beta waits for alpha's final copy and loses nothing. Then alpha
 * dies: marked down and cal moved, beta seeds cal from its replica at once: what was written
 * before the replica is there, what was written after it is not.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT, runCli } from "../helpers/cli.js";
import { makeKey, writeAllowedSigners } from "../helpers/keys.js";
import { useSimulator, type Simulator } from "../helpers/sim.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";
import { TEST_RELEASE, createTestPool, installBase, zfsOk, type TestPool } from "../helpers/zfs-pool.js";

let alpha: TestPool;
let beta: TestPool;
/** Beta's sshd runs steward-receive for alpha's replicas; alpha's, for beta's. */
let sshd: Sshd;
let sshdAlpha: Sshd;
let repo: string;
let tmp: string;
let simAlpha: Simulator;
let simBeta: Simulator;

interface Layout {
  /** Where each service runs. */
  readonly mail: "alpha" | "beta";
  readonly cal: "alpha" | "beta";
  /** The services' backup policy: none, or hourly snapshots replicated to beta. */
  readonly backup: boolean;
  readonly alphaDown?: boolean;
}

async function writeRepo(l: Layout): Promise<void> {
  await mkdir(join(repo, "nodes"), { recursive: true });
  await mkdir(join(repo, "services"), { recursive: true });
  await writeFile(
    join(repo, "cluster.yaml"),
    [
      "network:",
      "  jails: 10.17.0.0/24",
      "  protect: [192.168.1.0/24]",
      "defaults:",
      `  release: ${TEST_RELEASE}`,
      "backups:",
      "  policies:",
      "    hourly:",
      "      keep: { hourly: 3 }",
      "      replica: [beta, alpha]",
      "",
    ].join("\n"),
  );
  const receive = `receive: ssh://${sshd.user}@127.0.0.1:${sshd.port}`;
  const alphaReceive = `receive: ssh://${sshdAlpha.user}@127.0.0.1:${sshdAlpha.port}`;
  await writeFile(join(repo, "nodes", "alpha.yaml"), ["arch: amd64", `pool: ${alpha.name}`, "interface: em0", `jails: ${alpha.dir}/jails`, alphaReceive, ...(l.alphaDown === true ? ["down: true"] : []), ""].join("\n"));
  await writeFile(join(repo, "nodes", "beta.yaml"), ["arch: amd64", `pool: ${beta.name}`, "interface: em0", `jails: ${beta.dir}/jails`, receive, ""].join("\n"));
  const service = (node: string, ip: string, mount: string): string => [`node: ${node}`, ...(l.backup ? ["backup: hourly"] : []), "jail:", `  ip: ${ip}`, "datasets:", `  data: { mount: ${mount} }`, ""].join("\n");
  await writeFile(join(repo, "services", "mail.yaml"), service(l.mail, "10.17.0.25", "/var/mail"));
  await writeFile(join(repo, "services", "cal.yaml"), service(l.cal, "10.17.0.26", "/var/db/cal"));
}

/** Each node's steward.yaml and state: alpha logs in to beta's sshd with its client key, beta to alpha's. */
async function nodeConfig(node: "alpha" | "beta"): Promise<string> {
  const peer = node === "alpha" ? sshd : sshdAlpha;
  const etc = join(tmp, node);
  await mkdir(join(etc, "jail.conf.d"), { recursive: true });
  const trust = writeAllowedSigners(join(etc, "allowed_signers"), [{ principal: "admin@cluster", key: makeKey(join(etc, "keys"), "admin") }]);
  const config = join(etc, "steward.yaml");
  await writeFile(
    config,
    [`node: ${node}`, `state: ${join(etc, "state")}`, `trust: ${trust}`, `jail_conf_dir: ${join(etc, "jail.conf.d")}`, `backup_key: ${peer.clientKey.private}`, `backup_known_hosts: ${peer.knownHosts}`, "remotes:", "  - name: origin", `    url: ${repo}`, ""].join("\n"),
  );
  return config;
}

const configs: Record<string, string> = {};

/** apply runs `steward apply` as `node` does, with that node's simulated jail tools. */
function apply(node: "alpha" | "beta", extra: string[] = []) {
  const sim = node === "alpha" ? simAlpha : simBeta;
  return runCli(["apply", "--config", configs[node] as string, "--node", node, "--dir", repo, "--state", join(tmp, node, "state"), ...extra], { env: { ...process.env, STEWARD_SIM_ROOT: sim.root }, timeoutMs: 180_000 });
}

before(async () => {
  // One pool at a time: the less concurrent work zfs-fuse gets, the less it hangs (docs/decisions.md).
  alpha = await createTestPool("sfa", 256);
  beta = await createTestPool("sfb", 256);
  await installBase(alpha);
  await installBase(beta);
  tmp = await mkdtemp(join(tmpdir(), "steward-failover-"));
  repo = join(tmp, "repo");
  sshd = await startSshd(join(tmp, "sshd"), { command: `${join(REPO_ROOT, "packaging/backup/steward-receive")} ${beta.name}/steward/replica/alpha` });
  sshdAlpha = await startSshd(join(tmp, "sshd-alpha"), { command: `${join(REPO_ROOT, "packaging/backup/steward-receive")} ${alpha.name}/steward/replica/beta` });
  simAlpha = useSimulator();
  simBeta = useSimulator();
  configs["alpha"] = await nodeConfig("alpha");
  configs["beta"] = await nodeConfig("beta");
});
after(async () => {
  simBeta?.close();
  simAlpha?.close();
  await sshd?.close();
  await sshdAlpha?.close();
  await Promise.all([alpha?.destroy(), beta?.destroy()]);
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

/** Where a service's data is mounted on a node. */
const dataDir = (pool: TestPool, service: "mail" | "cal"): string => join(pool.dir, "jails", service, service === "mail" ? "var/mail" : "var/db/cal");
const dataset = (pool: TestPool, service: string): string => `${pool.name}/steward/data/${service}/data`;
const replicaOf = (service: string): string => `${beta.name}/steward/replica/alpha/${service}/data`;
const snapshotsOf = async (name: string): Promise<string[]> => (await zfsOk(["zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-r", name])).trim().split("\n");
const planOn = (node: "alpha" | "beta", json: boolean) =>
  runCli(["plan", "--config", configs[node] as string, "--node", node, "--dir", repo, "--state", join(tmp, node, "state"), ...(json ? ["--json"] : [])], { env: { ...process.env, STEWARD_SIM_ROOT: (node === "alpha" ? simAlpha : simBeta).root } });

test("setup: mail and cal run on alpha; their data, written before, replicated to beta", async () => {
  await writeRepo({ mail: "alpha", cal: "alpha", backup: false });
  for (const node of ["beta", "alpha"] as const) {
    const r = await apply(node);
    assert.equal(r.code, 0, `${node}: ${r.stdout}${r.stderr}`);
  }
  for (const service of ["mail", "cal"] as const) await writeFile(join(dataDir(alpha, service), "before.txt"), "written before the replica\n");
  await writeRepo({ mail: "alpha", cal: "alpha", backup: true });
  const sent = await apply("alpha");
  assert.equal(sent.code, 0, sent.stdout + sent.stderr);
  for (const service of ["mail", "cal"]) assert.equal((await snapshotsOf(replicaOf(service))).length, 1, `the replica of ${service} holds alpha's snapshot`);
  for (const service of ["mail", "cal"] as const) await writeFile(join(dataDir(alpha, service), "after.txt"), "written after the replica\n");
});

test("drain: mail moved to beta while alpha is alive: beta waits; alpha stops the jail and sends the final copy; beta starts mail from it with everything, and alpha sends it only once", async () => {
  await writeRepo({ mail: "beta", cal: "alpha", backup: true });
  const early = await apply("beta", ["--json"]);
  assert.notEqual(early.code, 0, "beta waits for the final copy: the dataset is blocked");
  assert.match(early.stdout, /seed-waiting/);
  assert.equal(existsSync(join(dataDir(beta, "mail"), "before.txt")), false, "not started from the stale replica");

  const drained = await apply("alpha", ["--json"]);
  assert.equal(drained.code, 0, drained.stdout + drained.stderr);
  const actions = (JSON.parse(drained.stdout) as { plan: { actions: { id: string }[] } }).plan.actions.map((a) => a.id);
  assert.ok(actions.indexOf(`backup.send:${dataset(alpha, "mail")}:replica-beta`) > actions.findIndex((id) => id.startsWith("jail.") && id.includes("mail")), `the final copy after the jail stopped: ${actions.join(", ")}`);
  assert.match((await snapshotsOf(replicaOf("mail"))).pop() ?? "", /@steward_\S+_final$/, "beta's replica ends with the final copy");

  const seeded = await apply("beta", ["--json"]);
  assert.equal(seeded.code, 0, seeded.stdout + seeded.stderr);
  assert.equal(await readFile(join(dataDir(beta, "mail"), "after.txt"), "utf8"), "written after the replica\n", "nothing written on alpha is left behind");
  const again = JSON.parse((await planOn("alpha", true)).stdout) as { plan: { actions: { id: string }[] } };
  assert.deepEqual(again.plan.actions.filter((a) => a.id.includes("/mail/")), [], "the final copy is sent once");
});

test("failover: alpha dies; marked down and cal moved: beta seeds cal at once from the replica, losing only what came after it", async () => {
  await writeRepo({ mail: "beta", cal: "beta", backup: true, alphaDown: true });
  const snapshots = await snapshotsOf(replicaOf("cal"));
  const plan = await planOn("beta", false);
  assert.match(plan.stdout + plan.stderr, new RegExp(`\\+ seed +${dataset(beta, "cal")} from ${replicaOf("cal")}@steward_\\S+_hourly .*taken \\d+[sm] ago \\(alpha is marked down: what was written there after this snapshot is lost\\)`));
  const seeded = await apply("beta", ["--json"]);
  assert.equal(seeded.code, 0, seeded.stdout + seeded.stderr);
  assert.equal(await readFile(join(dataDir(beta, "cal"), "before.txt"), "utf8"), "written before the replica\n");
  assert.equal(existsSync(join(dataDir(beta, "cal"), "after.txt")), false, "written after the newest replica: not on beta");
  assert.equal(await beta.get(dataset(beta, "cal"), "org.steward:managed"), "yes");
  assert.equal(await beta.get(dataset(beta, "cal"), "mounted"), "yes");
  assert.deepEqual(await snapshotsOf(replicaOf("cal")), snapshots, "the replica is left as it was");
  const next = JSON.parse((await planOn("beta", true)).stdout) as { plan: { actions: { id: string }[] } };
  assert.deepEqual(next.plan.actions.filter((a) => a.id.startsWith("zfs.")), [], "converged: nothing left for the ZFS driver");
});
