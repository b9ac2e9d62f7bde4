/**
 * Fetching the tracked branch of each remote into `refs/remotes/<remote>/<branch>` of the
 * node's bare repository, with isomorphic-git through the http seam (http-transport.ts).
 *
 * The local remote-tracking ref is passed as `ref`, so its tip is the "have" sent to the
 * server and a no-op fetch transfers no pack (git.md §1.2). isomorphic-git moves that ref
 * before it has received the pack and never checks the pack's checksum, so after every fetch
 * this module checks the pack trailer, that the tip is a commit and that its history is
 * connected; on any failure it puts the ref back where it was, so a broken transfer cannot
 * poison the next fetch's "have" nor be mistaken for a tip.
 */
import fs from "node:fs";
import { readFile, readdir, rm } from "node:fs/promises";
import { createHash } from "node:crypto";
import { join } from "node:path";
import git from "isomorphic-git";
import { StewardError } from "../errors.js";
import type { Logger } from "../log.js";
import { createGitHttp } from "./http-transport.js";
import { bridgeUrl, type RemoteKind, type RemoteSpec } from "./remotes.js";
import { repoFs } from "./repo.js";

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
  /**
   * Commits whose history is known to be complete in the repository (e.g. the last applied
   * revision); the connectivity check stops at them and at every tracking ref's old tip.
   */
  readonly complete?: readonly string[];
  readonly log?: Logger;
}

const MAX_CONNECTIVITY_WALK = 200_000;

/** trackingRef names the local ref holding a remote's tip of the branch. */
export function trackingRef(remote: string, branch: string): string {
  return `refs/remotes/${remote}/${branch}`;
}

/**
 * fetchAll fetches every remote, one after the other in priority order, and returns one
 * outcome per remote. Never throws for a remote's failure: a dead remote is an outcome.
 * Call under the repo lock.
 */
export async function fetchAll(remotes: readonly RemoteSpec[], options: FetchOptions): Promise<FetchOutcome[]> {
  const complete = new Set(options.complete ?? []);
  for (const r of remotes) {
    const tip = await resolveOrUndefined(options.gitdir, trackingRef(r.name, options.branch));
    if (tip !== undefined) complete.add(tip);
  }
  const out: FetchOutcome[] = [];
  for (const remote of remotes) {
    const outcome = await fetchRemote(remote, { ...options, complete: [...complete] });
    if (outcome.ok) complete.add(outcome.tip);
    out.push(outcome);
  }
  return out;
}

/**
 * fetchRemote fetches one remote's branch into its tracking ref and returns the outcome:
 * `ok` with the tip, or `ok: false` with SOURCE_TIMEOUT, SOURCE_AUTH, SOURCE_NOT_FOUND (no such
 * repository or branch), SOURCE_EMPTY (the repository has no refs), SOURCE_PROTOCOL (garbage,
 * truncated or inconsistent answer) or SOURCE_FETCH_FAILED (unreachable). On failure the
 * tracking ref is restored. Writes a pack into the repository when there was something new.
 * Call under the repo lock.
 */
export async function fetchRemote(remote: RemoteSpec, options: FetchOptions): Promise<FetchOutcome> {
  const started = performance.now();
  const log = options.log?.child({ remote: remote.name });
  const { gitdir, cache, branch } = options;
  const ref = trackingRef(remote.name, branch);
  const previous = await resolveOrUndefined(gitdir, ref);
  const packsBefore = new Set(await listPacks(gitdir));
  const transport = createGitHttp([remote], { timeoutMs: options.timeoutMs, ...(options.maxResponseBytes === undefined ? {} : { maxResponseBytes: options.maxResponseBytes }), ...(log === undefined ? {} : { log }) });
  try {
    const res = await git.fetch({
      fs: repoFs,
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
    // `packfile` is set when a pack was written (git.md §1.2); the typings omit it.
    const packfile = (res as { packfile?: string }).packfile;
    const packBytes = packfile === undefined ? 0 : await checkPack(gitdir, packfile, remote.name);
    const tip = res.fetchHead;
    await checkConnected(tip, new Set([...(options.complete ?? []), ...(previous === undefined ? [] : [previous])]), gitdir, cache, remote.name);
    if ((await resolveOrUndefined(gitdir, ref)) !== tip) await git.writeRef({ fs: repoFs, gitdir, ref, value: tip, force: true });
    const ms = performance.now() - started;
    log?.info({ tip, previous, packBytes, ms: Math.round(ms) }, "remote fetched");
    return { remote: remote.name, kind: remote.target.kind, ok: true, tip, previous, packBytes, ms };
  } catch (e) {
    const error = classify(e, remote, branch);
    await restoreRef(gitdir, ref, previous);
    // A failed transfer may have left a pack (with or without its index): nothing may use it.
    for (const f of await listPacks(gitdir)) if (!packsBefore.has(f)) await rm(join(gitdir, "objects", "pack", f), { force: true });
    const ms = performance.now() - started;
    log?.warn({ code: error.code, data: error.data, ms: Math.round(ms) }, "remote fetch failed");
    return { remote: remote.name, kind: remote.target.kind, ok: false, error, ms };
  } finally {
    await transport.close();
  }
}

/** The pack trailer is the SHA-1 of everything before it; isomorphic-git does not check it. */
async function checkPack(gitdir: string, packfile: string, remote: string): Promise<number> {
  const bytes = await readFile(join(gitdir, packfile));
  const body = bytes.subarray(0, bytes.length - 20);
  const trailer = bytes.subarray(bytes.length - 20);
  if (bytes.length < 32 || !createHash("sha1").update(body).digest().equals(trailer)) {
    throw new StewardError("SOURCE_PROTOCOL", `remote ${remote} sent a corrupt pack`, { data: { remote, bytes: bytes.length }, hint: "the transfer was cut or altered; retried later", retry: "transient" });
  }
  return bytes.length;
}

/**
 * The tip must be a commit whose ancestors are all present, down to commits known complete:
 * a server may claim a commit and leave out its parents.
 */
async function checkConnected(tip: string, complete: ReadonlySet<string>, gitdir: string, cache: object, remote: string): Promise<void> {
  const seen = new Set<string>();
  const queue = [tip];
  while (queue.length > 0 && seen.size < MAX_CONNECTIVITY_WALK) {
    const oid = queue.pop() as string;
    if (seen.has(oid) || complete.has(oid)) continue;
    seen.add(oid);
    let parents: string[];
    try {
      parents = (await git.readCommit({ fs, gitdir, oid, cache })).commit.parent;
    } catch (e) {
      throw new StewardError("SOURCE_PROTOCOL", `remote ${remote} sent incomplete history`, { data: { remote, missing: oid, error: e instanceof Error ? e.message : String(e) }, hint: "the server's answer lacks commits; retried later", retry: "transient", cause: e });
    }
    queue.push(...parents);
  }
}

function classify(e: unknown, remote: RemoteSpec, branch: string): StewardError {
  if (e instanceof StewardError) return e;
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

async function listPacks(gitdir: string): Promise<string[]> {
  try {
    return await readdir(join(gitdir, "objects", "pack"));
  } catch {
    return [];
  }
}

/** resolveOrUndefined returns the oid a ref points at, or undefined when it does not exist. */
export async function resolveOrUndefined(gitdir: string, ref: string): Promise<string | undefined> {
  try {
    return await git.resolveRef({ fs, gitdir, ref });
  } catch {
    return undefined;
  }
}
