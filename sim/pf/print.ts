/**
 * pfctl's printers (pfctl_parser.c print_rule/print_pool/print_fromto/print_tabledef,
 * pf_print_state.c print_addr) and the load-time label expansion of parse.y. Pure: each
 * returns the text pfctl would write, without the trailing newline.
 */
import { type AddrWrap, type Af, isZero, ntop, unmask } from "./addr.js";
import { getProtoByNumber, getServByPort } from "./netdb.js";
import { type EthAddr, type EthRule, LOG, LOG_ALL, LOG_MATCHES, LOG_SOCKET_LOOKUP, PRIO_ZERO, type Pool, type PortOp, type Rule, type RuleAddr } from "./rule.js";

export const TCPFLAGS = "FSRPAUEW";
export const UID_MAX = 4294967295;
export const NAT_PROXY_PORT_LOW = 50001;
export const NAT_PROXY_PORT_HIGH = 65535;

/** Timeouts in the kernel's PFTM_* order, which is the order rules print them in. */
export const TIMEOUT_ORDER = [
  "tcp.first", "tcp.opening", "tcp.established", "tcp.closing", "tcp.finwait", "tcp.closed",
  "udp.first", "udp.single", "udp.multiple", "icmp.first", "icmp.error", "other.first",
  "other.single", "other.multiple", "frag", "interval", "adaptive.start", "adaptive.end",
  "src.track", "tcp.tsdiff",
];

export const ICMP_TYPES: [string, number][] = [
  ["echoreq", 8], ["echorep", 0], ["unreach", 3], ["squench", 4], ["redir", 5], ["althost", 6],
  ["routeradv", 9], ["routersol", 10], ["timex", 11], ["paramprob", 12], ["timereq", 13],
  ["timerep", 14], ["inforeq", 15], ["inforep", 16], ["maskreq", 17], ["maskrep", 18],
  ["trace", 30], ["dataconv", 31], ["mobredir", 32], ["ipv6-where", 33], ["ipv6-here", 34],
  ["mobregreq", 35], ["mobregrep", 36], ["skip", 39], ["photuris", 40],
];
export const ICMP6_TYPES: [string, number][] = [
  ["unreach", 1], ["toobig", 2], ["timex", 3], ["paramprob", 4], ["echoreq", 128], ["echorep", 129],
  ["groupqry", 130], ["listqry", 130], ["grouprep", 131], ["listenrep", 131], ["groupterm", 132],
  ["listendone", 132], ["routersol", 133], ["routeradv", 134], ["neighbrsol", 135],
  ["neighbradv", 136], ["redir", 137], ["routrrenum", 138], ["wrureq", 139], ["wrurep", 140],
  ["fqdnreq", 139], ["fqdnrep", 140], ["niqry", 139], ["nirep", 140], ["mtraceresp", 200],
  ["mtrace", 201],
];
export const ICMP_CODES: [string, number, number][] = [
  ["net-unr", 3, 0], ["host-unr", 3, 1], ["proto-unr", 3, 2], ["port-unr", 3, 3], ["needfrag", 3, 4],
  ["srcfail", 3, 5], ["net-unk", 3, 6], ["host-unk", 3, 7], ["isolate", 3, 8], ["net-prohib", 3, 9],
  ["host-prohib", 3, 10], ["net-tos", 3, 11], ["host-tos", 3, 12], ["filter-prohib", 3, 13],
  ["host-preced", 3, 14], ["cutoff-preced", 3, 15], ["redir-net", 5, 0], ["redir-host", 5, 1],
  ["redir-tos-net", 5, 2], ["redir-tos-host", 5, 3], ["normal-adv", 9, 0], ["common-adv", 9, 16],
  ["transit", 11, 0], ["reassemb", 11, 1], ["badhead", 12, 0], ["optmiss", 12, 1], ["badlen", 12, 2],
  ["unknown-ind", 40, 1], ["auth-fail", 40, 2], ["decrypt-fail", 40, 3],
];
export const ICMP6_CODES: [string, number, number][] = [
  ["admin-unr", 1, 1], ["noroute-unr", 1, 0], ["notnbr-unr", 1, 2], ["beyond-unr", 1, 2],
  ["addr-unr", 1, 3], ["port-unr", 1, 4], ["transit", 3, 0], ["reassemb", 3, 1], ["badhead", 4, 0],
  ["nxthdr", 4, 1], ["redironlink", 137, 0], ["redirrouter", 137, 1],
];

