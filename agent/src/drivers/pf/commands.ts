/**
 * The exact pfctl(8) command lines of the pf driver, as argument vectors. Pure. Loads and
 * parses run with `-o none`: pfctl's ruleset optimizer (on by default) could merge rules into
 * tables it names itself, and the anchor must read back rule for rule as written. Nothing here
 * ever flushes (`-F`) or touches the main ruleset: an anchor load replaces only the anchor.
 */
import type { Argv } from "../../exec.js";

/** How long a pfctl call may take (a parse resolves no names: Steward's anchors are literal). */
export const PFCTL_TIMEOUT_MS = 60_000;

/** parseArgv has pfctl parse an anchor file without loading it (`-n`). */
export function parseArgv(anchor: string, file: string): Argv {
  return ["pfctl", "-o", "none", "-n", "-a", anchor, "-f", file];
}

/** parsePrintArgv parses and prints the file's rules as pfctl would load them (`-nv`). */
export function parsePrintArgv(anchor: string, file: string): Argv {
  return ["pfctl", "-o", "none", "-nv", "-a", anchor, "-f", file];
}

/** loadArgv replaces the anchor's tables, translation and filter rules in one transaction. */
export function loadArgv(anchor: string, file: string): Argv {
  return ["pfctl", "-o", "none", "-a", anchor, "-f", file];
}

/** showArgv reads an anchor's (or, with anchor "", the main ruleset's) rules back: `nat`, `rules`, `Tables`. */
export function showArgv(anchor: string, what: "nat" | "rules" | "Tables"): Argv {
  return anchor === "" ? ["pfctl", "-s", what] : ["pfctl", "-a", anchor, "-s", what];
}

/** runningArgv asks whether pf is enabled: exit 0 enabled, 1 disabled. */
export function runningArgv(): Argv {
  return ["pfctl", "-s", "Running"];
}

/** loopbackArgv lists lo0 with its flags: ` (skip)` when `set skip` covers it. */
export function loopbackArgv(): Argv {
  return ["pfctl", "-s", "Interfaces", "-i", "lo0", "-v"];
}
