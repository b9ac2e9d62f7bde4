/**
 * `steward restore --swap` as an admin runs it after a bad day: the built CLI, a cluster repo in
 * a directory, a real pool (zfs-fuse), the jail tools simulated. The mail dataset holds a file
 * that was good at a snapshot and bad now; the swap brings the good one back in place with the
 * jail stopped and started, keeps the bad one aside, and a swap that fails is undone.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { runCli } from "../helpers/cli.js";
import { makeKey, writeAllowedSigners } from "../helpers/keys.js";
import { useSimulator, type Simulator } from "../helpers/sim.js";
import { TEST_RELEASE, createTestPool, installBase, zfsOk, zfsRun, type TestPool } from "../helpers/zfs-pool.js";

let pool: TestPool;
let repo: string;
let state: string;
let etc: string;
let sim: Simulator;
let live: string;
let inbox: string;

// A Steward snapshot from long before the apply's own: `--at` picks it.
const GOOD = "steward_2026-01-01_00:00:00_hourly";
const AT = "2026-06-01T00:00:00Z";

before(async () => {
  pool = await createTestPool("sws");
  await installBase(pool);
  sim = useSimulator();
  repo = await mkdtemp(join(tmpdir(), "steward-swap-repo-"));
  state = await mkdtemp(join(tmpdir(), "steward-swap-state-"));
  etc = await mkdtemp(join(tmpdir(), "steward-swap-etc-"));
  await mkdir(join(repo, "nodes"), { recursive: true });
  await mkdir(join(repo, "services"), { recursive: true });
  await writeFile(
    join(repo, "cluster.yaml"),
    ["network:", "  jails: 10.17.0.0/24", "  protect: [192.168.1.0/24]", "defaults:", `  release: ${TEST_RELEASE}`, "  backup: hourly", "backups:", "  policies:", "    hourly:", "      keep: { hourly: 2 }", ""].join("\n"),
  );
  await writeFile(join(repo, "nodes", "alpha.yaml"), ["arch: amd64", `pool: ${pool.name}`, "interface: em0", `jails: ${pool.dir}/jails`, ""].join("\n"));
  await writeFile(join(repo, "services", "mail.yaml"), ["node: alpha", "jail:", "  ip: 10.17.0.25", "datasets:", "  mail: { mount: /var/mail, quota: 64M, compression: gzip }", ""].join("\n"));
  const trust = writeAllowedSigners(join(etc, "allowed_signers"), [{ principal: "admin@cluster", key: makeKey(join(etc, "keys"), "admin") }]);
  await mkdir(join(etc, "jail.conf.d"));
  await writeFile(join(etc, "steward.yaml"), `node: alpha\nstate: ${state}\ntrust: ${trust}\njail_conf_dir: ${join(etc, "jail.conf.d")}\nremotes:\n  - name: origin\n    url: ${repo}\n`);
  live = `${pool.name}/steward/data/mail/mail`;
  inbox = join(pool.dir, "jails", "mail", "var", "mail", "inbox");
});
after(async () => {
  await pool?.destroy();
  sim?.close();
  for (const d of [repo, state, etc]) if (d !== undefined) await rm(d, { recursive: true, force: true });
});

const target = (): string[] => ["--config", join(etc, "steward.yaml"), "--node", "alpha", "--dir", repo, "--state", state];

function runningJails(): { name: string; jid: string }[] {
  const out = JSON.parse(execFileSync("jls", ["--libxo", "json", "jid", "name"], { encoding: "utf8" })) as { "jail-information": { jail: { name: string; jid: string | number }[] } };
  return out["jail-information"].jail.map((j) => ({ name: j.name, jid: String(j.jid) }));
}

interface RestoreJson {
  ok: boolean;
  restores: { dataset: string; snapshot?: string; target?: string; code?: string }[];
  swap?: { ok: boolean; swapped: { dataset: string; replaced: string }[]; jail?: string; code?: string; message?: string };
}

async function datasets(): Promise<string[]> {
  return (await zfsOk(["zfs", "list", "-H", "-r", "-o", "name", `${pool.name}/steward`])).split("\n").filter((n) => n !== "");
}

test("setup: the mail jail runs; its inbox was good at a snapshot and is bad now", async () => {
  const applied = await runCli(["apply", ...target(), "--json"]);
  assert.equal(applied.code, 0, applied.stderr + applied.stdout);
  await writeFile(inbox, "good mail\n");
  await zfsOk(["zfs", "snapshot", `${live}@${GOOD}`]);
  await writeFile(inbox, "corrupted\n");
  assert.deepEqual(runningJails().map((j) => j.name), ["mail"]);
});

test("a swap whose last step fails (the jail does not start) is undone: the live dataset is as it was, and what is left to do by hand is said", async () => {
  sim.faults({ jailCreateFail: { mail: "jail_set: Cannot allocate memory" } });
  const before = await datasets();
  const r = await runCli(["restore", "mail", "--from", "snapshot", "--at", AT, "--swap", ...target(), "--json"]);
  sim.faults({});
  assert.equal(r.code, 1, r.stderr + r.stdout);
  const out = JSON.parse(r.stdout) as RestoreJson;
  const restored = out.restores[0]?.target ?? "";
  assert.equal(out.swap?.code, "RESTORE_SWAP_FAILED");
  assert.match(out.swap?.message ?? "", /jail -f \S+mail\.conf -c mail failed: .*Cannot allocate memory/);
  assert.match(out.swap?.message ?? "", /put the node back by hand:\n {2}jail -f \S+mail\.conf -c mail$/, "only the jail start is left: every ZFS step was undone");
  assert.equal(await readFile(inbox, "utf8"), "corrupted\n", "the live dataset is back, mounted where it was");
  assert.deepEqual(await datasets(), [...before, `${pool.name}/steward/restore`, `${pool.name}/steward/restore/mail`, restored].sort(), "the restore is back in the restore tree; nothing replaced");
  assert.equal(await pool.get(restored, "mountpoint"), "none");
  // The admin does what the message says (an apply does it too).
  const applied = await runCli(["apply", ...target(), "--json"]);
  assert.equal(applied.code, 0, applied.stderr + applied.stdout);
  assert.deepEqual(runningJails().map((j) => j.name), ["mail"]);
});

test("restore --swap: the good data is in place and mounted, the jail was stopped and started, the bad data is kept unmounted, and the next plan has nothing to do", async () => {
  await sleep(1100); // a restore is named to the second: not the same name as the failed one's
  const jidBefore = runningJails()[0]?.jid;
  const r = await runCli(["restore", "mail", "--from", "snapshot", "--at", AT, "--swap", ...target(), "--json"]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const out = JSON.parse(r.stdout) as RestoreJson;
  assert.equal(out.restores[0]?.snapshot, GOOD);
  assert.deepEqual(out.swap?.swapped.map((s) => s.dataset), [live]);
  assert.equal(out.swap?.jail, "mail");
  const replaced = out.swap?.swapped[0]?.replaced ?? "";
  assert.match(replaced, new RegExp(`^${pool.name}/steward/restore/mail/mail-replaced-\\d{8}T\\d{6}Z$`));

  assert.equal(await readFile(inbox, "utf8"), "good mail\n");
  assert.equal(await pool.get(live, "mounted"), "yes");
  assert.equal(await pool.get(live, "quota"), String(64 * 1024 * 1024), "the live dataset's properties came along");
  assert.equal(await pool.get(live, "org.steward:managed"), "yes");
  assert.equal(await pool.get(replaced, "mounted"), "no");
  assert.equal(await pool.get(replaced, "mountpoint"), "none");
  const jails = runningJails();
  assert.deepEqual(jails.map((j) => j.name), ["mail"]);
  assert.notEqual(jails[0]?.jid, jidBefore, "stopped and started again: a new jid");

  const plan = JSON.parse((await runCli(["plan", ...target(), "--json"])).stdout) as { plan: { actions: { id: string }[]; findings: unknown[] } };
  assert.deepEqual(plan.plan.findings, []);
  assert.deepEqual(plan.plan.actions.filter((a) => !a.id.startsWith("backup.")).map((a) => a.id), [], "the ZFS and jail drivers have nothing to change");

  // The bad data is still there to compare: mount it somewhere and look.
  const look = join(pool.dir, "look");
  await zfsOk(["zfs", "set", `mountpoint=${look}`, replaced]);
  assert.equal(await readFile(join(look, "inbox"), "utf8"), "corrupted\n");
  await zfsRun(["zfs", "set", "mountpoint=none", replaced]);

  const text = await runCli(["restore", "mail", "--from", "snapshot", "--at", "2001-01-01T00:00:00Z", "--swap", ...target()]);
  assert.equal(text.code, 1);
  assert.match(text.stdout, /RESTORE_NO_COPY .*from before that time/);
  assert.match(text.stdout, /RESTORE_SWAP_REFUSED not swapped: a restore failed/);
});
