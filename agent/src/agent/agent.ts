/**
 * `steward agent`: the loop that keeps a node converged (docs/agent.md). Each run is the whole
 * flow: the source step (fetch every remote, verify, choose), the manifest, observe, plan,
 * apply and record (reconcile.ts reconcileFromSource), then the status report (status.ts
 * reportStatus). Between runs it sleeps until the interval passes or something wakes it
 * (wake.ts); how long is schedule.ts's decision. A run with nothing to do is a no-op fetch and
 * one observation per kind of resource, and writes nothing but a due heartbeat.
 *
 * One agent per state directory: `<state>/agent.lock` (a flock(2)/lockf(1) lock the kernel
 * drops when the agent dies) refuses a second one with AGENT_RUNNING. SIGTERM (and SIGINT)
 * let the action in progress finish, skip the rest, write the report without pushing it (it
 * is queued on the local branch and goes out at the next start) and exit 0.
 */
import { open } from "node:fs/promises";
import { join } from "node:path";
import type { AgentConfig } from "../config.js";
import { StewardError, isStewardError } from "../errors.js";
import type { Executor } from "../exec.js";
import { acquireFileLock, type FileLock } from "../file-lock.js";
import type { Logger } from "../log.js";
import { agentPaths } from "../manifest/paths.js";
import { nodeHealth, observedAfter, reconcileFromSource, type ReconcileResult } from "../reconcile.js";
import { FetchIsolate } from "../source/fetch-isolated.js";
import { reportStatus, type StatusReport } from "../status/status.js";
import type { ServiceReport } from "../status/document.js";
import { makeObservedRecord, type ObservedRecord } from "../status/observed.js";
import type { DesiredState } from "../manifest/types.js";
import { STEWARD_VERSION } from "../version.js";
import { observeHostFacts } from "./host-facts.js";
import { judgeCycle, nextRun, type CycleVerdict } from "./schedule.js";
import { Waker, kickFile, refPaths, type WakeReason } from "./wake.js";

export interface AgentOptions {
  readonly config: AgentConfig & { readonly key: string };
  readonly executor: Executor;
  readonly log: Logger;
  /** Run once and return (`steward agent --once`). */
  readonly once?: boolean;
  /** Jitter source, in [0, 1). Default Math.random. */
  readonly random?: () => number;
  /** Per-service health of the desired state (default: every driver's, reconcile.ts nodeHealth). */
  readonly health?: (desired: DesiredState, executor: Executor) => Promise<readonly ServiceReport[]>;
}

/** What one run did, for the log line and for `--once --json`. */
export interface RunSummary {
  readonly verdict: CycleVerdict;
  readonly reconcile: ReconcileResult | undefined;
  readonly error: StewardError | undefined;
  readonly report: StatusReport;
}

/** agentLockPath names the single-instance lock in a state directory. */
export function agentLockPath(stateDir: string): string {
  return join(stateDir, "agent.lock");
}

/**
 * runAgent runs until SIGTERM/SIGINT (or one run with `once`). Returns the last run's
 * summary. Throws AGENT_RUNNING when another agent holds the state directory, and what
 * creating the state directory or the kick file throws; a failing run is logged and reported,
 * never thrown. Side effects: everything a reconcile and a status report do; signal handlers
 * for SIGHUP, SIGTERM and SIGINT while it runs.
 */
