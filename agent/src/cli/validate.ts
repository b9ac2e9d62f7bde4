/**
 * `steward validate [DIR]`: check a cluster repo offline — YAML, schema, references.
 * Exit 0 valid, 1 invalid (every problem printed as file:line:col with a hint), 2 usage.
 */
import { renderDiagnostic } from "../errors.js";
import { loadModel } from "../manifest/load.js";
import { readSnapshotFromDir } from "../source/dir.js";
import { EXIT_OK, EXIT_PROBLEM, usageError, type Command } from "./command.js";

export const validateCommand: Command = {
  name: "validate",
  usage: [
    "usage: steward validate [DIR] [--json]",
    "",
    "Checks the cluster repo in DIR (default: the current directory) without touching the",
    "network or the host: YAML syntax, the JSON Schemas in schema/, and the semantic checks",
    "(references resolve, addresses and ports are unique, paths stay inside the repo).",
    "Every problem is printed as  file:line:column  CODE  message, with a hint.",
    "",
    "  --json   print {ok, nodes, services, diagnostics} as JSON",
    "",
    "Exit status: 0 valid, 1 invalid, 2 usage error.",
  ].join("\n"),
  options: {},
  allowPositionals: true,
  async run(values, positionals, io) {
    if (positionals.length > 1) throw usageError("validate takes at most one directory");
    const dir = positionals[0] ?? ".";
    const snapshot = await readSnapshotFromDir(dir);
    const { model, diagnostics } = loadModel(snapshot);
    const ok = model !== undefined;
    if (values["json"] === true) {
      io.out(JSON.stringify({ ok, dir, nodes: model?.nodes.map((n) => n.name) ?? [], services: model?.services.map((s) => s.name) ?? [], diagnostics }, null, 2));
    } else {
      for (const d of diagnostics) io.err(renderDiagnostic(d));
      if (ok) io.out(`${dir}: valid (${model.nodes.length} nodes, ${model.services.length} services)`);
      else io.err(`${dir}: ${diagnostics.filter((d) => d.severity === "error").length} problem(s)`);
    }
    return ok ? EXIT_OK : EXIT_PROBLEM;
  },
};
