/**
 * Fetching the tracked branch of each remote into `refs/remotes/<remote>/<branch>` of the
 * node's bare repository, with isomorphic-git through the http seam (http-transport.ts).
 *
 * The local remote-tracking ref is passed as `ref`, so its tip is the "have" sent to the
 * server and a no-op fetch transfers no pack (docs/decisions.md, "isomorphic-git behind its http seam"). The branch is fetched by name and
 * the remote's HEAD plays no part: isomorphic-git sees the advertisement narrowed to that
 * branch (advertisement.ts). isomorphic-git moves that ref
 * before it has received the pack and never checks the pack's checksum, so after every fetch
 * this module checks the pack trailer, that the tip is a commit and that every new commit is
 * complete (its history, trees and blobs); on any failure it puts the ref back where it was
 * and removes the pack this fetch wrote, so a broken or hostile transfer cannot poison the
 * next fetch's "have", be mistaken for a tip, or make a later trust lookup miss an object.
 */
import { createReadStream } from "node:fs";
import { rm, stat } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join } from "node:path";
import git from "isomorphic-git";
import { StewardError } from "../errors.js";
import { localStateError } from "./git-errors.js";
import type { Logger } from "../log.js";
import type { PackLimits } from "./pack-guard.js";
import { createGitHttp } from "./http-transport.js";
import { bridgeUrl, type RemoteKind, type RemoteSpec } from "./remotes.js";
import { repoFs, repoFsRecording, resolveOrUndefined, trackingRef, gitFs } from "./repo.js";

export { resolveOrUndefined, trackingRef };

/** What fetching one remote gave. `previous` is the tracking ref before the fetch. */
export type FetchOutcome =
  | { readonly remote: string; readonly kind: RemoteKind; readonly ok: true; readonly tip: string; readonly previous: string | undefined; readonly packBytes: number; readonly ms: number }
  | { readonly remote: string; readonly kind: RemoteKind; readonly ok: false; readonly error: StewardError; readonly ms: number };

export interface FetchOptions {
  readonly gitdir: string;
  readonly cache: object;
  readonly branch: string;
  readonly timeoutMs: number;
  readonly maxResponseBytes?: number;
  /** How far a fetched pack's objects may inflate (default pack-guard.ts DEFAULT_PACK_LIMITS). */
  readonly packLimits?: PackLimits;
  /**
   * Commits whose history is known to be complete in the repository (e.g. the last applied
   * revision); the connectivity check stops at them and at every tracking ref's old tip.
   */
  readonly complete?: readonly string[];
  /** The most new commits the completeness check walks (objects: ten times as many). */
  readonly maxWalk?: number;
  readonly log?: Logger;
}

const MAX_CONNECTIVITY_WALK = 200_000;
const OBJECTS_PER_COMMIT = 10;

/**
 * fetchRemote fetches one remote's branch into its tracking ref and returns the outcome:
 * `ok` with the tip, or `ok: false` with SOURCE_TIMEOUT, SOURCE_AUTH, SOURCE_NOT_FOUND (no such
 * repository, or no such branch: then `data.branches` names some it has), SOURCE_EMPTY (the repository has no refs), SOURCE_PROTOCOL (garbage,
 * truncated or inconsistent answer) or SOURCE_FETCH_FAILED (unreachable). On failure the
 * tracking ref is restored and the pack (and index) this fetch wrote is removed, never
 * another. A server that leaves out any object of a new commit (a parent, tree or blob), or
 * declares commits shallow, gets SOURCE_PROTOCOL. Writes a pack into the repository when there
 * was something new. Call under the repo lock.
 */
