/**
 * `steward backup status` as an admin runs it after `steward apply`: the built CLI, a cluster
 * repo in a directory whose policy keeps hourly snapshots (and later a cold disk), a real pool
 * (zfs-fuse), the jail tools simulated.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers/cli.js";
import { makeKey, writeAllowedSigners } from "../helpers/keys.js";
import { useSimulator, type Simulator } from "../helpers/sim.js";
import { TEST_RELEASE, createTestPool, installBase, type TestPool } from "../helpers/zfs-pool.js";

let pool: TestPool;
let repo: string;
let state: string;
let etc: string;
let sim: Simulator;

async function writeRepo(cold: boolean): Promise<void> {
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
      "  datasets: { compression: gzip }",
      "  backup: hourly",
      "backups:",
      "  policies:",
      "    hourly:",
      "      keep: { hourly: 2 }",
      ...(cold ? ["      cold: coldbackup"] : []),
      "",
    ].join("\n"),
  );
  await writeFile(join(repo, "nodes", "alpha.yaml"), ["arch: amd64", `pool: ${pool.name}`, "interface: em0", `jails: ${pool.dir}/jails`, ""].join("\n"));
  await writeFile(join(repo, "services", "mail.yaml"), ["node: alpha", "jail:", "  ip: 10.17.0.25", "datasets:", "  mail: { mount: /var/mail }", ""].join("\n"));
}

before(async () => {
  pool = await createTestPool("stc");
  await installBase(pool);
  sim = useSimulator();
  repo = await mkdtemp(join(tmpdir(), "steward-cli-backup-repo-"));
  state = await mkdtemp(join(tmpdir(), "steward-cli-backup-state-"));
  // The node's configuration: with --dir only its jail conf directory matters (never the host's /etc).
  etc = await mkdtemp(join(tmpdir(), "steward-cli-backup-etc-"));
  const trust = writeAllowedSigners(join(etc, "allowed_signers"), [{ principal: "admin@cluster", key: makeKey(join(etc, "keys"), "admin") }]);
  await mkdir(join(etc, "jail.conf.d"));
  await writeFile(join(etc, "steward.yaml"), `node: alpha\nstate: ${state}\ntrust: ${trust}\njail_conf_dir: ${join(etc, "jail.conf.d")}\nremotes:\n  - name: origin\n    url: ${repo}\n`);
  await writeRepo(false);
});
after(async () => {
  await pool?.destroy();
  sim?.close();
  for (const d of [repo, state, etc]) if (d !== undefined) await rm(d, { recursive: true, force: true });
});

const target = (): string[] => ["--config", join(etc, "steward.yaml"), "--node", "alpha", "--dir", repo, "--state", state];

interface StatusJson {
  ok: boolean;
  backups: { dataset: string; policy: string; copies: { kind: string; target: string; newest: string | null; ageSeconds: number | null; overdue: boolean }[] }[];
}

test("after apply, the newest hourly snapshot is minutes old: nothing overdue, exit 0", async () => {
  const applied = await runCli(["apply", ...target(), "--json"]);
  assert.equal(applied.code, 0, applied.stderr + applied.stdout);
  const r = await runCli(["backup", "status", ...target(), "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as StatusJson;
  assert.deepEqual(out.backups.map((d) => [d.dataset, d.policy]), [[`${pool.name}/steward/data/mail/mail`, "hourly"]]);
  const [snapshot] = out.backups[0]?.copies ?? [];
  assert.equal(snapshot?.kind, "snapshot");
  assert.match(snapshot?.newest ?? "", /^steward_\d{4}-\d\d-\d\d_\d\d:\d\d:\d\d_hourly$/);
  assert.ok((snapshot?.ageSeconds ?? Infinity) < 600);
  const text = await runCli(["backup", "status", ...target()]);
  assert.match(text.stdout, /snapshot .* ok\n?$/m);
});

test("steward restore --from snapshot: the newest snapshot into a new dataset beside the live one; --at before any copy, or a source the policy lacks, exit 1", async () => {
  const r = await runCli(["restore", "mail", "--from", "snapshot", ...target(), "--json"]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const out = JSON.parse(r.stdout) as { ok: boolean; restores: { dataset: string; snapshot: string; target: string }[] };
  const [one] = out.restores;
  assert.equal(one?.dataset, `${pool.name}/steward/data/mail/mail`);
  assert.match(one?.target ?? "", new RegExp(`^${pool.name}/steward/restore/mail/mail-\\d{8}T\\d{6}Z$`));
  assert.equal(await pool.get(`${one?.target}@${one?.snapshot}`, "type"), "snapshot", "received with its snapshot");
  assert.equal(await pool.get(one?.target ?? "", "mountpoint"), "none", "not mounted");
  const plan = JSON.parse((await runCli(["plan", ...target(), "--json"])).stdout) as { plan: { actions: unknown[]; findings: unknown[] } };
  assert.deepEqual([plan.plan.actions, plan.plan.findings], [[], []], "the ZFS plan leaves the restore tree alone");

  const early = await runCli(["restore", "mail", "--from", "snapshot", "--at", "2001-01-01T00:00:00Z", ...target()]);
  assert.equal(early.code, 1);
  assert.match(early.stdout, /holds no snapshot of .* from before that time/);
  const replica = await runCli(["restore", "mail", "--from", "replica", ...target()]);
  assert.equal(replica.code, 1);
  assert.match(replica.stdout, /its policy has no replica copy/);
  assert.equal((await runCli(["restore", "mail", "--from", "tape", ...target()])).code, 2);
});

test("a cold disk never plugged in is overdue: the table says OVERDUE, exit 1", async () => {
  await writeRepo(true);
  const r = await runCli(["backup", "status", ...target()]);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, /cold coldbackup +none yet +- +7d +OVERDUE/);
  assert.match(r.stdout, /^cold disk coldbackup: not plugged in$/m);
});

test("backup without `status` is a usage error", async () => {
  const r = await runCli(["backup", ...target()]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /status/);
});
