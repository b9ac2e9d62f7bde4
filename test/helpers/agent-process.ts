/**
 * A running `steward agent` for a test: the real CLI in its own process group (so a test can
 * kill it and every command it started, as a power cut would), its JSON log lines parsed as
 * they arrive, and waits on them with a deadline.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { CLI_MAIN, REPO_ROOT } from "./cli.js";

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [key: string]: unknown;
}

export interface AgentProcess {
  readonly child: ChildProcess;
  /** Every log line so far. */
  readonly lines: LogLine[];
  /** Stderr that was not a log line. */
  readonly other: string[];
  /** waitFor resolves with the first line (from `from`, default: the next one) that matches, or rejects after `timeoutMs`. */
  waitFor(match: (line: LogLine) => boolean, timeoutMs?: number, from?: number): Promise<LogLine>;
  /** exited resolves with the exit code (128 + n for a signal). */
  readonly exited: Promise<number>;
  /** signal sends a signal to the agent only. */
  signal(sig: NodeJS.Signals): void;
  /** killGroup sends SIGKILL to the agent's whole process group. */
  killGroup(): void;
}

/**
 * startAgent runs `steward agent ...args` with `env` (default: this process's) at log level
 * debug; behind `prefix` when given (a command that execs the rest, such as nsenter(1) into a
 * host's network namespace, netns.ts), so that the process is still the agent's.
 */
export function startAgent(args: readonly string[], env: NodeJS.ProcessEnv = process.env, prefix: readonly string[] = []): AgentProcess {
  const argv = [...prefix, process.execPath, CLI_MAIN, "agent", ...args];
  const child = spawn(argv[0] as string, argv.slice(1), {
    cwd: REPO_ROOT,
    env: { STEWARD_LOG: "debug", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  const lines: LogLine[] = [];
  const other: string[] = [];
  const waiters = new Set<() => void>();
  let partial = "";
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (chunk: string) => {
    partial += chunk;
    const parts = partial.split("\n");
    partial = parts.pop() ?? "";
    for (const text of parts) {
      try {
        lines.push(JSON.parse(text) as LogLine);
      } catch {
        if (text !== "") other.push(text);
      }
    }
    for (const w of waiters) w();
  });
  child.stdout?.resume();
  const exited = new Promise<number>((resolve) => child.on("exit", (code, signal) => resolve(code ?? 128 + (signal === null ? 1 : 9))));
  return {
    child,
    lines,
    other,
    exited,
    waitFor(match, timeoutMs = 20_000, from = lines.length) {
      return new Promise((resolve, reject) => {
        let done = false;
        const check = (): void => {
          if (done) return;
          const found = lines.slice(from).find(match);
          if (found !== undefined) {
            done = true;
            cleanup();
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          done = true;
          cleanup();
          reject(new Error(`no matching agent log line within ${timeoutMs} ms; last lines:\n${lines.slice(-15).map((l) => JSON.stringify(l)).join("\n")}\n${other.slice(-10).join("\n")}`));
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        void exited.then(() => {
          if (done) return;
          done = true;
          cleanup();
          reject(new Error(`the agent exited before a matching log line; last lines:\n${lines.slice(-15).map((l) => JSON.stringify(l)).join("\n")}\n${other.slice(-10).join("\n")}`));
        });
        check();
      });
    },
    signal(sig) {
      child.kill(sig);
    },
    killGroup() {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    },
  };
}
