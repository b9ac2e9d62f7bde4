/**
 * `steward agent`: the loop that keeps a node converged (docs/agent.md). Each run is the whole
 * flow: the source step (fetch every remote, verify, choose), the manifest, observe, plan,
 * apply and record, then the status report (run.ts), in a worker thread that goes when the
 * agent waits (run-isolated.ts). Between runs it sleeps until the interval passes or something
 * wakes it (wake.ts); how long is schedule.ts's decision. A run with nothing to do is a no-op
 * fetch and one observation per kind of resource, and writes nothing but a due heartbeat.
 *
 * One agent per state directory: `<state>/agent.lock` (a flock(2)/lockf(1) lock the kernel
 * drops when the agent dies) refuses a second one with AGENT_RUNNING. SIGTERM (and SIGINT)
 * let the action in progress finish, skip the rest, write the report without pushing it (it
 * is queued on the local branch and goes out at the next start) and exit 0.
 */
import { open } from "node:fs/promises";
import { join } from "node:path";
import type { AgentConfig } from "../config.js";
import { acquireFileLock } from "../file-lock.js";
import type { Logger } from "../log.js";
import { STEWARD_VERSION } from "../version.js";
import { RunIsolate, type RunOutcome } from "./run-isolated.js";
import { nextRun } from "./schedule.js";
import { Waker, kickFile, refPaths, type WakeReason } from "./wake.js";

export interface AgentOptions {
  readonly config: AgentConfig & { readonly key: string };
  readonly log: Logger;
  /** Run once and return (`steward agent --once`). */
  readonly once?: boolean;
  /** Jitter source, in [0, 1). Default Math.random. */
  readonly random?: () => number;
}

/** agentLockPath names the single-instance lock in a state directory. */
export function agentLockPath(stateDir: string): string {
  return join(stateDir, "agent.lock");
}

/**
 * runAgent runs until SIGTERM/SIGINT (or one run with `once`). Returns the last run's
 * outcome. Throws AGENT_RUNNING when another agent holds the state directory, and what
 * creating the state directory or the kick file throws; a failing run is logged and reported,
 * never thrown. Side effects: everything a reconcile and a status report do; signal handlers
 * for SIGHUP, SIGTERM and SIGINT while it runs.
 */
export async function runAgent(options: AgentOptions): Promise<RunOutcome | undefined> {
  const { config, log } = options;
  const lock = await acquireFileLock(agentLockPath(config.state), {
    log,
    code: "AGENT_RUNNING",
    what: "agent",
    hint: "one agent runs per node: stop the other one first (service steward stop), or give this one another state directory",
  });
  const stop = new AbortController();
  const kick = kickFile(config.state);
  const locals = config.remotes.flatMap((r) => (r.target.kind === "local" ? refPaths(r.target.path, config.branch) : []));
  const waker = new Waker({ log, kick, pushes: locals });
  const onHup = (): void => waker.wake("hup");
  const onStop = (): void => {
    if (!stop.signal.aborted) log.info("stopping: the action in progress finishes, the rest wait for the next start");
    stop.abort();
    waker.wake("stop");
  };
  const runs = new RunIsolate();
  // Handlers first: from here on SIGHUP never kills the agent, and SIGTERM always stops it cleanly.
  process.on("SIGHUP", onHup);
  process.on("SIGTERM", onStop);
  process.on("SIGINT", onStop);
  try {
    await (await open(kick, "a")).close();
    await waker.start();
    log.info({ node: config.node, version: STEWARD_VERSION, interval: config.interval, remotes: config.remotes.map((r) => r.name) }, "agent started");
    let failures = 0;
    let last: RunOutcome | undefined;
    for (;;) {
      last = await runs.run(config, log, stop.signal);
      if (options.once === true || stop.signal.aborted) break;
      const next = nextRun(last.verdict, failures, config.interval * 1000, (options.random ?? Math.random)());
      failures = next.failures;
      log.debug({ verdict: last.verdict.kind, nextInMs: next.delayMs }, "waiting");
      const why: WakeReason = await waker.wait(next.delayMs);
      if (why === "stop") break;
      if (why !== "timer") log.info({ why }, "woken");
    }
    log.info("agent stopped");
    return last;
  } finally {
    process.off("SIGHUP", onHup);
    process.off("SIGTERM", onStop);
    process.off("SIGINT", onStop);
    await waker.close();
    await runs.close();
    await lock.release();
  }
}
