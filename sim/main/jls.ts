/** Entry point of the simulated jls(8); see sim/jls.ts. */
import { runMain } from "../cli.js";
import { runJls } from "../jls.js";

runMain("jls", runJls);
