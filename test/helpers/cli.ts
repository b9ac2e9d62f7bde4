/**
 * Runs the built `steward` CLI as a child process, the way an admin or a git hook does, and
 * returns the outcome as data. Tests assert on `code` and on diagnostic codes in the output.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (this file is compiled to build/test/helpers/cli.js). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");

/** The compiled CLI entry point. */
export const CLI_MAIN = join(REPO_ROOT, "build/agent/src/cli/main.js");

export interface CliResult {
  /** Exit code; a process killed by a signal reports 128 + 1 so that it never reads as success. */
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Peak resident set size in KiB, with `measureRss`. */
  readonly peakRssKiB?: number;
}

export interface CliOptions {
  readonly cwd?: string;
  /** The whole environment of the child (default: this process's). */
  readonly env?: NodeJS.ProcessEnv;
  /** Kill the child after this many milliseconds (default 30 s). */
  readonly timeoutMs?: number;
  /** Report the child's peak resident set size (peak-rss.ts, loaded with --import). */
  readonly measureRss?: boolean;
}

/**
 * runCli spawns `node build/agent/src/cli/main.js ...args` with the running node binary and
 * resolves with its exit code and output once it exits. Never rejects for a non-zero exit.
 */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done;
}

/** A CLI process still running: its pid (for a test that kills it) and its outcome. */
export interface StartedCli {
  readonly child: ChildProcess;
  readonly done: Promise<CliResult>;
}

/** startCli is runCli that hands back the process at once, e.g. to SIGKILL it mid-apply. */
export function startCli(args: readonly string[], options: CliOptions = {}): StartedCli {
  const rssDir = options.measureRss === true ? mkdtempSync(join(tmpdir(), "steward-rss-")) : undefined;
  const rssFile = rssDir === undefined ? undefined : join(rssDir, "maxrss");
  const measure = rssFile === undefined ? [] : ["--import", join(REPO_ROOT, "build/test/helpers/peak-rss.js")];
  const env = { ...(options.env ?? process.env), ...(rssFile === undefined ? {} : { STEWARD_TEST_RSS_FILE: rssFile }) };
  const child = spawn(process.execPath, [...measure, CLI_MAIN, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
    timeout: options.timeoutMs ?? 30_000,
  });
  const done = new Promise<CliResult>((resolvePromise, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code, signal) => {
      let peakRssKiB: number | undefined;
      if (rssDir !== undefined && rssFile !== undefined) {
        try {
          peakRssKiB = Number(readFileSync(rssFile, "utf8"));
        } catch {
          peakRssKiB = undefined;
        }
        rmSync(rssDir, { recursive: true, force: true });
      }
      resolvePromise({
        code: code ?? (signal === null ? 1 : 129),
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
        ...(peakRssKiB === undefined ? {} : { peakRssKiB }),
      });
    });
  });
  return { child, done };
}
