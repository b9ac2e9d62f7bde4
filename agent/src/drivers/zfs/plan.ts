/**
 * The ZFS part of the plan: desired datasets against observed ones. Pure.
 */
import { StewardError } from "../../errors.js";
import type { DatasetSpec } from "../../manifest/types.js";
import type { ActionCause } from "../../plan/types.js";
import { MANAGED_PROPERTY, MANAGED_VALUE, NATIVE_PROPERTIES, NON_INHERITABLE, cloneArgv, createArgv, destroyArgv, mountArgv, revertArgv, setArgv } from "./commands.js";
import { compareDatasetNames, isSameValue, parentOf } from "./parse.js";
import { formatValue } from "./properties.js";
import { isBackupTree, isStewardSnapshot, newestTimed } from "../backup/names.js";
import { SEND_TIMEOUT_MS } from "../backup/commands.js";
import { formatDuration } from "../../manifest/duration.js";
import type { ObservedDataset, ZfsAction, ZfsCloneAction, ZfsCreateAction, ZfsSeedAction, ZfsDesired, ZfsDestroyAction, ZfsFinding, ZfsInheritAction, ZfsMountAction, ZfsObserved, ZfsSetAction } from "./types.js";

export interface ZfsPlanPart {
  readonly actions: ZfsAction[];
  readonly findings: ZfsFinding[];
  /** Every desired dataset's resource. */
  readonly resources: string[];
}

/** The resource key of a dataset: a failed action stops the later ones on the same key. */
export function datasetResource(name: string): string {
  return `zfs:${name}`;
}

/** The stable id of an action. */
export function actionId(kind: ZfsAction["kind"], dataset: string, property?: string): string {
  return property === undefined ? `${kind}:${dataset}` : `${kind}:${dataset}:${property}`;
}

function isUnder(name: string, root: string): boolean {
  return name === root || name.startsWith(`${root}/`);
}

/**
 * planDatasets decides the ZFS actions and findings for one node. Pure.
 *
 * - A desired dataset that is absent is created with the marker and all its properties, after
 *   its parent's create; one below an unmanaged conflict is not created (`blocked-by-conflict`).
 * - An absent dataset with seed candidates (replicas here of the service's data on other
 *   nodes) that hold snapshots is not created empty (docs/backups.md, "Failover and drain"):
 *   it is seeded from the replica whose newest snapshot is newest among those allowed to seed
 *   (sent by a node marked down, or ending in a drain's final snapshot); when none is allowed
 *   yet it is not created at all (`seed-waiting`, blocking: its jail does not start).
 * - A desired dataset that exists without the marker is an `unmanaged-conflict`: never touched.
 * - On a managed dataset, each declared property that differs is set (one `zfs set` each),
 *   and each local value of a native managed property that the manifest does not declare is
 *   reverted. Whether a difference is drift or a manifest change is read from the applied
 *   record; drift on a `drift: report` dataset becomes a `drift-reported` finding instead.
 * - Datasets the manifest does not name are kept: `orphan` (managed) or `unmanaged-conflict`.
 * - Datasets listed in `destroy` are destroyed only when they exist, are managed, have no
 *   snapshots but Steward's backup snapshots (which the backup driver destroys first, and the
 *   reason says so) and no children that stay; children first, as teardown (after every other
 *   action).
 * - The backup driver's trees (`replica`, `drill`, `restore` under the root) are left to it.
 * - A create needs its parent's resource when the parent is a desired dataset too, and the
 *   resource of every desired dataset mounted above it (a jail's root before the data mounted
 *   inside it: mounted the other way round, the root would hide the data).
 * - A base release (role base) is only read: missing, or without its snapshot, it is a blocking
 *   `base-missing` finding saying how to install it. A jail root (role clone) is cloned from its
 *   origin when missing; an existing one cloned from elsewhere is `origin-differs`.
 * Throws INTERNAL if a desired dataset lies outside `observed.root` (the manifest step
 * guarantees it never does).
 */
