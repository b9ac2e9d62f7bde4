/**
 * Observing ZFS (docs/architecture.md, "The flow", step 4): one `zfs get -rHp` under `<pool>/steward`, and the
 * applied record from the state directory.
 */
import { StewardError } from "../../errors.js";
import type { Executor } from "../../exec.js";
import type { Logger } from "../../log.js";
import type { DatasetSpec } from "../../manifest/types.js";
import { observeArgv, observePropertyList, rootOf } from "./commands.js";
import { parseObserveResult, toObservedDatasets } from "./parse.js";
import { readAppliedRecord } from "./state.js";
import { EMPTY_APPLIED_RECORD, type ZfsObserved } from "./types.js";

export interface ZfsObserveInput {
  readonly pool: string;
  /** The desired datasets: every property they name is observed too. */
  readonly datasets: readonly DatasetSpec[];
}

export interface ZfsObserveContext {
  readonly executor: Executor;
  /** Where the applied record lives; undefined reads none (every difference is unrecorded). */
  readonly stateDir: string | undefined;
  readonly log: Logger;
  /** The clock (Unix ms), read when a dataset may be seeded from a replica; Date.now when absent. */
  readonly now?: () => number;
}

/**
 * observeZfs reads every dataset under `<pool>/steward` with exactly one command, plus the
 * applied record. A missing root is an observation (nothing created yet), not an error.
 * Side effects: runs `zfs get`, reads `<state>/zfs/applied.json`; logs a warning for an
 * unreadable record (then treated as empty). Throws OBSERVE_FAILED (transient) when zfs
 * fails any other way (daemon down, usage error, timeout) or the record cannot be read.
 */
export async function observeZfs(input: ZfsObserveInput, ctx: ZfsObserveContext): Promise<ZfsObserved> {
  const root = rootOf(input.pool);
  const declared = new Set<string>();
  for (const d of input.datasets) for (const p of Object.keys(d.properties)) declared.add(p);
  const argv = observeArgv(root, observePropertyList(declared));
  const [result, applied] = await Promise.all([
    ctx.executor.run(argv),
    ctx.stateDir === undefined ? Promise.resolve({ record: EMPTY_APPLIED_RECORD, exists: false, valid: true }) : readAppliedRecord(ctx.stateDir),
  ]);
  if (!applied.valid) ctx.log.warn({ stateDir: ctx.stateDir }, "applied record unreadable, treating as empty");
  const parsed = parseObserveResult(root, result);
  // Only a plan that may seed a dataset (absent, with replicas that could hold its data) says
  // how old a replica is: other observations stay the same from run to run.
  const seen = new Set(parsed.kind === "rows" ? parsed.rows.map((r) => r.name) : []);
  const clock = input.datasets.some((d) => (d.seed ?? []).some((c) => seen.has(c.dataset)) && !seen.has(d.name)) ? { nowMs: (ctx.now ?? Date.now)() } : {};
  switch (parsed.kind) {
    case "absent":
      return { root, rootExists: false, datasets: [], applied: applied.record, ...clock };
    case "rows": {
      const datasets = toObservedDatasets(parsed.rows);
      return { root, rootExists: datasets.some((d) => d.name === root), datasets, applied: applied.record, ...clock };
    }
    case "failed":
      throw new StewardError("OBSERVE_FAILED", "zfs get failed", {
        retry: "transient",
        data: { argv, exitCode: result.exitCode, stderr: result.stderr.slice(0, 2000), timedOut: result.timedOut, ...(result.spawnError === undefined ? {} : { spawnError: result.spawnError }) },
        hint: parsed.unavailable ? "the ZFS library did not start: is the zfs module loaded (or, on Linux test hosts, the zfs-fuse daemon running: scripts/test-host.sh setup)?" : "run the command by hand to see why",
      });
  }
}
