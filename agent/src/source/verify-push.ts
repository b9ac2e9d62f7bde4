/**
 * The git server's check of an update of the tracked branch (push.ts decides): gathers the
 * facts with native git, which sees the pushed objects while they are still in quarantine
 * (cat-file.ts), and verifies chains with the nodes' own code (verify.ts).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StewardError } from "../errors.js";
import { systemExecutor, type Executor } from "../exec.js";
import type { Logger } from "../log.js";
import { openCatFile } from "./cat-file.js";
import { parseCommitHeader } from "./payload.js";
import { DEFAULT_PACK_LIMITS } from "./pack-guard.js";
import { judgeObjects, judgePush, type PushedObject, type PushFacts, type PushVerdict } from "./push.js";
import { createChainVerifier } from "./verify.js";

/** The most commits a rewrite may drop before the check gives up (verify.ts walks as many). */
export const MAX_DROPPED = 100_000;
const OID = /^[0-9a-f]{40}$/;
const ZERO = /^0+$/;

export interface PushCheckOptions {
  /** The repository (`git --git-dir`); by default the one git finds (GIT_DIR in a hook, else from the current directory). */
  readonly gitdir?: string;
  /** The bootstrap allowed_signers file the nodes use; needed for a new branch and wherever the repo has no trust file. */
  readonly bootstrapTrust?: string;
  /** The hint when the bootstrap file is needed but missing or unreadable. */
  readonly bootstrapHint: string;
  /** Keys that never verify (the nodes' `revoked:`). */
  readonly revoked?: string;
  /** Unix milliseconds: commit dates and key validity are judged at this instant. */
  readonly now: number;
  readonly executor?: Executor;
  readonly log?: Logger;
}

export interface PushCheck {
  readonly old: string | undefined;
  readonly tip: string;
  readonly facts: PushFacts;
  readonly verdict: PushVerdict;
}

/**
 * checkPush judges the update of the tracked branch from `oldRev` (undefined or all zeros for
 * a new branch) to `newRev` (revisions git can resolve; hooks pass object ids). Runs git
 * (rev-parse, rev-list, one cat-file --batch) and, for signatures in-process checks cannot
 * settle, ssh-keygen; writes trust files in a temporary directory under $TMPDIR that it removes.
 * Returns the facts and the verdict (a refusal is a verdict, not an exception). Throws
 * SOURCE_NOT_FOUND when a revision does not name an object, SOURCE_PROTOCOL when NEW is not a
 * commit or a rewrite drops more than MAX_DROPPED commits, EXEC_FAILED/EXEC_TIMEOUT when git
 * cannot be run.
 */
