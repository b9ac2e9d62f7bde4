/**
 * The backup driver on the seam (drivers/driver.ts; schema/README.md, "Backups"): snapshots
 * taken and pruned as each dataset's policy says, Steward's snapshots cleared before a destroy
 * the manifest asks for. Last in the registry: its actions need the datasets, and its
 * teardown (clearing snapshots) runs before the ZFS driver's destroys. Copies to peers are sent
 * through the executor's pipelines, and the record (`<state>/backup/state.json`) says what
 * each target holds.
 */
import type { DesiredState } from "../../manifest/types.js";
import { assertNever } from "../../plan/assert-never.js";
import type { Driver, DriverContext } from "../driver.js";
import { observeBackups, readBackupReport } from "./observe.js";
import { planBackups } from "./plan.js";
import { nextBackupState, renderBackupState } from "./record.js";
import { writeBackupState } from "./state.js";
import { EMPTY_BACKUP_STATE } from "./types.js";
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

  /** For the status report: how old each dataset's copies are, and where the cold disks are (report.ts); nothing without policies. */
  async report(slice: BackupDesired, ctx: DriverContext) {
    if (slice.backups === undefined) return {};
    const r = await readBackupReport(slice, ctx);
    return { backups: r.datasets, coldDisks: r.disks };
  },

  /** record keeps what each target holds now, and the failures to back off from (record.ts). */
  async record(slice, observed, part, outcomes, ctx) {
    if (slice.backups === undefined && observed.state === undefined) return;
    const previous = observed.state ?? EMPTY_BACKUP_STATE;
    const next = nextBackupState(previous, slice, observed, part, outcomes);
    if (renderBackupState(next) !== renderBackupState(previous)) await writeBackupState(ctx.stateDir, next);
    for (const a of part.actions) {
      if (a.kind === "backup.export" && outcomes.get(a.id) === "applied") ctx.log.info({ pool: a.pool }, `cold disk ${a.pool} exported: it can be unplugged`);
      if (a.kind === "backup.drill") {
        const ok = outcomes.get(a.id) === "applied";
        (ok ? ctx.log.info.bind(ctx.log) : ctx.log.warn.bind(ctx.log))({ dataset: a.dataset, snapshot: a.snapshot, ok }, ok ? "restore drill passed: the remote copy decrypts and receives" : "restore drill failed");
      }
    }
  },

  /**
   * The live filesystems' sizes (LocalDataset.referenced, written) change with every write: they
   * stay on the node, so that an unchanged host reports the same bytes. A plan from the report
   * then lacks only the estimate of a snapshot not taken yet (progress, never what is done).
   */
  redact(_slice: BackupDesired, observed: BackupObserved): BackupObserved {
    const datasets = Object.fromEntries(Object.entries(observed.datasets).map(([name, { referenced: _r, written: _w, ...kept }]) => [name, kept]));
    return { ...observed, datasets };
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
      case "backup.drill":
        return `+ drill    ${a.dataset}: ${a.snapshot}  (${a.reason})`;
      case "backup.export":
        return `~ export   ${a.pool}  (${a.reason})`;
      case "backup.rebase":
        return `~ base     ${a.dataset} on ${a.target.name}: ${a.snapshot}  (${a.reason})`;
      default:
        return assertNever(a, "backup action");
    }
  },
};
