/**
 * The host the jail driver's scenarios run on (test/drivers/jail/converge.test.ts).
 *
 * By default (Linux): the simulated jail, jls, jexec, sysrc, pkg and service first on PATH
 * (sim/README.md), and a fresh zfs-fuse pool holding a tiny base release (installBase).
 *
 * With STEWARD_TEST_FREEBSD=1, on a FreeBSD 14 host as root: FreeBSD's own tools (PATH is left
 * alone, no simulator) and the pool STEWARD_TEST_FREEBSD_POOL names, a scratch pool that already
 * holds the real base release as `<pool>/steward/base/<TEST_RELEASE>@steward` (see
 * sim/README.md, "Running the jail driver's scenarios on FreeBSD"). The scenarios then create
 * `<pool>/steward/jails` and `<pool>/steward/data`, which must not exist yet, and close()
 * stops the jails they made and destroys those two trees again.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { useSimulator, type Simulator } from "./sim.js";
import { createTestPool, installBase, TEST_RELEASE, zfsOk, zfsRun } from "./zfs-pool.js";

/** The scenarios run against FreeBSD's real tools (STEWARD_TEST_FREEBSD=1), not the simulator. */
export const REAL_FREEBSD = process.env["STEWARD_TEST_FREEBSD"] === "1";

/** The reason a scenario that injects faults cannot run against the real tools; false on the simulator. */
export const SIMULATOR_ONLY: string | false = REAL_FREEBSD ? "needs the simulator's fault injection (sim/README.md)" : false;

export interface JailHost {
  /** The pool the node's manifest names. */
  readonly pool: string;
  /** A fresh directory: the jail roots go under `<dir>/jails`. */
  readonly dir: string;
  /** A fresh directory for the jails' jail.conf(5) files (the node's jail_conf_dir). */
  readonly confDir: string;
  /** The simulator; undefined against the real tools. */
  readonly sim: Simulator | undefined;
  /** The names of the running jails, from `jls --libxo json name`. */
  running(): string[];
  close(): Promise<void>;
}

function runningJails(): string[] {
  const out = JSON.parse(execFileSync("jls", ["--libxo", "json", "name"], { encoding: "utf8" })) as { "jail-information": { jail: { name: string }[] } };
  return out["jail-information"].jail.map((j) => j.name).sort();
}

/** useJailHost sets up the host for one test file (see the module comment). */
export async function useJailHost(prefix: string, sizeMb: number): Promise<JailHost> {
  if (!REAL_FREEBSD) {
    const pool = await createTestPool(prefix, sizeMb);
    await installBase(pool);
    const sim = useSimulator();
    const confDir = join(pool.dir, "jail.conf.d");
    mkdirSync(confDir);
    return {
      pool: pool.name,
      dir: pool.dir,
      confDir,
      sim,
      running: runningJails,
      close: async () => {
        sim.close();
        await pool.destroy();
      },
    };
  }
  if (process.platform !== "freebsd") throw new Error("STEWARD_TEST_FREEBSD=1 runs the jail scenarios against FreeBSD's tools: run them on a FreeBSD 14 host");
  const pool = process.env["STEWARD_TEST_FREEBSD_POOL"] ?? "";
  if (pool === "") throw new Error("STEWARD_TEST_FREEBSD=1 needs STEWARD_TEST_FREEBSD_POOL: a scratch pool holding the base release (sim/README.md)");
  const base = `${pool}/steward/base/${TEST_RELEASE}@steward`;
  if ((await zfsRun(["zfs", "list", "-H", "-o", "name", base])).exitCode !== 0) throw new Error(`${base} does not exist: install the base release first (sim/README.md)`);
  const made = [`${pool}/steward/jails`, `${pool}/steward/data`];
  for (const ds of made) {
    if ((await zfsRun(["zfs", "list", "-H", "-o", "name", ds])).exitCode === 0) throw new Error(`${ds} exists already: the scenarios create it and destroy it again, so they need a pool without it`);
  }
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "steward-jails-")));
  const confDir = join(dir, "jail.conf.d");
  mkdirSync(confDir);
  return {
    pool,
    dir,
    confDir,
    sim: undefined,
    running: runningJails,
    close: async () => {
      const up = runningJails();
      for (const conf of readdirSync(confDir).filter((f) => f.endsWith(".conf"))) {
        const name = conf.slice(0, -".conf".length);
        if (up.includes(name)) execFileSync("jail", ["-f", join(confDir, conf), "-r", name], { stdio: "inherit" });
      }
      for (const ds of made) if ((await zfsRun(["zfs", "list", "-H", "-o", "name", ds])).exitCode === 0) await zfsOk(["zfs", "destroy", "-r", ds]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
