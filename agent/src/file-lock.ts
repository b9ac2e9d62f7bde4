/**
 * Cross-process lock files, shared by the apply lock (`<state>/apply.lock`) and the source
 * repository lock (`<state>/source/repo.lock`). Created with O_EXCL, a lock holds the owner's
 * pid, host, start time and the host's boot time: the state directory survives reboots, and
 * after one a recorded pid may belong to any process (often the new agent itself), so a lock
 * from an earlier boot is stale. Taking over a stale lock is serialised by a second O_EXCL
 * file, so that of two agents that both find the same dead owner only one removes it.
 */
import { mkdir, open, readFile, stat, unlink } from "node:fs/promises";
import { hostname, uptime } from "node:os";
import { dirname } from "node:path";
import { StewardError, type ErrorCode } from "./errors.js";
import type { Logger } from "./log.js";

export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
  /** When the host booted (ISO), absent in locks of older versions. */
  readonly boot?: string;
}

export interface FileLock {
  readonly path: string;
  readonly owner: LockOwner;
  /** The dead owner whose lock was taken over, if any. */
  readonly tookOverFrom: LockOwner | undefined;
  /** release removes the lock if it is still ours. Never throws. */
  release(): Promise<void>;
}

export interface FileLockOptions {
  readonly log: Logger;
  /** The code thrown when a live process holds the lock (retry "transient"). */
  readonly code: ErrorCode;
  /** What the lock protects, for messages and logs: "apply", "source repository". */
  readonly what: string;
  readonly hint: string;
  /** How long to keep trying while a live process holds the lock; 0 (the default) fails at once. */
  readonly waitMs?: number;
}

/** A lock file with no readable owner younger than this is assumed to be mid-write by its creator. */
const UNREADABLE_GRACE_MS = 30_000;
/** A takeover marker older than this was left by an agent that died while taking over. */
const TAKEOVER_GRACE_MS = 30_000;
/** Boot times computed from uptime jitter by a second or so; a reboot moves them by far more. */
const BOOT_TOLERANCE_MS = 60_000;
const POLL_MS = 100;

/** bootTime is when this host booted, from the uptime the kernel reports (FreeBSD and Linux). */
function bootTime(): Date {
  return new Date(Date.now() - uptime() * 1000);
}

/** isFromEarlierBoot tells whether a lock was written before the host last booted. */
function isFromEarlierBoot(holder: LockOwner, now: Date): boolean {
  if (holder.boot === undefined) return false;
  const then = Date.parse(holder.boot);
  return Number.isFinite(then) && Math.abs(now.getTime() - then) > BOOT_TOLERANCE_MS;
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === "number" && Number.isInteger(o.pid) && o.pid > 0 && typeof o.host === "string" && typeof o.startedAt === "string") {
      return { pid: o.pid, host: o.host, startedAt: o.startedAt, ...(typeof o.boot === "string" ? { boot: o.boot } : {}) };
    }
  } catch {
    // torn or foreign content
  }
  return undefined;
}

/** isAlive asks the kernel whether a pid exists (signal 0). EPERM means it exists under another user. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * acquireFileLock takes the lock file at `path` or explains who holds it. Side effects: creates
 * the parent directory and the lock file; removes a lock whose owner is dead on this host or
 * from an earlier boot (logged as a takeover). While a live process holds it, polls for up to
 * `waitMs`, then throws `options.code` (transient); the same when its content is unreadable and
 * fresh (its creator is still writing it). Throws the fs error when the directory is not writable.
 */
export async function acquireFileLock(path: string, options: FileLockOptions): Promise<FileLock> {
  const deadline = Date.now() + (options.waitMs ?? 0);
  for (;;) {
    const got = await tryFileLock(path, options);
    if (!(got instanceof StewardError)) return got;
    if (Date.now() + POLL_MS > deadline) throw got;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** tryFileLock takes the lock, or returns (not throws) the error saying a live process holds it. */
async function tryFileLock(path: string, options: FileLockOptions): Promise<FileLock | StewardError> {
  await mkdir(dirname(path), { recursive: true });
  const boot = bootTime();
  const owner: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString(), boot: boot.toISOString() };
  let tookOverFrom: LockOwner | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fh = await open(path, "wx", 0o644);
      try {
        await fh.writeFile(`${JSON.stringify(owner)}\n`, "utf8");
      } finally {
        await fh.close();
      }
      return { path, owner, tookOverFrom, release: () => releaseLock(path, owner) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    let held: { text: string; ino: number; mtimeMs: number };
    try {
      const st = await stat(path);
      held = { text: await readFile(path, "utf8"), ino: st.ino, mtimeMs: st.mtimeMs };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") continue; // released meanwhile
      throw e;
    }
    const holder = parseOwner(held.text);
    const live =
      holder === undefined ? Date.now() - held.mtimeMs < UNREADABLE_GRACE_MS : holder.host !== owner.host || (!isFromEarlierBoot(holder, boot) && isAlive(holder.pid));
    if (live) {
      return new StewardError(options.code, `another process holds the ${options.what} lock`, {
        retry: "transient",
        data: { path, ...(holder === undefined ? {} : { pid: holder.pid, host: holder.host, startedAt: holder.startedAt }) },
        hint: options.hint,
      });
    }
    // Remove only the file we inspected, and only one contender at a time: between our stat
    // and our unlink another agent could take the lock over and create its own.
    const takeover = await beginTakeover(path);
    if (takeover === undefined) continue;
    try {
      const now = await stat(path).catch((e: NodeJS.ErrnoException) => (e.code === "ENOENT" ? undefined : Promise.reject(e)));
      if (now === undefined || now.ino !== held.ino || (await readFile(path, "utf8")) !== held.text) continue;
      await unlink(path);
    } finally {
      await unlink(takeover).catch(() => {});
    }
    tookOverFrom = holder ?? { pid: 0, host: "", startedAt: "" };
    options.log.warn({ path, deadPid: holder?.pid, since: holder?.startedAt }, `stale ${options.what} lock taken over`);
  }
  throw new StewardError(options.code, `could not take the ${options.what} lock`, { retry: "transient", data: { path } });
}

/**
 * beginTakeover creates `<lock>.takeover` with O_EXCL and returns its path, or undefined when
 * another contender is taking over right now. A marker left by a contender that died is removed
 * once it is older than TAKEOVER_GRACE_MS.
 */
async function beginTakeover(lock: string): Promise<string | undefined> {
  const marker = `${lock}.takeover`;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await (await open(marker, "wx", 0o644)).close();
      return marker;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const st = await stat(marker).catch(() => undefined);
    if (st !== undefined && Date.now() - st.mtimeMs < TAKEOVER_GRACE_MS) return undefined;
    await unlink(marker).catch(() => {});
  }
  return undefined;
}

async function releaseLock(path: string, owner: LockOwner): Promise<void> {
  try {
    const holder = parseOwner(await readFile(path, "utf8"));
    if (holder !== undefined && holder.pid === owner.pid && holder.startedAt === owner.startedAt && holder.host === owner.host) await unlink(path);
  } catch {
    // already gone, or unreadable: not ours to remove
  }
}
