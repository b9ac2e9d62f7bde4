/**
 * A revision's review (offline-plan.ts) as a pull request's comment, in GitHub-flavoured
 * Markdown: a verdict, one table row per node, who can reach whom, then a section per node with
 * what destroys data and what interrupts a service first and the whole plan, commands included,
 * folded away under <details>. Every piece of text from the repo or a node goes into a code span,
 * a code block or an escaped table cell, so a name cannot change the comment's layout. Pure.
 */
import type { Diagnostic } from "../errors.js";
import { renderDiagnostic } from "../errors.js";
import { formatDuration } from "../manifest/duration.js";
import { renderAction, renderPlanText } from "../plan/render.js";
import type { RevisionReview } from "./offline-plan.js";
import type { ReachabilityReview } from "./reachability.js";
import { byId, flowText, headline, plural, short, verdict, type Planned } from "./render.js";

/** code writes a Markdown code span that survives any backticks inside. */
function code(s: string): string {
  const longest = Math.max(0, ...[...s.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  const body = s.replaceAll("\n", " ");
  return longest === 0 ? `${fence}${body}${fence}` : `${fence} ${body} ${fence}`;
}

/** fenced writes a Markdown code block whose fence no line inside can close. */
function fenced(body: string): string[] {
  const longest = Math.max(2, ...[...body.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  return [`${fence}text`, ...body.trimEnd().split("\n"), fence];
}

/**
 * text escapes prose from the repo or a node, never at the start of a line: no emphasis, code,
 * link, HTML or table cell boundary comes out of it.
 */
function text(s: string): string {
  return s.replaceAll(/[\\`*_[\]|~]/g, "\\$&").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll(/\s*\n\s*/g, " ");
}

function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

function diagnosticLines(ds: readonly Diagnostic[]): string[] {
  return ds.length === 0 ? [] : ["", ...fenced(ds.map(renderDiagnostic).join("\n"))];
}

/**
 * renderReviewMarkdown writes the review as a pull request's comment: a verdict, one table row
 * per node, reachability, then a section per node with what destroys data and interrupts
 * services listed first and the full plan, commands included, folded in <details>.
 */
export function renderReviewMarkdown(review: RevisionReview): string {
  const out: string[] = [`### steward plan: ${code(review.revision.name)} (${short(review.revision.oid)}) against ${code(review.against.name)} (${short(review.against.oid)})`, ""];
  out.push(review.ok ? `**OK:** ${verdict(review, code)}` : `**Problem:** ${verdict(review, code)}`);
  const planned = review.nodes.filter((n): n is Planned => n.state === "planned");
  const on = (pick: (n: Planned) => readonly string[]): string[] => planned.filter((n) => pick(n).length > 0).map((n) => n.node);
  const destroying = on((n) => n.highlights.destroys);
  const interrupting = on((n) => n.highlights.interrupts);
  if (destroying.length > 0) out.push("", `**Destroys data** on ${destroying.join(", ")}.`);
  if (interrupting.length > 0) out.push("", `**Interrupts services** on ${interrupting.join(", ")}.`);
  out.push("", ...reachabilityMarkdown(review.reachability));
  out.push(...diagnosticLines(review.diagnostics));
  if (review.nodes.length > 0) {
    out.push("", "| node | actions | destroys data | interrupts | planned against |", "|---|---:|---:|---:|---|");
    for (const n of review.nodes) {
      if (n.state === "invalid") out.push(`| ${n.node} | – | – | – | **invalid:** ${text(n.diagnostics.find((d) => d.severity === "error")?.message ?? "the manifest is invalid for it")} |`);
      else if (n.state === "unknown") out.push(`| ${n.node} | – | – | – | not planned: ${text(n.reason)} |`);
      else {
        const d = n.highlights.destroys.length;
        const age = `report ${short(n.observation.report)}, ${formatDuration(n.observation.ageSeconds)} old${n.observation.stale ? " (**stale**)" : ""}`;
        out.push(`| ${n.node} | ${n.plan.actions.length} | ${d > 0 ? `**${d}**` : "0"} | ${n.highlights.interrupts.length} | ${age} |`);
      }
    }
  }
  for (const n of planned) {
    if (n.plan.actions.length === 0 && n.plan.findings.length === 0 && n.unobserved.length === 0 && n.notes.length === 0) continue;
    out.push("", `#### ${n.node}: ${headline(n)}`);
    const list = (title: string, ids: readonly string[]): void => {
      if (ids.length === 0) return;
      out.push("", `**${title}**`, "", ...byId(n, ids).map((a) => `- ${code(renderAction(a))}`));
    };
    list("Destroys data", n.highlights.destroys);
    list("Interrupts a service", n.highlights.interrupts);
    if (n.unobserved.length > 0) out.push("", "Not observed on the node, planned as absent:", "", ...n.unobserved.map((u) => `- ${code(u)}`));
    if (n.pendingOnBase.length > 0) out.push("", `Due without this change: ${n.pendingOnBase.map(code).join(", ")}.`);
    for (const note of n.notes) out.push("", `Note: ${text(note)}.`);
    if (n.observation.stale) out.push("", `The node's report is **stale** (${formatDuration(n.observation.ageSeconds)} old): the node may have changed since.`);
    out.push("", `<details><summary>${escapeHtml(`All ${plural(n.plan.actions.length, "action")} and ${plural(n.plan.findings.length, "finding")}, with their commands`)}</summary>`, "", ...fenced(renderPlanText(n.plan)), "", "</details>");
  }
  for (const n of review.nodes) {
    if (n.state !== "invalid") continue;
    out.push("", `#### ${n.node}: invalid; its agent will not apply this revision`, ...diagnosticLines(n.diagnostics));
  }
  return `${out.join("\n")}\n`;
}

function reachabilityMarkdown(r: ReachabilityReview): string[] {
  if (!r.available) return [`**Reachability:** not computed (${r.reason}).`];
  if (r.opened.length + r.closed.length === 0) return ["**Reachability:** unchanged."];
  const out = [`**Reachability:** ${r.opened.length} opened, ${r.closed.length} closed.`, ""];
  for (const f of r.opened) out.push(`- opened: ${code(flowText(f))}`);
  for (const f of r.closed) out.push(`- closed: ${code(flowText(f))}`);
  for (const f of r.undeclared) out.push(`- **undeclared:** ${text(f.message)}`);
  return out;
}
