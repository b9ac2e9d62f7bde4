/**
 * A long send, seen from another process: the real apply path (applyNode with the ZFS and
 * backup drivers, the progress file it writes) sends a real dataset with real `zfs send` and
 * `zfs receive` to a plugged-in cold disk (a second zfs-fuse pool), while `steward backup
 * status`, the built CLI in its own process, reads the transfer in flight. zfs-fuse moves a
 * dataset this size in a fraction of a second, so the test's executor puts pv(1) between the
 * two (`zfs send | pv -qL 1536k | zfs receive`): the stream, its count and its estimate are
 * real, only slowed down to 1.5 MiB/s (about 8 seconds).
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { Writable } from "node:stream";
import { pino } from "pino";
import { progressPath } from "../../agent/src/apply/progress-file.js";
import { backupDriver } from "../../agent/src/drivers/backup/driver.js";
import type { Driver } from "../../agent/src/drivers/driver.js";
import { zfsDriver } from "../../agent/src/drivers/zfs/driver.js";
import { systemExecutor, type Executor } from "../../agent/src/exec.js";
import { applyNode, desiredFromDir } from "../../agent/src/reconcile.js";
import { runCli, startCli } from "../helpers/cli.js";
import { makeKey, writeAllowedSigners } from "../helpers/keys.js";
import { TEST_RELEASE, createTestPool, installBase, zfsOk, zfsRun, type TestPool } from "../helpers/zfs-pool.js";

const DRIVERS: readonly Driver[] = [zfsDriver as Driver, backupDriver as Driver];
const DATA_MIB = 12;
const MiB = 1024 * 1024;
let pool: TestPool;
let cold: string;
let diskDir: string;
let repo: string;
let state: string;
let etc: string;
const log = pino({ level: "info" }, new Writable({ write: (_c, _e, done) => done() }));

/** The real executor, with pv(1) slowing each pipeline down after its first stage. */
const slowed: Executor = {
  run: (argv, options) => systemExecutor.run(argv, options),
  writeFile: (path, data, mode) => systemExecutor.writeFile(path, data, mode),
  pipe: (stages, options) => {
    const [first, ...rest] = stages;
    return (systemExecutor.pipe as NonNullable<Executor["pipe"]>)(first === undefined ? stages : [first, ["pv", "-qL", "1536k"], ...rest], options);
  },
};

before(async () => {
  pool = await createTestPool("sbp");
  await installBase(pool);
  diskDir = await mkdtemp("/var/tmp/steward-progress-");
  cold = `sbd${randomBytes(4).toString("hex")}`;
  const fh = await open(join(diskDir, "disk.img"), "w");
  await fh.truncate(128 * 1024 * 1024);
  await fh.close();
  await zfsOk(["zpool", "create", "-m", "none", cold, join(diskDir, "disk.img")]);
  repo = await mkdtemp(join(tmpdir(), "steward-progress-repo-"));
  state = await mkdtemp(join(tmpdir(), "steward-progress-state-"));
  etc = await mkdtemp(join(tmpdir(), "steward-progress-etc-"));
  await mkdir(join(repo, "nodes"));
  await mkdir(join(repo, "services"));
  await writeFile(
    join(repo, "cluster.yaml"),
    ["network:", "  jails: 10.17.0.0/24", "  protect: [192.168.1.0/24]", "defaults:", `  release: ${TEST_RELEASE}`, "  backup: hourly", "backups:", "  policies:", "    hourly:", "      keep: { hourly: 2 }", `      cold: ${cold}`, ""].join("\n"),
  );
  await writeFile(join(repo, "nodes", "alpha.yaml"), ["arch: amd64", `pool: ${pool.name}`, "interface: em0", `jails: ${pool.dir}/jails`, ""].join("\n"));
  await writeFile(join(repo, "services", "mail.yaml"), ["node: alpha", "jail:", "  ip: 10.17.0.25", "datasets:", "  mail: { mount: /var/mail }", ""].join("\n"));
  const trust = writeAllowedSigners(join(etc, "allowed_signers"), [{ principal: "admin@cluster", key: makeKey(join(etc, "keys"), "admin") }]);
  await mkdir(join(etc, "jail.conf.d"));
  await writeFile(join(etc, "steward.yaml"), `node: alpha\nstate: ${state}\ntrust: ${trust}\njail_conf_dir: ${join(etc, "jail.conf.d")}\nremotes:\n  - name: origin\n    url: ${repo}\n`);
});
after(async () => {
  await pool?.destroy();
  if (cold !== undefined) {
    if (!(await zfsOk(["zpool", "list", "-H", "-o", "name"])).split("\n").includes(cold)) await zfsRun(["zpool", "import", "-d", diskDir, cold]);
    for (let i = 0; i < 40 && (await zfsRun(["zpool", "destroy", "-f", cold])).exitCode !== 0; i++) await new Promise((r) => setTimeout(r, 250));
  }
  for (const d of [repo, state, etc, diskDir]) if (d !== undefined) await rm(d, { recursive: true, force: true });
});

const target = (): string[] => ["--config", join(etc, "steward.yaml"), "--node", "alpha", "--dir", repo, "--state", state];

