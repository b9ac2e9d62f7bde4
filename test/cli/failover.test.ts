/**
 * Failover (and drain) for real (docs/backups.md, "Failover and drain"): two zfs-fuse pools,
 * alpha's and beta's, each node applying its own manifest through the built CLI with its own
 * simulated jail tools; an OpenSSH server on loopback whose key runs steward-receive for
 * alpha's replica tree on beta. Alpha's mail data reaches beta as a replica; when alpha is
 * marked down and mail moved to beta, beta seeds mail from that replica at once: what was
 * written before the replica is there, what was written after it is not.
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
let sshd: Sshd;
let repo: string;
let tmp: string;
let simAlpha: Simulator;
let simBeta: Simulator;

interface Layout {
  /** Where each service runs. */
  readonly mail: "alpha" | "beta";
  /** mail's backup policy: none, or hourly snapshots replicated to beta. */
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
  await writeFile(join(repo, "nodes", "alpha.yaml"), ["arch: amd64", `pool: ${alpha.name}`, "interface: em0", `jails: ${alpha.dir}/jails`, ...(l.alphaDown === true ? ["down: true"] : []), ""].join("\n"));
  await writeFile(join(repo, "nodes", "beta.yaml"), ["arch: amd64", `pool: ${beta.name}`, "interface: em0", `jails: ${beta.dir}/jails`, receive, ""].join("\n"));
  await writeFile(join(repo, "services", "mail.yaml"), [`node: ${l.mail}`, ...(l.backup ? ["backup: hourly"] : []), "jail:", "  ip: 10.17.0.25", "datasets:", "  mail: { mount: /var/mail }", ""].join("\n"));
}

/** Each node's steward.yaml and state: alpha logs in to beta with the sshd's client key. */
async function nodeConfig(node: "alpha" | "beta"): Promise<string> {
  const etc = join(tmp, node);
  await mkdir(join(etc, "jail.conf.d"), { recursive: true });
  const trust = writeAllowedSigners(join(etc, "allowed_signers"), [{ principal: "admin@cluster", key: makeKey(join(etc, "keys"), "admin") }]);
  const config = join(etc, "steward.yaml");
  await writeFile(
    config,
    [`node: ${node}`, `state: ${join(etc, "state")}`, `trust: ${trust}`, `jail_conf_dir: ${join(etc, "jail.conf.d")}`, `backup_key: ${sshd.clientKey.private}`, `backup_known_hosts: ${sshd.knownHosts}`, "remotes:", "  - name: origin", `    url: ${repo}`, ""].join("\n"),
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
  [alpha, beta] = await Promise.all([createTestPool("sfa", 256), createTestPool("sfb", 256)]);
  await installBase(alpha);
  await installBase(beta);
  tmp = await mkdtemp(join(tmpdir(), "steward-failover-"));
  repo = join(tmp, "repo");
  sshd = await startSshd(join(tmp, "sshd"), { command: `${join(REPO_ROOT, "packaging/backup/steward-receive")} ${beta.name}/steward/replica/alpha` });
  simAlpha = useSimulator();
  simBeta = useSimulator();
  configs["alpha"] = await nodeConfig("alpha");
  configs["beta"] = await nodeConfig("beta");
});
after(async () => {
  simBeta?.close();
  simAlpha?.close();
  await sshd?.close();
  await Promise.all([alpha?.destroy(), beta?.destroy()]);
  if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
});

const alphaMail = (): string => join(alpha.dir, "jails/mail/var/mail");
const betaMail = (): string => join(beta.dir, "jails/mail/var/mail");

test("failover: alpha's mail data replicated to beta; alpha marked down and mail moved: beta seeds it at once from the replica, losing only what came after it", async () => {
  await writeRepo({ mail: "alpha", backup: false });
  for (const node of ["beta", "alpha"] as const) {
    const r = await apply(node);
    assert.equal(r.code, 0, `${node}: ${r.stdout}${r.stderr}`);
  }
  await writeFile(join(alphaMail(), "before.txt"), "written before the replica\n");
  await writeRepo({ mail: "alpha", backup: true });
  const sent = await apply("alpha");
  assert.equal(sent.code, 0, sent.stdout + sent.stderr);
  const replica = `${beta.name}/steward/replica/alpha/mail/mail`;
  const snapshots = (await zfsOk(["zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-r", replica])).trim().split("\n");
  assert.equal(snapshots.length, 1, "the replica holds alpha's snapshot");
  await writeFile(join(alphaMail(), "after.txt"), "written after the replica: lost in a failover\n");

  // Alpha dies. The admin marks it down and moves mail to beta.
  await writeRepo({ mail: "beta", backup: true, alphaDown: true });
  const plan = await runCli(["plan", "--config", configs["beta"] as string, "--node", "beta", "--dir", repo, "--state", join(tmp, "beta", "state")], { env: { ...process.env, STEWARD_SIM_ROOT: simBeta.root } });
  assert.match(plan.stdout + plan.stderr, new RegExp(`\\+ seed +${beta.name}/steward/data/mail/mail from ${replica}@steward_\\S+_hourly .*taken \\d+s ago \\(alpha is marked down: what was written there after this snapshot is lost\\)`));
  const seeded = await apply("beta", ["--json"]);
  assert.equal(seeded.code, 0, seeded.stdout + seeded.stderr);
  assert.equal(await readFile(join(betaMail(), "before.txt"), "utf8"), "written before the replica\n");
  assert.equal(existsSync(join(betaMail(), "after.txt")), false, "written after the newest replica: not on beta");
  assert.equal(await beta.get(`${beta.name}/steward/data/mail/mail`, "org.steward:managed"), "yes");
  assert.equal(await beta.get(`${beta.name}/steward/data/mail/mail`, "mounted"), "yes");
  assert.deepEqual((await zfsOk(["zfs", "list", "-H", "-o", "name", "-t", "snapshot", "-r", replica])).trim().split("\n"), snapshots, "the replica is left as it was");
  const again = await runCli(["plan", "--config", configs["beta"] as string, "--node", "beta", "--dir", repo, "--state", join(tmp, "beta", "state"), "--json"], { env: { ...process.env, STEWARD_SIM_ROOT: simBeta.root } });
  const next = JSON.parse(again.stdout) as { plan: { actions: { id: string }[]; findings: unknown[] } };
  assert.deepEqual(next.plan.actions.filter((a) => a.id.startsWith("zfs.")), [], "converged: nothing left for the ZFS driver");
});
