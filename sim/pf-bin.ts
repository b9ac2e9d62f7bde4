/**
 * Writes build/sim/bin/pfctl, a /bin/sh wrapper that execs node on the compiled simulator, so
 * tests and Steward find a `pfctl` on PATH. Run by `npm run build`. Named for pf so the jail
 * simulators can keep their own bin writer.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.join(here, "bin");
fs.mkdirSync(bin, { recursive: true });
const wrapper = `#!/bin/sh
# The Steward pfctl simulator (sim/pfctl.ts); state under $STEWARD_SIM_ROOT/pf.
dir=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
exec node "$dir/../pfctl-cli.js" "$@"
`;
fs.writeFileSync(path.join(bin, "pfctl"), wrapper, { mode: 0o755 });
fs.chmodSync(path.join(bin, "pfctl"), 0o755);
