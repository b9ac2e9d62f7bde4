/**
 * Verifying the history between the last applied revision L and a candidate tip.
 *
 * The commits checked are the first-parent chain from the tip down to (excluding) L; when L
 * is not on that chain (it was merged in as a side parent), down to the first commit that is L
 * or an ancestor of L (the ancestor set is computed only then). Side-branch commits are
 * covered by the signed merge that brings them in (docs/architecture.md, "Signed history"). With no L (first run) only
 * the tip is checked.
 *
 * Each commit must be signed by a key the trust of its first parent admits: the parent's
 * `trust/allowed_signers` if the repo has it there, else the node's bootstrap trust file. Only a
 * path that is absent from trees that are present falls back to the bootstrap file: an object
 * missing from the local repository is SOURCE_PROTOCOL, never a reason to trust the bootstrap
 * keys (which a repo may have removed since). The
 * lowest commit of the chain is checked against L's trust (the last trusted state), and on a
 * first run against the bootstrap file. So a commit that edits the trust file is judged by
 * the trust before it, never by its own.
 */
import { readFile } from "node:fs/promises";
import { frozenGitFs, gitFs } from "./repo.js";
import { StewardError, isStewardError } from "../errors.js";
import type { Executor } from "../exec.js";
import type { Logger } from "../log.js";
import type { SourceProblem, Verification } from "./choose.js";
import { typedReadError } from "./git-errors.js";
import { isomorphicObjects, parseTree, type ObjectSource } from "./objects.js";
import { verifyCommitSignature } from "./signature.js";
import { parseCommitHeader, splitSignedCommit, type CommitHeader } from "./payload.js";
import { dearmorSignature, signatureSigner, type KeyFingerprint } from "./sshsig.js";
import { sourcePaths, writeTrustFile } from "./state.js";
import { MAX_TRUST_BYTES, checkAllowedSigners, type TrustedSigner } from "./trust.js";

/** Where the repo keeps the admins' keys. */
export const TRUST_PATH = "trust/allowed_signers";
/** How far a committer date may lie in the future. */
export const MAX_CLOCK_SKEW_SECONDS = 600;
const MAX_CHAIN = 100_000;
/** The most commits ancestorSet collects. */
const MAX_ANCESTORS = 200_000;

export interface ChainOptions {
  readonly gitdir: string;
  readonly cache: object;
  /**
   * Where objects are read from: by default `gitdir` through isomorphic-git and `cache`. The
   * pre-receive check passes native git's view, which includes the quarantined push (objects.ts).
   */
  readonly objects?: ObjectSource;
  readonly stateDir: string;
  /** The node's bootstrap allowed_signers file (config `trust`). */
  readonly bootstrapTrust: string;
  /** The hint when the bootstrap file cannot be read; by default, about the agent configuration. */
  readonly bootstrapHint?: string;
  /** Keys that never verify, whatever a trust file says (config `revoked`). */
  readonly revoked?: string;
  /** Unix milliseconds, read once per cycle. */
  readonly now: number;
  readonly executor?: Executor;
  readonly log?: Logger;
  /** Check every signature with ssh-keygen, as before the in-process path (benchmarks compare the two). */
  readonly sshKeygenOnly?: boolean;
  /** The most commits walked (chain and ancestor set); for tests. */
  readonly maxHistory?: number;
}

interface Trust {
  readonly file: string;
  /** "bootstrap", or the commit whose trust/allowed_signers it is. */
  readonly origin: string;
  /** Its entries, for messages about keys it does not admit. */
  readonly signers: readonly TrustedSigner[];
}

/** How many of a trust file's entries a refused signature's problem lists. */
const SIGNERS_LISTED = 10;

/**
 * verifyChain checks every commit from `lastApplied` (exclusive) to `tip` as described above
 * and returns the verification for choose.ts. Returns at the first failing commit (oldest
 * first) with SOURCE_UNSIGNED, SOURCE_UNTRUSTED, SOURCE_BAD_SIGNATURE, SOURCE_FUTURE_COMMIT,
 * SOURCE_BACKDATED_COMMIT (dated more than the clock skew before its first parent), or
 * SOURCE_TRUST_INVALID (a trust file that cannot be parsed or trusts nobody, including the
 * tip's own, so a tip cannot lock every admin out), or SOURCE_PROTOCOL when an object the check
 * needs is missing from the repository or the history is too long. Call under the repo lock.
 * Writes trust files under the state directory. Keys are checked at `now`. Throws only for
 * failures to run ssh-keygen.
 */