export async function checkPush(oldRev: string | undefined, newRev: string, options: PushCheckOptions): Promise<PushCheck> {
  const executor = options.executor ?? systemExecutor;
  const gitArgs = options.gitdir === undefined ? [] : [`--git-dir=${options.gitdir}`];
  const git = async (args: readonly string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> => {
    const r = await executor.run(["git", ...gitArgs, ...args], { timeoutMs: 60_000, ...(input === undefined ? {} : { input }) });
    if (r.spawnError !== undefined) throw new StewardError("EXEC_FAILED", "cannot run git", { data: { error: r.spawnError }, hint: "install git", retry: "stalled" });
    if (r.timedOut) throw new StewardError("EXEC_TIMEOUT", "git did not finish in time", { data: { args: args.slice(0, 2) }, retry: "transient" });
    return { code: r.exitCode, stdout: r.stdout, stderr: r.stderr };
  };
  const resolve = async (rev: string): Promise<string> => {
    if (OID.test(rev)) return rev;
    // `^{object}` does not peel a tag: a branch pointing at a tag object is refused below.
    const r = rev.startsWith("-") ? undefined : await git(["rev-parse", "--verify", "-q", `${rev}^{object}`]);
    const oid = r?.stdout.trim() ?? "";
    if (r?.code !== 0 || !OID.test(oid)) throw new StewardError("SOURCE_NOT_FOUND", `${rev} does not name an object in the repository`, { data: { revision: rev }, hint: "pass commit ids or revisions of this repository", retry: "stalled" });
    return oid;
  };
  const old = oldRev === undefined || ZERO.test(oldRev) ? undefined : await resolve(oldRev);
  const tip = await resolve(newRev);

  const stateDir = await mkdtemp(join(tmpdir(), "steward-verify-push-"));
  const objects = openCatFile(options.gitdir === undefined ? {} : { gitdir: options.gitdir });
  try {
    const header = async (oid: string): Promise<{ parents: readonly string[] }> => {
      let o;
      try {
        o = await objects.read(oid);
      } catch (e) {
        throw new StewardError("SOURCE_NOT_FOUND", `${oid} is not in the repository`, { data: { oid, error: e instanceof Error ? e.message : String(e) }, retry: "stalled" });
      }
      const h = o.type === "commit" ? parseCommitHeader(o.content) : undefined;
      if (h === undefined) throw new StewardError("SOURCE_PROTOCOL", `${oid} is ${o.type === "commit" ? "a commit whose header cannot be read" : `a ${o.type}, not a commit`}`, { data: { oid, type: o.type }, hint: "the tracked branch must point at a commit", retry: "stalled" });
      return h;
    };
    await header(tip);
    const verifier = createChainVerifier({
      gitdir: options.gitdir ?? process.cwd(),
      cache: {},
      objects,
      stateDir,
      bootstrapTrust: options.bootstrapTrust ?? "",
      bootstrapHint: options.bootstrapHint,
      ...(options.revoked === undefined ? {} : { revoked: options.revoked }),
      now: options.now,
      ...(options.executor === undefined ? {} : { executor: options.executor }),
      ...(options.log === undefined ? {} : { log: options.log }),
    });

    let facts: PushFacts;
    if (old === undefined) {
      facts = { kind: "create", tip, verification: await verifier.verify(tip, undefined) };
    } else if (old === tip) {
      facts = { kind: "unchanged", tip };
    } else {
      // Every commit the old tip has and the new one lacks: empty for a fast-forward.
      const listed = await git(["rev-list", `--max-count=${MAX_DROPPED + 1}`, old, "--not", tip]);
      if (listed.code !== 0) throw new StewardError("SOURCE_PROTOCOL", "git rev-list failed", { data: { old, tip, stderr: listed.stderr.slice(0, 2000) }, retry: "stalled" });
      const dropped = new Set(listed.stdout.split("\n").filter((l) => l !== ""));
      if (dropped.size > MAX_DROPPED) {
        throw new StewardError("SOURCE_PROTOCOL", `the update drops more than ${MAX_DROPPED} commits`, { data: { old, tip }, hint: "push a descendant of the branch instead", retry: "stalled" });
      }
      if (dropped.size === 0) {
        facts = { kind: "fast-forward", old, tip, verification: await verifier.verify(tip, old) };
      } else {
        let firstDropped = old;
        let kept: string | undefined = old;
        while (kept !== undefined && dropped.has(kept)) {
          firstDropped = kept;
          kept = (await header(kept)).parents[0];
        }
        facts =
          kept === undefined
            ? { kind: "rewrite", old, tip, dropped: dropped.size, firstDropped, kept }
            : {
                kind: "rewrite",
                old,
                tip,
                dropped: dropped.size,
                firstDropped,
                kept,
                // As a node that applied `kept` would judge each side.
                oldVerification: await verifier.verify(old, kept),
                verification: await verifier.verify(tip, kept),
              };
      }
    }
    const pushed = facts.kind === "unchanged" ? [] : await pushedObjects(git, tip, old);
    const tooBig = judgeObjects(pushed, DEFAULT_PACK_LIMITS);
    return { old, tip, facts, verdict: tooBig === undefined ? judgePush(facts) : { ok: false, kind: facts.kind, problem: tooBig } };
  } finally {
    await objects.close();
    await rm(stateDir, { recursive: true, force: true });
  }
}

/**
 * pushedObjects lists the objects reachable from `tip` and not from `old` (all of them for a new
 * branch) with their types, sizes and, for blobs and trees, a path: `git rev-list --objects`
 * then `git cat-file --batch-check`. At most one more than the node's object limit is listed.
 */
async function pushedObjects(git: (args: readonly string[], input?: string) => Promise<{ code: number | null; stdout: string; stderr: string }>, tip: string, old: string | undefined): Promise<PushedObject[]> {
  const listed = await git(["rev-list", "--objects", tip, ...(old === undefined ? [] : ["--not", old])]);
  if (listed.code !== 0) throw new StewardError("SOURCE_PROTOCOL", "git rev-list --objects failed", { data: { tip, stderr: listed.stderr.slice(0, 2000) }, retry: "stalled" });
  const paths = new Map<string, string>();
  const oids: string[] = [];
  for (const line of listed.stdout.split("\n")) {
    const oid = line.slice(0, 40);
    if (!OID.test(oid)) continue;
    oids.push(oid);
    if (line.length > 41) paths.set(oid, line.slice(41));
    if (oids.length > DEFAULT_PACK_LIMITS.maxObjects) break;
  }
  if (oids.length === 0) return [];
  const checked = await git(["cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)"], `${oids.join("\n")}\n`);
  if (checked.code !== 0) throw new StewardError("SOURCE_PROTOCOL", "git cat-file --batch-check failed", { data: { stderr: checked.stderr.slice(0, 2000) }, retry: "stalled" });
  return checked.stdout
    .split("\n")
    .map((l) => l.split(" "))
    .filter((f) => f.length === 3 && OID.test(f[0] as string))
    .map(([oid, type, size]) => ({ oid: oid as string, type: type as string, size: Number(size), ...(paths.has(oid as string) ? { path: paths.get(oid as string) as string } : {}) }));
}
