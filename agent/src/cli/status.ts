/**
 * `steward status`: on an admin's machine, from a clone of the cluster repo, what every node
 * reports (verified with its key), and with --sla each service's downtime against its budget.
 */
import { resolve } from "node:path";
import git from "isomorphic-git";
import { renderDiagnostic } from "../errors.js";
import { loadModel } from "../manifest/load.js";
import { formatDuration } from "../manifest/duration.js";
import type { ClusterModel } from "../manifest/types.js";
import { gitFs } from "../source/repo.js";
import { readCloneSnapshot } from "../source/snapshot.js";
import { readNodeHistory, resolveBranch } from "../status/history.js";
import { healthy, overview, DEFAULT_HEARTBEAT_SECONDS, type NodeOverview } from "../status/overview.js";
import { accountDowntime, monthWindow, type Downtime, type Sample } from "../status/sla.js";
import { findGitdir } from "./clone.js";
import { EXIT_OK, EXIT_PROBLEM, usageError, type Command, type Io } from "./command.js";
import { StewardError } from "../errors.js";

/** How far back `behind` is counted on the branch. */
const MAX_BEHIND = 10_000;

export const statusCommand: Command = {
  name: "status",
  usage: [
    "usage: steward status [DIR] [--remote NAME] [--branch NAME] [--sla [--month YYYY-MM]] [--json]",
    "",
    "Reads a clone of the cluster repo (DIR, default .; run `git fetch` first): the nodes of the",
    "branch's manifest, and each node's branch status/<node>, whose reports must be signed by the",
    "key in nodes/<node>.yaml. Prints one line per node: Ready or why not, the revision it applied",
    "and how many commits it is behind the branch, when it last reported (stale after two",
    "heartbeats without a report), drift, and the age of the newest commit it has (a withheld or",
    "frozen source shows here). A report that does not verify is not believed.",
    "",
    "  DIR            a clone (or bare repository) of the cluster repo",
    "  --remote NAME  read <NAME>/main and <NAME>/status/* first (default origin), else local branches",
    "  --branch NAME  the tracked branch (default main)",
    "  --sla          each service's downtime this month against its budget (budget: in",
    "                 services/<s>.yaml, or defaults.budget): from the verified reports, a service",
    "                 is down while one of its rc services is not running, and while its node sends",
    "                 no report for more than two heartbeats",
    "  --month M      with --sla: another calendar month (UTC), e.g. 2025-01",
    "  --json         print {ok, branch, nodes} (with --sla: {ok, month, services}) as JSON",
    "",
    "Exit status: 0 every node verified, fresh, Ready and on the branch (--sla: no budget exceeded),",
    "1 otherwise, 2 usage (DIR is not a git repository).",
  ].join("\n"),
  options: { remote: { type: "string" }, branch: { type: "string" }, sla: { type: "boolean" }, month: { type: "string" } },
  allowPositionals: true,
  async run(values, positionals, io) {
    if (positionals.length > 1) throw usageError("at most one DIR");
    const gitdir = findGitdir(resolve(positionals[0] ?? "."));
    const remote = typeof values["remote"] === "string" ? values["remote"] : "origin";
    const branch = typeof values["branch"] === "string" ? values["branch"] : "main";
    const json = values["json"] === true;
    const nowMs = Date.now();
    const cache = {};
    const tip = await resolveBranch(gitdir, branch, remote);
    if (tip === undefined) throw new StewardError("SOURCE_NOT_FOUND", `no branch ${branch} in ${gitdir} (looked for ${remote}/${branch} and ${branch})`, { data: { gitdir, branch, remote }, hint: "run git fetch, or name the branch with --branch" });
    const { model, diagnostics } = loadModel(await readCloneSnapshot(gitdir, tip.oid, cache));
    if (model === undefined) {
      for (const d of diagnostics) io.err(renderDiagnostic(d));
      throw new StewardError("MANIFEST_INVALID", `the manifest of ${branch} (${tip.oid.slice(0, 12)}) does not validate`, { data: { revision: tip.oid }, hint: "steward validate on a checkout of it shows every problem", retry: "stalled" });
    }
    if (values["sla"] === true) return sla(gitdir, model, remote, typeof values["month"] === "string" ? values["month"] : thisMonth(nowMs), nowMs, cache, json, io);
    if (values["month"] !== undefined) throw usageError("--month goes with --sla");

    const nodes: NodeOverview[] = [];
    for (const n of model.nodes) {
      const h = await readNodeHistory(gitdir, n.name, n.key, remote, undefined, cache);
      const doc = h.tip?.document;
      const behind = doc?.lastAppliedRevision == null ? null : await firstParentDistance(gitdir, tip.oid, doc.lastAppliedRevision, cache);
      nodes.push(overview(n.name, doc, h.tipProblem, behind, h.refused, nowMs));
    }
    const ok = nodes.every(healthy);
    if (json) io.out(JSON.stringify({ ok, branch: { name: branch, ref: tip.ref, revision: tip.oid }, nodes }, null, 2));
    else io.out(renderOverview(branch, tip, nodes));
    return ok ? EXIT_OK : EXIT_PROBLEM;
  },
};

