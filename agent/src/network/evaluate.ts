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

/** An address of a rule, ready to test: does it match this address? */
type Matcher = (ip: number) => boolean;

/** A filter rule ready to test, its addresses parsed once. */
interface CompiledRule {
  readonly rule: FilterRule;
  readonly from: Matcher;
  readonly to: Matcher;
  /** route-to's and reply-to's next hop as a number (-1: none). */
  readonly routeTo: number;
  readonly replyTo: number;
}

/** A node's rules, indexed by the addresses they name (so a judgement reads a few rules only). */
interface NodeIndex {
  readonly policy: NodePolicy;
  /** The uplink's address: the manifest's, or a placeholder that is no one else's. */
  readonly uplink: number;
  readonly rules: readonly CompiledRule[];
  /** Rule indexes (ascending) naming no single host, or naming this host as source / destination. */
  readonly generic: readonly number[];
  readonly byFrom: ReadonlyMap<number, readonly number[]>;
  readonly byTo: ReadonlyMap<number, readonly number[]>;
  /** Translation rules by the jail address they translate, in order, with their index. */
  readonly natBySource: ReadonlyMap<number, readonly { readonly rule: NatRule; readonly index: number; readonly to: Matcher }[]>;
  /** Redirections by port and protocol (portKey): the first one of each. */
  readonly rdrByPort: ReadonlyMap<number, { readonly rule: RdrRule; readonly index: number; readonly target: number }>;
}

/** portKey is one number for a port and a protocol. */
export function portKey(port: number, proto: Proto): number {
  return port * 2 + (proto === "udp" ? 1 : 0);
}

const EMPTY: readonly number[] = [];

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
  const table = (entries: readonly string[]): Matcher => {
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
    return (ip) => hosts.has(ip) || nets.some((c) => contains(c, ip));
  };
  const tables: Record<TableName, Matcher> = {
    steward_jails: table(policy.tables.steward_jails),
    steward_protect: table(policy.tables.steward_protect),
    steward_private: table(policy.tables.steward_private),
  };
  const matcher = (a: PolicyAddr): Matcher => {
    switch (a.kind) {
      case "any":
        return () => true;
      case "host": {
        const h = parseIpv4(a.ip);
        return (ip) => ip === h;
      }
      case "net": {
        const c = parseCidr(a.cidr);
        return (ip) => c !== undefined && contains(c, ip);
      }
      case "uplink":
        return (ip) => ip === uplink;
      case "table": {
        const t = tables[a.table];
        return a.negate ? (ip) => !t(ip) : t;
      }
    }
  };
  const generic: number[] = [];
  const byFrom = new Map<number, number[]>();
  const byTo = new Map<number, number[]>();
  const push = (m: Map<number, number[]>, k: number, i: number): void => {
    const list = m.get(k);
    if (list === undefined) m.set(k, [i]);
    else list.push(i);
  };
  const rules = policy.filter.map((rule, i): CompiledRule => {
    const from = rule.from.kind === "host" ? parseIpv4(rule.from.ip) : undefined;
    const to = rule.to.kind === "host" ? parseIpv4(rule.to.ip) : undefined;
    if (from !== undefined) push(byFrom, from, i);
    if (to !== undefined) push(byTo, to, i);
    if (from === undefined && to === undefined) generic.push(i);
    return { rule, from: matcher(rule.from), to: matcher(rule.to), routeTo: rule.routeTo === undefined ? -1 : (parseIpv4(rule.routeTo) ?? -1), replyTo: rule.replyTo === undefined ? -1 : (parseIpv4(rule.replyTo) ?? -1) };
  });
  const natBySource = new Map<number, { rule: NatRule; index: number; to: Matcher }[]>();
  policy.nat.forEach((rule, index) => {
    const from = parseIpv4(rule.from);
    if (from === undefined) return;
    const list = natBySource.get(from) ?? [];
    list.push({ rule, index, to: matcher(rule.to) });
    natBySource.set(from, list);
  });
  const rdrByPort = new Map<number, { rule: RdrRule; index: number; target: number }>();
  policy.rdr.forEach((rule, index) => {
    const k = portKey(rule.port, rule.proto);
    if (!rdrByPort.has(k)) rdrByPort.set(k, { rule, index, target: parseIpv4(rule.target) ?? -1 });
  });
  return { policy, uplink, rules, generic, byFrom, byTo, natBySource, rdrByPort };
}

/** ruleMatches says whether a filter rule matches a packet seen so. Pure. */
function ruleMatches(c: CompiledRule, p: Packet, ctx: Context): boolean {
  const r = c.rule;
  if (r.direction !== "any" && r.direction !== ctx.direction) return false;
  if (r.onUplink && ctx.iface !== "uplink") return false;
  if (r.proto !== undefined && r.proto !== p.proto) return false;
  if (r.port !== undefined && r.port !== p.port) return false;
  if (r.tagged !== undefined && r.tagged !== p.tag) return false;
  return c.from(p.src) && c.to(p.dst);
}