export function icmpTypeByNumber(type: number, af: Af): string | null {
  return ((af !== 6 ? ICMP_TYPES : ICMP6_TYPES).find(([, t]) => t === type) ?? [null])[0];
}
export function icmpTypeByName(name: string, af: 4 | 6): number | null {
  const e = (af === 4 ? ICMP_TYPES : ICMP6_TYPES).find(([n]) => n === name);
  return e ? e[1] : null;
}
export function icmpCodeByNumber(type: number, code: number, af: Af): string | null {
  return ((af !== 6 ? ICMP_CODES : ICMP6_CODES).find(([, t, c]) => t === type && c === code) ?? [null])[0];
}
export function icmpCodeByName(type: number, name: string, af: 4 | 6): number | null {
  const e = (af === 4 ? ICMP_CODES : ICMP6_CODES).find(([n, t]) => t === type && n === name);
  return e ? e[2] : null;
}

export function protoName(p: number): string | null {
  return getProtoByNumber(p);
}

/** print_addr */
export function printAddr(a: AddrWrap, af: Af, verbose: boolean): string {
  let s: string;
  switch (a.type) {
    case "dynif": {
      s = `(${a.ifname}`;
      if (a.iflags & 0x01) s += ":network";
      if (a.iflags & 0x02) s += ":broadcast";
      if (a.iflags & 0x04) s += ":peer";
      if (a.iflags & 0x08) s += ":0";
      if (verbose) s += ":*";
      s += ")";
      break;
    }
    case "table":
      return verbose ? `<${a.tblname}:*>` : `<${a.tblname}>`;
    case "range":
      return `${ntop(af, a.addr) ?? "?"} - ${ntop(af, a.mask) ?? "?"}`;
    case "addrmask":
      if (isZero(a.addr) && isZero(a.mask)) s = "any";
      else s = ntop(af, a.addr) ?? "?";
      break;
    case "noroute":
      return "no-route";
    case "urpf":
      return "urpf-failed";
  }
  if (!(isZero(a.addr) && isZero(a.mask))) {
    const bits = unmask(a.mask);
    if (bits !== (af === 4 ? 32 : 128)) s += `/${bits}`;
  }
  return s;
}

function printOp(op: PortOp, a1: string, a2: string): string {
  switch (op) {
    case "><":
      return ` ${a1} >< ${a2}`;
    case "<>":
      return ` ${a1} <> ${a2}`;
    case ":":
      return ` ${a1}:${a2}`;
    case 0:
      return "";
    default:
      return ` ${op} ${a1}`;
  }
}

function printPort(op: PortOp, p1: number, p2: number, proto: "tcp" | "udp", numeric: boolean): string {
  const name = numeric ? null : getServByPort(p1, proto);
  if (name !== null && (op === "=" || op === "!=")) return " port" + printOp(op, name, String(p2));
  return " port" + printOp(op, String(p1), String(p2));
}

function printUgid(op: PortOp, u1: number, u2: number, t: string): string {
  if (u1 === UID_MAX && (op === "=" || op === "!=")) return ` ${t}` + printOp(op, "unknown", String(u2));
  return ` ${t}` + printOp(op, String(u1), String(u2));
}

export function printFlags(f: number): string {
  let s = "";
  for (let i = 0; i < TCPFLAGS.length; i++) if (f & (1 << i)) s += TCPFLAGS[i];
  return s;
}

function isAny(a: RuleAddr): boolean {
  return a.addr.type === "addrmask" && isZero(a.addr.addr) && isZero(a.addr.mask);
}

