/**
 * The backup driver on the seam (drivers/driver.ts; schema/README.md, "Backups"): snapshots
 * taken and pruned as each dataset's policy says, Steward's snapshots cleared before a destroy
 * the manifest asks for. Last in the registry: its actions need the datasets, and its
 * teardown (clearing snapshots) runs before the ZFS driver's destroys.
 */
import type { DesiredState } from "../../manifest/types.js";
import { assertNever } from "../../plan/assert-never.js";
import type { Driver, DriverContext } from "../driver.js";
import { observeBackups } from "./observe.js";
import { planBackups } from "./plan.js";
import type { BackupAction, BackupDesired, BackupFinding, BackupObserved } from "./types.js";

function list(names: readonly string[], max = 3): string {
  return names.length <= max ? names.join(", ") : `${names.slice(0, max).join(", ")} and ${names.length - max} more`;
}

export const backupDriver: Driver<BackupDesired, BackupObserved, BackupAction, BackupFinding> = {
  name: "backup",

  slice(desired: DesiredState): BackupDesired {
    return { node: desired.node.name, pool: desired.node.pool, backups: desired.backups, destroy: desired.destroy, host: desired.host?.backup };
  },

  observe(slice: BackupDesired, ctx: DriverContext): Promise<BackupObserved> {
    return observeBackups(slice, ctx);
  },

  plan(slice: BackupDesired, observed: BackupObserved) {
    return planBackups(slice, observed);
  },

  renderAction(a: BackupAction): string {
    switch (a.kind) {
      case "backup.snapshot":
        return `+ snapshot ${a.unit}${a.recursive ? " (and below, atomically)" : ""}: ${list(a.snapshots)}  (${a.reason})`;
      case "backup.prune":
        return `- prune    ${a.unit}: ${a.snapshots.length} snapshot${a.snapshots.length === 1 ? "" : "s"}  (${a.reason})`;
      case "backup.clear":
        return `- clear    ${a.dataset}: ${a.snapshots.length} Steward snapshot${a.snapshots.length === 1 ? "" : "s"}  (${a.reason})`;
      case "backup.send":
        return `+ send     ${a.dataset} -> ${a.target.name}: ${a.resume ? "resumed" : (a.snapshot ?? "")}  (${a.reason})`;
      case "backup.rebase":
        return `~ base     ${a.dataset} on ${a.target.name}: ${a.snapshot}  (${a.reason})`;
      default:
        return assertNever(a, "backup action");
    }
  },
};
