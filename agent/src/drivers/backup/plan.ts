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
 * - Copies (transfers.ts, remote.ts): each due copy to a peer's replica, to a cold disk while
 *   it is plugged in (its pool imported), or to a remote store (age-encrypted files), is one
 *   send after the unit's snapshot; the base it reads
 *   from, and the snapshot each target is recorded to hold, are never pruned. A plugged-in
 *   cold disk is exported after its copies.
 * - Drain (drain.ts): a dataset of a service the manifest moved to another live node gets its
 *   final copy sent there once its jail has stopped here.
 * - Destroy: a dataset listed in `destroy` that the ZFS driver will destroy (managed, no other
 *   snapshots, no children that stay) has its Steward snapshots destroyed first, in a teardown
 *   action the plan shows (releasing the holds Steward placed on the bases of its copies), so a
 *   backup never blocks a destroy silently; a snapshot held by a hold Steward does not know is a finding that says the destroy will fail and why.
 */
import { SNAPSHOT_PERIODS, type DatasetBackup, type SnapshotPeriod } from "../../manifest/types.js";
import type { DriverPlan } from "../driver.js";
import { destroySnapshotArgv, releaseArgv, snapshotArgv, HOLD_MISSING, SNAPSHOT_GONE } from "./commands.js";
import { compareSnapshotNames, drillName, holdTag, isStewardSnapshot, parseSnapshotName, periodIndex, relativeName, snapshotName } from "./names.js";
import { retainedSnapshots } from "./retention.js";
import { coldWay, endpointOf, exportArgv, replicaWay, sshFiles } from "./targets.js";
import { copyDue, copyResource, everyOf, newestSnapshot, planCopy, targetsOf } from "./transfers.js";
import { copyKey } from "./record.js";
import { planDrains } from "./drain.js";
import { drillDue, parseRemoteFile, planRemote } from "./remote.js";
import { planRestore } from "./restore.js";
import { SEND_TIMEOUT_MS } from "./commands.js";
import type { Argv } from "../../exec.js";
import { EMPTY_BACKUP_STATE, type BackupAction, type BackupClearAction, type BackupDrillAction, type BackupExportAction, type TargetRef, type BackupDesired, type BackupFinding, type BackupObserved, type BackupPruneAction, type BackupSnapshotAction, type LocalDataset } from "./types.js";

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

/** takenByUnit names the snapshots each unit takes at `nowMs` (its due kinds), by unit. Pure. */
export function takenByUnit(datasets: readonly DatasetBackup[], local: BackupObserved["datasets"], nowMs: number): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const u of unitsOf(datasets)) {
    const onUnit = (local[u.unit]?.snapshots ?? []).map((s) => s.name).filter(isStewardSnapshot);
    out.set(u.unit, dueKinds(u.keep, onUnit, nowMs).map((k) => snapshotName(k, nowMs)));
  }
  return out;
}

/** planBackups decides the backup actions and findings for one node. Pure. */
export function planBackups(slice: BackupDesired, observed: BackupObserved): DriverPlan<BackupAction, BackupFinding> {
  const actions: BackupAction[] = [];
  const findings: BackupFinding[] = [];
  const resources: string[] = [];
  const all = slice.backups?.datasets ?? [];
  const taken = takenByUnit(all, observed.datasets, observed.nowMs);
  const copies = planCopies(slice, observed, taken);
  for (const u of unitsOf(all)) {
    resources.push(backupResource(u.unit));
    actions.push(...planUnit(u, observed, copies.bases));
  }
  actions.push(...copies.actions);
  findings.push(...copies.findings);
  resources.push(...copies.resources);
  const drains = planDrains(slice, observed);
  actions.push(...drains.actions);
  findings.push(...drains.findings);
  resources.push(...drains.resources);
  for (const name of [...slice.destroy].sort()) {
    const cleared = planClear(name, slice.destroy, observed);
    if (cleared === undefined) continue;
    resources.push(backupResource(name));
    if (cleared.action !== undefined) actions.push(cleared.action);
    findings.push(...cleared.findings);
  }
  return { actions, findings, resources };
}

/**
 * planCopies decides each dataset's due copies (replicas on peers; cold and remote copies are
 * not sent yet), and the local snapshots they read from or are recorded at: the prune keeps
 * those. A copy that cannot be planned is a finding: no backup_known_hosts, no way to reach
 * the peer, the peer unreachable (once per target), or a copy diverged.
 */
