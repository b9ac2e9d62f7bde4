/**
 * Cross-process locks, shared by the apply lock (`<state>/apply.lock`) and the source repository
 * lock (`<state>/source/repo.lock`). They are flock(2) locks, which the kernel releases when the
 * last descriptor of the locked open file closes, so when the holder dies by any means. Node
 * has no flock(2), so a small holder process takes the lock and keeps it:
 *   Linux (util-linux flock(1)):  flock -n -E 75 FILE cat        (-w SECS instead of -n to wait)
 *   FreeBSD (base lockf(1)):      lockf -k -s -t 0 FILE cat      (-t SECS to wait, whole seconds)
 * Both exit 75 (EX_TEMPFAIL) when another process holds the lock, and start cat only once the
 * lock is theirs. cat reads a pipe from the agent: the byte the agent writes comes back on
 * stdout once the lock is held. When the agent ends the pipe, on release or because it died
 * (SIGKILL included), cat exits at EOF, the holder exits, and the kernel drops the lock.
 * Nothing here reads clocks, pids or host names to guess whether a lock is stale, so a clock
 * step, a reused pid or another host's record cannot give one lock to two processes.
 *
 * The lock file is created if missing and never removed (neither here nor by hand): removing
 * a locked file lets the next process lock a new file of the same name while the old one is
 * still held. Its content means nothing. Who took the lock is written to `<lock>.owner` once it
 * is held, for messages only; after a crash that record stays behind, stale and harmless.
 */
import { once } from "node:events";
import { mkdir, readFile, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { StewardError, type ErrorCode } from "./errors.js";
import { startStdinBoundProcess, type Argv, type RunningProcess } from "./exec.js";
import type { Logger } from "./log.js";

export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly startedAt: string;
}

export interface FileLock {
  readonly path: string;
  readonly owner: LockOwner;
  /** release removes the owner record and drops the lock; resolves once it is free. Never throws. */
  release(): Promise<void>;
}

export interface FileLockOptions {
  readonly log: Logger;
  /** The code thrown when another process holds the lock (retry "transient"). */
  readonly code: ErrorCode;
  /** What the lock protects, for messages and logs: "apply", "source repository". */
  readonly what: string;
  readonly hint: string;
  /** How long to wait while another process holds the lock; 0 (the default) fails at once. FreeBSD rounds up to whole seconds. */
  readonly waitMs?: number;
}

/** The exit status both tools use for "held by another process" (sysexits EX_TEMPFAIL). */
const EX_TEMPFAIL = 75;
/** How much longer than its own wait the holder may take to answer before we give up on it. */
const HOLDER_GRACE_MS = 10_000;
/** How long a released holder may take to exit before it is killed. */
const RELEASE_GRACE_MS = 5_000;
const HANDSHAKE = "\n";

/** ownerPath names the record of who holds the lock at `path`. */
export function ownerPath(path: string): string {
  return `${path}.owner`;
}

/**
 * holderArgv is the command that takes the flock(2) lock on `path` (an absolute path), waiting
 * up to `waitMs`, then runs cat until its stdin ends. Pure. Undefined on a platform with neither tool.
 */
export function holderArgv(platform: NodeJS.Platform, path: string, waitMs: number): Argv | undefined {
  switch (platform) {
    case "linux":
      // flock(1): -E sets the exit status for a conflict and for a timeout (default 1, which cat could return too).
      return waitMs > 0 ? ["flock", "-w", (Math.ceil(waitMs) / 1000).toFixed(3), "-E", String(EX_TEMPFAIL), path, "cat"] : ["flock", "-n", "-E", String(EX_TEMPFAIL), path, "cat"];
    case "freebsd":
      // lockf(1): -k keeps the file (it is ours, never unlinked); -s no message; -t whole seconds, 0 = do not wait.
      return ["lockf", "-k", "-s", "-t", String(Math.ceil(Math.max(0, waitMs) / 1000)), path, "cat"];
    default:
      return undefined;
  }
}

function parseOwner(text: string): LockOwner | undefined {
  try {
    const o = JSON.parse(text) as Partial<LockOwner>;
    if (typeof o.pid === "number" && Number.isInteger(o.pid) && o.pid > 0 && typeof o.host === "string" && typeof o.startedAt === "string") {
      return { pid: o.pid, host: o.host, startedAt: o.startedAt };
    }
  } catch {
    // torn, missing or foreign content
  }
  return undefined;
}

/** firstEcho resolves true when the holder echoes the handshake (the lock is held), false when it exits first. */
async function firstEcho(holder: RunningProcess): Promise<boolean> {
  const stop = new AbortController();
  try {
    return await Promise.race([
      once(holder.stdout, "data", { signal: stop.signal }).then(
        () => true,
        () => false,
      ),
      // Once cat runs it exits only at EOF, which we have not sent: an exit means no lock.
      holder.done.then(() => false),
    ]);
  } finally {
    stop.abort();
  }
}

