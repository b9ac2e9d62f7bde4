/**
 * `steward plan`: show what apply would do on a node, changing nothing on the host.
 */
import { renderDiagnostic } from "../errors.js";
import { systemExecutor } from "../exec.js";
import { renderPlanText } from "../plan/render.js";
import { planNode } from "../reconcile.js";
import { EXIT_OK, EXIT_PROBLEM, type Command } from "./command.js";
import { reportInvalid, resolveTarget, sourceJson, sourceText, TARGET_OPTIONS, TARGET_USAGE } from "./target.js";

export const planCommand: Command = {
  name: "plan",
  usage: [
    "usage: steward plan [--config FILE | --dir DIR] [--node NAME] [--state DIR] [--rev REV] [--json]",
    "",
    "Observes the node (ZFS datasets, jails) and prints the ordered actions apply would run, each",
    "with its reason and exact commands, then the findings (conflicts, orphans, drift left alone).",
    "Nothing on the host is changed (fetching updates only the agent's local repository).",
    "",
    TARGET_USAGE,
    "  --rev REV      plan a revision already in the local repository (unverified; plan only)",
    "  --json         print {ok, plan, source?} as JSON",
    "",
    "Exit status: 0 plan printed (with or without changes), 1 invalid manifest (a new revision",
    "that is signed but invalid: its problems, then the plan of the last applied revision),",
    "nothing to read, or observe failed, 2 usage.",
  ].join("\n"),
  options: TARGET_OPTIONS,
  allowPositionals: false,
  async run(values, _positionals, io) {
    const json = values["json"] === true;
    const target = await resolveTarget(values, io, true);
    const source = sourceJson(target);
    const { desired } = target;
    if (desired === undefined) return reportInvalid(target, json, io);
    const diagnostics = [...(target.source?.rejected?.diagnostics ?? []), ...target.diagnostics];
    const { plan } = await planNode(desired, { executor: systemExecutor, stateDir: target.stateDir, log: io.log.child({ step: "plan", node: target.node }) });
    // A new revision with an invalid manifest is a problem even though the last applied one plans.
    const ok = target.source?.rejected === undefined;
    if (json) {
      io.out(JSON.stringify({ ok, plan, ...(source === undefined ? {} : { source }), ...(diagnostics.length > 0 ? { diagnostics } : {}) }, null, 2));
    } else {
      for (const d of diagnostics) io.err(renderDiagnostic(d));
      const from = sourceText(target);
      io.out(from === undefined ? renderPlanText(plan) : `${from}\n${renderPlanText(plan)}`);
    }
    return ok ? EXIT_OK : EXIT_PROBLEM;
  },
};
