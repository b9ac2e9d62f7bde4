/**
 * Pushing the status branch to every remote, and the queue that makes a report survive a
 * remote being down (README.md, "Status").
 *
 * The local branch `refs/heads/status/<node>` is the queue: every report is a commit on it, in
 * the repository on disk, so nothing is lost when the agent restarts. For each remote the marker
 * `refs/steward/pushed/<remote>` names the status commit that remote last accepted (or was
 * found to have); what the remote lacks is what lies between its marker and the local tip, and
 * one push of the tip sends exactly those commits, in order. A remote whose marker is the tip is
 * not contacted at all.
 *
 * Pushes are fast-forwards only, never forced (isomorphic-git refuses a non-fast-forward on
 * the client side and the server's old value is checked on update). When a remote's branch has
 * moved (PushRejectedError: someone else wrote it, or the node lost its state and started again)
 * its branch is fetched, this node's reports it lacks are rebuilt on its tip and signed again
 * (commit.ts rebuildCommits), and pushed once more. The local branch follows the rebuilt commits
 * when no other remote had taken the ones they replace; otherwise that remote is on its own
 * line and gets its missing reports rebuilt on its marker at each push.
 *
 * Every network operation runs under the same deadline, caps and process handling as a fetch
 * (http-transport.ts); a push failure is a result per remote, never a throw.
 */
import git from "isomorphic-git";
import { StewardError, isStewardError, type ErrorCode, type Retry } from "../errors.js";
import type { Logger } from "../log.js";
import { fetchRemote, type FetchOptions, type FetchOutcome } from "../source/fetch.js";
import type { FetchIsolate } from "../source/fetch-isolated.js";
import { createGitHttp } from "../source/http-transport.js";
import { bridgeUrl, type RemoteKind, type RemoteSpec } from "../source/remotes.js";
import { repoFs, resolveOrUndefined, withRepoLock } from "../source/repo.js";
import {
  isAncestorOrSelf,
  pushedRef,
  readPushedMarkers,
  readStatusCommit,
  rebuildCommits,
  stateError,
  statusBranch,
  statusRef,
  unsentCommits,
  MAX_STATUS_WALK,
  type StatusRepo,
} from "./commit.js";
import type { Signer } from "./sign.js";

export interface PushContext {
  readonly repo: StatusRepo;
  readonly signer: Signer;
  /** Limit for each network operation (one push, or the fetch of a moved branch), in ms. */
  readonly timeoutMs: number;
  readonly log: Logger;
  /** Fetch a remote's status branch in this worker (the agent's); in this thread otherwise. */
  readonly isolate?: FetchIsolate;
}

/** The plain-data form of a failure in a result. */
export interface StatusProblem {
  readonly code: ErrorCode;
  readonly message: string;
  readonly data: Readonly<Record<string, unknown>>;
  readonly hint?: string;
  readonly retry: Retry;
}

/**
 * What pushing to one remote gave:
 * - pushed:     the remote took `commits` new commits; `rebuilt` when they were rebuilt on its tip;
 * - up-to-date: the remote has every report already (no network when its marker is the tip);
 * - nothing:    there is no local status branch yet;
 * - failed:     why, and how many reports it still lacks (`pending`; they stay queued).
 */
export type PushOutcome =
  | { readonly remote: string; readonly kind: RemoteKind; readonly status: "pushed"; readonly oid: string; readonly commits: number; readonly rebuilt: boolean; readonly ms: number }
  | { readonly remote: string; readonly kind: RemoteKind; readonly status: "up-to-date"; readonly oid: string; readonly ms: number }
  | { readonly remote: string; readonly kind: RemoteKind; readonly status: "nothing"; readonly ms: number }
  | { readonly remote: string; readonly kind: RemoteKind; readonly status: "failed"; readonly error: StatusProblem; readonly pending: number; readonly ms: number };

/**
 * pushStatus pushes the local status branch to every remote, one after the other, each under
 * the repository lock (taken per remote), and returns one outcome per remote in their order.
 * Never throws: a remote that is down, refuses, or cannot be reached in time, and a local
 * failure while handling it (STATUS_STATE, STATUS_SIGN, SOURCE_LOCKED), are `failed` outcomes.
 */
export async function pushStatus(remotes: readonly RemoteSpec[], ctx: PushContext): Promise<PushOutcome[]> {
  const outcomes: PushOutcome[] = [];
  for (const remote of remotes) outcomes.push(await pushStatusTo(remote, ctx));
  return outcomes;
}

