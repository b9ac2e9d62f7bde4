/**
 * Verifying the history between the last applied revision L and a candidate tip.
 *
 * The commits checked are the first-parent chain from the tip down to (excluding) L; when L
 * is not on that chain (it was merged in as a side parent), down to the first commit that is L
 * or an ancestor of L (the ancestor set is computed only then). Side-branch commits are
 * covered by the signed merge that brings them in (git.md §5). With no L (first run) only
 * the tip is checked.
 *
 * Each commit must be signed by a key the trust of its first parent admits: the parent's
 * `trust/allowed_signers` if the repo has it there, else the node's bootstrap trust file. The
 * lowest commit of the chain is checked against L's trust (the last trusted state), and on a
 * first run against the bootstrap file. So a commit that edits the trust file is judged by
 * the trust before it, never by its own.
 */
import fs from "node:fs";
import { readFile } from "node:fs/promises";
import git from "isomorphic-git";
import { StewardError } from "../errors.js";
import type { Executor } from "../exec.js";
import type { Logger } from "../log.js";
import type { SourceProblem, Verification } from "./choose.js";
import { verifyCommitSignature } from "./signature.js";
import { sourcePaths, writeTrustFile } from "./state.js";
import { MAX_TRUST_BYTES, checkAllowedSigners } from "./trust.js";

/** Where the repo keeps the admins' keys. */
export const TRUST_PATH = "trust/allowed_signers";
/** How far a committer date may lie in the future. */
export const MAX_CLOCK_SKEW_SECONDS = 600;
const MAX_CHAIN = 100_000;

export interface ChainOptions {
  readonly gitdir: string;
  readonly cache: object;
  readonly stateDir: string;
  /** The node's bootstrap allowed_signers file (config `trust`). */
  readonly bootstrapTrust: string;
  /** Unix milliseconds, read once per cycle. */
  readonly now: number;
  readonly executor?: Executor;
  readonly log?: Logger;
}

interface Trust {
  readonly file: string;
  /** "bootstrap", or the commit whose trust/allowed_signers it is. */
  readonly origin: string;
}

/**
 * verifyChain checks every commit from `lastApplied` (exclusive) to `tip` as described above
 * and returns the verification for choose.ts. Returns at the first failing commit (oldest
 * first) with SOURCE_UNSIGNED, SOURCE_UNTRUSTED, SOURCE_BAD_SIGNATURE, SOURCE_FUTURE_COMMIT or
 * SOURCE_TRUST_INVALID (a trust file that cannot be parsed or trusts nobody, including the
 * tip's own, so a tip cannot lock every admin out). Call under the repo lock. Writes trust
 * files under the state directory. Throws only for failures to run ssh-keygen or read objects.
 */
export async function verifyChain(tip: string, lastApplied: string | undefined, options: ChainOptions): Promise<Verification> {
  const { gitdir, cache } = options;
  const trustCache = new Map<string, Trust | SourceProblem>();
  const fail = (problem: SourceProblem): Verification => ({ revision: tip, ok: false, problem });

  const bootstrap = async (): Promise<Trust | SourceProblem> => {
    const hit = trustCache.get("bootstrap");
    if (hit !== undefined) return hit;
    let result: Trust | SourceProblem;
    try {
      const bytes = await readFile(options.bootstrapTrust);
      result = checkTrustBytes(bytes, "bootstrap", options.bootstrapTrust) ?? { file: options.bootstrapTrust, origin: "bootstrap" };
    } catch (e) {
      result = trustProblem("the bootstrap trust file cannot be read", { file: options.bootstrapTrust, error: String(e) }, "install the admins' allowed_signers file named by `trust:` in the agent configuration");
    }
    trustCache.set("bootstrap", result);
    return result;
  };

  const trustAt = async (commit: string | undefined): Promise<Trust | SourceProblem> => {
    if (commit === undefined) return bootstrap();
    const hit = trustCache.get(commit);
    if (hit !== undefined) return hit;
    let result: Trust | SourceProblem;
    try {
      const { oid, blob } = await git.readBlob({ fs, gitdir, oid: commit, filepath: TRUST_PATH, cache });
      result = checkTrustBytes(blob, commit, TRUST_PATH) ?? { file: await writeTrustFile(options.stateDir, oid, blob), origin: commit };
    } catch (e) {
      const code = (e as { code?: unknown }).code;
      if (code === "NotFoundError") result = await bootstrap();
      else if (code === "ObjectTypeError") result = trustProblem(`${TRUST_PATH} is not a file`, { commit }, `make ${TRUST_PATH} a regular file`);
      else throw e;
    }
    trustCache.set(commit, result);
    return result;
  };

  const chain = lastApplied === undefined ? [tip] : await firstParentChain(tip, lastApplied, gitdir, cache);
  const tmpDir = sourcePaths(options.stateDir).tmpDir;
  const principals = new Set<string>();
  for (let i = chain.length - 1; i >= 0; i--) {
    const commit = chain[i] as string;
    const below = i === chain.length - 1 ? lastApplied : chain[i + 1];
    const trust = await trustAt(below);
    if ("code" in trust) return fail({ ...trust, data: { ...trust.data, commit, tip } });
    const { commit: parsed } = await git.readCommit({ fs, gitdir, oid: commit, cache });
    if (parsed.committer.timestamp > options.now / 1000 + MAX_CLOCK_SKEW_SECONDS) {
      return fail({
        code: "SOURCE_FUTURE_COMMIT",
        message: `commit ${commit.slice(0, 12)} is dated in the future`,
        data: { commit, tip, committed: new Date(parsed.committer.timestamp * 1000).toISOString(), now: new Date(options.now).toISOString() },
        hint: "check the clocks of the committer's machine and of this node; re-commit with a correct date",
        retry: "stalled",
      });
    }
    const { object } = await git.readObject({ fs, gitdir, oid: commit, format: "content", cache });
    const verdict = await verifyCommitSignature(object as Uint8Array, trust.file, { tmpDir, ...(options.executor === undefined ? {} : { executor: options.executor }) });
    if (!verdict.ok) {
      return fail({ code: verdict.code, message: `commit ${commit.slice(0, 12)}: ${verdict.reason}`, data: { commit, tip, trust: trust.origin }, hint: HINTS[verdict.code], retry: "stalled" });
    }
    principals.add(verdict.principal);
    options.log?.debug({ commit, principal: verdict.principal, trust: trust.origin }, "commit verified");
  }
  // The tip's own trust file governs the next update: refuse one that is unusable now.
  const next = await trustAt(tip);
  if ("code" in next) return fail({ ...next, data: { ...next.data, commit: tip, tip } });
  options.log?.info({ tip, commits: chain.length, principals: [...principals] }, "history verified");
  return { revision: tip, ok: true, commits: chain.length };
}

