/**
 * Replicas on a peer node, for real: two zfs-fuse pools (alpha's and beta's), an OpenSSH
 * server on loopback whose only authorized key runs packaging/backup/steward-receive for
 * alpha's replica tree on beta, and the clock in the test's hands. The first copy is sent
 * whole, later ones incrementally from the base held with `zfs hold`; a crash (kill -9 of the
 * applying process and its pipeline) mid-send leaves the replica as it was, and the next run
 * resends from the common base; the replica's files are the node's, byte for byte; the key
 * can do nothing steward-receive does not allow; a destroy releases Steward's hold on a base; an
 * unreachable peer is a finding and backs off.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { backupDriver } from "../../../agent/src/drivers/backup/driver.js";
import { backupStatePath } from "../../../agent/src/drivers/backup/state.js";
import type { Driver } from "../../../agent/src/drivers/driver.js";
import { zfsDriver } from "../../../agent/src/drivers/zfs/driver.js";
import { systemExecutor } from "../../../agent/src/exec.js";
import { silentLogger } from "../../../agent/src/log.js";
import type { DesiredState } from "../../../agent/src/manifest/types.js";
import { applyNode, type ApplyNodeResult } from "../../../agent/src/reconcile.js";
import { REPO_ROOT } from "../../helpers/cli.js";
import { RecordingExecutor } from "../../helpers/recording-executor.js";
import { startSshd, type Sshd } from "../../helpers/sshd.js";
import { createTestPool, zfsOk, zfsRun, type TestPool } from "../../helpers/zfs-pool.js";
import { containers, desiredState, ds } from "../zfs/build.js";
import { at, dsBackup, nodeBackups } from "./build.js";

const CHILD = join(dirname(fileURLToPath(import.meta.url)), "../../apply/apply-child.js");
const DRIVERS: readonly Driver[] = [zfsDriver as Driver, backupDriver as Driver];
let alpha: TestPool;
let beta: TestPool;
let sshd: Sshd;
let state: string;
let dir: string;
before(async () => {
  [alpha, beta] = await Promise.all([createTestPool("sra", 512), createTestPool("srb", 512)]);
  state = await mkdtemp(join(tmpdir(), "steward-replica-"));
  dir = await mkdtemp(join(tmpdir(), "steward-replica-sshd-"));
  // Beta runs Steward: its <pool>/steward exists; steward-receive makes the replica tree below it.
  await zfsOk(["zfs", "create", "-o", "mountpoint=none", "-o", "org.steward:managed=yes", `${beta.name}/steward`]);
  sshd = await startSshd(dir, { command: `${join(REPO_ROOT, "packaging/backup/steward-receive")} ${beta.name}/steward/replica/alpha` });
});
after(async () => {
  await sshd?.close();
  await Promise.all([alpha?.destroy(), beta?.destroy()]);
  for (const d of [state, dir]) if (d !== undefined) await rm(d, { recursive: true, force: true });
});

const KEEP = { hourly: 3 };
const mail = (): string => `${alpha.name}/steward/data/mail/mail`;
const replica = (): string => `${beta.name}/steward/replica/alpha/mail/mail`;
const mountpoint = (): string => join(alpha.dir, "jails/mail/var/mail");

const www = (): string => `${alpha.name}/steward/data/blog/www`;

/** desired: mail's dataset replicated to beta; with `blog`, blog's too; `destroy` lists datasets to destroy. */
function desired(opts: { blog?: boolean; destroy?: string[] } = {}): DesiredState {
  const replicaTo = { replica: { node: "beta", endpoint: { user: sshd.user, host: "127.0.0.1", port: sshd.port }, every: 0 } };
  const container = opts.blog === true || (opts.destroy ?? []).length > 0 ? [ds(`${alpha.name}/steward/data/blog`, { mountpoint: "none" }, "correct", "steward")] : [];
  const blog = [...container, ...(opts.blog === true ? [ds(www(), { mountpoint: "none" }, "correct", "blog")] : [])];
  return {
    ...desiredState(alpha.name, [...containers(alpha.name), ds(mail(), { mountpoint: mountpoint() }), ...blog], opts.destroy ?? []),
    backups: nodeBackups([dsBackup(alpha.name, "mail", "mail", KEEP, replicaTo), ...(opts.blog === true ? [dsBackup(alpha.name, "blog", "www", KEEP, replicaTo)] : [])]),
    host: { jailConfDir: "/etc/jail.conf.d", backup: { key: sshd.clientKey.private, knownHosts: sshd.knownHosts, identity: undefined } },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let clock = at("2026-12-07T08:05:00Z");
const ctx = () => ({ executor: systemExecutor, stateDir: state, log: silentLogger, drivers: DRIVERS, now: () => clock });

async function snapshotsOf(dataset: string): Promise<{ name: string; guid: string }[]> {
  const r = await zfsRun(["zfs", "get", "-rHp", "-o", "name,value", "guid", dataset]);
  if (r.exitCode !== 0) return [];
  return r.stdout
    .split("\n")
    .filter((l) => l.startsWith(`${dataset}@`))
    .map((l) => {
      const [name = "", guid = ""] = l.split("\t");
      return { name: name.slice(dataset.length + 1), guid };
    })
    .sort((a, b) => (a.name < b.name ? -1 : 1));
}
const names = async (dataset: string): Promise<string[]> => (await snapshotsOf(dataset)).map((s) => s.name);
const userrefs = async (snapshot: string): Promise<string> => (await zfsOk(["zfs", "get", "-Hp", "-o", "value", "userrefs", snapshot])).trim();

/** applyBusy applies, retrying while zfs-fuse calls a just-used dataset busy (docs/decisions.md, "The portable subset of zfs"). */
async function applyOk(d: DesiredState): Promise<ApplyNodeResult> {
  const run = await applyNode(d, ctx());
  assert.ok(run.result.ok, JSON.stringify(run.result.outcomes));
  return run;
}

/** sha256 of every file under a dataset's snapshot, read through a clone mounted for the check. */
async function filesAt(snapshot: string, pool: TestPool): Promise<Record<string, string>> {
  const clone = `${pool.name}/check${randomBytes(3).toString("hex")}`;
  const where = join(pool.dir, clone.split("/")[1] as string);
  await zfsOk(["zfs", "clone", "-o", `mountpoint=${where}`, snapshot, clone]);
  try {
    const out: Record<string, string> = {};
    for (const f of readdirSync(where).sort()) out[f] = createHash("sha256").update(readFileSync(join(where, f))).digest("hex");
    return out;
  } finally {
    // zfs-fuse: unmounting a file system whose files were just closed can hang its daemon; let it settle first.
    await sleep(1000);
    for (const argv of [["zfs", "umount", clone], ["zfs", "destroy", clone]] as const) {
      for (let i = 0; i < 40; i++) {
        const r = await zfsRun(argv);
        if (r.exitCode === 0) break;
        await sleep(250);
      }
    }
  }
}

async function localFiles(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const f of readdirSync(mountpoint()).sort()) out[f] = createHash("sha256").update(readFileSync(join(mountpoint(), f))).digest("hex");
  return out;
}

test("first run: the service is snapshotted, sent whole to the peer's replica tree, the base held, the record written", async () => {
  // The node runs mail already (its dataset made and written to) when its backups begin:
  // zfs-fuse can hang its daemon when a file system is written to right after it was created,
  // snapshotted and sent (docs/decisions.md, "The portable subset of zfs").
  const { backups: _none, ...without } = desired();
  await applyOk(without);
  await writeFile(join(mountpoint(), "inbox"), "From: a\n\nfirst\n");
  await sleep(1000);
  const run = await applyOk(desired());
  const send = run.plan.actions.find((a) => a.kind === "backup.send");
  assert.ok(send !== undefined, "sent");
  assert.equal((send as { from?: unknown }).from, undefined, "whole");
  const local = await snapshotsOf(mail());
  assert.deepEqual(await snapshotsOf(replica()), local, "the replica holds the same snapshot (same guid)");
  assert.equal(await userrefs(`${mail()}@${local[0]?.name}`), "1", "held as the base");
  assert.equal((await zfsOk(["zfs", "get", "-Hp", "-o", "value", "mounted", replica()])).trim(), "no", "a replica is never mounted on the peer");
  const record = JSON.parse(await readFile(backupStatePath(state), "utf8")) as { targets: Record<string, Record<string, { snapshot: string }>> };
  assert.equal(record.targets[mail()]?.["replica-beta"]?.snapshot, local[0]?.name);
});

test("after changes, an incremental send from the held base; the base moves; the replica is pruned to the policy and holds the node's files", async () => {
  const before = await names(mail());
  await writeFile(join(mountpoint(), "inbox"), "From: a\n\nfirst\n\nFrom: b\n\nsecond\n");
  for (let i = 0; i < 4; i++) {
    clock += 3600_000;
    const run = await applyOk(desired());
    const send = run.plan.actions.find((a) => a.kind === "backup.send");
    assert.ok(send !== undefined && typeof fromOf(send) === "object", "incremental");
  }
  const local = await snapshotsOf(mail());
  assert.equal(local.length, 3, "hourly 3");
  assert.deepEqual(await snapshotsOf(replica()), local, "pruned on the peer to the same policy");
  const newest = local[local.length - 1]?.name as string;
  assert.equal(await userrefs(`${mail()}@${newest}`), "1");
  for (const s of local.slice(0, -1)) assert.equal(await userrefs(`${mail()}@${s.name}`), "0", "the old bases are released");
  assert.ok(!(await names(mail())).includes(before[0] as string), "the first base was released and then pruned");
  assert.deepEqual(await filesAt(`${replica()}@${newest}`, beta), await localFiles());

  const quiet = new RecordingExecutor([], systemExecutor);
  const run = await applyNode(desired(), { ...ctx(), executor: quiet });
  assert.deepEqual(run.plan.actions, [], "nothing due in the same hour");
  assert.ok(!quiet.calls.some((a) => a[0] === "ssh"), "and the peer is not asked");
});

/** receiving lists the pids of `zfs receive` into beta's replica tree. */
function receiving(): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0");
      if (argv[0]?.endsWith("zfs") && argv[1] === "receive" && argv.some((a) => a.startsWith(`${beta.name}/steward/replica/`))) out.push(Number(e));
    } catch {
      // gone
    }
  }
  return out;
}

