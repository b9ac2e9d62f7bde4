/**
 * The simulated host's kernel state: running jails, their processes (services), mounts and
 * interface addresses. One JSON file, `$STEWARD_SIM_ROOT/state.json`, replaced by atomic rename
 * and changed only under `$STEWARD_SIM_ROOT/state.lock`, so concurrent tool invocations see
 * either the state before or after another's change, never a torn or lost one.
 *
 * The lock is a file created with O_EXCL holding the owner's pid. A holder that died is
 * detected with kill(pid, 0) and its lock taken over. Locks are held only for a kernel-like
 * step (create a jail record, start a service), never while a hook or a child tool runs:
 * those children take the lock themselves, as separate processes do on FreeBSD.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync, constants as fsc } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";

/** A running jail, as the kernel would report it to jls(8). */
export interface SimJail {
  jid: number;
  name: string;
  /** Real directory on the Linux host. */
  path: string;
  /** Every kernel parameter in exported form (jailparam_export): strings, "true"/"false", arrays for ip4.addr/ip6.addr. */
  params: Record<string, string | string[]>;
  /** jail(8) created the jail with a temporary persist while its start commands run. */
  tempPersist: boolean;
  created: string;
}

/** A simulated daemon started by an rc script (service(8), /etc/rc). */
export interface SimProcess {
  pid: number;
  /** The rc script's name (`nginx`, `milter-opendkim`). */
  script: string;
  started: string;
}

export interface SimMount {
  fstype: string;
  special: string;
  /** Real path of the mount point. */
  node: string;
}

export interface SimIfaddr {
  iface: string;
  family: "inet" | "inet6";
  addr: string;
  jid: number;
}

export interface SimState {
  version: 1;
  lastJid: number;
  lastPid: number;
  lastCpuset: number;
  jails: SimJail[];
  /** Keyed by jid as a string; "0" is the host. */
  processes: Record<string, SimProcess[]>;
  mounts: SimMount[];
  ifaddrs: SimIfaddr[];
  /** Interfaces moved into VNET jails (vnet.interface). */
  vnetIfaces: Array<{ iface: string; jid: number }>;
}

export function emptyState(): SimState {
  return { version: 1, lastJid: 0, lastPid: 1000, lastCpuset: 1, jails: [], processes: {}, mounts: [], ifaddrs: [], vnetIfaces: [] };
}

export class SimConfigError extends Error {}

/** simRoot returns $STEWARD_SIM_ROOT, creating it; throws SimConfigError when it is unset or relative. */
export function simRoot(env: NodeJS.ProcessEnv = process.env): string {
  const root = env.STEWARD_SIM_ROOT;
  if (root === undefined || root === "") {
    throw new SimConfigError("STEWARD_SIM_ROOT is not set: the simulator keeps the host's jails, rc.conf and package databases in that directory");
  }
  if (!root.startsWith("/")) throw new SimConfigError(`STEWARD_SIM_ROOT must be an absolute path, not ${root}`);
  mkdirSync(root, { recursive: true });
  return root;
}

const LOCK_WAIT_MS = 30_000;
const sleeper = new Int32Array(new SharedArrayBuffer(4));

function sleepMs(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** acquireLock takes `$root/state.lock`, waiting up to 30 s; returns the release function. Throws when it cannot. */
function acquireLock(root: string): () => void {
  const path = join(root, "state.lock");
  const token = `${process.pid} ${randomBytes(4).toString("hex")}\n`;
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (let attempt = 0; ; attempt++) {
    try {
      const fd = openSync(path, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o644);
      writeSync(fd, token);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, "utf8") === token) rmSync(path, { force: true });
        } catch {
          // already gone: nothing to release
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let holder = "";
    try {
      holder = readFileSync(path, "utf8");
    } catch {
      continue; // released between our open and read
    }
    const pid = Number.parseInt(holder, 10);
    // An empty file is a holder between open and write; give it a moment before judging it.
    if (Number.isInteger(pid) && pid > 0 && !isAlive(pid)) {
      const stale = `${path}.${randomBytes(4).toString("hex")}.stale`;
      try {
        renameSync(path, stale);
        if (readFileSync(stale, "utf8") === holder) rmSync(stale, { force: true });
        else renameSync(stale, path); // someone else's fresh lock: put it back
      } catch {
        // another process took it over first
      }
      continue;
    }
    if (Date.now() > deadline) throw new Error(`state lock ${path} held by ${holder.trim() || "?"} for more than ${LOCK_WAIT_MS / 1000} s`);
    sleepMs(Math.min(5 + attempt * 2, 50));
  }
}

function statePath(root: string): string {
  return join(root, "state.json");
}

/** readState returns the last written state (or the empty one) without locking. */
export function readState(root: string): SimState {
  const p = statePath(root);
  if (!existsSync(p)) return emptyState();
  return JSON.parse(readFileSync(p, "utf8")) as SimState;
}

function writeState(root: string, s: SimState): void {
  const tmp = join(root, `.state.${process.pid}.${randomBytes(4).toString("hex")}.tmp`);
  writeFileSync(tmp, `${JSON.stringify(s, null, 1)}\n`);
  renameSync(tmp, statePath(root));
}

/**
 * withState runs `change` on the current state under the lock and writes the result back,
 * after reaping jails that have neither persist nor processes (the kernel removes those).
 * `change` must not start processes or take the lock again.
 */
export function withState<T>(root: string, change: (s: SimState) => T): T {
  const release = acquireLock(root);
  try {
    const s = readState(root);
    const result = change(s);
    reapJails(s);
    writeState(root, s);
    return result;
  } finally {
    release();
  }
}

/** isPersistent says whether a jail may exist without processes. */
export function isPersistent(j: SimJail): boolean {
  return j.params.persist === "true" || j.tempPersist;
}

/** reapJails removes jails with no persist and no processes, as prison_deref does when the last reference goes. */
export function reapJails(s: SimState): void {
  s.jails = s.jails.filter((j) => isPersistent(j) || (s.processes[String(j.jid)]?.length ?? 0) > 0);
  for (const key of Object.keys(s.processes)) {
    if (key !== "0" && !s.jails.some((j) => String(j.jid) === key)) delete s.processes[key];
  }
}

/** findJail looks a running jail up as jail_getid(3) does: a number is a jid, anything else a name. */
export function findJail(s: SimState, key: string): SimJail | undefined {
  if (/^[0-9]+$/.test(key) && Number(key) !== 0) return s.jails.find((j) => j.jid === Number(key));
  return s.jails.find((j) => j.name === key);
}

/** notFoundMessage is the kernel's errmsg for a missing jail: `jail 7 not found` or `jail "web" not found`. */
export function notFoundMessage(key: string): string {
  return /^[0-9]+$/.test(key) && Number(key) !== 0 ? `jail ${Number(key)} not found` : `jail "${key}" not found`;
}
