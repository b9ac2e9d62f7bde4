/**
 * Preloaded into a child node process with `--import` (see runCli's nodeArgs): prints the
 * process's peak resident set size when it exits, as a last stderr line `MAXRSS <kilobytes>`,
 * for tests that bound how much memory a command may take.
 */
import { writeSync } from "node:fs";

process.on("exit", () => {
  writeSync(2, `\nMAXRSS ${process.resourceUsage().maxRSS}\n`);
});
