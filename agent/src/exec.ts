/**
 * The one place that starts processes (docs/decisions.md, "One executor"). Everything Steward runs on the host goes
 * through an Executor: an argument vector, never a shell string; a timeout on everything;
 * `reject: false`, so a non-zero exit is data for the caller's parser, not an exception.
 * The executor never logs: callers and observers decide what a result means.
 */
import { execa } from "execa";
import { writeFileAtomic } from "./atomic-write.js";
import type { Readable, Writable } from "node:stream";

/** A command and its arguments. The first element is the program. */
export type Argv = readonly [string, ...string[]];

export interface RunOptions {
  /** Bytes or text written to stdin, then stdin is closed. */
  readonly input?: string | Uint8Array;
  /** Hard limit; the process is killed (SIGTERM, then SIGKILL) when it passes. Default 60 s. */
  readonly timeoutMs?: number;
  readonly cwd?: string;
  /** Added to (not replacing) the agent's environment. */
  readonly env?: Readonly<Record<string, string>>;
  /** Largest stdout/stderr kept, in bytes. Default 64 MiB. */
  readonly maxBuffer?: number;
}

/** What a finished process did. `exitCode` is null when it was killed or never started. */
export interface RunResult {
  readonly argv: Argv;
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** Set when the program could not be started at all (ENOENT, EACCES). */
  readonly spawnError?: string;
  readonly durationMs: number;
}

export interface Executor {
  run(argv: Argv, options?: RunOptions): Promise<RunResult>;
  /**
   * writeFile replaces `path` with `data` atomically (temp file, fsync, rename), creating its
   * directory (0755) if needed, with permission bits `mode`. Never throws: a failure is a result
   * with `exitCode` 1 and the error in `stderr`, as a command's would be.
   */
  writeFile(path: string, data: Uint8Array, mode: number): Promise<RunResult>;
}

export const DEFAULT_TIMEOUT_MS = 60_000;

/** systemExecutor runs commands and writes files on this host. */
export const systemExecutor: Executor = {
  async writeFile(path, data, mode) {
    const started = performance.now();
    const argv: Argv = ["(write)", path];
    try {
      await writeFileAtomic(path, data, mode, 0o755);
      return { argv, exitCode: 0, stdout: "", stderr: "", timedOut: false, durationMs: performance.now() - started };
    } catch (e) {
      return { argv, exitCode: 1, stdout: "", stderr: e instanceof Error ? e.message : String(e), timedOut: false, durationMs: performance.now() - started };
    }
  },
  async run(argv, options = {}) {
    const started = performance.now();
    const [file, ...args] = argv;
    const r = await execa(file, args, {
      reject: false,
      stripFinalNewline: false,
      timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      forceKillAfterDelay: 2_000,
      maxBuffer: options.maxBuffer ?? 64 * 1024 * 1024,
      ...(options.input === undefined ? { stdin: "ignore" as const } : { input: options.input }),
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      ...(options.env === undefined ? {} : { env: { ...options.env } }),
    });
    const spawnError = r.failed && r.exitCode === undefined && !r.timedOut && r.signal === undefined ? r.originalMessage || r.shortMessage : undefined;
    return {
      argv,
      exitCode: r.exitCode ?? null,
      stdout: typeof r.stdout === "string" ? r.stdout : "",
      stderr: typeof r.stderr === "string" ? r.stderr : "",
      timedOut: r.timedOut,
      ...(spawnError === undefined ? {} : { spawnError }),
      durationMs: performance.now() - started,
    };
  },
};

/** A process whose stdin and stdout the caller streams (the git transports, the lock holder). */
export interface RunningProcess {
  /** The process id; undefined when it could not be started (`done` then has `spawnError`). */
  readonly pid: number | undefined;
  readonly stdin: Writable;
  readonly stdout: Readable;
  /** Resolves when the process ends; never rejects. stderr is collected in full. */
  readonly done: Promise<{ exitCode: number | null; stderr: string; timedOut: boolean; spawnError?: string }>;
  kill(): void;
}

/** Told when a process started with startProcess starts and ends. */
export type ProcessListener = (pid: number, event: "start" | "end") => void;
let processListener: ProcessListener | undefined;

/**
 * setProcessListener registers the one listener told about startProcess's processes (module
 * state, so per thread): a fetch worker reports its pids to the parent, which kills them if it
 * has to terminate the worker.
 */
export function setProcessListener(listener: ProcessListener | undefined): void {
  processListener = listener;
}

/**
 * startProcess starts a long-running process with piped binary stdin/stdout. It has the same
 * rules as `run`: an argument vector, a hard timeout, no rejection on failure.
 */
export function startProcess(argv: Argv, options: Omit<RunOptions, "input" | "maxBuffer"> = {}): RunningProcess {
  return start(argv, { timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, cwd: options.cwd, env: options.env });
}

/**
 * startStdinBoundProcess starts a program that runs until its stdin reaches end of file (cat,
 * or a wrapper such as flock(1) around cat), with piped binary stdin/stdout. It has no timeout:
 * its lifetime is the caller's instead. The caller ends it by ending stdin; when the caller dies
 * by any means (SIGKILL included) the kernel closes the pipe and the program sees EOF. The pipe
 * is close-on-exec, so no other process the agent starts keeps it open. It runs in its own
 * session (setsid), so a terminal's SIGINT to the agent's process group does not end it while
 * the agent lives on; and it is not killed when the agent exits, the EOF does that.
 */
export function startStdinBoundProcess(argv: Argv, options: Pick<RunOptions, "cwd" | "env"> = {}): RunningProcess {
  return start(argv, { timeout: 0, detached: true, cwd: options.cwd, env: options.env });
}

function start(argv: Argv, options: { timeout: number; detached?: boolean; cwd: string | undefined; env: RunOptions["env"] }): RunningProcess {
  const [file, ...args] = argv;
  const child = execa(file, args, {
    reject: false,
    encoding: "buffer",
    buffer: { stdout: false, stderr: true },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    timeout: options.timeout,
    forceKillAfterDelay: 1_000,
    ...(options.detached === true ? { detached: true } : {}),
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    ...(options.env === undefined ? {} : { env: { ...options.env } }),
  });
  // A peer that hangs up early makes writes fail with EPIPE; the exit status tells the story.
  child.stdin.on("error", () => {});
  const pid = child.pid;
  if (pid !== undefined) processListener?.(pid, "start");
  const done = child.then((r) => {
    if (pid !== undefined) processListener?.(pid, "end");
    const stderr = r.stderr instanceof Uint8Array ? Buffer.from(r.stderr).toString("utf8") : "";
    const spawnError = r.failed && r.exitCode === undefined && !r.timedOut && r.signal === undefined ? r.originalMessage || r.shortMessage : undefined;
    return { exitCode: r.exitCode ?? null, stderr, timedOut: r.timedOut, ...(spawnError === undefined ? {} : { spawnError }) };
  });
  return {
    pid: child.pid,
    stdin: child.stdin,
    stdout: child.stdout,
    done,
    kill: () => {
      child.kill("SIGTERM");
    },
  };
}
