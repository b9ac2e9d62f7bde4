/**
 * `steward apply`: converge a node to the manifest now, without prompting (an agent tool).
 * From git, the revision is chosen, applied and recorded under one apply lock
 * (reconcileFromSource); from a checkout (`--dir`), the checkout is applied.
 */
import { renderDiagnostic, type Diagnostic } from "../errors.js";
import { systemExecutor } from "../exec.js";
import { renderApplyText } from "../apply/render.js";
import { DEFAULT_CONFIG_PATH, loadConfig } from "../config.js";
import { applyNode, reconcileFromSource, type ApplyNodeResult } from "../reconcile.js";
import { EXIT_OK, EXIT_PROBLEM, usageError, type Command, type Io } from "./command.js";
import { resolveTarget, sourceJson, sourceText, TARGET_OPTIONS, TARGET_USAGE, type Target } from "./target.js";

export const applyCommand: Command = {
  name: "apply",
  usage: [
    "usage: steward apply [--config FILE | --dir DIR] [--node NAME] [--state DIR] [--json]",
    "",
    "Takes the apply lock, chooses the revision (as `steward fetch`), observes the node, plans",
    "and runs the actions in order, without prompting. A failed action stops the later actions",
    "on the same dataset and those that depend on it; the rest still run. Nothing is destroyed",
    "unless the node's manifest lists it in `destroy`. Progress is journaled in the state",
    "directory, so an interrupted apply is reported and converged by the next one. From git, the",
    "revision is recorded as applied, under the same lock, once every action succeeded. When the",
    "new revision is held, or is signed but its manifest is invalid, the last applied revision is",
    "converged and the reason is reported (exit 1).",
    "",
    TARGET_USAGE,
    "  --json         print {ok, plan, result, interrupted, source?, diagnostics?} as JSON",
    "",
    "Exit status: 0 every action applied (or nothing to do), 1 an action failed, the manifest is",
    "invalid, the new revision is held, or another apply holds the lock (APPLY_LOCKED), 2 usage.",
  ].join("\n"),
  options: TARGET_OPTIONS,
  allowPositionals: false,
  async run(values, _positionals, io) {
    const json = values["json"] === true;
    const str = (k: string): string | undefined => (typeof values[k] === "string" && values[k] !== "" ? (values[k] as string) : undefined);
    if (str("rev") !== undefined) throw usageError("--rev is for plan only: apply runs verified revisions, as fetched");
    if (str("dir") !== undefined) return applyDir(values, json, io);

    const loaded = await loadConfig(str("config") ?? DEFAULT_CONFIG_PATH);
    const state = str("state") ?? loaded.state;
    const config = state === loaded.state ? loaded : { ...loaded, state };
    const node = str("node") ?? config.node;
    const r = await reconcileFromSource({ config, node, executor: systemExecutor, log: io.log });
    const target: Target = {
      node,
      stateDir: state,
      desired: r.target.desired,
      diagnostics: r.target.diagnostics,
      source: { result: r.source, revision: r.target.revision, decision: r.source.decision, requested: false, ...(r.target.rejected === undefined ? {} : { rejected: r.target.rejected }) },
    };
    const held = r.source.decision.kind === "hold" || r.target.rejected !== undefined;
    const ok = r.run !== undefined && r.run.result.ok && !held;
    const diagnostics = [...(r.target.rejected?.diagnostics ?? []), ...r.target.diagnostics];
    report(io, json, ok, target, r.run, diagnostics, r.recorded);
    return ok ? EXIT_OK : EXIT_PROBLEM;
  },
};

async function applyDir(values: Record<string, unknown>, json: boolean, io: Io): Promise<number> {
  const target = await resolveTarget(values, io, false);
  const run = target.desired === undefined ? undefined : await applyNode(target.desired, { executor: systemExecutor, stateDir: target.stateDir, log: io.log, ...(target.contents === undefined ? {} : { contents: target.contents }) });
  const ok = run !== undefined && run.result.ok;
  report(io, json, ok, target, run, target.diagnostics, undefined);
  return ok ? EXIT_OK : EXIT_PROBLEM;
}

function report(io: Io, json: boolean, ok: boolean, target: Target, run: ApplyNodeResult | undefined, diagnostics: readonly Diagnostic[], recorded: string | undefined): void {
  const source = sourceJson(target);
  if (json) {
    io.out(
      JSON.stringify(
        {
          ok,
          ...(run === undefined ? {} : { plan: run.plan, result: run.result, interrupted: run.interrupted ?? null }),
          ...(source === undefined ? {} : { source: { ...source, recorded: recorded !== undefined } }),
          ...(diagnostics.length > 0 ? { diagnostics } : {}),
        },
        null,
        2,
      ),
    );
    return;
  }
  for (const d of diagnostics) io.err(renderDiagnostic(d));
  const from = sourceText(target);
  if (from !== undefined) io.out(from);
  if (run !== undefined) io.out(renderApplyText(run.plan, run.result, run.interrupted));
  if (recorded !== undefined) io.out(`recorded ${recorded} as applied`);
}
