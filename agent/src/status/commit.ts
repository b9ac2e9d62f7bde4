/**
 * The node's status branch `refs/heads/status/<node>` in its bare repository
 * (`<state>/source/repo.git`): reading the tip and its document, writing a new document as a
 * signed commit under the squash rule (squash.ts), and rebuilding commits on another parent.
 *
 * A status commit holds `status/<node>.yaml` and, when the run observed the host,
 * `status/<node>.observed.json` (observed.ts); its author and committer are
 * `<node> agent <<node>@steward>`; its message is the summary line and a `Steward-Report:
 * change|heartbeat` trailer; it is signed with the node's SSH key (sign.ts). Commits without
 * that committer and trailer (an admin's note pushed to the branch) are *foreign*: they are
 * kept in history but never rebuilt or re-signed.
 *
 * Every function here runs under the repository lock (repo.ts withRepoLock), taken by the
 * caller. Objects are written first and the ref last, atomically (repoFs), so a failure (a
 * full disk, a key that does not sign) leaves the branch and every marker where they were.
 */
import git, { type CommitObject } from "isomorphic-git";
import { StewardError, isStewardError } from "../errors.js";
import { repoFs, resolveOrUndefined } from "../source/repo.js";
import { parseStatus, renderStatus, summaryLine, type StatusDocument } from "./document.js";
import { MAX_OBSERVED_BYTES, observedFile } from "./observed.js";
import type { Signer } from "./sign.js";
import { commitMessage, decideWrite, reportKindOf, type ReportKind, type TipFacts } from "./squash.js";

/** The branch a node reports on. */
export function statusBranch(node: string): string {
  return `status/${node}`;
}

export function statusRef(node: string): string {
  return `refs/heads/${statusBranch(node)}`;
}

/** The path of the document inside a status commit. */
export function statusFile(node: string): string {
  return `status/${node}.yaml`;
}

const PUSHED_DIR = "refs/steward/pushed";

/**
 * pushedRef names the marker of what a remote has accepted: the status commit it last took
 * from this node (or was found to have). The local branch holds every report; the markers say
 * which of them each remote still lacks.
 */
export function pushedRef(remote: string): string {
  return `${PUSHED_DIR}/${remote}`;
}

/** The bare repository and the node whose branch is meant. */
export interface StatusRepo {
  readonly gitdir: string;
  readonly node: string;
  /** isomorphic-git's object cache. */
  readonly cache: object;
  /** What isomorphic-git writes through: repoFs (atomic writes); tests pass one that fails. */
  readonly fs?: typeof repoFs;
}

/** One commit of a status branch, as far as reporting needs it. */
export interface StatusCommit {
  readonly oid: string;
  readonly parents: readonly string[];
  readonly tree: string;
  readonly message: string;
  readonly author: CommitObject["author"];
  readonly committer: CommitObject["committer"];
  /** This node's report (`change` or `heartbeat`), or undefined for a foreign commit. */
  readonly kind: ReportKind | undefined;
}

/** What writeStatus did: a new commit, the tip replaced (a heartbeat squashed), or nothing (a heartbeat not due). */
export interface WriteResult {
  readonly action: "committed" | "replaced" | "skipped";
  readonly report: ReportKind;
  /** The branch's tip afterwards; undefined only when a skip left no branch (never in practice). */
  readonly oid: string | undefined;
  /** The tip before. */
  readonly previous: string | undefined;
}

export interface WriteOptions {
  readonly signer: Signer;
  /** The text of the observed state to write next to the document (observed.ts renderObserved); none when absent. */
  readonly observed?: string;
  /** The report's time (Unix ms): the commit's dates. */
  readonly nowMs: number;
  readonly heartbeatIntervalMs: number;
}

/** How far a walk along a status branch goes; squashing keeps a branch far shorter. */
export const MAX_STATUS_WALK = 20_000;
/** How many foreign commits a look for this node's newest report passes over. */
const MAX_FOREIGN_RUN = 64;

/** identity is the author and committer of a node's status commits at a time (Unix ms). */
export function identity(node: string, nowMs: number): { name: string; email: string; timestamp: number; timezoneOffset: number } {
  return { name: `${node} agent`, email: `${node}@steward`, timestamp: Math.floor(nowMs / 1000), timezoneOffset: 0 };
}

/**
 * readStatusCommit reads one commit of a status branch. Throws STATUS_STATE when the object
 * is missing or not a commit.
 */
export async function readStatusCommit(repo: StatusRepo, oid: string): Promise<StatusCommit> {
  try {
    const { commit } = await git.readCommit({ fs: repo.fs ?? repoFs, gitdir: repo.gitdir, oid, cache: repo.cache });
    const ours = commit.committer.email === `${repo.node}@steward`;
    return { oid, parents: commit.parent, tree: commit.tree, message: commit.message, author: commit.author, committer: commit.committer, kind: ours ? reportKindOf(commit.message) : undefined };
  } catch (e) {
    throw stateError(e, "reading a status commit");
  }
}

