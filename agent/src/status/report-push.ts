/**
 * The git server's check of a push to a status branch (hooks/pre-receive runs it through
 * `steward verify-status`; hooks/README.md, "Status branches"). A node may write only its own
 * reports: every new commit on `status/<node>` must be signed by the key in the tracked
 * branch's `nodes/<node>.yaml` and hold nothing but `status/<node>.yaml` and, optionally, the
 * node's observed state `status/<node>.observed.json`; the branch only moves
 * forward and is never deleted. When the server knows who pushes (`<node>@steward` in
 * STEWARD_PUSHER, gitolite's GL_USER or http's REMOTE_USER), a node identity may push its own
 * status branch and nothing else: the hook refuses its other refs before this runs.
 *
 * judgeStatusPush decides (pure); checkStatusPush gathers the facts with native git, which
 * sees the pushed objects in quarantine (cat-file.ts), and the nodes' signature check.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { StewardError } from "../errors.js";
import { systemExecutor, type Executor } from "../exec.js";
import { openCatFile } from "../source/cat-file.js";
import { parseTree } from "../source/objects.js";
import { parseCommitHeader } from "../source/payload.js";
import { verifyCommitSignature } from "../source/signature.js";
import { statusFile } from "./commit.js";
import { observedFile } from "./observed.js";

/** The most new commits one push of a status branch may carry (a year of 15-minute heartbeats is 35,000). */
export const MAX_STATUS_PUSH_COMMITS = 50_000;
const OID = /^[0-9a-f]{40}$/;
const ZERO = /^0+$/;
const NODE = /^[a-z](?:[a-z0-9-]{0,22}[a-z0-9])?$/;

/** nodeOfStatusRef names the node of `refs/heads/status/<node>`, or undefined for another ref. */
export function nodeOfStatusRef(ref: string): string | undefined {
  const m = /^refs\/heads\/status\/(.+)$/.exec(ref);
  return m !== null && NODE.test(m[1] as string) ? m[1] : undefined;
}

/** nodeOfPusher names the node a pusher identity stands for (`alpha@steward`), or undefined for a person. */
export function nodeOfPusher(pusher: string | undefined): string | undefined {
  const m = pusher === undefined ? null : /^(.+)@steward$/.exec(pusher);
  return m !== null && NODE.test(m[1] as string) ? m[1] : undefined;
}

export interface StatusPushFacts {
  readonly ref: string;
  /** Whoever the server says pushes, if it says. */
  readonly pusher: string | undefined;
  readonly deleting: boolean;
  /** The old tip is an ancestor of the new one (true for a new branch). */
  readonly fastForward: boolean;
  /** The node's key line in the tracked branch's manifest; undefined when it has none (or no such node). */
  readonly key: string | undefined;
  /** Each new commit, oldest first: whether it verifies as the node's and holds only its report. */
  readonly commits: readonly { readonly oid: string; readonly signedByNode: boolean | string; readonly onlyReport: boolean }[];
}

export type StatusPushVerdict = { readonly ok: true; readonly node: string; readonly commits: number } | { readonly ok: false; readonly message: string; readonly hint: string; readonly commit?: string };

/** judgeStatusPush decides on the facts above. Pure. */
export function judgeStatusPush(f: StatusPushFacts): StatusPushVerdict {
  const node = nodeOfStatusRef(f.ref);
  if (node === undefined) return { ok: false, message: `${f.ref} is not a node's status branch`, hint: "status branches are refs/heads/status/<node>" };
  const pusherNode = nodeOfPusher(f.pusher);
  if (pusherNode !== undefined && pusherNode !== node) return { ok: false, message: `${f.pusher ?? ""} may push only status/${pusherNode}, not ${f.ref}`, hint: "each node writes its own status branch only" };
  if (f.deleting) return { ok: false, message: `${f.ref} cannot be deleted: it is ${node}'s audit trail`, hint: "delete it on the server itself if you mean it (git update-ref -d)" };
  if (!f.fastForward) return { ok: false, message: `${f.ref}: the update is not a fast-forward; reports are never rewritten`, hint: "the agent rebuilds its reports on the server's tip by itself; a push that rewrites them is not the agent's" };
  if (f.key === undefined) return { ok: false, message: `nodes/${node}.yaml on the tracked branch has no key: to check ${node}'s reports with`, hint: `add the node's public key (steward init prints it) as key: in nodes/${node}.yaml` };
  for (const c of f.commits) {
    if (c.signedByNode !== true) return { ok: false, message: `${c.oid} is not signed by ${node}'s key${typeof c.signedByNode === "string" ? ` (${c.signedByNode})` : ""}`, hint: `only the node writes status/${node}; its key is the one in nodes/${node}.yaml`, commit: c.oid };
    if (!c.onlyReport) return { ok: false, message: `${c.oid} holds more than ${statusFile(node)} and ${observedFile(node)}`, hint: "a status commit holds exactly the node's report and, optionally, its observed state", commit: c.oid };
  }
  return { ok: true, node, commits: f.commits.length };
}

export interface StatusPushOptions {
  readonly gitdir?: string;
  /** The tracked branch, whose `nodes/<node>.yaml` names the node's key (default refs/heads/main). */
  readonly tracked: string;
  readonly pusher: string | undefined;
  readonly executor?: Executor;
}

/**
 * checkStatusPush gathers the facts of an update of `ref` from `oldRev` to `newRev` (object
 * ids; all zeros for creation or deletion) and judges them. Runs git (rev-parse, merge-base,
 * rev-list and one cat-file --batch); writes one trust file in a temporary directory that it
 * removes. Throws EXEC_FAILED/EXEC_TIMEOUT when git cannot run, STATUS_UNVERIFIED when the
 * update carries more than MAX_STATUS_PUSH_COMMITS commits.
 */