/** pushStatusTo is pushStatus for one remote. Never throws. */
export async function pushStatusTo(remote: RemoteSpec, ctx: PushContext): Promise<PushOutcome> {
  const started = performance.now();
  const log = ctx.log.child({ remote: remote.name });
  const base = { remote: remote.name, kind: remote.target.kind };
  const ms = (): number => Math.round(performance.now() - started);
  // Refs are replaced by rename, so reading two without the lock is safe: a remote that has
  // the tip costs neither the lock (a process) nor the network.
  const local = await resolveOrUndefined(ctx.repo.gitdir, statusRef(ctx.repo.node));
  if (local === undefined) return { ...base, status: "nothing", ms: ms() };
  if ((await resolveOrUndefined(ctx.repo.gitdir, pushedRef(remote.name))) === local) return { ...base, status: "up-to-date", oid: local, ms: ms() };
  try {
    return await withRepoLock(ctx.repo.gitdir, async () => {
      try {
        const outcome = await pushLocked(remote, ctx, log);
        const done = { ...base, ...outcome, ms: ms() };
        if (done.status === "pushed") log.info({ oid: done.oid, commits: done.commits, rebuilt: done.rebuilt, ms: done.ms }, "status pushed");
        return done;
      } catch (e) {
        const error = toProblem(e);
        const pending = await pendingFor(ctx.repo, remote.name).catch(() => -1);
        log.warn({ code: error.code, data: error.data, pending }, "status push failed");
        return { ...base, status: "failed" as const, error, pending, ms: ms() };
      }
    }, log);
  } catch (e) {
    // Only taking the lock throws out of withRepoLock: another process holds the repository.
    const error = toProblem(e);
    log.warn({ code: error.code }, "status push skipped: repository locked");
    return { ...base, status: "failed", error, pending: -1, ms: ms() };
  }
}

type Pushed =
  | { readonly status: "pushed"; readonly oid: string; readonly commits: number; readonly rebuilt: boolean }
  | { readonly status: "up-to-date"; readonly oid: string }
  | { readonly status: "nothing" };

/** The push for one remote, under the lock. Throws STATUS_PUSH, STATUS_PUSH_DENIED, STATUS_STATE, STATUS_SIGN. */
async function pushLocked(remote: RemoteSpec, ctx: PushContext, log: Logger): Promise<Pushed> {
  const { repo } = ctx;
  const local = await resolveOrUndefined(repo.gitdir, statusRef(repo.node));
  if (local === undefined) return { status: "nothing" };
  const marker = await resolveOrUndefined(repo.gitdir, pushedRef(remote.name));
  if (marker === local) return { status: "up-to-date", oid: local };

  // A remote on the local line takes the local tip; one on another line its reports rebuilt.
  let outgoing = local;
  let rebuilt = false;
  if (marker !== undefined && !(await isAncestorOrSelf(repo, marker, local))) {
    const plan = await rebuildFor(local, marker, ctx);
    if (plan === undefined) return { status: "up-to-date", oid: marker };
    outgoing = plan.outgoing;
    rebuilt = true;
  }

  const first = await pushOnce(remote, outgoing, ctx);
  if (first.result !== "moved") {
    await setMarker(repo, remote.name, outgoing);
    if (rebuilt) await adoptIfAlone(remote, local, marker, outgoing, ctx, log);
    if (first.result === "current") return { status: "up-to-date", oid: outgoing };
    return { status: "pushed", oid: outgoing, commits: await countAhead(repo, outgoing, first.had), rebuilt };
  }

  // The remote's branch moved: take its tip as what it has, and rebuild on it.
  log.info({ marker, local }, "remote status branch moved; rebuilding on its tip");
  const tip = await fetchStatusTip(remote, ctx, log);
  if (tip === undefined) {
    throw new StewardError("STATUS_PUSH", `remote ${remote.name} refused a fast-forward but has no status branch`, { data: { remote: remote.name }, hint: "the branch was deleted while pushing; retried at the next run", retry: "transient" });
  }
  await setMarker(repo, remote.name, tip);
  const plan = await rebuildFor(local, tip, ctx);
  if (plan === undefined) return { status: "up-to-date", oid: tip };
  const second = await pushOnce(remote, plan.outgoing, ctx);
  if (second.result === "moved") {
    throw new StewardError("STATUS_PUSH", `the status branch on ${remote.name} moved again while pushing`, { data: { remote: remote.name }, hint: "something else writes this node's status branch; retried at the next run", retry: "transient" });
  }
  await setMarker(repo, remote.name, plan.outgoing);
  await adoptIfAlone(remote, local, tip, plan.outgoing, ctx, log);
  return second.result === "current" ? { status: "up-to-date", oid: plan.outgoing } : { status: "pushed", oid: plan.outgoing, commits: plan.commits, rebuilt: true };
}

