/** Entry point of the simulated jexec(8); see sim/jexec.ts. */
import { runMain } from "../cli.js";
import { runJexec } from "../jexec.js";

runMain("jexec", runJexec);