export function planDatasets(desired: ZfsDesired, observed: ZfsObserved): ZfsPlanPart {
  const root = observed.root;
  const have = new Map(observed.datasets.map((d) => [d.name, d]));
  const wanted = [...desired.datasets].sort((a, b) => compareDatasetNames(a.name, b.name));
  const wantedNames = new Set(wanted.map((d) => d.name));
  const destroyNames = new Set(desired.destroy);
  const actions: ZfsAction[] = [];
  const findings: ZfsFinding[] = [];
  // dataset -> the unmanaged dataset that stops it (itself, for a conflict)
  const stopped = new Map<string, string>();

  for (const spec of wanted) {
    if (!isUnder(spec.name, root)) {
      throw new StewardError("INTERNAL", "desired dataset outside Steward's root", { retry: "internal", data: { dataset: spec.name, root } });
    }
    const resource = datasetResource(spec.name);
    const obs = have.get(spec.name);
    const parent = parentOf(spec.name);
    const stoppedBy = parent === undefined ? undefined : stopped.get(parent);
    if (spec.role === "base") {
      const snapshot = spec.snapshot ?? "steward";
      if (obs === undefined || !(obs.snapshotNames ?? []).includes(snapshot)) findings.push(baseMissing(spec.name, snapshot, obs === undefined));
      continue;
    }
    if (obs === undefined) {
      if (stoppedBy !== undefined) {
        stopped.set(spec.name, stoppedBy);
        findings.push({ driver: "zfs", kind: "blocked-by-conflict", resource, subject: spec.name, dataset: spec.name, conflict: stoppedBy, blocking: true, message: `not created: ${stoppedBy} exists without Steward's marker` });
        continue;
      }
      const needs = [...(parent !== undefined && wantedNames.has(parent) ? [datasetResource(parent)] : []), ...mountedAbove(spec, wanted)];
      if (spec.role === "clone" && spec.origin !== undefined) {
        const origin = spec.origin.slice(0, spec.origin.indexOf("@"));
        actions.push(planClone(spec, spec.origin, wantedNames.has(origin) ? [...needs, datasetResource(origin)] : needs));
      } else {
        const seeded = planSeed(spec, have, needs, observed.nowMs);
        if (seeded === undefined) actions.push(planCreate(spec, needs));
        else if (seeded.kind === "zfs.seed") actions.push(seeded);
        else findings.push(seeded);
      }
      continue;
    }
    if (!obs.managed) {
      stopped.set(spec.name, spec.name);
      findings.push({
        driver: "zfs",
        kind: "unmanaged-conflict",
        resource,
        subject: spec.name,
        dataset: spec.name,
        wanted: true,
        blocking: true,
        message: `exists without ${MANAGED_PROPERTY}=yes set locally; Steward will not change it`,
      });
      continue;
    }
    const handed = handedOver(obs);
    if (handed !== undefined && spec.seed !== undefined) {
      stopped.set(spec.name, spec.name);
      findings.push({
        driver: "zfs",
        kind: "handed-over",
        resource,
        subject: spec.name,
        dataset: spec.name,
        snapshot: handed,
        blocking: true,
        message: `its newest snapshot, ${handed}, is the final copy a drain sent when ${spec.owner} moved away from this node: what it holds is older than the service's data. Rename it (zfs rename ${spec.name} ${spec.name}-old) or destroy it, and the dataset is seeded from the replica of the node the service ran on (docs/backups.md, "Failover and drain")`,
      });
      continue;
    }
    if (spec.role === "clone" && spec.origin !== undefined) {
      const actual = obs.properties["origin"]?.value ?? "-";
      if (actual !== spec.origin) {
        findings.push({ driver: "zfs", kind: "origin-differs", resource, subject: spec.name, dataset: spec.name, expected: spec.origin, actual, blocking: false, message: `is a clone of ${actual}, its release's base is ${spec.origin}; left as is (moving a jail to another release is not done yet)` });
      }
    }
    const part = planProperties(spec, obs, observed.applied.datasets[spec.name]);
    actions.push(...part.actions);
    findings.push(...part.findings);
  }

  for (const obs of observed.datasets) {
    if (wantedNames.has(obs.name) || destroyNames.has(obs.name)) continue;
    // Replicas peers send here, restore drills and restores are the backup driver's.
    if (isBackupTree(root, obs.name)) continue;
    const resource = datasetResource(obs.name);
    if (!obs.managed) {
      findings.push({ driver: "zfs", kind: "unmanaged-conflict", resource, subject: obs.name, dataset: obs.name, wanted: false, blocking: false, message: `under ${root} without ${MANAGED_PROPERTY}=yes set locally; left alone` });
    } else {
      findings.push({ driver: "zfs", kind: "orphan", resource, subject: obs.name, dataset: obs.name, blocking: false, message: "managed by Steward but no longer in the manifest; kept (list it in destroy to remove it)" });
    }
  }

  const destroy = planDestroys([...destroyNames], wantedNames, observed);
  actions.push(...destroy.actions);
  findings.push(...destroy.findings);
  return { actions, findings, resources: wanted.map((d) => datasetResource(d.name)) };
}

