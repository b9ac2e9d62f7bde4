/**
 * The shapes of manifest files once they have passed their JSON Schema. Field names are the
 * YAML keys; nothing is resolved or defaulted yet.
 */
import type { Where } from "../errors.js";
import type { PathSegment } from "./yaml.js";

export interface RawCluster {
  readonly domain?: string;
  readonly network: { readonly jails: string; readonly protect: readonly string[] };
  readonly defaults?: {
    readonly release?: string;
    readonly drift?: "correct" | "report";
    readonly budget?: string;
    readonly datasets?: Readonly<Record<string, string>>;
    readonly backup?: string;
  };
  readonly backups?: RawBackups;
}

/** A target written as a name, or as `{<key>: name, every: duration}`. */
export type RawTarget<K extends string> = string | ({ readonly [P in K]: string } & { readonly every?: string });

/** cluster.yaml `backups:` (schema/cluster.schema.json). */
export interface RawBackups {
  readonly recipients?: readonly string[];
  readonly remotes?: Readonly<Record<string, string>>;
  readonly policies?: Readonly<Record<string, RawBackupPolicy>>;
  readonly drill?: string;
}

export interface RawBackupPolicy {
  readonly keep: Readonly<Partial<Record<"frequent" | "hourly" | "daily" | "weekly" | "monthly", number>>>;
  readonly replica?: string | readonly string[] | { readonly to: string | readonly string[]; readonly every?: string };
  readonly cold?: RawTarget<"pool">;
  readonly remote?: RawTarget<"to">;
}

export interface RawNode {
  readonly arch: "amd64" | "arm64";
  readonly pool: string;
  readonly interface: string;
  readonly address?: string;
  readonly ssh?: number;
  readonly receive?: string;
  readonly release?: string;
  readonly jails?: string;
  readonly destroy?: readonly string[];
  readonly key?: string;
  readonly down?: boolean;
}

export interface RawService {
  readonly node: string;
  readonly drift?: "correct" | "report";
  readonly budget?: string;
  readonly backup?: string;
  readonly jail: {
    readonly ip: string;
    readonly release?: string;
    readonly packages?: readonly string[];
    readonly services?: readonly string[];
    readonly rc?: Readonly<Record<string, string | number>>;
  };
  readonly datasets?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  readonly files?: Readonly<
    Record<string, { readonly from: string; readonly mode?: string; readonly owner?: string; readonly restart?: readonly string[] }>
  >;
  readonly expose?: readonly string[];
  readonly routes?: readonly string[];
}

/** A schema-valid file of one kind, with its name (from the file name) and repo path. */
export interface Entry<T> {
  readonly name: string;
  readonly file: string;
  readonly raw: T;
}

/** Points at a value (or, with `key`, at one of its keys) in a manifest file. */
export type Locate = (file: string, path: readonly PathSegment[], key?: string) => Where;

/** Shorthand routes and what they open, to the internet. */
export const ROUTE_SHORTHANDS: Readonly<Record<string, readonly { port: number; proto: "tcp" | "udp" }[]>> = {
  dns: [
    { port: 53, proto: "udp" },
    { port: 53, proto: "tcp" },
  ],
  web: [
    { port: 80, proto: "tcp" },
    { port: 443, proto: "tcp" },
  ],
  ntp: [{ port: 123, proto: "udp" }],
};

/** The route target meaning "anywhere but the protected networks and other jails". */
export const INTERNET = "internet";

/** The port of a node's own sshd when its file does not say (sshd(8)). */
export const DEFAULT_SSH_PORT = 22;

/**
 * splitRoute reads a route as written: `SERVICE:PORT/PROTO`, `internet:PORT/PROTO`,
 * `ADDRESS[/LEN]:PORT/PROTO`; undefined for a shorthand (`dns`). Pure; the schema's pattern
 * has been checked.
 */
export function splitRoute(spec: string): { readonly target: string; readonly port: number; readonly proto: "tcp" | "udp" } | undefined {
  const colon = spec.lastIndexOf(":");
  if (colon < 0) return undefined;
  const [port, proto] = spec.slice(colon + 1).split("/");
  return { target: spec.slice(0, colon), port: Number(port), proto: proto === "udp" ? "udp" : "tcp" };
}

/** isAddressTarget tells a route to an address (`203.0.113.7`, `198.51.100.0/24`) from one to a name. */
export function isAddressTarget(target: string): boolean {
  return /^[0-9]/.test(target);
}
