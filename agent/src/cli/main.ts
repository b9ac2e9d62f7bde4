#!/usr/bin/env node
/**
 * The `steward` command: finds the subcommand and hands it the rest of argv. One file per
 * subcommand, each exporting a `Command`, loaded only when it runs.
 * Exit codes: 0 success, 1 the command ran and found a problem, 2 usage, 3 internal error.
 */
import { runCommand, type CommandEntry } from "./command.js";

/** Subcommands in the order of the flow; `steward --help` lists them in this order. */
const COMMANDS: readonly CommandEntry[] = [
  { name: "init", summary: "bootstrap this node: its key, its configuration, the server's pinned host key", load: async () => (await import("./init.js")).initCommand },
  { name: "fetch", summary: "fetch and verify the cluster repo; print the revision this node would run", load: async () => (await import("./fetch.js")).fetchCommand },
  { name: "validate", summary: "check a cluster repo offline: YAML, schema, references (exit 0 valid, 1 invalid)", load: async () => (await import("./validate.js")).validateCommand },
  { name: "verify-push", summary: "on the git server: check an update of the branch as the nodes will (signatures, trust, rewrites)", load: async () => (await import("./verify-push.js")).verifyPushCommand },
  { name: "verify-status", summary: "on the git server: check a push to status/<node> (the node's key only, never rewritten)", load: async () => (await import("./verify-status.js")).verifyStatusCommand },
  { name: "check", summary: "check a cluster repo's network policy offline: what each service can reach, judged as pf will", load: async () => (await import("./check.js")).checkCommand },
  { name: "desired", summary: "validate the revision this node would run and print its resolved desired state", load: async () => (await import("./desired.js")).desiredCommand },
  { name: "plan", summary: "show the actions that would bring this node to the manifest (changes nothing); on a clone, every node's for a revision", load: async () => (await import("./plan.js")).planCommand },
  { name: "apply", summary: "converge this node to the manifest now; record the revision applied", load: async () => (await import("./apply.js")).applyCommand },
  { name: "agent", summary: "keep this node converged: run the flow every interval and on a push; report status", load: async () => (await import("./agent.js")).agentCommand },
  { name: "kick", summary: "wake the running agent now", load: async () => (await import("./kick.js")).kickCommand },
  { name: "backup", summary: "backup status: how old each dataset's snapshots and copies are against its policy", load: async () => (await import("./backup.js")).backupCommand },
  { name: "restore", summary: "bring a service's data back from a snapshot, replica, cold disk or remote copy, beside the live data or (--swap) in its place", load: async () => (await import("./restore.js")).restoreCommand },
  { name: "status", summary: "from a clone: every node's verified status report; --sla: downtime against budgets", load: async () => (await import("./status.js")).statusCommand },
  { name: "log", summary: "from a clone: the audit trail: who signed each revision, when each node applied it, what changed", load: async () => (await import("./log.js")).logCommand },
];

process.exitCode = await runCommand(COMMANDS, process.argv.slice(2));