function printFromTo(r: Rule, verbose: boolean, numeric: boolean): string {
  const proto = r.proto === 6 ? "tcp" : "udp";
  if (isAny(r.src) && isAny(r.dst) && !r.src.neg && !r.dst.neg && !r.src.portOp && !r.dst.portOp && !r.os) return " all";
  let s = " from ";
  if (r.src.neg) s += "! ";
  s += printAddr(r.src.addr, r.af, verbose);
  if (r.src.portOp) s += printPort(r.src.portOp, r.src.port[0], r.src.port[1], proto, numeric);
  if (r.os) s += ` os "${r.os}"`;
  s += " to ";
  if (r.dst.neg) s += "! ";
  s += printAddr(r.dst.addr, r.af, verbose);
  if (r.dst.portOp) s += printPort(r.dst.portOp, r.dst.port[0], r.dst.port[1], proto, numeric);
  return s;
}

type PoolId = "nat" | "rdr" | "binat" | "pass";

export function printPool(pool: Pool, p1: number, p2: number, af: Af, id: PoolId): string {
  let s = "";
  const many = pool.addrs.length > 1;
  if (many) s += "{ ";
  pool.addrs.forEach((pa, i) => {
    if (id === "pass") {
      if (isZero(pa.addr.addr)) s += pa.ifname;
      else s += `(${pa.ifname} ${printAddr(pa.addr, af, false)})`;
    } else s += printAddr(pa.addr, af, false);
    if (i < pool.addrs.length - 1) s += ", ";
    else if (many) s += " }";
  });
  if (id === "nat") {
    if ((p1 !== NAT_PROXY_PORT_LOW || p2 !== NAT_PROXY_PORT_HIGH) && (p1 !== 0 || p2 !== 0)) {
      if (p1 === p2) s += ` port ${p1}`;
      else s += ` port ${p1}:${p2}`;
    }
  } else if (id === "rdr") {
    if (p1) {
      s += ` port ${p1}`;
      if (p2 && p2 !== p1) s += `:${p2}`;
    }
  }
  switch (pool.type) {
    case "bitmask":
      s += " bitmask";
      break;
    case "random":
      s += " random";
      break;
    case "source-hash":
      s += " source-hash 0x" + pool.key.map((k) => (k >>> 0).toString(16).padStart(8, "0")).join("");
      break;
    case "round-robin":
      s += " round-robin";
      break;
    default:
      break;
  }
  if (pool.sticky) s += " sticky-address";
  if (id === "nat" && p1 === 0 && p2 === 0) s += " static-port";
  if (pool.endpointIndependent) s += " endpoint-independent";
  if (pool.mape.offset > 0) s += ` map-e-portset ${pool.mape.offset}/${pool.mape.psidlen}/${pool.mape.psid}`;
  return s;
}

