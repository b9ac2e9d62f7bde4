/**
 * Names the backup driver gives things, and reads back (schema/README.md, "Backups"). Pure.
 *
 * - Snapshots: `steward_<YYYY-MM-DD>_<HH:MM:SS>_<kind>`, UTC, the kind one of sanoid's
 *   (frequent, hourly, daily, weekly, monthly). The time in the name is the plan's clock,
 *   the one every age and due date is counted in (`creation` has the host's).
 * - Holds on an incremental base (zfs-fuse): `steward-<target>`; bookmarks (OpenZFS):
 *   `<dataset>#<snapshot>.<target>`, where a target is `replica-<node>`, `cold-<pool>` or
 *   `remote-<name>`.
 * - Trees: replicas a peer keeps for this node under `<pool>/steward/replica/<node>`
 *   (manifest/desired.ts replicaName; packaging/backup/steward-receive receives there), restore drills under
 *   `<pool>/steward/drill`, restores under `<pool>/steward/restore`.
 */
import { SNAPSHOT_PERIODS, type SnapshotPeriod } from "../../manifest/types.js";

export const SNAPSHOT_PREFIX = "steward_";
const SNAPSHOT = /^steward_(\d{4})-(\d{2})-(\d{2})_(\d{2}):(\d{2}):(\d{2})_(frequent|hourly|daily|weekly|monthly)$/;

/** snapshotName names the snapshot of `kind` taken at `ms` (Unix milliseconds). */
export function snapshotName(kind: SnapshotPeriod, ms: number): string {
  const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString();
  return `${SNAPSHOT_PREFIX}${iso.slice(0, 10)}_${iso.slice(11, 19)}_${kind}`;
}

/** A Steward snapshot's name, read back. */
export interface SnapshotStamp {
  readonly kind: SnapshotPeriod;
  /** Unix milliseconds. */
  readonly at: number;
}

/** parseSnapshotName reads a Steward snapshot's name (the part after `@`); undefined for any other name. */
export function parseSnapshotName(name: string): SnapshotStamp | undefined {
  const m = SNAPSHOT.exec(name);
  if (m === null) return undefined;
  const at = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const kind = m[7] as SnapshotPeriod;
  // Date.UTC rolls a month 13 over into the next year: only a name it writes back is one.
  return Number.isNaN(at) || snapshotName(kind, at) !== name ? undefined : { kind, at };
}

/**
 * A drain's final snapshot (docs/backups.md, "Failover and drain"): taken after the service's
 * jail stopped on the node it leaves, and sent to its replica peer; the new node seeds only
 * from a replica whose newest snapshot is one. `steward_<YYYY-MM-DD>_<HH:MM:SS>_final`.
 */
export const FINAL_KIND = "final";
const FINAL = /^steward_(\d{4}-\d{2}-\d{2})_(\d{2}:\d{2}:\d{2})_final$/;

/** finalSnapshotName names a drain's final snapshot taken at `ms` (Unix milliseconds). */
export function finalSnapshotName(ms: number): string {
  const iso = new Date(Math.floor(ms / 1000) * 1000).toISOString();
  return `${SNAPSHOT_PREFIX}${iso.slice(0, 10)}_${iso.slice(11, 19)}_${FINAL_KIND}`;
}

/** snapshotTime reads when a Steward snapshot (periodic or final) was taken, and whether it is final; undefined for other names. */
export function snapshotTime(name: string): { readonly at: number; readonly final: boolean } | undefined {
  const periodic = parseSnapshotName(name);
  if (periodic !== undefined) return { at: periodic.at, final: false };
  const m = FINAL.exec(name);
  if (m === null) return undefined;
  const at = Date.parse(`${m[1]}T${m[2]}Z`);
  return Number.isNaN(at) || finalSnapshotName(at) !== name ? undefined : { at, final: true };
}

/**
 * newestTimed is the newest of the names that are Steward snapshots (periodic or final), by
 * the time in the name, a final one winning a tie; undefined when none is. Pure.
 */
