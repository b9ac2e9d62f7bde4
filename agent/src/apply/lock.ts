/**
 * The apply lock, `<state>/apply.lock`: two agents (or an agent and a `steward apply`) never
 * change the host at once. Created with O_EXCL, it holds the owner's pid, host and start time.
 */
import { mkdir, open, readFile, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import { StewardError } from "../errors.js";
import type { Logger } from "../log.js";

export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
}

export interface ApplyLock {
  readonly path: string;
  readonly owner: LockOwner;
  /** The dead owner whose lock was taken over, if any. */
  readonly tookOverFrom: LockOwner | undefined;
  /** release removes the lock if it is still ours. Never throws. */
  release(): Promise<void>;
}

/** A lock file with no readable owner younger than this is assumed to be mid-write by its creator. */
const UNREADABLE_GRACE_MS = 30_000;

/** lockPath names the lock in a state directory. */
export function lockPath(stateDir: string): string {
  return join(stateDir, "apply.lock");
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === "number" && Number.isInteger(o.pid) && o.pid > 0 && typeof o.host === "string" && typeof o.startedAt === "string") return { pid: o.pid, host: o.host, startedAt: o.startedAt };
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
 * acquireApplyLock takes the lock or explains who holds it. Side effects: creates the state
 * directory and the lock file; removes a lock whose owner is dead on this host (logged as a
 * takeover). Throws APPLY_LOCKED (transient) when a live process holds it, or when its
 * content is unreadable and fresh (its creator is still writing it); throws the fs error
 * when the state directory is not writable.
 */
export async function acquireApplyLock(stateDir: string, log: Logger): Promise<ApplyLock> {
  await mkdir(stateDir, { recursive: true });
  const path = lockPath(stateDir);
  const owner: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
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
    const live = holder === undefined ? Date.now() - held.mtimeMs < UNREADABLE_GRACE_MS : holder.host !== owner.host || isAlive(holder.pid);
    if (live) {
      throw new StewardError("APPLY_LOCKED", "another apply holds the lock", {
        retry: "transient",
        data: { path, ...(holder === undefined ? {} : { pid: holder.pid, host: holder.host, startedAt: holder.startedAt }) },
        hint: "wait for it to finish; if no Steward process runs, remove the lock file",
      });
    }
    // Remove only the file we inspected: a racing agent may have replaced it since.
    try {
      if ((await stat(path)).ino !== held.ino) continue;
      await unlink(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    tookOverFrom = holder ?? { pid: 0, host: "", startedAt: "" };
    log.warn({ path, deadPid: holder?.pid, since: holder?.startedAt }, "stale apply lock taken over");
  }
  throw new StewardError("APPLY_LOCKED", "could not take the apply lock", { retry: "transient", data: { path } });
}

async function releaseLock(path: string, owner: LockOwner): Promise<void> {
  try {
    const holder = parseOwner(await readFile(path, "utf8"));
    if (holder !== undefined && holder.pid === owner.pid && holder.startedAt === owner.startedAt && holder.host === owner.host) await unlink(path);
  } catch {
    // already gone, or unreadable: not ours to remove
  }
}
