/**
 * The source step (docs/architecture.md, step 1) as one doing loop around the pure choice:
 * read the last applied revision, fetch every remote, gather ancestry facts, verify the history
 * of every tip that moves forward (verify.ts), judge each remote and decide (choose.ts). It never records anything as
 * applied: the apply step calls recordApplied (state.ts) once a revision is in force.
 */
import git from "isomorphic-git";
import type { AgentConfig } from "../config.js";
import { StewardError, isStewardError } from "../errors.js";
import type { Executor } from "../exec.js";
import type { Logger } from "../log.js";
import { decide, judgeRemotes, tipsToVerify, type ChoiceInput, type Decision, type RemoteFact, type SourceProblem, type Standing, type Verification } from "./choose.js";
import type { FetchOutcome } from "./fetch.js";
import { fetchAll, type FetchIsolate } from "./fetch-isolated.js";
import { localStateError, typedReadError } from "./git-errors.js";
import { describeRemote, type RemoteKind } from "./remotes.js";
import { frozenGitFs, prepareRepo, withRepoLock, gitFs } from "./repo.js";
import { readApplied, sourcePaths } from "./state.js";
import { createChainVerifier } from "./verify.js";

export interface SourceOptions {
  readonly log: Logger;
  /** isomorphic-git object cache; pass the reconcile loop's one. A new one by default. */
  readonly cache?: object;
  /** The clock, read once per run (Unix ms). */
  readonly now?: () => number;
  /** Runs ssh-keygen. */
  readonly executor?: Executor;
  readonly maxResponseBytes?: number;
  /** The worker to fetch in; the agent keeps one across runs. A fresh one by default. */
  readonly isolate?: FetchIsolate;
}

/** What one remote said in this run. */
export interface RemoteReport {
  readonly name: string;
  readonly kind: RemoteKind;
  /** Where it is (no credentials: configurations cannot hold any). */
  readonly location: string;
  readonly ok: boolean;
  readonly tip?: string;
  /** The tracking ref before this fetch. */
  readonly previous?: string;
  /** Why the fetch failed. */
  readonly error?: SourceProblem;
  /**
   * How its answer was judged (choose.ts): failed, current, behind (stale), verified, or
   * refused (then `refused` says why; the remote was ignored).
   */
  readonly standing: Standing["kind"];
  readonly refused?: SourceProblem;
  readonly ms: number;
}

export interface SourceResult {
  readonly decision: Decision;
  readonly lastApplied: string | undefined;
  readonly remotes: readonly RemoteReport[];
  /** The verification of the revision applied, or of the tip whose refusal is the hold's reason. */
  readonly verification?: Verification;
  /** Every tip verified in this run. */
  readonly verifications: readonly Verification[];
  /** The bare repository to read the chosen revision from (readSnapshot). */
  readonly gitdir: string;
  readonly cache: object;
}

/**
 * runSource fetches every configured remote and decides which revision this node should run.
 * Returns `apply` (a new verified revision), `unchanged`, or `hold` with the reason and the
 * last applied revision kept; it does not throw for remote, trust or state failures (they
 * become holds: SOURCE_STATE when the applied record or the repository is unusable or lacks an
 * object, SOURCE_LOCKED when another process holds the repository, EXEC_* when ssh-keygen
 * cannot run). Side effects: creates the state directory and bare repository, writes fetched
 * packs and tracking refs, writes trust files; holds the repo lock (in-process and
 * `<state>/source/repo.lock`) throughout.
 */
