/**
 * The postcondition of a pf load (plan.ts): the anchor reads back as pfctl parsed the file,
 * and — commit-confirmed — the node still reaches one of its git remotes within the window.
 * When it does not, the previous anchor (or an empty one, after a first load) is loaded again
 * and the action fails with APPLY_REVERTED. A read-back that differs fails with
 * APPLY_VERIFY_FAILED and changes nothing: the next plan sees the difference and loads again.
 */
import type { Executor } from "../../exec.js";
import type { CheckResult } from "../driver.js";
import { loadArgv, parsePrintArgv, PFCTL_TIMEOUT_MS, showArgv } from "./commands.js";
import { confirmReachable, type ConfirmOutcome, type ProbeResult } from "./confirm.js";
import { compareReadback, splitPrinted } from "./parse.js";
import type { PfLoaded, ProbeTarget } from "./types.js";

/** The anchor a revert loads when there was none before: nothing at all. */
const EMPTY_ANCHOR = "# Steward: the anchor before its first load, put back by a revert.\n";

/** How a load is confirmed; tests give a probe of their own. */
export type Prober = (targets: readonly ProbeTarget[], windowMs: number) => Promise<ConfirmOutcome>;

/**
 * verifyLoad checks a load's postcondition (module comment). Side effects: pfctl reads, TCP
 * probes, and on a failed confirmation a write of the empty anchor and a load. Never throws
 * for what the host says.
 */
export async function verifyLoad(post: PfLoaded, executor: Executor, prober: Prober = confirmReachable): Promise<CheckResult> {
  const run = (argv: Parameters<Executor["run"]>[0]): ReturnType<Executor["run"]> => executor.run(argv, { timeoutMs: PFCTL_TIMEOUT_MS });
  const printed = await run(parsePrintArgv(post.anchor, post.file));
  if (printed.exitCode !== 0) return { kind: "refused", message: "pfctl -nv could not print the loaded file", result: printed };
  const [nat, rules, tables] = await Promise.all([run(showArgv(post.anchor, "nat")), run(showArgv(post.anchor, "rules")), run(showArgv(post.anchor, "Tables"))]);
  for (const r of [nat, rules, tables]) if (r.exitCode !== 0) return { kind: "refused", message: "the anchor could not be read back", result: r };
  const differences = compareReadback(splitPrinted(printed.stdout), nat.stdout, rules.stdout, tables.stdout);
  if (differences.length > 0) {
    return { kind: "refused", code: "APPLY_VERIFY_FAILED", message: `anchor ${post.anchor} does not read back as loaded (another pfctl at work?): ${differences.join("; ")}` };
  }
  if (post.confirm === undefined || post.confirm.targets.length === 0 || post.confirm.windowMs <= 0) return { kind: "ok" };

  const outcome = await prober(post.confirm.targets, post.confirm.windowMs);
  if (outcome.confirmed) return { kind: "ok" };
  const last = outcome.rounds[outcome.rounds.length - 1] ?? [];
  const why = `no git remote answered within ${Math.round(post.confirm.windowMs / 1000)} s of loading (${describe(last)})`;
  let previous = post.previous;
  if (previous === null) {
    const w = await executor.writeFile(post.empty, Buffer.from(EMPTY_ANCHOR, "utf8"), 0o600);
    if (w.exitCode !== 0) return { kind: "refused", code: "APPLY_REVERTED", message: `${why}; the empty anchor could not be written to revert: ${w.stderr}`, result: w };
    previous = post.empty;
  }
  const back = await run(loadArgv(post.anchor, previous));
  if (back.exitCode !== 0) return { kind: "refused", code: "APPLY_REVERTED", message: `${why}; loading the previous anchor again failed too`, result: back };
  return { kind: "refused", code: "APPLY_REVERTED", message: `${why}: the previous anchor ${post.previous === null ? "(empty)" : post.previous} is loaded again` };
}

function describe(results: readonly ProbeResult[]): string {
  return results.map((r) => `${r.target}: ${r.ok ? "ok" : (r.error ?? "failed")}`).join(", ");
}