export async function runAgent(options: AgentOptions): Promise<RunSummary | undefined> {
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
  const isolate = new FetchIsolate();
  const cache = {};
  // Handlers first: from here on SIGHUP never kills the agent, and SIGTERM always stops it cleanly.
  process.on("SIGHUP", onHup);
  process.on("SIGTERM", onStop);
  process.on("SIGINT", onStop);
  try {
    await (await open(kick, "a")).close();
    await waker.start();
    log.info({ node: config.node, version: STEWARD_VERSION, interval: config.interval, remotes: config.remotes.map((r) => r.name) }, "agent started");
    let failures = 0;
    let last: RunSummary | undefined;
    for (;;) {
      last = await runOnce(options, { isolate, cache, stop: stop.signal });
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
    await isolate.close();
    await lock.release();
  }
}

/** What runs share across the agent's life. */
export interface RunContext {
  readonly isolate: FetchIsolate;
  readonly cache: object;
  readonly stop: AbortSignal;
}

/**
 * runOnce is one run, as the loop does it: reconcile, judge, observe health and host facts,
 * report. Never throws. Exported for the benchmarks; the agent lock is the caller's business.
 */
export async function runOnce(options: AgentOptions, run: RunContext): Promise<RunSummary> {
  const { config, executor, log } = options;
  let reconcile: ReconcileResult | undefined;
  let error: StewardError | undefined;
  try {
    reconcile = await reconcileFromSource({ config, executor, log, source: { isolate: run.isolate, cache: run.cache, executor }, stop: run.stop });
  } catch (e) {
    error = isStewardError(e) ? e : new StewardError("INTERNAL", e instanceof Error ? (e.stack ?? e.message) : String(e), { retry: "internal" });
    log.error({ code: error.code, retry: error.retry, data: error.data }, error.message);
  }
  const verdict = judgeCycle(reconcile, error);
  const desired = reconcile?.target.desired;
  // What the report says besides the run itself, read at once (each only reads): the health of
  // the supervised services; the host as the run left it, for a plan of another revision made
  // elsewhere (steward plan --rev on a clone), not read again when the agent is stopping (the
  // report then carries none); and the host's facts.
  const [services, observed, host] = await Promise.all([
    desired === undefined
      ? []
      : (options.health ?? healthReports)(desired, executor).catch((e: unknown): ServiceReport[] => {
          log.warn({ error: String(e) }, "service health not observed");
          return [];
        }),
    desired === undefined || reconcile?.run === undefined || run.stop.aborted
      ? undefined
      : observedAfter(desired, reconcile.run, { executor, stateDir: config.state, log }).then((state) => (state === undefined ? undefined : makeObservedRecord(desired, state, agentPaths(config)))),
    observeHostFacts(executor, desired?.node.pool),
  ]);
  const report = await reportStatus(
    {
      config,
      signingKey: config.key,
      agentVersion: STEWARD_VERSION,
      log,
      executor,
      heartbeatIntervalMs: config.heartbeat * 1000,
      ...(config.maxSourceAge === undefined ? {} : { maxSourceAgeSeconds: config.maxSourceAge }),
      isolate: run.isolate,
      push: !run.stop.aborted,
      cache: run.cache,
    },
    { ...(reconcile === undefined ? {} : { reconcile }), ...(error === undefined ? {} : { error }), services, host, ...(observed === undefined ? {} : { observed }) },
  );
  logRun(log, verdict, reconcile, report);
  return { verdict, reconcile, error, report };
}

/**
 * healthReports asks the drivers which supervised services run, as the report records them: a
 * service is running only when its check says so (stopped, its jail down, or a check that did
 * not answer in time all read as not running).
 */
async function healthReports(desired: DesiredState, executor: Executor): Promise<ServiceReport[]> {
  return (await nodeHealth(desired, executor)).map((h) => ({ jail: h.jail, service: h.service, running: h.state === "running" }));
}

/** logRun writes the run's one summary line: info when something happened, debug when idle. */
function logRun(log: Logger, verdict: CycleVerdict, r: ReconcileResult | undefined, report: StatusReport): void {
  const summary = r?.run?.result.summary;
  const changed = (summary !== undefined && summary.applied + summary.failed + summary.skipped > 0) || r?.recorded !== undefined;
  const fields = {
    verdict: verdict.kind,
    ...(verdict.kind === "converged" ? {} : { code: verdict.code }),
    decision: r?.source.decision.kind,
    revision: r?.target.revision,
    ...(r?.target.rejected === undefined ? {} : { rejected: r.target.rejected.revision }),
    ...(summary === undefined ? {} : { applied: summary.applied, failed: summary.failed, skipped: summary.skipped }),
    status: report.commit.action,
    pushed: report.pushes.filter((p) => p.status === "pushed").map((p) => p.remote),
    ...(report.pushes.some((p) => p.status === "failed") ? { pushFailed: report.pushes.filter((p) => p.status === "failed").map((p) => p.remote) } : {}),
    rssMiB: Math.round(process.memoryUsage.rss() / 2 ** 20),
    heapMiB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
  };
  if (verdict.kind !== "converged") log.warn(fields, "run did not converge");
  else if (changed || report.commit.action === "committed") log.info(fields, "run finished");
  else log.debug(fields, "run finished: nothing to do");
}
