/**
 * The reachability matrix of a cluster, judged from its compiled policy (evaluate.ts), and the
 * check `steward check` makes of it: everything reachable is declared, everything declared is
 * reachable (and answered), the home LAN is reachable from no jail, and the nodes' own access
 * is left alone. Pure.
 *
 * Hosts outside the cluster are stood for by one address each (docs/network.md): the first
 * host of each protected network (the home LAN; and every node's address in it), one address
 * of the internet outside every network the cluster names, and the first host of each network
 * a route names. pf tells addresses apart only by what its rules name, so these stand for all.
 */
import type { Diagnostic, Where } from "../errors.js";
import { contains, overlaps, parseCidr, parseIpv4, type Cidr } from "../manifest/ipv4.js";
import { destinationClass, formatIp, indexPolicy, judge, judgeAddress, portKey, portsBetween, type PolicyIndex, type Source, type Verdict } from "./evaluate.js";
import type { ClusterPolicy, DeclaredFlow, Proto, RuleOrigin } from "./types.js";

/** A host outside the cluster that stands for others in the matrix. */
export interface Stand {
  /** `lan`, `internet`, or `node:<name>` (a node's own address). */
  readonly kind: string;
  readonly address: string;
  /** The network it stands for (a protected network, a route's network). */
  readonly network?: string;
}

/** One reachable pair, port and protocol. */
export interface Reach {
  /** A service, or `outside`. */
  readonly from: string;
  /** A service, `lan`, `internet`, or `node:<name>`. */
  readonly to: string;
  /** The address it was judged against, for `lan` and `internet`. */
  readonly address?: string;
  readonly proto: Proto;
  readonly port: number;
  /** Answers come back too. */
  readonly answered: boolean;
  /** The rule that let it through at its last node (absent: no Steward rule matched). */
  readonly rule?: { readonly node: string; readonly origin: RuleOrigin };
}

export interface Matrix {
  readonly services: readonly string[];
  /** Hosts standing for the home LAN and the internet. */
  readonly stands: readonly Stand[];
  /** The port judged for "any port no rule names", by protocol. */
  readonly probe: Readonly<Record<Proto, number>>;
  /** Every reachable flow, sorted. */
  readonly reachable: readonly Reach[];
}

/** A flow that breaks the policy's promise. */
export interface Problem {
  /** undeclared: reachable but not declared; unreachable: declared, not delivered; unanswered: delivered, answers lost; lan: a jail reaches the home LAN; node-access: a rule touches a node's own traffic. */
  readonly kind: "undeclared" | "unreachable" | "unanswered" | "lan" | "node-access";
  readonly from: string;
  readonly to: string;
  readonly proto: Proto;
  readonly port: number;
  readonly message: string;
  readonly where?: Where;
}

const INTERNET_CANDIDATES = ["203.0.113.2", "198.51.100.2", "192.0.2.2", "100.64.0.2", "1.1.1.1"];

/** standsFor picks the hosts that stand for the home LAN and the internet. Pure. */
export function standsFor(policy: ClusterPolicy): Stand[] {
  const nets = [policy.jailNetwork, ...policy.protect, ...policy.declared.flatMap((d) => (d.net === undefined ? [] : [d.net]))].flatMap((t) => {
    const c = parseCidr(t);
    return c === undefined ? [] : [c];
  });
  const stands: Stand[] = [];
  const nodeAddresses = new Set(policy.nodes.flatMap((n) => (n.address === undefined ? [] : [n.address])));
  for (const p of policy.protect) {
    const c = parseCidr(p);
    if (c === undefined) continue;
    stands.push({ kind: "lan", address: firstFree(c, nodeAddresses), network: p });
  }
  for (const n of policy.nodes) if (n.address !== undefined) stands.push({ kind: `node:${n.node}`, address: n.address });
  const internet = INTERNET_CANDIDATES.find((a) => {
    const ip = parseIpv4(a) as number;
    return !nets.some((c) => contains(c, ip));
  });
  if (internet !== undefined) stands.push({ kind: "internet", address: internet });
  for (const net of [...new Set(policy.declared.flatMap((d) => (d.net === undefined ? [] : [d.net])))].sort()) {
    const c = parseCidr(net);
    if (c === undefined || policy.protect.some((p) => overlapsText(p, c))) continue;
    stands.push({ kind: "internet", address: firstFree(c, new Set()), network: net });
  }
  return stands;
}