/**
 * rebuildFor rebuilds, on `onto` (what the remote has), this node's reports on the local
 * branch that the remote lacks. Returns undefined when the remote lacks none. Writes objects.
 */
async function rebuildFor(local: string, onto: string, ctx: PushContext): Promise<{ outgoing: string; commits: number } | undefined> {
  const unsent = await unsentCommits(ctx.repo, local, onto);
  if (unsent.commits.length === 0) return undefined;
  const outgoing = await rebuildCommits(ctx.repo, unsent.commits, onto, ctx.signer);
  return outgoing === undefined ? undefined : { outgoing, commits: unsent.commits.length };
}

/**
 * adoptIfAlone moves the local branch onto the rebuilt commits a remote has just accepted when
 * no other remote has any of the commits they replace: those were then on no remote, and the
 * next report builds on what the remote has instead of being rebuilt each time. The branch is
 * left alone when it moved meanwhile (a report written since the rebuild was planned).
 */
async function adoptIfAlone(remote: RemoteSpec, local: string, base: string | undefined, rebuilt: string, ctx: PushContext, log: Logger): Promise<void> {
  const { repo } = ctx;
  if (base === undefined) return;
  const unsent = await unsentCommits(repo, local, base);
  const replaced = new Set(unsent.above);
  for (const [name, marker] of await readPushedMarkers(repo)) {
    if (name === remote.name) continue;
    if (replaced.has(marker)) return;
  }
  if ((await resolveOrUndefined(repo.gitdir, statusRef(repo.node))) !== local) return;
  try {
    await git.writeRef({ fs: repo.fs ?? repoFs, gitdir: repo.gitdir, ref: statusRef(repo.node), value: rebuilt, force: true });
  } catch (e) {
    throw stateError(e, "moving the status branch onto the rebuilt commits");
  }
  log.info({ from: local, to: rebuilt }, "status branch follows the remote's line");
}

/**
 * pushOnce pushes `oid` to the remote's status branch, never forced. Returns `pushed`,
 * `current` (the remote's branch is already there; nothing is sent) or `moved` (not a
 * fast-forward of the remote's branch), and what the remote's branch was (`had`; undefined
 * when it had none). Throws STATUS_PUSH (transient: unreachable, timed out, broken answer)
 * and STATUS_PUSH_DENIED (stalled: authentication, permission, a hook that declined, no such
 * repository).
 */
async function pushOnce(remote: RemoteSpec, oid: string, ctx: PushContext): Promise<{ result: "pushed" | "current" | "moved"; had: string | undefined }> {
  const { repo } = ctx;
  let current = false;
  let had: string | undefined;
  // isomorphic-git pushes a ref, not an oid: the local branch or rebuilt commits alike.
  const ref = outgoingRef(remote.name);
  try {
    await git.writeRef({ fs: repo.fs ?? repoFs, gitdir: repo.gitdir, ref, value: oid, force: true });
  } catch (e) {
    throw stateError(e, "preparing the push");
  }
  const transport = createGitHttp([remote], { timeoutMs: ctx.timeoutMs, log: ctx.log });
  try {
    await git.push({
      fs: repo.fs ?? repoFs,
      http: transport.http,
      gitdir: repo.gitdir,
      cache: repo.cache,
      url: bridgeUrl(remote),
      remote: remote.name,
      ref,
      remoteRef: statusRef(repo.node),
      force: false,
      onPrePush: ({ localRef, remoteRef }) => {
        had = /^0{40}$/.test(remoteRef.oid) ? undefined : remoteRef.oid;
        current = localRef.oid === remoteRef.oid;
        return !current;
      },
    });
    return { result: "pushed", had };
  } catch (e) {
    if (current) return { result: "current", had };
    if (isMoved(e)) return { result: "moved", had };
    throw pushError(remote, e);
  } finally {
    await transport.close();
  }
}

