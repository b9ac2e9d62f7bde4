/**
 * Host paths a jail root or a dataset mountpoint must stay away from. Pure.
 *
 * Every jail root is `<jails>/<service>` and every service dataset is mounted at
 * `<jails>/<service><mount>` (schema/README.md, "Datasets on a node"). A jail root or a
 * mountpoint that is a system directory, lies inside one, or contains one would hide the
 * node's own files behind a dataset or a jail: `jails: /var` with a service `db` mounting
 * `/steward` covers /var/db/steward, Steward's state. Two layers refuse that:
 * - validation refuses a node's `jails:` directory that overlaps PROTECTED_HOST_PATHS, which
 *   covers every jail root and mountpoint below it;
 * - hostPathConflicts checks a node's resolved desired state against paths only the node
 *   knows (its configured state and configuration directories, see agentPaths).
 */
import type { AgentConfig } from "../config.js";
import type { Diagnostic } from "../errors.js";
import type { DesiredState } from "./types.js";

/**
 * The FreeBSD system trees, from hier(7) of FreeBSD 14 (with /var/audit and /var/authpf,
 * which /etc/mtree/BSD.var.dist creates), and Steward's own default configuration and state
 * directories. `/`, `/usr`, `/var` and `/usr/local` are not listed: they are ancestors of
 * listed trees, and an ancestor is refused as well. Home directories (/home, /usr/home) are
 * not system trees and are not listed.
 */
export const PROTECTED_HOST_PATHS: readonly string[] = [
  // Steward's own defaults (config.ts), first so that messages name them first; a node with
  // other directories passes those to hostPathConflicts.
  "/usr/local/etc/steward", "/var/db/steward",
  // The root file system.
  "/bin", "/boot", "/cdrom", "/compat", "/dev", "/etc", "/lib", "/libexec", "/net", "/proc", "/rescue", "/root", "/sbin", "/sys",
  // /usr
  "/usr/bin", "/usr/compat", "/usr/include", "/usr/lib", "/usr/lib32", "/usr/libdata", "/usr/libexec", "/usr/obj", "/usr/ports", "/usr/sbin", "/usr/share", "/usr/src", "/usr/tests",
  // /usr/local: "the general layout sketched out by hier for /usr", plus etc (mimics /etc) and man.
  "/usr/local/bin", "/usr/local/etc", "/usr/local/include", "/usr/local/lib", "/usr/local/libdata", "/usr/local/libexec", "/usr/local/man", "/usr/local/sbin", "/usr/local/share",
  // /var
  "/var/account", "/var/at", "/var/audit", "/var/authpf", "/var/backups", "/var/cache", "/var/crash", "/var/cron", "/var/db", "/var/empty", "/var/games", "/var/heimdal", "/var/log", "/var/mail", "/var/msgs", "/var/preserve", "/var/quotas", "/var/run", "/var/rwho", "/var/spool", "/var/yp",
];

/**
 * Directories of hier(7) that exist to hold other file systems or scratch files: a jail
 * directory may lie inside them (/mnt/jails on a second disk), but may not be one of them or
 * contain one, which would hide whatever is mounted or kept there.
 */
export const MOUNT_HOST_PATHS: readonly string[] = ["/media", "/mnt", "/tmp", "/var/tmp"];

/**
 * hostPathOverlaps lists how `path` overlaps the system trees: every protected path it equals,
 * lies inside or contains, and every mount directory it equals or contains. Pure.
 */
export function hostPathOverlaps(path: string): PathOverlap[] {
  return [...findOverlaps(path, PROTECTED_HOST_PATHS), ...findOverlaps(path, MOUNT_HOST_PATHS).filter((o) => o.relation !== "inside")];
}

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

/** jailRoot is the host directory of a service's jail. */
export function jailRoot(jails: string, service: string): string {
  return `${jails.replace(/\/+$/, "")}/${service}`;
}