function netHolds(net: string, address: string | undefined): boolean {
  const c = parseCidr(net);
  const ip = address === undefined ? undefined : parseIpv4(address);
  return c !== undefined && ip !== undefined && contains(c, ip);
}

function overlapsText(text: string, c: Cidr): boolean {
  const p = parseCidr(text);
  return p !== undefined && overlaps(p, c);
}

/** firstFree is the first host address of a network that is not taken (the network itself for a /31 or /32). */
function firstFree(c: Cidr, taken: ReadonlySet<string>): string {
  const size = 2 ** (32 - c.prefix);
  const first = c.prefix >= 31 ? 0 : 1;
  for (let i = first; i < Math.min(size, 256); i++) {
    const a = formatIp((c.network + i) >>> 0);
    if (!taken.has(a)) return a;
  }
  return formatIp(c.network);
}

/** probePorts picks, per protocol, a port nothing in the policy names. Pure. */
export function probePorts(policy: ClusterPolicy): Record<Proto, number> {
  const used = { tcp: new Set<number>(), udp: new Set<number>() };
  for (const n of policy.nodes) {
    for (const r of n.filter) if (r.port !== undefined && r.proto !== undefined) used[r.proto].add(r.port);
    for (const r of n.nat) used[r.proto].add(r.port);
    for (const r of n.rdr) used[r.proto].add(r.port);
  }
  const free = (s: Set<number>): number => {
    let p = 9; // discard(9): well known, never a service of a jail
    while (s.has(p)) p++;
    return p;
  };
  return { tcp: free(used.tcp), udp: free(used.udp) };
}

/** The (port, protocol) pairs to judge between two addresses: those the rules name, and the probes. */
function portsFor(index: PolicyIndex, nodes: readonly string[], src: number, dst: number, probe: Readonly<Record<Proto, number>>): { proto: Proto; port: number }[] {
  const set = portsBetween(index, nodes, src, dst, new Set([portKey(probe.tcp, "tcp"), portKey(probe.udp, "udp")]));
  const out: { proto: Proto; port: number }[] = [];
  for (const k of set) out.push({ port: k >> 1, proto: k % 2 === 1 ? "udp" : "tcp" });
  return out;
}

/**
 * decidingRule is the rule that let a delivered packet through, for people: at its last node,
 * the translation of a route to the internet rather than the generic pass of translated
 * packets that follows it.
 */
function decidingRule(v: Verdict): Reach["rule"] {
  const h = v.hops[v.hops.length - 1];
  if (h?.translation?.kind === "nat" && h.rule?.origin.kind === "egress") return { node: h.node, origin: h.translation.origin };
  return h?.rule === undefined ? undefined : { node: h.node, origin: h.rule.origin };
}

/**
 * reachability judges every pair the matrix has: each service to every other service, to the
 * home LAN and its node's address, to the internet; and from outside (the home LAN and the
 * internet) to every node's address and every jail address. Pure.
 */
