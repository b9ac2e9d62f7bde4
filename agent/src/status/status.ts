/**
 * The status step (README.md, "Status") as one call for the agent loop: make this run's
 * document from what the reconcile gave (or what it threw), write it as a signed commit on
 * `status/<node>` under the squash rule, and push the branch to every remote. Meant to be
 * called from the loop's one `finally`, so it never throws: a report that cannot be written or
 * pushed is a result, and the reports already queued still go out.
 */
import git from "isomorphic-git";
import type { AgentConfig } from "../config.js";
import { StewardError, isStewardError } from "../errors.js";
import type { Executor } from "../exec.js";
import type { Logger } from "../log.js";
import type { ReconcileResult } from "../reconcile.js";
import type { FetchIsolate } from "../source/fetch-isolated.js";
import { isBranchName } from "../source/remotes.js";
import { gitFs, prepareRepo, resolveOrUndefined, withRepoLock } from "../source/repo.js";
import { sourcePaths } from "../source/state.js";
import { readPreviousDocument, stateError, statusBranch, statusRef, writeStatus, type StatusRepo, type WriteResult } from "./commit.js";
import { buildStatus, type DriverReport, type HostFacts, type ServiceReport, type StatusDocument, type StatusInputs } from "./document.js";
import { renderObserved, type ObservedRecord } from "./observed.js";
import { adoptRemoteStatus, pushStatus, type PushOutcome, type StatusProblem } from "./push.js";
import { checkSigningKey, sshSigner } from "./sign.js";
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from "./squash.js";

export interface StatusContext {
  readonly config: AgentConfig;
  /** The node's private SSH key, whose public half the server lets push `status/<node>`. */
  readonly signingKey: string;
  readonly agentVersion: string;
  readonly log: Logger;
  /** Runs ssh-keygen (tests pass a recording one). */
  readonly executor?: Executor;
  /** The clock (Unix ms), read once per report. */
  readonly now?: () => number;
  /** A heartbeat is committed at most this often (squash.ts). Default 15 minutes. */
  readonly heartbeatIntervalMs?: number;
  /** A newest verified commit older than this is SourceStale; undefined: never. */
  readonly maxSourceAgeSeconds?: number;
  /** The agent's fetch worker, for fetching a remote's status branch. */
  readonly isolate?: FetchIsolate;
  /** Push after writing (default true). */
  readonly push?: boolean;
  /** isomorphic-git's object cache (a new one by default). */
  readonly cache?: object;
}

/** What the run gave the report: the reconcile's result, or what it threw (or both absent). */
export interface ReportInput extends DriverReport {
  readonly reconcile?: ReconcileResult;
  readonly error?: unknown;
  /** From the jail driver: every supervised service and whether it runs. */
  readonly services: readonly ServiceReport[];
  readonly host: HostFacts;
  /** The host as the run left it (observed.ts), written next to the report; none when the run did not observe it. */
  readonly observed?: ObservedRecord;
}

export type CommitOutcome = WriteResult | { readonly action: "failed"; readonly error: StatusProblem };

export interface StatusReport {
  /** The document of this run (also when it could not be committed). */
  readonly document: StatusDocument | undefined;
  readonly commit: CommitOutcome;
  /** One per configured remote, in their order; empty when pushing is off. */
  readonly pushes: readonly PushOutcome[];
}

/**
 * reportStatus writes and pushes this run's report. Under the repository lock it reads the
 * previous report (the local branch's tip; when there is no branch, the newest of the remotes'
 * status branches is fetched and continued), builds the document (document.ts buildStatus) and
 * writes it (commit.ts writeStatus); then it pushes the branch to each remote (push.ts). Never
 * throws: a failed write is `commit.action === "failed"` with STATUS_STATE (the repository
 * cannot be written, e.g. a full disk; the branch is left as it was), STATUS_SIGN (the key
 * cannot sign) or SOURCE_LOCKED (another process holds the repository); pushes still run, so
 * the reports already queued go out. Each push is an outcome (push.ts).
 */