/** mountedAbove lists the resources of the desired datasets mounted on a proper ancestor of the dataset's mountpoint. */
function mountedAbove(spec: DatasetSpec, wanted: readonly DatasetSpec[]): string[] {
  const mountpoint = spec.properties["mountpoint"];
  if (mountpoint === undefined || !mountpoint.startsWith("/")) return [];
  return wanted.filter((o) => o.name !== spec.name && isMountedAbove(o.properties["mountpoint"], mountpoint)).map((o) => datasetResource(o.name));
}

function isMountedAbove(above: string | undefined, below: string): boolean {
  if (above === undefined || !above.startsWith("/")) return false;
  const a = above.replace(/\/+$/, "");
  return a === "" || below.startsWith(`${a}/`);
}

function baseMissing(name: string, snapshot: string, absent: boolean): ZfsFinding {
  const release = name.split("/").pop() ?? name;
  return {
    driver: "zfs",
    kind: "base-missing",
    resource: datasetResource(name),
    subject: name,
    dataset: name,
    snapshot,
    blocking: true,
    // The steps of docs/jails.md, "The base release"; not `zfs create -p`, which would make
    // Steward's containers without its marker, and under them a base with no mountpoint.
    message: absent
      ? `the base release is not installed: jails of ${release} cannot be created. Install it once (docs/jails.md, "The base release"): zfs create -o mountpoint=/usr/local/steward/base/${release} ${name}; tar -xf ${release}-base.txz -C /usr/local/steward/base/${release}; zfs snapshot ${name}@${snapshot}`
      : `the base release has no snapshot @${snapshot}: jails of ${release} cannot be created. Finish installing it (docs/jails.md, "The base release"), then: zfs snapshot ${name}@${snapshot}`,
  };
}

function planClone(spec: DatasetSpec, origin: string, needs: string[]): ZfsCloneAction {
  const after: Record<string, string> = {};
  for (const key of Object.keys(spec.properties).sort()) if (key !== MANAGED_PROPERTY) after[key] = spec.properties[key] as string;
  return {
    kind: "zfs.clone",
    id: actionId("zfs.clone", spec.name),
    driver: "zfs",
    resource: datasetResource(spec.name),
    dataset: spec.name,
    origin,
    needs,
    teardown: false,
    effect: "create",
    steps: [{ argv: cloneArgv(origin, spec.name, after) }],
    cause: "missing",
    reason: `does not exist: cloned from ${origin}`,
    before: null,
    after,
  };
}

function planCreate(spec: DatasetSpec, needs: string[]): ZfsCreateAction {
  const after: Record<string, string> = {};
  for (const key of Object.keys(spec.properties).sort()) if (key !== MANAGED_PROPERTY) after[key] = spec.properties[key] as string;
  return {
    kind: "zfs.create",
    id: actionId("zfs.create", spec.name),
    driver: "zfs",
    resource: datasetResource(spec.name),
    dataset: spec.name,
    needs,
    teardown: false,
    effect: "create",
    steps: [{ argv: createArgv(spec.name, after) }],
    cause: "missing",
    reason: "does not exist",
    before: null,
    after,
  };
}

/** A replica that could seed a dataset: its newest Steward snapshot. */
interface SeedSource {
  readonly dataset: string;
  readonly node: string;
  readonly down: boolean;
  readonly snapshot: string;
  readonly at: number;
  readonly final: boolean;
}

/** ageText says how old a snapshot taken at `at` is, or when it was taken when the plan has no clock. */
function ageText(at: number, nowMs: number | undefined): string {
  return nowMs === undefined ? `at ${new Date(at).toISOString().replace(".000Z", "Z")}` : `${formatDuration((nowMs - at) / 1000)} ago`;
}

/**
 * planSeed decides how an absent dataset with seed candidates comes to be: undefined when no
 * candidate replica here holds a Steward snapshot (created empty, as a new dataset); a seed
 * from the allowed replica with the newest snapshot; else the `seed-waiting` finding.
 */