export async function verifyChain(tip: string, lastApplied: string | undefined, options: ChainOptions): Promise<Verification> {
  return createChainVerifier(options).verify(tip, lastApplied);
}

/** Verifies several tips against one last applied revision, sharing what they have in common. */
export interface ChainVerifier {
  /** verify is verifyChain for one tip, with this verifier's options and caches. */
  verify(tip: string, lastApplied: string | undefined): Promise<Verification>;
}

/**
 * createChainVerifier returns a verifier whose trust files and per-commit verdicts are shared
 * between tips: two remotes whose tips share a chain (a mirror one commit behind the primary)
 * cost one verification of each commit. A commit's verdict depends on the commit and on the
 * commit whose trust judges it, so that pair is the key. Side effects as verifyChain.
 */
export function createChainVerifier(options: ChainOptions): ChainVerifier {
  const memo: VerifierMemo = { trust: new Map(), trustByTree: new Map(), verdicts: new Map(), commits: new Map(), objects: options.objects ?? isomorphicObjects(options.gitdir, options.cache, frozenGitFs()) };
  let revokedReadable: Promise<boolean> | undefined;
  const verify = async (tip: string, lastApplied: string | undefined): Promise<Verification> => {
    try {
      return await verifyChainUnchecked(tip, lastApplied, options, memo, () => (revokedReadable ??= readRevoked(options.revoked)));
    } catch (e) {
      const typed = typedReadError(e, "SOURCE_PROTOCOL", "an object the verification needs is missing from the local repository", { tip, lastApplied });
      if (isStewardError(typed) && typed.code === "SOURCE_PROTOCOL") {
        return { revision: tip, ok: false, problem: { code: typed.code, message: typed.message, data: typed.data, ...(typed.hint === undefined ? {} : { hint: typed.hint }), retry: typed.retry } };
      }
      throw typed;
    }
  };
  return { verify };
}

async function readRevoked(file: string | undefined): Promise<boolean> {
  return file === undefined ? true : readFile(file).then(() => true, () => false);
}

/** What a verifier remembers between commits and tips: every read is made once. */
interface VerifierMemo {
  /** The trust in force after a commit ("bootstrap" for none), by commit. */
  readonly trust: Map<string, Trust | SourceProblem>;
  /** The trust file found in a root tree, by tree id: most commits do not touch it. */
  readonly trustByTree: Map<string, Promise<{ oid: string; blob: Uint8Array } | "absent" | SourceProblem>>;
  /** A commit's verdict, by commit and the commit whose trust judged it. */
  readonly verdicts: Map<string, SourceProblem | { principal: string }>;
  readonly commits: Map<string, Promise<CommitInfo>>;
  /** Reads the repository, which nothing writes while a verifier is in use (call under the repo lock). */
  readonly objects: ObjectSource;
}

/** A commit read once: its raw bytes (the signature's payload) and its header. */
interface CommitInfo extends CommitHeader {
  readonly raw: Uint8Array;
}

/**
 * readCommitInfo reads a commit's raw object once and its header from it, falling back to the
 * source's lenient parse (isomorphic-git's) for a header parseCommitHeader does not read.
 * Memoized in `commits`. Throws NotFoundError/ObjectTypeError (typed by the caller).
 */
function readCommitInfo(oid: string, objects: ObjectSource, commits: Map<string, Promise<CommitInfo>>): Promise<CommitInfo> {
  let hit = commits.get(oid);
  if (hit === undefined) {
    hit = (async (): Promise<CommitInfo> => {
      const r = await objects.read(oid);
      if (r.type !== "commit") throw Object.assign(new Error(`object ${oid} is a ${r.type}, not a commit`), { code: "ObjectTypeError" });
      const raw = r.content;
      const header = parseCommitHeader(raw);
      if (header !== undefined) return { raw, ...header };
      if (objects.readCommitLeniently === undefined) throw Object.assign(new Error(`commit ${oid} has a header that cannot be read`), { code: "ObjectTypeError" });
      return { raw, ...(await objects.readCommitLeniently(oid)) };
    })();
    hit.catch(() => commits.delete(oid));
    commits.set(oid, hit);
  }
  return hit;
}

