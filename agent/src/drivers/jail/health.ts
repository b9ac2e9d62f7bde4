/**
 * Per-service health for the status report: for every jail of the node, whether it runs, and
 * for each rc service the manifest lists in it, whether that service runs. Read-only.
 *
 * Commands: one `jls --libxo json` for every jail, then one `service -j JAIL SERVICE onestatus`
 * per service of a running jail, a few at a time, each with its own timeout and all within one
 * deadline; a jail that is down costs no command. `onestatus` rather than `status`: rc.subr(8)
 * skips the rcvar check with the `one` prefix, so a service disabled by hand is reported as it
 * is, where `status` would print "Cannot 'status' …" and exit 0. Its exit status decides
 * (rc.subr(8), run_rc_command): 0 the service runs, 1 it does not.
 *
 * The decisions (healthFrom, serviceState) are pure; observeHealth only runs the commands.
 */
import type { Argv, Executor, RunResult } from "../../exec.js";
import { mapBounded } from "../../map-bounded.js";
import type { HealthOptions, ServiceHealth } from "../driver.js";
import { jlsArgv } from "./commands.js";
import { parseJls } from "./parse.js";
import type { JailDesired, RunningJail } from "./types.js";

/** How long one status command may take: an rc script's status reads a pid file and signals it. */
export const STATUS_TIMEOUT_MS = 10_000;
/** How long the whole check may take: a report is due every interval, health or not. */
export const HEALTH_DEADLINE_MS = 30_000;
/** How many status commands run at once. */
export const HEALTH_CONCURRENCY = 4;

/** statusArgv asks rc.subr whether a service of a jail runs, whatever rc.conf enables. */
export function statusArgv(jail: string, service: string): Argv {
  return ["service", "-j", jail, service, "onestatus"];
}

type Result = Pick<RunResult, "exitCode" | "stdout" | "stderr" | "timedOut" | "spawnError">;

/** firstLine is the first non-empty line of a tool's output, for a detail. */
function firstLine(text: string): string {
  return (
    text
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l !== "") ?? ""
  ).slice(0, 300);
}

/**
 * serviceState reads one `service -j JAIL SERVICE onestatus`: exit 0 running, exit 1 stopped
 * (rc.subr's "X is not running.", or service(8)'s "X does not exist …" when the script is gone),
 * except jexec's "jail … not found" (the jail went down after jls: jail-down); anything else,
 * a timeout or a command that could not start, unknown. Pure.
 */
export function serviceState(r: Result): Pick<ServiceHealth, "state" | "detail"> {
  if (r.spawnError !== undefined) return { state: "unknown", detail: `service(8) could not run: ${r.spawnError}` };
  if (r.timedOut) return { state: "unknown", detail: "the status command timed out" };
  if (r.exitCode === 0) return { state: "running", detail: firstLine(r.stdout) };
  if (r.exitCode === 1) {
    if (/^jexec: jail .* not found/m.test(r.stderr)) return { state: "jail-down", detail: firstLine(r.stderr) };
    return { state: "stopped", detail: firstLine(r.stdout) || firstLine(r.stderr) };
  }
  return { state: "unknown", detail: `the status command exited ${r.exitCode ?? "on a signal"}${r.stderr.trim() === "" ? "" : `: ${firstLine(r.stderr)}`}` };
}

/**
 * healthFrom decides every service's state: `running` the jails jls listed (undefined when
 * jls failed: every service is unknown, with `jlsProblem` as the detail), `checked` the status
 * result of each service checked, by `jail\0service` (a missing one was not checked before the
 * deadline). Services in the manifest's order, jails by name. Pure.
 */
export function healthFrom(desired: JailDesired, running: readonly RunningJail[] | undefined, checked: ReadonlyMap<string, Result>, jlsProblem = "jls failed"): ServiceHealth[] {
  const out: ServiceHealth[] = [];
  for (const spec of desired.jails) {
    for (const service of spec.services) {
      const base = { jail: spec.name, service };
      if (running === undefined) {
        out.push({ ...base, state: "unknown", detail: jlsProblem });
        continue;
      }
      const live = running.find((r) => r.name === spec.name);
      if (live === undefined) {
        out.push({ ...base, state: "jail-down", detail: `jail ${spec.name} is not running` });
        continue;
      }
      const r = checked.get(key(spec.name, service));
      out.push({ ...base, ...(r === undefined ? { state: "unknown" as const, detail: "not checked: the health deadline passed" } : serviceState(r)) });
    }
  }
  return out;
}

const key = (jail: string, service: string): string => `${jail}\0${service}`;

/**
 * observeHealth runs the checks (see the module comment) and returns every listed service's
 * state. Never throws: a command that fails makes its services `unknown`.
 */
export async function observeHealth(executor: Executor, desired: JailDesired, options: HealthOptions = {}): Promise<ServiceHealth[]> {
  if (desired.jails.every((j) => j.services.length === 0)) return [];
  const now = options.now ?? (() => performance.now());
  const deadline = now() + (options.deadlineMs ?? HEALTH_DEADLINE_MS);
  const perCommand = options.timeoutMs ?? STATUS_TIMEOUT_MS;
  const budget = (): number => Math.min(perCommand, Math.floor(deadline - now()));

  const jls = await executor.run(jlsArgv(), { timeoutMs: Math.max(1, budget()) });
  const running = parseJls(jls);
  if (running === undefined) {
    const why = jls.spawnError !== undefined ? `jls could not run: ${jls.spawnError}` : jls.timedOut ? "jls timed out" : `jls failed (exit ${jls.exitCode ?? "on a signal"})${jls.stderr.trim() === "" ? "" : `: ${firstLine(jls.stderr)}`}`;
    return healthFrom(desired, undefined, new Map(), why);
  }
  const due = desired.jails.filter((j) => running.some((r) => r.name === j.name)).flatMap((j) => j.services.map((s) => ({ jail: j.name, service: s })));
  const checked = new Map<string, Result>();
  await mapBounded(due, options.concurrency ?? HEALTH_CONCURRENCY, async ({ jail, service }) => {
    const timeoutMs = budget();
    if (timeoutMs <= 0) return;
    checked.set(key(jail, service), await executor.run(statusArgv(jail, service), { timeoutMs }));
  });
  return healthFrom(desired, running, checked);
}
