/**
 * Loaded into a child process with `--import` (runCli's `measureRss`): when the process exits,
 * writes its peak resident set size in KiB, worker threads included, to the file named by
 * STEWARD_TEST_RSS_FILE. On Linux that is VmHWM from /proc/self/status: getrusage's ru_maxrss
 * is carried over from the parent across fork and execve, so a child of a large test process
 * would report the parent's peak. Elsewhere, ru_maxrss. Test code.
 */
import { readFileSync, writeFileSync } from "node:fs";

function peakKiB(): number {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (m !== null) return Number(m[1]);
  } catch {
    // no procfs
  }
  return process.resourceUsage().maxRSS;
}

const file = process.env["STEWARD_TEST_RSS_FILE"];
if (file !== undefined) process.on("exit", () => writeFileSync(file, String(peakKiB())));