/** hostMountpoint is where a dataset mounted at `mount` inside a service's jail is mounted on the host. */
export function hostMountpoint(jails: string, service: string, mount: string): string {
  return `${jailRoot(jails, service)}${mount.replace(/\/+$/, "")}`;
}

/**
 * agentPaths lists the paths of one node's agent configuration that no jail root or mountpoint
 * may overlap: the configuration file's directory, the state directory, the trust and
 * revocation files, the ssh keys and known_hosts files, and local mirror repositories. Pure.
 * Pass the result to hostPathConflicts.
 */
export function agentPaths(config: Pick<AgentConfig, "file" | "state" | "trust" | "revoked" | "remotes">): string[] {
  // A configuration file directly in / protects itself, not the whole tree.
  const dir = parentOf(config.file);
  const paths = [dir === "/" ? config.file : dir, config.state, config.trust];
  if (config.revoked !== undefined) paths.push(config.revoked);
  for (const r of config.remotes) {
    if (r.key !== undefined) paths.push(r.key);
    if (r.knownHosts !== undefined) paths.push(r.knownHosts);
    if (r.target.kind === "local") paths.push(r.target.path);
  }
  return [...new Set(paths)];
}

/**
 * hostPathConflicts checks a node's resolved desired state against paths known only on the
 * node (see agentPaths; PROTECTED_HOST_PATHS is already enforced by validation, and passing it
 * too is harmless): it returns a MANIFEST_PATH error for every jail root and every dataset
 * mountpoint that equals, lies inside, or contains one of `protectedPaths`. A jail root is
 * placed on the node's `jails:` (the node file's start when the default is used), a mountpoint
 * on the dataset's `mount:` in its service file. Returns [] when there is no conflict. The
 * reconcile step must not plan or apply a desired state with any of these.
 */
export function hostPathConflicts(desired: DesiredState, protectedPaths: readonly string[]): Diagnostic[] {
  const out: Diagnostic[] = [];
  const { node } = desired;
  const jailsWhere = node.jailsWhere ?? node.where;
  const hint = (what: string): string =>
    `keep ${what} away from this node's own directories (${protectedPaths.join(", ")}): use a dedicated jails directory such as /jails or /usr/local/jails`;
  for (const s of desired.services) {
    const root = jailRoot(node.jails, s.name);
    const overlaps = findOverlaps(root, protectedPaths);
    if (overlaps.length > 0) {
      out.push({ code: "MANIFEST_PATH", severity: "error", where: jailsWhere, message: `jails: the jail root of service '${s.name}', ${root}, ${describeOverlaps(overlaps)} on node '${node.name}'`, hint: hint("jails") });
    }
  }
  // The mountpoints the plan would set, so that a hand-made desired state is checked too.
  for (const d of desired.datasets) {
    // A jail root's dataset is mounted at the jail root, reported above.
    if (d.role === "clone") continue;
    const mountpoint = d.properties["mountpoint"];
    if (mountpoint === undefined || !mountpoint.startsWith("/")) continue;
    const overlaps = findOverlaps(mountpoint, protectedPaths);
    if (overlaps.length === 0) continue;
    const service = desired.services.find((s) => s.name === d.owner);
    const short = d.name.split("/").pop() ?? d.name;
    const dataset = service?.datasets.find((x) => x.name === short);
    const where = dataset?.mountWhere ?? service?.where ?? jailsWhere;
    out.push({ code: "MANIFEST_PATH", severity: "error", where, message: `datasets.${short}.mount: ${d.name} would be mounted at ${mountpoint}, which ${describeOverlaps(overlaps)} on node '${node.name}'`, hint: hint("jails and mounts") });
  }
  return out;
}

function segments(path: string): string[] {
  return path.split("/").filter((s) => s !== "");
}

function parentOf(file: string): string {
  const i = file.replace(/\/+$/, "").lastIndexOf("/");
  return i <= 0 ? "/" : file.slice(0, i);
}
