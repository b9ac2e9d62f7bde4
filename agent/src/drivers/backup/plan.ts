/**
 * The backup part of the plan (schema/README.md, "Backups"). Pure: the slice and what was
 * observed (its clock included) in, actions and findings out.
 *
 * - Snapshots: for each unit (a service's container taken with `-r`, or one dataset), the
 *   kinds its policy keeps whose window (periodIndex) has no snapshot yet are taken now, in
 *   one action, all with the observation's time in their names.
 * - Prune: of each kind, the newest `keep` snapshots stay (counting those taken now); the
 *   others are destroyed, except the newest Steward snapshot of the unit, a snapshot with a
 *   hold, and an incremental base a copy still needs (`bases`).
 * - Destroy: a dataset listed in `destroy` that the ZFS driver will destroy (managed, no other
 *   snapshots, no children that stay) has its Steward snapshots destroyed first, in a teardown
 *   action the plan shows, so a backup never blocks a destroy silently; a snapshot held by a
 *   hold Steward does not know is a finding that says the destroy will fail and why.
 */
import { SNAPSHOT_PERIODS, type DatasetBackup, type SnapshotPeriod } from "../../manifest/types.js";
import type { DriverPlan } from "../driver.js";
import { destroySnapshotArgv, releaseArgv, snapshotArgv, HOLD_MISSING, SNAPSHOT_GONE } from "./commands.js";
import { compareSnapshotNames, isStewardSnapshot, parseSnapshotName, periodIndex, snapshotName } from "./names.js";
import { retainedSnapshots } from "./retention.js";
import type { BackupAction, BackupClearAction, BackupDesired, BackupFinding, BackupObserved, BackupPruneAction, BackupSnapshotAction, LocalDataset } from "./types.js";

/** The resource of a unit's (or a dataset's) backups. */
export function backupResource(name: string): string {
  return `backup:${name}`;
}

/** A unit: what one `zfs snapshot` is taken on, and the datasets it covers. */
export interface Unit {
  readonly unit: string;
  readonly recursive: boolean;
  readonly keep: DatasetBackup["keep"];
  readonly members: readonly DatasetBackup[];
}

/** unitsOf groups a node's dataset backups by unit, in name order. */
export function unitsOf(datasets: readonly DatasetBackup[]): Unit[] {
  const byUnit = new Map<string, DatasetBackup[]>();
  for (const d of datasets) byUnit.set(d.unit, [...(byUnit.get(d.unit) ?? []), d]);
  return [...byUnit]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([unit, members]) => ({ unit, recursive: (members[0] as DatasetBackup).recursive, keep: (members[0] as DatasetBackup).keep, members }));
}

/**
 * dueKinds lists the kinds of snapshot due at `nowMs`: kept by the policy, and with no
 * snapshot of that kind in the current window (a snapshot dated later than now, from a clock
 * set back, counts as present). Pure.
 */
export function dueKinds(keep: DatasetBackup["keep"], names: readonly string[], nowMs: number): SnapshotPeriod[] {
  const newest = new Map<SnapshotPeriod, number>();
  for (const n of names) {
    const s = parseSnapshotName(n);
    if (s !== undefined && s.at > (newest.get(s.kind) ?? -Infinity)) newest.set(s.kind, s.at);
  }
  return SNAPSHOT_PERIODS.filter((k) => {
    if ((keep[k] ?? 0) <= 0) return false;
    const at = newest.get(k);
    return at === undefined || periodIndex(k, at) < periodIndex(k, nowMs);
  });
}

/** planBackups decides the backup actions and findings for one node. Pure. */
export function planBackups(slice: BackupDesired, observed: BackupObserved): DriverPlan<BackupAction, BackupFinding> {
  const actions: BackupAction[] = [];
  const findings: BackupFinding[] = [];
  const resources: string[] = [];
  for (const u of unitsOf(slice.backups?.datasets ?? [])) {
    resources.push(backupResource(u.unit));
    actions.push(...planUnit(u, observed));
  }
  for (const name of [...slice.destroy].sort()) {
    const cleared = planClear(name, slice.destroy, observed);
    if (cleared === undefined) continue;
    resources.push(backupResource(name));
    if (cleared.action !== undefined) actions.push(cleared.action);
    findings.push(...cleared.findings);
  }
  return { actions, findings, resources };
}