function planCopies(slice: BackupDesired, observed: BackupObserved, taken: ReadonlyMap<string, readonly string[]>): { actions: BackupAction[]; findings: BackupFinding[]; resources: string[]; bases: Set<string> } {
  const actions: BackupAction[] = [];
  const findings: BackupFinding[] = [];
  const resources: string[] = [];
  const bases = new Set<string>();
  const state = observed.state ?? EMPTY_BACKUP_STATE;
  const files = sshFiles(slice.host);
  const said = new Set<string>();
  /** Plugged-in cold disks, with the copy resources their export waits for. */
  const plugged = new Map<string, string[]>();
  const once = (tag: string, f: BackupFinding): void => {
    if (said.has(tag)) return;
    said.add(tag);
    findings.push(f);
  };
  for (const d of slice.backups?.datasets ?? []) {
    const unitTaken = taken.get(d.unit) ?? [];
    const local = observed.datasets[d.dataset];
    const newest = newestSnapshot(local, unitTaken);
    for (const t of targetsOf(d)) {
      const resource = copyResource(d.dataset, t.tag);
      resources.push(resource);
      const recorded = state.targets[d.dataset]?.[t.tag]?.snapshot;
      if (recorded !== undefined) bases.add(`${d.dataset}@${recorded}`);
      if (t.kind === "cold" && !observed.pools.includes(t.name)) continue;
      if (t.kind === "remote") {
        const drill = planDrill(slice, observed, d, t, resource);
        if (drill !== undefined) actions.push(drill);
      }
      if (t.kind === "cold") plugged.set(t.name, [...(plugged.get(t.name) ?? []), resource]);
      const due = copyDue(observed.nowMs, everyOf(d, t), newest, state.targets[d.dataset]?.[t.tag], [state.failures[copyKey(d.dataset, t.tag)], state.failures[t.tag]]);
      if (!due || newest === undefined) continue;
      if (t.kind === "cold") {
        const view = observed.targets?.[t.tag];
        if (view === undefined) continue;
        if (view.kind === "unreachable") {
          once(t.tag, { driver: "backup", kind: "target-unreachable", resource, subject: t.name, target: t.tag, blocking: false, message: `the cold disk ${t.name} could not be read (${view.message})` });
          continue;
        }
        const plan = planCopy({ d, target: t, way: coldWay(d, t.name, slice.node), view: view.datasets[relativeName(d.service, d.short)], local, newest, taken: unitTaken, features: observed.features, due, recorded, needs: [backupResource(d.unit)], failed: state.failures[copyKey(d.dataset, t.tag)]?.count ?? 0 });
        if (plan.action !== undefined) actions.push(plan.action);
        if (plan.finding !== undefined) findings.push(plan.finding);
        if (plan.base !== undefined) bases.add(`${d.dataset}@${plan.base}`);
        continue;
      }
      const endpoint = endpointOf(d, t);
      if (files === undefined || endpoint === undefined) {
        const why = files === undefined ? "steward.yaml names no backup_known_hosts (the pinned host keys of peers and remote stores)" : `node ${t.name} has neither receive: nor address: in the manifest`;
        once(t.tag, { driver: "backup", kind: "target-unconfigured", resource, subject: t.name, target: t.tag, blocking: false, message: `${t.kind === "remote" ? "remote copies" : "replicas"} to ${t.name} wait: ${why}` });
        continue;
      }
      const view = observed.targets?.[t.tag];
      if (view === undefined) continue;
      if (view.kind === "unreachable") {
        once(t.tag, { driver: "backup", kind: "target-unreachable", resource, subject: t.name, target: t.tag, blocking: false, message: `${t.name} could not be read (${view.message}); its copies wait and are tried again later` });
        continue;
      }
      if (t.kind === "remote") {
        const stored = (view.datasets[relativeName(d.service, d.short)]?.files ?? []).flatMap((p) => parseRemoteFile(p) ?? []);
        const raw = observed.features === "openzfs" && (observed.encrypted ?? []).includes(d.dataset);
        const r = planRemote({ d, target: t, endpoint, files, recipients: slice.backups?.recipients ?? [], stored, local, newest, recorded, features: observed.features, raw, needs: [backupResource(d.unit)] });
        actions.push(r.action);
        if (r.base !== undefined) bases.add(`${d.dataset}@${r.base}`);
        continue;
      }
      const plan = planCopy({ d, target: t, way: replicaWay(d, endpoint, files), view: view.datasets[relativeName(d.service, d.short)], local, newest, taken: unitTaken, features: observed.features, due, recorded, needs: [backupResource(d.unit)], failed: state.failures[copyKey(d.dataset, t.tag)]?.count ?? 0 });
      if (plan.action !== undefined) actions.push(plan.action);
      if (plan.finding !== undefined) findings.push(plan.finding);
      if (plan.base !== undefined) bases.add(`${d.dataset}@${plan.base}`);
    }
  }
  // A plugged-in cold disk is exported after its copies (whatever they did): then it can be unplugged.
  for (const [pool, copies] of [...plugged].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const resource = `backup:cold-${pool}`;
    resources.push(resource);
    const exported: BackupExportAction = {
      kind: "backup.export",
      id: `backup.export:${pool}`,
      driver: "backup",
      resource,
      needs: copies,
      teardown: false,
      effect: "change",
      steps: [{ argv: exportArgv(pool) }],
      cause: "due",
      reason: `the cold disk ${pool} is plugged in: exported after its copies, so that it can be unplugged`,
      pool,
    };
    actions.push(exported);
  }
  return { actions, findings, resources, bases };
}