/** firstParentDistance counts first-parent commits from `from` down to `to`; null when `to` is not among them. */
async function firstParentDistance(gitdir: string, from: string, to: string, cache: object): Promise<number | null> {
  let oid: string | undefined = from;
  for (let n = 0; oid !== undefined && n <= MAX_BEHIND; n += 1) {
    if (oid === to) return n;
    try {
      oid = (await git.readCommit({ fs: gitFs, gitdir, oid, cache })).commit.parent[0];
    } catch {
      return null;
    }
  }
  return null;
}

function renderOverview(branch: string, tip: { ref: string; oid: string }, nodes: readonly NodeOverview[]): string {
  const rows = nodes.map((o) => {
    if (!o.verified) return [o.node, `unknown: ${o.problem ?? ""}`, "", "", "", ""];
    const ready = o.ready === null ? "unknown" : o.ready.status === "True" ? "ready" : `not ready: ${o.ready.reason}: ${o.ready.message}`;
    const applied = o.appliedRevision === null ? "nothing applied" : `${o.appliedRevision.slice(0, 12)} ${o.behind === null ? "(not on the branch)" : o.behind === 0 ? "(current)" : `(${o.behind} behind)`}`;
    const seen = o.lastSeenSecondsAgo === null ? "?" : `${formatDuration(o.lastSeenSecondsAgo)} ago${o.stale ? " (stale)" : ""}`;
    const source = o.sourceAgeSeconds === null ? "?" : formatDuration(o.sourceAgeSeconds);
    return [o.node, ready, applied, seen, source, o.drift ?? "-"];
  });
  const header = ["node", "state", "applied", "last report", "source age", "drift"];
  const lines = [`${branch} at ${tip.oid.slice(0, 12)} (${tip.ref})`, ...table([header, ...rows])];
  const refused = nodes.filter((o) => o.refusedReports > 0);
  for (const o of refused) lines.push(`warning: ${o.node}: ${o.refusedReports} commit${o.refusedReports === 1 ? "" : "s"} on status/${o.node} not signed by its key, ignored`);
  return lines.join("\n");
}

async function sla(gitdir: string, model: ClusterModel, remote: string, month: string, nowMs: number, cache: object, json: boolean, io: Io): Promise<number> {
  const window = monthWindow(month, nowMs);
  if (window === undefined) throw usageError(`--month ${month}: write the month as YYYY-MM`);
  const samples = new Map<string, Sample[]>();
  const refused: string[] = [];
  for (const n of model.nodes) {
    const h = await readNodeHistory(gitdir, n.name, n.key, remote, window.start, cache);
    if (h.tipProblem !== undefined && h.reports.length === 0) refused.push(`${n.name}: ${h.tipProblem}`);
    else if (h.refused > 0) refused.push(`${n.name}: ${h.refused} commit${h.refused === 1 ? "" : "s"} not signed by its key, ignored`);
    samples.set(
      n.name,
      h.reports
        .map((r) => ({ at: Date.parse(r.document.heartbeat), services: r.document.services, heartbeatSeconds: r.document.agent.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS }))
        .filter((s) => Number.isFinite(s.at))
        .sort((a, b) => a.at - b.at),
    );
  }
  const services = accountDowntime(samples, model.services.map((s) => ({ service: s.name, node: s.node, budgetSeconds: s.budget })), window);
  const ok = services.every((s) => s.leftSeconds === undefined || s.leftSeconds >= 0);
  if (json) {
    io.out(JSON.stringify({ ok, month, window: { start: new Date(window.start).toISOString(), end: new Date(window.end).toISOString() }, services, warnings: refused }, null, 2));
  } else {
    io.out(`downtime in ${month}, from the nodes' verified status reports (silence longer than two heartbeats counts as down)`);
    io.out(table([["service", "node", "down", "budget", "left"], ...services.map(slaRow)]).join("\n"));
    for (const w of refused) io.out(`warning: ${w}`);
  }
  return ok ? EXIT_OK : EXIT_PROBLEM;
}

function slaRow(d: Downtime): string[] {
  const down = `${formatDuration(d.downSeconds)}${d.unreportedSeconds > 0 ? ` (${formatDuration(d.unreportedSeconds)} unreported)` : ""}`;
  const left = d.leftSeconds === undefined ? "-" : d.leftSeconds >= 0 ? formatDuration(d.leftSeconds) : `exceeded by ${formatDuration(-d.leftSeconds)}`;
  return [d.service, d.node, down, d.budgetSeconds === undefined ? "none" : formatDuration(d.budgetSeconds), left];
}

function thisMonth(nowMs: number): string {
  return new Date(nowMs).toISOString().slice(0, 7);
}

/** table pads columns to their widest cell (the last column is not padded). */
function table(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join("  ").trimEnd());
}
