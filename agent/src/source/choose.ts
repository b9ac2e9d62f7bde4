/**
 * Which revision this node should run, given what each remote said. Pure: facts about tips,
 * ancestry and verification in, a decision out. The doing loop (source.ts) gathers the facts.
 *
 * Rules (ARCHITECTURE.md step 1, git.md §5):
 * - a remote that failed is skipped; when every remote failed, hold (SOURCE_FETCH_FAILED);
 * - the remotes must not contradict each other: every pair of tips is equal or one is an
 *   ancestor of the other, else hold (SOURCE_DIVERGED);
 * - the newest tip is the candidate; it must be the last applied revision (unchanged) or
 *   descend from it, else hold (SOURCE_ROLLBACK);
 * - the candidate is applied only if its verification passed; otherwise hold with the
 *   verification's reason. An older tip that would verify is never applied instead.
 * Every hold keeps the last applied revision.
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

/** The result of verifying the candidate's history (signatures, trust, dates). */
export type Verification =
  | { readonly revision: string; readonly ok: true; readonly commits: number }
  | { readonly revision: string; readonly ok: false; readonly problem: SourceProblem };

export type Decision =
  | { readonly kind: "apply"; readonly revision: string; readonly remote: string }
  | { readonly kind: "unchanged"; readonly revision: string }
  | { readonly kind: "hold"; readonly revision: string | undefined; readonly reason: SourceProblem };

export type Candidate = Decision | { readonly kind: "verify"; readonly revision: string; readonly remote: string };

/**
 * pickCandidate decides everything that does not need signatures: returns `verify` with the
 * newest tip when it moves forward from the last applied revision, `unchanged` when it is the
 * last applied revision, or `hold` (no remote answered, remotes diverged, rollback). Never throws.
 */
export function pickCandidate(input: ChoiceInput): Candidate {
  const { lastApplied } = input;
  const hold = (reason: SourceProblem): Candidate => ({ kind: "hold", revision: lastApplied, reason });
  if (input.remotes.length === 0) {
    return hold({ code: "SOURCE_NO_REMOTE", message: "no remote is configured", data: {}, hint: "list at least one remote under remotes: in the agent configuration", retry: "stalled" });
  }
  const tips: { remote: string; tip: string }[] = [];
  for (const r of input.remotes) if ("tip" in r) tips.push(r);
  if (tips.length === 0) {
    const remotes = input.remotes.map((r) => ("problem" in r ? { remote: r.remote, code: r.problem.code, message: r.problem.message } : { remote: r.remote }));
    return hold({ code: "SOURCE_FETCH_FAILED", message: "every remote failed; keeping the last applied revision", data: { remotes }, hint: "see each remote's error; the node keeps running the last applied revision", retry: "transient" });
  }
  const isAncestor = ancestryTest(input.ancestry);
  const distinct = [...new Set(tips.map((t) => t.tip))];
  for (let i = 0; i < distinct.length; i++) {
    for (let j = i + 1; j < distinct.length; j++) {
      const a = distinct[i] as string;
      const b = distinct[j] as string;
      if (!isAncestor(a, b) && !isAncestor(b, a)) {
        const byRemote = Object.fromEntries(tips.map((t) => [t.remote, t.tip]));
        return hold({ code: "SOURCE_DIVERGED", message: "the remotes disagree: neither tip descends from the other", data: { tips: byRemote }, hint: "find out which remote was rewritten and repair it; the node applies nothing until they agree", retry: "stalled" });
      }
    }
  }
  // Pairwise comparable tips form a chain, so exactly one descends from (or equals) all others.
  const newest = distinct.find((t) => distinct.every((o) => o === t || isAncestor(o, t))) as string;
  const remote = (tips.find((t) => t.tip === newest) as { remote: string }).remote;
  if (lastApplied === undefined) return { kind: "verify", revision: newest, remote };
  if (newest === lastApplied) return { kind: "unchanged", revision: lastApplied };
  if (isAncestor(lastApplied, newest)) return { kind: "verify", revision: newest, remote };
  return hold({
    code: "SOURCE_ROLLBACK",
    message: "the newest tip does not descend from the last applied revision",
    data: { lastApplied, tip: newest, remote, behind: isAncestor(newest, lastApplied) },
    hint: "a remote serves older or rewritten history; push a commit that descends from the last applied revision",
    retry: "stalled",
  });
}

/**
 * chooseRevision decides the revision to run: pickCandidate, then the candidate's verification.
 * Returns `apply` only for a candidate whose verification passed; `hold` with the
 * verification's problem when it failed, and `hold` (INTERNAL) when the verification given is
 * for another revision or missing. Never throws.
 */
export function chooseRevision(input: ChoiceInput, verification: Verification | undefined): Decision {
  const c = pickCandidate(input);
  if (c.kind !== "verify") return c;
  if (verification === undefined || verification.revision !== c.revision) {
    return { kind: "hold", revision: input.lastApplied, reason: { code: "INTERNAL", message: "the candidate was not verified", data: { candidate: c.revision, verified: verification?.revision }, retry: "internal" } };
  }
  if (!verification.ok) return { kind: "hold", revision: input.lastApplied, reason: verification.problem };
  return { kind: "apply", revision: c.revision, remote: c.remote };
}

function ancestryTest(pairs: ChoiceInput["ancestry"]): (a: string, b: string) => boolean {
  const set = new Set(pairs.map(([a, b]) => `${a}..${b}`));
  return (a, b) => set.has(`${a}..${b}`);
}
