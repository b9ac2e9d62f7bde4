/**
 * What `plan` and `apply` work on: a node's desired state, read either from a checkout
 * (`--dir`) or from a revision of the cluster repo that the source step fetched and verified
 * (the agent configuration, `--config`). Shared by both commands so they always agree.
 */
import git from "isomorphic-git";
import { gitFs } from "../source/repo.js";
import fs from "node:fs";
import { DEFAULT_CONFIG_PATH, loadConfig } from "../config.js";
import { StewardError, renderDiagnostic, type Diagnostic } from "../errors.js";
import { agentPaths } from "../manifest/paths.js";
import type { DesiredState } from "../manifest/types.js";
import { DEFAULT_STATE_DIR, desiredFromDir, desiredFromSource, hostLayout, type ContentStore, type SourceTarget } from "../reconcile.js";
import type { Decision } from "../source/choose.js";
import { runSource, type SourceResult } from "../source/source.js";
import { EXIT_PROBLEM, usageError, type Io, type Options } from "./command.js";

export const TARGET_OPTIONS: Options = {
  config: { type: "string" },
  dir: { type: "string" },
  node: { type: "string" },
  state: { type: "string" },
  rev: { type: "string" },
};

export const TARGET_USAGE = [
  "Where the manifest comes from:",
  `  (default)      the agent configuration (--config, default ${DEFAULT_CONFIG_PATH}): fetch every`,
  "                 remote, verify, and use the revision this node would run, as `steward fetch` says;",
  "                 when the new revision is held, the last applied one",
  "  --dir DIR      a checkout of the cluster repo instead (no git, no signature check)",
  "  --node NAME    the node (default: the configuration's `node`)",
  `  --state DIR    the state directory (default: the configuration's, else ${DEFAULT_STATE_DIR})`,
].join("\n");

export interface Target {
  readonly node: string;
  readonly stateDir: string;
  /** Absent when the manifest has errors (they are in `diagnostics`) or nothing can be read. */
  readonly desired: DesiredState | undefined;
  readonly diagnostics: readonly Diagnostic[];
  /** The bytes of the files the desired state installs, by SHA-256. */
  readonly contents?: ContentStore;
  /** Present when the manifest came from git. */
  readonly source?: {
    readonly result: SourceResult;
    /** The revision the desired state was read from. */
    readonly revision: string;
    /** `apply` the new revision, `unchanged`, or `hold` (desired state is the last applied revision). */
    readonly decision: Decision;
    /** The revision was named with --rev rather than chosen by the source step. */
    readonly requested: boolean;
    /** A new revision whose manifest is invalid; the last applied one is used instead. */
    readonly rejected?: SourceTarget["rejected"];
  };
}

/**
 * resolveTarget reads the options of plan/apply and produces the node's desired state. In
 * configuration mode it runs the source step (fetches; writes only the local repository).
 * `--rev` (plan only) reads any revision already in the local repository, unverified. A new
 * revision whose manifest is invalid leaves the last applied one as the target (`rejected`).
 * Throws USAGE for contradictory options, CONFIG_INVALID, and the hold reason's code (and
 * retry) when the source step holds and no revision was ever applied (there is nothing to read).
 */
