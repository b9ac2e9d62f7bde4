/**
 * The audit trail `steward log` prints (README.md, "Change control"): the tracked branch's
 * first-parent history, each commit with the admin whose key signed it, checked as the nodes
 * check it (source/verify.ts, the trust of the commit before); and for each node, from its
 * verified status history (status/history.ts), when it first reported each revision applied
 * and what its resources' outcomes were in that run.
 *
 * nodeEvents and assembleLog decide (pure); readAuditLog reads the clone.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import git from "isomorphic-git";
import type { ErrorCode } from "../errors.js";
import type { Logger } from "../log.js";
import { gitFs } from "../source/repo.js";
import { createChainVerifier } from "../source/verify.js";
import type { ResourceStatus } from "../status/document.js";
import { readNodeHistory, type ReadReport } from "../status/history.js";

/** How far back the branch's first-parent chain is walked to place a node's applied revisions. */
export const MAX_CHAIN = 10_000;

/** One first-parent commit of the tracked branch, and who signed it. */
export interface BranchCommit {
  readonly oid: string;
  readonly subject: string;
  readonly author: string;
  /** Committer date, ISO 8601. */
  readonly committedAt: string;
  /** The principal whose key signed it, under the trust of the commit before; null when it does not verify. */
  readonly signer: string | null;
  /** Why it does not verify, as a node would say it. */
  readonly problem: { readonly code: ErrorCode; readonly message: string } | null;
}

/** A node reporting a revision applied for the first time. */
export interface AppliedEvent {
  readonly revision: string;
  /** The report's heartbeat: when the run that applied it reported. */
  readonly at: string;
  /** The status commit. */
  readonly report: string;
  /** That run's outcomes, except resources it left unchanged. */
  readonly resources: readonly ResourceStatus[];
}

/** nodeEvents lists, oldest first, the first verified report of each revision a node recorded as applied. Pure. */
export function nodeEvents(newestFirst: readonly ReadReport[]): AppliedEvent[] {
  const events: AppliedEvent[] = [];
  let last: string | null = null;
  for (const r of [...newestFirst].reverse()) {
    const applied = r.document.lastAppliedRevision;
    if (applied === null || applied === last) continue;
    last = applied;
    events.push({ revision: applied, at: r.document.heartbeat, report: r.oid, resources: r.document.resources.filter((x) => x.outcome !== "unchanged") });
  }
  return events;
}

/** Where one commit stands on one node. */
export type CommitOnNode =
  | ({ readonly state: "applied" } & AppliedEvent)
  /** The node went from an older revision to a newer one that contains this commit. */
  | { readonly state: "included"; readonly revision: string; readonly at: string; readonly report: string }
  /** The node has not run it (or anything after it) yet, as far as its verified reports say. */
  | { readonly state: "pending" };

export interface NodeTrail {
  readonly node: string;
  /** Why its reports cannot be read or believed (no branch, no key, a tip not signed by its key). */
  readonly problem: string | null;
  /** Commits on its status branch that did not verify. */
  readonly refused: number;
  readonly applied: readonly (AppliedEvent & { readonly onBranch: boolean })[];
}

export interface LogEntry extends BranchCommit {
  readonly nodes: Readonly<Record<string, CommitOnNode>>;
}

/**
 * assembleLog places each node's applied revisions on the branch: for each listed commit
 * (newest first), applied when a node reported it applied, included when the node first
 * reported a newer revision of the branch applied, else pending. `chain` is the branch's
 * first-parent chain, newest first, at least as long as `commits`. Pure.
 */
export function assembleLog(commits: readonly BranchCommit[], chain: readonly string[], nodes: readonly { readonly node: string; readonly events: readonly AppliedEvent[] }[]): LogEntry[] {
  const index = new Map(chain.map((oid, i) => [oid, i]));
  return commits.map((c) => {
    const at = index.get(c.oid) ?? Number.POSITIVE_INFINITY;
    const on: Record<string, CommitOnNode> = {};
    for (const n of nodes) {
      const exact = n.events.find((e) => e.revision === c.oid);
      const later = n.events.find((e) => (index.get(e.revision) ?? Number.POSITIVE_INFINITY) < at);
      on[n.node] = exact !== undefined ? { state: "applied", ...exact } : later !== undefined ? { state: "included", revision: later.revision, at: later.at, report: later.report } : { state: "pending" };
    }
    return { ...c, nodes: on };
  });
}

