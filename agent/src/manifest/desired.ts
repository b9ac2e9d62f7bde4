/**
 * From the validated model to what one node must look like. Pure.
 *
 * Dataset layout (schema/README.md): `<pool>/steward`, `<pool>/steward/data`,
 * `<pool>/steward/base` and `<pool>/steward/jails` are containers; each service gets
 * `<pool>/steward/data/<service>` with each of its datasets below, and its jail's root
 * `<pool>/steward/jails/<service>`, a clone of its release's base
 * `<pool>/steward/base/<release>@steward` mounted at `<jails>/<service>`.
 * Property values are written the way `zfs get -Hp` prints them, so that desired and observed
 * compare as plain strings.
 */
import { PERIOD_SECONDS, SNAPSHOT_PERIODS, type BackupPolicy, type ClusterModel, type DatasetBackup, type DatasetSpec, type DesiredState, type NodeBackups, type NodeSpec, type SeedCandidate, type ServiceSpec, type SshEndpoint } from "./types.js";
import { StewardError } from "../errors.js";
import { hostMountpoint, jailRoot } from "./paths.js";
import { isSizeProperty, parseSize } from "./sizes.js";
import { compilePolicy } from "../network/compile.js";

/** datasetName is the full name of a service dataset. */
export function datasetName(pool: string, service: string, short: string): string {
  return `${pool}/steward/data/${service}/${short}`;
}

/**
 * replicaName is the replica a node keeps of `node`'s service dataset:
 * `<pool>/steward/replica/<node>/<service>/<short>` (steward-receive's tree for `node`; what a
 * failover or a drain seeds the service's dataset from on its new node).
 */
export function replicaName(pool: string, node: string, service: string, short: string): string {
  return `${pool}/steward/replica/${node}/${service}/${short}`;
}

/** containerNames lists Steward's container datasets on a pool, parents first. */
export function containerNames(pool: string, services: readonly string[]): string[] {
  return [`${pool}/steward`, `${pool}/steward/base`, `${pool}/steward/data`, ...services.map((s) => `${pool}/steward/data/${s}`), `${pool}/steward/jails`];
}

/** The snapshot of a base release jails are cloned from. */
export const BASE_SNAPSHOT = "steward";

/** baseName is the dataset of a FreeBSD base release on a pool. */
export function baseName(pool: string, release: string): string {
  return `${pool}/steward/base/${release}`;
}

/** jailRootName is the dataset of a service's jail root. */
export function jailRootName(pool: string, service: string): string {
  return `${pool}/steward/jails/${service}`;
}

/**
 * datasetProperties turns a dataset's properties as written into `zfs get -Hp` form: sizes in
 * bytes, `mount` replaced by the host mountpoint under the jail's root.
 */
export function datasetProperties(written: Readonly<Record<string, string>>, mountpoint: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(written)) {
    if (k === "mount") continue;
    out[k] = isSizeProperty(k) ? String(parseSize(v) ?? v) : v;
  }
  if (mountpoint !== undefined) out["mountpoint"] = mountpoint;
  return out;
}

/**
 * desiredStateFor resolves everything node `name` must converge to. Raises MANIFEST_REFERENCE
 * (stalled) when the model has no such node: the agent's config names a node the repo lacks.
 */
export function desiredStateFor(model: ClusterModel, name: string): DesiredState {
  const node = model.nodes.find((n) => n.name === name);
  if (node === undefined) {
    throw new StewardError("MANIFEST_REFERENCE", `node '${name}' is not defined in the cluster repo`, {
      data: { node: name, nodes: model.nodes.map((n) => n.name) },
      hint: `add nodes/${name}.yaml to the cluster repo, or set the right node name in the agent config`,
    });
  }
  const services = model.services.filter((s) => s.node === name).sort((a, b) => a.name.localeCompare(b.name));
  const containers = containerNames(node.pool, services.map((s) => s.name)).map(
    (n): DatasetSpec => ({ name: n, properties: { mountpoint: "none" }, drift: model.cluster.drift, owner: "steward" }),
  );
  const others = model.nodes.filter((n) => n.name !== name);
  const data = services.flatMap((s) => serviceDatasetSpecs(node.pool, node.jails, s, others));
  // A release every service of the node names (the manifest step makes sure each has one).
  const releases = [...new Set(services.flatMap((s) => (s.release === undefined ? [] : [s.release])))].sort();
  const bases = releases.map((r): DatasetSpec => ({ name: baseName(node.pool, r), properties: {}, drift: "report", owner: "steward", role: "base", snapshot: BASE_SNAPSHOT }));
  const roots = services.flatMap((s): DatasetSpec[] =>
    s.release === undefined
      ? []
      : [{ name: jailRootName(node.pool, s.name), properties: { mountpoint: jailRoot(node.jails, s.name) }, drift: s.drift, owner: s.name, role: "clone", origin: `${baseName(node.pool, s.release)}@${BASE_SNAPSHOT}` }],
  );
  const network = compilePolicy(model).nodes.find((n) => n.node === name);
  const backups = nodeBackups(model, node, services);
  return {
    revision: model.revision,
    node,
    cluster: model.cluster,
    services,
    ...(network === undefined ? {} : { network }),
    datasets: [...containers, ...bases, ...roots, ...data].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    destroy: [...node.destroy].sort(),
    ...(backups === undefined ? {} : { backups }),
  };
}

