/**
 * `steward desired`: validate the manifest this node would run and print what it resolves to
 * for the node — the desired state, with every default filled in. Touches nothing on the host.
 */
import { renderDiagnostic } from "../errors.js";
import type { DesiredState } from "../manifest/types.js";
import { EXIT_OK, EXIT_PROBLEM, type Command } from "./command.js";
import { resolveTarget, sourceJson, sourceText, TARGET_OPTIONS, TARGET_USAGE } from "./target.js";

export const desiredCommand: Command = {
  name: "desired",
  usage: [
    "usage: steward desired [--config FILE | --dir DIR] [--node NAME] [--rev REV] [--json]",
    "",
    "Validates the manifest (YAML, schema, references) of the revision this node would run and",
    "prints the node's desired state: its services and datasets with every default resolved and",
    "sizes in bytes, as plan compares them with the host. Nothing on the host is read or changed.",
    "",
    TARGET_USAGE,
    "  --rev REV      check a revision already in the local repository (unverified)",
    "  --json         print {ok, desired, source?} as JSON",
    "",
    "Exit status: 0 valid, 1 invalid or nothing to read, 2 usage.",
  ].join("\n"),
  options: TARGET_OPTIONS,
  allowPositionals: false,
  async run(values, _positionals, io) {
    const target = await resolveTarget(values, io, true);
    const source = sourceJson(target);
    const { desired, diagnostics } = target;
    if (values["json"] === true) {
      io.out(JSON.stringify({ ok: desired !== undefined, ...(desired === undefined ? {} : { desired }), diagnostics, ...(source === undefined ? {} : { source }) }, null, 2));
    } else {
      for (const d of diagnostics) io.err(renderDiagnostic(d));
      const from = sourceText(target);
      if (from !== undefined) io.out(from);
      if (desired !== undefined) io.out(renderDesired(desired));
    }
    return desired === undefined ? EXIT_PROBLEM : EXIT_OK;
  },
};

function renderDesired(d: DesiredState): string {
  const lines = [`node ${d.node.name} (${d.node.arch}, pool ${d.node.pool}, uplink ${d.node.interface}): ${d.services.length} services, ${d.datasets.length} datasets`];
  for (const s of d.services) {
    const routes = s.routes.map((r) => `${r.to}:${r.port}/${r.proto}`).join(" ");
    lines.push(`  service ${s.name}  ip ${s.ip}  expose [${s.expose.map((p) => `${p.port}/${p.proto}`).join(" ")}]  routes [${routes}]  drift ${s.drift}`);
  }
  for (const ds of d.datasets) {
    const props = Object.entries(ds.properties).map(([k, v]) => `${k}=${v}`).join(" ");
    lines.push(`  dataset ${ds.name}  ${props}`);
  }
  for (const name of d.destroy) lines.push(`  destroy ${name}`);
  return lines.join("\n");
}
