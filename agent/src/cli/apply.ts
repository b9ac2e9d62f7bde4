/**
 * `steward apply`: converge a node to the manifest now, without prompting (an agent tool).
 * From git, a fully successful apply of a new revision records it as the last applied one.
 */
import { renderDiagnostic } from "../errors.js";
import { systemExecutor } from "../exec.js";
import { renderApplyText } from "../apply/render.js";
import { applyNode } from "../reconcile.js";
import { recordApplied } from "../source/state.js";
import { EXIT_OK, EXIT_PROBLEM, type Command } from "./command.js";
import { reportInvalid, resolveTarget, sourceJson, sourceText, TARGET_OPTIONS, TARGET_USAGE } from "./target.js";

export const applyCommand: Command = {
  name: "apply",
  usage: [
    "usage: steward apply [--config FILE | --dir DIR] [--node NAME] [--state DIR] [--json]",
    "",
    "Takes the apply lock, observes the node, plans and runs the actions in order, without",
    "prompting. A failed action stops the later actions on the same dataset and those that",
    "depend on it; the rest still run. Nothing is destroyed unless the node's manifest lists it",
    "in `destroy`. Progress is journaled in the state directory, so an interrupted apply is",
    "reported and converged by the next one. From git, the revision is recorded as applied once",
    "every action succeeded; when the new revision is held, the last applied one is converged",
    "and the hold is reported (exit 1).",
    "",
    TARGET_USAGE,
    "  --json         print {ok, plan, result, interrupted, source?} as JSON",
    "",
    "Exit status: 0 every action applied (or nothing to do), 1 an action failed, the manifest is",
    "invalid, the new revision is held, or another apply holds the lock (APPLY_LOCKED), 2 usage.",
  ].join("\n"),
  options: TARGET_OPTIONS,
  allowPositionals: false,
  async run(values, _positionals, io) {
    const json = values["json"] === true;
    const target = await resolveTarget(values, io, false);
    const source = sourceJson(target);
    const { desired, diagnostics } = target;
    if (desired === undefined) return reportInvalid(target, json, io);
    const run = await applyNode(desired, { executor: systemExecutor, stateDir: target.stateDir, log: io.log });
    const held = target.source?.decision.kind === "hold";
    let recorded = false;
    if (run.result.ok && target.source?.decision.kind === "apply") {
      await recordApplied(target.stateDir, target.source.revision);
      recorded = true;
    }
    const ok = run.result.ok && !held;
    if (json) {
      io.out(JSON.stringify({ ok, plan: run.plan, result: run.result, interrupted: run.interrupted ?? null, ...(source === undefined ? {} : { source: { ...source, recorded } }), ...(diagnostics.length > 0 ? { diagnostics } : {}) }, null, 2));
    } else {
      for (const d of diagnostics) io.err(renderDiagnostic(d));
      const from = sourceText(target);
      if (from !== undefined) io.out(from);
      io.out(renderApplyText(run.plan, run.result, run.interrupted));
      if (recorded) io.out(`recorded ${target.source?.revision ?? ""} as applied`);
    }
    return ok ? EXIT_OK : EXIT_PROBLEM;
  },
};
