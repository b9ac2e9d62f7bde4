/** Entry point of the simulated jail(8); see sim/jail.ts. */
import { runMain } from "../cli.js";
import { runJail } from "../jail.js";

runMain("jail", runJail);
