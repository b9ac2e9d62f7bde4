/**
 * `steward fetch`: run the source step once and say which revision this node would run, from
 * which remote, what each remote answered — or why the last applied revision is kept.
 * Exit 0 when a revision is chosen (new or unchanged), 1 when held.
 */
import { DEFAULT_CONFIG_PATH, loadConfig } from "../config.js";
import type { SourceProblem } from "../source/choose.js";
import { describeProblem } from "../source/problem-text.js";
import { runSource, type RemoteReport, type SourceResult } from "../source/source.js";
import { recordApplied } from "../source/state.js";
import { EXIT_OK, EXIT_PROBLEM, type Command } from "./command.js";

const USAGE = `usage: steward fetch [--config FILE] [--json] [--record]

Fetch the tracked branch from every remote in the agent configuration, check that the new
tip descends from the last applied revision, that the remotes agree, and that every commit
since the last applied one is signed by a trusted key; print the revision chosen.

options:
  --config FILE  agent configuration (default ${DEFAULT_CONFIG_PATH})
  --json         print the result as JSON
  --record       record the chosen revision as applied (bootstrap and tests; the apply
                 step records revisions itself)

Exit status: 0 a revision is chosen (new or unchanged), 1 the last applied one is held
(the reason is printed), 2 usage error, 3 internal error.

Configuration example (state: must be absolute; the other paths may be relative to the
configuration's folder; the trust file, revocation list, keys and known_hosts files are
checked when it is read):
  node: alpha
  state: /var/db/steward
  branch: main
  trust: /usr/local/etc/steward/allowed_signers
  revoked: /usr/local/etc/steward/revoked_keys     # optional
  timeout: 30
  backup_known_hosts: /usr/local/etc/steward/backup_known_hosts   # optional: peers, remote stores
  backup_identity: /usr/local/etc/steward/backup.age   # optional: decrypts remote copies (drills)
  remotes:
    - name: origin
      url: ssh://git@git.home.arpa:22/srv/git/cluster.git
      key: /usr/local/etc/steward/id_ed25519
      known_hosts: /usr/local/etc/steward/known_hosts
    - name: mirror
      url: /mnt/mirror/cluster.git`;

export const fetchCommand: Command = {
  name: "fetch",
  usage: USAGE,
  options: {
    config: { type: "string" },
    record: { type: "boolean" },
  },
  allowPositionals: false,
  async run(values, _positionals, io) {
    // An invalid configuration throws CONFIG_INVALID; runCommand prints every problem.
    const config = await loadConfig(typeof values["config"] === "string" ? values["config"] : DEFAULT_CONFIG_PATH);
    const result = await runSource(config, { log: io.log });
    const chosen = result.decision.kind !== "hold";
    let recorded = false;
    if (values["record"] === true && chosen && result.decision.revision !== undefined) {
      await recordApplied(config.state, result.decision.revision);
      recorded = true;
    }
    if (values["json"] === true) io.out(JSON.stringify(toJson(result, recorded), null, 2));
    else io.out(renderText(result, recorded));
    return chosen ? EXIT_OK : EXIT_PROBLEM;
  },
};

function toJson(r: SourceResult, recorded: boolean): Record<string, unknown> {
  return {
    ok: r.decision.kind !== "hold",
    decision: r.decision,
    lastApplied: r.lastApplied ?? null,
    recorded,
    remotes: r.remotes,
    ...(r.verification === undefined ? {} : { verification: r.verification }),
  };
}

/**
 * renderText prints the decision, the facts behind its reason (problem-text.ts) and its hint,
 * then one line per remote: its standing and, when it failed or was refused, its problem; under
 * that line, the facts and hint of a problem not already printed for the decision. A hint is
 * printed once, next to the remote it belongs to.
 */
function renderText(r: SourceResult, recorded: boolean): string {
  const d = r.decision;
  const lines: string[] = [];
  const remoteHints = new Set(r.remotes.flatMap((x) => [x.error?.hint, x.refused?.hint]).filter((h): h is string => h !== undefined));
  const printed = new Set<string>();
  const explain = (p: SourceProblem, indent: string, hint: boolean): void => {
    for (const l of describeProblem(p)) lines.push(`${indent}${l}`);
    if (hint && p.hint !== undefined && !printed.has(p.hint)) {
      lines.push(`${indent}hint: ${p.hint}`);
      printed.add(p.hint);
    }
  };
  const isReason = (p: SourceProblem | undefined): boolean => d.kind === "hold" && p !== undefined && sameProblem(p, d.reason);
  switch (d.kind) {
    case "apply":
      lines.push(`apply ${d.revision} from ${d.remote}${r.lastApplied === undefined ? " (first revision)" : ` (after ${r.lastApplied})`}`);
      break;
    case "unchanged":
      lines.push(`unchanged ${d.revision}`);
      break;
    case "hold": {
      lines.push(`hold ${d.revision ?? "(nothing applied yet)"}: ${d.reason.code}: ${d.reason.message}`);
      // A hold that sums up the remotes' failures borrows a remote's hint: print it by that remote.
      const own = r.remotes.some((x) => isReason(x.refused)) || d.reason.hint === undefined || !remoteHints.has(d.reason.hint);
      explain(d.reason, "  ", own);
      break;
    }
  }
  if (recorded) lines.push("recorded as applied");
  const width = Math.max(0, ...r.remotes.map((x) => x.name.length));
  for (const x of r.remotes) {
    const problem = x.error ?? x.refused;
    lines.push(`  ${x.name.padEnd(width)}  ${remoteLine(x, isReason(problem))}`);
    if (problem !== undefined && !isReason(problem)) explain(problem, " ".repeat(width + 14), true);
  }
  return lines.join("\n");
}

/**
 * remoteLine is one remote on one line: its standing, its tip or its problem, and where it is.
 * A problem that is the hold's reason, printed in full above, is named by its code only.
 */
function remoteLine(x: RemoteReport, isReason: boolean): string {
  const standing = x.standing.padEnd(8);
  const problem = (p: SourceProblem | undefined): string => (p === undefined ? "" : isReason ? `${p.code} (the reason above)` : `${p.code}: ${p.message}`);
  if (!x.ok) return `${standing}  ${problem(x.error)}  (${x.location})`;
  const tip = x.tip ?? "";
  switch (x.standing) {
    case "behind":
      return `${standing}  ${tip}  older than the last applied revision: a stale copy, ignored  (${x.location})`;
    case "refused":
      return `${standing}  ${tip}  ${problem(x.refused)}; ignored  (${x.location})`;
    default:
      return `${standing}  ${tip}  (${x.location})`;
  }
}

function sameProblem(a: SourceProblem, b: SourceProblem): boolean {
  return a === b || (a.code === b.code && a.message === b.message);
}
