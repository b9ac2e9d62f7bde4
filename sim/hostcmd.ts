/**
 * Running a command on the Linux host for jail(8)'s host-side hooks (exec.prestart,
 * exec.poststart, exec.prestop, exec.poststop, exec.created) and for `sh -c` inside a jail.
 * Output is captured and handed to the caller's Io, so it lands where jail(8) would send it.
 * The simulated tools' directory is put first in PATH so a hook that calls jls or jexec
 * reaches the simulator.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Io } from "./io.js";

/** The directory holding the simulated tools' executables (build/sim/bin). */
export const SIM_BIN = join(dirname(fileURLToPath(import.meta.url)), "bin");

export interface HostResult {
  /** The exit status, or 128 + signal number; undefined when the program could not be run. */
  readonly status: number | undefined;
  readonly signal: number | undefined;
  /** errno text when the program could not be executed (`No such file or directory`). */
  readonly execError: string | undefined;
  readonly timedOut: boolean;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGALRM: 14, SIGTERM: 15 };

function errnoText(code: string | undefined): string {
  switch (code) {
    case "ENOENT":
      return "No such file or directory";
    case "EACCES":
      return "Permission denied";
    case "ENOTDIR":
      return "Not a directory";
    default:
      return code ?? "unknown error";
  }
}

/** withSimPath puts the simulated tools first in PATH. */
export function withSimPath(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  const path = out.PATH ?? "/usr/bin:/bin";
  out.PATH = path.split(":").includes(SIM_BIN) ? path : `${SIM_BIN}:${path}`;
  return out;
}

/** runHost runs argv (execvp semantics) with stdin inherited, output captured into `io` (stdout first, then stderr). */
export function runHost(argv: readonly string[], io: Io, opts: { env: Record<string, string>; cwd: string; timeoutMs?: number; interactive?: boolean; input?: string }): HostResult {
  const [file, ...args] = argv;
  if (file === undefined) return { status: 0, signal: undefined, execError: undefined, timedOut: false };
  const r = spawnSync(file, args, {
    cwd: opts.cwd,
    env: opts.env,
    stdio: opts.interactive === true ? "inherit" : [opts.input === undefined ? "inherit" : "pipe", "pipe", "pipe"],
    ...(opts.input === undefined ? {} : { input: opts.input }),
    encoding: "utf8",
    maxBuffer: 64 * 1024 * 1024,
    ...(opts.timeoutMs !== undefined && opts.timeoutMs > 0 ? { timeout: opts.timeoutMs } : {}),
  });
  if (typeof r.stdout === "string") io.out(r.stdout);
  if (typeof r.stderr === "string") io.err(r.stderr);
  const err = r.error as NodeJS.ErrnoException | undefined;
  if (err !== undefined && err.code !== "ETIMEDOUT") return { status: undefined, signal: undefined, execError: errnoText(err.code), timedOut: false };
  const timedOut = err?.code === "ETIMEDOUT";
  const signal = r.signal === null ? undefined : (SIGNALS[r.signal] ?? 15);
  return { status: r.status ?? (signal === undefined ? undefined : 128 + signal), signal, execError: undefined, timedOut };
}