/**
 * readStatusDocument reads and parses the document of a status commit. Returns undefined when
 * the commit is foreign, lacks the file, or the file is not a status document.
 */
export async function readStatusDocument(repo: StatusRepo, commit: StatusCommit): Promise<StatusDocument | undefined> {
  if (commit.kind === undefined) return undefined;
  let blob: Uint8Array;
  try {
    blob = (await git.readBlob({ fs: repo.fs ?? repoFs, gitdir: repo.gitdir, oid: commit.oid, filepath: statusFile(repo.node), cache: repo.cache })).blob;
  } catch {
    return undefined;
  }
  const doc = parseStatus(Buffer.from(blob).toString("utf8"));
  return doc?.node === repo.node ? doc : undefined;
}

/**
 * readStatusObserved reads the text of a status commit's observed state; undefined when the
 * commit is foreign, has none, or it is too large to be one.
 */
export async function readStatusObserved(repo: StatusRepo, commit: StatusCommit): Promise<string | undefined> {
  if (commit.kind === undefined) return undefined;
  try {
    const { blob } = await git.readBlob({ fs: repo.fs ?? repoFs, gitdir: repo.gitdir, oid: commit.oid, filepath: observedFile(repo.node), cache: repo.cache });
    return blob.length > MAX_OBSERVED_BYTES ? undefined : Buffer.from(blob).toString("utf8");
  } catch {
    return undefined;
  }
}

/** A status branch's tip, its document and the text of its observed state. */
export interface StatusTip {
  readonly commit: StatusCommit;
  readonly document: StatusDocument | undefined;
  readonly observed: string | undefined;
}

/**
 * The tip last read or written, per object cache (the agent keeps one cache across runs): a run
 * that finds the branch where it left it need not read and parse the document again.
 */
const lastTip = new WeakMap<object, StatusTip & { readonly gitdir: string }>();

/** The local branch's tip and its document, or undefined when there is no branch yet. Throws STATUS_STATE. */
export async function readStatusTip(repo: StatusRepo): Promise<StatusTip | undefined> {
  const oid = await resolveOrUndefined(repo.gitdir, statusRef(repo.node));
  if (oid === undefined) return undefined;
  const known = lastTip.get(repo.cache);
  if (known !== undefined && known.commit.oid === oid && known.gitdir === repo.gitdir) return known;
  const commit = await readStatusCommit(repo, oid);
  const tip = { commit, document: await readStatusDocument(repo, commit), observed: await readStatusObserved(repo, commit) };
  lastTip.set(repo.cache, { ...tip, gitdir: repo.gitdir });
  return tip;
}

/**
 * readPreviousDocument is the document the next report continues (for `since` and the facts a
 * run may not learn): the tip's, or when the tip is foreign (an admin's note on top) that of
 * the newest report below it. Undefined when there is none. Throws STATUS_STATE.
 */
export async function readPreviousDocument(repo: StatusRepo): Promise<StatusDocument | undefined> {
  const tip = await readStatusTip(repo);
  if (tip === undefined || tip.document !== undefined) return tip?.document;
  const newest = await newestReport(repo, tip.commit.oid);
  return newest === undefined ? undefined : readStatusDocument(repo, newest);
}

/** readPushedMarkers lists every remote's marker (pushedRef), by remote name. Throws STATUS_STATE. */
export async function readPushedMarkers(repo: StatusRepo): Promise<Map<string, string>> {
  const markers = new Map<string, string>();
  let names: string[];
  try {
    names = await git.listRefs({ fs: repo.fs ?? repoFs, gitdir: repo.gitdir, filepath: PUSHED_DIR });
  } catch (e) {
    throw stateError(e, "listing the pushed markers");
  }
  for (const name of names) {
    const oid = await resolveOrUndefined(repo.gitdir, pushedRef(name));
    if (oid !== undefined) markers.set(name, oid);
  }
  return markers;
}

/**
 * newestReport finds this node's newest report on the first-parent chain from `oid`, passing
 * over at most a few foreign commits (an admin's note on top). Undefined when there is none.
 */
export async function newestReport(repo: StatusRepo, oid: string): Promise<StatusCommit | undefined> {
  let at: string | undefined = oid;
  for (let i = 0; at !== undefined && i <= MAX_FOREIGN_RUN; i++) {
    const c = await readStatusCommit(repo, at);
    if (c.kind !== undefined) return c;
    at = c.parents[0];
  }
  return undefined;
}

/**
 * isDelivered answers whether some remote has accepted `commit` or a rebuilt copy of it: the
 * newest report on a marker's chain is that commit, or has its tree. Only the newest report
 * needs asking about, and a remote that took it took it last: nothing newer exists. Reads
 * commits; throws STATUS_STATE.
 */
