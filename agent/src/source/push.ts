/**
 * Whether the git server should accept an update of the tracked branch, judged as the nodes
 * judge what they fetch (hooks/README.md, "What pre-receive checks"). Pure: facts gathered by
 * verify-push.ts in, a verdict out.
 *
 * - A new branch (no old tip): its tip is judged as a node's first run judges it, by the
 *   bootstrap trust file alone.
 * - A fast-forward: every first-parent commit after the old tip, each by the trust of the
 *   commit before it; exactly what a node that applied the old tip does (verify.ts).
 * - A rewrite (the old tip is not an ancestor of the new one): nodes never roll back, so the
 *   server refuses one that drops a commit a node may have applied. It accepts one only when
 *   the oldest dropped first-parent commit, judged as a node that applied its first parent
 *   would judge it, is refused: then no node passed it, so no node applied it or anything
 *   after it, and removing it is how an admin recovers from an unsigned or untrusted commit
 *   that reached the server. The new commits must verify from that same first parent.
 */
import { assertNever } from "../plan/assert-never.js";
import type { SourceProblem, Verification } from "./choose.js";
import type { PackLimits } from "./pack-guard.js";

/** What verify-push.ts found out about one update. */
export type PushFacts =
  | { readonly kind: "create"; readonly tip: string; readonly verification: Verification }
  | { readonly kind: "unchanged"; readonly tip: string }
  | { readonly kind: "fast-forward"; readonly old: string; readonly tip: string; readonly verification: Verification }
  | {
      readonly kind: "rewrite";
      readonly old: string;
      readonly tip: string;
      /** How many commits the old tip has that the new one lacks (`git rev-list OLD --not NEW`). */
      readonly dropped: number;
      /** The oldest dropped commit on the old tip's first-parent chain. */
      readonly firstDropped: string;
      /** Its first parent, which the new tip keeps; undefined when it is a root commit. */
      readonly kept: string | undefined;
      /** The old tip's chain verified from `kept`; absent when `kept` is. */
      readonly oldVerification?: Verification;
      /** The new tip's chain verified from `kept`; absent when `kept` is. */
      readonly verification?: Verification;
    };

export type PushVerdict =
  | {
      readonly ok: true;
      readonly kind: PushFacts["kind"];
      /** First-parent commits whose signatures and dates were verified. */
      readonly commits: number;
      /** For an accepted rewrite: the oldest dropped commit and why nodes refuse it. */
      readonly dropped?: { readonly commits: number; readonly first: string; readonly refusedAs: SourceProblem };
    }
  | { readonly ok: false; readonly kind: PushFacts["kind"]; readonly problem: SourceProblem };

/**
 * judgePush decides whether the update the facts describe may be accepted, as the module
 * comment says. A refused rewrite is SOURCE_ROLLBACK; any other refusal carries the node's own
 * problem (SOURCE_UNSIGNED, SOURCE_UNTRUSTED, SOURCE_BAD_SIGNATURE, SOURCE_TRUST_INVALID,
 * SOURCE_FUTURE_COMMIT, SOURCE_BACKDATED_COMMIT, SOURCE_PROTOCOL). Pure; never throws.
 */
export function judgePush(facts: PushFacts): PushVerdict {
  switch (facts.kind) {
    case "unchanged":
      return { ok: true, kind: facts.kind, commits: 0 };
    case "create":
    case "fast-forward": {
      const v = facts.verification;
      return v.ok ? { ok: true, kind: facts.kind, commits: v.commits } : { ok: false, kind: facts.kind, problem: v.problem };
    }
    case "rewrite": {
      const { old, tip, firstDropped, kept } = facts;
      const rollback = (why: string, data: Record<string, unknown> = {}): PushVerdict => ({
        ok: false,
        kind: facts.kind,
        problem: {
          code: "SOURCE_ROLLBACK",
          message: `${short(tip)} is not a fast-forward of ${short(old)}: it drops ${facts.dropped} commit(s) from ${short(firstDropped)} on, ${why}`,
          data: { old, tip, firstDropped, dropped: facts.dropped, ...(kept === undefined ? {} : { kept }), ...data },
          hint: `nodes never roll back: add commits on top of ${short(old)} instead. Only a rewrite that drops commits nodes refuse (an unsigned or untrusted commit and what follows it) is accepted`,
          retry: "stalled",
        },
      });
      if (kept === undefined || facts.oldVerification === undefined || facts.verification === undefined) {
        return rollback("down to a root commit; a node on its first run judges only the tip, so any of them may have been applied");
      }
      const o = facts.oldVerification;
      if (o.ok) return rollback("which nodes accept (a node may have applied them)");
      if (o.problem.data["commit"] !== firstDropped) {
        return rollback(`and ${short(firstDropped)} verifies (${o.problem.code} is at a later commit), so a node may have applied it`, { refusedAt: o.problem.data["commit"] ?? null });
      }
      const v = facts.verification;
      if (!v.ok) return { ok: false, kind: facts.kind, problem: v.problem };
      return { ok: true, kind: facts.kind, commits: v.commits, dropped: { commits: facts.dropped, first: firstDropped, refusedAs: o.problem } };
    }
    default:
      return assertNever(facts, "push kind");
  }
}

function short(oid: string): string {
  return oid.slice(0, 12);
}

/** One object a push brings: as `git cat-file --batch-check` and `git rev-list --objects` describe it. */
export interface PushedObject {
  readonly oid: string;
  readonly type: string;
  readonly size: number;
  /** The path of a blob or tree in the first commit that names it, when git gives one. */
  readonly path?: string;
}

/**
 * judgeObjects refuses a push that brings what no node will fetch: more objects than a node's
 * pack guard takes, one object over its size limit, or more bytes in all than it inflates
 * (pack-guard.ts limits). Without this the server would take the push and every node would hold
 * at it for good. Returns the problem (SOURCE_PROTOCOL, as a node would report it), or undefined.
 * Pure.
 */
export function judgeObjects(objects: readonly PushedObject[], limits: PackLimits): SourceProblem | undefined {
  const problem = (message: string, data: Record<string, unknown>): SourceProblem => ({
    code: "SOURCE_PROTOCOL",
    message,
    data,
    hint: "keep large files and generated data out of the cluster repo (a manifest is a few KiB, a service's file at most 1 MiB); rewrite the commits without them",
    retry: "stalled",
  });
  if (objects.length > limits.maxObjects) return problem(`the push brings ${objects.length} objects; a node fetches at most ${limits.maxObjects} at once`, { objects: objects.length, limit: limits.maxObjects });
  const big = objects.find((o) => o.size > limits.maxObjectBytes);
  if (big !== undefined) {
    return problem(`${big.type} ${big.oid}${big.path === undefined ? "" : ` (${big.path})`} is ${big.size} bytes; nodes refuse any object over ${limits.maxObjectBytes} bytes`, { oid: big.oid, size: big.size, limit: limits.maxObjectBytes, ...(big.path === undefined ? {} : { path: big.path }) });
  }
  const total = objects.reduce((n, o) => n + o.size, 0);
  if (total > limits.maxTotalBytes) return problem(`the push brings ${total} bytes of objects; a node takes at most ${limits.maxTotalBytes} in one fetch`, { bytes: total, limit: limits.maxTotalBytes });
  return undefined;
}
