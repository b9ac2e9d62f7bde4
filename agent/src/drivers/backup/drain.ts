/**
 * A drain (docs/backups.md, "Failover and drain"): when the manifest moves a service to another
 * live node, this node, once the service's jail has stopped here, snapshots each of its
 * replicated datasets as a final copy and sends it to the new node's replica of this node;
 * the new node seeds the service's datasets from it (zfs/plan.ts), so nothing written here is
 * left behind. Pure: the slice's `leaving` datasets and what was observed in, the sends out.
 */
import type { DatasetBackup } from "../../manifest/types.js";
import { snapshotArgv } from "./commands.js";
import { finalSnapshotName, newestTimed, relativeName } from "./names.js";
import { copyKey } from "./record.js";
import { endpointOf, replicaWay, sshFiles } from "./targets.js";
import { backoffMs, copyResource, planCopy, targetsOf } from "./transfers.js";
import { EMPTY_BACKUP_STATE, type BackupAction, type BackupDesired, type BackupFinding, type BackupObserved, type BackupState, type LocalDataset } from "./types.js";

/** The final copy a leaving dataset still needs: its snapshot, and whether it is taken now. */
export interface FinalCopy {
  readonly snapshot: string;
  readonly take: boolean;
}

/**
 * finalCopy decides whether a leaving dataset still needs its final copy sent: not when it does
 * not exist here (or is not Steward's), not when its newest snapshot is a final one the new
 * node is recorded to hold (done), not while a failed send backs off; else the newest final
 * snapshot when it is the newest (an earlier send failed), or a new one taken at `nowMs`. Pure.
 */
export function finalCopy(d: DatasetBackup, local: LocalDataset | undefined, state: BackupState, nowMs: number): FinalCopy | undefined {
  const tag = targetsOf(d).find((t) => t.kind === "replica")?.tag;
  if (local === undefined || !local.managed || tag === undefined) return undefined;
  const failed = state.failures[copyKey(d.dataset, tag)];
  if (failed !== undefined && nowMs < failed.at + backoffMs(failed.count)) return undefined;
  const newest = newestTimed(local.snapshots.map((s) => s.name));
  if (newest?.final !== true) return { snapshot: finalSnapshotName(nowMs), take: true };
  return state.targets[d.dataset]?.[tag]?.snapshot === newest.name ? undefined : { snapshot: newest.name, take: false };
}

/**
 * planDrains decides the final copies of the slice's leaving datasets: each a teardown send
 * that needs the service's jail (stopped first when it still runs here), preceded by the final
 * snapshot when it is taken now. A copy that cannot be planned is a finding, as for any copy.
 * Pure.
 */
export function planDrains(slice: BackupDesired, observed: BackupObserved): { actions: BackupAction[]; findings: BackupFinding[]; resources: string[] } {
  const actions: BackupAction[] = [];
  const findings: BackupFinding[] = [];
  const resources: string[] = [];
  const state = observed.state ?? EMPTY_BACKUP_STATE;
  const files = sshFiles(slice.host);
  for (const d of slice.backups?.leaving ?? []) {
    const local = observed.datasets[d.dataset];
    const final = finalCopy(d, local, state, observed.nowMs);
    const t = targetsOf(d).find((x) => x.kind === "replica");
    if (final === undefined || t === undefined) continue;
    const resource = copyResource(d.dataset, t.tag);
    resources.push(resource);
    const endpoint = endpointOf(d, t);
    const moved = `${d.service} now runs on ${t.name}`;
    if (files === undefined || endpoint === undefined) {
      const why = files === undefined ? "steward.yaml names no backup_known_hosts" : `node ${t.name} has neither receive: nor address: in the manifest`;
      findings.push({ driver: "backup", kind: "target-unconfigured", resource, subject: t.name, target: t.tag, blocking: false, message: `${moved}, but the final copy of ${d.dataset} cannot be sent there: ${why}; ${t.name} waits for it` });
      continue;
    }
    const view = observed.targets?.[t.tag];
    if (view === undefined) continue;
    if (view.kind === "unreachable") {
      findings.push({ driver: "backup", kind: "target-unreachable", resource, subject: t.name, target: t.tag, blocking: false, message: `${moved}, but it could not be read (${view.message}): the final copy of ${d.dataset} is sent when it can be` });
      continue;
    }
    const plan = planCopy({
      d,
      target: t,
      way: replicaWay(d, endpoint, files),
      view: view.datasets[relativeName(d.service, d.short)],
      local,
      newest: final.snapshot,
      taken: final.take ? [final.snapshot] : [],
      features: observed.features,
      due: true,
      recorded: state.targets[d.dataset]?.[t.tag]?.snapshot,
      needs: [`jail:${d.service}`],
      failed: state.failures[copyKey(d.dataset, t.tag)]?.count ?? 0,
    });
    if (plan.finding !== undefined) findings.push(plan.finding);
    const a = plan.action;
    if (a === undefined) continue;
    const reason = `${moved}: the final copy, taken here after its jail stopped, goes to ${t.name}, which starts the service from it`;
    if (a.kind === "backup.send") actions.push({ ...a, teardown: true, steps: [...(final.take ? [{ argv: snapshotArgv(d.dataset, final.snapshot, false) }] : []), ...a.steps], reason: `${reason} (${a.reason})` });
    else actions.push({ ...a, teardown: true });
  }
  return { actions, findings, resources };
}