export async function runSource(config: AgentConfig, options: SourceOptions): Promise<SourceResult> {
  const log = options.log.child({ step: "source" });
  const cache = options.cache ?? {};
  const now = (options.now ?? Date.now)();
  const { gitdir } = sourcePaths(config.state);
  const base = { gitdir, cache };
  let lastApplied: string | undefined;
  try {
    lastApplied = (await readApplied(config.state))?.revision;
  } catch (e) {
    const reason = toProblem(e);
    log.error({ code: reason.code, data: reason.data }, "applied record unusable");
    return { ...base, decision: { kind: "hold", revision: undefined, reason }, lastApplied: undefined, remotes: [], verifications: [] };
  }
  const locked = withRepoLock(gitdir, async () => {
    let outcomes: FetchOutcome[] = [];
    try {
      await prepareRepo(gitdir, config.remotes, config.branch, log);
      outcomes = await fetchAll(config.remotes, {
        gitdir,
        cache,
        branch: config.branch,
        timeoutMs: Math.round(config.timeout * 1000),
        complete: lastApplied === undefined ? [] : [lastApplied],
        log,
        ...(options.maxResponseBytes === undefined ? {} : { maxResponseBytes: options.maxResponseBytes }),
        ...(options.isolate === undefined ? {} : { isolate: options.isolate }),
      });
      const facts: RemoteFact[] = outcomes.map((o) => (o.ok ? { remote: o.remote, tip: o.tip } : { remote: o.remote, problem: toProblem(o.error) }));
      // Without L's history the rollback and trust checks cannot be made; when every remote
      // failed there is nothing to check and the fetch failure is the news.
      if (lastApplied !== undefined && facts.some((f) => "tip" in f) && !(await hasCommit(gitdir, lastApplied, cache))) {
        throw new StewardError("SOURCE_STATE", "the last applied revision is not in the local repository", {
          data: { lastApplied, gitdir },
          hint: "the repository was cleaned or no remote has that history any more; restore it, or re-bootstrap with steward fetch --record",
          retry: "stalled",
        });
      }
      const input: ChoiceInput = { remotes: facts, lastApplied, ancestry: await ancestryFacts(gitdir, cache, facts, lastApplied) };
      const verifier = createChainVerifier({
        gitdir,
        cache,
        stateDir: config.state,
        bootstrapTrust: config.trust,
        ...(config.revoked === undefined ? {} : { revoked: config.revoked }),
        now,
        log,
        ...(options.executor === undefined ? {} : { executor: options.executor }),
      });
      const verifications = new Map<string, Verification>();
      for (const tip of tipsToVerify(input)) verifications.set(tip, await verifier.verify(tip, lastApplied));
      const judged = judgeRemotes(input, verifications);
      const decision = decide(input, judged);
      const standings = new Map(judged.map((s) => [s.remote, s.standing]));
      const remotes = outcomes.map((o) => report(o, config, standings.get(o.remote)));
      for (const r of remotes) {
        if (r.standing === "refused") log.warn({ remote: r.name, tip: r.tip, code: r.refused?.code, data: r.refused?.data }, "remote ignored: what it serves is refused");
        if (r.standing === "behind") log.warn({ remote: r.name, tip: r.tip, lastApplied }, "remote behind the last applied revision");
      }
      logDecision(log, decision, lastApplied);
      const chosen = decision.kind === "apply" ? decision.revision : decision.kind === "hold" ? remotes.find((r) => r.refused === decision.reason)?.tip : undefined;
      const verification = chosen === undefined ? undefined : verifications.get(chosen);
      return { ...base, decision, lastApplied, remotes, verifications: [...verifications.values()], ...(verification === undefined ? {} : { verification }) };
    } catch (caught) {
      const e = typedReadError(caught, "SOURCE_STATE", "the local repository lacks an object the source step needs", { gitdir });
      if (!isStewardError(e)) throw e;
      const reason = toProblem(e);
      const decision: Decision = { kind: "hold", revision: lastApplied, reason };
      logDecision(log, decision, lastApplied);
      return { ...base, decision, lastApplied, remotes: outcomes.map((o) => report(o, config, undefined)), verifications: [] };
    }
  }, log);
  try {
    return await locked;
  } catch (caught) {
    // Only taking the lock throws out of withRepoLock (the body holds instead): a lock held by
    // another process, or a state directory that cannot be created or written.
    const e = isStewardError(caught) ? caught : stateDirError(caught, config.state);
    if (e === undefined) throw caught;
    const decision: Decision = { kind: "hold", revision: lastApplied, reason: toProblem(e) };
    logDecision(log, decision, lastApplied);
    return { ...base, decision, lastApplied, remotes: [], verifications: [] };
  }
}