/**
 * firstParentChain lists the commits to verify, newest first: the first-parent chain from
 * `tip` down to, excluding, `lastApplied`, or, when `lastApplied` is not on that chain, down to
 * the first commit that is one of its ancestors (or the root). The caller has established that
 * `tip` descends from `lastApplied`.
 */
export async function firstParentChain(tip: string, lastApplied: string, gitdir: string, cache: object): Promise<string[]> {
  const walk = async (stop: (oid: string) => boolean): Promise<string[] | undefined> => {
    const chain: string[] = [];
    let oid: string | undefined = tip;
    while (oid !== undefined && !stop(oid)) {
      if (chain.length >= MAX_CHAIN) throw new StewardError("SOURCE_PROTOCOL", "the history to verify is too long", { data: { tip, lastApplied, limit: MAX_CHAIN }, retry: "stalled" });
      chain.push(oid);
      const { commit } = await git.readCommit({ fs, gitdir, oid, cache });
      oid = commit.parent[0];
    }
    return oid === undefined ? undefined : chain;
  };
  const direct = await walk((oid) => oid === lastApplied);
  if (direct !== undefined) return direct;
  const ancestors = await ancestorSet(lastApplied, gitdir, cache);
  return (await walk((oid) => ancestors.has(oid))) ?? (await walkAll(tip, gitdir, cache));
}

async function walkAll(tip: string, gitdir: string, cache: object): Promise<string[]> {
  const chain: string[] = [];
  for (let oid: string | undefined = tip; oid !== undefined; ) {
    chain.push(oid);
    oid = (await git.readCommit({ fs, gitdir, oid, cache })).commit.parent[0];
  }
  return chain;
}

/** ancestorSet returns `oid` and every commit reachable from it. */
async function ancestorSet(oid: string, gitdir: string, cache: object): Promise<Set<string>> {
  const seen = new Set<string>([oid]);
  const queue = [oid];
  while (queue.length > 0) {
    const next = queue.pop() as string;
    const { commit } = await git.readCommit({ fs, gitdir, oid: next, cache });
    for (const p of commit.parent) {
      if (!seen.has(p)) {
        seen.add(p);
        queue.push(p);
      }
    }
  }
  return seen;
}

const HINTS = {
  SOURCE_UNSIGNED: "sign every commit on the branch (git commit -S with gpg.format=ssh) with a key listed in trust/allowed_signers",
  SOURCE_UNTRUSTED: "the signing key is not in the trust in force for this commit; a trust change must be signed by an already trusted key",
  SOURCE_BAD_SIGNATURE: "the signature does not verify: the commit was altered or signed for another namespace",
} as const;

function checkTrustBytes(bytes: Uint8Array, origin: string, file: string): SourceProblem | undefined {
  if (bytes.length > MAX_TRUST_BYTES) return trustProblem("the trust file is too large", { origin, file, size: bytes.length, limit: MAX_TRUST_BYTES }, "keep only admins' keys in the trust file");
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return trustProblem("the trust file is not UTF-8 text", { origin, file }, "write the trust file as plain text");
  }
  const check = checkAllowedSigners(text);
  if (check.problems.length > 0) return trustProblem("the trust file has lines ssh-keygen would ignore", { origin, file, problems: check.problems }, "fix each listed line: principals [options] keytype base64-key [comment]");
  if (check.entries === 0) return trustProblem("the trust file trusts nobody", { origin, file }, "list at least one admin key; an empty trust file would lock every admin out");
  return undefined;
}

function trustProblem(message: string, data: Record<string, unknown>, hint: string): SourceProblem {
  return { code: "SOURCE_TRUST_INVALID", message, data, hint, retry: "stalled" };
}
