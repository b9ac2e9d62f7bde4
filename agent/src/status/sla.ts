/**
 * Downtime against budgets (`steward status --sla`; docs/agent.md, "Downtime budgets"). Pure:
 * each node's verified reports, the services with their budgets and a window in; the downtime
 * of each service in the window out.
 *
 * The rule. A node's reports are samples: each says, at its `heartbeat` time, which rc
 * services of which jails run. A report holds from its time until the next report, but for at
 * most twice the node's heartbeat interval: an agent writes at least one report per interval
 * while it runs, so a longer silence means the node (or its agent) was down, and that silence
 * counts as downtime for every service of the node ("unreported"). A service is down while the
 * report in force lists one of its jail's rc services as not running. Time before a node's very
 * first report is not counted (the node did not exist yet); the window ends at `end` (the end of
 * the month, or now).
 */
import type { ServiceReport } from "./document.js";

/** One verified report of a node. */
export interface Sample {
  /** Its `heartbeat`, Unix ms. */
  readonly at: number;
  readonly services: readonly ServiceReport[];
  /** The agent's heartbeat interval then, in seconds. */
  readonly heartbeatSeconds: number;
}

export interface BudgetedService {
  readonly service: string;
  readonly node: string;
  /** Allowed downtime in the window, in seconds; undefined when none is set. */
  readonly budgetSeconds: number | undefined;
}

export interface Downtime {
  readonly service: string;
  readonly node: string;
  /** Seconds down in the window: not running, plus unreported. */
  readonly downSeconds: number;
  /** The part of downSeconds when the node sent no report. */
  readonly unreportedSeconds: number;
  /** Seconds of the window covered by this node's history (from its first report on). */
  readonly observedSeconds: number;
  readonly budgetSeconds: number | undefined;
  /** budget − down; negative when exceeded; undefined without a budget. */
  readonly leftSeconds: number | undefined;
}

/** The window of one calendar month in UTC (`2025-01`), ending at `now` when that is earlier. */
export function monthWindow(month: string, nowMs: number): { start: number; end: number } | undefined {
  const m = /^(\d{4})-(0[1-9]|1[0-2])$/.exec(month);
  if (m === null) return undefined;
  const start = Date.UTC(Number(m[1]), Number(m[2]) - 1, 1);
  const end = Date.UTC(Number(m[1]), Number(m[2]), 1);
  return { start, end: Math.min(end, Math.max(start, nowMs)) };
}

/**
 * accountDowntime applies the rule above. `samples` maps each node to its reports, oldest
 * first, including the last report before the window (it says what held at its start).
 */
export function accountDowntime(samples: ReadonlyMap<string, readonly Sample[]>, services: readonly BudgetedService[], window: { start: number; end: number }): Downtime[] {
  return services.map((s) => {
    const reports = samples.get(s.node) ?? [];
    let down = 0;
    let unreported = 0;
    let observed = 0;
    const add = (from: number, to: number, isDown: boolean, silent: boolean): void => {
      const a = Math.max(from, window.start);
      const b = Math.min(to, window.end);
      if (b <= a) return;
      observed += b - a;
      if (isDown || silent) down += b - a;
      if (silent) unreported += b - a;
    };
    reports.forEach((r, i) => {
      const next = reports[i + 1]?.at ?? window.end;
      const covered = Math.min(next, r.at + 2 * r.heartbeatSeconds * 1000);
      const isDown = r.services.some((h) => h.jail === s.service && !h.running);
      add(r.at, covered, isDown, false);
      add(covered, next, true, true);
    });
    const seconds = (ms: number): number => Math.round(ms / 1000);
    return {
      service: s.service,
      node: s.node,
      downSeconds: seconds(down),
      unreportedSeconds: seconds(unreported),
      observedSeconds: seconds(observed),
      budgetSeconds: s.budgetSeconds,
      leftSeconds: s.budgetSeconds === undefined ? undefined : s.budgetSeconds - seconds(down),
    };
  });
}