function planSeed(spec: DatasetSpec, have: ReadonlyMap<string, ObservedDataset>, needs: string[], nowMs: number | undefined): ZfsSeedAction | ZfsFinding | undefined {
  const sources: SeedSource[] = [];
  for (const c of spec.seed ?? []) {
    const obs = have.get(c.dataset);
    if (obs === undefined) continue;
    const newest = newestTimed(obs.snapshotNames ?? []);
    if (newest !== undefined) sources.push({ dataset: c.dataset, node: c.node, down: c.down, snapshot: newest.name, at: newest.at, final: newest.final });
  }
  if (sources.length === 0) return undefined;
  const byAge = (a: SeedSource, b: SeedSource): number => b.at - a.at || (a.node < b.node ? -1 : a.node > b.node ? 1 : 0);
  const allowed = sources.filter((r) => r.down || r.final).sort(byAge);
  const chosen = allowed[0];
  const short = spec.name.slice(spec.name.lastIndexOf("/") + 1);
  const resource = datasetResource(spec.name);
  if (chosen === undefined) {
    const newest = [...sources].sort(byAge)[0] as SeedSource;
    return {
      driver: "zfs",
      kind: "seed-waiting",
      resource,
      subject: spec.name,
      dataset: spec.name,
      replicas: [...sources].sort(byAge).map((r) => ({ dataset: r.dataset, node: r.node, snapshot: r.snapshot })),
      blocking: true,
      message:
        `not created: ${newest.node}'s replica of ${spec.owner}/${short} here (${newest.dataset}) holds its data up to ${newest.snapshot}, taken ${ageText(newest.at, nowMs)}, but not its final copy. ` +
        `Moved from a live ${newest.node} (a drain): ${newest.node}'s next run stops the jail and sends its final copy here, then this dataset is seeded from it (docs/backups.md, "Failover and drain"). ` +
        `${newest.node} is dead (a failover): mark it down (nodes/${newest.node}.yaml: down: true) to seed from this replica now; what was written after it is lost`,
    };
  }
  const after: Record<string, string> = {};
  for (const key of Object.keys(spec.properties).sort()) if (key !== MANAGED_PROPERTY) after[key] = spec.properties[key] as string;
  // The mountpoint last: received under a container with mountpoint=none, the dataset stays
  // unmounted until then (zfs-fuse refuses to change a mounted dataset it is receiving into).
  const props = Object.keys(after).filter((k) => k !== "mountpoint");
  const mountpoint = after["mountpoint"];
  return {
    kind: "zfs.seed",
    id: actionId("zfs.seed", spec.name),
    driver: "zfs",
    resource,
    dataset: spec.name,
    source: chosen.dataset,
    from: chosen.node,
    snapshot: chosen.snapshot,
    takenAt: chosen.at,
    because: chosen.final ? "final" : "down",
    needs,
    teardown: false,
    effect: "create",
    steps: [
      { pipeline: [["zfs", "send", `${chosen.dataset}@${chosen.snapshot}`], ["zfs", "receive", spec.name]], timeoutMs: SEND_TIMEOUT_MS },
      { argv: setArgv(spec.name, MANAGED_PROPERTY, MANAGED_VALUE) },
      ...props.map((k) => ({ argv: setArgv(spec.name, k, after[k] as string) })),
      ...(mountpoint === undefined ? [] : [{ argv: setArgv(spec.name, "mountpoint", mountpoint) }]),
      ...(mountpoint?.startsWith("/") === true ? [{ argv: mountArgv(spec.name), already: MOUNTED }] : []),
    ],
    cause: "missing",
    reason:
      `does not exist: seeded from the replica of ${chosen.node}'s ${spec.owner}/${short} kept here, snapshot ${chosen.snapshot}, taken ${ageText(chosen.at, nowMs)}` +
      (chosen.final ? ` (${chosen.node}'s final copy after its jail stopped: nothing lost)` : ` (${chosen.node} is marked down: what was written there after this snapshot is lost)`),
    before: null,
    after,
  };
}

/** handedOver names a dataset's newest snapshot when it is a drain's final copy; undefined otherwise. */
function handedOver(obs: ObservedDataset): string | undefined {
  const newest = newestTimed(obs.snapshotNames ?? []);
  return newest?.final === true ? newest.name : undefined;
}

/** What `zfs mount` prints for a dataset mounted already (setting the mountpoint mounted it). */
const MOUNTED: readonly string[] = ["filesystem already mounted"];

