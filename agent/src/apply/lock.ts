/**
 * The apply lock, `<state>/apply.lock`: two agents (or an agent and a `steward apply`) never
 * change the host at once. A lock file as file-lock.ts describes it (O_EXCL, owner's pid, host
 * and boot time; stale when the owner is dead or from an earlier boot).
 */
import { join } from "node:path";
import { acquireFileLock, isAlive, type FileLock, type LockOwner } from "../file-lock.js";
import type { Logger } from "../log.js";

export { isAlive, type LockOwner };

export type ApplyLock = FileLock;

/** lockPath names the lock in a state directory. */
export function lockPath(stateDir: string): string {
  return join(stateDir, "apply.lock");
}

/**
 * acquireApplyLock takes the lock or explains who holds it. Side effects: creates the state
 * directory and the lock file; removes a lock whose owner is dead on this host (logged as a
 * takeover). Throws APPLY_LOCKED (transient) when a live process holds it, or when its
 * content is unreadable and fresh (its creator is still writing it); throws the fs error
 * when the state directory is not writable.
 */
export function acquireApplyLock(stateDir: string, log: Logger): Promise<ApplyLock> {
  return acquireFileLock(lockPath(stateDir), {
    log,
    code: "APPLY_LOCKED",
    what: "apply",
    hint: "wait for it to finish; if no Steward process runs, remove the lock file",
  });
}
