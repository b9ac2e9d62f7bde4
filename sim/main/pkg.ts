/** Entry point of the simulated pkg(8); see sim/pkg.ts. */
import { runMain } from "../cli.js";
import { runPkg } from "../pkg.js";

runMain("pkg", runPkg);
