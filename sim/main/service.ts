/** Entry point of the simulated service(8); see sim/service.ts. */
import { runMain } from "../cli.js";
import { runService } from "../service.js";

runMain("service", runService);