export async function reportStatus(ctx: StatusContext, input: ReportInput): Promise<StatusReport> {
  const { config } = ctx;
  const log = ctx.log.child({ step: "status", node: config.node });
  const nowMs = (ctx.now ?? Date.now)();
  const repo: StatusRepo = { gitdir: sourcePaths(config.state).gitdir, node: config.node, cache: ctx.cache ?? {} };
  const signer = sshSigner(ctx.signingKey, ctx.executor);
  const pushCtx = { repo, signer, timeoutMs: Math.round(config.timeout * 1000), log, ...(ctx.isolate === undefined ? {} : { isolate: ctx.isolate }) };

  let document: StatusDocument | undefined;
  let commit: CommitOutcome;
  try {
    if (!isBranchName(statusBranch(config.node))) {
      throw new StewardError("STATUS_STATE", `node name ${JSON.stringify(config.node)} cannot name a branch`, { data: { node: config.node }, retry: "stalled" });
    }
    await checkSigningKey(ctx.signingKey);
    commit = await withRepoLock(
      repo.gitdir,
      async () => {
        try {
          await prepareRepo(repo.gitdir, config.remotes, config.branch, log);
          if ((await resolveOrUndefined(repo.gitdir, statusRef(config.node))) === undefined) await adoptRemoteStatus(config.remotes, pushCtx);
          const previous = await readPreviousDocument(repo);
          const inputs = await statusInputs(ctx, input, repo);
          document = buildStatus(previous, inputs, nowMs);
          return await writeStatus(repo, document, { signer, nowMs, heartbeatIntervalMs: ctx.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS, ...(input.observed === undefined ? {} : { observed: renderObserved(input.observed) }) });
        } catch (e) {
          throw stateError(e, "writing the status report");
        }
      },
      log,
    );
    if (commit.action !== "skipped") log.info({ action: commit.action, report: commit.report, oid: commit.oid }, "status written");
  } catch (e) {
    const error = isStewardError(e) ? e : stateError(e, "writing the status report");
    log.error({ code: error.code, data: error.data }, "status not written");
    commit = { action: "failed", error: { code: error.code, message: error.message, data: error.data, ...(error.hint === undefined ? {} : { hint: error.hint }), retry: error.retry } };
  }
  const pushes = ctx.push === false ? [] : await pushStatus(config.remotes, pushCtx);
  return { document, commit, pushes };
}

/**
 * statusInputs gathers what buildStatus needs from the run: the reconcile's parts as they
 * are, the failure as a code and message, and the committer date of the newest verified
 * commit (read from the repository: the revision applied or kept in force).
 */
async function statusInputs(ctx: StatusContext, input: ReportInput, repo: StatusRepo): Promise<StatusInputs> {
  const r = input.reconcile;
  const source = r?.source;
  const revision = source === undefined ? undefined : source.decision.kind === "hold" ? (r?.recorded ?? source.lastApplied) : source.decision.revision;
  let newestCommit: StatusInputs["newestCommit"];
  if (revision !== undefined) {
    try {
      const { commit } = await git.readCommit({ fs: gitFs, gitdir: repo.gitdir, oid: revision, cache: repo.cache });
      newestCommit = { revision, committedAt: commit.committer.timestamp };
    } catch {
      newestCommit = undefined;
    }
  }
  const failure = input.error === undefined ? undefined : isStewardError(input.error) ? { code: input.error.code, message: input.error.message } : { code: "INTERNAL" as const, message: input.error instanceof Error ? input.error.message : String(input.error) };
  return {
    node: ctx.config.node,
    agentVersion: ctx.agentVersion,
    heartbeatSeconds: Math.round((ctx.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS) / 1000),
    ...(source === undefined ? {} : { source }),
    ...(r?.target === undefined ? {} : { target: r.target }),
    ...(r?.run === undefined ? {} : { run: r.run }),
    ...(r?.recorded === undefined ? {} : { recorded: r.recorded }),
    ...(failure === undefined ? {} : { failure }),
    ...(newestCommit === undefined ? {} : { newestCommit }),
    ...(ctx.maxSourceAgeSeconds === undefined ? {} : { maxSourceAgeSeconds: ctx.maxSourceAgeSeconds }),
    services: input.services,
    host: input.host,
    ...(input.backups === undefined ? {} : { backups: input.backups }),
    ...(input.coldDisks === undefined ? {} : { coldDisks: input.coldDisks }),
  };
}
