/**
 * Observing for backups: one `zfs get -rHp` of `<pool>/steward` (snapshots, holds, bookmarks)
 * and one `zpool list` (which ZFS this is, which pools are imported), with the clock read
 * once. A node without backups and nothing to destroy runs nothing.
 */
import { StewardError } from "../../errors.js";
import type { DriverContext } from "../driver.js";
import { rootOf } from "../zfs/commands.js";
import { observeArgv, poolsArgv } from "./commands.js";
import { parseLocalResult, parsePools } from "./parse.js";
import type { BackupDesired, BackupObserved } from "./types.js";

/**
 * observeBackups reads what the backup plan needs. Side effects: runs `zfs get` and `zpool
 * list`. Throws OBSERVE_FAILED (transient) when either fails (other than a missing root).
 */
export async function observeBackups(slice: BackupDesired, ctx: DriverContext): Promise<BackupObserved> {
  const nowMs = (ctx.now ?? Date.now)();
  const root = rootOf(slice.pool);
  if (slice.backups === undefined && slice.destroy.length === 0) return { nowMs, root, datasets: {}, features: "legacy", pools: [] };
  const argv = observeArgv(root);
  // Only backups care which ZFS this is and which disks are plugged in; a destroy does not.
  const [local, pools] = await Promise.all([ctx.executor.run(argv), slice.backups === undefined ? undefined : ctx.executor.run(poolsArgv())]);
  const parsed = parseLocalResult(root, local);
  if (parsed.kind === "failed") throw observeFailed(argv, local);
  if (pools !== undefined && (pools.exitCode !== 0 || pools.timedOut)) throw observeFailed(poolsArgv(), pools);
  const { pools: imported, features } = pools === undefined ? { pools: [], features: "legacy" as const } : parsePools(pools.stdout, slice.pool);
  return { nowMs, root, datasets: parsed.kind === "rows" ? parsed.datasets : {}, features, pools: imported };
}

function observeFailed(argv: readonly string[], r: { exitCode: number | null; stderr: string; timedOut: boolean }): StewardError {
  return new StewardError("OBSERVE_FAILED", `${argv.slice(0, 2).join(" ")} failed`, {
    retry: "transient",
    data: { argv, exitCode: r.exitCode, stderr: r.stderr.slice(0, 2000), timedOut: r.timedOut },
    hint: "run the command by hand to see why",
  });
}