export function reachability(policy: ClusterPolicy, index: PolicyIndex = indexPolicy(policy)): Matrix {
  const stands = standsFor(policy);
  const probe = probePorts(policy);
  const reachable: Reach[] = [];
  const add = (from: string, to: string, address: string | undefined, proto: Proto, port: number, v: Verdict): void => {
    if (!v.delivered) return;
    const rule = decidingRule(v);
    reachable.push({ from, to, ...(address === undefined ? {} : { address }), proto, port, answered: v.answered, ...(rule === undefined ? {} : { rule }) });
  };
  const serviceIps = policy.services.map((s) => ({ ...s, addr: parseIpv4(s.ip) as number }));
  for (const a of serviceIps) {
    const source: Source = { kind: "jail", service: a.name };
    const judgePair = (b: (typeof serviceIps)[number]): void => {
      const nodes = a.node === b.node ? [a.node] : [a.node, b.node];
      for (const { proto, port } of portsFor(index, nodes, a.addr, b.addr, probe)) add(a.name, b.name, undefined, proto, port, judgeAddress(index, source, b.addr, proto, port));
    };
    // Most pairs are named by no rule: group them by how a's node tells them apart, and judge
    // one of each group first (evaluate.ts destinationClass). When a's node stops that one on
    // every port, it stops the whole group; otherwise each is judged on its own.
    const groups = new Map<string, (typeof serviceIps)[number][]>();
    for (const b of serviceIps) {
      if (a.name === b.name) continue;
      const cls = destinationClass(index, a.node, a.addr, b.addr, b.node);
      if (cls === undefined) judgePair(b);
      else {
        const g = groups.get(cls);
        if (g === undefined) groups.set(cls, [b]);
        else g.push(b);
      }
    }
    for (const members of groups.values()) {
      const first = members[0] as (typeof serviceIps)[number];
      const leaves = portsFor(index, [a.node], a.addr, first.addr, probe).some(({ proto, port }) => {
        const v = judgeAddress(index, source, first.addr, proto, port);
        return v.delivered || v.hops.length > 1;
      });
      if (leaves) for (const b of members) judgePair(b);
    }
    for (const s of stands) {
      const dst = parseIpv4(s.address) as number;
      const owner = index.uplinks.get(dst);
      // Another node's address has every port it redirects: they matter only for packets
      // a's node lets out, and a port a's node does not name fares as the probe does.
      const own = portsFor(index, [a.node], a.addr, dst, probe);
      const out = owner !== undefined && owner !== a.node && own.some(({ proto, port }) => judgeAddress(index, source, dst, proto, port).hops.length > 1);
      for (const { proto, port } of out ? portsFor(index, [a.node, owner], a.addr, dst, probe) : own) {
        const v = judgeAddress(index, source, dst, proto, port);
        // A packet to another node's address may be redirected to one of its jails: that is a
        // path to a service, reported as such.
        add(a.name, v.reached !== undefined && v.reached !== "outside" && !v.reached.startsWith("node:") ? v.reached : s.kind, s.address, proto, port, v);
      }
    }
  }
  for (const s of stands.filter((x) => x.kind === "lan" || x.kind === "internet")) {
    const source: Source = { kind: "remote", ip: s.address };
    const src = parseIpv4(s.address) as number;
    for (const n of policy.nodes) {
      const ni = index.nodes.get(n.node);
      if (ni === undefined) continue;
      for (const { proto, port } of portsFor(index, [n.node], src, ni.uplink, probe)) {
        const v = judgeAddress(index, source, ni.uplink, proto, port);
        if (v.reached !== undefined && !v.reached.startsWith("node:")) add("outside", v.reached, s.address, proto, port, v);
      }
    }
    for (const b of serviceIps) {
      for (const { proto, port } of portsFor(index, [b.node], src, b.addr, probe)) add("outside", b.name, s.address, proto, port, judgeAddress(index, source, b.addr, proto, port));
    }
  }
  return { services: serviceIps.map((s) => s.name), stands, probe, reachable: dedupeReach(reachable).sort(compareReach) };
}

function dedupeReach(list: readonly Reach[]): Reach[] {
  const seen = new Map<string, Reach>();
  for (const r of list) {
    const k = `${r.from} ${r.to} ${r.address ?? ""} ${r.port}/${r.proto}`;
    if (!seen.has(k)) seen.set(k, r);
  }
  return [...seen.values()];
}

function compareReach(a: Reach, b: Reach): number {
  const k = (r: Reach): string => `${r.from === "outside" ? "\uffff" : r.from}\u0000${r.to}\u0000${r.address ?? ""}\u0000${r.proto}\u0000${String(r.port).padStart(5, "0")}`;
  return k(a) < k(b) ? -1 : k(a) > k(b) ? 1 : 0;
}

/**
 * checkMatrix compares the matrix with what the manifest declares and returns every broken
 * promise: a reachable flow no route or exposed port declares, a declared one that does not
 * get through or whose answers are lost, any jail reaching the home LAN or a node's address.
 * Pure.
 */