/** fromOf is where a planned send starts: undefined for a whole send. */
const fromOf = (a: unknown): unknown => (a as { from?: unknown }).from;

test("kill -9 mid-send: the replica stays as it was, nothing partial; the next run resends from the common base and the copy is exact", async () => {
  const base = (await names(replica())).at(-1) as string;
  await writeFile(join(mountpoint(), "big"), randomBytes(32 * 1024 * 1024));
  clock += 3600_000;
  const input = join(state, "child.json");
  await writeFile(input, JSON.stringify({ desired: desired(), stateDir: state, nowMs: clock, drivers: ["zfs", "backup"] }));
  // Its own process group: the kill takes the agent and its pipeline (zfs send, ssh) at once, as a crash does.
  const child = spawn(process.execPath, [CHILD, input], { detached: true, stdio: ["ignore", "pipe", "inherit"] });
  let childOut = "";
  child.stdout?.on("data", (c: Buffer) => (childOut += c.toString("utf8")));
  const exited = new Promise((r) => child.once("exit", r));
  let seen = false;
  for (let i = 0; i < 400 && !seen; i++) {
    seen = receiving().length > 0;
    if (!seen) await sleep(25);
  }
  assert.ok(seen, `the send started (the apply said: ${childOut})`);
  await sleep(50);
  process.kill(-(child.pid as number), "SIGKILL");
  await exited;
  for (let i = 0; i < 200 && receiving().length > 0; i++) await sleep(50);
  assert.deepEqual(receiving(), [], "the peer's receive ended with the connection");
  assert.equal((await names(replica())).at(-1), base, "the interrupted snapshot never arrived: the replica is as it was");
  const all = (await zfsOk(["zfs", "list", "-H", "-o", "name", "-r", `${beta.name}/steward/replica`])).split("\n").filter((l) => l !== "");
  assert.deepEqual(all.filter((n) => n.includes("%")), [], "no partial receive is left");

  const run = await applyOk(desired());
  assert.notEqual(run.interrupted, undefined, "the journal says the last apply never finished");
  const send = run.plan.actions.find((a) => a.kind === "backup.send");
  assert.ok(send !== undefined, "sent again");
  assert.deepEqual(fromOf(send), { snapshot: base }, "from the common base");
  const newest = (await names(mail())).at(-1) as string;
  assert.equal((await names(replica())).at(-1), newest);
  assert.deepEqual(await filesAt(`${replica()}@${newest}`, beta), await localFiles(), "byte for byte");
});

