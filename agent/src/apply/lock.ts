/**
 * The apply lock, `<state>/apply.lock`: two agents (or an agent and a `steward apply`) never
 * change the host at once. A flock(2) lock as file-lock.ts describes it: the kernel releases it
 * when its holder dies, so a crashed apply never blocks the next one.
 */
import { join } from "node:path";
import { acquireFileLock, type FileLock, type LockOwner } from "../file-lock.js";
import type { Logger } from "../log.js";

export type { LockOwner };

export type ApplyLock = FileLock;

/** lockPath names the lock in a state directory. */
export function lockPath(stateDir: string): string {
  return join(stateDir, "apply.lock");
}

/**
 * acquireApplyLock takes the lock or explains who holds it. Side effects: creates the state
 * directory and the lock file, starts the holder process, writes `apply.lock.owner`. Throws
 * APPLY_LOCKED (transient) when another process (or another apply in this one) holds it,
 * EXEC_FAILED/EXEC_TIMEOUT when the lock tool cannot run, and the fs error when the state
 * directory cannot be created.
 */
export function acquireApplyLock(stateDir: string, log: Logger): Promise<ApplyLock> {
  return acquireFileLock(lockPath(stateDir), {
    log,
    code: "APPLY_LOCKED",
    what: "apply",
    hint: "wait for it to finish: the lock is released when that process ends (do not remove the lock file)",
  });
}
