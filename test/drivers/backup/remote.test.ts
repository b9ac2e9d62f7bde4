/**
 * Remote copies, encrypted, for real: the node's zfs-fuse pool, an OpenSSH server on loopback
 * whose only authorized key runs packaging/backup/steward-store for a directory (the remote file
 * store), and age. The streams are encrypted before they leave the node (a marker written into
 * the dataset is in a plain stream, and in no stored file), chained (a full file, then
 * increments), and restore byte for byte with only the age identity and the files.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { backupDriver } from "../../../agent/src/drivers/backup/driver.js";
import { readBackupReport } from "../../../agent/src/drivers/backup/observe.js";
import { backupStatePath } from "../../../agent/src/drivers/backup/state.js";
import { sshArgv } from "../../../agent/src/drivers/backup/commands.js";
import { parseStoreList, restoreChain } from "../../../agent/src/drivers/backup/remote.js";
import { planRestore } from "../../../agent/src/drivers/backup/restore.js";
import type { Driver } from "../../../agent/src/drivers/driver.js";
import { zfsDriver } from "../../../agent/src/drivers/zfs/driver.js";
import { systemExecutor } from "../../../agent/src/exec.js";
import { silentLogger } from "../../../agent/src/log.js";
import type { DesiredState } from "../../../agent/src/manifest/types.js";
import { applyNode, type ApplyNodeResult } from "../../../agent/src/reconcile.js";
import { REPO_ROOT } from "../../helpers/cli.js";
import { startSshd, type Sshd } from "../../helpers/sshd.js";
import { createTestPool, zfsOk, zfsRun, type TestPool } from "../../helpers/zfs-pool.js";
import { containers, desiredState, ds } from "../zfs/build.js";
import { at, dsBackup, nodeBackups } from "./build.js";

const DRIVERS: readonly Driver[] = [zfsDriver as Driver, backupDriver as Driver];
const MARKER = `STEWARD-MARKER-${randomBytes(8).toString("hex")}`;
let alpha: TestPool;
let sshd: Sshd;
let state: string;
let dir: string;
let store: string;
let identity: string;
let recipient: string;
before(async () => {
  alpha = await createTestPool("sre", 256);
  state = await mkdtemp(join(tmpdir(), "steward-remote-"));
  dir = await mkdtemp(join(tmpdir(), "steward-remote-sshd-"));
  store = await mkdtemp(join(tmpdir(), "steward-remote-store-"));
  identity = join(dir, "backup.age");
  execFileSync("age-keygen", ["-o", identity], { stdio: "ignore" });
  recipient = (/^# public key: (age1\S+)$/m.exec(readFileSync(identity, "utf8"))?.[1] ?? "").trim();
  sshd = await startSshd(dir, { command: `${join(REPO_ROOT, "packaging/backup/steward-store")} ${store}/alpha` });
});
after(async () => {
  await sshd?.close();
  await alpha?.destroy();
  for (const d of [state, dir, store]) if (d !== undefined) await rm(d, { recursive: true, force: true });
});

const mail = (): string => `${alpha.name}/steward/data/mail/mail`;
const mountpoint = (): string => join(alpha.dir, "jails/mail/var/mail");
const endpoint = () => ({ user: sshd.user, host: "127.0.0.1", port: sshd.port });
const files = () => ({ key: sshd.clientKey.private, knownHosts: sshd.knownHosts });

function desired(withBackups = true): DesiredState {
  const base = desiredState(alpha.name, [...containers(alpha.name), ds(mail(), { mountpoint: mountpoint() })]);
  if (!withBackups) return base;
  return {
    ...base,
    backups: nodeBackups([dsBackup(alpha.name, "mail", "mail", { hourly: 3 }, { remote: { name: "offsite", endpoint: endpoint(), every: 0 } })], { recipients: [recipient] }),
    host: { jailConfDir: "/etc/jail.conf.d", backup: { ...files(), identity } },
  };
}

let clock = at("2026-12-07T08:05:00Z");
const ctx = () => ({ executor: systemExecutor, stateDir: state, log: silentLogger, drivers: DRIVERS, now: () => clock });
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function applyOk(d: DesiredState): Promise<ApplyNodeResult> {
  const run = await applyNode(d, ctx());
  assert.ok(run.result.ok, JSON.stringify(run.result.outcomes));
  return run;
}

/** storedFiles lists the store's files, relative to this node's directory. */
function storedFiles(): string[] {
  const root = join(store, "alpha");
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const p = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else out.push(p);
    }
  };
  walk("");
  return out.sort();
}

function contentsOf(where: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(where).sort()) out[f] = readFileSync(join(where, f)).toString("base64");
  return out;
}