interface Transfer {
  action: string;
  kind: string;
  dataset: string;
  target: string;
  bytes: number;
  estimateBytes: number | null;
  percent: number | null;
  bytesPerSecond: number;
  startedAt: string;
  updatedAt: string;
}

test("a long send to a cold disk: another process's `steward backup status` sees it in flight, with its estimate, and --watch follows it to its end", async () => {
  const loaded = await desiredFromDir(repo, "alpha");
  const desired = loaded.desired;
  assert.ok(desired !== undefined, JSON.stringify(loaded.diagnostics));
  const mail = `${pool.name}/steward/data/mail/mail`;

  // The node runs mail already (its dataset made and written to) when its backups begin:
  // zfs-fuse can hang its daemon when a file system is written to right after it was created,
  // snapshotted and sent (docs/decisions.md, "The portable subset of zfs").
  const { backups: _none, ...without } = desired;
  const first = await applyNode(without, { executor: systemExecutor, stateDir: state, log, drivers: DRIVERS });
  assert.ok(first.result.ok, JSON.stringify(first.result.outcomes));
  const mountpoint = (await zfsOk(["zfs", "get", "-Hp", "-o", "value", "mountpoint", mail])).trim();
  await writeFile(join(mountpoint, "mbox"), randomBytes(DATA_MIB * MiB));
  await systemExecutor.run(["sync"]);
  await new Promise((r) => setTimeout(r, 1000));
  // zfs-fuse counts new blocks in `referenced` when its transaction group syncs: wait for that.
  for (let i = 0; i < 100 && Number((await zfsOk(["zfs", "get", "-Hp", "-o", "value", "referenced", mail])).trim()) < (DATA_MIB - 1) * MiB; i++) await new Promise((r) => setTimeout(r, 100));

  // Backups begin, the disk plugged in: this run takes a snapshot and sends it whole, slowly.
  const running = applyNode(desired, { executor: slowed, stateDir: state, log, drivers: DRIVERS });
  let over = false;
  void running.finally(() => {
    over = true;
  });

  let seen: Transfer | undefined;
  while (!over && seen === undefined) {
    const r = await runCli(["backup", "status", ...target(), "--json"]);
    assert.ok(r.code === 0 || r.code === 1, r.stderr);
    seen = (JSON.parse(r.stdout) as { transfers: Transfer[] }).transfers[0];
  }
  assert.ok(seen !== undefined, "the transfer was seen before the apply ended");
  // While it runs: a text status, then --watch until it ends (no terminal: a block per second).
  // One after the other: zfs-fuse is fragile under concurrent work (see SERIAL_TESTS in the Makefile).
  const text = await runCli(["backup", "status", ...target()]);
  const watched = await startCli(["backup", "status", ...target(), "--watch"], { timeoutMs: 60_000 }).done;
  const run = await running;
  assert.ok(run.result.ok, JSON.stringify(run.result.outcomes));

  const send = run.plan.actions.find((a) => a.kind === "backup.send");
  const step = send?.steps.find((s) => "pipeline" in s);
  const estimate = step !== undefined && "pipeline" in step ? step.estimateBytes : undefined;
  assert.ok(estimate !== undefined && estimate >= (DATA_MIB - 1) * MiB && estimate <= (DATA_MIB + 1) * MiB, `a whole send's estimate is the dataset's referenced: ${String(estimate)}`);
  assert.equal(seen.action, send?.id);
  assert.deepEqual([seen.kind, seen.dataset, seen.target, seen.estimateBytes], ["cold", mail, cold, estimate]);
  assert.ok(seen.bytes > 0 && seen.bytes < (DATA_MIB + 1) * MiB, String(seen.bytes));
  assert.ok(seen.percent !== null && seen.percent >= 0 && seen.percent <= 99, String(seen.percent));
  assert.ok(Date.parse(seen.startedAt) <= Date.parse(seen.updatedAt));

  assert.match(text.stdout, new RegExp(`^sending ${mail} to cold ${cold}: [\\d.]+ [KM]iB of ~[\\d.]+ MiB \\(\\d+%\\), [\\d.]+ (?:B|KiB|MiB)/s`, "m"), text.stdout);
  assert.ok(watched.code === 0 || watched.code === 1, watched.stderr);
  const lines = watched.stdout.trimEnd().split("\n");
  assert.ok(lines.some((l) => l.startsWith(`sending ${mail} to cold ${cold}: `)), watched.stdout);
  assert.equal(lines.at(-1), "no transfer in flight", "--watch ends with the transfer");
  assert.ok(!watched.stdout.includes("\x1b["), "no terminal, no cursor movement");

  assert.equal(existsSync(progressPath(state)), false, "the progress file is gone");
  const afterwards = await runCli(["backup", "status", ...target(), "--json"]);
  assert.deepEqual((JSON.parse(afterwards.stdout) as { transfers: Transfer[] }).transfers, []);
});

test("--watch with --json is a usage error", async () => {
  const r = await runCli(["backup", "status", ...target(), "--json", "--watch"]);
  assert.equal(r.code, 2);
  assert.match(r.stdout + r.stderr, /--watch/);
});