export async function isDelivered(repo: StatusRepo, commit: StatusCommit, markers: ReadonlyMap<string, string>): Promise<boolean> {
  for (const marker of markers.values()) {
    if (marker === commit.oid) return true;
    const newest = await newestReport(repo, marker);
    if (newest !== undefined && (newest.oid === commit.oid || newest.tree === commit.tree)) return true;
  }
  return false;
}

/**
 * writeStatus writes `doc` on the local status branch under the squash rule (squash.ts,
 * decideWrite): a new signed commit on the tip, the tip replaced by a newer heartbeat, or
 * nothing. Side effects: a blob, two trees and a commit object; the branch ref, last. Throws
 * STATUS_SIGN when the commit cannot be signed and STATUS_STATE when the repository cannot be
 * read or written (a full disk); either way the branch is left where it was.
 */
export async function writeStatus(repo: StatusRepo, doc: StatusDocument, options: WriteOptions): Promise<WriteResult> {
  const fs = repo.fs ?? repoFs;
  const { gitdir, cache, node } = repo;
  try {
    const current = await readStatusTip(repo);
    const tipOid = current?.commit.oid;
    const tip: TipFacts | undefined = current === undefined ? undefined : { oid: current.commit.oid, parents: current.commit.parents, document: current.document, kind: current.commit.kind, delivered: true, observed: current.observed };
    let decision = decideWrite(tip, doc, options.nowMs, options.heartbeatIntervalMs, options.observed);
    // Only a due heartbeat on a heartbeat tip may replace it: only then is delivery asked.
    if (current !== undefined && tip !== undefined && decision.action === "append" && decision.kind === "heartbeat" && tip.kind === "heartbeat") {
      decision = decideWrite({ ...tip, delivered: await isDelivered(repo, current.commit, await readPushedMarkers(repo)) }, doc, options.nowMs, options.heartbeatIntervalMs, options.observed);
    }
    if (decision.action === "skip") return { action: "skipped", report: "heartbeat", oid: tipOid, previous: tipOid };
    const text = renderStatus(doc);
    const blob = await git.writeBlob({ fs, gitdir, blob: Buffer.from(text, "utf8") });
    const entries = [{ mode: "100644", path: `${node}.yaml`, oid: blob, type: "blob" as const }];
    if (options.observed !== undefined) entries.push({ mode: "100644", path: `${node}.observed.json`, oid: await git.writeBlob({ fs, gitdir, blob: Buffer.from(options.observed, "utf8") }), type: "blob" as const });
    // git sorts tree entries by name; "<node>.observed.json" sorts before "<node>.yaml".
    const dir = await git.writeTree({ fs, gitdir, tree: entries.sort((a, b) => (a.path < b.path ? -1 : 1)) });
    const tree = await git.writeTree({ fs, gitdir, tree: [{ mode: "040000", path: "status", oid: dir, type: "tree" }] });
    const who = identity(node, options.nowMs);
    const message = commitMessage(summaryLine(doc), decision.kind);
    const oid = await git.commit({
      fs,
      gitdir,
      cache,
      ref: statusRef(node),
      noUpdateBranch: true,
      tree,
      parent: [...decision.parents],
      author: who,
      committer: who,
      message,
      signingKey: options.signer.key,
      onSign: options.signer.onSign,
    });
    await git.writeRef({ fs, gitdir, ref: statusRef(node), value: oid, force: true });
    const commit: StatusCommit = { oid, parents: decision.parents, tree, message, author: who, committer: who, kind: decision.kind };
    // What a fresh read would give, so that a run from memory decides as one after a restart.
    lastTip.set(cache, { commit, document: parseStatus(text), observed: options.observed, gitdir });
    return { action: decision.action === "replace" ? "replaced" : "committed", report: decision.kind, oid, previous: tipOid };
  } catch (e) {
    throw stateError(e, "writing the status commit");
  }
}

/**
 * rebuildCommits re-creates `commits` (oldest first, this node's reports) one on the other,
 * the first on `onto` (a root commit when undefined): same tree, message, author and committer
 * (so the same dates), signed again. Returns the last new oid. Writes objects only, no ref.
 * Throws STATUS_SIGN and STATUS_STATE as writeStatus does, and INTERNAL for a foreign commit.
 */
export async function rebuildCommits(repo: StatusRepo, commits: readonly StatusCommit[], onto: string | undefined, signer: Signer): Promise<string | undefined> {
  let parent = onto;
  try {
    for (const c of commits) {
      if (c.kind === undefined) throw new StewardError("INTERNAL", "a foreign commit cannot be rebuilt", { data: { oid: c.oid }, retry: "internal" });
      parent = await git.commit({
        fs: repo.fs ?? repoFs,
        gitdir: repo.gitdir,
        cache: repo.cache,
        ref: statusRef(repo.node),
        noUpdateBranch: true,
        tree: c.tree,
        parent: parent === undefined ? [] : [parent],
        author: c.author,
        committer: c.committer,
        message: c.message,
        signingKey: signer.key,
        onSign: signer.onSign,
      });
    }
  } catch (e) {
    throw stateError(e, "rebuilding status commits");
  }
  return parent;
}

