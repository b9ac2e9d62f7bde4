/**
 * The node's observed state as its status commits carry it: `status/<node>.observed.json`, next
 * to the report (README.md, "Status"). It is what the drivers read of the host as the run left
 * it (as much as each lets leave the node, Driver.redact: at least what its plan reads), with
 * what the planner needs besides the manifest (where jail.conf files go, the node's
 * own paths no jail may overlap) and what each driver looked at (Driver.scope), so that
 * `steward plan --rev` on an admin's clone computes, with the nodes' own planner, the plan a
 * node would run for another revision. Pure: a record in, canonical JSON out, and back.
 *
 * The text is canonical JSON (keys sorted at every depth, one value per line): an unchanged
 * host writes the same bytes, so the record never turns a heartbeat into a change; a host that
 * changed changes the record, which makes the report a change (squash.ts).
 */
import type { Driver } from "../drivers/driver.js";
import { DRIVERS } from "../drivers/registry.js";
import type { DesiredState, HostLayout } from "../manifest/types.js";
import { canonicalize } from "../plan/canonical.js";
import type { ObservedState } from "../plan/types.js";

export const OBSERVED_KIND = "NodeObserved";
export const OBSERVED_VERSION = 1;
/** The largest record read back: a node with dozens of jails writes a few hundred KiB. */
export const MAX_OBSERVED_BYTES = 4 * 1024 * 1024;

export interface ObservedRecord {
  readonly kind: typeof OBSERVED_KIND;
  readonly version: typeof OBSERVED_VERSION;
  readonly node: string;
  /** The revision whose desired state the drivers observed for (the one the run converged). */
  readonly revision: string | null;
  /** Node-local settings the drivers plan with (the agent configuration's jail_conf_dir); null: FreeBSD's defaults. */
  readonly host: HostLayout | null;
  /** The node's own directories and files no jail root or mountpoint may overlap (manifest/paths.ts agentPaths). */
  readonly protectedPaths: readonly string[];
  /** Each driver's observation, by driver name: the `observed` its plan takes. */
  readonly drivers: ObservedState;
  /** What each driver with a scope looked at, by driver name (Driver.scope), sorted. */
  readonly scope: Readonly<Record<string, readonly string[]>>;
}

/** The path of the record inside a status commit. */
export function observedFile(node: string): string {
  return `status/${node}.observed.json`;
}

/**
 * makeObservedRecord puts one run's observation, as each driver lets it be reported
 * (Driver.redact), and the node's settings in a record. Pure.
 */
export function makeObservedRecord(desired: DesiredState, observed: ObservedState, protectedPaths: readonly string[], drivers: readonly Driver[] = DRIVERS): ObservedRecord {
  const scope: Record<string, readonly string[]> = {};
  const reported: Record<string, unknown> = { ...observed };
  for (const d of drivers) {
    if (d.scope !== undefined) scope[d.name] = [...new Set(d.scope(d.slice(desired)))].sort();
    if (d.redact !== undefined && observed[d.name] !== undefined) reported[d.name] = d.redact(d.slice(desired), observed[d.name]);
  }
  return {
    kind: OBSERVED_KIND,
    version: OBSERVED_VERSION,
    node: desired.node.name,
    revision: desired.revision ?? null,
    host: desired.host ?? null,
    protectedPaths: [...new Set(protectedPaths)].sort(),
    drivers: reported,
    scope,
  };
}

/** renderObserved writes a record as canonical JSON, newline-terminated: equal records, equal bytes. Pure. */
export function renderObserved(record: ObservedRecord): string {
  return `${JSON.stringify(canonicalize(record), null, 1)}\n`;
}

/**
 * parseObserved reads a record renderObserved wrote; undefined (never a throw) for anything
 * else: not JSON, too large, another kind or version, fields of the wrong type. The drivers'
 * parts are taken as the node wrote them (its signature covers them); a planner that cannot
 * read one says so where it plans.
 */
export function parseObserved(text: string): ObservedRecord | undefined {
  if (text.length > MAX_OBSERVED_BYTES) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(v) || v["kind"] !== OBSERVED_KIND || v["version"] !== OBSERVED_VERSION) return undefined;
  if (typeof v["node"] !== "string" || !(v["revision"] === null || typeof v["revision"] === "string")) return undefined;
  const host = v["host"];
  if (!(host === null || (isRecord(host) && typeof host["jailConfDir"] === "string"))) return undefined;
  if (!isStrings(v["protectedPaths"]) || !isRecord(v["drivers"]) || !isRecord(v["scope"])) return undefined;
  if (!Object.values(v["scope"]).every(isStrings)) return undefined;
  return v as unknown as ObservedRecord;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isStrings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}