/**
 * fetchStatusTip fetches the remote's status branch into `refs/remotes/<remote>/status/<node>`
 * (with every check a fetch of the desired state gets) and returns its tip; undefined when the
 * remote has no such branch. Throws STATUS_PUSH when the fetch fails.
 */
async function fetchStatusTip(remote: RemoteSpec, ctx: PushContext, log: Logger): Promise<string | undefined> {
  const { repo } = ctx;
  const known = [await resolveOrUndefined(repo.gitdir, statusRef(repo.node)), ...(await readPushedMarkers(repo)).values()].filter((o): o is string => o !== undefined);
  const options: FetchOptions = { gitdir: repo.gitdir, cache: repo.cache, branch: statusBranch(repo.node), timeoutMs: ctx.timeoutMs, complete: [...new Set(known)], log };
  const outcome: FetchOutcome = ctx.isolate === undefined ? await fetchRemote(remote, options) : await ctx.isolate.fetch(remote, options);
  if (outcome.ok) return outcome.tip;
  if (outcome.error.code === "SOURCE_NOT_FOUND" && outcome.error.data["branch"] !== undefined) return undefined;
  if (outcome.error.code === "SOURCE_EMPTY") return undefined;
  throw pushError(remote, outcome.error);
}

/**
 * adoptRemoteStatus is for a node without a local status branch (its first report, or its
 * state was lost): it fetches every remote's status branch, records each tip as that remote's
 * marker, and starts the local branch at the newest tip (by committer date; the first remote
 * wins a tie), so the first report continues the history the remotes have. Returns the tip
 * adopted, or undefined when no remote had a branch or answered (the first report is then a
 * root commit, rebuilt on a remote's history if one shows up later). Call under the lock.
 * Throws STATUS_STATE; a remote that fails is skipped and logged.
 */
export async function adoptRemoteStatus(remotes: readonly RemoteSpec[], ctx: PushContext): Promise<string | undefined> {
  const { repo } = ctx;
  let best: { oid: string; at: number } | undefined;
  for (const remote of remotes) {
    const log = ctx.log.child({ remote: remote.name });
    let tip: string | undefined;
    try {
      tip = await fetchStatusTip(remote, ctx, log);
    } catch (e) {
      log.warn({ code: toProblem(e).code }, "remote status branch not fetched");
      continue;
    }
    if (tip === undefined) continue;
    await setMarker(repo, remote.name, tip);
    const at = (await readStatusCommit(repo, tip)).committer.timestamp;
    if (best === undefined || at > best.at) best = { oid: tip, at };
  }
  if (best === undefined) return undefined;
  try {
    await git.writeRef({ fs: repo.fs ?? repoFs, gitdir: repo.gitdir, ref: statusRef(repo.node), value: best.oid, force: true });
  } catch (e) {
    throw stateError(e, "starting the status branch");
  }
  ctx.log.info({ oid: best.oid }, "status branch continues the remotes' history");
  return best.oid;
}

/**
 * pendingFor counts the reports of the local branch a remote still lacks (at most
 * MAX_STATUS_WALK). Throws STATUS_STATE.
 */
export async function pendingFor(repo: StatusRepo, remote: string): Promise<number> {
  const local = await resolveOrUndefined(repo.gitdir, statusRef(repo.node));
  if (local === undefined) return 0;
  const marker = await resolveOrUndefined(repo.gitdir, pushedRef(remote));
  if (marker !== undefined && !(await isAncestorOrSelf(repo, marker, local))) return (await unsentCommits(repo, local, marker)).commits.length;
  return countAhead(repo, local, marker);
}

/** The number of this node's reports from `tip` down to (not including) `stop` on the first-parent chain. */
async function countAhead(repo: StatusRepo, tip: string, stop: string | undefined): Promise<number> {
  let n = 0;
  let walked = 0;
  for (let at: string | undefined = tip; at !== undefined && at !== stop && walked < MAX_STATUS_WALK; walked++) {
    const c = await readStatusCommit(repo, at);
    if (c.kind !== undefined) n++;
    at = c.parents[0];
  }
  return n;
}

