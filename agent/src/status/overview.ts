/**
 * One line per node for `steward status`: what it runs, how far behind the branch, when it
 * last reported, whether it is Ready and why not, drift and the age of its source. Pure.
 */
import type { StatusDocument } from "./document.js";

/** Reports older than this many heartbeat intervals are stale: the node (or its agent) is not running. */
export const STALE_HEARTBEATS = 2;
/** The heartbeat interval assumed for reports that do not say theirs. */
export const DEFAULT_HEARTBEAT_SECONDS = 900;

export interface NodeOverview {
  readonly node: string;
  /** The tip's report verified with the node's key. */
  readonly verified: boolean;
  /** Why nothing is known (no branch, no key, a report that does not verify). */
  readonly problem: string | null;
  readonly appliedRevision: string | null;
  /** First-parent commits on the branch after the applied revision; null when not on the branch (or unknown). */
  readonly behind: number | null;
  /** The last report's heartbeat (ISO 8601). */
  readonly lastSeen: string | null;
  readonly lastSeenSecondsAgo: number | null;
  readonly stale: boolean;
  readonly ready: { readonly status: "True" | "False"; readonly reason: string; readonly message: string } | null;
  /** The Drifted condition's reason (DriftCorrected, DriftRemains), if any. */
  readonly drift: string | null;
  /** Age of the newest verified commit the node has, now. */
  readonly sourceAgeSeconds: number | null;
  /** Commits on the status branch read and not believed. */
  readonly refusedReports: number;
}

/**
 * overview summarises a node's newest verified report (undefined: none, `problem` says why),
 * given how far its applied revision is behind the branch (`behind`) and the clock (Unix ms).
 */
export function overview(node: string, doc: StatusDocument | undefined, problem: string | undefined, behind: number | null, refused: number, nowMs: number): NodeOverview {
  if (doc === undefined) {
    return { node, verified: false, problem: problem ?? "no report", appliedRevision: null, behind: null, lastSeen: null, lastSeenSecondsAgo: null, stale: true, ready: null, drift: null, sourceAgeSeconds: null, refusedReports: refused };
  }
  const seenAt = Date.parse(doc.heartbeat);
  const ago = Number.isFinite(seenAt) ? Math.max(0, Math.round((nowMs - seenAt) / 1000)) : null;
  const heartbeat = doc.agent.heartbeatSeconds ?? DEFAULT_HEARTBEAT_SECONDS;
  const ready = doc.conditions.find((c) => c.type === "Ready");
  const drift = doc.conditions.find((c) => c.type === "Drifted" && c.status === "True");
  const newest = doc.source.newestCommit;
  return {
    node,
    verified: true,
    problem: null,
    appliedRevision: doc.lastAppliedRevision,
    behind,
    lastSeen: doc.heartbeat,
    lastSeenSecondsAgo: ago,
    stale: ago === null || ago > STALE_HEARTBEATS * heartbeat,
    ready: ready === undefined ? null : { status: ready.status, reason: ready.reason, message: ready.message },
    drift: drift?.reason ?? null,
    sourceAgeSeconds: newest === null || ago === null ? null : newest.ageSeconds + ago,
    refusedReports: refused,
  };
}

/** healthy says whether a node needs no attention: verified, fresh, Ready and on the branch. */
export function healthy(o: NodeOverview): boolean {
  return o.verified && !o.stale && o.ready?.status === "True" && o.behind !== null;
}