/** What `target`'s history lacks of `local`'s: see unsentCommits. */
export interface Unsent {
  /** This node's reports on local's first-parent chain above the fork that target lacks, oldest first. */
  readonly commits: readonly StatusCommit[];
  /** The newest commit of local's first-parent chain that is on target's; undefined when none is. */
  readonly fork: string | undefined;
  /** Local's first-parent chain above the fork, newest first (what a rebuild on target replaces). */
  readonly above: readonly string[];
}

/**
 * unsentCommits compares two status histories: walking both first-parent chains (at most
 * MAX_STATUS_WALK commits each), it finds where they fork and lists this node's reports above
 * the fork on `local` that are not on `target` above it (compared by tree: a rebuilt copy
 * counts as present). Foreign commits on local are left out. Throws STATUS_STATE.
 */
export async function unsentCommits(repo: StatusRepo, local: string, target: string): Promise<Unsent> {
  const chain: StatusCommit[] = [];
  const index = new Map<string, number>();
  for (let at: string | undefined = local; at !== undefined && chain.length < MAX_STATUS_WALK; ) {
    const c = await readStatusCommit(repo, at);
    index.set(c.oid, chain.length);
    chain.push(c);
    at = c.parents[0];
  }
  const present = new Set<string>();
  let fork: string | undefined;
  let walked = 0;
  for (let at: string | undefined = target; at !== undefined && walked < MAX_STATUS_WALK; walked++) {
    if (index.has(at)) {
      fork = at;
      break;
    }
    const c = await readStatusCommit(repo, at);
    if (c.kind !== undefined) present.add(c.tree);
    at = c.parents[0];
  }
  const above = fork === undefined ? chain : chain.slice(0, index.get(fork));
  return {
    commits: above.filter((c) => c.kind !== undefined && !present.has(c.tree)).reverse(),
    fork,
    above: above.map((c) => c.oid),
  };
}

/**
 * isAncestorOrSelf answers whether `ancestor` is `oid` or on its history. Throws STATUS_STATE
 * when an object is missing.
 */
export async function isAncestorOrSelf(repo: StatusRepo, ancestor: string, oid: string): Promise<boolean> {
  if (ancestor === oid) return true;
  try {
    // isDescendent(x, x) is false, hence the equality check above.
    return await git.isDescendent({ fs: repo.fs ?? repoFs, gitdir: repo.gitdir, oid, ancestor, depth: -1, cache: repo.cache });
  } catch (e) {
    throw stateError(e, "walking the status branch");
  }
}

/** Errors of the local file system that mean the node's disk, not a remote, is at fault. */
const LOCAL_FS_ERRORS = new Set(["ENOSPC", "EDQUOT", "EFBIG", "EACCES", "EPERM", "EROFS", "EIO", "EMFILE", "ENFILE", "ENOTDIR", "EISDIR"]);

/**
 * stateError keeps a StewardError as it is and makes anything else STATUS_STATE (transient):
 * a file system error (a full disk: the hint says so), or isomorphic-git's NotFoundError and
 * friends for a repository that lacks an object.
 */
export function stateError(e: unknown, what: string): StewardError {
  if (isStewardError(e)) return e;
  const { code, syscall, path } = (typeof e === "object" && e !== null ? e : {}) as { code?: unknown; syscall?: unknown; path?: unknown };
  const message = e instanceof Error ? e.message : String(e);
  if (typeof code === "string" && LOCAL_FS_ERRORS.has(code)) {
    const full = code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG";
    return new StewardError("STATUS_STATE", `cannot write the local repository while ${what}: ${code}`, {
      data: { errno: code, ...(typeof syscall === "string" ? { syscall } : {}), ...(typeof path === "string" ? { path } : {}) },
      hint: full
        ? "the state directory's file system is full: free space there; the report is written at the next run, and the reports already queued are kept"
        : "check the state directory's permissions, that its file system is mounted read-write, and the disk's health",
      retry: "transient",
      cause: e,
    });
  }
  return new StewardError("STATUS_STATE", `the local repository failed while ${what}: ${message}`, {
    data: { error: message, ...(typeof code === "string" ? { gitError: code } : {}) },
    hint: "the status branch lacks an object or the repository is damaged; if it persists, remove refs/heads/status/<node> from <state>/source/repo.git (the remotes keep what they accepted)",
    retry: "transient",
    cause: e,
  });
}