async function setMarker(repo: StatusRepo, remote: string, oid: string): Promise<void> {
  try {
    await git.writeRef({ fs: repo.fs ?? repoFs, gitdir: repo.gitdir, ref: pushedRef(remote), value: oid, force: true });
  } catch (e) {
    throw stateError(e, "recording what a remote accepted");
  }
}

/** The ref a push sends from (isomorphic-git pushes a ref, not an oid). */
function outgoingRef(remote: string): string {
  return `refs/steward/outgoing/${remote}`;
}

/** The remote's branch is not an ancestor of what is pushed: it moved (client check, or the server's on update). */
function isMoved(e: unknown): boolean {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === "PushRejectedError") return (e as { data?: { reason?: unknown } }).data?.reason === "not-fast-forward";
  if (code === "GitPushError") return /non-fast-forward|fetch first|failed to lock|stale info|cannot lock ref|failed to update ref/i.test(refErrors(e));
  return false;
}

function refErrors(e: unknown): string {
  const refs = (e as { data?: { result?: { refs?: Record<string, { ok: boolean; error?: string }> } } }).data?.result?.refs ?? {};
  return Object.values(refs)
    .filter((r) => !r.ok)
    .map((r) => r.error ?? "")
    .join("; ");
}

const DENIED_CODES: ReadonlySet<string> = new Set(["SOURCE_AUTH", "SOURCE_NOT_FOUND"]);

/**
 * pushError turns what a push or its fetch threw into STATUS_PUSH (transient) or
 * STATUS_PUSH_DENIED (stalled), with the transport's code in `data.cause`; local failures
 * (STATUS_STATE, STATUS_SIGN, SOURCE_STATE, the disk) keep or get their own code.
 */
function pushError(remote: RemoteSpec, e: unknown): StewardError {
  const data = { remote: remote.name };
  if (isStewardError(e)) {
    if (e.code.startsWith("STATUS_")) return e;
    if (e.code === "SOURCE_STATE") return stateError(e.cause ?? e, `pushing to ${remote.name}`);
    if (DENIED_CODES.has(e.code)) {
      return new StewardError("STATUS_PUSH_DENIED", `remote ${remote.name} refused the status push: ${e.message}`, {
        data: { ...data, cause: e.code, ...e.data },
        hint: e.code === "SOURCE_AUTH" ? "the server must let this node's key push refs/heads/status/<node> (for HTTP: an authenticated user with receive-pack enabled)" : "check the repository path in the remote's url:",
        retry: "stalled",
        cause: e,
      });
    }
    return new StewardError("STATUS_PUSH", `status not pushed to ${remote.name}: ${e.message}`, { data: { ...data, cause: e.code, ...e.data }, hint: e.hint ?? "retried at the next run; the reports stay queued", retry: "transient", cause: e });
  }
  const code = (e as { code?: unknown } | null)?.code;
  const message = e instanceof Error ? e.message : String(e);
  if (code === "GitPushError") {
    return new StewardError("STATUS_PUSH_DENIED", `remote ${remote.name} declined the status push: ${refErrors(e) || message}`, {
      data: { ...data, cause: code, refs: refErrors(e) },
      hint: "the server's hook or settings refuse it: a node may push only its own refs/heads/status/<node>, fast-forward, signed with its key",
      retry: "stalled",
      cause: e,
    });
  }
  if (code === "HttpError") {
    const status = (e as { data?: { statusCode?: unknown } }).data?.statusCode;
    if (status === 401 || status === 403 || status === 404) {
      return new StewardError("STATUS_PUSH_DENIED", `remote ${remote.name} refused the status push (HTTP ${String(status)})`, { data: { ...data, status }, hint: "pushing over HTTP needs an authenticated user and receive-pack enabled on the server", retry: "stalled", cause: e });
    }
  }
  const local = typeof code === "string" && typeof (e as { syscall?: unknown }).syscall === "string";
  if (local) return stateError(e, `pushing to ${remote.name}`);
  return new StewardError("STATUS_PUSH", `status not pushed to ${remote.name}: ${message}`, { data: { ...data, ...(typeof code === "string" ? { cause: code } : {}) }, hint: "retried at the next run; the reports stay queued", retry: "transient", cause: e });
}

function toProblem(e: unknown): StatusProblem {
  const s = isStewardError(e) ? e : stateError(e, "pushing the status branch");
  return { code: s.code, message: s.message, data: s.data, ...(s.hint === undefined ? {} : { hint: s.hint }), retry: s.retry };
}
