/**
 * A node's policy (agent/src/network) rendered to nftables, for the real-packet tests: pf
 * does not run on Linux, so the lab (lab.ts) loads the same rules into a network namespace
 * that stands for the node (docs/network.md, "Proven with real packets"). Pure.
 *
 * In the lab each jail is its own namespace behind the node's bridge `br0`, so a jail's
 * packets cross the node's forward chain (or its input chain, for the node's own addresses)
 * where pf would see them outbound: pf's `out` on any interface is `iifname "br0"`, `out on
 * em0` is `iifname "br0" oifname "up0"`, `in on em0` is `iifname "up0"`. pf translates before
 * it filters and Linux filters before it translates outgoing packets, so a `nat` rule is a
 * masquerade in postrouting and, where pf passes what it tagged, an accept of the same match.
 * `route-to`/`reply-to` are the lab's static routes (each node routes the other nodes' jail
 * addresses to that node's address). Established connections pass, as pf's state does.
 */
import type { FilterRule, NatRule, NodePolicy, PolicyAddr, RdrRule } from "../../../agent/src/network/types.js";

/** The interface names of a node's namespace. */
export const UPLINK = "up0";
export const BRIDGE = "br0";

function addr(a: PolicyAddr, uplink: string): string | undefined {
  switch (a.kind) {
    case "any":
      return undefined;
    case "host":
      return a.ip;
    case "net":
      return a.cidr;
    case "uplink":
      return uplink;
    case "table": {
      const set = { steward_jails: "jails", steward_protect: "protect", steward_private: "private" }[a.table];
      return `${a.negate ? "!= " : ""}@${set}`;
    }
  }
}

function hosts(from: PolicyAddr, to: PolicyAddr, uplink: string): string[] {
  const out: string[] = [];
  const s = addr(from, uplink);
  const d = addr(to, uplink);
  if (s !== undefined) out.push(`ip saddr ${s}`);
  if (d !== undefined) out.push(`ip daddr ${d}`);
  return out;
}

function where(r: Pick<FilterRule, "direction" | "onUplink">): string[] {
  if (r.onUplink) return r.direction === "in" ? [`iifname "${UPLINK}"`] : r.direction === "out" ? [`iifname "${BRIDGE}"`, `oifname "${UPLINK}"`] : [];
  return r.direction === "in" ? [`iifname "${UPLINK}"`] : r.direction === "out" ? [`iifname "${BRIDGE}"`] : [];
}

function ports(proto: string | undefined, port: number | undefined): string[] {
  if (proto === undefined) return [];
  return port === undefined ? [`meta l4proto ${proto}`] : [`${proto} dport ${port}`];
}

function natMatch(r: NatRule, uplink: string): string {
  return [`oifname "${UPLINK}"`, ...hosts({ kind: "host", ip: r.from }, r.to, uplink), ...ports(r.proto, r.port)].join(" ");
}

function filterRule(r: FilterRule, policy: NodePolicy, uplink: string): string[] {
  // What pf passes because a nat rule tagged it: the packets those nat rules match.
  if (r.tagged !== undefined) return policy.nat.filter((n) => n.tag === r.tagged).map((n) => `iifname "${BRIDGE}" ${natMatch(n, uplink)} ${r.action === "pass" ? "accept" : "drop"}`);
  return [[...where(r), ...hosts(r.from, r.to, uplink), ...ports(r.proto, r.port), r.action === "pass" ? "accept" : "drop"].join(" ")];
}

function rdrRule(r: RdrRule, uplink: string): string {
  return `iifname "${UPLINK}" ip daddr ${uplink} ${r.proto} dport ${r.port} dnat to ${r.target}`;
}

function set(name: string, entries: readonly string[], interval: boolean): string {
  const flags = interval ? " flags interval; auto-merge;" : "";
  return `  set ${name} { type ipv4_addr;${flags}${entries.length === 0 ? "" : ` elements = { ${entries.join(", ")} }`} }`;
}

/** renderNftables writes the node's policy as one nft(8) ruleset, table `ip steward`. */
export function renderNftables(policy: NodePolicy, uplinkAddress: string): string {
  const u = uplinkAddress;
  return [
    "table ip steward {",
    set("jails", policy.tables.steward_jails, false),
    set("protect", policy.tables.steward_protect, true),
    set("private", policy.tables.steward_private, true),
    "  chain prerouting {",
    "    type nat hook prerouting priority dstnat; policy accept;",
    ...policy.rdr.map((r) => `    ${rdrRule(r, u)}`),
    "  }",
    "  chain postrouting {",
    "    type nat hook postrouting priority srcnat; policy accept;",
    ...policy.nat.map((r) => `    ${natMatch(r, u)} masquerade`),
    "  }",
    "  chain steward_policy {",
    ...policy.filter.flatMap((r) => filterRule(r, policy, u)).map((l) => `    ${l}`),
    "  }",
    "  chain forward {",
    "    type filter hook forward priority filter; policy accept;",
    "    ct state established,related accept",
    "    jump steward_policy",
    "  }",
    "  chain input {",
    "    type filter hook input priority filter; policy accept;",
    "    ct state established,related accept",
    "    jump steward_policy",
    "  }",
    "}",
    "",
  ].join("\n");
}