export async function fetchRemote(remote: RemoteSpec, options: FetchOptions): Promise<FetchOutcome> {
  const started = performance.now();
  const log = options.log?.child({ remote: remote.name });
  const { gitdir, cache, branch } = options;
  const ref = trackingRef(remote.name, branch);
  const previous = await resolveOrUndefined(gitdir, ref);
  const written: string[] = [];
  const transport = createGitHttp([remote], {
    branch,
    timeoutMs: options.timeoutMs,
    ...(options.maxResponseBytes === undefined ? {} : { maxResponseBytes: options.maxResponseBytes }),
    ...(options.packLimits === undefined ? {} : { packLimits: options.packLimits }),
    ...(log === undefined ? {} : { log }),
  });
  try {
    const res = await git.fetch({
      fs: repoFsRecording((path) => written.push(path)),
      http: transport.http,
      gitdir,
      cache,
      remote: remote.name,
      url: bridgeUrl(remote),
      singleBranch: true,
      ref,
      remoteRef: `refs/heads/${branch}`,
      tags: false,
    });
    if (res.fetchHead === null || res.fetchHead === undefined) {
      throw new StewardError("SOURCE_EMPTY", `remote ${remote.name} has no branches`, { data: { remote: remote.name, branch }, hint: "push the cluster repo to this remote", retry: "stalled" });
    }
    // `packfile` is set when a pack was written; isomorphic-git's typings omit it.
    const packfile = (res as { packfile?: string }).packfile;
    const packBytes = packfile === undefined ? 0 : await checkPack(gitdir, packfile, remote.name);
    const tip = res.fetchHead;
    await checkComplete(tip, new Set([...(options.complete ?? []), ...(previous === undefined ? [] : [previous])]), { gitdir, cache, remote: remote.name, maxCommits: options.maxWalk ?? MAX_CONNECTIVITY_WALK });
    if ((await resolveOrUndefined(gitdir, ref)) !== tip) await git.writeRef({ fs: repoFs, gitdir, ref, value: tip, force: true });
    const ms = performance.now() - started;
    log?.info({ tip, previous, packBytes, ms: Math.round(ms) }, "remote fetched");
    return { remote: remote.name, kind: remote.target.kind, ok: true, tip, previous, packBytes, ms };
  } catch (e) {
    const error = classify(e, remote, branch);
    await restoreRef(gitdir, ref, previous);
    // A failed transfer may have left a pack (with or without its index): nothing may use it.
    // Only this fetch's: another process's pack may appear meanwhile (repo.lock should stop that).
    for (const f of written) await rm(f, { force: true });
    const ms = performance.now() - started;
    log?.warn({ code: error.code, data: error.data, ms: Math.round(ms) }, "remote fetch failed");
    return { remote: remote.name, kind: remote.target.kind, ok: false, error, ms };
  } finally {
    await transport.close();
  }
}

/** The pack trailer is the SHA-1 of everything before it; isomorphic-git does not check it. */
// The pack guard checked the trailer of the bytes received; this checks the bytes stored, as a
// file read in chunks, so that it costs no second copy of the pack in memory.
async function checkPack(gitdir: string, packfile: string, remote: string): Promise<number> {
  const path = join(gitdir, packfile);
  const size = (await stat(path)).size;
  const hash = createHash("sha1");
  const trailer = Buffer.alloc(20);
  let at = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    const bodyPart = Math.max(0, Math.min(chunk.length, size - 20 - at));
    hash.update(chunk.subarray(0, bodyPart));
    if (bodyPart < chunk.length) chunk.copy(trailer, Math.max(0, at + bodyPart - (size - 20)), bodyPart);
    at += chunk.length;
  }
  if (size < 32 || !hash.digest().equals(trailer)) {
    throw new StewardError("SOURCE_PROTOCOL", `remote ${remote} sent a corrupt pack`, { data: { remote, bytes: size }, hint: "the transfer was cut or altered; retried later", retry: "transient" });
  }
  return size;
}

interface CompletenessInput {
  readonly gitdir: string;
  readonly cache: object;
  readonly remote: string;
  readonly maxCommits: number;
}

/**
 * checkComplete makes sure the tip is a commit and every commit reachable from it down to the
 * commits known complete is present with its whole tree (subtrees and blobs): a server may
 * claim a commit and leave out its parents, or a tree the trust lookup later needs. Trees of
 * the known-complete commits are not walked again. Throws SOURCE_PROTOCOL naming the first
 * missing or mistyped object, or when more than `maxCommits` new commits (or ten times as many
 * objects) would have to be checked.
 */