test("a remote copy is encrypted before it leaves the node: the marker is in a plain stream and in no stored file", async () => {
  // The node runs mail already when its backups begin (docs/decisions.md, "The portable subset of zfs").
  await applyOk(desired(false));
  await writeFile(join(mountpoint(), "inbox"), `From: a\n\n${MARKER}\n${"x".repeat(4096)}\n`);
  await sleep(1000);
  const run = await applyOk(desired());
  const send = run.plan.actions.find((a) => a.kind === "backup.send");
  assert.match(send?.reason ?? "", /encrypted with age to offsite: a new chain, sent whole/);
  const stored = storedFiles();
  assert.equal(stored.length, 1);
  assert.match(stored[0] ?? "", /^mail\/mail\/steward_2026-12-07_08:05:00_hourly\.full\.age$/);
  const [snapshot] = (await zfsOk(["zfs", "get", "-rHp", "-o", "name", "guid", mail()])).split("\n").filter((l) => l.includes("@"));
  const plain = await systemExecutor.pipe?.([["zfs", "send", snapshot as string], ["grep", "-c", MARKER]], { timeoutMs: 30_000 });
  assert.equal(plain?.exitCode, 0, "the marker is in the plain stream: the grep below means something");
  for (const f of stored) assert.ok(!readFileSync(join(store, "alpha", f)).includes(MARKER), `${f} holds no plaintext`);
  assert.ok(readFileSync(join(store, "alpha", stored[0] as string)).subarray(0, 21).toString() === "age-encryption.org/v1");
});

test("later copies are increments from the held base, chained to the full file", async () => {
  await writeFile(join(mountpoint(), "inbox2"), `From: b\n\n${MARKER} again\n`);
  await sleep(1000);
  clock += 3600_000;
  const run = await applyOk(desired());
  const send = run.plan.actions.find((a) => a.kind === "backup.send");
  assert.match(send?.reason ?? "", /the snapshots since steward_2026-12-07_08:05:00_hourly/);
  assert.ok(run.plan.actions.some((a) => a.kind === "backup.drill"), "the first restore drill, now that a copy is stored");
  assert.deepEqual(storedFiles(), ["mail/mail/steward_2026-12-07_08:05:00_hourly.full.age", "mail/mail/steward_2026-12-07_09:05:00_hourly.from.steward_2026-12-07_08:05:00_hourly.age"]);
  for (const f of storedFiles()) assert.ok(!readFileSync(join(store, "alpha", f)).includes(MARKER), `${f} holds no plaintext`);
});

test("the restore drill ran with that copy: the newest stored copy was decrypted and received into the drill tree, then destroyed; reported, and not again for a week", async () => {
  const record = JSON.parse(readFileSync(backupStatePath(state), "utf8")) as { drills?: Record<string, { ok: boolean; snapshot: string }> };
  assert.deepEqual(record.drills?.[mail()], { at: clock, ok: true, snapshot: "steward_2026-12-07_08:05:00_hourly" });
  const left = await zfsRun(["zfs", "get", "-Hp", "-o", "value", "guid", `${alpha.name}/steward/drill/mail/mail`]);
  assert.equal(left.exitCode, 1, "the drill's dataset is destroyed");
  const report = await readBackupReport(backupDriver.slice(desired()), { executor: systemExecutor, stateDir: state, log: silentLogger, now: () => clock });
  assert.deepEqual(report.datasets[0]?.drill, { at: "2026-12-07T09:05:00Z", ok: true, snapshot: "steward_2026-12-07_08:05:00_hourly" });
  clock += 3600_000;
  const run = await applyOk(desired());
  assert.ok(!run.plan.actions.some((a) => a.kind === "backup.drill"), "weekly");
});

test("restore with only the identity and the files: the chain (planRestore), decrypted and received into a new dataset, is byte for byte the node's", async () => {
  const list = await systemExecutor.run(sshArgv(endpoint(), files(), ["list"]));
  assert.equal(list.exitCode, 0, list.stderr);
  const stored = parseStoreList(list.stdout)["mail/mail"] ?? [];
  assert.deepEqual(restoreChain(stored)?.map((f) => f.path), storedFiles());
  const target = `${alpha.name}/restored`;
  const d = desired().backups?.datasets[0];
  assert.ok(d !== undefined);
  const plan = planRestore(d, "alpha", { from: "remote", stored, endpoint: endpoint(), files: files(), identity }, target, undefined);
  assert.ok(typeof plan !== "string", String(plan));
  assert.equal(plan.snapshot, "steward_2026-12-07_10:05:00_hourly");
  assert.equal(plan.pipelines.length, 3, "the full file and two increments");
  for (const p of plan.pipelines) {
    const r = await systemExecutor.pipe?.(p, { timeoutMs: 60_000 });
    assert.equal(r?.exitCode, 0, r?.stderr);
  }
  await sleep(1000);
  const where = (await zfsOk(["zfs", "get", "-Hp", "-o", "value", "mountpoint", target])).trim();
  assert.deepEqual(contentsOf(where), contentsOf(mountpoint()));
  await sleep(1000);
  for (let i = 0; i < 40 && (await zfsRun(["zfs", "destroy", "-r", target])).exitCode !== 0; i++) await sleep(250);
});

test("the store's key runs steward-store only: no other command, no path outside the node's files, no file that is not a copy", async () => {
  for (const words of ["cat /etc/passwd", "get ../../etc/passwd", "delete mail/mail/x", "put mail/mail/../../x.age", "list -R"]) {
    const r = await systemExecutor.run(sshArgv(endpoint(), files(), words.split(" ")));
    assert.notEqual(r.exitCode, 0, words);
    assert.match(r.stderr, /steward-store/, words);
  }
  assert.equal(storedFiles().length, 3);
});