function sshAs(words: string): Promise<{ exitCode: number | null; stderr: string }> {
  return systemExecutor.run(["ssh", "-F", "/dev/null", "-o", "BatchMode=yes", "-o", `UserKnownHostsFile=${sshd.knownHosts}`, "-o", "IdentitiesOnly=yes", "-i", sshd.clientKey.private, "-p", String(sshd.port), "-l", sshd.user, "127.0.0.1", words], { timeoutMs: 30_000 });
}

test("the peer's key runs steward-receive only: no other command, no name outside its tree, no snapshot that is not Steward's", async () => {
  for (const words of [`zfs destroy -r ${beta.name}`, "receive ../../x/y", "receive mail/mail;id", `prune mail/mail ${(await names(replica())).at(-1)} foo`, "send mail/mail@x", "abort ../mail"]) {
    const r = await sshAs(words);
    assert.notEqual(r.exitCode, 0, words);
    assert.match(r.stderr, /steward-receive/, words);
  }
  assert.ok((await names(replica())).length > 0, "the replica is untouched");
});

test("a destroy the manifest asks for: Steward's hold on the replica's base is released in the plan, the dataset destroyed, the replica kept", async () => {
  // Its own service: on zfs-fuse a send killed mid-way leaves its temporary holds on mail's snapshots until the daemon restarts.
  const first = await applyOk(desired({ blog: true }));
  assert.ok(first.plan.actions.some((a) => a.id === `backup.send:${www()}:replica-beta`));
  const [base] = await names(www());
  assert.equal(await userrefs(`${www()}@${base}`), "1", "the replica's base is held");
  const gone = desired({ destroy: [www()] });
  let run = await applyNode(gone, ctx());
  for (let i = 0; i < 30 && run.result.outcomes.some((o) => o.status === "failed" && /dataset is busy/.test(o.stderr)); i++) {
    await sleep(200);
    run = await applyNode(gone, ctx());
  }
  assert.ok(run.result.ok, JSON.stringify(run.result.outcomes));
  assert.deepEqual(run.plan.findings.filter((f) => f.driver === "backup"), [], "Steward's own hold is no unknown hold");
  const clear = run.plan.actions.find((a) => a.kind === "backup.clear");
  assert.ok(clear !== undefined && clear.steps.some((s) => "argv" in s && s.argv[1] === "release" && s.argv[2] === "steward-replica-beta"));
  assert.equal((await zfsRun(["zfs", "get", "-Hp", "-o", "value", "guid", www()])).exitCode, 1, "destroyed");
  assert.deepEqual(await names(`${beta.name}/steward/replica/alpha/blog/www`), [base], "the replica on the peer stays");
});

test("an unreachable peer is a finding, the snapshots go on, and the copy backs off instead of retrying every run", async () => {
  await sshd.close();
  clock += 3600_000;
  const run = await applyNode(desired(), ctx());
  assert.ok(run.result.ok, JSON.stringify(run.result.outcomes));
  assert.deepEqual(run.plan.findings.filter((f) => f.driver === "backup").map((f) => f.kind), ["target-unreachable"]);
  assert.ok(run.plan.actions.some((a) => a.kind === "backup.snapshot"));
  clock += 60_000;
  const quiet = new RecordingExecutor([], systemExecutor);
  const again = await applyNode(desired(), { ...ctx(), executor: quiet });
  assert.ok(!quiet.calls.some((a) => a[0] === "ssh"), "not asked again within the back-off");
  assert.deepEqual(again.plan.findings.filter((f) => f.driver === "backup"), []);
});
