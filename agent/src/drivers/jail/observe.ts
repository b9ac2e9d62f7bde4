/**
 * Observing jails: one `jls --libxo json` and one `sysrc -i` for the host, the conf files
 * Steward wrote, each jail root's rc.conf and managed files read from the host (hashes only),
 * and one `pkg -j NAME query` per running jail (a few at once): a constant number of commands per
 * node plus at most one per jail. A path inside a jail root that resolves outside it (a symlink the jail
 * made) is never read: it counts as different, and the write that follows runs inside the jail.
 */
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { lstat, open, readdir, realpath } from "node:fs/promises";
import { dirname, join } from "node:path";
import { StewardError } from "../../errors.js";
import type { RunResult } from "../../exec.js";
import { mapBounded } from "../../map-bounded.js";
import type { DriverContext } from "../driver.js";
import { hostRcArgv, jlsArgv, pkgQueryArgv, tempPath } from "./commands.js";
import { CONF_HEADER } from "./conf.js";
import { parseHostRc, parseJls, parsePkgQuery, parseRcConf } from "./parse.js";
import { readJailRecord } from "./state.js";
import { EMPTY_JAIL_RECORD, type JailDesired, type JailObserved, type ObservedJail, type RunningJail } from "./types.js";

/** The most a file read for comparison may be (files a service installs are at most 1 MiB). */
const MAX_READ = 2 * 1024 * 1024;

/**
 * observeJails reads what the host runs for the jail driver (see the module comment). Throws
 * OBSERVE_FAILED (transient) when jls or sysrc cannot answer; a package query that fails
 * leaves that jail's packages unknown (they are then installed again, which pkg makes a no-op).
 */
export async function observeJails(desired: JailDesired, ctx: DriverContext): Promise<JailObserved> {
  // A node with no jails, none recorded and no conf file of Steward's has nothing to observe:
  // it runs no jail command at all (a pool-only node, or a host without jails).
  const applied = ctx.stateDir === undefined ? EMPTY_JAIL_RECORD : await readJailRecord(ctx.stateDir, ctx.log);
  const confs = await stewardConfs(desired.confDir);
  if (desired.jails.length === 0 && Object.keys(applied.jails).length === 0 && confs.length === 0) {
    return { host: { jailEnable: undefined, jailList: [], clonedInterfaces: [] }, jails: {}, applied };
  }
  const [jls, hostRc] = await Promise.all([ctx.executor.run(jlsArgv(), { timeoutMs: 30_000 }), ctx.executor.run(hostRcArgv(), { timeoutMs: 30_000 })]);
  const running = parseJls(jls);
  if (running === undefined) throw observeFailed("jls", jls);
  const host = parseHostRc(hostRc);
  if (host === undefined) throw observeFailed("sysrc", hostRc);

  const names = [...new Set([...desired.jails.map((j) => j.name), ...Object.keys(applied.jails), ...confs])].sort();
  // Each jail's reads are independent: they overlap, a few jails at a time.
  const observed = await mapBounded(names, OBSERVE_CONCURRENCY, (name) => observeJail(name, desired, running, ctx));
  return { host, jails: Object.fromEntries(observed.map((j) => [j.name, j])), applied };
}

/** How many jails are read at once (each runs at most one package query). */
const OBSERVE_CONCURRENCY = 8;

/** observeJail reads one jail: its conf file, its packages (one query, when it runs), its rc.conf and files. */
async function observeJail(name: string, desired: JailDesired, running: readonly RunningJail[], ctx: DriverContext): Promise<ObservedJail> {
  const spec = desired.jails.find((j) => j.name === name);
  const conf = await readBounded(spec?.confPath ?? join(desired.confDir, `${name}.conf`));
  const live = running.find((r) => r.name === name);
  let packages: string[] | undefined;
  if (live !== undefined && spec !== undefined) {
    const r = await ctx.executor.run(pkgQueryArgv(name), { timeoutMs: 60_000 });
    packages = parsePkgQuery(r);
    if (packages === undefined) ctx.log.warn({ jail: name, exitCode: r.exitCode, stderr: r.stderr.slice(0, 500) }, "pkg query failed; packages unknown");
  }
  let rc: Record<string, string> | undefined;
  const files: Record<string, { sha256: string; mode: number }> = {};
  const temporaries: string[] = [];
  if (spec !== undefined) {
    const rcText = await readInside(spec.root, "/etc/rc.conf");
    rc = rcText === undefined ? undefined : parseRcConf(rcText.bytes.toString("utf8"));
    for (const f of spec.files) {
      const got = await readInside(spec.root, f.path);
      if (got !== undefined) files[f.path] = { sha256: sha256(got.bytes), mode: got.mode };
      if (await existsInside(spec.root, tempPath(f.path))) temporaries.push(f.path);
    }
  }
  return {
    name,
    running: live,
    confSha256: conf === undefined ? undefined : sha256(conf.bytes),
    confIsSteward: conf !== undefined && conf.bytes.toString("utf8").startsWith(`${CONF_HEADER}\n`),
    packages,
    rc,
    files,
    ...(temporaries.length === 0 ? {} : { temporaries }),
  };
}

function observeFailed(tool: string, r: RunResult): StewardError {
  return new StewardError("OBSERVE_FAILED", `${tool} failed`, {
    retry: "transient",
    data: { argv: r.argv, exitCode: r.exitCode, stderr: r.stderr.slice(0, 2000), timedOut: r.timedOut, ...(r.spawnError === undefined ? {} : { spawnError: r.spawnError }) },
    hint: r.spawnError !== undefined ? `${tool} is not installed: jails need FreeBSD (on Linux test hosts, the simulator on PATH)` : "run the command by hand to see why",
  });
}

/** stewardConfs lists the jails whose conf file in `dir` Steward wrote. */
async function stewardConfs(dir: string): Promise<string[]> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of entries.sort()) {
    if (!e.endsWith(".conf")) continue;
    const got = await readBounded(join(dir, e));
    if (got?.bytes.toString("utf8").startsWith(`${CONF_HEADER}\n`)) out.push(e.slice(0, -".conf".length));
  }
  return out;
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** readBounded reads a regular file (never through a symlink), or undefined when it is not one. */
async function readBounded(path: string): Promise<{ bytes: Buffer; mode: number } | undefined> {
  let handle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.size > MAX_READ) return undefined;
    return { bytes: await handle.readFile(), mode: st.mode & 0o7777 };
  } finally {
    await handle.close();
  }
}

/** insideRoot says whether the directory of `path` in a jail resolves inside the jail's root (no symlink leads out). */
async function insideRoot(root: string, full: string): Promise<boolean> {
  try {
    const [realRoot, realDir] = await Promise.all([realpath(root), realpath(dirname(full))]);
    return realDir === realRoot || realDir.startsWith(`${realRoot}/`);
  } catch {
    return false;
  }
}

/** existsInside says whether `path` of a jail exists (as anything, a symlink included), looked up only inside its root. */
async function existsInside(root: string, path: string): Promise<boolean> {
  const full = join(root, path);
  if (!(await insideRoot(root, full))) return false;
  return lstat(full).then(
    () => true,
    () => false,
  );
}

/**
 * readInside reads `path` of a jail from the host only when its directory resolves inside the
 * jail's root (so a symlink in the jail cannot point the read at the host) and the file itself
 * is not a symlink; undefined otherwise, or when there is no such file.
 */
async function readInside(root: string, path: string): Promise<{ bytes: Buffer; mode: number } | undefined> {
  const full = join(root, path);
  if (!(await insideRoot(root, full))) return undefined;
  return readBounded(full);
}
