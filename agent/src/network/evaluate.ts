/**
 * Judging one packet against the compiled policy, the way pf would (pf.conf(5)): at each node
 * on its way, translation first (rdr coming in, nat going out; first match), then the filter
 * rules with the translated addresses, the first match deciding (all are `quick`). Pure.
 *
 * Where a packet is seen (docs/network.md): a jail shares its node's stack, so its packets are
 * seen once, outbound — on lo0 when they stay on the node, on the uplink otherwise — and a
 * packet from elsewhere is seen inbound on the uplink of the node it is addressed to. Answers
 * follow the state the first packet created; what decides whether they find their way back is
 * routing: a jail address is routed by no one but its node, so answers to one need `reply-to`
 * back to that node (or translation to the node's address).
 *
 * This is the model `steward check` reports from and the real-packet tests compare with what
 * the kernel does. It reads only the compiled rules, never the manifest.
 */
import { contains, parseCidr, parseIpv4, type Cidr } from "../manifest/ipv4.js";
import type { ClusterPolicy, FilterRule, NatRule, NodePolicy, PolicyAddr, Proto, RdrRule, RuleOrigin, TableName } from "./types.js";

/** Where a packet starts. */
export type Source =
  | { readonly kind: "jail"; readonly service: string }
  /** A host outside the cluster (home LAN or internet), by address. */
  | { readonly kind: "remote"; readonly ip: string }
  /** A node itself (its agent, an admin's shell on it). */
  | { readonly kind: "node"; readonly node: string };

/** What a node's pf did with a packet. */
export interface Hop {
  readonly node: string;
  readonly direction: "in" | "out";
  readonly iface: "uplink" | "loopback";
  /** The translation rule that matched: its kind and index in the node's list. */
  readonly translation?: { readonly kind: "rdr" | "nat"; readonly index: number; readonly origin: RuleOrigin };
  /** The filter rule that decided, by index; absent when none matched (the node's pf.conf decides). */
  readonly rule?: { readonly index: number; readonly origin: RuleOrigin };
  readonly action: "pass" | "block" | "none";
}

export interface Verdict {
  /** The packet reaches the destination (a jail, a node, or a host outside). */
  readonly delivered: boolean;
  /** Delivered, and answers find their way back to the source. */
  readonly answered: boolean;
  /** Who got it: a service name, `node:<name>`, or `outside`. */
  readonly reached?: string;
  readonly hops: readonly Hop[];
  /** Why it stopped or why answers are lost, for people. */
  readonly why: string;
}

interface Packet {
  readonly src: number;
  readonly dst: number;
  readonly proto: Proto;
  readonly port: number;
  readonly tag?: string;
}

interface Context {
  readonly direction: "in" | "out";
  readonly iface: "uplink" | "loopback";
}

/** A node's rules, indexed by the addresses they name (so a judgement reads a few rules only). */
interface NodeIndex {
  readonly policy: NodePolicy;
  /** The uplink's address: the manifest's, or a placeholder that is no one else's. */
  readonly uplink: number;
  readonly tables: Readonly<Record<TableName, { readonly hosts: ReadonlySet<number>; readonly nets: readonly Cidr[] }>>;
  readonly generic: readonly number[];
  readonly byFrom: ReadonlyMap<number, readonly number[]>;
  readonly byTo: ReadonlyMap<number, readonly number[]>;
  readonly nat: readonly { readonly rule: NatRule; readonly from: number }[];
  readonly rdr: readonly { readonly rule: RdrRule; readonly target: number }[];
}

/** The policy of a cluster, ready to judge packets. Build once with indexPolicy. */
export interface PolicyIndex {
  readonly policy: ClusterPolicy;
  readonly nodes: ReadonlyMap<string, NodeIndex>;
  /** Jail address → service and node. */
  readonly jails: ReadonlyMap<number, { readonly service: string; readonly node: string }>;
  readonly services: ReadonlyMap<string, { readonly node: string; readonly ip: number }>;
  /** Uplink address → node. */
  readonly uplinks: ReadonlyMap<number, string>;
}

/**
 * PLACEHOLDER_NET holds the addresses given to nodes whose address the manifest does not say
 * (0.0.0.0/8, "this network", never a destination on the wire).
 */
const PLACEHOLDER_BASE = 0x00000001;

