/**
 * From the validated manifest to the network policy of every node (docs/network.md). Pure.
 *
 * Jails share their node's network stack (an alias on lo1, drivers/jail): what a jail sends
 * leaves through the node's pf, outbound — on lo0 when it goes to another jail of the node or
 * to the node itself, on the uplink otherwise; what reaches a jail from elsewhere comes in on
 * the uplink. The rules of one node, all `quick`, in this order:
 *
 *   1. jails → home LAN: block (before any pass, so no route can open it);
 *   2. a jail → its own address: pass (a service talks to itself, and the node reaches its
 *      jails with the jail's own address as source);
 *   3. each route to a service of the node: pass; to a service of another node: pass out,
 *      sent to that node's address (route-to); each route into this node from another node's
 *      jail: pass in on the uplink, answers sent back to that node (reply-to);
 *   4. each exposed port: pass in on the uplink to the jail (after its rdr);
 *   5. the translated traffic of routes to the internet: pass out on the uplink (tagged);
 *   6. anything else from a jail, or to a jail: block.
 *
 * Routes to the internet are translation rules: `nat` on the uplink, one per route, limited to
 * its protocol and port and to destinations outside the jail network and the home LAN (or to
 * the route's own network), tagged so that rule 5 passes them. A jail packet no nat rule
 * translates keeps the jail's address and meets rule 6. Exposed ports are `rdr` rules from the
 * uplink's address to the jail, the same port.
 */
import type { Where } from "../errors.js";
import { parseIpv4 } from "../manifest/ipv4.js";
import { INTERNET } from "../manifest/raw.js";
import type { ClusterModel, NodeSpec, ServiceSpec } from "../manifest/types.js";
import { EGRESS_TAG, type ClusterPolicy, type DeclaredFlow, type FilterRule, type NatRule, type NodePolicy, type PolicyAddr, type RdrRule, type RuleOrigin } from "./types.js";

/**
 * compilePolicy compiles the policy of every node of a validated cluster. Pure; never throws.
 * A route between nodes whose node has no address (refused by validation) is left out.
 */
export function compilePolicy(model: Pick<ClusterModel, "cluster" | "nodes" | "services">): ClusterPolicy {
  const services = [...model.services].sort(byName);
  const byService = new Map(services.map((s) => [s.name, s]));
  const nodeOf = new Map(model.nodes.map((n) => [n.name, n]));
  const declared: DeclaredFlow[] = [];
  const seen = new Set<string>();
  const declare = (f: DeclaredFlow): void => {
    const key = `${f.from} ${f.to} ${f.net ?? ""} ${f.port}/${f.proto}`;
    if (seen.has(key)) return;
    seen.add(key);
    declared.push(f);
  };
  for (const s of services) {
    for (const r of s.routes) {
      if (r.to !== INTERNET && !byService.has(r.to)) continue;
      declare({ from: s.name, to: r.to, ...(r.net === undefined ? {} : { net: r.net }), proto: r.proto, port: r.port, origin: routeOrigin(s, r) });
    }
    for (const p of s.expose) declare({ from: "outside", to: s.name, proto: p.proto, port: p.port, origin: exposeOrigin(s, p) });
  }
  const protect = [...model.cluster.protect];
  const nodes = [...model.nodes].sort(byName).map((n) => compileNode(n, services, byService, nodeOf, model.cluster.jailNetwork, protect, model.cluster.protectWhere));
  return {
    jailNetwork: model.cluster.jailNetwork,
    protect,
    ...(model.cluster.protectWhere === undefined ? {} : { protectWhere: model.cluster.protectWhere }),
    services: services.map((s) => ({ name: s.name, node: s.node, ip: s.ip })),
    nodes,
    declared,
  };
}

