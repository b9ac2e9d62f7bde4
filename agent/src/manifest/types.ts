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
  /** `backups:`: policies, remotes, recipients; absent when cluster.yaml has none. */
  readonly backups?: BackupsSpec;
  /** The backup policy of every service unless it says otherwise (`none` when not set). */
  readonly backup?: string;
}

/** The kinds of snapshots a policy keeps (sanoid's names), shortest first. */
export const SNAPSHOT_PERIODS = ["frequent", "hourly", "daily", "weekly", "monthly"] as const;
export type SnapshotPeriod = (typeof SNAPSHOT_PERIODS)[number];

/** Each kind's length in seconds, for ages and overdue checks (a month counts as 30 days). */
export const PERIOD_SECONDS: Readonly<Record<SnapshotPeriod, number>> = { frequent: 900, hourly: 3600, daily: 86_400, weekly: 604_800, monthly: 2_592_000 };

/** An SSH endpoint of a peer or a remote (`ssh://[user@]host[:port]`). */
export interface SshEndpoint {
  readonly user: string | undefined;
  readonly host: string;
  readonly port: number | undefined;
}

/** One backup policy of cluster.yaml, defaults filled in; durations in seconds. */
export interface BackupPolicy {
  readonly name: string;
  /** How many snapshots of each kind to keep; kinds absent or 0 are not taken. */
  readonly keep: Readonly<Partial<Record<SnapshotPeriod, number>>>;
  /** Peer nodes, in order: the first that is not the service's own node holds the replica. */
  readonly replica?: { readonly to: readonly string[]; readonly every: number | undefined };
  readonly cold?: { readonly pool: string; readonly every: number };
  readonly remote?: { readonly to: string; readonly every: number };
}

/** cluster.yaml `backups:`, resolved. */
export interface BackupsSpec {
  /** age recipients remote copies are encrypted to. */
  readonly recipients: readonly string[];
  /** Remote file stores by name. */
  readonly remotes: Readonly<Record<string, SshEndpoint>>;
  readonly policies: Readonly<Record<string, BackupPolicy>>;
  /** How often a restore drill runs, in seconds. */
  readonly drill: number;
}

export interface NodeSpec {
  readonly name: string;
  readonly arch: Arch;
  readonly pool: string;
  readonly interface: string;
  readonly address: string | undefined;
  /** The port of the node's own sshd (default 22): never redirected to a jail. */
  readonly ssh: number;
  /** How peers reach it to send replicas (`receive:`); absent: root at `address`. */
  readonly receive?: SshEndpoint;
  readonly release: string | undefined;
  /** Directory of jail roots; a jail's root is `${jails}/${service}`. */
  readonly jails: string;
  /** Where `jails:` is written; absent when the default is used (or the spec was made by hand). */
  readonly jailsWhere?: Where;
  /** Full dataset names the admin asked to destroy. */
  readonly destroy: readonly string[];
  /** The node's SSH public key line (signs its status commits), when the manifest names it. */
  readonly key?: string;
  /**
   * `down: true`: the node is gone. No service may be placed on it; the nodes its services
   * moved to seed their datasets from the newest replica it sent them, whatever its age.
   */
  readonly down?: boolean;
  /** Where `down:` is written (absent when not set, or the spec was made by hand). */
  readonly downWhere?: Where;
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
  /** Its backup policy, a name in backups.policies (its own, else its service's); absent: none. */
  readonly backup?: string;
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
  /** Its backup policy: its own `backup:`, else the cluster's default; absent: none. */
  readonly backup?: string;
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
  /**
   * For a service's data dataset: the replicas on this node that may hold its data, one per
   * other node of the cluster (the service may have lived there). When the dataset is absent
   * and one of them holds snapshots, it is seeded from it instead of created empty
   * (docs/backups.md, "Failover and drain").
   */
  readonly seed?: readonly SeedCandidate[];
}

/** A replica a dataset may be seeded from: `<pool>/steward/replica/<node>/<service>/<short>`. */
export interface SeedCandidate {
  /** The replica dataset on this node. */
  readonly dataset: string;
  /** The node that sent it (where the service lived). */
  readonly node: string;
  /** That node is marked `down`: its newest replica may seed at once, whatever its age. */
  readonly down: boolean;
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
  /** What the backup policies ask of this node's datasets; absent when no dataset has one. */
  readonly backups?: NodeBackups;
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
  /** The files backups over SSH use (steward.yaml backup_*); absent when not configured. */
  readonly backup?: BackupHostFiles;
}

/** Node-local files for backups: never in the repo, never in a jail. */
export interface BackupHostFiles {
  /** The private key that logs in to peers and remotes (their forced commands confine it). */
  readonly key: string | undefined;
  /** Pinned host keys of peers and remotes. */
  readonly knownHosts: string | undefined;
  /** An age identity file that decrypts remote copies (restore drills, steward restore). */
  readonly identity: string | undefined;
}

/** One dataset's backups on its node, resolved from its policy. */
export interface DatasetBackup {
  /** Full dataset name. */
  readonly dataset: string;
  readonly service: string;
  /** The dataset's short name in its service. */
  readonly short: string;
  readonly policy: string;
  /**
   * What `zfs snapshot` is taken on: the service's container with `-r` when every dataset of
   * the service has this policy (one atomic snapshot of all of them), else the dataset alone.
   */
  readonly unit: string;
  readonly recursive: boolean;
  readonly keep: Readonly<Partial<Record<SnapshotPeriod, number>>>;
  /** The peer that holds its replica, as `<service>/<short>` below that node's replica tree for this node. */
  readonly replica?: { readonly node: string; readonly endpoint: SshEndpoint | undefined; readonly every: number };
  /** The removable pool, and the dataset there: `<pool>/steward/<node>/<service>/<short>`. */
  readonly cold?: { readonly pool: string; readonly every: number };
  readonly remote?: { readonly name: string; readonly endpoint: SshEndpoint; readonly every: number };
}

/** What backup policies ask of one node. */
export interface NodeBackups {
  readonly datasets: readonly DatasetBackup[];
  /**
   * A drain (docs/backups.md, "Failover and drain"): the datasets, by this node's names, of
   * services placed on another live node whose policies keep replicas. Where they exist here,
   * each one's final copy goes to the replica its new node (`replica.node`) seeds it from,
   * once the jail here has stopped.
   */
  readonly leaving: readonly DatasetBackup[];
  /** age recipients of remote copies. */
  readonly recipients: readonly string[];
  /** How often a restore drill runs, in seconds. */
  readonly drill: number;
}
