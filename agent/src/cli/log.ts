/**
 * `steward log [NODE]`: the audit trail, from an admin's clone (review/audit.ts): which revision
 * each node applied when, who signed it, and what changed on the node, all verified.
 */
import { resolve } from "node:path";
import { renderDiagnostic, StewardError } from "../errors.js";
import { loadModel } from "../manifest/load.js";
import { readAuditLog, type AuditLog, type CommitOnNode, type LogEntry } from "../review/audit.js";
import { readCloneSnapshot } from "../source/snapshot.js";
import type { ResourceStatus } from "../status/document.js";
import { findGitdir, resolveCloneRevision } from "./clone.js";
import { EXIT_OK, EXIT_PROBLEM, usageError, type Command } from "./command.js";

const DEFAULT_MAX = 20;

export const logCommand: Command = {
  name: "log",
  usage: [
    "usage: steward log [NODE] [--repo DIR] [--branch NAME] [--remote NAME] [--max N] [--trust FILE] [--json]",
    "",
    "The audit trail, from a clone of the cluster repo (offline: run git fetch first). For each",
    "commit of the branch's first-parent history, newest first: who signed it, checked as the",
    "nodes check it (a key the trust/allowed_signers of the commit before admits; commits merged",
    "in from a side branch are covered by the signed merge and not listed), and for every node",
    "(or NODE only) when its verified reports first said it applied that revision, or a newer one",
    "that contains it, and what changed on the node in that run. A commit that does not verify",
    "is flagged with the code a node would give; reports not signed by the node's key (from",
    "nodes/<node>.yaml on the branch) are not believed and are counted.",
    "",
    "  NODE           only this node's part",
    "  --repo DIR     the clone (default: the current directory)",
    "  --branch NAME  the tracked branch (default main; <remote>/NAME first)",
    "  --remote NAME  read <NAME>/NAME and <NAME>/status/* first (default origin)",
    `  --max N        how many commits to list (default ${DEFAULT_MAX})`,
    "  --trust FILE   the nodes' bootstrap allowed_signers (their trust: file), which judges the",
    "                 first commit and any whose parent has no trust/allowed_signers",
    "  --json         print {ok, branch, commits, nodes} as JSON",
    "",
    "Exit status: 0 every listed commit and every report verified, 1 something did not, 2 usage.",
  ].join("\n"),
  options: { repo: { type: "string" }, branch: { type: "string" }, remote: { type: "string" }, max: { type: "string" }, trust: { type: "string" } },
  allowPositionals: true,
  async run(values, positionals, io) {
    if (positionals.length > 1) throw usageError("at most one NODE");
    const str = (k: string): string | undefined => (typeof values[k] === "string" && values[k] !== "" ? (values[k] as string) : undefined);
    const max = str("max") === undefined ? DEFAULT_MAX : Number(str("max"));
    if (!Number.isInteger(max) || max < 1) throw usageError(`--max ${str("max") ?? ""}: a whole number of commits, at least 1`);
    const gitdir = findGitdir(resolve(str("repo") ?? "."));
    const remote = str("remote") ?? "origin";
    const branchName = str("branch") ?? "main";
    const branch = await resolveCloneRevision(gitdir, branchName, remote, "remote");
    const { model, diagnostics } = loadModel(await readCloneSnapshot(gitdir, branch.oid, {}));
    if (model === undefined) {
      for (const d of diagnostics) io.err(renderDiagnostic(d));
      throw new StewardError("MANIFEST_INVALID", `the manifest of ${branchName} (${branch.oid.slice(0, 12)}) does not validate: its nodes and keys cannot be read`, { data: { revision: branch.oid }, hint: "steward validate on a checkout of it shows every problem", retry: "stalled" });
    }
    const only = positionals[0];
    if (only !== undefined && !model.nodes.some((n) => n.name === only)) throw usageError(`node '${only}' is not in ${branchName}; its nodes are ${model.nodes.map((n) => n.name).join(", ")}`);
    const nodes = model.nodes.filter((n) => only === undefined || n.name === only).map((n) => ({ name: n.name, key: n.key }));
    const trust = str("trust");
    const audit = await readAuditLog({ gitdir, tip: branch.oid, nodes, remote, max, ...(trust === undefined ? {} : { bootstrapTrust: resolve(trust) }), now: Date.now(), log: io.log });
    const ok = audit.entries.every((e) => e.problem === null) && audit.nodes.every((n) => n.refused === 0);
    if (values["json"] === true) io.out(JSON.stringify({ ok, branch: { name: branchName, ref: branch.ref, revision: branch.oid }, commits: audit.entries, nodes: audit.nodes }, null, 2));
    else io.out(renderLog(branchName, branch, audit));
    return ok ? EXIT_OK : EXIT_PROBLEM;
  },
};

function short(oid: string): string {
  return oid.slice(0, 12);
}

/** when writes an ISO time as `2025-01-03 14:02Z`. */
function when(iso: string): string {
  return iso.replace("T", " ").replace(/:\d\d(?:\.\d+)?Z$/, "Z");
}

function outcomes(resources: readonly ResourceStatus[]): string {
  if (resources.length === 0) return "nothing changed";
  const shown = resources.slice(0, 8).map((r) => `${r.resource} ${r.outcome}${r.code === undefined ? "" : ` (${r.code})`}`);
  return `${shown.join(", ")}${resources.length > shown.length ? `, and ${resources.length - shown.length} more` : ""}`;
}

function onNode(s: CommitOnNode): string {
  switch (s.state) {
    case "applied":
      return `applied ${when(s.at)} (report ${short(s.report)}): ${outcomes(s.resources)}`;
    case "included":
      return `applied ${when(s.at)} with ${short(s.revision)} (report ${short(s.report)})`;
    case "pending":
      return "not applied yet";
  }
}

function entryLines(e: LogEntry, width: number): string[] {
  const head = `${short(e.oid)}  ${when(e.committedAt)}  ${e.signer ?? "UNVERIFIED"}  ${e.subject}`;
  const why = e.problem === null ? [] : [`    ! ${e.problem.code}: ${e.problem.message}`];
  return [head, ...why, ...Object.entries(e.nodes).map(([node, s]) => `    ${node.padEnd(width)}  ${onNode(s)}`)];
}

function renderLog(name: string, branch: { ref: string | null; oid: string }, audit: AuditLog): string {
  const width = Math.max(0, ...audit.nodes.map((n) => n.node.length));
  const lines = [`${name} at ${short(branch.oid)}${branch.ref === null ? "" : ` (${branch.ref})`}, newest first, first parents only; each commit with the admin who signed it`];
  for (const e of audit.entries) lines.push("", ...entryLines(e, width));
  const notes: string[] = [];
  for (const n of audit.nodes) {
    if (n.problem !== null) notes.push(`${n.node}: ${n.problem}`);
    if (n.refused > 0) notes.push(`${n.node}: ${n.refused} commit${n.refused === 1 ? "" : "s"} on status/${n.node} not signed by its key, ignored`);
    for (const a of n.applied) if (!a.onBranch) notes.push(`${n.node}: applied ${short(a.revision)} at ${when(a.at)}, which is not on ${name}'s first-parent history`);
  }
  if (notes.length > 0) lines.push("", ...notes.map((x) => `warning: ${x}`));
  return lines.join("\n");
}
