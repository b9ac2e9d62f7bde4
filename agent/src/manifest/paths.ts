/**
 * Host paths a jail root or a dataset mountpoint must stay away from. Pure.
 *
 * Every jail root is `<jails>/<service>` and every service dataset is mounted at
 * `<jails>/<service><mount>` (schema/README.md, "Datasets on a node"). A jail root or a
 * mountpoint that is a system directory, lies inside one, or contains one would hide the
 * node's own files behind a dataset or a jail: `jails: /var` with a service `db` mounting
 * `/steward` covers /var/db/steward, Steward's state. Validation refuses a node's `jails:`
 * directory that overlaps PROTECTED_HOST_PATHS, which covers every jail root and mountpoint
 * below it.
 */

/**
 * The FreeBSD system trees, from hier(7) of FreeBSD 14 (with /var/audit and /var/authpf,
 * which /etc/mtree/BSD.var.dist creates), and Steward's own default configuration and state
 * directories. `/`, `/usr`, `/var` and `/usr/local` are not listed: they are ancestors of
 * listed trees, and an ancestor is refused as well. Home directories (/home, /usr/home) are
 * not system trees and are not listed.
 */
export const PROTECTED_HOST_PATHS: readonly string[] = [
  // Steward's own defaults (config.ts), first so that messages name them first.
  "/usr/local/etc/steward", "/var/db/steward",
  // The root file system.
  "/bin", "/boot", "/cdrom", "/compat", "/dev", "/etc", "/lib", "/libexec", "/media", "/mnt", "/net", "/proc", "/rescue", "/root", "/sbin", "/sys", "/tmp",
  // /usr
  "/usr/bin", "/usr/compat", "/usr/include", "/usr/lib", "/usr/lib32", "/usr/libdata", "/usr/libexec", "/usr/obj", "/usr/ports", "/usr/sbin", "/usr/share", "/usr/src", "/usr/tests",
  // /usr/local: "the general layout sketched out by hier for /usr", plus etc (mimics /etc) and man.
  "/usr/local/bin", "/usr/local/etc", "/usr/local/include", "/usr/local/lib", "/usr/local/libdata", "/usr/local/libexec", "/usr/local/man", "/usr/local/sbin", "/usr/local/share",
  // /var
  "/var/account", "/var/at", "/var/audit", "/var/authpf", "/var/backups", "/var/cache", "/var/crash", "/var/cron", "/var/db", "/var/empty", "/var/games", "/var/heimdal", "/var/log", "/var/mail", "/var/msgs", "/var/preserve", "/var/quotas", "/var/run", "/var/rwho", "/var/spool", "/var/tmp", "/var/yp",
];

/** How one path lies relative to another: the same, strictly below it, or strictly above it. */
export type PathRelation = "equal" | "inside" | "contains";

/** An overlap of a path with a protected one. */
export interface PathOverlap {
  readonly protected: string;
  readonly relation: PathRelation;
}

/**
 * relatePaths tells whether absolute path `path` is `other`, lies inside it, or contains it,
 * segment by segment (/var/dbx is not inside /var/db). Repeated and trailing slashes do not
 * count. Returns undefined when the two are side by side.
 */
export function relatePaths(path: string, other: string): PathRelation | undefined {
  const a = segments(path);
  const b = segments(other);
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return undefined;
  return a.length === b.length ? "equal" : a.length > b.length ? "inside" : "contains";
}

/**
 * findOverlaps lists every protected path that `path` equals, lies inside, or contains, in the
 * order of `protectedPaths`.
 */
export function findOverlaps(path: string, protectedPaths: readonly string[]): PathOverlap[] {
  const out: PathOverlap[] = [];
  for (const p of protectedPaths) {
    const relation = relatePaths(path, p);
    if (relation !== undefined) out.push({ protected: p, relation });
  }
  return out;
}

/**
 * describeOverlaps says in a few words how a path overlaps protected paths, e.g. "is inside
 * the protected directory /var/db" or "contains the protected directories /var/db/steward,
 * /var/account, /var/at and 20 more". `overlaps` is not empty.
 */
export function describeOverlaps(overlaps: readonly PathOverlap[]): string {
  // The deepest tree the path is in or is: /var/db/steward rather than /var/db.
  const inner = overlaps.filter((o) => o.relation !== "contains").sort((a, b) => b.protected.length - a.protected.length)[0];
  if (inner !== undefined) return `${inner.relation === "equal" ? "is" : "is inside"} the protected directory ${inner.protected}`;
  const names = overlaps.map((o) => o.protected);
  if (names.length === 1) return `contains the protected directory ${names[0] ?? ""}`;
  return `contains the protected directories ${names.slice(0, 3).join(", ")}${names.length > 3 ? ` and ${names.length - 3} more` : ""}`;
}

function segments(path: string): string[] {
  return path.split("/").filter((s) => s !== "");
}
