/**
 * Hand-made desired and observed states for the ZFS tests (no manifest loader involved).
 */
import type { ClusterSpec, DatasetSpec, DesiredState, Drift, NodeSpec } from "../../../agent/src/manifest/types.js";
import type { AppliedRecord, ObservedDataset, ObservedProperty, ZfsObserved } from "../../../agent/src/drivers/zfs/types.js";
import type { ObservedState } from "../../../agent/src/plan/types.js";
import type { PfObserved } from "../../../agent/src/drivers/pf/types.js";

export function nodeSpec(pool: string, destroy: readonly string[] = []): NodeSpec {
  return { name: "alpha", arch: "amd64", pool, interface: "em0", address: undefined, ssh: 22, release: undefined, jails: "/jails", destroy, where: { file: "nodes/alpha.yaml", line: 1, column: 1 } };
}

const CLUSTER: ClusterSpec = { domain: "home.arpa", jailNetwork: "10.17.0.0/24", protect: [], release: undefined, drift: "correct", datasetDefaults: {} };

/** ds makes a desired dataset. */
export function ds(name: string, properties: Record<string, string> = {}, drift: Drift = "correct", owner = "mail"): DatasetSpec {
  return { name, properties, drift, owner };
}

/** containers makes Steward's three containers for one service, as the loader does. */
export function containers(pool: string, service = "mail"): DatasetSpec[] {
  return [`${pool}/steward`, `${pool}/steward/data`, `${pool}/steward/data/${service}`].map((n) => ds(n, { mountpoint: "none" }, "correct", "steward"));
}

export function desiredState(pool: string, datasets: readonly DatasetSpec[], destroy: readonly string[] = [], revision?: string): DesiredState {
  return { revision, node: nodeSpec(pool, destroy), cluster: CLUSTER, services: [], datasets, destroy };
}

type Props = Record<string, string | ObservedProperty>;

/**
 * have makes an observed dataset: managed with a local marker unless told otherwise; plain
 * string property values are `local`.
 */
export function have(name: string, props: Props = {}, opts: { managed?: boolean; guid?: string; snapshots?: number } = {}): ObservedDataset {
  const properties: Record<string, ObservedProperty> = {};
  for (const [k, v] of Object.entries(props)) properties[k] = typeof v === "string" ? { value: v, source: "local" } : v;
  return { name, managed: opts.managed ?? true, guid: opts.guid ?? String(1000 + name.length), snapshots: opts.snapshots ?? 0, properties };
}

/** observedZfs wraps datasets and an applied record into ObservedState. */
export function observed(pool: string, datasets: readonly ObservedDataset[], applied: AppliedRecord["datasets"] = {}): ObservedState {
  const zfs: ZfsObserved = { root: `${pool}/steward`, rootExists: datasets.some((d) => d.name === `${pool}/steward`), datasets, applied: { version: 1, datasets: applied } };
  // A node with no jails, as the jail and pf drivers observe it, and no backups.
  const pf: PfObserved = { dir: "/var/db/steward/pf", looked: false, running: false, hooks: { nat: false, rdr: false, filter: false, quickBefore: [] }, loopbackSkipped: false, readback: { sha256: "", empty: true }, previousFile: false, applied: { version: 1 } };
  return { zfs, jail: { host: { jailEnable: undefined, jailList: [], clonedInterfaces: [] }, jails: {}, applied: { version: 1, jails: {} } }, pf, backup: { nowMs: 0, root: `${pool}/steward`, datasets: {}, features: "legacy", pools: [] } };
}

export const inherited = (value: string, from: string): ObservedProperty => ({ value, source: "inherited", inheritedFrom: from });
export const byDefault = (value: string): ObservedProperty => ({ value, source: "default" });