function planUnit(u: Unit, observed: BackupObserved): BackupAction[] {
  const out: BackupAction[] = [];
  const resource = backupResource(u.unit);
  const own = observed.datasets[u.unit];
  const members = u.members.map((m) => observed.datasets[m.dataset]).filter((d): d is LocalDataset => d !== undefined);
  const onUnit = (own?.snapshots ?? []).map((s) => s.name).filter(isStewardSnapshot);
  const due = dueKinds(u.keep, onUnit, observed.nowMs);
  const taken = due.map((k) => snapshotName(k, observed.nowMs));
  if (taken.length > 0) {
    const snapshot: BackupSnapshotAction = {
      kind: "backup.snapshot",
      id: `backup.snapshot:${u.unit}`,
      driver: "backup",
      resource,
      needs: [...new Set([u.unit, ...u.members.map((m) => m.dataset)])].sort().map((d) => `zfs:${d}`),
      teardown: false,
      effect: "create",
      steps: taken.map((name) => ({ argv: snapshotArgv(u.unit, name, u.recursive) })),
      cause: "due",
      reason: `${due.join(", ")} snapshot${due.length === 1 ? "" : "s"} due`,
      unit: u.unit,
      recursive: u.recursive,
      snapshots: taken,
    };
    out.push(snapshot);
  }

  // Every Steward snapshot of the unit and its members, with what keeps it.
  const all = new Set<string>([...onUnit, ...taken]);
  const held = new Set<string>();
  for (const d of [own, ...members]) {
    for (const s of d?.snapshots ?? []) {
      if (!isStewardSnapshot(s.name)) continue;
      all.add(s.name);
      if (s.userrefs > 0) held.add(s.name);
    }
  }
  const names = [...all].sort(compareSnapshotNames);
  const newest = names[names.length - 1];
  const retained = retainedSnapshots(u.keep, names);
  const past = names.filter((n) => !retained.has(n) && n !== newest);
  const kept = past.filter((n) => held.has(n));
  const destroy = past.filter((n) => !held.has(n));
  if (destroy.length > 0) {
    const onUnitSet = new Set(onUnit);
    const steps = destroy.flatMap((n) =>
      u.recursive && onUnitSet.has(n)
        ? [{ argv: destroySnapshotArgv(u.unit, n, true), already: SNAPSHOT_GONE }]
        : [own, ...members].filter((d): d is LocalDataset => d !== undefined && d.snapshots.some((s) => s.name === n)).map((d) => ({ argv: destroySnapshotArgv(d.name, n, false), already: SNAPSHOT_GONE })),
    );
    const prune: BackupPruneAction = {
      kind: "backup.prune",
      id: `backup.prune:${u.unit}`,
      driver: "backup",
      resource,
      needs: [],
      teardown: false,
      effect: "destroy",
      steps,
      cause: "due",
      reason: `past retention (${keepText(u.keep)})${kept.length > 0 ? `; ${kept.length} kept as a base or held` : ""}`,
      unit: u.unit,
      recursive: u.recursive,
      snapshots: destroy,
      kept,
    };
    out.push(prune);
  }
  return out;
}

/** keepText writes a policy's retention as the manifest does: `hourly 24, daily 7`. */
export function keepText(keep: DatasetBackup["keep"]): string {
  return SNAPSHOT_PERIODS.filter((k) => (keep[k] ?? 0) > 0)
    .map((k) => `${k} ${keep[k] ?? 0}`)
    .join(", ");
}

/**
 * planClear decides what a dataset listed in `destroy` needs from the backup driver: nothing
 * (undefined) unless it exists with Steward snapshots and the ZFS driver will destroy it (the
 * rules of zfs/plan.ts planDestroys: managed, no other snapshots, no children that stay); then an
 * action destroying those snapshots, and a finding for each one held by a hold Steward does
 * not know.
 */
function planClear(name: string, destroy: readonly string[], observed: BackupObserved): { action: BackupClearAction | undefined; findings: BackupFinding[] } | undefined {
  const d = observed.datasets[name];
  if (d === undefined || !d.managed) return undefined;
  const ours = d.snapshots.filter((s) => isStewardSnapshot(s.name));
  if (ours.length === 0 || ours.length !== d.snapshots.length) return undefined;
  const listed = new Set(destroy);
  const staying = Object.keys(observed.datasets).filter((n) => n.startsWith(`${name}/`) && !listed.has(n));
  if (staying.length > 0) return undefined;
  const resource = backupResource(name);
  const releases: BackupClearAction["releases"] = [];
  const findings: BackupFinding[] = ours
    .filter((s) => s.userrefs > 0)
    .map((s) => ({
      driver: "backup" as const,
      kind: "hold-unknown" as const,
      resource,
      subject: `${name}@${s.name}`,
      dataset: name,
      snapshot: s.name,
      blocking: false,
      message: `held by a hold Steward did not place, so neither it nor ${name} can be destroyed; see zfs holds ${name}@${s.name}, then zfs release TAG ${name}@${s.name}`,
    }));
  const action: BackupClearAction = {
    kind: "backup.clear",
    id: `backup.clear:${name}`,
    driver: "backup",
    resource,
    needs: [],
    teardown: true,
    effect: "destroy",
    steps: [...releases.map((r) => ({ argv: releaseArgv(r.tag, name, r.snapshot), already: HOLD_MISSING })), ...ours.map((s) => ({ argv: destroySnapshotArgv(name, s.name, false), already: SNAPSHOT_GONE }))],
    cause: "listed-for-destroy",
    reason: `listed in destroy: its ${ours.length} Steward snapshot${ours.length === 1 ? "" : "s"} go first so that it can be destroyed (copies on peers, cold disks and remotes are kept)`,
    dataset: name,
    snapshots: ours.map((s) => s.name),
    releases,
  };
  return { action, findings };
}