/** indexPolicy prepares a compiled policy for judging. Pure. */
export function indexPolicy(policy: ClusterPolicy): PolicyIndex {
  const nodes = new Map<string, NodeIndex>();
  const uplinks = new Map<number, string>();
  policy.nodes.forEach((n, i) => {
    const uplink = (n.address === undefined ? undefined : parseIpv4(n.address)) ?? PLACEHOLDER_BASE + i;
    uplinks.set(uplink, n.node);
    nodes.set(n.node, indexNode(n, uplink));
  });
  const jails = new Map<number, { service: string; node: string }>();
  const services = new Map<string, { node: string; ip: number }>();
  for (const s of policy.services) {
    const ip = parseIpv4(s.ip);
    if (ip === undefined) continue;
    jails.set(ip, { service: s.name, node: s.node });
    services.set(s.name, { node: s.node, ip });
  }
  return { policy, nodes, jails, services, uplinks };
}

function indexNode(policy: NodePolicy, uplink: number): NodeIndex {
  const table = (entries: readonly string[]): { hosts: Set<number>; nets: Cidr[] } => {
    const hosts = new Set<number>();
    const nets: Cidr[] = [];
    for (const e of entries) {
      if (e.includes("/")) {
        const c = parseCidr(e);
        if (c !== undefined) nets.push(c);
      } else {
        const ip = parseIpv4(e);
        if (ip !== undefined) hosts.add(ip);
      }
    }
    return { hosts, nets };
  };
  const generic: number[] = [];
  const byFrom = new Map<number, number[]>();
  const byTo = new Map<number, number[]>();
  const push = (m: Map<number, number[]>, k: number, i: number): void => {
    const list = m.get(k);
    if (list === undefined) m.set(k, [i]);
    else list.push(i);
  };
  policy.filter.forEach((r, i) => {
    const from = r.from.kind === "host" ? parseIpv4(r.from.ip) : undefined;
    const to = r.to.kind === "host" ? parseIpv4(r.to.ip) : undefined;
    if (from !== undefined) push(byFrom, from, i);
    if (to !== undefined) push(byTo, to, i);
    if (from === undefined && to === undefined) generic.push(i);
  });
  return {
    policy,
    uplink,
    tables: {
      steward_jails: table(policy.tables.steward_jails),
      steward_protect: table(policy.tables.steward_protect),
      steward_private: table(policy.tables.steward_private),
    },
    generic,
    byFrom,
    byTo,
    nat: policy.nat.map((rule) => ({ rule, from: parseIpv4(rule.from) ?? -1 })),
    rdr: policy.rdr.map((rule) => ({ rule, target: parseIpv4(rule.target) ?? -1 })),
  };
}

function addrMatches(a: PolicyAddr, ip: number, n: NodeIndex): boolean {
  switch (a.kind) {
    case "any":
      return true;
    case "host":
      return parseIpv4(a.ip) === ip;
    case "net": {
      const c = parseCidr(a.cidr);
      return c !== undefined && contains(c, ip);
    }
    case "uplink":
      return ip === n.uplink;
    case "table": {
      const t = n.tables[a.table];
      const member = t.hosts.has(ip) || t.nets.some((c) => contains(c, ip));
      return a.negate ? !member : member;
    }
  }
}

/** ruleMatches says whether a filter rule matches a packet seen so. Pure. */
function ruleMatches(r: FilterRule, p: Packet, ctx: Context, n: NodeIndex): boolean {
  if (r.direction !== "any" && r.direction !== ctx.direction) return false;
  if (r.onUplink && ctx.iface !== "uplink") return false;
  if (r.proto !== undefined && r.proto !== p.proto) return false;
  if (r.port !== undefined && r.port !== p.port) return false;
  if (r.tagged !== undefined && r.tagged !== p.tag) return false;
  return addrMatches(r.from, p.src, n) && addrMatches(r.to, p.dst, n);
}

/** candidates are the indexes of the rules that can match a packet from `src` to `dst`, in order. */
function candidates(n: NodeIndex, src: number, dst: number): number[] {
  const lists = [n.generic, n.byFrom.get(src) ?? [], n.byTo.get(dst) ?? []];
  const out = [...new Set(lists.flat())];
  return out.sort((a, b) => a - b);
}

/** filterAt runs a node's filter rules on a packet: the first that matches decides. */
function filterAt(n: NodeIndex, p: Packet, ctx: Context): { index: number; rule: FilterRule } | undefined {
  for (const i of candidates(n, p.src, p.dst)) {
    const r = n.policy.filter[i] as FilterRule;
    if (ruleMatches(r, p, ctx, n)) return { index: i, rule: r };
  }
  return undefined;
}

