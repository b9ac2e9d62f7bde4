/**
 * Whether and how a new status document becomes a commit on `status/<node>`: the rule that
 * keeps the branch's history bounded (README.md, "Status"). Pure.
 *
 * The rule. A document is a *change* when its substance differs from the tip's (document.ts,
 * isHeartbeatOnly) or its observed state (observed.ts) is not the tip's byte for byte, else a
 * *heartbeat*.
 * 1. A change is always a new commit on the tip.
 * 2. A heartbeat is written only when the tip's heartbeat is at least `heartbeatIntervalMs`
 *    old; before that nothing is written at all (no object, no signature).
 * 3. A heartbeat that is due replaces the tip when the tip is itself a heartbeat that no
 *    remote has accepted yet (same parent, newer heartbeat fields); otherwise it is a new
 *    commit on the tip. History that a remote has is never rewritten.
 * So, whatever the number of runs, the branch grows by at most one commit per change plus one
 * heartbeat per interval while remotes take the commits, and by at most one commit per change
 * plus one trailing heartbeat while no remote does (the queue). A replaced heartbeat leaves
 * its four objects unreachable: at most one such set per interval while no remote answers.
 */
import { isHeartbeatOnly, type StatusDocument } from "./document.js";

/** A change commit, or a heartbeat commit (nothing changed but the heartbeat fields). */
export type ReportKind = "change" | "heartbeat";

/** The heartbeat interval when the caller names none. */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 15 * 60_000;

/** What writeStatus needs to know about the current tip of `status/<node>`. */
export interface TipFacts {
  readonly oid: string;
  readonly parents: readonly string[];
  /** The tip's document; undefined when the tip is not one of this node's reports. */
  readonly document: StatusDocument | undefined;
  /** From the commit's `Steward-Report:` trailer; undefined when not this node's report. */
  readonly kind: ReportKind | undefined;
  /** Some remote has accepted this commit (or a rebuilt copy of it). */
  readonly delivered: boolean;
  /** The text of the tip's observed state (observed.ts); undefined when it has none. */
  readonly observed?: string | undefined;
}

export type WriteDecision =
  | { readonly action: "skip"; readonly kind: "heartbeat" }
  | { readonly action: "replace"; readonly kind: "heartbeat"; readonly parents: readonly string[] }
  | { readonly action: "append"; readonly kind: ReportKind; readonly parents: readonly string[] };

/**
 * decideWrite applies the rule above to the tip (undefined: no branch yet) and the new
 * document (with the text of its observed state, if any) at `nowMs`. Pure; never throws.
 */
export function decideWrite(tip: TipFacts | undefined, next: StatusDocument, nowMs: number, heartbeatIntervalMs: number, nextObserved?: string): WriteDecision {
  if (tip === undefined) return { action: "append", kind: "change", parents: [] };
  if (tip.document === undefined || tip.kind === undefined || !isHeartbeatOnly(tip.document, next) || tip.observed !== nextObserved) return { action: "append", kind: "change", parents: [tip.oid] };
  const last = Date.parse(tip.document.heartbeat);
  if (Number.isFinite(last) && nowMs - last < heartbeatIntervalMs) return { action: "skip", kind: "heartbeat" };
  if (tip.kind === "heartbeat" && !tip.delivered) return { action: "replace", kind: "heartbeat", parents: tip.parents };
  return { action: "append", kind: "heartbeat", parents: [tip.oid] };
}

const TRAILER = "Steward-Report";

/** commitMessage is a status commit's message: the summary line and the `Steward-Report:` trailer. Pure. */
export function commitMessage(summary: string, kind: ReportKind): string {
  return `${summary}\n\n${TRAILER}: ${kind}\n`;
}

/** reportKindOf reads the `Steward-Report:` trailer of a commit message; undefined without one. Pure. */
export function reportKindOf(message: string): ReportKind | undefined {
  const m = new RegExp(`^${TRAILER}: (change|heartbeat)$`, "m").exec(message);
  return m === null ? undefined : (m[1] as ReportKind);
}
