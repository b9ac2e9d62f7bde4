/**
 * Build step: writes build/sim/bin/{jail,jls,jexec,sysrc,pkg,service,pfctl}, one small sh(1)
 * wrapper per simulated tool that runs the compiled entry point with the node that built it, so
 * a test or the demo puts build/sim/bin first in PATH and Steward runs the tools by name.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const TOOLS = ["jail", "jls", "jexec", "sysrc", "pkg", "service"] as const;

const here = dirname(fileURLToPath(import.meta.url)); // build/sim
const bin = join(here, "bin");
mkdirSync(bin, { recursive: true });
const ENTRIES: Readonly<Record<string, string>> = { ...Object.fromEntries(TOOLS.map((t) => [t, join(here, "main", `${t}.js`)])), pfctl: join(here, "pfctl-cli.js") };
for (const [tool, entry] of Object.entries(ENTRIES)) {
  const path = join(bin, tool);
  writeFileSync(path, `#!/bin/sh\n# Steward's FreeBSD simulator: ${tool}(8). See sim/README.md.\nexec '${process.execPath}' '${entry}' "$@"\n`);
  chmodSync(path, 0o755);
}
