/**
 * The typed model of a cluster repo, after YAML, schema and semantic checks.
 * Everything here is plain data: serializable, no methods, no I/O.
 */
import type { Where } from "../errors.js";
import type { NodePolicy } from "../network/types.js";

export type Drift = "correct" | "report";
export type Arch = "amd64" | "arm64";

/** The files of one revision of the cluster repo, as the manifest step sees them. */
export interface RepoSnapshot {
  /** Text of every manifest file (cluster.yaml, nodes/*.yaml, services/*.yaml), by repo path. */
  readonly manifests: ReadonlyMap<string, string>;
  /**
   * Manifest files left unread because they are larger than the manifest limit, with their
   * size in bytes; validation reports each. Not in `manifests`.
   */
  readonly oversized?: ReadonlyMap<string, number>;
  /** Every file path in the revision (to check that `files: {from: …}` exist). */
  readonly paths: ReadonlySet<string>;
  /** The commit it was read from, when it came from git. */
  readonly revision?: string;
  /**
   * readFile reads one file of the revision (a `files: {from: …}` source), at most
   * MAX_FILE_BYTES. Throws MANIFEST_INVALID for a larger file, MANIFEST_MISSING for a path that
   * is not a regular file of the revision. Absent on snapshots built in memory.
   */
  readonly readFile?: (path: string) => Promise<Uint8Array>;
}

/** The largest file a service installs from the repo (a configuration file is far smaller). */
export const MAX_FILE_BYTES = 1024 * 1024;

/** File content named by its SHA-256; the bytes travel separately (a file can hold secrets). */
export interface ContentRef {
  readonly sha256: string;
  readonly bytes: number;
}

export interface ClusterSpec {
  readonly domain: string;
  /** The network every jail address comes from, e.g. 10.17.0.0/24. */
  readonly jailNetwork: string;
  /** Networks no jail may reach (the home LAN). */
  readonly protect: readonly string[];
  /** Where `network.protect` is written (absent in specs made by hand). */
  readonly protectWhere?: Where;
  readonly release: string | undefined;
  readonly drift: Drift;
  /** Properties every service dataset gets unless it says otherwise (as written). */
  readonly datasetDefaults: Readonly<Record<string, string>>;
  /** Downtime a service may have per calendar month, in seconds, unless it says otherwise. */
  readonly budget?: number;
}

export interface NodeSpec {
  readonly name: string;
  readonly arch: Arch;
  readonly pool: string;
  readonly interface: string;
  readonly address: string | undefined;
  /** The port of the node's own sshd (default 22): never redirected to a jail. */
  readonly ssh: number;
  readonly release: string | undefined;
  /** Directory of jail roots; a jail's root is `${jails}/${service}`. */
  readonly jails: string;
  /** Where `jails:` is written; absent when the default is used (or the spec was made by hand). */
  readonly jailsWhere?: Where;
  /** Full dataset names the admin asked to destroy. */
  readonly destroy: readonly string[];
  /** The node's SSH public key line (signs its status commits), when the manifest names it. */
  readonly key?: string;
  readonly where: Where;
}

export interface PortSpec {
  readonly port: number;
  readonly proto: "tcp" | "udp";
  /** Where it is written (absent in specs made by hand). */
  readonly where?: Where;
}

/**
 * Where a jail may send traffic: another service, or the internet (everything but the protected
 * networks and the jail network), or one host or network on the internet (`net`).
 */
export interface RouteSpec {
  readonly to: string; // a service name, or "internet"
  /** For a route to one host or network of the internet: its CIDR (`203.0.113.7/32`). */
  readonly net?: string;
  readonly port: number;
  readonly proto: "tcp" | "udp";
  /** Where it is written (absent in specs made by hand). */
  readonly where?: Where;
  /** The route as written (`dns`, `mail:587/tcp`); a shorthand gives several RouteSpecs. */
  readonly text?: string;
}

