/**
 * Observing pf: six pfctl reads per node — the anchor's translation rules, filter rules and
 * tables (its read-back), the main ruleset's rules and translation rules (does pf.conf call
 * the anchor), whether pf runs and whether lo0 is skipped — plus the record and the anchor
 * file of the last confirmed load. A node with no jails, nothing recorded and no anchor file
 * runs no pfctl at all (a pool-only node, or a host without pf).
 */
import { StewardError } from "../../errors.js";
import type { RunResult } from "../../exec.js";
import type { DriverContext } from "../driver.js";
import { loopbackArgv, runningArgv, showArgv } from "./commands.js";
import { isEmptyReadback, parseHooks, parseLoopbackSkipped, readbackHash } from "./parse.js";
import { anchorFiles } from "./plan.js";
import { isFile, pfDir, readPfRecord } from "./state.js";
import { EMPTY_PF_RECORD, type PfDesired, type PfObserved } from "./types.js";

/** Where the driver's files go when there is no state directory (a plan from a checkout). */
const DEFAULT_DIR = "/var/db/steward/pf";

/**
 * observePf reads the host's pf for the anchor (see the module comment). When pfctl cannot
 * be run or /dev/pf is missing, says so (`unavailable`) rather than failing the whole
 * observation. Throws OBSERVE_FAILED (transient) when pfctl cannot read a ruleset otherwise.
 */
export async function observePf(desired: PfDesired, ctx: DriverContext): Promise<PfObserved> {
  const dir = ctx.stateDir === undefined ? DEFAULT_DIR : pfDir(ctx.stateDir);
  const applied = ctx.stateDir === undefined ? EMPTY_PF_RECORD : await readPfRecord(ctx.stateDir, ctx.log);
  const previousFile = await isFile(anchorFiles(dir, desired.anchor).current);
  if (desired.counts.jails === 0 && applied.anchorSha256 === undefined && !previousFile) {
    return { dir, looked: false, running: false, hooks: { nat: false, rdr: false, filter: false, quickBefore: [] }, loopbackSkipped: false, readback: { sha256: "", empty: true }, previousFile, applied };
  }
  const run = (argv: Parameters<DriverContext["executor"]["run"]>[0]): Promise<RunResult> => ctx.executor.run(argv, { timeoutMs: 30_000 });
  const [nat, rules, tables, mainRules, mainNat, running, loopback] = await Promise.all([
    run(showArgv(desired.anchor, "nat")),
    run(showArgv(desired.anchor, "rules")),
    run(showArgv(desired.anchor, "Tables")),
    run(showArgv("", "rules")),
    run(showArgv("", "nat")),
    run(runningArgv()),
    run(loopbackArgv()),
  ]);
  // No pfctl, or no /dev/pf (the pf module is not loaded): pf cannot be used at all, which the
  // plan reports, while the node's other resources still converge.
  const missing = [nat, rules, tables, mainRules, mainNat, running, loopback].find((r) => r.spawnError !== undefined || (r.exitCode !== 0 && /\/dev\/pf/.test(r.stderr)));
  if (missing !== undefined) {
    const unavailable = missing.spawnError !== undefined ? `pfctl cannot be run: ${missing.spawnError}` : `pfctl cannot open /dev/pf: ${missing.stderr.trim().split("\n")[0] ?? ""}`;
    return { dir, looked: true, unavailable, running: false, hooks: { nat: false, rdr: false, filter: false, quickBefore: [] }, loopbackSkipped: false, readback: { sha256: "", empty: true }, previousFile, applied };
  }
  // A missing anchor is a warning with exit 0 (pfctl(8)); any other failure is not an answer.
  for (const r of [nat, rules, tables, mainRules, mainNat, loopback]) if (r.exitCode !== 0) throw observeFailed(r);
  if (running.exitCode !== 0 && running.exitCode !== 1) throw observeFailed(running);
  return {
    dir,
    looked: true,
    running: running.exitCode === 0,
    hooks: parseHooks(mainRules.stdout, mainNat.stdout, desired.anchor),
    loopbackSkipped: parseLoopbackSkipped(loopback.stdout),
    readback: { sha256: readbackHash(nat.stdout, rules.stdout, tables.stdout), empty: isEmptyReadback(nat.stdout, rules.stdout, tables.stdout) },
    previousFile,
    applied,
  };
}

function observeFailed(r: RunResult): StewardError {
  return new StewardError("OBSERVE_FAILED", `${r.argv.join(" ")} failed`, {
    retry: "transient",
    data: { argv: r.argv, exitCode: r.exitCode, stderr: r.stderr.slice(0, 2000), timedOut: r.timedOut, ...(r.spawnError === undefined ? {} : { spawnError: r.spawnError }) },
    hint: r.spawnError !== undefined ? "pfctl is not installed: pf needs FreeBSD (on Linux test hosts, the simulator on PATH)" : "run the command by hand to see why; is /dev/pf there (kldload pf)?",
  });
}
