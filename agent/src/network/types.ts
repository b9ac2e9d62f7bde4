/**
 * The network policy of a cluster (docs/network.md): for every node, the ordered pf rules that
 * keep its jails apart, as plain data. Compiled from the manifest (compile.ts), judged packet
 * by packet (evaluate.ts), rendered to a pf anchor (pf.ts). Serializable, no methods, no I/O.
 *
 * The rules follow pf's semantics (pf.conf(5)): translation first (`rdr` for packets coming
 * in, `nat` for packets going out, first match wins), then filtering, where every rule here is
 * `quick` — the first that matches decides. A packet no rule matches is not Steward's: the
 * node's own pf.conf decides it. Rules name the jail addresses of the node, so the node's own
 * traffic (its agent's fetches, its admins' ssh) is never matched.
 */
import type { Where } from "../errors.js";

export type Proto = "tcp" | "udp";

/** The tables of the anchor. */
export type TableName = "steward_jails" | "steward_protect" | "steward_private";

/** An address in a rule. */
export type PolicyAddr =
  | { readonly kind: "any" }
  | { readonly kind: "host"; readonly ip: string }
  /** A network written as `a.b.c.d/len` (a route to one network of the internet). */
  | { readonly kind: "net"; readonly cidr: string }
  | { readonly kind: "table"; readonly table: TableName; readonly negate: boolean }
  /** The address(es) of the node's uplink, `(em0)` in pf: followed when DHCP changes it. */
  | { readonly kind: "uplink" };

/**
 * Why a rule exists, for the comment it carries, `steward check --explain` and diagnostics:
 * - route:   a declared route (`routes:` of a service)
 * - expose:  a declared exposed port (`expose:`)
 * - protect: the home LAN (`network.protect` in cluster.yaml)
 * - self:    a jail reaching its own address
 * - egress:  the translated traffic of routes to the internet
 * - default: everything else from or to a jail is dropped
 */
export interface RuleOrigin {
  readonly kind: "route" | "expose" | "protect" | "self" | "egress" | "default";
  /** For people: `git -> mail:587/tcp`. */
  readonly text: string;
  readonly where?: Where;
}

/** A filter rule; every one is `quick`. */
export interface FilterRule {
  readonly action: "pass" | "block";
  /** `in`, `out`, or both (no direction in pf). */
  readonly direction: "in" | "out" | "any";
  /** Only on the node's uplink interface; otherwise on any interface (lo0 included). */
  readonly onUplink: boolean;
  /** Send the packet to this next hop on the uplink (pf `route-to`). */
  readonly routeTo?: string;
  /** Send the answers of the connection to this next hop on the uplink (pf `reply-to`). */
  readonly replyTo?: string;
  readonly proto?: Proto;
  readonly from: PolicyAddr;
  readonly to: PolicyAddr;
  /** Destination port; needs `proto`. */
  readonly port?: number;
  /** Only packets a translation rule tagged so (pf `tagged`). */
  readonly tagged?: string;
  readonly origin: RuleOrigin;
}

/** An outgoing translation on the uplink: the jail's address becomes the uplink's, and a tag. */
export interface NatRule {
  readonly proto: Proto;
  /** A jail address. */
  readonly from: string;
  readonly to: PolicyAddr;
  readonly port: number;
  readonly tag: string;
  readonly origin: RuleOrigin;
}

/** An incoming redirection on the uplink: the uplink's address and port become the jail's. */
export interface RdrRule {
  readonly proto: Proto;
  readonly port: number;
  /** The jail address the port is redirected to (same port). */
  readonly target: string;
  readonly origin: RuleOrigin;
}

/** Everything pf does for Steward on one node. */
export interface NodePolicy {
  readonly node: string;
  /** The uplink interface (`em0`). */
  readonly uplink: string;
  /** The node's address on the home LAN, when the manifest gives it. */
  readonly address: string | undefined;
  /** The port of the node's own sshd. */
  readonly ssh: number;
  /** The jails of this node: service name and address, sorted by name. */
  readonly jails: readonly { readonly service: string; readonly ip: string }[];
  /** Contents of the anchor's tables: addresses and networks. */
  readonly tables: Readonly<Record<TableName, readonly string[]>>;
  readonly rdr: readonly RdrRule[];
  readonly nat: readonly NatRule[];
  /** In order; the first that matches decides. */
  readonly filter: readonly FilterRule[];
}

/** What the manifest allows, flow by flow: the reachability the policy must produce exactly. */
export interface DeclaredFlow {
  /** A service, or `outside` for an exposed port. */
  readonly from: string;
  /** A service, or `internet` (with `net` for one host or network of it). */
  readonly to: string;
  readonly net?: string;
  readonly proto: Proto;
  readonly port: number;
  readonly origin: RuleOrigin;
}

/** The compiled policy of a whole cluster. */
export interface ClusterPolicy {
  /** network.jails */
  readonly jailNetwork: string;
  /** network.protect: the home LAN. */
  readonly protect: readonly string[];
  /** Where network.protect is written. */
  readonly protectWhere?: Where;
  /** Every service: its node and jail address, sorted by name. */
  readonly services: readonly { readonly name: string; readonly node: string; readonly ip: string }[];
  /** Sorted by node name. */
  readonly nodes: readonly NodePolicy[];
  readonly declared: readonly DeclaredFlow[];
}

/** The tag the translation of routes to the internet puts on packets (pf tags ≤ 63 characters). */
export const EGRESS_TAG = "steward_egress";

/** The pf anchor Steward owns; the node's pf.conf calls it (docs/network.md). */
export const ANCHOR = "steward";
