/** Entry point of the simulated sysrc(8); see sim/sysrc.ts. */
import { runMain } from "../cli.js";
import { runSysrc } from "../sysrc.js";

runMain("sysrc", runSysrc);
