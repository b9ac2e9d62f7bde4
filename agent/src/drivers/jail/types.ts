/**
 * The jail driver's data: its slice of a node's desired state, what it observes, the record of
 * what it last converged, and its actions and findings. Plain, serializable data; no I/O.
 */
import type { ContentRef, Drift } from "../../manifest/types.js";
import type { ActionBase, FindingBase } from "../../plan/types.js";

/** One file a jail gets, at its host path. */
export interface JailFile {
  /** Path inside the jail. */
  readonly path: string;
  /** The same file seen from the host: `<root><path>`. */
  readonly hostPath: string;
  readonly content: ContentRef;
  /** Permission bits. */
  readonly mode: number;
  /** `user[:group]` inside the jail, set with the jail's own chown (its passwd, not the host's). */
  readonly owner: string | undefined;
  /** rc services restarted when it changes. */
  readonly restart: readonly string[];
}

/** One service's jail, fully resolved. */
export interface JailSpec {
  /** The service name: also the jail's name. */
  readonly name: string;
  readonly hostname: string;
  readonly ip: string;
  /** The jail's root on the host (its root dataset's mountpoint). */
  readonly root: string;
  /** The resources the jail needs ready: its root dataset and its data datasets. */
  readonly datasets: readonly string[];
  /** Its jail.conf(5) file and content. */
  readonly confPath: string;
  readonly conf: string;
  readonly confContent: ContentRef;
  readonly packages: readonly string[];
  /** rc services, in start order. */
  readonly services: readonly string[];
  /** Variables of the jail's /etc/rc.conf. */
  readonly rc: Readonly<Record<string, string>>;
  readonly files: readonly JailFile[];
  readonly drift: Drift;
}

/** The slice of a node's desired state the jail driver converges. */
export interface JailDesired {
  /** Where jail.conf(5) files go (`/etc/jail.conf.d` on FreeBSD). */
  readonly confDir: string;
  /** The interface jail addresses are aliased on. */
  readonly jailInterface: string;
  /** Sorted by name. */
  readonly jails: readonly JailSpec[];
}

/** A running jail as `jls --libxo json` shows it (explicit parameters). */
export interface RunningJail {
  readonly jid: string;
  readonly name: string;
  readonly path: string;
  readonly hostname: string;
  readonly ip4: readonly string[];
}

/** What the host says about one jail Steward manages or knows of. */
export interface ObservedJail {
  readonly name: string;
  /** Undefined when not running. */
  readonly running: RunningJail | undefined;
  /** SHA-256 of its conf file, undefined when there is none. */
  readonly confSha256: string | undefined;
  /** The conf file carries Steward's header (so a removed service's jail is Steward's to stop). */
  readonly confIsSteward: boolean;
  /** Installed packages, from one `pkg -j NAME query` (undefined when not running or it failed). */
  readonly packages: readonly string[] | undefined;
  /** Variables read from the jail root's etc/rc.conf (undefined when there is none). */
  readonly rc: Readonly<Record<string, string>> | undefined;
  /** SHA-256 and mode of each desired file, by path inside the jail (absent: no such file). */
  readonly files: Readonly<Record<string, { readonly sha256: string; readonly mode: number }>>;
  /** Desired files whose temporary file (commands.ts tempPath) exists: an apply was killed mid-write. */
  readonly temporaries?: readonly string[];
}

/** What the host's rc.conf says about jails and the jail interface. */
export interface ObservedHost {
  readonly jailEnable: string | undefined;
  readonly jailList: readonly string[];
  readonly clonedInterfaces: readonly string[];
}

/**
 * What apply last converged each jail to: the manifest's values when they were applied, and
 * the restarts that were due but did not happen (retried until they succeed).
 */
export interface JailRecord {
  readonly confSha256: string | undefined;
  readonly packages: readonly string[];
  readonly rc: Readonly<Record<string, string>>;
  readonly files: Readonly<Record<string, string>>;
  readonly pendingRestarts: readonly string[];
}

