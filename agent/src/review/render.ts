/**
 * A revision's review (offline-plan.ts) for people, as text for a terminal: first what
 * destroys data, what interrupts a service and who can reach whom, then each node's whole
 * plan. Pure.
 */
import { renderDiagnostic } from "../errors.js";
import { formatDuration } from "../manifest/duration.js";
import { renderAction, renderPlanText } from "../plan/render.js";
import type { ActionBase } from "../plan/types.js";
import type { NodeReview, Observation, RevisionReview } from "./offline-plan.js";
import type { Flow, ReachabilityReview } from "./reachability.js";

export type Planned = Extract<NodeReview, { state: "planned" }>;

export function short(oid: string | null): string {
  return oid === null ? "(none)" : oid.slice(0, 12);
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function byId(review: Planned, ids: readonly string[]): ActionBase[] {
  return ids.flatMap((id) => review.plan.actions.filter((a) => a.id === id));
}

/** observationText says which report a plan stands on and how old it is. */
function observationText(o: Observation): string {
  const age = `${formatDuration(o.ageSeconds)} ago`;
  return `its report ${short(o.report)} of ${o.at} (${o.stale ? `${age}, STALE: older than two heartbeats, the node may have changed since` : age}), which observed the host at revision ${short(o.revision)}`;
}

/** headline sums up one node's plan in a few words. */
export function headline(n: Planned): string {
  const count = n.plan.actions.length;
  if (count === 0) return n.plan.findings.length === 0 ? "no changes" : `no actions, ${plural(n.plan.findings.length, "finding")}`;
  const parts = [n.highlights.destroys.length > 0 ? `${n.highlights.destroys.length} destroy${n.highlights.destroys.length === 1 ? "s" : ""} data` : "", n.highlights.interrupts.length > 0 ? `${n.highlights.interrupts.length} interrupt${n.highlights.interrupts.length === 1 ? "s" : ""} a service` : ""].filter((p) => p !== "");
  const pending = n.pendingOnBase.length > 0 ? `; ${n.pendingOnBase.length} of them due without this change` : "";
  return `${plural(count, "action")}${parts.length > 0 ? ` (${parts.join(", ")})` : ""}${pending}`;
}

export function flowText(f: Flow): string {
  return `${f.from} -> ${f.to}${f.address === undefined ? "" : ` (${f.address})`} ${f.port}/${f.proto}`;
}

function reachabilityLines(r: ReachabilityReview): string[] {
  if (!r.available) return [`reachability: not computed: ${r.reason}`];
  if (r.opened.length + r.closed.length === 0) return ["reachability: unchanged"];
  const lines = [`reachability: ${r.opened.length} opened, ${r.closed.length} closed`];
  for (const f of r.opened) lines.push(`  + ${flowText(f)}`);
  for (const f of r.closed) lines.push(`  - ${flowText(f)}`);
  for (const f of r.undeclared) lines.push(`  ! undeclared: ${f.message}`);
  return lines;
}

/** verdict says in one sentence whether the nodes would apply the revision, and if not why. */
export function verdict(review: RevisionReview, name: (s: string) => string = (s) => s): string {
  if (review.ok) return `${name(review.revision.name)} validates for every node${review.reachability.available ? " and opens no undeclared path" : ""}.`;
  const invalid = review.nodes.filter((n) => n.state === "invalid").map((n) => n.node);
  const reasons = [
    review.diagnostics.some((d) => d.severity === "error") ? "its manifest does not validate" : "",
    invalid.length > 0 ? `it is invalid for ${invalid.join(", ")}` : "",
    review.reachability.available && review.reachability.undeclared.length > 0 ? `it opens ${plural(review.reachability.undeclared.length, "undeclared path")}` : "",
  ].filter((x) => x !== "");
  return `${name(review.revision.name)} would not be applied as it is: ${reasons.join("; ")}.`;
}

/** renderReviewText writes the review for a terminal. */
export function renderReviewText(review: RevisionReview): string {
  const name = (r: RevisionReview["revision"]): string => `${r.name} at ${short(r.oid)}${r.ref === null ? "" : ` (${r.ref})`}`;
  const lines = [`revision ${name(review.revision)}, against ${name(review.against)}`];
  for (const d of review.diagnostics) lines.push(renderDiagnostic(d));
  for (const n of review.nodes) {
    lines.push("");
    switch (n.state) {
      case "invalid":
        lines.push(`== ${n.node}: the revision is invalid for this node; its agent will not apply it`);
        for (const d of n.diagnostics) lines.push(`   ${renderDiagnostic(d)}`);
        break;
      case "unknown":
        lines.push(`== ${n.node}: not planned: ${n.reason}`);
        if (n.observation !== undefined) lines.push(`   newest observation: ${observationText(n.observation)}`);
        break;
      case "planned": {
        lines.push(`== ${n.node}: ${headline(n)}`);
        lines.push(`   planned against ${observationText(n.observation)}`);
        for (const note of n.notes) lines.push(`   note: ${note}`);
        const section = (title: string, ids: readonly string[]): void => {
          if (ids.length === 0) return;
          lines.push(`   ${title}:`);
          for (const a of byId(n, ids)) lines.push(`     ${renderAction(a)}`);
        };
        section("DESTROYS DATA", n.highlights.destroys);
        section("interrupts a service", n.highlights.interrupts);
        if (n.unobserved.length > 0) {
          lines.push("   not observed on the node, planned as absent:");
          for (const u of n.unobserved) lines.push(`     ${u}`);
        }
        if (n.pendingOnBase.length > 0) lines.push(`   due without this change: ${n.pendingOnBase.join(", ")}`);
        for (const d of n.diagnostics) lines.push(`   ${renderDiagnostic(d)}`);
        lines.push("", ...renderPlanText(n.plan).trimEnd().split("\n").map((l) => (l === "" ? "" : `   ${l}`)));
        break;
      }
    }
  }
  lines.push("", ...reachabilityLines(review.reachability), "", verdict(review));
  return `${lines.join("\n")}\n`;
}
