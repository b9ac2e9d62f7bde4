/**
 * Runs the built `steward` CLI as a child process, the way an admin or a git hook does, and
 * returns the outcome as data. Tests assert on `code` and on diagnostic codes in the output.
 */
import { spawn } from "node:child_process";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The repository root (this file is compiled to build/test/helpers/cli.js). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The compiled CLI entry point. */
export const CLI_MAIN = join(REPO_ROOT, "build/agent/src/cli/main.js");

export interface CliResult {
  /** Exit code; a process killed by a signal reports 128 + 1 so that it never reads as success. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly cwd?: string;
  /** The whole environment of the child (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** Kill the child after this many milliseconds (default 30 s). */
  readonly timeoutMs?: number;
  /** Options for node itself, before the CLI's path (e.g. `--import`). */
  readonly nodeArgs?: readonly string[];
}

/** The compiled max-rss.ts, for `nodeArgs: ["--import", MAX_RSS_IMPORT]`. */
export const MAX_RSS_IMPORT = pathToFileURL(join(REPO_ROOT, "build/test/helpers/max-rss.js")).href;

/** maxRssKib reads the peak RSS (KiB) that max-rss.ts printed on stderr, or undefined. */
export function maxRssKib(stderr: string): number | undefined {
  const m = /^MAXRSS (\d+)$/m.exec(stderr);
  return m === null ? undefined : Number(m[1]);
}

/**
 * runCli spawns `node [nodeArgs] build/agent/src/cli/main.js ...args` with the running node binary and
 * resolves with its exit code and output once it exits. Never rejects for a non-zero exit.
 */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI_MAIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
      timeout: options.timeoutMs ?? 30_000,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      resolvePromise({
        code: code ?? (signal === null ? 1 : 129),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      });
    });
  });
}
