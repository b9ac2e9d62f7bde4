/**
 * The applied record (`<state>/zfs/applied.json`): reading it, writing it, and deciding its next
 * content after an apply. Pure; the file I/O is in state.ts.
 */
import type { DatasetSpec } from "../../manifest/types.js";
import { canonicalize } from "../../plan/canonical.js";
import type { DriverPlan } from "../driver.js";
import { MANAGED_PROPERTY } from "./commands.js";
import { datasetResource } from "./plan.js";
import { EMPTY_APPLIED_RECORD, type AppliedRecord, type ZfsAction, type ZfsFinding } from "./types.js";

/** The status of one action after apply, as far as the record cares. */
export type RecordOutcome = "applied" | "unchanged" | "failed" | "skipped";

/** The ZFS part of a plan, as the record reads it. */
type ZfsPart = Pick<DriverPlan<ZfsAction, ZfsFinding>, "actions" | "findings">;

/**
 * parseAppliedRecord reads the record file's text. Returns `valid: false` and the empty record
 * for anything that is not a version-1 record of string values (a torn or hand-edited file):
 * the next plan then treats every difference as unrecorded, which corrects it.
 */
export function parseAppliedRecord(text: string): { record: AppliedRecord; valid: boolean } {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return { record: EMPTY_APPLIED_RECORD, valid: false };
  }
  if (typeof data !== "object" || data === null || (data as { version?: unknown }).version !== 1) return { record: EMPTY_APPLIED_RECORD, valid: false };
  const datasets = (data as { datasets?: unknown }).datasets;
  if (typeof datasets !== "object" || datasets === null || Array.isArray(datasets)) return { record: EMPTY_APPLIED_RECORD, valid: false };
  const out: Record<string, Record<string, string>> = {};
  for (const [name, props] of Object.entries(datasets)) {
    if (typeof props !== "object" || props === null || Array.isArray(props)) return { record: EMPTY_APPLIED_RECORD, valid: false };
    const clean: Record<string, string> = {};
    for (const [k, v] of Object.entries(props)) {
      if (typeof v !== "string") return { record: EMPTY_APPLIED_RECORD, valid: false };
      clean[k] = v;
    }
    out[name] = clean;
  }
  return { record: { version: 1, datasets: out }, valid: true };
}

/** renderAppliedRecord writes a record as canonical JSON, newline-terminated. */
export function renderAppliedRecord(record: AppliedRecord): string {
  return `${JSON.stringify(canonicalize(record), null, 2)}\n`;
}

/**
 * nextAppliedRecord decides what the record says after an apply: for every desired dataset
 * that is Steward's (not a conflict, not blocked, and created if it had to be), the manifest's
 * values, except where the action for a property failed or was skipped: there the previous
 * record stays, so the next plan still sees a manifest change rather than drift. Datasets the
 * manifest no longer names are dropped. Pure.
 */
export function nextAppliedRecord(
  previous: AppliedRecord,
  datasets: readonly DatasetSpec[],
  plan: ZfsPart,
  outcomes: ReadonlyMap<string, RecordOutcome>,
): AppliedRecord {
  const excluded = new Set<string>();
  for (const f of plan.findings) if (f.kind === "unmanaged-conflict" || f.kind === "blocked-by-conflict" || f.kind === "seed-waiting") excluded.add(f.resource);
  const byResource = new Map<string, ZfsAction[]>();
  for (const a of plan.actions) byResource.set(a.resource, [...(byResource.get(a.resource) ?? []), a]);
  const ok = (id: string): boolean => {
    const o = outcomes.get(id);
    return o === "applied" || o === "unchanged";
  };

  const next: Record<string, Record<string, string>> = {};
  for (const spec of datasets) {
    const resource = datasetResource(spec.name);
    if (excluded.has(resource)) continue;
    const actions = byResource.get(resource) ?? [];
    if (spec.role === "base") continue;
    const create = actions.find((a) => a.kind === "zfs.create" || a.kind === "zfs.clone" || a.kind === "zfs.seed");
    if (create !== undefined && !ok(create.id)) continue;
    const was = previous.datasets[spec.name] ?? {};
    const props: Record<string, string> = {};
    for (const [k, v] of Object.entries(spec.properties)) if (k !== MANAGED_PROPERTY) props[k] = v;
    for (const a of actions) {
      if ((a.kind !== "zfs.set" && a.kind !== "zfs.inherit") || ok(a.id)) continue;
      const old = was[a.property];
      if (old === undefined) delete props[a.property];
      else props[a.property] = old;
    }
    next[spec.name] = props;
  }
  return canonicalize({ version: 1, datasets: next });
}
