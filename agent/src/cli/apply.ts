/**
 * `steward apply`: converge a node to the manifest now, without prompting (an agent tool).
 */
import { renderDiagnostic } from "../errors.js";
import { systemExecutor } from "../exec.js";
import { renderApplyText } from "../apply/render.js";
import { DEFAULT_STATE_DIR, applyNode, desiredFromDir } from "../reconcile.js";
import { EXIT_OK, EXIT_PROBLEM, type Command } from "./command.js";
import { targetOptions } from "./plan.js";

export const applyCommand: Command = {
  name: "apply",
  summary: "converge this node's datasets to the manifest now",
  usage: [
    "usage: steward apply --node NAME [--dir DIR] [--state DIR] [--json]",
    "",
    "Reads the cluster repo in DIR (default .), takes the apply lock, observes the node, plans and",
    "runs the actions in order, without prompting. A failed action stops the later actions on the",
    "same dataset and those that depend on it; the rest still run. Nothing is destroyed unless the",
    "node's manifest lists it in `destroy`. Progress is journaled in the state directory, so an",
    "interrupted apply is reported and converged by the next one.",
    "",
    "  --node NAME   the node to converge (nodes/NAME.yaml); run it on that node",
    "  --dir DIR     a checkout of the cluster repo (default .)",
    `  --state DIR   the agent's state directory: lock, journal, applied record (default ${DEFAULT_STATE_DIR})`,
    "  --json        print {ok, plan, result, interrupted} as JSON",
    "",
    "Exit status: 0 every action applied (or nothing to do), 1 an action failed, the manifest is",
    "invalid, or another apply holds the lock (APPLY_LOCKED), 2 usage.",
  ].join("\n"),
  options: {
    node: { type: "string" },
    dir: { type: "string" },
    state: { type: "string" },
  },
  allowPositionals: false,
  async run(values, _positionals, io) {
    const { node, dir, stateDir } = targetOptions(values);
    const json = values["json"] === true;
    const { desired, diagnostics } = await desiredFromDir(dir, node);
    if (desired === undefined) {
      if (json) io.out(JSON.stringify({ ok: false, diagnostics }, null, 2));
      else for (const d of diagnostics) io.err(renderDiagnostic(d));
      return EXIT_PROBLEM;
    }
    if (!json) for (const d of diagnostics) io.err(renderDiagnostic(d));
    const run = await applyNode(desired, { executor: systemExecutor, stateDir, log: io.log });
    if (json) {
      io.out(JSON.stringify({ ok: run.result.ok, plan: run.plan, result: run.result, interrupted: run.interrupted ?? null, ...(diagnostics.length > 0 ? { diagnostics } : {}) }, null, 2));
    } else {
      io.out(renderApplyText(run.plan, run.result, run.interrupted));
    }
    return run.result.ok ? EXIT_OK : EXIT_PROBLEM;
  },
};
