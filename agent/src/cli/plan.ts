/**
 * `steward plan`: show what apply would do, changing nothing. On a node: its plan, observed
 * now. On an admin's clone (`--repo`, or where there is no agent configuration): every node's
 * plan for a revision, against the host each node last reported (review/offline-plan.ts).
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { DEFAULT_CONFIG_PATH } from "../config.js";
import { renderDiagnostic } from "../errors.js";
import { systemExecutor } from "../exec.js";
import { renderPlanText } from "../plan/render.js";
import { planNode } from "../reconcile.js";
import { reviewRevision } from "../review/offline-plan.js";
import { renderReviewMarkdown } from "../review/markdown.js";
import { renderReviewText } from "../review/render.js";
import { findGitdir, resolveCloneRevision } from "./clone.js";
import { EXIT_OK, EXIT_PROBLEM, usageError, type Command, type Io } from "./command.js";
import { reportInvalid, resolveTarget, sourceJson, sourceText, TARGET_OPTIONS, TARGET_USAGE } from "./target.js";

export const planCommand: Command = {
  name: "plan",
  usage: [
    "usage: steward plan [--config FILE | --dir DIR] [--node NAME] [--state DIR] [--rev REV] [--json]",
    "       steward plan --repo DIR [--rev REV] [--against BRANCH] [--node NAME] [--remote NAME] [--json | --markdown]",
    "",
    "On a node: observes it (ZFS datasets, jails) and prints the ordered actions apply would run,",
    "each with its reason and exact commands, then the findings (conflicts, orphans, drift left",
    "alone). Nothing on the host is changed (fetching updates only the agent's local repository).",
    "",
    TARGET_USAGE,
    "  --rev REV      plan a revision already in the local repository (unverified; plan only)",
    "  --json         print {ok, plan, source?} as JSON",
    "",
    "On an admin's clone of the cluster repo (--repo DIR, or wherever there is no agent",
    `configuration at ${DEFAULT_CONFIG_PATH}; offline: run git fetch first): for every node, the plan`,
    "its agent would run for REV, made by the nodes' own planner against the host as the node last",
    "reported it (the observed state in its newest status commit signed by the key in BRANCH's",
    "nodes/<node>.yaml; a report older than two heartbeats is flagged stale). What destroys data,",
    "interrupts a service or changes who can reach whom is listed first.",
    "",
    "  --repo DIR        the clone (default: the current directory)",
    "  --rev REV         the revision to plan: a branch (local first), tag or commit (default HEAD)",
    "  --against BRANCH  what the nodes run now (default main; <remote>/BRANCH first): its manifest's",
    "                    keys verify the reports, and actions due there too are marked as such",
    "  --node NAME       only this node",
    "  --remote NAME     read <NAME>/BRANCH and <NAME>/status/* first (default origin)",
    "  --json            print the review as JSON: {ok, revision, against, diagnostics, nodes, reachability}",
    "  --markdown        print it as a pull request's comment: the verdict, one row per node, then each",
    "                    node's destroys and interruptions, its whole plan folded under <details>",
    "",
    "Exit status: 0 plan printed (with or without changes), 1 invalid manifest (on a node: a new",
    "revision that is signed but invalid: its problems, then the plan of the last applied revision;",
    "on a clone: REV does not validate for some node, or opens a path nothing declares), nothing to",
    "read, or observe failed, 2 usage.",
  ].join("\n"),
  options: { ...TARGET_OPTIONS, repo: { type: "string" }, against: { type: "string" }, remote: { type: "string" }, markdown: { type: "boolean" } },
  allowPositionals: false,
  async run(values, _positionals, io) {
    if (cloneMode(values)) return planClone(values, io);
    if (values["markdown"] === true) throw usageError("--markdown is for a clone of the cluster repo (--repo DIR), where plan reviews a revision for every node");
    const json = values["json"] === true;
    const target = await resolveTarget(values, io, true);
    const source = sourceJson(target);
    const { desired } = target;
    if (desired === undefined) return reportInvalid(target, json, io);
    const diagnostics = [...(target.source?.rejected?.diagnostics ?? []), ...target.diagnostics];
    const { plan } = await planNode(desired, { executor: systemExecutor, stateDir: target.stateDir, log: io.log.child({ step: "plan", node: target.node }) });
    // A new revision with an invalid manifest is a problem even though the last applied one plans.
    const ok = target.source?.rejected === undefined;
    if (json) {
      io.out(JSON.stringify({ ok, plan, ...(source === undefined ? {} : { source }), ...(diagnostics.length > 0 ? { diagnostics } : {}) }, null, 2));
    } else {
      for (const d of diagnostics) io.err(renderDiagnostic(d));
      const from = sourceText(target);
      io.out(from === undefined ? renderPlanText(plan) : `${from}\n${renderPlanText(plan)}`);
    }
    return ok ? EXIT_OK : EXIT_PROBLEM;
  },
};

const str = (values: Record<string, unknown>, k: string): string | undefined => (typeof values[k] === "string" && values[k] !== "" ? (values[k] as string) : undefined);

/**
 * cloneMode says whether plan works on an admin's clone: asked for (--repo, --against), or
 * nothing names a node's own setup (no --config, --dir or --state, and no agent configuration
 * at the default path). Throws USAGE for options of both modes.
 */
function cloneMode(values: Record<string, unknown>): boolean {
  const clone = ["repo", "against", "remote"].filter((k) => str(values, k) !== undefined);
  const node = ["config", "dir", "state"].filter((k) => str(values, k) !== undefined);
  if (clone.length > 0 && node.length > 0) throw usageError(`--${node[0] ?? ""} is for a node, --${clone[0] ?? ""} for a clone of the cluster repo: not both`);
  return clone.length > 0 || (node.length === 0 && !existsSync(DEFAULT_CONFIG_PATH));
}

/** planClone is `steward plan` on an admin's clone: every node's plan for a revision. */
async function planClone(values: Record<string, unknown>, io: Io): Promise<number> {
  if (values["markdown"] === true && values["json"] === true) throw usageError("--json or --markdown, not both");
  const repo = str(values, "repo");
  let gitdir: string;
  try {
    gitdir = findGitdir(resolve(repo ?? "."));
  } catch (e) {
    // Without --repo, the clone was only a guess: say what a node would need too.
    if (repo !== undefined) throw e;
    throw usageError(`there is no agent configuration at ${DEFAULT_CONFIG_PATH} (on a node: --config FILE, or --dir DIR --node NAME), and ${resolve(".")} is not a clone of the cluster repo (--repo DIR)`);
  }
  const remote = str(values, "remote") ?? "origin";
  const revision = await resolveCloneRevision(gitdir, str(values, "rev") ?? "HEAD", remote, "local");
  const against = await resolveCloneRevision(gitdir, str(values, "against") ?? "main", remote, "remote");
  const node = str(values, "node");
  const review = await reviewRevision({ gitdir, revision, against, remote, ...(node === undefined ? {} : { nodes: [node] }), nowMs: Date.now(), cache: {} });
  io.out(values["json"] === true ? JSON.stringify(review, null, 2) : values["markdown"] === true ? renderReviewMarkdown(review) : renderReviewText(review));
  return review.ok ? EXIT_OK : EXIT_PROBLEM;
}