/** stateDirError is SOURCE_STATE for a file system error on the state directory, else undefined. */
function stateDirError(e: unknown, state: string): StewardError | undefined {
  const local = localStateError(e, "preparing the state directory");
  if (local !== undefined) return local;
  const { code, syscall } = (typeof e === "object" && e !== null ? e : {}) as { code?: unknown; syscall?: unknown };
  if (typeof code !== "string" || typeof syscall !== "string") return undefined;
  return new StewardError("SOURCE_STATE", `cannot create or write the state directory ${state}: ${code}`, {
    data: { state, errno: code, syscall },
    hint: "check that the state directory's file system is mounted read-write, its permissions, and free space",
    retry: "transient",
    cause: e,
  });
}

/** The strict ancestry among distinct tips and between each tip and the last applied revision. */
async function ancestryFacts(gitdir: string, cache: object, facts: readonly RemoteFact[], lastApplied: string | undefined): Promise<[string, string][]> {
  // The fetch is over: nothing writes the repository until the lock is released.
  const rfs = frozenGitFs();
  const tips = [...new Set(facts.flatMap((f) => ("tip" in f ? [f.tip] : [])))];
  const nodes = lastApplied === undefined || tips.includes(lastApplied) ? tips : [...tips, lastApplied];
  const pairs: [string, string][] = [];
  for (const a of nodes) {
    for (const b of nodes) {
      if (a === b) continue;
      // isomorphic-git's isDescendent(x, x) is false; equal tips were excluded above.
      if (await git.isDescendent({ fs: rfs, gitdir, oid: b, ancestor: a, depth: -1, cache })) pairs.push([a, b]);
    }
  }
  return pairs;
}

async function hasCommit(gitdir: string, oid: string, cache: object): Promise<boolean> {
  try {
    await git.readCommit({ fs: gitFs, gitdir, oid, cache });
    return true;
  } catch {
    return false;
  }
}

function report(o: FetchOutcome, config: AgentConfig, standing: Standing | undefined): RemoteReport {
  const spec = config.remotes.find((r) => r.name === o.remote);
  const location = spec === undefined ? o.remote : describeRemote(spec);
  if (!o.ok) return { name: o.remote, kind: o.kind, location, ok: false, error: toProblem(o.error), standing: "failed", ms: Math.round(o.ms) };
  // Without a standing the run stopped before judging (a state failure): the tip is unjudged.
  const judged = standing ?? { kind: "refused" as const, tip: o.tip, problem: undefined };
  return {
    name: o.remote,
    kind: o.kind,
    location,
    ok: true,
    tip: o.tip,
    ...(o.previous === undefined ? {} : { previous: o.previous }),
    standing: judged.kind === "failed" ? "failed" : judged.kind,
    ...(judged.kind === "refused" && judged.problem !== undefined ? { refused: judged.problem } : {}),
    ms: Math.round(o.ms),
  };
}

/** toProblem turns a thrown StewardError into the plain data choose.ts and reports carry. */
export function toProblem(e: unknown): SourceProblem {
  if (!isStewardError(e)) return { code: "INTERNAL", message: e instanceof Error ? e.message : String(e), data: {}, retry: "internal" };
  return { code: e.code, message: e.message, data: e.data, ...(e.hint === undefined ? {} : { hint: e.hint }), retry: e.retry };
}

function logDecision(log: Logger, decision: Decision, lastApplied: string | undefined): void {
  switch (decision.kind) {
    case "apply":
      log.info({ revision: decision.revision, remote: decision.remote, lastApplied }, "revision chosen");
      break;
    case "unchanged":
      log.info({ revision: decision.revision }, "revision unchanged");
      break;
    case "hold":
      log.warn({ revision: decision.revision, code: decision.reason.code, data: decision.reason.data }, "revision held");
      break;
  }
}