export function newestTimed(names: Iterable<string>): { readonly name: string; readonly at: number; readonly final: boolean } | undefined {
  let newest: { name: string; at: number; final: boolean } | undefined;
  for (const name of names) {
    const t = snapshotTime(name);
    if (t !== undefined && (newest === undefined || t.at > newest.at || (t.at === newest.at && t.final))) newest = { name, ...t };
  }
  return newest;
}

/** isStewardSnapshot answers whether a snapshot name (after `@`) is one the backup driver takes and prunes. */
export function isStewardSnapshot(name: string): boolean {
  return parseSnapshotName(name) !== undefined;
}

/**
 * periodIndex numbers the window of `kind` that holds `ms`, in UTC: 15-minute slots, hours,
 * days, ISO weeks (from Monday), calendar months. A snapshot of a kind is due when the
 * newest one lies in an earlier window than now.
 */
export function periodIndex(kind: SnapshotPeriod, ms: number): number {
  switch (kind) {
    case "frequent":
      return Math.floor(ms / 900_000);
    case "hourly":
      return Math.floor(ms / 3_600_000);
    case "daily":
      return Math.floor(ms / 86_400_000);
    case "weekly":
      // 1970-01-01 was a Thursday: shift by three days so that weeks start on Monday.
      return Math.floor((Math.floor(ms / 86_400_000) + 3) / 7);
    case "monthly": {
      const d = new Date(ms);
      return d.getUTCFullYear() * 12 + d.getUTCMonth();
    }
  }
}

/** compareStamps orders snapshot names oldest first (by their time, then kind, shortest first). */
export function compareSnapshotNames(a: string, b: string): number {
  const x = parseSnapshotName(a);
  const y = parseSnapshotName(b);
  if (x === undefined || y === undefined) return a < b ? -1 : a > b ? 1 : 0;
  return x.at - y.at || SNAPSHOT_PERIODS.indexOf(x.kind) - SNAPSHOT_PERIODS.indexOf(y.kind);
}

/** The kinds of target a dataset's copies go to. */
export type TargetKind = "replica" | "cold" | "remote";

/** targetTag names a target in holds and bookmarks: `replica-beta`, `cold-coldbackup`, `remote-offsite`. */
export function targetTag(kind: TargetKind, name: string): string {
  return `${kind}-${name}`;
}

/** holdTag is the `zfs hold` tag that keeps a target's incremental base (zfs-fuse). */
export function holdTag(tag: string): string {
  return `steward-${tag}`;
}

/** bookmarkName is the bookmark that keeps a target's incremental base (OpenZFS): `ds#<snapshot>.<tag>`. */
export function bookmarkName(dataset: string, snapshot: string, tag: string): string {
  return `${dataset}#${snapshot}.${tag}`;
}

/** parseBookmark reads a bookmark's part after `#` as Steward names it; undefined for others. */
export function parseBookmark(name: string): { readonly snapshot: string; readonly tag: string } | undefined {
  const dot = name.indexOf(".", SNAPSHOT_PREFIX.length);
  if (dot < 0) return undefined;
  const snapshot = name.slice(0, dot);
  return isStewardSnapshot(snapshot) ? { snapshot, tag: name.slice(dot + 1) } : undefined;
}

/** The subtrees of `<pool>/steward` the backup driver owns; the ZFS driver leaves them alone. */
export const BACKUP_TREES = ["replica", "drill", "restore"] as const;

/** isBackupTree answers whether a dataset lies in one of the backup driver's trees of `root` (`<pool>/steward`). */
export function isBackupTree(root: string, name: string): boolean {
  return BACKUP_TREES.some((t) => name === `${root}/${t}` || name.startsWith(`${root}/${t}/`));
}

/** drillName is where the restore drill receives a dataset: `<pool>/steward/drill/<service>/<short>`. */
export function drillName(pool: string, service: string, short: string): string {
  return `${pool}/steward/drill/${service}/${short}`;
}

/** coldName is a dataset's cold copy: `<coldpool>/steward/<node>/<service>/<short>`. */
export function coldName(pool: string, node: string, service: string, short: string): string {
  return `${pool}/steward/${node}/${service}/${short}`;
}

/** relativeName is a dataset's name below a peer's replica tree and in a remote store: `<service>/<short>`. */
export function relativeName(service: string, short: string): string {
  return `${service}/${short}`;
}
