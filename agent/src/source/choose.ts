/**
 * Which revision this node should run, given what each remote said. Pure: facts about tips,
 * ancestry and verification in, a decision out. The doing loop (source.ts) gathers the facts.
 *
 * Each remote is judged on its own (docs/architecture.md, "The source step"), so that one bad
 * remote can delay nothing:
 * - a remote whose fetch failed is skipped;
 * - a tip equal to the last applied revision is current; a proper ancestor of it is behind
 *   (a stale mirror: a warning on that remote, never the reason for a hold);
 * - a tip that neither descends from nor precedes the last applied revision is rewritten
 *   history (SOURCE_ROLLBACK for that remote) and ignored;
 * - a tip that descends from the last applied revision (every tip, on a first run) is ahead:
 *   its first-parent chain is verified (verify.ts); a tip that fails is ignored, and its
 *   problem names the remote that served it.
 * Among the verified tips the one that descends from all the others is applied; two verified
 * tips that diverge hold SOURCE_DIVERGED naming both remotes. With no verified tip the node
 * keeps the last applied revision: `unchanged` when a remote is current and none offered a bad
 * tip, else `hold` with the first problem in priority order. Every hold keeps the last applied
 * revision.
 */
import type { ErrorCode, Retry } from "../errors.js";

/** A typed reason, as carried by StewardError, in plain data. */
export interface SourceProblem {
  readonly code: ErrorCode;
  readonly message: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly hint?: string;
  readonly retry: Retry;
}

/** What one remote gave: its tip of the tracked branch, or why it gave nothing. */
export type RemoteFact =
  | { readonly remote: string; readonly tip: string }
  | { readonly remote: string; readonly problem: SourceProblem };

export interface ChoiceInput {
  /** In priority order (the configuration's order). */
  readonly remotes: readonly RemoteFact[];
  readonly lastApplied: string | undefined;
  /**
   * Strict ancestry known to hold: `[a, b]` means a is a proper ancestor of b. Must cover every
   * pair of distinct tips and (lastApplied, tip) for every tip; a pair not listed is "not an ancestor".
   */
  readonly ancestry: readonly (readonly [ancestor: string, descendant: string])[];
}

/** The result of verifying one tip's history (signatures, trust, dates). */
export type Verification =
  /** `signer`: the principal that signed the tip (absent when no commit needed checking). */
  | { readonly revision: string; readonly ok: true; readonly commits: number; readonly signer?: string }
  | { readonly revision: string; readonly ok: false; readonly problem: SourceProblem };

/** Where one remote's answer stands, once judged. */
export type Standing =
  /** The fetch failed; `problem` says why. */
  | { readonly kind: "failed"; readonly problem: SourceProblem }
  /** The tip is the last applied revision. */
  | { readonly kind: "current"; readonly tip: string }
  /** The tip is a proper ancestor of the last applied revision: a stale remote. */
  | { readonly kind: "behind"; readonly tip: string }
  /** The tip descends from the last applied revision and its history verified. */
  | { readonly kind: "verified"; readonly tip: string }
  /** The tip's history failed verification, or is rewritten; the remote is ignored. */
  | { readonly kind: "refused"; readonly tip: string; readonly problem: SourceProblem };

/** One remote's standing, by name. */
export interface RemoteStanding {
  readonly remote: string;
  readonly standing: Standing;
}

/** A remote left out of the choice because what it served is refused. */
export interface IgnoredRemote {
  readonly remote: string;
  readonly tip: string;
  readonly code: ErrorCode;
  readonly message: string;
}

export type Decision =
  | { readonly kind: "apply"; readonly revision: string; readonly remote: string; readonly ignored?: readonly IgnoredRemote[] }
  | { readonly kind: "unchanged"; readonly revision: string; readonly ignored?: readonly IgnoredRemote[] }
  | { readonly kind: "hold"; readonly revision: string | undefined; readonly reason: SourceProblem; readonly ignored?: readonly IgnoredRemote[] };

/**
 * tipsToVerify lists, newest first, the distinct tips whose history must be verified before
 * the choice: every tip that descends from the last applied revision (every tip on a first
 * run). Pure; never throws.
 */
export function tipsToVerify(input: ChoiceInput): string[] {
  const isAncestor = ancestryTest(input.ancestry);
  const ahead = new Set<string>();
  for (const r of input.remotes) {
    if (!("tip" in r)) continue;
    if (input.lastApplied === undefined || isAncestor(input.lastApplied, r.tip)) ahead.add(r.tip);
  }
  // Newest first: verifying a descendant first lets verify.ts reuse its per-commit verdicts.
  return [...ahead].sort((a, b) => (isAncestor(a, b) ? 1 : isAncestor(b, a) ? -1 : 0));
}

/**
 * judgeRemotes gives each remote its standing from its tip, the ancestry and the
 * verifications of tipsToVerify's tips. A tip ahead whose verification is missing is refused
 * as INTERNAL (a bug in the caller). Pure; never throws.
 */