/** print_rule: `anchorCall` is the anchor name to print ("" for a plain rule). */
export function printRule(r: Rule, anchorCall: string, verbose: boolean, numeric: boolean): string {
  const anchorTypes: Record<string, string> = {
    pass: "anchor", block: "anchor", scrub: "anchor", noscrub: "anchor", match: "anchor",
    nat: "nat-anchor", nonat: "nat-anchor", binat: "binat-anchor", nobinat: "binat-anchor",
    rdr: "rdr-anchor", nordr: "rdr-anchor",
  };
  const actionTypes: Record<string, string> = {
    pass: "pass", block: "block", scrub: "scrub", noscrub: "no scrub", nat: "nat", nonat: "no nat",
    binat: "binat", nobinat: "no binat", rdr: "rdr", nordr: "no rdr", match: "match",
  };
  let s = verbose ? `@${r.nr} ` : "";
  if (r.action === "match") s += "match";
  else if (anchorCall) {
    const slash = anchorCall.lastIndexOf("/");
    if (slash >= 0 ? anchorCall[slash + 1] === "_" : anchorCall[0] === "_") s += anchorTypes[r.action];
    else s += `${anchorTypes[r.action]} "${anchorCall}"`;
  } else {
    s += actionTypes[r.action];
    if (r.natpass) s += " pass";
  }
  if (r.action === "block") {
    if (r.returnKind === "return") s += " return";
    else if (r.returnKind === "return-rst") s += r.returnTtl ? ` return-rst(ttl ${r.returnTtl})` : " return-rst";
    else if (r.returnKind === "return-icmp") {
      const ic = icmpCodeByNumber(r.returnIcmp >> 8, r.returnIcmp & 255, 4);
      const ic6 = icmpCodeByNumber(r.returnIcmp6 >> 8, r.returnIcmp6 & 255, 6);
      if (r.af === 4) s += ` return-icmp(${ic ?? r.returnIcmp & 255})`;
      else if (r.af === 6) s += ` return-icmp6(${ic6 ?? r.returnIcmp6 & 255})`;
      else s += ` return-icmp(${ic ?? r.returnIcmp & 255}, ${ic6 ?? r.returnIcmp6 & 255})`;
    } else s += " drop";
  }
  if (r.direction) s += ` ${r.direction}`;
  if (r.log) {
    s += " log";
    if (r.log & ~LOG || r.logif) {
      const parts: string[] = [];
      if (r.log & LOG_ALL) parts.push("all");
      if (r.log & LOG_MATCHES) parts.push("matches");
      if (r.log & LOG_SOCKET_LOOKUP) parts.push("user");
      if (r.logif) parts.push(`to pflog${r.logif}`);
      s += ` (${parts.join(", ")})`;
    }
  }
  if (r.quick) s += " quick";
  if (r.ifname) s += r.ifnot ? ` on ! ${r.ifname}` : ` on ${r.ifname}`;
  if (r.rt) s += ` ${r.rt} ` + printPool(r.rpool, 0, 0, r.af, "pass");
  if (r.af) s += r.af === 4 ? " inet" : " inet6";
  if (r.proto) {
    const pn = protoName(r.proto);
    s += pn !== null ? ` proto ${pn}` : ` proto ${r.proto}`;
  }
  s += printFromTo(r, verbose, numeric);
  if (r.rcvIfname) s += ` ${r.rcvIfnot ? "!" : ""}received-on ${r.rcvIfname}`;
  if (r.uid.op) s += printUgid(r.uid.op, r.uid.ids[0], r.uid.ids[1], "user");
  if (r.gid.op) s += printUgid(r.gid.op, r.gid.ids[0], r.gid.ids[1], "group");
  if (r.flags || r.flagset) s += ` flags ${printFlags(r.flags)}/${printFlags(r.flagset)}`;
  else if (r.action === "pass" && (!r.proto || r.proto === 6) && !r.fragment && !anchorCall && r.keepState) s += " flags any";
  if (r.type) {
    const it = icmpTypeByNumber(r.type - 1, r.af);
    s += r.af !== 6 ? " icmp-type" : " icmp6-type";
    s += it !== null ? ` ${it}` : ` ${r.type - 1}`;
    if (r.code) {
      const ic = icmpCodeByNumber(r.type - 1, r.code - 1, r.af);
      s += ic !== null ? ` code ${ic}` : ` code ${r.code - 1}`;
    }
  }
  if (r.tos) s += ` tos 0x${r.tos.toString(16).padStart(2, "0")}`;
  if (r.prio) s += ` prio ${r.prio === PRIO_ZERO ? 0 : r.prio}`;
  if (r.setPrio || r.stateSetTos !== undefined) {
    s += " set (";
    if (r.setPrio) {
      if (r.setPrio[0] === r.setPrio[1]) s += ` prio ${r.setPrio[0]}`;
      else s += ` prio(${r.setPrio[0]}, ${r.setPrio[1]})`;
    }
    s += " )";
  }
  if (!r.keepState && r.action === "pass" && !anchorCall) s += " no state";
  else if (r.keepState === "keep") s += " keep state";
  else if (r.keepState === "modulate") s += " modulate state";
  else if (r.keepState === "synproxy") s += " synproxy state";
  if (r.prob) {
    let buf = ((r.prob * 100) / 4294967296).toFixed(6);
    buf = buf.replace(/0+$/, "").replace(/\.$/, "");
    s += ` probability ${buf}%`;
  }
  const timeouts = TIMEOUT_ORDER.filter((t) => r.timeouts[t]);
  if (r.maxStates || r.maxSrcNodes || r.maxSrcStates || r.nosync || r.srctrack || r.ifbound || r.sloppy || r.pflow || timeouts.length) {
    const o: string[] = [];
    if (r.maxStates) o.push(`max ${r.maxStates}`);
    if (r.nosync) o.push("no-sync");
    if (r.srctrack) o.push(`source-track ${r.srctrack}`);
    if (r.maxSrcStates) o.push(`max-src-states ${r.maxSrcStates}`);
    if (r.maxSrcConn) o.push(`max-src-conn ${r.maxSrcConn}`);
    if (r.maxSrcConnRate[0]) o.push(`max-src-conn-rate ${r.maxSrcConnRate[0]}/${r.maxSrcConnRate[1]}`);
    if (r.maxSrcNodes) o.push(`max-src-nodes ${r.maxSrcNodes}`);
    let body = o.join(", ");
    if (r.overload) {
      // pfctl writes the overload option without resetting its separator flag
      body += (body ? ", " : "") + `overload <${r.overload}>` + (r.flush ? " flush" : "") + (r.flush & 2 ? " global" : "");
    }
    const rest: string[] = [];
    if (r.ifbound) rest.push("if-bound");
    if (r.sloppy) rest.push("sloppy");
    if (r.pflow) rest.push("pflow");
    for (const t of timeouts) rest.push(`${t} ${r.timeouts[t]}`);
    if (rest.length) body += (body ? ", " : "") + rest.join(", ");
    s += ` (${body})`;
  }
  if (r.fragment) s += " fragment";
  if (r.nodf) s += " no-df";
  if (r.randomid) s += " random-id";
  if (r.minTtl) s += ` min-ttl ${r.minTtl}`;
  if (r.maxMss) s += ` max-mss ${r.maxMss}`;
  if (r.setTos !== null) s += ` set-tos 0x${r.setTos.toString(16).padStart(2, "0")}`;
  if (r.allowOpts) s += " allow-opts";
  if (r.action === "scrub") {
    if (r.reassembleTcp) s += " reassemble tcp";
    s += r.fragNoReass ? " fragment no reassemble" : " fragment reassemble";
  }
  for (const l of r.labels) {
    if (!l) break; // the kernel's label array ends at the first empty one
    s += ` label "${l}"`;
  }
  if (r.ridentifier) s += ` ridentifier ${r.ridentifier}`;
  if (r.dnrpipe) s += ` ${r.dnIsPipe ? "dnpipe" : "dnqueue"}(${r.dnpipe}, ${r.dnrpipe})`;
  else if (r.dnpipe) s += ` ${r.dnIsPipe ? "dnpipe" : "dnqueue"} ${r.dnpipe}`;
  if (r.qname && r.pqname) s += ` queue(${r.qname}, ${r.pqname})`;
  else if (r.qname) s += ` queue ${r.qname}`;
  if (r.tag) s += ` tag ${r.tag}`;
  if (r.matchTag) s += (r.matchTagNot ? " !" : "") + ` tagged ${r.matchTag}`;
  if (r.rtableid !== -1) s += ` rtable ${r.rtableid}`;
  if (r.divertPort) s += ` divert-to ${r.divertPort}`;
  if (!anchorCall && (r.action === "nat" || r.action === "binat" || r.action === "rdr"))
    s += " -> " + printPool(r.rpool, r.rpool.proxyPort[0], r.rpool.proxyPort[1], r.af, r.action);
  return s;
}