async function verifyChainUnchecked(
  tip: string,
  lastApplied: string | undefined,
  options: ChainOptions,
  memo: VerifierMemo,
  revokedReadable: () => Promise<boolean>,
): Promise<Verification> {
  const { gitdir, cache } = options;
  const trustCache = memo.trust;
  const verdicts = memo.verdicts;
  const commitInfo = (oid: string): Promise<CommitInfo> => readCommitInfo(oid, memo.objects, memo.commits);
  const fail = (problem: SourceProblem): Verification => ({ revision: tip, ok: false, problem: { ...problem, data: { ...problem.data, tip } } });

  const bootstrap = async (): Promise<Trust | SourceProblem> => {
    const hit = trustCache.get("bootstrap");
    if (hit !== undefined) return hit;
    let result: Trust | SourceProblem;
    try {
      const bytes = await readFile(options.bootstrapTrust);
      const checked = checkTrustBytes(bytes, "bootstrap", options.bootstrapTrust);
      result = "code" in checked ? checked : { file: options.bootstrapTrust, origin: "bootstrap", signers: checked.signers };
    } catch (e) {
      result = trustProblem(`the bootstrap trust file ${options.bootstrapTrust} cannot be read`, { origin: "bootstrap", file: options.bootstrapTrust, error: String(e) }, options.bootstrapHint ?? "install the admins' allowed_signers file named by `trust:` in the agent configuration");
    }
    trustCache.set("bootstrap", result);
    return result;
  };

  const trustAt = async (commit: string | undefined): Promise<Trust | SourceProblem> => {
    if (commit === undefined) return bootstrap();
    const hit = trustCache.get(commit);
    if (hit !== undefined) return hit;
    let result: Trust | SourceProblem;
    const found = await readTrustBlob(commit, commitInfo, memo.trustByTree, memo.objects);
    if (found === "absent") result = await bootstrap();
    else if ("code" in found) result = found;
    else {
      // Trust files change rarely: check and store each good blob once, whatever commit holds
      // it. A bad one is checked again for each commit, so that its problem names that commit.
      const key = `blob ${found.oid}`;
      let checked = trustCache.get(key);
      if (checked === undefined) {
        const check = checkTrustBytes(found.blob, commit, TRUST_PATH);
        checked = "code" in check ? check : { file: await writeTrustFile(options.stateDir, found.oid, found.blob), origin: commit, signers: check.signers };
        if (!("code" in checked)) trustCache.set(key, checked);
      }
      result = "code" in checked ? checked : { ...checked, origin: commit };
    }
    trustCache.set(commit, result);
    return result;
  };

  // An unreadable revocation list would make every signature fail as "untrusted": say why.
  if (!(await revokedReadable())) return fail(trustProblem(`the revocation list ${options.revoked ?? ""} cannot be read`, { file: options.revoked }, "fix the file named by `revoked:` in the agent configuration, or remove that line"));
  const chain = lastApplied === undefined ? [tip] : await firstParentChain(tip, lastApplied, gitdir, cache, options.maxHistory, commitInfo, (oid) => readCommitInfo(oid, memo.objects, new Map()));
  const tmpDir = sourcePaths(options.stateDir).tmpDir;
  const principals = new Set<string>();
  let signer: string | undefined;
  for (let i = chain.length - 1; i >= 0; i--) {
    const commit = chain[i] as string;
    const below = i === chain.length - 1 ? lastApplied : chain[i + 1];
    const key = `${commit} ${below ?? "bootstrap"}`;
    let verdict = verdicts.get(key);
    if (verdict === undefined) {
      verdict = await verifyCommit(commit, below, { options, trustAt, tmpDir, commitInfo });
      verdicts.set(key, verdict);
    }
    if ("code" in verdict) return fail(verdict);
    principals.add(verdict.principal);
    if (i === 0) signer = verdict.principal;
  }
  // The tip's own trust file governs the next update: refuse one that is unusable now.
  const next = await trustAt(tip);
  if ("code" in next) return fail({ ...next, data: { ...next.data, commit: tip } });
  options.log?.debug({ tip, commits: chain.length, principals: [...principals] }, "history verified");
  return { revision: tip, ok: true, commits: chain.length, ...(signer === undefined ? {} : { signer }) };
}