export interface AuditOptions {
  readonly gitdir: string;
  /** The branch's tip. */
  readonly tip: string;
  /** The nodes to follow: names and the keys their reports are verified with (the branch's manifest). */
  readonly nodes: readonly { readonly name: string; readonly key: string | undefined }[];
  readonly remote: string;
  /** How many commits to list. */
  readonly max: number;
  /** The nodes' bootstrap allowed_signers file: judges a root commit, and any whose parent has no trust file. */
  readonly bootstrapTrust?: string;
  readonly now: number;
  readonly log?: Logger;
}

export interface AuditLog {
  readonly entries: readonly LogEntry[];
  readonly nodes: readonly NodeTrail[];
}

const BOOTSTRAP_HINT = "pass --trust FILE, the nodes' bootstrap allowed_signers (their trust: file), to verify the first commit and any whose parent has no trust/allowed_signers";

/**
 * readAuditLog reads the branch's first-parent history from `tip` (the newest `max` commits,
 * each verified with the nodes' code against the trust of its parent) and every node's verified
 * status history, and assembles the log. Side effects: trust files in a temporary directory,
 * removed before returning. Throws SOURCE_NOT_FOUND/SOURCE_STATE when the clone lacks a commit
 * of the branch.
 */
export async function readAuditLog(options: AuditOptions): Promise<AuditLog> {
  const { gitdir } = options;
  const cache = {};
  const chain: { oid: string; parent: string | undefined }[] = [];
  for (let oid: string | undefined = options.tip; oid !== undefined && chain.length < MAX_CHAIN; ) {
    const { commit } = await git.readCommit({ fs: gitFs, gitdir, oid, cache });
    chain.push({ oid, parent: commit.parent[0] });
    oid = commit.parent[0];
  }
  const stateDir = await mkdtemp(join(tmpdir(), "steward-log-"));
  const commits: BranchCommit[] = [];
  try {
    const verifier = createChainVerifier({ gitdir, cache, stateDir, bootstrapTrust: options.bootstrapTrust ?? join(stateDir, "no-bootstrap-trust"), bootstrapHint: BOOTSTRAP_HINT, now: options.now, ...(options.log === undefined ? {} : { log: options.log }) });
    for (const { oid, parent } of chain.slice(0, options.max)) {
      const { commit } = await git.readCommit({ fs: gitFs, gitdir, oid, cache });
      const v = await verifier.verify(oid, parent);
      commits.push({
        oid,
        subject: commit.message.split("\n")[0] ?? "",
        author: `${commit.author.name} <${commit.author.email}>`,
        committedAt: new Date(commit.committer.timestamp * 1000).toISOString().replace(".000Z", "Z"),
        signer: v.ok ? (v.signer ?? null) : null,
        problem: v.ok ? null : options.bootstrapTrust === undefined && v.problem.code === "SOURCE_TRUST_INVALID" && v.problem.data["origin"] === "bootstrap" ? { code: v.problem.code, message: `judged by the nodes' bootstrap trust, which was not given: ${BOOTSTRAP_HINT}` } : { code: v.problem.code, message: v.problem.message },
      });
    }
  } finally {
    await rm(stateDir, { recursive: true, force: true });
  }
  const onBranch = new Set(chain.map((c) => c.oid));
  const trails: NodeTrail[] = [];
  const events: { node: string; events: AppliedEvent[] }[] = [];
  for (const n of options.nodes) {
    const h = await readNodeHistory(gitdir, n.name, n.key, options.remote, Number.NEGATIVE_INFINITY, cache);
    const e = nodeEvents(h.reports);
    events.push({ node: n.name, events: e });
    const problem = h.tipProblem ?? null;
    trails.push({ node: n.name, problem, refused: h.refused, applied: e.map((x) => ({ ...x, onBranch: onBranch.has(x.revision) })) });
  }
  return { entries: assembleLog(commits, chain.map((c) => c.oid), events), nodes: trails };
}
