/**
 * How old each dataset's backups are, against its policy (schema/README.md, "Backups"): the
 * newest hot snapshot, and the snapshot each target (replica, cold disk, remote) is recorded to
 * hold. Ages count from the time in the snapshot's name, so a copy is as old as the data it
 * holds. Pure: the policy, what observe found and the record in; one report per dataset out.
 *
 * Allowed ages:
 * - snapshot: two of the shortest kind the policy keeps (a run may be late);
 * - replica, remote: `every` plus two of the shortest kind (the snapshot it sends must be
 *   taken first);
 * - cold: `every` (how often the disk should be plugged in).
 */
import { PERIOD_SECONDS, SNAPSHOT_PERIODS, type DatasetBackup } from "../../manifest/types.js";
import type { BackupCopyStatus, BackupStatus, ColdDiskStatus } from "../../status/document.js";
import { bytesPerSecond, percentDone, secondsLeft } from "../../apply/progress.js";
import type { ProgressRecord } from "../../apply/progress-file.js";
import { isStewardSnapshot, parseSnapshotName } from "./names.js";
import { parseCopyResource, targetsOf } from "./transfers.js";
import type { BackupState, LocalDataset } from "./types.js";

/** The report's shapes are the status document's (status/document.ts): written as they are. */
export type CopyAge = BackupCopyStatus;
export type DatasetBackupReport = BackupStatus;
export type ColdDiskReport = ColdDiskStatus;

/** shortestSeconds is the length of the most frequent kind a policy keeps (a day when none). */
function shortestSeconds(keep: DatasetBackup["keep"]): number {
  const kind = SNAPSHOT_PERIODS.find((k) => (keep[k] ?? 0) > 0);
  return kind === undefined ? PERIOD_SECONDS.daily : PERIOD_SECONDS[kind];
}

/** backupReport reports every dataset with a policy, in name order. Pure. */
export function backupReport(datasets: readonly DatasetBackup[], local: Readonly<Record<string, LocalDataset>>, state: BackupState, nowMs: number): DatasetBackupReport[] {
  return [...datasets]
    .sort((a, b) => (a.dataset < b.dataset ? -1 : a.dataset > b.dataset ? 1 : 0))
    .map((d) => {
      const slot = shortestSeconds(d.keep);
      const snaps = (local[d.dataset]?.snapshots ?? []).map((s) => s.name).filter(isStewardSnapshot);
      const newest = snaps.reduce<string | undefined>((m, n) => (m === undefined || (parseSnapshotName(n)?.at ?? 0) >= (parseSnapshotName(m)?.at ?? 0) ? n : m), undefined);
      const copies: CopyAge[] = [age("snapshot", "local", newest, 2 * slot, nowMs)];
      for (const t of targetsOf(d)) {
        const max = t.kind === "cold" ? (d.cold?.every ?? 0) : (t.kind === "replica" ? (d.replica?.every ?? 0) : (d.remote?.every ?? 0)) + 2 * slot;
        copies.push(age(t.kind, t.name, state.targets[d.dataset]?.[t.tag]?.snapshot, max, nowMs));
      }
      const drill = state.drills?.[d.dataset];
      return { dataset: d.dataset, policy: d.policy, copies, ...(drill === undefined || d.remote === undefined ? {} : { drill: { at: new Date(drill.at).toISOString().replace(/\.\d{3}Z$/, "Z"), ok: drill.ok, snapshot: drill.snapshot } }) };
    });
}

function age(kind: CopyAge["kind"], target: string, snapshot: string | undefined, maxAgeSeconds: number, nowMs: number): CopyAge {
  const at = snapshot === undefined ? undefined : parseSnapshotName(snapshot)?.at;
  const ageSeconds = at === undefined ? null : Math.max(0, Math.floor((nowMs - at) / 1000));
  const overdue = maxAgeSeconds > 0 && (ageSeconds === null || ageSeconds > maxAgeSeconds);
  return { kind, target, newest: snapshot ?? null, at: at === undefined ? null : new Date(at).toISOString().replace(/\.000Z$/, "Z"), ageSeconds, maxAgeSeconds, overdue };
}

