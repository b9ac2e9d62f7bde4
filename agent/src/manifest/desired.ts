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
import type { ClusterModel, DatasetSpec, DesiredState, ServiceSpec } from "./types.js";
import { StewardError } from "../errors.js";
import { hostMountpoint, jailRoot } from "./paths.js";
import { isSizeProperty } from "../drivers/zfs/properties.js";
import { compilePolicy } from "../network/compile.js";

/** datasetName is the full name of a service dataset. */
export function datasetName(pool: string, service: string, short: string): string {
  return `${pool}/steward/data/${service}/${short}`;
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

const UNITS: Readonly<Record<string, number>> = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4, P: 1024 ** 5 };

/** parseSize reads `20G`, `512`, `1.5T` (powers of 1024) into bytes; `none` is 0. */
export function parseSize(text: string): number | undefined {
  if (text === "none") return 0;
  const m = /^([0-9]{1,15}(?:\.[0-9]{1,3})?)([KMGTP]?)$/.exec(text);
  if (m === null) return undefined;
  const bytes = Math.floor(Number(m[1]) * (UNITS[m[2] ?? ""] ?? 1));
  return Number.isSafeInteger(bytes) ? bytes : undefined;
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
  const data = services.flatMap((s) => serviceDatasetSpecs(node.pool, node.jails, s));
  // A release every service of the node names (the manifest step makes sure each has one).
  const releases = [...new Set(services.flatMap((s) => (s.release === undefined ? [] : [s.release])))].sort();
  const bases = releases.map((r): DatasetSpec => ({ name: baseName(node.pool, r), properties: {}, drift: "report", owner: "steward", role: "base", snapshot: BASE_SNAPSHOT }));
  const roots = services.flatMap((s): DatasetSpec[] =>
    s.release === undefined
      ? []
      : [{ name: jailRootName(node.pool, s.name), properties: { mountpoint: jailRoot(node.jails, s.name) }, drift: s.drift, owner: s.name, role: "clone", origin: `${baseName(node.pool, s.release)}@${BASE_SNAPSHOT}` }],
  );
  const network = compilePolicy(model).nodes.find((n) => n.node === name);
  return {
    revision: model.revision,
    node,
    cluster: model.cluster,
    services,
    ...(network === undefined ? {} : { network }),
    datasets: [...containers, ...bases, ...roots, ...data].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    destroy: [...node.destroy].sort(),
  };
}

function serviceDatasetSpecs(pool: string, jails: string, s: ServiceSpec): DatasetSpec[] {
  return s.datasets.map((d) => ({
    name: datasetName(pool, s.name, d.name),
    properties: datasetProperties(d.properties, d.mount === undefined ? undefined : hostMountpoint(jails, s.name, d.mount)),
    drift: s.drift,
    owner: s.name,
  }));
}