/** shortestPeriod is the length, in seconds, of the most frequent kind of snapshot a policy keeps. */
export function shortestPeriod(policy: Pick<BackupPolicy, "keep">): number {
  const kind = SNAPSHOT_PERIODS.find((k) => (policy.keep[k] ?? 0) > 0);
  return kind === undefined ? PERIOD_SECONDS.daily : PERIOD_SECONDS[kind];
}

/** peerEndpoint is how a node is reached to receive replicas: its `receive:`, else root at its address. */
export function peerEndpoint(node: NodeSpec | undefined): SshEndpoint | undefined {
  if (node === undefined) return undefined;
  return node.receive ?? (node.address === undefined ? undefined : { user: "root", host: node.address, port: undefined });
}

/**
 * nodeBackups resolves the backup policies of a node's datasets (schema/README.md,
 * "Backups"). A service whose datasets all have the same policy is snapshotted as one unit
 * (`zfs snapshot -r` of its container: atomic); otherwise each dataset on its own. The
 * replica goes to the policy's first node that is not this one. Undefined when no dataset
 * has a policy.
 */
function nodeBackups(model: ClusterModel, node: NodeSpec, services: readonly ServiceSpec[]): NodeBackups | undefined {
  const spec = model.cluster.backups;
  if (spec === undefined) return undefined;
  const datasets: DatasetBackup[] = [];
  for (const s of services) {
    const first = s.datasets[0]?.backup;
    const together = first !== undefined && s.datasets.every((d) => d.backup === first);
    for (const d of s.datasets) {
      const policy = d.backup === undefined ? undefined : spec.policies[d.backup];
      if (policy === undefined) continue;
      const name = datasetName(node.pool, s.name, d.name);
      // A node marked down receives nothing: the next peer of the list holds the replica.
      const peer = policy.replica?.to.find((n) => n !== node.name && model.nodes.find((m) => m.name === n)?.down !== true);
      const remote = policy.remote === undefined ? undefined : spec.remotes[policy.remote.to];
      datasets.push({
        dataset: name,
        service: s.name,
        short: d.name,
        policy: policy.name,
        unit: together ? `${node.pool}/steward/data/${s.name}` : name,
        recursive: together,
        keep: policy.keep,
        ...(peer === undefined ? {} : { replica: { node: peer, endpoint: peerEndpoint(model.nodes.find((n) => n.name === peer)), every: policy.replica?.every ?? shortestPeriod(policy) } }),
        ...(policy.cold === undefined ? {} : { cold: policy.cold }),
        ...(policy.remote === undefined || remote === undefined ? {} : { remote: { name: policy.remote.to, endpoint: remote, every: policy.remote.every } }),
      });
    }
  }
  const leaving = leavingDatasets(model, node);
  if (datasets.length === 0 && leaving.length === 0) return undefined;
  return { datasets: datasets.sort((a, b) => (a.dataset < b.dataset ? -1 : a.dataset > b.dataset ? 1 : 0)), leaving, recipients: spec.recipients, drill: spec.drill };
}

/**
 * leavingDatasets are what a drain sends from `node` (NodeBackups.leaving): every dataset with
 * a replicating policy of every service placed on another node, named as it would be here,
 * its replica going to that node. None when this node or the other one is down: a down node
 * sends nothing, and nothing is sent to one. Pure.
 */
function leavingDatasets(model: ClusterModel, node: NodeSpec): DatasetBackup[] {
  const spec = model.cluster.backups;
  if (spec === undefined || node.down === true) return [];
  const out: DatasetBackup[] = [];
  for (const s of model.services) {
    const to = model.nodes.find((n) => n.name === s.node);
    if (s.node === node.name || to === undefined || to.down === true) continue;
    for (const d of s.datasets) {
      const policy = d.backup === undefined ? undefined : spec.policies[d.backup];
      if (policy?.replica === undefined) continue;
      const name = datasetName(node.pool, s.name, d.name);
      out.push({ dataset: name, service: s.name, short: d.name, policy: policy.name, unit: name, recursive: false, keep: policy.keep, replica: { node: to.name, endpoint: peerEndpoint(to), every: 0 } });
    }
  }
  return out.sort((a, b) => (a.dataset < b.dataset ? -1 : a.dataset > b.dataset ? 1 : 0));
}

/**
 * seedCandidates are the replicas on this node (`pool`) that may hold a service dataset's data:
 * the one every other node of the cluster would have sent here (docs/backups.md, "Failover and
 * drain"), by node name. Pure.
 */
export function seedCandidates(pool: string, service: string, short: string, others: readonly NodeSpec[]): SeedCandidate[] {
  return [...others]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((n) => ({ dataset: replicaName(pool, n.name, service, short), node: n.name, down: n.down === true }));
}

function serviceDatasetSpecs(pool: string, jails: string, s: ServiceSpec, others: readonly NodeSpec[]): DatasetSpec[] {
  return s.datasets.map((d) => {
    const seed = seedCandidates(pool, s.name, d.name, others);
    return {
      name: datasetName(pool, s.name, d.name),
      properties: datasetProperties(d.properties, d.mount === undefined ? undefined : hostMountpoint(jails, s.name, d.mount)),
      drift: s.drift,
      owner: s.name,
      ...(seed.length === 0 ? {} : { seed }),
    };
  });
}
