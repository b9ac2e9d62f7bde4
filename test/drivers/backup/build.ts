/**
 * Hand-made desired and observed states for the backup tests (no manifest loader involved).
 */
import type { DatasetBackup, NodeBackups } from "../../../agent/src/manifest/types.js";
import type { BackupDesired, BackupObserved, LocalDataset, LocalSnapshot } from "../../../agent/src/drivers/backup/types.js";

/** dsBackup makes one dataset's backup spec: `<pool>/steward/data/<service>/<short>`, in a unit of the service (recursive) unless told. */
export function dsBackup(pool: string, service: string, short: string, keep: DatasetBackup["keep"], extra: Partial<DatasetBackup> = {}): DatasetBackup {
  const dataset = `${pool}/steward/data/${service}/${short}`;
  return { dataset, service, short, policy: "p", unit: `${pool}/steward/data/${service}`, recursive: true, keep, ...extra };
}

export function nodeBackups(datasets: readonly DatasetBackup[], extra: Partial<NodeBackups> = {}): NodeBackups {
  return { datasets, leaving: [], recipients: [], drill: 604_800, ...extra };
}

export function slice(pool: string, datasets: readonly DatasetBackup[], destroy: readonly string[] = []): BackupDesired {
  return { node: "alpha", pool, backups: datasets.length === 0 ? undefined : nodeBackups(datasets), destroy, host: undefined };
}

/** snap makes an observed snapshot (no holds unless told). */
export function snap(name: string, userrefs = 0, guid = `g-${name}`): LocalSnapshot {
  return { name, guid, userrefs };
}

export function local(name: string, snapshots: readonly LocalSnapshot[] = [], managed = true): LocalDataset {
  return { name, managed, snapshots, bookmarks: [] };
}

export function observedAt(pool: string, nowMs: number, datasets: readonly LocalDataset[]): BackupObserved {
  return { nowMs, root: `${pool}/steward`, datasets: Object.fromEntries(datasets.map((d) => [d.name, d])), features: "legacy", pools: [pool] };
}

/** at reads an ISO time as Unix ms. */
export const at = (iso: string): number => Date.parse(iso);
