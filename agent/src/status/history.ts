/**
 * Reading nodes' status branches where an admin reads them: a clone of the cluster repo after
 * `git fetch` (docs/agent.md, "Reading status"). Every report is checked against the node's
 * key from the manifest (`nodes/<node>.yaml` key:) before anything in it is believed: a report
 * that does not verify is counted and skipped, so a forged branch can hide a node's reports but
 * never put words in its mouth.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import git from "isomorphic-git";
import { gitFs, resolveOrUndefined } from "../source/repo.js";
import { verifyCommitSignature } from "../source/signature.js";
import { statusBranch, statusFile } from "./commit.js";
import { parseStatus, type StatusDocument } from "./document.js";

/** At most this many commits of one status branch are read (a month of 15-minute heartbeats is about 3,000). */
export const MAX_HISTORY = 20_000;

/** One report whose signature verified with the node's key. */
export interface ReadReport {
  readonly oid: string;
  readonly document: StatusDocument;
}

export interface NodeHistory {
  readonly node: string;
  /** The ref the branch was read from; undefined when the node has no status branch here. */
  readonly ref: string | undefined;
  /** The tip's report when it verifies; undefined otherwise. */
  readonly tip: ReadReport | undefined;
  /** Why the tip is not believed (no key in the manifest, not signed by the node's key, no document). */
  readonly tipProblem: string | undefined;
  /** Verified reports, newest first, down to the first one at or before `since`. */
  readonly reports: readonly ReadReport[];
  /** Commits read that did not verify or held no report. */
  readonly refused: number;
}

/** The refs a clone may hold a branch under, preferred first: what `git fetch` brought, then a local branch. */
export function candidateRefs(branch: string, remote: string): string[] {
  return [`refs/remotes/${remote}/${branch}`, `refs/heads/${branch}`];
}

/** resolveBranch finds `branch` in the clone (candidateRefs order). */
export async function resolveBranch(gitdir: string, branch: string, remote: string): Promise<{ ref: string; oid: string } | undefined> {
  for (const ref of candidateRefs(branch, remote)) {
    const oid = await resolveOrUndefined(gitdir, ref);
    if (oid !== undefined) return { ref, oid };
  }
  return undefined;
}

/**
 * readNodeHistory reads `status/<node>` of the clone at `gitdir`: the tip, and with `since`
 * (Unix ms) the reports back to the first at or before it (first parents, at most MAX_HISTORY
 * commits). `key` is the node's public key line from the manifest; without it nothing
 * verifies. Side effects: a temporary trust file, removed before returning.
 */
export async function readNodeHistory(gitdir: string, node: string, key: string | undefined, remote: string, since: number | undefined, cache: object): Promise<NodeHistory> {
  const found = await resolveBranch(gitdir, statusBranch(node), remote);
  if (found === undefined) return { node, ref: undefined, tip: undefined, tipProblem: "no status branch (has the node run? did you git fetch?)", reports: [], refused: 0 };
  if (key === undefined) return { node, ref: found.ref, tip: undefined, tipProblem: `no key: in nodes/${node}.yaml to verify its reports with`, reports: [], refused: 0 };
  const dir = await mkdtemp(join(tmpdir(), "steward-status-"));
  try {
    const trust = join(dir, "allowed_signers");
    const [type, base64] = key.split(" ");
    await writeFile(trust, `${node}@steward namespaces="git" ${type ?? ""} ${base64 ?? ""}\n`, { mode: 0o600 });
    const reports: ReadReport[] = [];
    let refused = 0;
    let tip: ReadReport | undefined;
    let tipProblem: string | undefined;
    let oid: string | undefined = found.oid;
    for (let n = 0; oid !== undefined && n < MAX_HISTORY; n += 1) {
      const read = await readReport(gitdir, oid, node, trust, dir, cache);
      if (n === 0) {
        if (read.ok) tip = read.report;
        else tipProblem = read.problem;
      }
      if (read.ok) reports.push(read.report);
      else refused += 1;
      if (since === undefined) break;
      if (read.ok && Date.parse(read.report.document.heartbeat) <= since) break;
      oid = read.parent;
    }
    return { node, ref: found.ref, tip, tipProblem, reports, refused };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

type Read = { ok: true; report: ReadReport; parent: string | undefined } | { ok: false; problem: string; parent: string | undefined };

async function readReport(gitdir: string, oid: string, node: string, trust: string, tmpDir: string, cache: object): Promise<Read> {
  const raw = await git.readObject({ fs: gitFs, gitdir, oid, format: "content", cache });
  if (raw.type !== "commit") return { ok: false, problem: `${oid} is not a commit`, parent: undefined };
  const { commit } = await git.readCommit({ fs: gitFs, gitdir, oid, cache });
  const parent = commit.parent[0];
  const verdict = await verifyCommitSignature(raw.object as Uint8Array, trust, { tmpDir });
  if (!verdict.ok) return { ok: false, problem: `${oid.slice(0, 12)} is not signed by ${node}'s key (${verdict.code}: ${verdict.reason})`, parent };
  if (verdict.principal !== `${node}@steward`) return { ok: false, problem: `${oid.slice(0, 12)} is signed by ${verdict.principal}, not ${node}`, parent };
  let document: StatusDocument | undefined;
  try {
    const { blob } = await git.readBlob({ fs: gitFs, gitdir, oid, filepath: statusFile(node), cache });
    document = parseStatus(Buffer.from(blob).toString("utf8"));
  } catch {
    document = undefined;
  }
  if (document === undefined || document.node !== node) return { ok: false, problem: `${oid.slice(0, 12)} holds no status document for ${node}`, parent };
  return { ok: true, report: { oid, document }, parent };
}
