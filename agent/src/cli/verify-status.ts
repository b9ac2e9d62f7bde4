/**
 * `steward verify-status REF OLD NEW`: on the git server, check a push to a node's status
 * branch (hooks/pre-receive runs it; hooks/README.md, "Status branches").
 */
import { checkStatusPush } from "../status/report-push.js";
import { EXIT_OK, EXIT_PROBLEM, usageError, type Command } from "./command.js";

export const verifyStatusCommand: Command = {
  name: "verify-status",
  usage: [
    "usage: steward verify-status REF OLD NEW [--repo GITDIR] [--branch NAME] [--pusher ID] [--json]",
    "",
    "Checks an update of a node's status branch (REF = refs/heads/status/<node>) from OLD to NEW",
    "(object ids; all zeros for creation or deletion), as the pre-receive hook needs: the branch",
    "is never deleted or rewritten, and every new commit is signed by the key in",
    "nodes/<node>.yaml of the tracked branch and holds only status/<node>.yaml. A pusher",
    "identity <node>@steward may write only status/<node>.",
    "",
    "  --repo GITDIR  the repository (default: the one git finds, $GIT_DIR in a hook)",
    "  --branch NAME  the tracked branch whose manifest names the node keys (default main)",
    "  --pusher ID    who pushes (default: $STEWARD_PUSHER, else gitolite's $GL_USER, else",
    "                 http's $REMOTE_USER); <node>@steward is that node",
    "  --json         print {ok, node?, commits?, message?, commit?} as JSON",
    "",
    "Exit status: 0 accepted, 1 refused (STATUS_UNVERIFIED, with the reason), 2 usage.",
  ].join("\n"),
  options: { repo: { type: "string" }, branch: { type: "string" }, pusher: { type: "string" } },
  allowPositionals: true,
  async run(values, positionals, io) {
    const [ref, oldRev, newRev, ...extra] = positionals;
    if (ref === undefined || oldRev === undefined || newRev === undefined || extra.length > 0) throw usageError("verify-status takes REF OLD NEW");
    const env = process.env;
    const pusher = typeof values["pusher"] === "string" ? values["pusher"] : (env["STEWARD_PUSHER"] || env["GL_USER"] || env["REMOTE_USER"] || undefined);
    const branch = typeof values["branch"] === "string" ? values["branch"] : "main";
    const verdict = await checkStatusPush(ref, oldRev, newRev, {
      ...(typeof values["repo"] === "string" ? { gitdir: values["repo"] } : {}),
      tracked: `refs/heads/${branch}`,
      pusher,
    });
    if (values["json"] === true) io.out(JSON.stringify(verdict, null, 2));
    else if (verdict.ok) io.out(`${ref}: ${verdict.commits} report${verdict.commits === 1 ? "" : "s"} signed by ${verdict.node}'s key`);
    else {
      io.err(`steward verify-status: STATUS_UNVERIFIED: ${verdict.message}`);
      if (verdict.commit !== undefined) io.err(`  commit: ${verdict.commit}`);
      io.err(`  hint: ${verdict.hint}`);
    }
    return verdict.ok ? EXIT_OK : EXIT_PROBLEM;
  },
};
