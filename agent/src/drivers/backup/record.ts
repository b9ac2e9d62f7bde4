/**
 * The backup record (`<state>/backup/state.json`): reading it, writing it, and deciding its
 * next content after an apply. Pure; the file I/O is in state.ts.
 */
import { canonicalize } from "../../plan/canonical.js";
import type { DriverPlan } from "../driver.js";
import { EMPTY_BACKUP_STATE, type BackupAction, type BackupDesired, type BackupFinding, type BackupObserved, type BackupState, type DrillRecord, type FailureRecord, type TargetRecord } from "./types.js";

/** parseBackupState reads the record's text; undefined for anything that is not a version-1 record. */
export function parseBackupState(text: string): BackupState | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(data) || data["version"] !== 1 || !isRecord(data["targets"]) || !isRecord(data["failures"])) return undefined;
  const targets: Record<string, Record<string, TargetRecord>> = {};
  for (const [dataset, byTag] of Object.entries(data["targets"])) {
    if (!isRecord(byTag)) return undefined;
    const out: Record<string, TargetRecord> = {};
    for (const [tag, r] of Object.entries(byTag)) {
      if (!isRecord(r) || typeof r["snapshot"] !== "string" || typeof r["at"] !== "number") return undefined;
      out[tag] = { snapshot: r["snapshot"], at: r["at"] };
    }
    targets[dataset] = out;
  }
  const failures: Record<string, FailureRecord> = {};
  for (const [key, r] of Object.entries(data["failures"])) {
    if (!isRecord(r) || typeof r["at"] !== "number" || typeof r["count"] !== "number") return undefined;
    failures[key] = { at: r["at"], count: r["count"] };
  }
  const disks: Record<string, { exportedAt: number }> = {};
  if (data["disks"] !== undefined) {
    if (!isRecord(data["disks"])) return undefined;
    for (const [pool, r] of Object.entries(data["disks"])) {
      if (!isRecord(r) || typeof r["exportedAt"] !== "number") return undefined;
      disks[pool] = { exportedAt: r["exportedAt"] };
    }
  }
  const drills: Record<string, DrillRecord> = {};
  if (data["drills"] !== undefined) {
    if (!isRecord(data["drills"])) return undefined;
    for (const [ds, r] of Object.entries(data["drills"])) {
      if (!isRecord(r) || typeof r["at"] !== "number" || typeof r["ok"] !== "boolean" || typeof r["snapshot"] !== "string") return undefined;
      drills[ds] = { at: r["at"], ok: r["ok"], snapshot: r["snapshot"] };
    }
  }
  return { version: 1, targets, failures, ...(Object.keys(disks).length === 0 ? {} : { disks }), ...(Object.keys(drills).length === 0 ? {} : { drills }) };
}

/** renderBackupState writes a record as canonical JSON, newline-terminated. */
export function renderBackupState(state: BackupState): string {
  return `${JSON.stringify(canonicalize(state), null, 2)}\n`;
}

/** The key of a dataset's copy to a target in `failures`. */
export function copyKey(dataset: string, tag: string): string {
  return `${dataset} ${tag}`;
}

/**
 * nextBackupState decides the record after an apply: a copy sent (or a base moved) records the
 * snapshot the target now holds and clears its failures; a copy that failed, or a target that
 * could not be read, counts one more failure (the plan backs off from it); a target read
 * clears its own failures; a cold disk exported is recorded with the time. A dataset without a policy any more is dropped once it is gone
 * (or its snapshots cleared for a destroy). Pure.
 */
export function nextBackupState(
  previous: BackupState,
  slice: BackupDesired,
  observed: BackupObserved,
  part: Pick<DriverPlan<BackupAction, BackupFinding>, "actions" | "findings">,
  outcomes: ReadonlyMap<string, string>,
): BackupState {
  const targets: Record<string, Record<string, TargetRecord>> = {};
  // A dataset that lost its policy keeps its records while it exists: its held bases are
  // released by name when it is destroyed (plan.ts planClear).
  const cleared = new Set(part.actions.flatMap((a) => (a.kind === "backup.clear" && outcomes.get(a.id) === "applied" ? [a.dataset] : [])));
  const policy = new Set([...(slice.backups?.datasets ?? []), ...(slice.backups?.leaving ?? [])].map((d) => d.dataset));
  for (const [dataset, was] of Object.entries(previous.targets)) {
    if (policy.has(dataset) || (observed.datasets[dataset] !== undefined && !cleared.has(dataset))) targets[dataset] = { ...was };
  }
  const failures: Record<string, FailureRecord> = { ...previous.failures };
  const fail = (key: string): void => {
    failures[key] = { at: observed.nowMs, count: (previous.failures[key]?.count ?? 0) + 1 };
  };
  for (const [tag, t] of Object.entries(observed.targets ?? {})) if (t.kind === "seen") delete failures[tag];
  for (const f of part.findings) if (f.kind === "target-unreachable") fail(f.target);
  for (const a of part.actions) {
    if (a.kind !== "backup.send" && a.kind !== "backup.rebase") continue;
    const status = outcomes.get(a.id);
    const key = copyKey(a.dataset, a.target.tag);
    if (status === "applied" || status === "unchanged") {
      delete failures[key];
      if (a.snapshot !== undefined && targets[a.dataset] !== undefined) targets[a.dataset] = { ...targets[a.dataset], [a.target.tag]: { snapshot: a.snapshot, at: observed.nowMs } };
      else if (a.snapshot !== undefined && policy.has(a.dataset)) targets[a.dataset] = { [a.target.tag]: { snapshot: a.snapshot, at: observed.nowMs } };
    } else if (status === "failed") fail(key);
  }
  const disks: Record<string, { exportedAt: number }> = { ...(previous.disks ?? {}) };
  for (const a of part.actions) if (a.kind === "backup.export" && (outcomes.get(a.id) === "applied" || outcomes.get(a.id) === "unchanged")) disks[a.pool] = { exportedAt: observed.nowMs };
  const drills: Record<string, DrillRecord> = {};
  for (const [ds, r] of Object.entries(previous.drills ?? {})) if (policy.has(ds)) drills[ds] = r;
  for (const a of part.actions) {
    if (a.kind !== "backup.drill") continue;
    const status = outcomes.get(a.id);
    if (status === "applied" || status === "failed") drills[a.dataset] = { at: observed.nowMs, ok: status === "applied", snapshot: a.snapshot };
  }
  return canonicalize({ ...EMPTY_BACKUP_STATE, targets, failures, ...(Object.keys(disks).length === 0 ? {} : { disks }), ...(Object.keys(drills).length === 0 ? {} : { drills }) });
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
