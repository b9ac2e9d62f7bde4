/**
 * The one place that starts processes (docs/decisions.md, "One executor"). Everything Steward runs on the host goes
 * through an Executor: an argument vector, never a shell string; a timeout on everything;
 * `reject: false`, so a non-zero exit is data for the caller's parser, not an exception.
 * The executor never logs: callers and observers decide what a result means.
 */
import { execa } from "execa";
import { writeFileAtomic } from "./atomic-write.js";
import { Transform, pipeline, type Readable, type Writable } from "node:stream";

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

/** How a pipeline runs: one deadline for all its stages, and the bytes that leave the first. */
export interface PipeOptions {
  /** Hard limit for the whole pipeline: every stage is killed when it passes. Default 60 s. */
  readonly timeoutMs?: number;
  /** Told the bytes that have left the first stage so far: at most once a second, and once at the end. */
  readonly onProgress?: (bytes: number) => void;
  /** Added to (not replacing) the agent's environment, for every stage. */
  readonly env?: Readonly<Record<string, string>>;
}

/** One stage of a finished pipeline. */
export interface StageResult {
  readonly argv: Argv;
  readonly exitCode: number | null;
  readonly stderr: string;
  readonly spawnError?: string;
}

/**
 * What a finished pipeline did: `exitCode` is 0 only when every stage exited 0 (a shell's
 * pipefail, and more: a `zfs send` that fails can leave `zfs receive` exiting 0), else the exit
 * code of the stage that failed first on its own (a stage killed by the broken pipe another
 * left behind is not the cause); `argv` is that stage's, `stderr` every stage's, labelled;
 * `stdout` the last stage's.
 */
export interface PipeResult extends RunResult {
  readonly stages: readonly StageResult[];
  /** Bytes that left the first stage. */
  readonly bytes: number;
}

export interface Executor {
  run(argv: Argv, options?: RunOptions): Promise<RunResult>;
  /**
   * pipe runs stages with each one's stdout on the next one's stdin (`a | b | c`, without a
   * shell), the bytes streamed through this process so they can be counted. Never throws.
   * Optional: an executor without it runs no pipelines (an action with one fails).
   */
  pipe?(stages: readonly Argv[], options?: PipeOptions): Promise<PipeResult>;
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
  pipe: runPipeline,
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

const STAGE_STDERR_KEPT = 16 * 1024;

/**
 * runPipeline runs `stages` as a pipeline (Executor.pipe): argument vectors, one deadline for
 * all (SIGTERM, then SIGKILL), the first stage's stdout counted on its way to the second.
 * Never throws: a stage that cannot start, fails or is killed is data in the result.
 */
export async function runPipeline(stages: readonly Argv[], options: PipeOptions = {}): Promise<PipeResult> {
  const started = performance.now();
  const first = stages[0];
  if (first === undefined) return { argv: ["(pipeline)"], exitCode: 0, stdout: "", stderr: "", timedOut: false, durationMs: 0, stages: [], bytes: 0 };
  const deadline = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    deadline.abort();
  }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const children = stages.map((argv, i) => {
    const [file, ...args] = argv;
    const last = i === stages.length - 1;
    return execa(file, args, {
      reject: false,
      stripFinalNewline: false,
      encoding: "buffer",
      buffer: { stdout: last, stderr: true },
      maxBuffer: { stdout: 64 * 1024 * 1024, stderr: 1024 * 1024 },
      stdin: i === 0 ? "ignore" : "pipe",
      stdout: "pipe",
      stderr: "pipe",
      cancelSignal: deadline.signal,
      forceKillAfterDelay: 2_000,
      ...(options.env === undefined ? {} : { env: { ...options.env } }),
    });
  });
  let bytes = 0;
  // The first bytes are reported at once, however young the process.
  let lastReport = -Infinity;
  const report = (force: boolean): void => {
    const now = performance.now();
    if (options.onProgress === undefined || (!force && now - lastReport < 1_000)) return;
    lastReport = now;
    options.onProgress(bytes);
  };
  for (let i = 0; i + 1 < children.length; i++) {
    const from = children[i]?.stdout;
    const to = children[i + 1]?.stdin;
    if (from === undefined || from === null || to === undefined || to === null) continue;
    const links: (Readable | Writable | Transform)[] = [from];
    if (i === 0) {
      links.push(
        new Transform({
          transform(chunk: Buffer, _enc, done) {
            bytes += chunk.length;
            report(false);
            done(null, chunk);
          },
        }),
      );
    }
    links.push(to);
    // A stage that exits early breaks the pipe: pipeline() then closes our end of the writer's
    // stdout, so the writer gets SIGPIPE instead of blocking forever; its exit status says the rest.
    pipeline(links, () => {});
    children[i + 1]?.once("exit", () => {
      from.destroy();
    });
  }
  const results = await Promise.all(children);
  clearTimeout(timer);
  report(true);
  const stageResults: StageResult[] = results.map((r, i) => {
    const stderr = r.stderr instanceof Uint8Array ? Buffer.from(r.stderr).toString("utf8").slice(0, STAGE_STDERR_KEPT) : "";
    const spawnError = r.failed && r.exitCode === undefined && !r.isCanceled && r.signal === undefined ? r.originalMessage || r.shortMessage : undefined;
    return { argv: stages[i] as Argv, exitCode: r.exitCode ?? null, stderr, ...(spawnError === undefined ? {} : { spawnError }) };
  });
  const failed = stageResults.filter((s) => s.exitCode !== 0);
  // The cause is the first stage that failed on its own, not one the broken pipe killed after it.
  // Node's stdio pipes are socket pairs on Linux: a closed reader is ECONNRESET there, EPIPE elsewhere.
  const brokenPipe = (s: StageResult, i: number): boolean => results[i]?.signal === "SIGPIPE" || /broken pipe|connection reset by peer/i.test(s.stderr);
  const cause = failed.find((s) => !brokenPipe(s, stageResults.indexOf(s))) ?? failed[0];
  const last = results[results.length - 1];
  const stdout = last !== undefined && last.stdout instanceof Uint8Array ? Buffer.from(last.stdout).toString("utf8") : "";
  const stderr = stageResults
    .filter((s) => s.stderr !== "" || s.spawnError !== undefined)
    .map((s) => `${s.argv[0]}: ${(s.stderr || s.spawnError || "").trimEnd()}`)
    .join("\n");
  return {
    argv: cause?.argv ?? (stages[stages.length - 1] as Argv),
    exitCode: timedOut ? null : cause === undefined ? 0 : cause.exitCode,
    stdout,
    stderr: stderr === "" ? "" : `${stderr}\n`,
    timedOut,
    ...(cause?.spawnError === undefined ? {} : { spawnError: cause.spawnError }),
    durationMs: performance.now() - started,
    stages: stageResults,
    bytes,
  };
}
