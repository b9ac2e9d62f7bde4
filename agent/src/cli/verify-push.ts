/**
 * `steward verify-push OLD NEW`: check an update of the tracked branch as the nodes will check
 * it, on the git server before any node sees it (hooks/pre-receive runs it; hooks/README.md).
 * Exit 0 accepted, 1 refused (the reason printed with its code), 2 usage, 3 internal.
 */
import { assertNever } from "../plan/assert-never.js";
import type { SourceProblem } from "../source/choose.js";
import type { PushVerdict } from "../source/push.js";
import { checkPush, type PushCheck } from "../source/verify-push.js";
import { EXIT_OK, EXIT_PROBLEM, usageError, type Command } from "./command.js";

const USAGE = `usage: steward verify-push OLD NEW [--repo GITDIR] [--trust FILE] [--revoked FILE] [--json]

Checks an update of the tracked branch from OLD to NEW with the nodes' own rules, so that a
commit every node would refuse is refused when it is pushed. The git server's pre-receive hook
runs it (hooks/README.md). OLD and NEW are commit ids or revisions of the repository; OLD is
0000000000000000000000000000000000000000 when the branch is created.

  fast-forward  every first-parent commit after OLD must be signed by a key that the
                trust/allowed_signers of the commit before it admits, and dated sensibly
                (not in the future, not well before its parent);
  new branch    NEW must be signed by a key in the bootstrap trust file (--trust), as a
                node's first run checks it;
  rewrite       accepted only when the oldest commit it drops from OLD's first-parent chain
                is one the nodes refuse (so no node applied it or anything after it), and
                the commits from there to NEW verify as a fast-forward does.

Objects are read with native git (git cat-file --batch), which sees a push that git still
holds in quarantine while pre-receive runs.

options:
  --repo GITDIR   the repository (default: the one git finds: $GIT_DIR in a hook, else from
                  the current directory)
  --trust FILE    the bootstrap allowed_signers file of the nodes: required for a new branch,
                  and used for any commit whose parent has no trust/allowed_signers
  --revoked FILE  keys that never verify (the nodes' revoked: file)
  --json          print {ok, kind, old, new, commits, dropped?, problem?} as JSON

Exit status: 0 accepted, 1 refused (the reason is printed with its code and commit),
2 usage error, 3 internal error.`;

const HINT_TRUST = "pass --trust FILE, the allowed_signers file the nodes bootstrap with (on the git server: git config steward.trust /path/allowed_signers)";

export const verifyPushCommand: Command = {
  name: "verify-push",
  usage: USAGE,
  options: {
    repo: { type: "string" },
    trust: { type: "string" },
    revoked: { type: "string" },
  },
  allowPositionals: true,
  async run(values, positionals, io) {
    const [oldRev, newRev, ...extra] = positionals;
    if (oldRev === undefined || newRev === undefined || extra.length > 0) throw usageError("verify-push takes two revisions: OLD NEW");
    if (/^0+$/.test(newRev)) throw usageError("NEW is the zero id (the branch is deleted): there is nothing to verify");
    const trust = typeof values["trust"] === "string" ? values["trust"] : undefined;
    if (/^0+$/.test(oldRev) && trust === undefined) throw usageError(`a new branch is judged by the bootstrap trust file: ${HINT_TRUST}`);
    const check = await checkPush(oldRev, newRev, {
      ...(typeof values["repo"] === "string" ? { gitdir: values["repo"] } : {}),
      ...(trust === undefined ? {} : { bootstrapTrust: trust }),
      bootstrapHint: HINT_TRUST,
      ...(typeof values["revoked"] === "string" ? { revoked: values["revoked"] } : {}),
      now: Date.now(),
      log: io.log,
    });
    const v = check.verdict;
    if (values["json"] === true) io.out(JSON.stringify(toJson(check), null, 2));
    else if (v.ok) io.out(summary(check, v));
    else for (const line of refusal(v.problem)) io.err(line);
    return v.ok ? EXIT_OK : EXIT_PROBLEM;
  },
};

function toJson(c: PushCheck): Record<string, unknown> {
  const v = c.verdict;
  return {
    ok: v.ok,
    kind: v.kind,
    old: c.old ?? null,
    new: c.tip,
    ...(v.ok ? { commits: v.commits, ...(v.dropped === undefined ? {} : { dropped: v.dropped }) } : { problem: v.problem }),
  };
}

/** summary says, in one line, what was checked for an accepted update. */
function summary(c: PushCheck, v: Extract<PushVerdict, { ok: true }>): string {
  const n = `${v.commits} commit${v.commits === 1 ? "" : "s"}`;
  const f = c.facts;
  switch (f.kind) {
    case "unchanged":
      return `${short(c.tip)} is unchanged: nothing to verify`;
    case "create":
      return `verified the signature and date of ${short(c.tip)}, the new branch's tip, against the bootstrap trust file (as a node's first run does)`;
    case "fast-forward":
      return `verified the signatures and dates of ${n} (${short(f.old)}..${short(f.tip)}), each against the trust of the commit before it`;
    case "rewrite": {
      const d = v.dropped;
      const why = d === undefined ? "" : `: ${d.commits === 1 ? "the dropped commit was" : `the ${d.commits} dropped commits were`} never applied (nodes refuse ${short(d.first)}: ${d.refusedAs.code})`;
      return `rewrite of ${short(f.old)} accepted${why}; verified the signatures and dates of ${n} (${short(f.kept ?? "")}..${short(f.tip)}), each against the trust of the commit before it`;
    }
    default:
      return assertNever(f, "push kind");
  }
}

/** refusal renders a refused update's problem: code and message, the commit in full, the hint. */
function refusal(p: SourceProblem): string[] {
  const commit = p.data["commit"];
  return [
    `steward verify-push: ${p.code}: ${p.message}`,
    ...(typeof commit === "string" ? [`  commit: ${commit}`] : []),
    ...(p.hint === undefined ? [] : [`  hint: ${p.hint}`]),
  ];
}

function short(oid: string): string {
  return oid.slice(0, 12);
}