interface CommitContext {
  readonly options: ChainOptions;
  readonly commitInfo: (oid: string) => Promise<CommitInfo>;
  readonly trustAt: (commit: string | undefined) => Promise<Trust | SourceProblem>;
  readonly tmpDir: string;
}

/**
 * verifyCommit judges one commit by the trust in force at `below` (its first parent, or the
 * last applied revision): its dates, then its signature. Returns the signer's principal or the
 * problem (the problem's data names the commit).
 */
async function verifyCommit(commit: string, below: string | undefined, ctx: CommitContext): Promise<SourceProblem | { principal: string }> {
  const { options } = ctx;
  const trust = await ctx.trustAt(below);
  if ("code" in trust) return { ...trust, data: { ...trust.data, commit } };
  const parsed = await ctx.commitInfo(commit);
  if (parsed.committed > options.now / 1000 + MAX_CLOCK_SKEW_SECONDS) {
    return {
      code: "SOURCE_FUTURE_COMMIT",
      message: `commit ${commit.slice(0, 12)} is dated in the future`,
      data: { commit, committed: new Date(parsed.committed * 1000).toISOString(), now: new Date(options.now).toISOString() },
      hint: "check the clocks of the committer's machine and of this node; re-commit with a correct date",
      retry: "stalled",
    };
  }
  // Dates are the signer's to choose, so they prove little; but a commit dated well before its
  // own first parent is a replayed or forged history, not a clock that is a little off.
  const parent = parsed.parents[0];
  if (parent !== undefined) {
    const before = await ctx.commitInfo(parent);
    if (parsed.committed + MAX_CLOCK_SKEW_SECONDS < before.committed) {
      return {
        code: "SOURCE_BACKDATED_COMMIT",
        message: `commit ${commit.slice(0, 12)} is dated before its parent`,
        data: { commit, parent, committed: new Date(parsed.committed * 1000).toISOString(), parentCommitted: new Date(before.committed * 1000).toISOString() },
        hint: "committer dates go forward along the branch; check the committer's clock and re-commit",
        retry: "stalled",
      };
    }
  }
  const verdict = await verifyCommitSignature(parsed.raw, trust.file, {
    tmpDir: ctx.tmpDir,
    now: options.now,
    ...(options.sshKeygenOnly === true ? { sshKeygenOnly: true } : {}),
    ...(options.revoked === undefined ? {} : { revoked: options.revoked }),
    ...(options.executor === undefined ? {} : { executor: options.executor }),
    onFallback: (reason) => options.log?.debug({ commit, reason }, "signature checked by ssh-keygen"),
  });
  if (!verdict.ok) {
    const trustFile = trust.origin === "bootstrap" ? trust.file : TRUST_PATH;
    if (verdict.code === "SOURCE_UNSIGNED") return { code: verdict.code, message: `commit ${commit.slice(0, 12)}: ${verdict.reason}`, data: { commit, trust: trust.origin, trustFile }, hint: HINTS[verdict.code], retry: "stalled" };
    // The key that claims the signature, and the keys the trust in force lists, side by side:
    // what an admin compares to find out whose key it is.
    const signer = signerOf(parsed.raw);
    const by = signer === undefined ? "" : ` (signed with ${signer.type} ${signer.fingerprint})`;
    return {
      code: verdict.code,
      message: `commit ${commit.slice(0, 12)}${by}: ${verdict.reason}`,
      data: { commit, trust: trust.origin, trustFile, signer: signer ?? null, trusted: trust.signers.slice(0, SIGNERS_LISTED), trustedCount: trust.signers.length },
      hint: HINTS[verdict.code],
      retry: "stalled",
    };
  }
  options.log?.debug({ commit, principal: verdict.principal, trust: trust.origin }, "commit verified");
  return { principal: verdict.principal };
}

/**
 * firstParentChain lists the commits to verify, newest first: the first-parent chain from
 * `tip` down to, excluding, `lastApplied`, or, when `lastApplied` is not on that chain, down to
 * the first commit that is one of its ancestors (or the root). The caller has established that
 * `tip` descends from `lastApplied`. Throws SOURCE_PROTOCOL when a walk exceeds `limit` commits.
 */
