/**
 * Retention: which Steward snapshots a policy keeps (sanoid's rule: the newest N of each kind).
 * Pure.
 */
import { SNAPSHOT_PERIODS, type DatasetBackup } from "../../manifest/types.js";
import { compareSnapshotNames, parseSnapshotName } from "./names.js";

/**
 * retainedSnapshots is what retention keeps of Steward snapshot names: of each kind, the
 * `keep` newest; nothing of a kind the policy does not keep. Pure.
 */
export function retainedSnapshots(keep: DatasetBackup["keep"], names: readonly string[]): Set<string> {
  const kept = new Set<string>();
  for (const kind of SNAPSHOT_PERIODS) {
    const n = keep[kind] ?? 0;
    if (n <= 0) continue;
    const ofKind = names.filter((x) => parseSnapshotName(x)?.kind === kind).sort(compareSnapshotNames).reverse();
    for (const x of ofKind.slice(0, n)) kept.add(x);
  }
  return kept;
}