/**
 * acquireFileLock takes the lock at `path` or explains who holds it. Side effects: creates the
 * parent directory and the lock file, starts the holder process (which lives until release or
 * until this process dies), writes `<path>.owner`. Throws `options.code` (transient) when
 * another process, or another acquisition in this one, still holds the lock after `waitMs`;
 * EXEC_FAILED when the platform has no lock tool (stalled) or the tool fails otherwise
 * (transient); EXEC_TIMEOUT when the tool does not answer within its wait and 10 s more; the fs
 * error when the directory cannot be created.
 */
export async function acquireFileLock(path: string, options: FileLockOptions): Promise<FileLock> {
  try {
    return await acquireOnce(path, options, Math.max(0, options.waitMs ?? 0));
  } catch (e) {
    // A holder that died a moment ago still holds the lock until its holder process has read
    // end-of-file and exited. The owner record is never trusted to take a lock, only to decide
    // to wait that moment out when it names a process of this host that is gone.
    if (!(e instanceof StewardError) || e.code !== options.code || (options.waitMs ?? 0) >= DEAD_HOLDER_GRACE_MS) throw e;
    const pid = e.data["pid"];
    if (e.data["host"] !== hostname() || typeof pid !== "number" || isRunning(pid)) throw e;
    return acquireOnce(path, options, DEAD_HOLDER_GRACE_MS);
  }
}

/** How long a lock whose recorded holder is gone is waited for: the kernel frees it right after. */
const DEAD_HOLDER_GRACE_MS = 2_000;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

async function acquireOnce(path: string, options: FileLockOptions, waitMs: number): Promise<FileLock> {
  const argv = holderArgv(process.platform, resolve(path), waitMs);
  if (argv === undefined) {
    throw new StewardError("EXEC_FAILED", `no lock tool on ${process.platform}`, {
      retry: "stalled",
      data: { path, platform: process.platform },
      hint: "Steward locks with flock(1) on Linux and lockf(1) on FreeBSD",
    });
  }
  await mkdir(dirname(path), { recursive: true });
  const holder = startStdinBoundProcess(argv);
  holder.stdin.write(HANDSHAKE);
  let timer: NodeJS.Timeout | undefined;
  const answered = await Promise.race([
    firstEcho(holder),
    new Promise<"timeout">((resolveTimeout) => {
      timer = setTimeout(() => resolveTimeout("timeout"), waitMs + HOLDER_GRACE_MS);
    }),
  ]);
  clearTimeout(timer);
  if (answered !== true) {
    holder.stdin.end();
    if (answered === "timeout") holder.kill();
    const r = await holder.done;
    if (answered === "timeout") throw new StewardError("EXEC_TIMEOUT", `the ${options.what} lock tool did not answer`, { retry: "transient", data: { path, argv } });
    if (r.spawnError !== undefined) {
      throw new StewardError("EXEC_FAILED", `cannot run ${argv[0]} to take the ${options.what} lock`, {
        retry: "stalled",
        data: { path, argv, error: r.spawnError },
        hint: argv[0] === "flock" ? "install util-linux (it provides flock(1))" : "lockf(1) is part of the FreeBSD base system; check PATH",
      });
    }
    if (r.exitCode === EX_TEMPFAIL) throw await heldError(path, options);
    throw new StewardError("EXEC_FAILED", `${argv[0]} could not take the ${options.what} lock`, {
      retry: "transient",
      data: { path, argv, exitCode: r.exitCode, stderr: r.stderr.trim() },
    });
  }
  holder.stdout.resume();
  const owner: LockOwner = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
  await writeFile(ownerPath(path), `${JSON.stringify(owner)}\n`, { mode: 0o644 }).catch((e: unknown) => {
    options.log.warn({ path, error: String(e) }, `${options.what} lock owner not recorded`);
  });
  let released = false;
  void holder.done.then((r) => {
    if (!released) options.log.error({ path, holder: holder.pid, exitCode: r.exitCode }, `${options.what} lock holder ended early: the lock is lost`);
  });
  return {
    path,
    owner,
    release: async () => {
      if (released) return;
      released = true;
      // Removed while still held, so that it can only ever be our own record.
      await unlink(ownerPath(path)).catch(() => {});
      holder.stdin.end();
      let timer: NodeJS.Timeout | undefined;
      const exited = await Promise.race([
        holder.done.then(() => true),
        new Promise<false>((resolveLate) => {
          timer = setTimeout(() => resolveLate(false), RELEASE_GRACE_MS);
        }),
      ]);
      clearTimeout(timer);
      if (!exited) {
        holder.kill();
        await holder.done;
      }
    },
  };
}

/** heldError is the error for a lock another process holds, naming it as its owner record says. */
async function heldError(path: string, options: FileLockOptions): Promise<StewardError> {
  const holder = parseOwner(await readFile(ownerPath(path), "utf8").catch(() => ""));
  const who = holder === undefined ? "" : ` (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt})`;
  return new StewardError(options.code, `another process holds the ${options.what} lock${who}`, {
    retry: "transient",
    data: { path, ...(holder === undefined ? {} : { pid: holder.pid, host: holder.host, startedAt: holder.startedAt }) },
    hint: options.hint,
  });
}