// ---- labels ------------------------------------------------------------------------------

function labelAddr(a: RuleAddr, af: Af): string {
  let t: string;
  switch (a.addr.type) {
    case "dynif":
      t = `(${a.addr.ifname})`;
      break;
    case "table":
      t = `<${a.addr.tblname}>`;
      break;
    case "noroute":
      t = "no-route";
      break;
    case "urpf":
      t = "urpf-failed";
      break;
    case "addrmask":
      if (!af || (isZero(a.addr.addr) && isZero(a.addr.mask))) t = "any";
      else {
        const s = ntop(af, a.addr.addr);
        if (s === null) t = "?";
        else {
          const bits = unmask(a.addr.mask);
          t = (af === 4 && bits < 32) || (af === 6 && bits < 128) ? `${s}/${bits}` : s;
        }
      }
      break;
    default:
      t = "?";
  }
  return a.neg ? `! ${t}` : t;
}

function labelPort(a: RuleAddr): string {
  const a1 = String(a.port[0]);
  const a2 = String(a.port[1]);
  switch (a.portOp) {
    case "><":
      return `${a1}><${a2}`;
    case "<>":
      return `${a1}<>${a2}`;
    case "=":
      return a1;
    case "!=":
      return `!=${a1}`;
    case "<":
    case "<=":
    case ">":
    case ">=":
      return `${a.portOp}${a1}`;
    default:
      return "";
  }
}