export async function firstParentChain(
  tip: string,
  lastApplied: string,
  gitdir: string,
  cache: object,
  limit = MAX_CHAIN,
  read: (oid: string) => Promise<CommitHeader> = (oid) => readCommitInfo(oid, isomorphicObjects(gitdir, cache, gitFs), new Map()),
  /** Reads the commits of the ancestor set, which are walked only for their parents (and need not be remembered). */
  readAncestor: (oid: string) => Promise<CommitHeader> = read,
): Promise<string[]> {
  const walk = async (stop: (oid: string) => boolean): Promise<string[] | undefined> => {
    const chain: string[] = [];
    let oid: string | undefined = tip;
    while (oid !== undefined && !stop(oid)) {
      if (chain.length >= limit) throw tooLong(tip, lastApplied, limit);
      chain.push(oid);
      oid = (await read(oid)).parents[0];
    }
    return oid === undefined ? undefined : chain;
  };
  const direct = await walk((oid) => oid === lastApplied);
  if (direct !== undefined) return direct;
  const ancestors = await ancestorSet(lastApplied, limit === MAX_CHAIN ? MAX_ANCESTORS : limit, readAncestor);
  return (await walk((oid) => ancestors.has(oid))) ?? (await walkAll(tip, lastApplied, limit, read));
}

function tooLong(tip: string, lastApplied: string, limit: number): StewardError {
  return new StewardError("SOURCE_PROTOCOL", "the history to verify is too long", { data: { tip, lastApplied, limit }, hint: "a cluster repo's history between two applied revisions is short; check the remote", retry: "stalled" });
}

async function walkAll(tip: string, lastApplied: string, limit: number, read: (oid: string) => Promise<CommitHeader>): Promise<string[]> {
  const chain: string[] = [];
  for (let oid: string | undefined = tip; oid !== undefined; ) {
    if (chain.length >= limit) throw tooLong(tip, lastApplied, limit);
    chain.push(oid);
    oid = (await read(oid)).parents[0];
  }
  return chain;
}

/** ancestorSet returns `oid` and every commit reachable from it; SOURCE_PROTOCOL beyond `limit` commits. */
async function ancestorSet(oid: string, limit: number, read: (oid: string) => Promise<CommitHeader>): Promise<Set<string>> {
  const seen = new Set<string>([oid]);
  const queue = [oid];
  while (queue.length > 0) {
    if (seen.size > limit) throw new StewardError("SOURCE_PROTOCOL", "the history of the last applied revision is too long", { data: { lastApplied: oid, limit }, hint: "a cluster repo's history is short; check the remote", retry: "stalled" });
    const next = queue.pop() as string;
    for (const p of (await read(next)).parents) {
      if (!seen.has(p)) {
        seen.add(p);
        queue.push(p);
      }
    }
  }
  return seen;
}

/**
 * readTrustBlob reads `trust/allowed_signers` at `commit` one tree at a time, so that a path
 * that does not exist ("absent") is told apart from an object missing from the repository
 * (SOURCE_PROTOCOL) and from a path of the wrong kind (SOURCE_TRUST_INVALID).
 */
async function readTrustBlob(
  commit: string,
  commitInfo: (oid: string) => Promise<CommitHeader>,
  byTree: Map<string, Promise<{ oid: string; blob: Uint8Array } | "absent" | SourceProblem>>,
  objects: ObjectSource,
): Promise<{ oid: string; blob: Uint8Array } | "absent" | SourceProblem> {
  const incomplete = (oid: string, what: string, e: unknown): SourceProblem => ({
    code: "SOURCE_PROTOCOL",
    message: `the ${what} ${oid.slice(0, 12)} needed to read the trust of ${commit.slice(0, 12)} is missing from the local repository`,
    data: { commit, missing: oid, what, error: e instanceof Error ? e.message : String(e) },
    hint: "a remote sent incomplete history; the next fetch checks completeness again. If it persists, remove <state>/source/repo.git and fetch again",
    retry: "transient",
  });
  let root: string;
  try {
    root = (await commitInfo(commit)).tree;
  } catch (e) {
    return incomplete(commit, "commit", e);
  }
  let found = byTree.get(root);
  if (found === undefined) {
    found = readTrustInTree(root, commit, incomplete, objects);
    byTree.set(root, found);
  }
  return found;
}