/** overdueCopies lists what is overdue, one phrase each: `zroot/…/mail: replica on beta 3h old (allowed 2h)`. Pure. */
export function overdueCopies(report: readonly DatasetBackupReport[]): string[] {
  const out: string[] = [];
  for (const d of report) {
    for (const c of d.copies) {
      if (!c.overdue) continue;
      const where = c.kind === "snapshot" ? "newest snapshot" : `${c.kind} on ${c.target}`;
      out.push(c.ageSeconds === null ? `${d.dataset}: no ${where === "newest snapshot" ? "snapshot" : where} yet` : `${d.dataset}: ${where} ${humanSeconds(c.ageSeconds)} old (allowed ${humanSeconds(c.maxAgeSeconds)})`);
    }
  }
  return out;
}

/** humanSeconds writes a duration the way the manifest does: 45s, 20m, 3h, 2d. */
export function humanSeconds(s: number): string {
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 2 * 86_400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86_400)}d`;
}

/** coldDisks reports every cold disk the policies name, in name order. Pure. */
export function coldDisks(datasets: readonly DatasetBackup[], imported: readonly string[], state: BackupState): ColdDiskReport[] {
  const pools = [...new Set(datasets.flatMap((d) => (d.cold === undefined ? [] : [d.cold.pool])))].sort();
  return pools.map((pool) => {
    const at = state.disks?.[pool]?.exportedAt;
    const plugged = imported.includes(pool);
    return { pool, imported: plugged, exportedAt: at === undefined ? null : new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z"), canUnplug: !plugged && at !== undefined };
  });
}

/** A backup transfer in flight (`steward backup status`): a copy's send, or a restore drill's download. */
export interface TransferReport {
  readonly action: string;
  readonly kind: "replica" | "cold" | "remote" | "drill";
  readonly dataset: string;
  /** The peer, cold pool or remote store (a drill's: the remote it restores from). */
  readonly target: string;
  readonly bytes: number;
  /** About how many bytes the send writes; null when the ZFS cannot tell (an incremental on zfs-fuse). */
  readonly estimateBytes: number | null;
  /** Of the estimate, at most 99 while running; null without one. */
  readonly percent: number | null;
  /** The mean rate since the action started. */
  readonly bytesPerSecond: number;
  /** The rest of the estimate at that rate; null without an estimate or once past it. */
  readonly secondsLeft: number | null;
  readonly startedAt: string;
  readonly updatedAt: string;
}

/**
 * transfersReport says which backup transfer runs now, from the progress file the running
 * apply writes (apply/progress-file.ts): none when there is none or it is another driver's.
 * Pure.
 */
export function transfersReport(datasets: readonly DatasetBackup[], progress: ProgressRecord | undefined): TransferReport[] {
  if (progress === undefined || progress.driver !== "backup") return [];
  const copy = parseCopyResource(progress.resource);
  const drilled = copy === undefined ? datasets.find((d) => progress.resource === `backup:drill-${d.dataset}`) : undefined;
  if (copy === undefined && drilled === undefined) return [];
  const where = copy ?? { dataset: drilled?.dataset ?? "", kind: "drill" as const, name: drilled?.remote?.name ?? "" };
  const rate = bytesPerSecond(progress.bytes, Date.parse(progress.updatedAt) - Date.parse(progress.startedAt));
  const estimate = progress.estimateBytes ?? undefined;
  return [
    {
      action: progress.action,
      kind: where.kind,
      dataset: where.dataset,
      target: where.name,
      bytes: progress.bytes,
      estimateBytes: progress.estimateBytes,
      percent: percentDone(progress.bytes, estimate) ?? null,
      bytesPerSecond: rate,
      secondsLeft: secondsLeft(progress.bytes, estimate, rate) ?? null,
      startedAt: progress.startedAt,
      updatedAt: progress.updatedAt,
    },
  ];
}