function natAt(n: NodeIndex, p: Packet): { index: number; rule: NatRule } | undefined {
  const i = n.nat.findIndex(({ rule, from }) => from === p.src && rule.proto === p.proto && rule.port === p.port && addrMatches(rule.to, p.dst, n));
  return i < 0 ? undefined : { index: i, rule: (n.nat[i] as { rule: NatRule }).rule };
}

function rdrAt(n: NodeIndex, p: Packet): { index: number; rule: RdrRule; target: number } | undefined {
  if (p.dst !== n.uplink) return undefined;
  const i = n.rdr.findIndex(({ rule }) => rule.proto === p.proto && rule.port === p.port);
  if (i < 0) return undefined;
  const r = n.rdr[i] as { rule: RdrRule; target: number };
  return { index: i, rule: r.rule, target: r.target };
}

/** One node's pf on one packet: translation, then filtering. */
function passNode(n: NodeIndex, p: Packet, ctx: Context): { hop: Hop; packet: Packet; rule: FilterRule | undefined } {
  let packet = p;
  let translation: Hop["translation"];
  if (ctx.iface === "uplink" && ctx.direction === "out") {
    const nat = natAt(n, p);
    if (nat !== undefined) {
      packet = { ...p, src: n.uplink, tag: nat.rule.tag };
      translation = { kind: "nat", index: nat.index, origin: nat.rule.origin };
    }
  } else if (ctx.iface === "uplink" && ctx.direction === "in") {
    const rdr = rdrAt(n, p);
    if (rdr !== undefined) {
      packet = { ...p, dst: rdr.target };
      translation = { kind: "rdr", index: rdr.index, origin: rdr.rule.origin };
    }
  }
  const hit = filterAt(n, packet, ctx);
  const hop: Hop = {
    node: n.policy.node,
    direction: ctx.direction,
    iface: ctx.iface,
    ...(translation === undefined ? {} : { translation }),
    ...(hit === undefined ? {} : { rule: { index: hit.index, origin: hit.rule.origin } }),
    action: hit === undefined ? "none" : hit.rule.action,
  };
  return { hop, packet, rule: hit?.rule };
}

/**
 * judge follows one packet from `source` to address `dst` (a jail, a node's address, or a
 * host outside), `proto` and `port`, through the pf of every node on its way, and says whether
 * it arrives and whether answers come back. A packet no Steward rule matches is assumed to pass
 * (the node's own pf.conf decides it, and Steward cannot know it would not). Pure.
 */
export function judge(index: PolicyIndex, source: Source, dstText: string, proto: Proto, port: number): Verdict {
  const dst = parseIpv4(dstText);
  if (dst === undefined) return { delivered: false, answered: false, hops: [], why: `${dstText} is not an IPv4 address` };
  const hops: Hop[] = [];
  const dstJail = index.jails.get(dst);
  const dstNode = index.uplinks.get(dst);

  // The first node: the source's own, or (from outside) the destination's.
  let node: NodeIndex | undefined;
  let src: number;
  let srcJail = false;
  if (source.kind === "jail") {
    const s = index.services.get(source.service);
    node = s === undefined ? undefined : index.nodes.get(s.node);
    if (s === undefined || node === undefined) return { delivered: false, answered: false, hops, why: `no service ${source.service}` };
    src = s.ip;
    srcJail = true;
  } else if (source.kind === "node") {
    node = index.nodes.get(source.node);
    if (node === undefined) return { delivered: false, answered: false, hops, why: `no node ${source.node}` };
    src = node.uplink;
    // FreeBSD answers a connection to a local jail address from that address itself
    // (in_pcbladdr picks the address of the interface holding the destination).
    if (dstJail !== undefined && dstJail.node === source.node) {
      src = dst;
      srcJail = true;
    }
  } else {
    const ip = parseIpv4(source.ip);
    if (ip === undefined) return { delivered: false, answered: false, hops, why: `${source.ip} is not an IPv4 address` };
    src = ip;
    const target = dstJail?.node ?? dstNode;
    if (target === undefined) return { delivered: true, answered: true, reached: "outside", hops, why: "neither end is in the cluster" };
    const at = index.nodes.get(target) as NodeIndex;
    return arriveFromUplink(at, { src, dst, proto, port }, hops, undefined, index);
  }

  const packet: Packet = { src, dst, proto, port };
  const local = (dstJail !== undefined && dstJail.node === node.policy.node) || dst === node.uplink;
  if (local) {
    const step = passNode(node, packet, { direction: "out", iface: "loopback" });
    hops.push(step.hop);
    if (step.hop.action === "block") return { delivered: false, answered: false, hops, why: `blocked on ${node.policy.node}` };
    return { delivered: true, answered: true, reached: dstJail?.service ?? `node:${node.policy.node}`, hops, why: "stays on the node" };
  }
  const step = passNode(node, packet, { direction: "out", iface: "uplink" });
  hops.push(step.hop);
  if (step.hop.action === "block") return { delivered: false, answered: false, hops, why: `blocked on ${node.policy.node}` };
  const sent = step.packet;
  const untranslatedJail = srcJail && sent.src === src;
  const next = step.rule?.routeTo;
  if (dstJail !== undefined) {
    const there = index.nodes.get(dstJail.node) as NodeIndex;
    if (next === undefined || parseIpv4(next) !== there.uplink) {
      return { delivered: false, answered: false, hops, why: `nothing sends it to node ${dstJail.node}: the home LAN does not route the jail network` };
    }
    return arriveFromUplink(there, sent, hops, untranslatedJail ? node : undefined, index);
  }
  if (dstNode !== undefined) {
    return arriveFromUplink(index.nodes.get(dstNode) as NodeIndex, sent, hops, untranslatedJail ? node : undefined, index);
  }
  if (next !== undefined) return { delivered: false, answered: false, hops, why: `sent to ${next}, which is not its destination` };
  return untranslatedJail
    ? { delivered: true, answered: false, reached: "outside", hops, why: "it leaves with the jail's address, to which no answer is routed" }
    : { delivered: true, answered: true, reached: "outside", hops, why: "it leaves through the uplink" };
}