export async function checkStatusPush(ref: string, oldRev: string, newRev: string, options: StatusPushOptions): Promise<StatusPushVerdict> {
  const executor = options.executor ?? systemExecutor;
  const gitArgs = options.gitdir === undefined ? [] : [`--git-dir=${options.gitdir}`];
  const git = async (args: readonly string[]): Promise<{ code: number | null; stdout: string }> => {
    const r = await executor.run(["git", ...gitArgs, ...args], { timeoutMs: 60_000 });
    if (r.spawnError !== undefined) throw new StewardError("EXEC_FAILED", "cannot run git", { data: { error: r.spawnError }, hint: "install git", retry: "stalled" });
    if (r.timedOut) throw new StewardError("EXEC_TIMEOUT", "git did not finish in time", { data: { args: args.slice(0, 2) }, retry: "transient" });
    return { code: r.exitCode, stdout: r.stdout };
  };
  const node = nodeOfStatusRef(ref);
  const base = { ref, pusher: options.pusher, key: undefined, commits: [] };
  if (node === undefined) return judgeStatusPush({ ...base, deleting: false, fastForward: true });
  if (ZERO.test(newRev)) return judgeStatusPush({ ...base, deleting: true, fastForward: true });
  if (!OID.test(newRev) || !(ZERO.test(oldRev) || OID.test(oldRev))) throw new StewardError("USAGE", "OLD and NEW must be object ids", { hint: "the hook passes what git gives it" });
  const old = ZERO.test(oldRev) ? undefined : oldRev;
  const fastForward = old === undefined || (await git(["merge-base", "--is-ancestor", old, newRev])).code === 0;
  if (!fastForward) return judgeStatusPush({ ...base, deleting: false, fastForward });

  const objects = openCatFile(options.gitdir === undefined ? {} : { gitdir: options.gitdir });
  const dir = await mkdtemp(join(tmpdir(), "steward-verify-status-"));
  try {
    const key = await nodeKey(objects, git, options.tracked, node);
    if (key === undefined) return judgeStatusPush({ ...base, deleting: false, fastForward });
    const listed = await git(["rev-list", "--reverse", `--max-count=${MAX_STATUS_PUSH_COMMITS + 1}`, newRev, ...(old === undefined ? [] : ["--not", old])]);
    const oids = listed.stdout.split("\n").filter((l) => OID.test(l));
    if (oids.length > MAX_STATUS_PUSH_COMMITS) throw new StewardError("STATUS_UNVERIFIED", `the update carries more than ${MAX_STATUS_PUSH_COMMITS} commits`, { retry: "stalled" });
    const trust = join(dir, "allowed_signers");
    const [type, base64] = key.split(" ");
    await writeFile(trust, `${node}@steward namespaces="git" ${type ?? ""} ${base64 ?? ""}\n`, { mode: 0o600 });
    const commits = [];
    for (const oid of oids) {
      const o = await objects.read(oid);
      const header = o.type === "commit" ? parseCommitHeader(o.content) : undefined;
      const verdict = o.type === "commit" ? await verifyCommitSignature(o.content, trust, { tmpDir: dir, executor }) : undefined;
      const signedByNode = verdict === undefined ? "not a commit" : verdict.ok ? (verdict.principal === `${node}@steward` ? true : `signed as ${verdict.principal}`) : `${verdict.code}: ${verdict.reason}`;
      commits.push({ oid, signedByNode, onlyReport: header !== undefined && (await holdsOnlyReport(objects, header.tree, node)) });
      if (signedByNode !== true) break;
    }
    return judgeStatusPush({ ...base, key, deleting: false, fastForward, commits });
  } finally {
    await objects.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/** nodeKey reads `key:` of nodes/<node>.yaml at the tip of the tracked branch; undefined when there is none. */
async function nodeKey(objects: ReturnType<typeof openCatFile>, git: (args: readonly string[]) => Promise<{ code: number | null; stdout: string }>, tracked: string, node: string): Promise<string | undefined> {
  const r = await git(["rev-parse", "--verify", "-q", `${tracked}:nodes/${node}.yaml`]);
  const oid = r.stdout.trim();
  if (r.code !== 0 || !OID.test(oid)) return undefined;
  try {
    const blob = await objects.read(oid);
    if (blob.type !== "blob" || blob.content.length > 1024 * 1024) return undefined;
    const value: unknown = parse(Buffer.from(blob.content).toString("utf8"), { maxAliasCount: 0 });
    const key = typeof value === "object" && value !== null ? (value as Record<string, unknown>)["key"] : undefined;
    return typeof key === "string" ? key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * holdsOnlyReport says whether a commit's tree is exactly `status/<node>.yaml`, with or without
 * `status/<node>.observed.json`: regular files, nothing else.
 */
async function holdsOnlyReport(objects: ReturnType<typeof openCatFile>, tree: string, node: string): Promise<boolean> {
  try {
    const top = parseTree((await objects.read(tree)).content);
    if (top.length !== 1 || top[0]?.path !== "status" || top[0].type !== "tree") return false;
    const inner = parseTree((await objects.read(top[0].oid)).content);
    const allowed = new Set([`${node}.yaml`, `${node}.observed.json`]);
    const file = (e: (typeof inner)[number]): boolean => allowed.has(e.path) && e.type === "blob" && e.mode === "100644";
    return inner.some((e) => e.path === `${node}.yaml`) && new Set(inner.map((e) => e.path)).size === inner.length && inner.every(file);
  } catch {
    return false;
  }
}