export function checkMatrix(policy: ClusterPolicy, matrix: Matrix): Problem[] {
  const problems: Problem[] = [];
  const outsideStands = matrix.stands.filter((s) => s.kind === "lan" || s.kind === "internet").map((s) => s.address);
  const internetFor = (net: string | undefined): string | undefined => matrix.stands.find((s) => s.kind === "internet" && s.network === net)?.address;
  const declaredKey = new Map<string, DeclaredFlow>();
  for (const d of policy.declared) {
    if (d.from === "outside") for (const a of outsideStands) declaredKey.set(`outside ${d.to} ${a} ${d.port}/${d.proto}`, d);
    else if (d.to === "internet") {
      const a = internetFor(d.net);
      if (a !== undefined) declaredKey.set(`${d.from} internet ${a} ${d.port}/${d.proto}`, d);
    } else declaredKey.set(`${d.from} ${d.to}  ${d.port}/${d.proto}`, d);
  }
  // A route to the internet covers a route's network too (the internet holds it).
  const coveredByInternet = (r: Reach): boolean =>
    r.to === "internet" && policy.declared.some((d) => d.from === r.from && d.to === "internet" && d.net === undefined && d.port === r.port && d.proto === r.proto);
  // A jail that may reach the internet on a port reaches, through another node's address, a
  // service exposed there on that port: both ends declared it.
  const throughExposure = (r: Reach): boolean =>
    r.address !== undefined &&
    policy.declared.some((d) => d.from === "outside" && d.to === r.to && d.port === r.port && d.proto === r.proto) &&
    policy.declared.some((d) => d.from === r.from && d.to === "internet" && d.port === r.port && d.proto === r.proto && (d.net === undefined || netHolds(d.net, r.address)));
  const seen = new Set<string>();
  for (const r of matrix.reachable) {
    const key = `${r.from} ${r.to} ${r.address ?? ""} ${r.port}/${r.proto}`;
    seen.add(key);
    const via = r.rule === undefined ? "no Steward rule stops it" : `${r.rule.origin.text} (node ${r.rule.node})`;
    if (r.to === "lan" || r.to.startsWith("node:")) {
      problems.push({ kind: "lan", from: r.from, to: r.to, proto: r.proto, port: r.port, message: `${r.from} reaches the home LAN (${r.address ?? r.to}) on ${r.port}/${r.proto}: ${via}`, ...(r.rule?.origin.where === undefined ? {} : { where: r.rule.origin.where }) });
    } else if (!declaredKey.has(key) && !coveredByInternet(r) && !throughExposure(r)) {
      problems.push({ kind: "undeclared", from: r.from, to: r.to, proto: r.proto, port: r.port, message: `${r.from} reaches ${r.to}${r.address === undefined ? "" : ` (${r.address})`} on ${r.port}/${r.proto}, which no route declares: ${via}`, ...(r.rule?.origin.where === undefined ? {} : { where: r.rule.origin.where }) });
    } else if (!r.answered) {
      const d = declaredKey.get(key);
      problems.push({ kind: "unanswered", from: r.from, to: r.to, proto: r.proto, port: r.port, message: `${r.from} reaches ${r.to} on ${r.port}/${r.proto}, but the answers are lost`, ...(d?.origin.where === undefined ? {} : { where: d.origin.where }) });
    }
  }
  for (const [key, d] of declaredKey) {
    if (seen.has(key)) continue;
    problems.push({ kind: "unreachable", from: d.from, to: d.to, proto: d.proto, port: d.port, message: `${d.origin.text} is declared, but the policy does not let it through`, ...(d.origin.where === undefined ? {} : { where: d.origin.where }) });
  }
  return problems;
}

/**
 * checkNodeAccess proves for every node that its own traffic is not Steward's: no translation
 * and no filter rule of the policy matches the node reaching any host outside (its git
 * remotes, on any port the policy names or another), nor the home LAN or the internet reaching
 * the node's sshd. Pure; returns the violations.
 */
export function checkNodeAccess(policy: ClusterPolicy, index: PolicyIndex = indexPolicy(policy)): Problem[] {
  const problems: Problem[] = [];
  const stands = standsFor(policy).filter((s) => s.kind === "lan" || s.kind === "internet");
  const probe = probePorts(policy);
  for (const n of policy.nodes) {
    const ni = index.nodes.get(n.node);
    if (ni === undefined) continue;
    for (const s of stands) {
      const dst = parseIpv4(s.address) as number;
      const ports = [...portsFor(index, [n.node], ni.uplink, dst, probe), { proto: "tcp" as const, port: 22 }, { proto: "tcp" as const, port: 443 }, { proto: "tcp" as const, port: 9418 }];
      for (const { proto, port } of ports) {
        const out = judge(index, { kind: "node", node: n.node }, s.address, proto, port);
        if (out.hops.some((h) => h.action !== "none" || h.translation !== undefined)) {
          problems.push({ kind: "node-access", from: `node:${n.node}`, to: s.address, proto, port, message: `a rule of the policy touches node ${n.node} reaching ${s.address} on ${port}/${proto}` });
        }
      }
      const ssh = judge(index, { kind: "remote", ip: s.address }, formatIp(ni.uplink), "tcp", n.ssh);
      if (!ssh.delivered || ssh.reached !== `node:${n.node}` || ssh.hops.some((h) => h.action !== "none" || h.translation !== undefined)) {
        problems.push({ kind: "node-access", from: s.address, to: `node:${n.node}`, proto: "tcp", port: n.ssh, message: `a rule of the policy touches ${s.address} reaching node ${n.node}'s sshd (port ${n.ssh})` });
      }
    }
  }
  return problems;
}

