/**
 * `steward plan`: show what apply would do on a node, changing nothing.
 */
import { renderDiagnostic } from "../errors.js";
import { systemExecutor } from "../exec.js";
import { renderPlanText } from "../plan/render.js";
import { DEFAULT_STATE_DIR, desiredFromDir, planNode } from "../reconcile.js";
import { EXIT_OK, EXIT_PROBLEM, usageError, type Command } from "./command.js";

/** Reads --node/--dir/--state, shared by plan and apply. Throws USAGE without --node. */
export function targetOptions(values: Record<string, unknown>): { node: string; dir: string; stateDir: string } {
  const node = values["node"];
  if (typeof node !== "string" || node === "") throw usageError("--node is required");
  const dir = typeof values["dir"] === "string" ? values["dir"] : ".";
  const stateDir = typeof values["state"] === "string" ? values["state"] : DEFAULT_STATE_DIR;
  return { node, dir, stateDir };
}

export const planCommand: Command = {
  name: "plan",
  summary: "show the actions that would bring this node to the manifest (changes nothing)",
  usage: [
    "usage: steward plan --node NAME [--dir DIR] [--state DIR] [--json]",
    "",
    "Reads the cluster repo in DIR (default .), observes the node's ZFS datasets and prints the",
    "ordered actions apply would run, each with its reason and exact commands, then the findings",
    "(conflicts, orphans, drift left alone). Nothing on the host is changed.",
    "",
    "  --node NAME   the node to plan for (nodes/NAME.yaml)",
    "  --dir DIR     a checkout of the cluster repo (default .)",
    `  --state DIR   the agent's state directory, for drift detection (default ${DEFAULT_STATE_DIR})`,
    "  --json        print {ok, plan} as JSON",
    "",
    "Exit status: 0 plan printed (with or without changes), 1 invalid manifest or observe failed, 2 usage.",
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
    const { plan } = await planNode(desired, { executor: systemExecutor, stateDir, log: io.log.child({ step: "plan", node }) });
    if (json) io.out(JSON.stringify({ ok: true, plan, ...(diagnostics.length > 0 ? { diagnostics } : {}) }, null, 2));
    else io.out(renderPlanText(plan));
    return EXIT_OK;
  },
};