/**
 * eachCandidate calls `visit` with the index of every rule that can match a packet from `src`
 * to `dst`, in rule order, until it returns true: a merge of three short sorted lists.
 */
function eachCandidate(n: NodeIndex, src: number, dst: number, visit: (i: number) => boolean): void {
  const a = n.generic;
  const b = n.byFrom.get(src) ?? EMPTY;
  const c = n.byTo.get(dst) ?? EMPTY;
  let i = 0;
  let j = 0;
  let k = 0;
  let last = -1;
  for (;;) {
    const x = i < a.length ? (a[i] as number) : Infinity;
    const y = j < b.length ? (b[j] as number) : Infinity;
    const z = k < c.length ? (c[k] as number) : Infinity;
    const m = Math.min(x, y, z);
    if (m === Infinity) return;
    if (m === x) i++;
    if (m === y) j++;
    if (m === z) k++;
    if (m === last) continue;
    last = m;
    if (visit(m)) return;
  }
}

/** filterAt runs a node's filter rules on a packet: the first that matches decides (eachCandidate, inlined: it is the hot loop). */
function filterAt(n: NodeIndex, p: Packet, ctx: Context): { index: number; rule: CompiledRule } | undefined {
  const a = n.generic;
  const b = n.byFrom.get(p.src) ?? EMPTY;
  const c = n.byTo.get(p.dst) ?? EMPTY;
  let i = 0;
  let j = 0;
  let k = 0;
  let last = -1;
  for (;;) {
    const x = i < a.length ? (a[i] as number) : Infinity;
    const y = j < b.length ? (b[j] as number) : Infinity;
    const z = k < c.length ? (c[k] as number) : Infinity;
    const m = x < y ? (x < z ? x : z) : y < z ? y : z;
    if (m === Infinity) return undefined;
    if (m === x) i++;
    if (m === y) j++;
    if (m === z) k++;
    if (m === last) continue;
    last = m;
    const r = n.rules[m] as CompiledRule;
    if (ruleMatches(r, p, ctx)) return { index: m, rule: r };
  }
}

function natAt(n: NodeIndex, p: Packet): { index: number; rule: NatRule } | undefined {
  for (const x of n.natBySource.get(p.src) ?? []) {
    if (x.rule.proto === p.proto && x.rule.port === p.port && x.to(p.dst)) return { index: x.index, rule: x.rule };
  }
  return undefined;
}

function rdrAt(n: NodeIndex, p: Packet): { index: number; rule: RdrRule; target: number } | undefined {
  return p.dst === n.uplink ? n.rdrByPort.get(portKey(p.port, p.proto)) : undefined;
}

/** One node's pf on one packet: translation, then filtering. */
function passNode(n: NodeIndex, p: Packet, ctx: Context): { hop: Hop; packet: Packet; rule: CompiledRule | undefined } {
  let packet = p;
  let translation: Hop["translation"];
  if (ctx.iface === "uplink" && ctx.direction === "out") {
    const nat = natAt(n, p);
    if (nat !== undefined) {
      packet = { src: n.uplink, dst: p.dst, proto: p.proto, port: p.port, tag: nat.rule.tag };
      translation = { kind: "nat", index: nat.index, origin: nat.rule.origin };
    }
  } else if (ctx.iface === "uplink" && ctx.direction === "in") {
    const rdr = rdrAt(n, p);
    if (rdr !== undefined) {
      packet = p.tag === undefined ? { src: p.src, dst: rdr.target, proto: p.proto, port: p.port } : { src: p.src, dst: rdr.target, proto: p.proto, port: p.port, tag: p.tag };
      translation = { kind: "rdr", index: rdr.index, origin: rdr.rule.origin };
    }
  }
  const hit = filterAt(n, packet, ctx);
  // Optional fields are set only when present (JSON output stays as the type reads).
  const hop: { -readonly [K in keyof Hop]: Hop[K] } = { node: n.policy.node, direction: ctx.direction, iface: ctx.iface, action: hit === undefined ? "none" : hit.rule.rule.action };
  if (translation !== undefined) hop.translation = translation;
  if (hit !== undefined) hop.rule = { index: hit.index, origin: hit.rule.rule.origin };
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
  return judgeAddress(index, source, dst, proto, port);
}