/**
 * planDrill restores a dataset's newest remote copy into `<pool>/steward/drill/<service>/<name>`
 * and destroys it again, when the drill is due, an identity can decrypt and the store was read:
 * it proves the copy decrypts and receives. It runs after this run's copy to the remote.
 */
function planDrill(slice: BackupDesired, observed: BackupObserved, d: DatasetBackup, t: TargetRef, copy: string): BackupDrillAction | undefined {
  const identity = slice.host?.identity;
  const files = sshFiles(slice.host);
  const endpoint = endpointOf(d, t);
  const view = observed.targets?.[t.tag];
  if (identity === undefined || files === undefined || endpoint === undefined || view?.kind !== "seen") return undefined;
  if (!drillDue(observed.nowMs, slice.backups?.drill ?? 0, observed.state?.drills?.[d.dataset])) return undefined;
  const stored = (view.datasets[relativeName(d.service, d.short)]?.files ?? []).flatMap((p) => parseRemoteFile(p) ?? []);
  const into = drillName(slice.pool, d.service, d.short);
  const plan = planRestore(d, slice.node, { from: "remote", stored, endpoint, files, identity }, into, undefined);
  if (typeof plan === "string") return undefined;
  const gone = { argv: destroyTreeArgv(into), already: ["dataset does not exist"] };
  return {
    kind: "backup.drill",
    id: `backup.drill:${d.dataset}`,
    driver: "backup",
    resource: `backup:drill-${d.dataset}`,
    needs: [copy],
    teardown: false,
    effect: "create",
    steps: [
      gone,
      ...[`${slice.pool}/steward/drill`, `${slice.pool}/steward/drill/${d.service}`].map((c) => ({ argv: ["zfs", "create", "-o", "mountpoint=none", c] as Argv, already: ["dataset already exists"] })),
      ...plan.pipelines.map((p) => ({ pipeline: p, timeoutMs: SEND_TIMEOUT_MS })),
      { argv: destroyTreeArgv(into) },
    ],
    cause: "due",
    reason: `restore drill: the newest copy on ${t.name} (${plan.snapshot}, ${plan.pipelines.length} file${plan.pipelines.length === 1 ? "" : "s"}) is decrypted and received into ${into}, then destroyed`,
    dataset: d.dataset,
    snapshot: plan.snapshot,
  };
}

/** destroyTreeArgv destroys a drill's dataset and its snapshots (never anything outside the drill tree). */
function destroyTreeArgv(name: string): Argv {
  return ["zfs", "destroy", "-r", name];
}

function planUnit(u: Unit, observed: BackupObserved, bases: ReadonlySet<string>): BackupAction[] {
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
  // A base of a copy on any member (or the unit) stays, as a held snapshot does.
  const based = new Set(names.filter((n) => [u.unit, ...u.members.map((m) => m.dataset)].some((ds) => bases.has(`${ds}@${n}`))));
  const kept = past.filter((n) => held.has(n) || based.has(n));
  const destroy = past.filter((n) => !held.has(n) && !based.has(n));
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
  // Steward's own holds: the bases of this dataset's copies, as the record says.
  const releases: BackupClearAction["releases"] = Object.entries(observed.state?.targets[name] ?? {})
    .filter(([, r]) => ours.some((s) => s.name === r.snapshot && s.userrefs > 0))
    .map(([tag, r]) => ({ snapshot: r.snapshot, tag: holdTag(tag) }))
    .sort((a, b) => compareSnapshotNames(a.snapshot, b.snapshot) || (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));
  const released = (snapshot: string): number => releases.filter((r) => r.snapshot === snapshot).length;
  const findings: BackupFinding[] = ours
    .filter((s) => s.userrefs > released(s.name))
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