export async function resolveTarget(values: Record<string, unknown>, io: Io, allowRev: boolean): Promise<Target> {
  const str = (k: string): string | undefined => (typeof values[k] === "string" && values[k] !== "" ? (values[k] as string) : undefined);
  const rev = str("rev");
  if (rev !== undefined && !allowRev) throw usageError("--rev is for plan only: apply runs verified revisions, as fetched");
  if (rev !== undefined && str("dir") !== undefined) throw usageError("--rev reads the fetched repository; it cannot be combined with --dir");

  const dir = str("dir");
  if (dir !== undefined) {
    // With --node, a checkout needs no configuration; without it, the configuration names the node.
    const configPath = str("config") ?? (str("node") === undefined && fs.existsSync(DEFAULT_CONFIG_PATH) ? DEFAULT_CONFIG_PATH : undefined);
    const config = configPath === undefined ? undefined : await loadConfig(configPath);
    const node = str("node") ?? config?.node;
    if (node === undefined) throw usageError(`--node is required with --dir (there is no ${DEFAULT_CONFIG_PATH} to name it)`);
    const stateDir = str("state") ?? config?.state ?? DEFAULT_STATE_DIR;
    const { desired, diagnostics, contents } = await desiredFromDir(dir, node);
    return { node, stateDir, desired: desired === undefined || config === undefined ? desired : { ...desired, host: hostLayout(config) }, diagnostics, contents };
  }

  const loaded = await loadConfig(str("config") ?? DEFAULT_CONFIG_PATH);
  const node = str("node") ?? loaded.node;
  const stateDir = str("state") ?? loaded.state;
  const config = stateDir === loaded.state ? loaded : { ...loaded, state: stateDir };
  const result = await runSource(config, { log: io.log });
  const target = await desiredFromSource(result, node, agentPaths(config), rev === undefined ? undefined : await resolveRevision(result.gitdir, rev), hostLayout(config));
  return {
    node,
    stateDir,
    desired: target.desired,
    diagnostics: target.diagnostics,
    contents: target.contents,
    source: { result, revision: target.revision, decision: result.decision, requested: rev !== undefined, ...(target.rejected === undefined ? {} : { rejected: target.rejected }) },
  };
}

/** resolveRevision expands a commit id (or a prefix, or a ref of the local repository) to a full id. */
async function resolveRevision(gitdir: string, rev: string): Promise<string> {
  try {
    if (/^[0-9a-f]{4,40}$/.test(rev)) return await git.expandOid({ fs: gitFs, gitdir, oid: rev });
    return await git.resolveRef({ fs: gitFs, gitdir, ref: rev });
  } catch (e) {
    throw new StewardError("SOURCE_NOT_FOUND", `revision ${rev} is not in the local repository`, { data: { rev, gitdir }, hint: "name a fetched commit, e.g. from `steward fetch --json`", cause: e });
  }
}

/**
 * reportInvalid prints why a target has no desired state (the manifest's diagnostics, as text
 * or as `{ok: false, diagnostics, source}`) and returns the exit status for it.
 */
export function reportInvalid(t: Target, json: boolean, io: Io): number {
  const source = sourceJson(t);
  if (json) io.out(JSON.stringify({ ok: false, diagnostics: t.diagnostics, ...(source === undefined ? {} : { source }) }, null, 2));
  else for (const d of t.diagnostics) io.err(renderDiagnostic(d));
  return EXIT_PROBLEM;
}

/** sourceJson is the `source` part of plan/apply JSON output. */
export function sourceJson(t: Target): Record<string, unknown> | undefined {
  if (t.source === undefined) return undefined;
  return {
    revision: t.source.revision,
    requested: t.source.requested,
    decision: t.source.decision,
    lastApplied: t.source.result.lastApplied ?? null,
    remotes: t.source.result.remotes,
    ...(t.source.rejected === undefined ? {} : { rejected: t.source.rejected }),
  };
}

/** sourceText is the line plan/apply print about where the manifest came from. */
export function sourceText(t: Target): string | undefined {
  const s = t.source;
  if (s === undefined) return undefined;
  const d = s.decision;
  if (s.requested) return `revision ${s.revision} (named with --rev; not verified)`;
  if (s.rejected !== undefined) {
    return `revision ${s.revision} (last applied; the new revision ${s.rejected.revision} from ${d.kind === "apply" ? d.remote : "a remote"} is signed but its manifest is invalid: ${s.rejected.diagnostics.filter((x) => x.severity === "error").length} problem(s), listed above)`;
  }
  switch (d.kind) {
    case "apply":
      return `revision ${s.revision} (new, from ${d.remote})`;
    case "unchanged":
      return `revision ${s.revision} (unchanged)`;
    case "hold":
      return `revision ${s.revision} (last applied; the new one is held: ${d.reason.code}: ${d.reason.message})`;
  }
}