/** Decides drift vs manifest change for one property from the applied record (3-way). */
function causeOf(recorded: Readonly<Record<string, string>> | undefined, property: string, desired: string | undefined): ActionCause {
  if (recorded === undefined) return "unrecorded";
  const was = recorded[property];
  if (was === undefined && desired === undefined) return "drift";
  if (was === undefined || desired === undefined) return "manifest-changed";
  return isSameValue(property, was, desired) ? "drift" : "manifest-changed";
}

function planProperties(spec: DatasetSpec, obs: ObservedDataset, recorded: Readonly<Record<string, string>> | undefined): { actions: ZfsAction[]; findings: ZfsFinding[] } {
  const actions: ZfsAction[] = [];
  const findings: ZfsFinding[] = [];
  const resource = datasetResource(spec.name);
  const show = formatValue;

  for (const property of Object.keys(spec.properties).sort()) {
    if (property === MANAGED_PROPERTY) continue;
    const want = spec.properties[property] as string;
    const now = obs.properties[property]?.value ?? "-";
    if (isSameValue(property, want, now)) continue;
    const cause = causeOf(recorded, property, want);
    if (cause === "drift" && spec.drift === "report") {
      findings.push(driftReported(spec.name, property, want, now, `${property} changed by hand from ${show(property, want)} to ${show(property, now)}`));
      continue;
    }
    const was = recorded?.[property];
    const reason =
      cause === "drift"
        ? `drift: ${property} changed by hand from ${show(property, want)} to ${show(property, now)}`
        : cause === "manifest-changed"
          ? `manifest changed ${property} from ${was === undefined ? "(unset)" : show(property, was)} to ${show(property, want)}`
          : `${property} is ${show(property, now)}, the manifest says ${show(property, want)}`;
    const action: ZfsSetAction = {
      kind: "zfs.set",
      id: actionId("zfs.set", spec.name, property),
      driver: "zfs",
      resource,
      dataset: spec.name,
      property,
      needs: [],
      teardown: false,
      effect: "change",
      steps: [{ argv: setArgv(spec.name, property, want) }],
      cause,
      reason,
      before: now,
      after: want,
    };
    actions.push(action);
  }

  for (const property of NATIVE_PROPERTIES) {
    if (Object.hasOwn(spec.properties, property)) continue;
    const o = obs.properties[property];
    if (o === undefined || o.source !== "local") continue;
    const none = NON_INHERITABLE[property];
    // `zfs set quota=none` leaves source local with value 0: that is "not set" already.
    if (none !== undefined && isSameValue(property, none, o.value)) continue;
    const cause = causeOf(recorded, property, undefined);
    if (cause === "drift" && spec.drift === "report") {
      findings.push(driftReported(spec.name, property, "", o.value, `${property} set by hand to ${show(property, o.value)}; the manifest does not declare it`));
      continue;
    }
    const was = recorded?.[property];
    const reason =
      cause === "drift"
        ? `drift: ${property} set by hand to ${show(property, o.value)}; the manifest does not declare it`
        : cause === "manifest-changed"
          ? `the manifest no longer sets ${property} (was ${was === undefined ? "(unset)" : show(property, was)})`
          : `${property}=${show(property, o.value)} is set locally; the manifest does not declare it`;
    const action: ZfsInheritAction = {
      kind: "zfs.inherit",
      id: actionId("zfs.inherit", spec.name, property),
      driver: "zfs",
      resource,
      dataset: spec.name,
      property,
      needs: [],
      teardown: false,
      effect: "change",
      steps: [{ argv: revertArgv(spec.name, property) }],
      cause,
      reason,
      before: o.value,
      after: null,
    };
    actions.push(action);
  }

  // A dataset with a mountpoint that is not mounted shows the jail an empty directory. A
  // mountpoint change planned above remounts it anyway.
  const wantsMount = spec.properties["mountpoint"]?.startsWith("/") === true;
  if (wantsMount && obs.properties["mounted"]?.value === "no" && !actions.some((a) => a.kind === "zfs.set" && a.property === "mountpoint")) {
    if (spec.drift === "report") {
      findings.push(driftReported(spec.name, "mounted", "yes", "no", "not mounted"));
    } else {
      const mount: ZfsMountAction = {
        kind: "zfs.mount",
        id: actionId("zfs.mount", spec.name),
        driver: "zfs",
        resource,
        dataset: spec.name,
        needs: [],
        teardown: false,
        effect: "change",
        steps: [{ argv: mountArgv(spec.name) }],
        cause: "drift",
        reason: `not mounted at ${spec.properties["mountpoint"] ?? ""}`,
        before: "no",
        after: "yes",
      };
      actions.push(mount);
    }
  }
  return { actions, findings };
}

