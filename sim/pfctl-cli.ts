/**
 * The simulated pfctl as a process: runs runPfctl on argv, writes its output, exits with its
 * status. STEWARD_SIM_ROOT names the simulator state (see sim/pf-README.md).
 */
import * as fs from "node:fs";
import { runPfctl } from "./pfctl.js";

const res = runPfctl(process.argv.slice(2), {
  env: process.env,
  cwd: process.cwd(),
  stdin: () => {
    try {
      return fs.readFileSync(0, "utf8");
    } catch {
      return "";
    }
  },
});
process.stdout.write(res.stdout);
process.stderr.write(res.stderr);
process.exitCode = res.code & 0xff;