/** readTrustInTree follows TRUST_PATH from a root tree; see readTrustBlob. */
async function readTrustInTree(
  root: string,
  commit: string,
  incomplete: (oid: string, what: string, e: unknown) => SourceProblem,
  objects: ObjectSource,
): Promise<{ oid: string; blob: Uint8Array } | "absent" | SourceProblem> {
  let dir = root;
  const parts = TRUST_PATH.split("/");
  for (let i = 0; i < parts.length; i++) {
    let entries: { path: string; oid: string; type: string }[];
    try {
      const r = await objects.read(dir);
      if (r.type !== "tree") throw new Error(`object ${dir} is a ${r.type}, not a tree`);
      entries = parseTree(r.content);
    } catch (e) {
      return incomplete(dir, "tree", e);
    }
    const entry = entries.find((x) => x.path === parts[i]);
    if (entry === undefined) return "absent";
    if (i < parts.length - 1) {
      if (entry.type !== "tree") return trustProblem(`${TRUST_PATH} at commit ${commit.slice(0, 12)} is not a file`, { origin: commit, file: TRUST_PATH, commit }, `make ${TRUST_PATH} a regular file`);
      dir = entry.oid;
      continue;
    }
    if (entry.type !== "blob") return trustProblem(`${TRUST_PATH} at commit ${commit.slice(0, 12)} is not a file`, { origin: commit, file: TRUST_PATH, commit }, `make ${TRUST_PATH} a regular file`);
    try {
      const r = await objects.read(entry.oid);
      if (r.type !== "blob") throw Object.assign(new Error(`object ${entry.oid} is a ${r.type}, not a blob`), { code: "ObjectTypeError" });
      return { oid: entry.oid, blob: r.content };
    } catch (e) {
      return incomplete(entry.oid, "blob", e);
    }
  }
  return "absent";
}

const HINTS = {
  SOURCE_UNSIGNED: "sign every commit on the branch (git commit -S with gpg.format=ssh) with a key listed in trust/allowed_signers",
  SOURCE_UNTRUSTED: "the signing key is not in the trust in force for this commit; a trust change must be signed by an already trusted key",
  SOURCE_BAD_SIGNATURE: "the signature does not verify: the commit was altered or signed for another namespace",
} as const;

/** signerOf names the key a commit's signature claims (not checked), if the signature parses. */
function signerOf(raw: Uint8Array): KeyFingerprint | undefined {
  const split = splitSignedCommit(raw);
  if (split.kind !== "signed") return undefined;
  const blob = dearmorSignature(Buffer.from(split.signature, "utf8"));
  return blob === undefined ? undefined : signatureSigner(blob);
}

/**
 * checkTrustBytes checks a trust file (the bootstrap file at `file`, or TRUST_PATH at commit
 * `origin`) and returns its entries, or SOURCE_TRUST_INVALID naming the file and, in
 * `data.problems`, each line that does not parse and why.
 */
function checkTrustBytes(bytes: Uint8Array, origin: string, file: string): SourceProblem | { readonly signers: readonly TrustedSigner[] } {
  const where = origin === "bootstrap" ? `the bootstrap trust file ${file}` : `${file} at commit ${origin.slice(0, 12)}`;
  if (bytes.length > MAX_TRUST_BYTES) return trustProblem(`${where} is too large`, { origin, file, size: bytes.length, limit: MAX_TRUST_BYTES }, "keep only admins' keys in the trust file");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return trustProblem(`${where} is not UTF-8 text`, { origin, file }, "write the trust file as plain text");
  }
  const check = checkAllowedSigners(text);
  if (check.problems.length > 0) {
    const lines = check.problems.map((p) => p.line);
    return trustProblem(
      `${where} has ${lines.length === 1 ? "a line" : `${lines.length} lines`} ssh-keygen would ignore (line ${lines.slice(0, 10).join(", ")}${lines.length > 10 ? ", …" : ""})`,
      { origin, file, problems: check.problems },
      "fix each listed line: principals [options] keytype base64-key [comment]",
    );
  }
  if (check.entries === 0) return trustProblem(`${where} trusts nobody`, { origin, file }, "list at least one admin key; an empty trust file would lock every admin out");
  return { signers: check.signers };
}

function trustProblem(message: string, data: Record<string, unknown>, hint: string): SourceProblem {
  return { code: "SOURCE_TRUST_INVALID", message, data, hint, retry: "stalled" };
}
