/**
 * The parsed ruleset as pfctl builds it (struct pfctl_rule, pf_rule_addr, pfctl_pool) and as
 * the simulated kernel stores it. Plain JSON-serialisable data.
 */
import type { AddrWrap, Af } from "./addr.js";

export type Action = "pass" | "block" | "scrub" | "noscrub" | "nat" | "nonat" | "binat" | "nobinat" | "rdr" | "nordr" | "match";

/** Ruleset numbers, in the order pfctl loads and prints them. */
export type RulesetKind = "scrub" | "filter" | "nat" | "binat" | "rdr";

export function rulesetOf(a: Action): RulesetKind {
  switch (a) {
    case "scrub":
    case "noscrub":
      return "scrub";
    case "nat":
    case "nonat":
      return "nat";
    case "binat":
    case "nobinat":
      return "binat";
    case "rdr":
    case "nordr":
      return "rdr";
    default:
      return "filter";
  }
}

export type PortOp = 0 | "=" | "!=" | "<" | "<=" | ">" | ">=" | "><" | "<>" | ":";

export interface RuleAddr {
  addr: AddrWrap;
  neg: boolean;
  port: [number, number];
  portOp: PortOp;
}

export interface PoolAddr {
  addr: AddrWrap;
  ifname: string;
}

export type PoolType = "none" | "bitmask" | "random" | "source-hash" | "round-robin";

export interface Pool {
  addrs: PoolAddr[];
  type: PoolType;
  sticky: boolean;
  endpointIndependent?: boolean;
  key: [number, number, number, number];
  proxyPort: [number, number];
  mape: { offset: number; psidlen: number; psid: number };
}

export const LOG = 0x01;
export const LOG_ALL = 0x02;
export const LOG_SOCKET_LOOKUP = 0x04;
export const LOG_MATCHES = 0x08;

export type KeepState = 0 | "keep" | "modulate" | "synproxy";

export interface Rule {
  nr: number;
  action: Action;
  returnKind: "" | "drop" | "return" | "return-rst" | "return-icmp";
  returnTtl: number;
  returnIcmp: number; // type << 8 | code
  returnIcmp6: number;
  direction: "" | "in" | "out";
  log: number;
  logif: number;
  quick: boolean;
  ifname: string;
  ifnot: boolean;
  rcvIfname?: string;
  rcvIfnot?: boolean;
  rt: "" | "route-to" | "reply-to" | "dup-to";
  af: Af;
  proto: number;
  src: RuleAddr;
  dst: RuleAddr;
  os: string; // "" = any
  uid: { op: PortOp; ids: [number, number] };
  gid: { op: PortOp; ids: [number, number] };
  flags: number;
  flagset: number;
  type: number; // icmp type + 1, 0 = none
  code: number; // icmp code + 1, 0 = none
  tos: number;
  prio: number; // 0 none; PRIO_ZERO for an explicit 0
  setPrio: [number, number] | null;
  /** "set tos" on a pass/match rule (PFSTATE_SETTOS): print_rule shows only an empty "set ( )" for it */
  stateSetTos?: number;
  keepState: KeepState;
  prob: number;
  maxStates: number;
  maxSrcNodes: number;
  maxSrcStates: number;
  maxSrcConn: number;
  maxSrcConnRate: [number, number];
  overload: string;
  flush: number; // 1 flush, 3 flush global
  nosync: boolean;
  srctrack: "" | "global" | "rule";
  ifbound: boolean;
  sloppy: boolean;
  pflow?: boolean;
  timeouts: Record<string, number>;
  fragment: boolean;
  nodf: boolean;
  randomid: boolean;
  minTtl: number;
  maxMss: number;
  setTos: number | null;
  allowOpts: boolean;
  reassembleTcp: boolean;
  fragNoReass: boolean;
  labels: string[];
  ridentifier: number;
  dnpipe: number;
  dnrpipe: number;
  dnIsPipe: boolean;
  qname: string;
  pqname: string;
  tag: string;
  matchTag: string;
  matchTagNot: boolean;
  rtableid: number;
  divertPort: number;
  natpass: boolean;
  rpool: Pool;
  /** an anchor rule: the name it calls, as written, and the inline ruleset if any */
  anchor: AnchorCall | null;
}

export interface AnchorCall {
  /** the path as written ("steward/*", "/abs", "_3" for an unnamed inline anchor) */
  path: string;
  /** the last component; inline anchors print this */
  name: string;
  inline: Ruleset | null;
}

export const PRIO_ZERO = 0xff;

/** An Ethernet address in an ether rule (struct pfctl_eth_addr); the mask's bits run LSB first. */
export interface EthAddr {
  addr: number[];
  mask: number[];
  neg: boolean;
  isset: boolean;
}

/** A layer-2 rule (struct pfctl_eth_rule). */
export interface EthRule {
  nr: number;
  action: "pass" | "block" | "match";
  direction: "" | "in" | "out";
  quick: boolean;
  ifname: string;
  ifnot: boolean;
  bridgeTo: string;
  proto: number;
  src: EthAddr;
  dst: EthAddr;
  ipsrc: RuleAddr;
  ipdst: RuleAddr;
  labels: string[];
  ridentifier: number;
  qname: string;
  tag: string;
  matchTag: string;
  matchTagNot: boolean;
  dnpipe: number;
  dnIsPipe: boolean;
  anchor: AnchorCall | null;
}

export interface Ruleset {
  ether?: EthRule[];
  scrub: Rule[];
  filter: Rule[];
  nat: Rule[];
  binat: Rule[];
  rdr: Rule[];
}

export function emptyRuleset(): Ruleset {
  return { ether: [], scrub: [], filter: [], nat: [], binat: [], rdr: [] };
}

export function isRulesetEmpty(rs: Ruleset): boolean {
  return !(rs.ether ?? []).length && !rs.scrub.length && !rs.filter.length && !rs.nat.length && !rs.binat.length && !rs.rdr.length;
}