/** expand_label: $if $srcaddr $dstaddr $srcport $dstport $proto $nr, as pfctl does at load time. */
export function expandLabel(label: string, r: Rule): string {
  const rep = (s: string, name: string, value: () => string): string => (s.includes(name) ? s.split(name).join(value()) : s);
  let s = label;
  s = rep(s, "$if", () => r.ifname || "any");
  s = rep(s, "$srcaddr", () => labelAddr(r.src, r.af));
  s = rep(s, "$dstaddr", () => labelAddr(r.dst, r.af));
  s = rep(s, "$srcport", () => labelPort(r.src));
  s = rep(s, "$dstport", () => labelPort(r.dst));
  s = rep(s, "$proto", () => protoName(r.proto) ?? String(r.proto));
  s = rep(s, "$nr", () => String(r.nr));
  return s;
}

// ---- ether rules -------------------------------------------------------------------------------

function printEthAddr(a: EthAddr): string {
  if (a.addr.every((x) => x === 0)) return "";
  const hex = (b: number[]): string => b.map((x) => x.toString(16).padStart(2, "0")).join(":");
  let s = (a.neg ? "! " : "") + hex(a.addr);
  let masklen = 48;
  let seenUnset = false;
  let i = 0;
  for (; i < 48; i++) {
    const isset = ((a.mask[Math.floor(i / 8)] ?? 0) & (1 << i % 8)) !== 0;
    if (!seenUnset) {
      if (isset) continue;
      seenUnset = true;
      masklen = i;
    } else if (isset) break;
  }
  if (masklen === 48) return s;
  if (i === 48) return s + `/${masklen}`;
  return s + "&" + hex(a.mask);
}

/** print_eth_rule */
export function printEthRule(r: EthRule, anchorCall: string, verbose: boolean): string {
  let s = verbose ? `@${r.nr} ` : "";
  s += "ether ";
  if (anchorCall) s += anchorCall[0] === "_" ? "anchor" : `anchor "${anchorCall}"`;
  else s += r.action;
  if (r.direction) s += ` ${r.direction}`;
  if (r.quick) s += " quick";
  if (r.ifname) s += r.ifnot ? ` on ! ${r.ifname}` : ` on ${r.ifname}`;
  if (r.bridgeTo) s += ` bridge-to ${r.bridgeTo}`;
  if (r.proto) s += ` proto 0x${r.proto.toString(16).padStart(4, "0")}`;
  const src = printEthAddr(r.src);
  if (src) s += ` from ${src}`;
  const dst = printEthAddr(r.dst);
  if (dst) s += ` to ${dst}`;
  s += " l3";
  const af = r.proto === 0x0800 ? 4 : 6;
  const any = (x: RuleAddr): boolean => x.addr.type === "addrmask" && isZero(x.addr.addr) && isZero(x.addr.mask);
  if (any(r.ipsrc) && any(r.ipdst) && !r.ipsrc.neg && !r.ipdst.neg) s += " all";
  else s += ` from ${r.ipsrc.neg ? "! " : ""}${printAddr(r.ipsrc.addr, af, false)} to ${r.ipdst.neg ? "! " : ""}${printAddr(r.ipdst.addr, af, false)}`;
  for (const l of r.labels) {
    if (!l) break;
    s += ` label "${l}"`;
  }
  if (r.ridentifier) s += ` ridentifier ${r.ridentifier}`;
  if (r.qname) s += ` queue ${r.qname}`;
  if (r.tag) s += ` tag ${r.tag}`;
  if (r.matchTag) s += (r.matchTagNot ? " !" : "") + ` tagged ${r.matchTag}`;
  if (r.dnpipe) s += ` ${r.dnIsPipe ? "dnpipe" : "dnqueue"} ${r.dnpipe}`;
  return s;
}