export interface JailAppliedRecord {
  readonly version: 1;
  readonly jails: Readonly<Record<string, JailRecord>>;
}

export const EMPTY_JAIL_RECORD: JailAppliedRecord = { version: 1, jails: {} };

export interface JailObserved {
  readonly host: ObservedHost;
  /** Every desired jail, and every jail a Steward conf file or the record names. */
  readonly jails: Readonly<Record<string, ObservedJail>>;
  readonly applied: JailAppliedRecord;
}

interface JailActionBase extends ActionBase {
  readonly driver: "jail";
  readonly jail: string;
}

/** Write a jail's jail.conf(5) file. */
export interface JailConfAction extends JailActionBase {
  readonly kind: "jail.conf";
  readonly before: string | null;
  readonly after: string;
}

/** Create a jail that is not running (`jail -f CONF -c NAME`); /etc/rc starts its enabled services. */
export interface JailStartAction extends JailActionBase {
  readonly kind: "jail.start";
  readonly before: null;
  readonly after: "running";
}

/** Remove and create a running jail again, for a changed configuration (`jail -f CONF -rc NAME`). */
export interface JailRecreateAction extends JailActionBase {
  readonly kind: "jail.recreate";
  readonly before: string | null;
  readonly after: string;
}

/** Install packages into a running jail (`pkg -j NAME install -y …`). */
export interface JailPkgInstallAction extends JailActionBase {
  readonly kind: "jail.pkg-install";
  readonly packages: readonly string[];
  readonly before: null;
  readonly after: readonly string[];
}

/** Delete packages the manifest no longer names, that Steward installed. */
export interface JailPkgDeleteAction extends JailActionBase {
  readonly kind: "jail.pkg-delete";
  readonly packages: readonly string[];
  readonly before: readonly string[];
  readonly after: null;
}

/** Set and unset variables of the jail's rc.conf (`sysrc -f ROOT/etc/rc.conf …`). */
export interface JailRcAction extends JailActionBase {
  readonly kind: "jail.rc";
  readonly before: Readonly<Record<string, string>>;
  readonly after: Readonly<Record<string, string>>;
}

/** Write one file into the jail (and chown it with the jail's own users). */
export interface JailFileAction extends JailActionBase {
  readonly kind: "jail.file";
  readonly path: string;
  readonly before: string | null;
  readonly after: string;
}

/** Restart one rc service in the jail and check it runs. */
export interface JailServiceRestartAction extends JailActionBase {
  readonly kind: "jail.service-restart";
  readonly service: string;
  readonly because: readonly string[];
  readonly before: null;
  readonly after: "running";
}

/** Stop a jail whose service left the manifest and remove its conf file; its data is kept. */
export interface JailRemoveAction extends JailActionBase {
  readonly kind: "jail.remove";
  readonly before: "configured";
  readonly after: null;
}

/** The host's rc.conf for jails: enabled, started at boot in order, their interface cloned. */
export interface JailHostAction extends JailActionBase {
  readonly kind: "jail.host";
  readonly before: Readonly<Record<string, string>>;
  readonly after: Readonly<Record<string, string>>;
}

export type JailAction =
  | JailConfAction
  | JailStartAction
  | JailRecreateAction
  | JailPkgInstallAction
  | JailPkgDeleteAction
  | JailRcAction
  | JailFileAction
  | JailServiceRestartAction
  | JailRemoveAction
  | JailHostAction;

interface JailFindingBase extends FindingBase {
  readonly driver: "jail";
  readonly jail: string;
}

/**
 * What the jail plan found but will not act on:
 * - drift-reported: changed by hand, and the service says `drift: report`
 * - unmanaged-jail: a jail is running under a desired jail's name without Steward's conf file
 *                   (blocking: Steward will not take over a jail it did not make)
 */
export type JailFinding =
  | (JailFindingBase & { readonly kind: "drift-reported"; readonly what: string })
  | (JailFindingBase & { readonly kind: "unmanaged-jail" });