/**
 * arriveFromUplink is a packet coming in on a node's uplink; `from` is the node whose jail sent
 * it with its own address (answers must be sent back there), when there is one.
 */
function arriveFromUplink(n: NodeIndex, p: Packet, hops: Hop[], from: NodeIndex | undefined, index: PolicyIndex): Verdict {
  const step = passNode(n, p, { direction: "in", iface: "uplink" });
  hops.push(step.hop);
  if (step.hop.action === "block") return { delivered: false, answered: false, hops, why: `blocked on ${n.policy.node}` };
  const target = index.jails.get(step.packet.dst);
  if (step.packet.dst !== n.uplink && target?.node !== n.policy.node) {
    return { delivered: false, answered: false, hops, why: `node ${n.policy.node} has no address ${formatIp(step.packet.dst)}` };
  }
  const reached = target?.service ?? `node:${n.policy.node}`;
  if (from === undefined) return { delivered: true, answered: true, reached, hops, why: "delivered" };
  const back = step.rule?.replyTo;
  if (back !== undefined && parseIpv4(back) === from.uplink) return { delivered: true, answered: true, reached, hops, why: `delivered; answers go back to node ${from.policy.node}` };
  return { delivered: true, answered: false, reached, hops, why: `delivered, but answers to a jail address of node ${from.policy.node} are not sent back there` };
}

/** formatIp writes an address as a dotted quad. */
export function formatIp(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/**
 * portsBetween lists the ports (by protocol) the rules of `nodes` can tell apart for a packet
 * from `src` to `dst`: every port a rule that may match them names. Any other port is judged
 * the same as the `probe` port, so judging these and the probe covers every port. Pure.
 */
export function portsBetween(index: PolicyIndex, nodes: readonly string[], src: number, dst: number): Set<string> {
  const out = new Set<string>();
  for (const name of nodes) {
    const n = index.nodes.get(name);
    if (n === undefined) continue;
    for (const i of candidates(n, src, dst)) {
      const r = n.policy.filter[i] as FilterRule;
      if (r.port !== undefined && r.proto !== undefined && couldMatch(r.from, src, n) && couldMatch(r.to, dst, n)) out.add(`${r.port}/${r.proto}`);
    }
    for (const { rule, from } of n.nat) if (from === src) out.add(`${rule.port}/${rule.proto}`);
    if (dst === n.uplink) for (const { rule } of n.rdr) out.add(`${rule.port}/${rule.proto}`);
  }
  return out;
}

/** couldMatch is addrMatches, allowing for translation: a rule on the uplink's address may see any jail's packet. */
function couldMatch(a: PolicyAddr, ip: number, n: NodeIndex): boolean {
  return a.kind === "uplink" || a.kind === "any" || a.kind === "table" || addrMatches(a, ip, n);
}
