/**
 * A real ZFS pool for one test file: zfs-fuse (Debian) on a sparse file under /var/tmp (the
 * vdev must not live on ZFS), mounted under a fresh temp directory, with a unique name so test
 * files running in parallel never meet. Tests FAIL (never skip) when ZFS cannot run here.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { systemExecutor, type RunResult } from "../../agent/src/exec.js";
import { REPO_ROOT } from "./cli.js";

const SETUP_HINT = "ZFS is not available: run `scripts/test-host.sh setup` as root (installs zfs-fuse and starts its daemon; needs /dev/fuse)";

/** zfsRun runs `zfs`/`zpool` with the real executor. */
export function zfsRun(argv: readonly [string, ...string[]]): Promise<RunResult> {
  return systemExecutor.run(argv, { timeoutMs: 30_000 });
}

/** zfsOk runs a command that must succeed and returns its stdout; throws with stderr otherwise. */
export async function zfsOk(argv: readonly [string, ...string[]]): Promise<string> {
  const r = await zfsRun(argv);
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")} exited ${r.exitCode}: ${r.stderr || r.spawnError || ""}`);
  return r.stdout;
}

/**
 * requireZfs throws (failing the test) unless /dev/fuse exists and the zfs-fuse daemon answers.
 * A daemon that is gone (it crashes now and then: docs/decisions.md, "The portable subset of
 * zfs") is started again once, as `scripts/test-host.sh setup` does, so that one crash fails
 * only the tests whose pools it took with it.
 */
export async function requireZfs(): Promise<void> {
  if (!existsSync("/dev/fuse")) throw new Error(`${SETUP_HINT} — /dev/fuse is missing`);
  let r = await zfsRun(["zpool", "list", "-H"]);
  if (r.exitCode !== 0 && /daemon is running|Connection refused/.test(r.stderr) && process.getuid?.() === 0) {
    process.stderr.write("zfs-fuse's daemon is not running (a crash of the test double): starting it again\n");
    // No pipes and no lock handed down: the daemon it starts would hold them open for good.
    spawnSync("bash", [join(REPO_ROOT, "scripts", "test-host.sh"), "setup"], { stdio: "ignore", timeout: 120_000 });
    r = await zfsRun(["zpool", "list", "-H"]);
  }
  if (r.exitCode !== 0) throw new Error(`${SETUP_HINT} — zpool list: ${r.spawnError ?? r.stderr.trim()}`);
}

/**
 * Pools are created and destroyed one at a time on this host, whichever test process asks
 * (flock(1) on this file): zfs-fuse's daemon has crashed with several `zpool create` at once.
 */
const POOL_LOCK = "/run/lock/steward-test-zpool.lock";

/** poolCommand runs `zpool create|destroy` under the host's pool lock. */
function poolCommand(argv: readonly string[]): Promise<RunResult> {
  return systemExecutor.run(["flock", "-w", "60", POOL_LOCK, ...argv], { timeoutMs: 90_000 });
}

export interface TestPool {
  readonly name: string;
  readonly vdev: string;
  /** A temp directory for mountpoints: the pool mounts at `${dir}/${name}`. */
  readonly dir: string;
  /** Reads one property value with `zfs get -Hp`. */
  get(dataset: string, property: string): Promise<string>;
  destroy(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * createTestPool makes a fresh pool `<prefix><hex>` on a sparse file (128 MiB unless told). A
 * pool that does not come up ONLINE (zfs-fuse after a daemon crash; docs/decisions.md, "The
 * portable subset of zfs") is
 * destroyed and made again.
 */
export async function createTestPool(prefix = "st", sizeMb = 128): Promise<TestPool> {
  for (let attempt = 0; ; attempt++) {
    await requireZfs();
    const name = `${prefix}${randomBytes(4).toString("hex")}`;
    const vdev = `/var/tmp/steward-test-${name}.img`;
    const dir = await mkdtemp(join(tmpdir(), "steward-zfs-"));
    const fh = await open(vdev, "w");
    await fh.truncate(sizeMb * 1024 * 1024);
    await fh.close();
    const created = await poolCommand(["zpool", "create", "-m", join(dir, name), name, vdev]);
    const health = created.exitCode === 0 ? (await zfsRun(["zpool", "list", "-H", "-o", "health", name])).stdout.trim() : "";
    const pool: TestPool = {
      name,
      vdev,
      dir,
      get: async (dataset, property) => (await zfsOk(["zfs", "get", "-Hp", "-o", "value", property, dataset])).replace(/\n$/, ""),
      destroy: () => destroyPool(name, vdev, dir),
    };
    if (created.exitCode === 0 && health === "ONLINE") return pool;
    await pool.destroy();
    if (attempt >= 1) throw new Error(`zpool create ${name} failed (exit ${created.exitCode}, health ${health}): ${created.stderr}`);
  }
}

async function destroyPool(name: string, vdev: string, dir: string): Promise<void> {
  // zfs-fuse may call a just-used dataset busy for a few seconds (docs/decisions.md, "The portable subset of zfs"): retry.
  for (let i = 0; i < 40; i++) {
    const r = await poolCommand(["zpool", "destroy", "-f", name]);
    if (r.exitCode === 0 || /no such pool/.test(r.stderr)) break;
    await sleep(250);
  }
  await rm(vdev, { force: true });
  await rm(dir, { recursive: true, force: true }).catch(() => {});
}

/** The release the tests' jails are cloned from. */
export const TEST_RELEASE = "14.2-RELEASE";

/**
 * installBase does what an admin does once per release on a node (docs/jails.md): Steward's
 * two top containers (marked, as Steward makes them), then `<pool>/steward/base/<release>`
 * holding a tiny FreeBSD-shaped root (etc/rc.conf, etc/passwd, etc/group, usr/local/etc,
 * var/db/pkg) and its `@steward` snapshot. Returns the base dataset's name.
 */
export async function installBase(pool: TestPool, release = TEST_RELEASE): Promise<string> {
  for (const name of [`${pool.name}/steward`, `${pool.name}/steward/base`]) {
    const exists = (await zfsRun(["zfs", "get", "-Hp", "-o", "value", "guid", name])).exitCode === 0;
    if (!exists) await zfsOk(["zfs", "create", "-o", "org.steward:managed=yes", "-o", "mountpoint=none", name]);
  }
  const base = `${pool.name}/steward/base/${release}`;
  const mountpoint = join(pool.dir, "base", release);
  await zfsOk(["zfs", "create", "-o", `mountpoint=${mountpoint}`, base]);
  for (const dir of ["dev", "etc", "usr/local/etc", "var/db/pkg", "var/log", "var/run", "tmp"]) await mkdir(join(mountpoint, dir), { recursive: true });
  await writeFile(join(mountpoint, "etc", "rc.conf"), 'sendmail_enable="NONE"\n');
  await writeFile(join(mountpoint, "etc", "passwd"), "root:*:0:0:Charlie &:/root:/bin/sh\n");
  await writeFile(join(mountpoint, "etc", "group"), "wheel:*:0:root\n");
  await zfsOk(["zfs", "snapshot", `${base}@steward`]);
  return base;
}