/** judgeAddress is judge with the destination as a number. Pure. */
export function judgeAddress(index: PolicyIndex, source: Source, dst: number, proto: Proto, port: number): Verdict {
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
    const ip = remoteAddress(source.ip);
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
  const next = step.rule === undefined || step.rule.routeTo < 0 ? undefined : step.rule.routeTo;
  if (dstJail !== undefined) {
    const there = index.nodes.get(dstJail.node) as NodeIndex;
    if (next === undefined || next !== there.uplink) {
      return { delivered: false, answered: false, hops, why: `nothing sends it to node ${dstJail.node}: the home LAN does not route the jail network` };
    }
    return arriveFromUplink(there, sent, hops, untranslatedJail ? node : undefined, index);
  }
  if (dstNode !== undefined) {
    return arriveFromUplink(index.nodes.get(dstNode) as NodeIndex, sent, hops, untranslatedJail ? node : undefined, index);
  }
  if (next !== undefined) return { delivered: false, answered: false, hops, why: `sent to ${formatIp(next)}, which is not its destination` };
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
  const back = step.rule === undefined || step.rule.replyTo < 0 ? undefined : step.rule.replyTo;
  if (back !== undefined && back === from.uplink) return { delivered: true, answered: true, reached, hops, why: `delivered; answers go back to node ${from.policy.node}` };
  return { delivered: true, answered: false, reached, hops, why: `delivered, but answers to a jail address of node ${from.policy.node} are not sent back there` };
}

/** remoteAddress parses a remote source's address, remembering the few a matrix uses. */
const remoteAddresses = new Map<string, number | undefined>();
function remoteAddress(text: string): number | undefined {
  if (!remoteAddresses.has(text)) {
    if (remoteAddresses.size > 1024) remoteAddresses.clear();
    remoteAddresses.set(text, parseIpv4(text));
  }
  return remoteAddresses.get(text);
}

/** formatIp writes an address as a dotted quad. */
export function formatIp(ip: number): string {
  return `${ip >>> 24}.${(ip >>> 16) & 255}.${(ip >>> 8) & 255}.${ip & 255}`;
}

/**
 * portsBetween lists the ports (portKey) the rules of `nodes` can tell apart for a packet from
 * `src` to `dst`: every port a rule that may match them names. Any other port is judged the
 * same as the `probe` port, so judging these and the probe covers every port. Pure.
 */
export function portsBetween(index: PolicyIndex, nodes: readonly string[], src: number, dst: number, out: Set<number> = new Set()): Set<number> {
  for (const name of nodes) {
    const n = index.nodes.get(name);
    if (n === undefined) continue;
    eachCandidate(n, src, dst, (i) => {
      const c = n.rules[i] as CompiledRule;
      const r = c.rule;
      if (r.port !== undefined && r.proto !== undefined && couldMatch(r.from, c.from, src) && couldMatch(r.to, c.to, dst)) out.add(portKey(r.port, r.proto));
      return false;
    });
    for (const { rule } of n.natBySource.get(src) ?? []) out.add(portKey(rule.port, rule.proto));
    if (dst === n.uplink) for (const k of n.rdrByPort.keys()) out.add(k);
  }
  return out;
}

/** couldMatch is the matcher, allowing for translation: a rule on a table, the uplink or any address may see any jail's packet. */
function couldMatch(a: PolicyAddr, m: Matcher, ip: number): boolean {
  return a.kind === "uplink" || a.kind === "any" || a.kind === "table" || m(ip);
}

/**
 * destinationClass says how the first node of a jail's packets (its own) tells destination
 * `dst` apart, when no rule of that node that packets from `src` can match names `dst`
 * itself: by the destination's node, by
 * being the node's own address, and by the answer of every address test the node's rules for
 * packets from `src` make (tables, networks, the nat rules' destinations). Two destinations
 * of one class get the same verdict on every port at that node — so when that verdict is
 * "stopped here" for one, it is for all. Undefined when a rule of the node names `dst` (or the
 * node is unknown): judge it on its own. Pure.
 */
export function destinationClass(index: PolicyIndex, node: string, src: number, dst: number, dstNode: string | undefined): string | undefined {
  const n = index.nodes.get(node);
  if (n === undefined) return undefined;
  // A rule naming dst that no packet from src can match on its way out of this node (it
  // names another source, or another direction or interface) does not tell dst apart; any
  // other does.
  const ctx: Context = dstNode === node || dst === n.uplink ? { direction: "out", iface: "loopback" } : { direction: "out", iface: "uplink" };
  for (const i of n.byTo.get(dst) ?? EMPTY) {
    const r = (n.rules[i] as CompiledRule).rule;
    const elsewhere = (r.direction !== "any" && r.direction !== ctx.direction) || (r.onUplink && ctx.iface !== "uplink");
    if (!elsewhere && (r.from.kind !== "host" || (n.rules[i] as CompiledRule).from(src))) return undefined;
  }
  let key = `${dstNode ?? ""}|${dst === n.uplink ? 1 : 0}|`;
  for (const i of n.generic) key += (n.rules[i] as CompiledRule).to(dst) ? "1" : "0";
  key += "|";
  for (const i of n.byFrom.get(src) ?? EMPTY) {
    const c = n.rules[i] as CompiledRule;
    if (c.rule.to.kind === "host" && c.to(dst)) return undefined;
    key += c.to(dst) ? "1" : "0";
  }
  key += "|";
  for (const x of n.natBySource.get(src) ?? []) key += x.to(dst) ? "1" : "0";
  return key;
}