async function checkComplete(tip: string, complete: ReadonlySet<string>, input: CompletenessInput): Promise<void> {
  const { gitdir, cache, remote, maxCommits } = input;
  const maxObjects = maxCommits * OBJECTS_PER_COMMIT;
  let objects = 0;
  const count = (): void => {
    if (++objects > maxObjects) throw tooMuch(remote, "objects", maxObjects);
  };
  const missing = (oid: string, what: string, e?: unknown): StewardError =>
    new StewardError("SOURCE_PROTOCOL", `remote ${remote} sent incomplete history`, {
      data: { remote, missing: oid, what, ...(e === undefined ? {} : { error: e instanceof Error ? e.message : String(e) }) },
      hint: "the server's answer lacks objects; retried later",
      retry: "transient",
      ...(e === undefined ? {} : { cause: e }),
    });

  const seen = new Set<string>();
  const roots: string[] = [];
  const queue = [tip];
  while (queue.length > 0) {
    const oid = queue.pop() as string;
    if (seen.has(oid) || complete.has(oid)) continue;
    if (seen.size >= maxCommits) throw tooMuch(remote, "commits", maxCommits);
    seen.add(oid);
    count();
    let commit: { tree: string; parent: string[] };
    try {
      commit = (await git.readCommit({ fs: gitFs, gitdir, oid, cache })).commit;
    } catch (e) {
      throw missing(oid, "commit", e);
    }
    roots.push(commit.tree);
    queue.push(...commit.parent);
  }
  if (roots.length === 0) return;

  // Trees of commits known complete: checked when they were fetched. One that cannot be read
  // (a repository from before this check) is simply not known, so new commits sharing it fail.
  const known = new Set<string>();
  for (const c of complete) {
    let root: string;
    try {
      root = (await git.readCommit({ fs: gitFs, gitdir, oid: c, cache })).commit.tree;
    } catch {
      continue;
    }
    const stack = [root];
    while (stack.length > 0) {
      const t = stack.pop() as string;
      if (known.has(t)) continue;
      count();
      let entries: TreeEntry[];
      try {
        entries = await readTreeObject(t, gitdir, cache);
      } catch {
        continue;
      }
      known.add(t);
      for (const e of entries) if (e.type === "tree") stack.push(e.oid);
    }
  }

  const blobs = new Set<string>();
  const stack = [...roots];
  while (stack.length > 0) {
    const t = stack.pop() as string;
    if (known.has(t)) continue;
    known.add(t);
    count();
    let entries: TreeEntry[];
    try {
      entries = await readTreeObject(t, gitdir, cache);
    } catch (e) {
      throw missing(t, "tree", e);
    }
    for (const e of entries) {
      if (e.type === "tree") stack.push(e.oid);
      else if (e.type === "blob" && !blobs.has(e.oid)) {
        blobs.add(e.oid);
        count();
        let type: string;
        try {
          type = (await git.readObject({ fs: gitFs, gitdir, oid: e.oid, format: "content", cache })).type;
        } catch (err) {
          throw missing(e.oid, "blob", err);
        }
        if (type !== "blob") throw missing(e.oid, "blob");
      }
      // Submodule entries (type "commit") name commits of another repository.
    }
  }
}

interface TreeEntry {
  readonly type: string;
  readonly oid: string;
}

/** readTreeObject reads a tree object itself; unlike readTree it does not peel a commit. */
async function readTreeObject(oid: string, gitdir: string, cache: object): Promise<TreeEntry[]> {
  const r = await git.readObject({ fs: gitFs, gitdir, oid, format: "parsed", cache });
  if (r.type !== "tree") throw new Error(`object ${oid} is a ${r.type}, not a tree`);
  return r.object as unknown as TreeEntry[];
}

function tooMuch(remote: string, what: string, limit: number): StewardError {
  return new StewardError("SOURCE_PROTOCOL", `remote ${remote} sent more new history than the agent checks`, {
    data: { remote, what, limit },
    hint: "fetch fewer commits at once, or squash the history; a cluster repo is small",
    retry: "stalled",
  });
}

function classify(e: unknown, remote: RemoteSpec, branch: string): StewardError {
  if (e instanceof StewardError) return e;
  const local = localStateError(e, `fetching ${remote.name}`);
  if (local !== undefined) return local;
  const code = typeof e === "object" && e !== null ? (e as { code?: unknown }).code : undefined;
  const message = e instanceof Error ? e.message : String(e);
  const data = { remote: remote.name, error: message, ...(typeof code === "string" ? { gitError: code } : {}) };
  if (code === "NotFoundError") {
    const what = (e as { data?: { what?: unknown } }).data?.what;
    if (what === `refs/heads/${branch}` || what === branch) {
      return new StewardError("SOURCE_NOT_FOUND", `remote ${remote.name} has no branch ${branch}`, { data: { ...data, branch }, hint: "push the branch, or set branch: in the agent configuration", retry: "stalled" });
    }
  }
  if (code === "HttpError") {
    const status = (e as { data?: { statusCode?: unknown } }).data?.statusCode;
    if (status === 401 || status === 403) return new StewardError("SOURCE_AUTH", `remote ${remote.name} refused access`, { data, retry: "stalled" });
  }
  // Anything else isomorphic-git throws here comes from parsing what the server sent.
  return new StewardError("SOURCE_PROTOCOL", `remote ${remote.name} sent an answer that is not valid git protocol`, { data, hint: "the server or something between is broken; retried later", retry: "transient", cause: e });
}

async function restoreRef(gitdir: string, ref: string, previous: string | undefined): Promise<void> {
  try {
    if (previous === undefined) {
      if ((await resolveOrUndefined(gitdir, ref)) !== undefined) await git.deleteRef({ fs: repoFs, gitdir, ref });
    } else if ((await resolveOrUndefined(gitdir, ref)) !== previous) {
      await git.writeRef({ fs: repoFs, gitdir, ref, value: previous, force: true });
    }
  } catch {
    // Nothing better to do: the next fetch re-establishes the ref.
  }
}