/** driftReported is the finding for a hand change left alone because the resource says `drift: report`. */
function driftReported(dataset: string, property: string, expected: string, actual: string, what: string): ZfsFinding {
  return { driver: "zfs", kind: "drift-reported", resource: datasetResource(dataset), subject: dataset, dataset, property, expected, actual, blocking: false, message: `${what}; drift: report, left as is` };
}

function planDestroys(names: string[], wantedNames: ReadonlySet<string>, observed: ZfsObserved): { actions: ZfsAction[]; findings: ZfsFinding[] } {
  const actions: ZfsDestroyAction[] = [];
  const findings: ZfsFinding[] = [];
  const have = new Map(observed.datasets.map((d) => [d.name, d]));
  const children = new Map<string, string[]>();
  for (const d of observed.datasets) {
    const p = parentOf(d.name);
    if (p !== undefined) children.set(p, [...(children.get(p) ?? []), d.name]);
  }
  const destroyable = new Set<string>();
  // Children before parents: the reverse of a tree walk.
  for (const name of [...names].sort((a, b) => compareDatasetNames(b, a))) {
    const resource = datasetResource(name);
    const refuse = (because: Extract<ZfsFinding, { kind: "destroy-refused" }>["because"], message: string): void => {
      findings.push({ driver: "zfs", kind: "destroy-refused", resource, subject: name, dataset: name, because, blocking: false, message });
    };
    const obs = have.get(name);
    if (wantedNames.has(name)) {
      refuse("still-wanted", "listed in destroy but the manifest still declares it; kept");
      continue;
    }
    if (obs === undefined) {
      findings.push({ driver: "zfs", kind: "destroy-done", resource, subject: name, dataset: name, blocking: false, message: `listed in destroy and not under ${observed.root} (destroyed, or never there): done; the entry can be removed from destroy` });
      continue;
    }
    if (!obs.managed) {
      refuse("unmanaged", `has no ${MANAGED_PROPERTY}=yes set locally; Steward never destroys what it did not create`);
      continue;
    }
    // Steward's own backup snapshots are the backup driver's to destroy first (its backup.clear
    // runs before this, as teardown of a later driver); any other snapshot stops the destroy.
    const names = obs.snapshotNames ?? [];
    const foreign = names.filter((n) => !isStewardSnapshot(n));
    if (obs.snapshots > 0 && (foreign.length > 0 || names.length < obs.snapshots)) {
      refuse("has-snapshots", `has ${foreign.length > 0 ? foreign.length : obs.snapshots} snapshot(s) Steward did not take${foreign.length > 0 ? ` (${foreign.slice(0, 3).map((n) => `@${n}`).join(", ")}${foreign.length > 3 ? ", …" : ""})` : ""}; destroy them by hand first`);
      continue;
    }
    const ours = names.length;
    const kids = children.get(name) ?? [];
    const staying = kids.filter((k) => !destroyable.has(k));
    if (staying.length > 0) {
      refuse("has-children", `has children that stay: ${staying.join(", ")}`);
      continue;
    }
    if (obs.guid === undefined) {
      refuse("no-guid", "its guid could not be read, so its identity cannot be confirmed");
      continue;
    }
    destroyable.add(name);
    const before: Record<string, string> = {};
    for (const key of Object.keys(obs.properties).sort()) {
      const p = obs.properties[key];
      if (p !== undefined && p.source === "local") before[key] = p.value;
    }
    actions.push({
      kind: "zfs.destroy",
      id: actionId("zfs.destroy", name),
      driver: "zfs",
      resource,
      dataset: name,
      needs: [],
      teardown: true,
      effect: "destroy",
      steps: [{ argv: destroyArgv(name) }],
      precondition: { kind: "zfs.guid", dataset: name, guid: obs.guid },
      cause: "listed-for-destroy",
      reason: ours > 0 ? `listed in the node's destroy list; its ${ours} backup snapshot${ours === 1 ? " is" : "s are"} destroyed first (backup.clear)` : "listed in the node's destroy list",
      guid: obs.guid,
      before,
      after: null,
    });
  }
  return { actions, findings };
}