export function judgeRemotes(input: ChoiceInput, verifications: ReadonlyMap<string, Verification>): RemoteStanding[] {
  const { lastApplied } = input;
  const isAncestor = ancestryTest(input.ancestry);
  return input.remotes.map((r): RemoteStanding => {
    if ("problem" in r) return { remote: r.remote, standing: { kind: "failed", problem: r.problem } };
    const tip = r.tip;
    if (tip === lastApplied) return { remote: r.remote, standing: { kind: "current", tip } };
    if (lastApplied !== undefined && isAncestor(tip, lastApplied)) return { remote: r.remote, standing: { kind: "behind", tip } };
    if (lastApplied !== undefined && !isAncestor(lastApplied, tip)) {
      return {
        remote: r.remote,
        standing: {
          kind: "refused",
          tip,
          problem: {
            code: "SOURCE_ROLLBACK",
            message: `${r.remote} serves ${short(tip)}, which does not descend from the last applied revision ${short(lastApplied)}`,
            data: { remote: r.remote, tip, lastApplied },
            hint: `${r.remote} serves rewritten history; repair it with a commit that descends from ${short(lastApplied)} (the node never rolls back)`,
            retry: "stalled",
          },
        },
      };
    }
    const v = verifications.get(tip);
    if (v === undefined) {
      return { remote: r.remote, standing: { kind: "refused", tip, problem: { code: "INTERNAL", message: "the tip was not verified", data: { remote: r.remote, tip }, retry: "internal" } } };
    }
    if (v.ok) return { remote: r.remote, standing: { kind: "verified", tip } };
    const problem: SourceProblem = { ...v.problem, message: `${r.remote}: ${v.problem.message}`, data: { ...v.problem.data, remote: r.remote } };
    return { remote: r.remote, standing: { kind: "refused", tip, problem } };
  });
}

/**
 * chooseRevision decides the revision to run from the remotes' standings (judgeRemotes) as the
 * module comment says. Returns `apply` only for a verified tip; `unchanged`, or `hold` with the
 * reason, otherwise; every decision lists the remotes ignored because what they served is
 * refused. Pure; never throws.
 */
export function chooseRevision(input: ChoiceInput, verifications: ReadonlyMap<string, Verification>): Decision {
  return decide(input, judgeRemotes(input, verifications));
}

/**
 * decide is chooseRevision for standings already judged (judgeRemotes): a hold whose reason is
 * a refused remote's problem carries that very object. Pure; never throws.
 */
export function decide(input: ChoiceInput, standings: readonly RemoteStanding[]): Decision {
  const { lastApplied } = input;
  const ignored: IgnoredRemote[] = standings.flatMap(({ remote, standing: s }) => (s.kind === "refused" ? [{ remote, tip: s.tip, code: s.problem.code, message: s.problem.message }] : []));
  const withIgnored = <D extends Decision>(d: D): D => (ignored.length === 0 ? d : { ...d, ignored });
  const hold = (reason: SourceProblem): Decision => withIgnored({ kind: "hold", revision: lastApplied, reason });
  if (standings.length === 0) {
    return hold({ code: "SOURCE_NO_REMOTE", message: "no remote is configured", data: {}, hint: "list at least one remote under remotes: in the agent configuration", retry: "stalled" });
  }

  const isAncestor = ancestryTest(input.ancestry);
  const verified = standings.flatMap(({ remote, standing: s }) => (s.kind === "verified" ? [{ remote, tip: s.tip }] : []));
  if (verified.length > 0) {
    for (const a of verified) {
      for (const b of verified) {
        if (a.tip !== b.tip && !isAncestor(a.tip, b.tip) && !isAncestor(b.tip, a.tip)) {
          return hold({
            code: "SOURCE_DIVERGED",
            message: `${a.remote} and ${b.remote} serve verified histories that diverge (${short(a.tip)} and ${short(b.tip)})`,
            data: { tips: { [a.remote]: a.tip, [b.remote]: b.tip } },
            hint: "both histories are signed by trusted keys: find out which remote was rewritten and repair it; the node applies nothing until they agree",
            retry: "stalled",
          });
        }
      }
    }
    // Pairwise comparable tips form a chain, so exactly one descends from (or equals) all others.
    const newest = verified.find((t) => verified.every((o) => o.tip === t.tip || isAncestor(o.tip, t.tip))) as { remote: string; tip: string };
    return withIgnored({ kind: "apply", revision: newest.tip, remote: newest.remote });
  }

  const refused = standings.find((s) => s.standing.kind === "refused");
  if (refused !== undefined && refused.standing.kind === "refused") return hold(refused.standing.problem);
  if (lastApplied !== undefined && standings.some((s) => s.standing.kind === "current")) return withIgnored({ kind: "unchanged", revision: lastApplied });

  const summary = standings.map(({ remote, standing: s }) =>
    s.kind === "failed" ? { remote, code: s.problem.code, message: s.problem.message } : { remote, code: "BEHIND", message: `behind the last applied revision at ${short(s.kind === "behind" ? s.tip : "")}` },
  );
  const firstFailure = standings.find((s) => s.standing.kind === "failed");
  if (firstFailure !== undefined && firstFailure.standing.kind === "failed") {
    const p = firstFailure.standing.problem;
    return hold({
      code: "SOURCE_FETCH_FAILED",
      message: `no remote could be read: ${summary.map((r) => `${r.remote}: ${r.message}`).join("; ")}`,
      data: { remotes: summary },
      hint: p.hint ?? "see each remote's error; the node keeps running the last applied revision",
      retry: "transient",
    });
  }
  return hold({
    code: "SOURCE_ROLLBACK",
    message: `every remote is behind the last applied revision ${short(lastApplied ?? "")}`,
    data: { lastApplied, remotes: summary },
    hint: "the servers lost history the node already applied (restored from an old backup?); push the last applied revision, or a descendant of it, back",
    retry: "stalled",
  });
}

function ancestryTest(pairs: ChoiceInput["ancestry"]): (a: string, b: string) => boolean {
  const set = new Set(pairs.map(([a, b]) => `${a}..${b}`));
  return (a, b) => set.has(`${a}..${b}`);
}

function short(oid: string): string {
  return oid.slice(0, 12);
}