export interface FileSpec {
  /** Absolute path inside the jail. */
  readonly path: string;
  /** Repo path of the content. */
  readonly from: string;
  /** The content's hash and size, once read (desiredFromSnapshot); the bytes are not here. */
  readonly content?: ContentRef;
  readonly mode: string | undefined;
  readonly owner: string | undefined;
  readonly restart: readonly string[];
}

export interface ServiceDataset {
  /** Short name from the manifest (`mail`). */
  readonly name: string;
  /** Path inside the jail, if mounted. */
  readonly mount: string | undefined;
  /** Where `mount:` is written; absent when not mounted (or the spec was made by hand). */
  readonly mountWhere?: Where;
  /** ZFS properties as written, defaults merged in (sizes still as written, e.g. "20G"). */
  readonly properties: Readonly<Record<string, string>>;
  readonly where: Where;
}

export interface ServiceSpec {
  readonly name: string;
  readonly node: string;
  readonly drift: Drift;
  readonly ip: string;
  /** Where `jail.ip` is written (absent in specs made by hand). */
  readonly ipWhere?: Where;
  readonly release: string | undefined;
  readonly packages: readonly string[];
  readonly services: readonly string[];
  readonly rc: Readonly<Record<string, string>>;
  readonly datasets: readonly ServiceDataset[];
  readonly files: readonly FileSpec[];
  readonly expose: readonly PortSpec[];
  readonly routes: readonly RouteSpec[];
  /** Downtime allowed per calendar month, in seconds (its own or the cluster's); absent: none set. */
  readonly budget?: number;
  readonly where: Where;
}

/** The whole validated repo. */
export interface ClusterModel {
  readonly revision: string | undefined;
  readonly cluster: ClusterSpec;
  readonly nodes: readonly NodeSpec[];
  readonly services: readonly ServiceSpec[];
}

/**
 * A ZFS dataset as Steward wants it on one node: full name and the exact values `zfs get -Hp`
 * would print (sizes in bytes), so that desired and observed compare as strings.
 */
export interface DatasetSpec {
  readonly name: string;
  readonly properties: Readonly<Record<string, string>>;
  readonly drift: Drift;
  /** The service that declared it, or "steward" for the containers Steward makes itself. */
  readonly owner: string;
  /**
   * How it is made, when not the default (created with its properties and kept so):
   * - base:  a FreeBSD base release jails are cloned from; Steward only reads it: it must exist,
   *          with the snapshot `snapshot`, and is never created or changed;
   * - clone: a jail's root, cloned from `origin` (a base release's snapshot).
   */
  readonly role?: "base" | "clone";
  /** For a clone: the snapshot it is cloned from (`<pool>/steward/base/<release>@steward`). */
  readonly origin?: string;
  /** For a base: the snapshot clones are made from (the part after `@`). */
  readonly snapshot?: string;
}

/** Everything one node must converge to, fully resolved. */
export interface DesiredState {
  readonly revision: string | undefined;
  readonly node: NodeSpec;
  readonly cluster: ClusterSpec;
  readonly services: readonly ServiceSpec[];
  /** Ordered parents first. */
  readonly datasets: readonly DatasetSpec[];
  /** Full names of datasets to destroy. */
  readonly destroy: readonly string[];
  /** Where things live on this host, from the agent configuration; FreeBSD's defaults when absent. */
  readonly host?: HostLayout;
  /** The node's network policy (network/compile.ts), compiled from the whole cluster. */
  readonly network?: NodePolicy;
}

/** Where things live on one host: node-local settings the drivers need, not part of the repo. */
export interface HostLayout {
  /** Where each jail's jail.conf(5) file is written. */
  readonly jailConfDir: string;
  /**
   * Commit-confirmed pf loads: the git remotes (host and TCP port) the node must still reach,
   * and within how long of a load; absent or empty: loads are not confirmed.
   */
  readonly pfConfirm?: { readonly targets: readonly { readonly name: string; readonly host: string; readonly port: number }[]; readonly windowMs: number };
}