/** problemDiagnostic turns a broken promise into a diagnostic, placed on the rule or route at fault. */
export function problemDiagnostic(p: Problem, fallback: Where): Diagnostic {
  return {
    code: p.kind === "unreachable" || p.kind === "unanswered" ? "POLICY_UNREACHABLE" : "POLICY_LEAK",
    severity: "error",
    where: p.where ?? fallback,
    message: p.message,
    hint:
      p.kind === "unreachable" || p.kind === "unanswered"
        ? "the compiled policy does not do what the manifest says: this is a bug in Steward, please report it with this repo"
        : "the compiled policy opens more than the manifest declares: this is a bug in Steward, please report it with this repo; do not apply this revision",
  };
}

/** Explanation of why one source reaches, or does not reach, one destination, port by port. */
export interface Explanation {
  readonly from: string;
  readonly to: string;
  readonly address: string;
  /** The node whose address stands for the service (from outside, through its exposed ports). */
  readonly through?: string;
  readonly ports: readonly { readonly proto: Proto; readonly port: number; readonly verdict: Verdict; readonly probe: boolean }[];
}

/**
 * explain judges `from` (a service, or `outside`: the internet's stand-in host) to `to` (a
 * service, `lan`, `internet`, `node:<name>`, or an IPv4 address) on every port the rules
 * between them name, and on the probe port for "any other port". Pure. Returns undefined for
 * a name that is neither.
 */
export function explain(policy: ClusterPolicy, from: string, to: string, index: PolicyIndex = indexPolicy(policy)): Explanation | undefined {
  const stands = standsFor(policy);
  const probe = probePorts(policy);
  let source: Source;
  let srcIp: number;
  let srcNode: string | undefined;
  if (from === "outside" || from === "internet" || from === "lan") {
    const s = stands.find((x) => x.kind === (from === "lan" ? "lan" : "internet"));
    if (s === undefined) return undefined;
    source = { kind: "remote", ip: s.address };
    srcIp = parseIpv4(s.address) as number;
  } else {
    const s = index.services.get(from);
    if (s === undefined) return undefined;
    source = { kind: "jail", service: from };
    srcIp = s.ip;
    srcNode = s.node;
  }
  let address: string | undefined;
  const service = index.services.get(to);
  // From outside, a service is reached through its node's address (its exposed ports' rdr).
  const through = source.kind === "remote" && service !== undefined ? index.nodes.get(service.node) : undefined;
  if (through !== undefined) address = formatIp(through.uplink);
  else if (service !== undefined) address = formatIp(service.ip);
  else if (to === "lan" || to === "internet") address = stands.find((s) => s.kind === to)?.address;
  else if (to.startsWith("node:")) address = stands.find((s) => s.kind === to)?.address;
  else if (parseIpv4(to) !== undefined) address = to;
  if (address === undefined) return undefined;
  const dst = parseIpv4(address) as number;
  const dstNode = service?.node ?? index.uplinks.get(dst);
  const nodes = [...new Set([srcNode, dstNode].filter((n): n is string => n !== undefined))];
  const pairs = portsFor(index, nodes, srcIp, dst, probe).sort((a, b) => a.port - b.port || (a.proto < b.proto ? -1 : 1));
  return {
    from,
    to,
    address,
    ...(through === undefined ? {} : { through: through.policy.node }),
    ports: pairs.map(({ proto, port }) => ({ proto, port, probe: probe[proto] === port, verdict: judge(index, source, address, proto, port) })),
  };
}