function compileNode(
  node: NodeSpec,
  services: readonly ServiceSpec[],
  byService: ReadonlyMap<string, ServiceSpec>,
  nodeOf: ReadonlyMap<string, NodeSpec>,
  jailNetwork: string,
  protect: readonly string[],
  protectWhere: Where | undefined,
): NodePolicy {
  const local = services.filter((s) => s.node === node.name);
  const jails = local.map((s) => ({ service: s.name, ip: s.ip }));
  const base = {
    node: node.name,
    uplink: node.interface,
    address: node.address,
    ssh: node.ssh,
    jails,
    tables: {
      steward_jails: [...local.map((s) => s.ip)].sort(byAddress),
      steward_protect: [...protect],
      steward_private: [jailNetwork, ...protect],
    },
  };
  if (local.length === 0) return { ...base, rdr: [], nat: [], filter: [] };

  const jailsTable: PolicyAddr = { kind: "table", table: "steward_jails", negate: false };
  const host = (ip: string): PolicyAddr => ({ kind: "host", ip });
  const filter: FilterRule[] = [];
  const nat: NatRule[] = [];
  const rdr: RdrRule[] = [];

  filter.push({
    action: "block",
    direction: "any",
    onUplink: false,
    from: jailsTable,
    to: { kind: "table", table: "steward_protect", negate: false },
    origin: { kind: "protect", text: `jails -> home LAN ${protect.join(" ")}`, ...(protectWhere === undefined ? {} : { where: protectWhere }) },
  });
  for (const s of local) {
    filter.push({ action: "pass", direction: "any", onUplink: false, from: host(s.ip), to: host(s.ip), origin: { kind: "self", text: `${s.name} -> itself`, where: s.ipWhere ?? s.where } });
  }
  for (const s of local) {
    for (const r of s.routes) {
      const origin = routeOrigin(s, r);
      if (r.to === INTERNET) {
        nat.push({ proto: r.proto, from: s.ip, to: r.net === undefined ? { kind: "table", table: "steward_private", negate: true } : { kind: "net", cidr: r.net }, port: r.port, tag: EGRESS_TAG, origin });
        continue;
      }
      const target = byService.get(r.to);
      if (target === undefined) continue;
      if (target.node === node.name) {
        filter.push({ action: "pass", direction: "any", onUplink: false, proto: r.proto, from: host(s.ip), to: host(target.ip), port: r.port, origin });
      } else {
        const there = nodeOf.get(target.node)?.address;
        if (there === undefined) continue;
        filter.push({ action: "pass", direction: "out", onUplink: false, routeTo: there, proto: r.proto, from: host(s.ip), to: host(target.ip), port: r.port, origin });
      }
    }
  }
  // Routes from other nodes' jails into this node's jails.
  for (const s of services) {
    if (s.node === node.name) continue;
    const back = nodeOf.get(s.node)?.address;
    if (back === undefined || node.address === undefined) continue;
    for (const r of s.routes) {
      const target = byService.get(r.to);
      if (r.to === INTERNET || target === undefined || target.node !== node.name) continue;
      filter.push({ action: "pass", direction: "in", onUplink: true, replyTo: back, proto: r.proto, from: host(s.ip), to: host(target.ip), port: r.port, origin: routeOrigin(s, r) });
    }
  }
  for (const s of local) {
    for (const p of s.expose) {
      const origin = exposeOrigin(s, p);
      rdr.push({ proto: p.proto, port: p.port, target: s.ip, origin });
      filter.push({ action: "pass", direction: "in", onUplink: true, proto: p.proto, from: { kind: "any" }, to: host(s.ip), port: p.port, origin });
    }
  }
  const natRules = dedupe(nat, (n) => `${n.proto} ${n.from} ${JSON.stringify(n.to)} ${n.port}`);
  if (natRules.length > 0) {
    filter.push({ action: "pass", direction: "out", onUplink: true, from: { kind: "any" }, to: { kind: "any" }, tagged: EGRESS_TAG, origin: { kind: "egress", text: "routes to the internet, translated to the uplink's address" } });
  }
  filter.push(
    { action: "block", direction: "any", onUplink: false, from: jailsTable, to: { kind: "any" }, origin: { kind: "default", text: "anything else from a jail" } },
    { action: "block", direction: "any", onUplink: false, from: { kind: "any" }, to: jailsTable, origin: { kind: "default", text: "anything else to a jail" } },
  );
  return {
    ...base,
    rdr: dedupe(rdr, (r) => `${r.proto} ${r.port}`),
    nat: natRules,
    filter: dedupe(filter, ({ origin: _origin, ...match }) => JSON.stringify(match)),
  };
}

function routeOrigin(s: ServiceSpec, r: ServiceSpec["routes"][number]): RuleOrigin {
  const to = r.to === INTERNET ? (r.net === undefined ? INTERNET : r.net.replace(/\/32$/, "")) : r.to;
  const written = r.text !== undefined && r.text !== `${to}:${r.port}/${r.proto}` ? ` (${r.text})` : "";
  return { kind: "route", text: `${s.name} -> ${to}:${r.port}/${r.proto}${written}`, ...(r.where === undefined ? {} : { where: r.where }) };
}

function exposeOrigin(s: ServiceSpec, p: ServiceSpec["expose"][number]): RuleOrigin {
  return { kind: "expose", text: `outside -> ${s.name}:${p.port}/${p.proto}`, ...(p.where === undefined ? {} : { where: p.where }) };
}

/** dedupe keeps the first of the items with one key: a route written twice is one rule. */
function dedupe<T>(items: readonly T[], key: (t: T) => string): T[] {
  const seen = new Set<string>();
  return items.filter((t) => {
    const k = key(t);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function byName(a: { readonly name: string }, b: { readonly name: string }): number {
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

function byAddress(a: string, b: string): number {
  return (parseIpv4(a) ?? 0) - (parseIpv4(b) ?? 0);
}
