/**
 * One run of the agent (docs/agent.md, "The loop"): the whole flow — the source step (fetch
 * every remote, verify, choose), the manifest, observe, plan, apply and record (reconcile.ts
 * reconcileFromSource) — then the status report (status.ts reportStatus). The agent runs it in
 * a worker thread (run-isolated.ts), so that what a run loads and allocates goes away with the
 * worker while the agent waits.
 */
import type { AgentConfig } from "../config.js";
import { StewardError, isStewardError } from "../errors.js";
import type { Executor } from "../exec.js";
import type { Logger } from "../log.js";
import { agentPaths } from "../manifest/paths.js";
import type { DesiredState } from "../manifest/types.js";
import { nodeHealth, nodeReports, observedAfter, reconcileFromSource, type ReconcileResult } from "../reconcile.js";
import type { FetchIsolate } from "../source/fetch-isolated.js";
import type { ServiceReport } from "../status/document.js";
import { makeObservedRecord } from "../status/observed.js";
import { reportStatus, type StatusReport } from "../status/status.js";
import { STEWARD_VERSION } from "../version.js";
import { observeHostFacts } from "./host-facts.js";
import type { RunOutcome } from "./run-isolated.js";
import { judgeCycle, type CycleVerdict } from "./schedule.js";

export interface RunOptions {
  readonly config: AgentConfig & { readonly key: string };
  readonly executor: Executor;
  readonly log: Logger;
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

/**
 * runOutcome is what the agent's loop and `steward agent --once` read of a run, as plain data
 * (it crosses from the run worker to the agent): each value as `--once --json` prints it. Pure.
 */
export function runOutcome(s: RunSummary): RunOutcome {
  const r = s.reconcile;
  const plain = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
  return {
    verdict: s.verdict,
    decision: r?.source.decision.kind ?? null,
    revision: r?.target.revision ?? null,
    recorded: plain(r?.recorded ?? null),
    error: s.error?.toJSON() ?? null,
    status: plain({ commit: s.report.commit, pushes: s.report.pushes }),
  };
}

/** What runs share across the agent's life. */
export interface RunContext {
  readonly isolate: FetchIsolate;
  readonly cache: object;
  readonly stop: AbortSignal;
}

/**
 * runOnce is one run, as the loop does it: reconcile, judge, observe health and host facts,
 * report. Never throws. The agent runs it in its run worker (run-worker.ts); the benchmarks call
 * it in process. The agent lock is the caller's business.
 */
export async function runOnce(options: RunOptions, run: RunContext): Promise<RunSummary> {
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
  // report then carries none); the host's facts; and what the drivers add to the report.
  const [services, observed, host, reports] = await Promise.all([
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
    // What the drivers add to the report (Driver.report: the backups' ages, the cold disks).
    desired === undefined ? {} : nodeReports(desired, { executor, stateDir: config.state, log }),
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
    { ...(reconcile === undefined ? {} : { reconcile }), ...(error === undefined ? {} : { error }), services, host, ...(observed === undefined ? {} : { observed }), ...reports },
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
