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
import { MAX_OBSERVED_BYTES, observedFile, parseObserved, type ObservedRecord } from "./observed.js";

/** At most this many commits of one status branch are read (a month of 15-minute heartbeats is about 3,000). */
export const MAX_HISTORY = 20_000;

/** One report whose signature verified with the node's key. */
export interface ReadReport {
  readonly oid: string;
  readonly document: StatusDocument;
  /** Its observed state, when it was asked for and the commit has a readable one. */
  readonly observed?: ObservedRecord;
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
  return walkReports(gitdir, node, key, remote, cache, false, (read) => since !== undefined && !(read.ok && Date.parse(read.report.document.heartbeat) <= since));
}

/** The newest verified report that carries an observed state, and what was read to find it. */
export interface ObservedHistory extends NodeHistory {
  /** That report (its `observed` set); undefined when no verified report has one. */
  readonly observed: (ReadReport & { readonly observed: ObservedRecord }) | undefined;
}

/**
 * readLatestObserved reads `status/<node>` back from its tip to the newest verified report that
 * carries an observed state (observed.ts), at most MAX_HISTORY commits: the node's last word on
 * its host. `reports` lists the verified reports passed on the way, newest first. Side effects
 * as readNodeHistory.
 */
export async function readLatestObserved(gitdir: string, node: string, key: string | undefined, remote: string, cache: object): Promise<ObservedHistory> {
  const h = await walkReports(gitdir, node, key, remote, cache, true, (read) => !(read.ok && read.report.observed !== undefined));
  const found = h.reports.find((r) => r.observed !== undefined);
  return { ...h, observed: found?.observed === undefined ? undefined : { ...found, observed: found.observed } };
}

/**
 * walkReports walks the first-parent chain of the node's status branch from its tip, verifying
 * each commit with the node's key, while `more(read, n)` says so (and at most MAX_HISTORY
 * commits); with `observed`, each verified report's observed state is read too.
 */
async function walkReports(gitdir: string, node: string, key: string | undefined, remote: string, cache: object, observed: boolean, more: (read: Read, n: number) => boolean): Promise<NodeHistory> {
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
      const read = await readReport(gitdir, oid, node, trust, dir, cache, observed);
      if (n === 0) {
        if (read.ok) tip = read.report;
        else tipProblem = read.problem;
      }
      if (read.ok) reports.push(read.report);
      else refused += 1;
      if (!more(read, n)) break;
      oid = read.parent;
    }
    return { node, ref: found.ref, tip, tipProblem, reports, refused };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

type Read = { ok: true; report: ReadReport; parent: string | undefined } | { ok: false; problem: string; parent: string | undefined };

async function readReport(gitdir: string, oid: string, node: string, trust: string, tmpDir: string, cache: object, withObserved: boolean): Promise<Read> {
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
  const observed = withObserved ? await readObserved(gitdir, oid, node, cache) : undefined;
  return { ok: true, report: { oid, document, ...(observed === undefined ? {} : { observed }) }, parent };
}

/** readObserved reads a verified status commit's observed state; undefined when it has none that parses, or one for another node. */
async function readObserved(gitdir: string, oid: string, node: string, cache: object): Promise<ObservedRecord | undefined> {
  try {
    const { blob } = await git.readBlob({ fs: gitFs, gitdir, oid, filepath: observedFile(node), cache });
    if (blob.length > MAX_OBSERVED_BYTES) return undefined;
    const record = parseObserved(Buffer.from(blob).toString("utf8"));
    return record?.node === node ? record : undefined;
  } catch {
    return undefined;
  }
}
