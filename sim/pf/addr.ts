/**
 * Addresses as pfctl holds them (struct pf_addr_wrap / struct node_host) and the libc
 * routines pfctl leans on: inet_pton, inet_net_pton, inet_aton, inet_ntop, set_ipmask,
 * unmask, and the host() lookup chain of pfctl_parser.c (IPv4, IPv6, interface, "DNS").
 * Pure: the interface table and the resolver are data passed in.
 */

export type Af = 0 | 4 | 6;

export type AddrType = "addrmask" | "dynif" | "table" | "range" | "noroute" | "urpf";

/** pf_addr: 16 bytes; an IPv4 address lives in bytes 0..3, as addr32[0] does. */
export type Bytes = number[];

export interface AddrWrap {
  type: AddrType;
  addr: Bytes;
  mask: Bytes; // for "range": the end of the range, as pfctl stores it
  ifname: string; // dynif
  tblname: string; // table
  iflags: number; // dynif modifiers
}

export const AFLAG_NETWORK = 0x01;
export const AFLAG_BROADCAST = 0x02;
export const AFLAG_PEER = 0x04;
export const AFLAG_MODEMASK = 0x07;
export const AFLAG_NOALIAS = 0x08;

export interface NodeHost {
  af: Af;
  addr: AddrWrap;
  not: boolean;
  ifindex: number;
  ifname?: string; // route-to interface
  loopback?: boolean;
}

export function zero(): Bytes {
  return new Array<number>(16).fill(0);
}

export function emptyWrap(type: AddrType = "addrmask"): AddrWrap {
  return { type, addr: zero(), mask: zero(), ifname: "", tblname: "", iflags: 0 };
}

export function cloneWrap(w: AddrWrap): AddrWrap {
  return { ...w, addr: [...w.addr], mask: [...w.mask] };
}

export function cloneHost(h: NodeHost): NodeHost {
  return { ...h, addr: cloneWrap(h.addr) };
}

export function isZero(b: Bytes): boolean {
  return b.every((x) => x === 0);
}

/** set_ipmask: a mask of `bits` leading ones; an address/mask pair is masked as well. */
export function setIpmask(h: NodeHost, bits: number): void {
  const b = bits & 0xff; // u_int8_t in pfctl
  const m = zero();
  for (let i = 0; i < 16; i++) {
    const left = b - i * 8;
    if (left >= 8) m[i] = 0xff;
    else if (left > 0) m[i] = (0xff00 >> left) & 0xff;
  }
  h.addr.mask = m;
  if (h.addr.type === "addrmask") for (let i = 0; i < 16; i++) h.addr.addr[i] = (h.addr.addr[i] ?? 0) & (m[i] ?? 0);
}

/** unmask: the number of leading one bits of a mask. */
export function unmask(m: Bytes): number {
  let bits = 0;
  for (let i = 0; i < 16; i++) {
    const v = m[i] ?? 0;
    if (v === 0xff) {
      bits += 8;
      continue;
    }
    for (let j = 7; j >= 0 && v & (1 << j); j--) bits++;
    break;
  }
  return bits;
}

// ---- IPv4 -------------------------------------------------------------------------------

/** inet_pton(AF_INET): exactly four decimal parts 0..255, no leading zeros. */
export function parseV4(s: string): Bytes | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out = zero();
  for (let i = 0; i < 4; i++) {
    const p = parts[i] ?? "";
    if (!/^[0-9]{1,3}$/.test(p) || (p.length > 1 && p[0] === "0")) return null;
    const v = Number(p);
    if (v > 255) return null;
    out[i] = v;
  }
  return out;
}

/** inet_aton: one to four parts, each decimal, octal (0...) or hex (0x...). */
export function inetAton(s: string): Bytes | null {
  const parts = s.split(".");
  if (parts.length < 1 || parts.length > 4) return null;
  const vals: number[] = [];
  for (const p of parts) {
    let v: number;
    if (/^0[xX][0-9a-fA-F]*$/.test(p)) v = p.length === 2 ? 0 : parseInt(p.slice(2), 16);
    else if (/^0[0-7]*$/.test(p)) v = parseInt(p, 8);
    else if (/^[1-9][0-9]*$/.test(p)) v = parseInt(p, 10);
    else return null;
    vals.push(v);
  }
  let n: number;
  const last = vals[vals.length - 1] ?? 0;
  const head = vals.slice(0, -1);
  if (head.some((v) => v > 255)) return null;
  const maxLast = [0xffffffff, 0xffffff, 0xffff, 0xff][head.length] ?? 0;
  if (last > maxLast) return null;
  n = 0;
  head.forEach((v, i) => (n += v * 2 ** (24 - 8 * i)));
  n += last;
  const out = zero();
  out[0] = (n >>> 24) & 0xff;
  out[1] = (n >>> 16) & 0xff;
  out[2] = (n >>> 8) & 0xff;
  out[3] = n & 0xff;
  return out;
}

/** inet_net_pton(AF_INET): returns the address and the prefix length, classful when none is given. */
export function inetNetPtonV4(src: string): { addr: Bytes; bits: number } | null {
  const dst: number[] = [];
  let i = 0;
  const at = (k: number): string => src[k] ?? "";
  const isDigit = (c: string): boolean => c >= "0" && c <= "9";
  let ch = at(i++);
  if (ch === "0" && (at(i) === "x" || at(i) === "X") && /[0-9a-fA-F]/.test(at(i + 1))) {
    i++;
    let dirty = 0;
    let tmp = 0;
    for (;;) {
      ch = at(i++);
      if (ch === "" || !/[0-9a-fA-F]/.test(ch)) break;
      const n = parseInt(ch.toLowerCase(), 16);
      if (dirty === 0) tmp = n;
      else tmp = (tmp << 4) | n;
      if (++dirty === 2) {
        if (dst.length >= 4) return null;
        dst.push(tmp);
        dirty = 0;
      }
    }
    if (dirty) {
      if (dst.length >= 4) return null;
      dst.push(tmp << 4);
    }
  } else if (isDigit(ch)) {
    for (;;) {
      let tmp = 0;
      do {
        tmp = tmp * 10 + Number(ch);
        if (tmp > 255) return null;
        ch = at(i++);
      } while (ch !== "" && isDigit(ch));
      if (dst.length >= 4) return null;
      dst.push(tmp);
      if (ch === "" || ch === "/") break;
      if (ch !== ".") return null;
      ch = at(i++);
      if (!isDigit(ch)) return null;
    }
  } else return null;

  let bits = -1;
  if (ch === "/" && isDigit(at(i)) && dst.length > 0) {
    ch = at(i++);
    bits = 0;
    do {
      bits = bits * 10 + Number(ch);
      if (bits > 32) return null;
      ch = at(i++);
    } while (ch !== "" && isDigit(ch));
    if (ch !== "") return null;
  }
  if (ch !== "") return null;
  if (dst.length === 0) return null;
  if (bits === -1) {
    const first = dst[0] ?? 0;
    if (first >= 240) bits = 32;
    else if (first >= 224) bits = 8;
    else if (first >= 192) bits = 24;
    else if (first >= 128) bits = 16;
    else bits = 8;
    if (bits < dst.length * 8) bits = dst.length * 8;
    if (bits === 8 && first === 224) bits = 4;
  }
  while (bits > dst.length * 8) {
    if (dst.length >= 4) return null;
    dst.push(0);
  }
  const addr = zero();
  dst.forEach((v, k) => (addr[k] = v));
  return { addr, bits };
}

// ---- IPv6 -------------------------------------------------------------------------------

/** inet_pton(AF_INET6), plus the "%scope" suffix getaddrinfo accepts; the scope is returned raw. */
export function parseV6(input: string): { addr: Bytes; scope: string | null } | null {
  let s = input;
  let scope: string | null = null;
  const pct = s.indexOf("%");
  if (pct >= 0) {
    scope = s.slice(pct + 1);
    s = s.slice(0, pct);
    if (scope === "") return null;
  }
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return null;
  const dbl = s.indexOf("::");
  if (dbl >= 0 && s.indexOf("::", dbl + 1) >= 0) return null;
  const parseGroups = (part: string): number[] | null => {
    if (part === "") return [];
    const out: number[] = [];
    const gs = part.split(":");
    for (let k = 0; k < gs.length; k++) {
      const g = gs[k] ?? "";
      if (g.includes(".")) {
        if (k !== gs.length - 1) return null;
        const v4 = parseV4(g);
        if (!v4) return null;
        out.push(((v4[0] ?? 0) << 8) | (v4[1] ?? 0), ((v4[2] ?? 0) << 8) | (v4[3] ?? 0));
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  let words: number[];
  if (dbl >= 0) {
    const a = parseGroups(s.slice(0, dbl));
    const b = parseGroups(s.slice(dbl + 2));
    if (!a || !b || a.length + b.length > 7) return null;
    words = [...a, ...new Array<number>(8 - a.length - b.length).fill(0), ...b];
  } else {
    const a = parseGroups(s);
    if (!a || a.length !== 8) return null;
    words = a;
  }
  const addr = zero();
  words.forEach((w, k) => {
    addr[2 * k] = (w >> 8) & 0xff;
    addr[2 * k + 1] = w & 0xff;
  });
  return { addr, scope };
}

/** inet_ntop(AF_INET6), as libc writes it (longest zero run compressed, embedded IPv4 kept). */
export function formatV6(b: Bytes): string {
  const words: number[] = [];
  for (let k = 0; k < 8; k++) words.push(((b[2 * k] ?? 0) << 8) | (b[2 * k + 1] ?? 0));
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  for (let k = 0; k < 8; k++) {
    if (words[k] === 0) {
      if (cur.base === -1) cur = { base: k, len: 1 };
      else cur.len++;
    } else if (cur.base !== -1) {
      if (best.base === -1 || cur.len > best.len) best = cur;
      cur = { base: -1, len: 0 };
    }
  }
  if (cur.base !== -1 && (best.base === -1 || cur.len > best.len)) best = cur;
  if (best.base !== -1 && best.len < 2) best = { base: -1, len: 0 };
  let out = "";
  for (let k = 0; k < 8; k++) {
    if (best.base !== -1 && k >= best.base && k < best.base + best.len) {
      if (k === best.base) out += ":";
      continue;
    }
    if (k !== 0) out += ":";
    if (
      k === 6 &&
      best.base === 0 &&
      (best.len === 6 || (best.len === 7 && words[7] !== 0x0001) || (best.len === 5 && words[5] === 0xffff))
    ) {
      out += `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
      break;
    }
    out += (words[k] ?? 0).toString(16);
  }
  if (best.base !== -1 && best.base + best.len === 8) out += ":";
  return out;
}

export function formatV4(b: Bytes): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** inet_ntop for a family; null where libc fails (no family). */
export function ntop(af: Af, b: Bytes): string | null {
  if (af === 4) return formatV4(b);
  if (af === 6) return formatV6(b);
  return null;
}

// ---- interfaces ---------------------------------------------------------------------------

export interface IfAddr {
  ifname: string;
  af: 4 | 6;
  addr: Bytes;
  mask: Bytes;
  ifindex: number; // the IPv6 scope id (link-local), else 0
  broadcast?: Bytes;
  peer?: Bytes;
}

export interface Iface {
  name: string;
  index: number;
  loopback: boolean;
  broadcast: boolean;
  pointopoint: boolean;
  groups: string[];
}

/** The simulated getifaddrs(3): interfaces and their addresses, in kernel order. */
export interface IfTable {
  ifaces: Iface[];
  addrs: IfAddr[];
}

function maskBits(bits: number): Bytes {
  const h: NodeHost = { af: 0, addr: emptyWrap(), not: false, ifindex: 0 };
  setIpmask(h, bits);
  return h.addr.mask;
}

/** The interfaces every simulated host has: lo0, as FreeBSD configures it. */
export function defaultIfTable(): IfTable {
  const v6lo = parseV6("::1")?.addr ?? zero();
  const v6ll = parseV6("fe80::1")?.addr ?? zero();
  const v4lo = parseV4("127.0.0.1") ?? zero();
  return {
    ifaces: [{ name: "lo0", index: 1, loopback: true, broadcast: false, pointopoint: false, groups: ["lo"] }],
    addrs: [
      { ifname: "lo0", af: 6, addr: v6lo, mask: maskBits(128), ifindex: 0 },
      { ifname: "lo0", af: 6, addr: v6ll, mask: maskBits(64), ifindex: 1 },
      { ifname: "lo0", af: 4, addr: v4lo, mask: maskBits(8), ifindex: 0 },
    ],
  };
}

/**
 * An interface table from a description: `{ "em0": ["192.0.2.10/24", "2001:db8::10/64"], ... }`.
 * Interface groups are the name without its unit number, as ifconfig(8) assigns them for cloned
 * interfaces (em0 is in no group; epair5a and lo1 are in "epair" and "lo").
 */
export function ifTableFrom(desc: Record<string, string[]>): IfTable {
  const t = defaultIfTable();
  let index = t.ifaces.length + 1;
  for (const [name, addrs] of Object.entries(desc)) {
    if (name === "lo0") continue;
    const group = /^(lo|epair|bridge|tun|tap|vlan|gif|gre|wg|pflog|pfsync|enc)\d/.exec(name)?.[1];
    t.ifaces.push({ name, index, loopback: group === "lo", broadcast: group !== "lo", pointopoint: false, groups: group ? [group] : [] });
    for (const a of addrs) {
      const [ip, len] = a.split("/");
      const v4 = parseV4(ip ?? "");
      if (v4) {
        const mask = maskBits(Number(len ?? 32));
        const broadcast = v4.map((b, i) => (i < 4 ? (b | (~(mask[i] ?? 0) & 0xff)) : 0));
        t.addrs.push({ ifname: name, af: 4, addr: v4, mask, ifindex: 0, broadcast });
      }
      const v6 = v4 ? null : parseV6(ip ?? "");
      if (v6) {
        const ll = v6.addr[0] === 0xfe && ((v6.addr[1] ?? 0) & 0xc0) === 0x80;
        t.addrs.push({ ifname: name, af: 6, addr: v6.addr, mask: maskBits(Number(len ?? 128)), ifindex: ll ? index : 0 });
      }
    }
    index++;
  }
  return t;
}

export function ifNameToIndex(t: IfTable, name: string): number {
  return t.ifaces.find((i) => i.name === name)?.index ?? 0;
}

function groupMembers(t: IfTable, name: string): Iface[] {
  if (name === "all") return [];
  return t.ifaces.filter((i) => i.groups.includes(name));
}

export function isGroup(t: IfTable, name: string): boolean {
  return groupMembers(t, name).length > 0;
}

/** ifa_exists: an interface or interface group of that name. */
export function ifaExists(t: IfTable, name: string): Iface | { name: string; group: true } | null {
  if (isGroup(t, name)) return { name, group: true };
  return t.ifaces.find((i) => i.name === name) ?? null;
}

function ifaSkipIf(filter: string | null, ifname: string): boolean {
  if (filter === null || filter === "") return false;
  if (ifname === filter) return false;
  const n = filter.length;
  if (n < 1 || n >= 16) return true;
  const last = filter[n - 1] ?? "";
  if (last >= "0" && last <= "9") return true;
  if (!ifname.startsWith(filter)) return true;
  const next = ifname[n] ?? "";
  return !(next >= "0" && next <= "9");
}

/** ifa_lookup: the addresses of an interface, a group or "self", shaped by the modifiers. */
export function ifaLookup(t: IfTable, name: string, flags: number): NodeHost[] {
  const members = groupMembers(t, name);
  if (members.length > 0) return members.flatMap((m) => ifaLookup(t, m.name, flags));
  const filter = name === "self" ? null : name;
  const out: NodeHost[] = [];
  let lastIf: string | null = null;
  let got4 = false;
  let got6 = false;
  for (const p of t.addrs) {
    if (ifaSkipIf(filter, p.ifname)) continue;
    const iface = t.ifaces.find((i) => i.name === p.ifname);
    if (flags & AFLAG_BROADCAST && p.af !== 4) continue;
    if (flags & AFLAG_BROADCAST && !iface?.broadcast) continue;
    if (flags & AFLAG_PEER && !iface?.pointopoint) continue;
    if (flags & AFLAG_NETWORK && p.ifindex > 0) continue;
    if (lastIf === null || lastIf !== p.ifname) got4 = got6 = false;
    lastIf = p.ifname;
    const linkLocal = p.af === 6 && p.addr[0] === 0xfe && ((p.addr[1] ?? 0) & 0xc0) === 0x80;
    if (flags & AFLAG_NOALIAS && p.af === 4 && got4) continue;
    if (flags & AFLAG_NOALIAS && p.af === 6 && linkLocal) continue;
    if (flags & AFLAG_NOALIAS && p.af === 6 && got6) continue;
    if (p.af === 4) got4 = true;
    else got6 = true;
    const src = flags & AFLAG_BROADCAST ? (p.broadcast ?? zero()) : flags & AFLAG_PEER ? (p.peer ?? zero()) : p.addr;
    const n: NodeHost = { af: p.af, addr: { ...emptyWrap(), addr: [...src] }, not: false, ifindex: p.ifindex, loopback: iface?.loopback ?? false };
    if (flags & AFLAG_NETWORK) setIpmask(n, unmask(p.mask));
    else setIpmask(n, p.af === 4 ? 32 : 128);
    out.push(n);
  }
  return out;
}

// ---- host() ---------------------------------------------------------------------------------

/** The simulated resolver: names it knows and their addresses, in getaddrinfo order. */
export type Resolver = (name: string) => { af: 4 | 6; addr: Bytes }[] | null;

export const defaultResolver: Resolver = (name) => {
  if (name === "localhost" || name === "localhost.my.domain")
    return [
      { af: 6, addr: parseV6("::1")?.addr ?? zero() },
      { af: 4, addr: parseV4("127.0.0.1") ?? zero() },
    ];
  const v4 = inetAton(name);
  if (v4) return [{ af: 4, addr: v4 }];
  const v6 = parseV6(name);
  if (v6 && v6.scope === null) return [{ af: 6, addr: v6.addr }];
  return null;
};

export interface HostEnv {
  ifs: IfTable;
  resolve: Resolver;
  warn: (line: string) => void; // pfctl's bare fprintf(stderr, ...) lines
}

/** strtol(s, &end, 0) for the mask after '/': returns the value and whether all of s was used. */
function strtol0(s: string): { v: number; ok: boolean; empty: boolean } {
  const m = /^\s*([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)/.exec(s);
  if (!m) return { v: 0, ok: false, empty: true };
  const body = m[2] ?? "0";
  let v = body.startsWith("0x") || body.startsWith("0X") ? parseInt(body.slice(2), 16) : body.startsWith("0") ? parseInt(body, 8) : parseInt(body, 10);
  if (m[1] === "-") v = -v;
  return { v, ok: m[0].length === s.length, empty: false };
}

function hostV4(s: string): NodeHost | null {
  let addr: Bytes | null;
  let bits = 32;
  if (s.includes("/")) {
    const r = inetNetPtonV4(s);
    if (!r) return null;
    addr = r.addr;
    bits = r.bits;
  } else addr = parseV4(s);
  if (!addr) return null;
  const h: NodeHost = { af: 4, addr: { ...emptyWrap(), addr }, not: false, ifindex: 0 };
  setIpmask(h, bits);
  return h;
}

function hostV6(env: HostEnv, s: string, mask: number): NodeHost | null {
  const r = parseV6(s);
  if (!r) return null;
  let ifindex = 0;
  if (r.scope !== null) {
    ifindex = /^[0-9]+$/.test(r.scope) ? Number(r.scope) : ifNameToIndex(env.ifs, r.scope);
    if (ifindex === 0) return null;
  }
  const h: NodeHost = { af: 6, addr: { ...emptyWrap(), addr: r.addr }, not: false, ifindex };
  setIpmask(h, mask);
  return h;
}

function hostIf(env: HostEnv, s: string, mask: number): NodeHost[] | null {
  let ps = s;
  let flags = 0;
  for (let p = ps.lastIndexOf(":"); p >= 0; p = ps.lastIndexOf(":")) {
    const mod = ps.slice(p + 1);
    if (mod === "network") flags |= AFLAG_NETWORK;
    else if (mod === "broadcast") flags |= AFLAG_BROADCAST;
    else if (mod === "peer") flags |= AFLAG_PEER;
    else if (mod === "0") flags |= AFLAG_NOALIAS;
    else return null;
    ps = ps.slice(0, p);
  }
  if (flags & (flags - 1) & AFLAG_MODEMASK) {
    env.warn("illegal combination of interface modifiers");
    return null;
  }
  if (flags & (AFLAG_NETWORK | AFLAG_BROADCAST) && mask > -1) {
    env.warn("network or broadcast lookup, but extra netmask given");
    return null;
  }
  if (ifaExists(env.ifs, ps) || ps === "self") {
    const h = ifaLookup(env.ifs, ps, flags);
    if (mask > -1) for (const n of h) setIpmask(n, mask);
    return h.length ? h : null;
  }
  return null;
}

function hostDns(env: HostEnv, s: string, v4mask: number, v6mask: number): NodeHost[] | null {
  let ps = s;
  let noalias = false;
  if (ps.endsWith(":0")) {
    noalias = true;
    ps = ps.slice(0, -2);
  }
  const res = env.resolve(ps);
  if (!res || res.length === 0) return null;
  const out: NodeHost[] = [];
  let got4 = false;
  let got6 = false;
  for (const r of res) {
    if (noalias) {
      if (r.af === 4) {
        if (got4) continue;
        got4 = true;
      } else {
        if (got6) continue;
        got6 = true;
      }
    }
    const n: NodeHost = { af: r.af, addr: { ...emptyWrap(), addr: [...r.addr] }, not: false, ifindex: 0 };
    setIpmask(n, r.af === 4 ? v4mask : v6mask);
    out.push(n);
  }
  return out;
}

/** host(): an address, a network, an interface's addresses or a resolved name; null after a warning. */
export function host(env: HostEnv, s: string): NodeHost[] | null {
  let ps = s;
  let mask = -1;
  let v4mask = 32;
  let v6mask = 128;
  const slash = s.lastIndexOf("/");
  if (slash >= 0) {
    const p = s.slice(slash);
    const r = strtol0(s.slice(slash + 1));
    if (!r.ok || r.empty || r.v > 128) {
      env.warn(`invalid netmask '${p}'`);
      return null;
    }
    mask = v4mask = v6mask = r.v;
    ps = s.slice(0, slash);
  }
  const v4 = hostV4(s);
  if (v4) return [v4];
  const v6 = hostV6(env, ps, v6mask);
  if (v6) return [v6];
  const hi = hostIf(env, ps, mask);
  if (hi) return hi;
  const hd = hostDns(env, ps, v4mask, v6mask);
  if (hd) return hd;
  env.warn(`no IP address found for ${s}`);
  return null;
}

/**
 * A resolver over hosts(5) text ("address name alias ..." lines) before the default one: the
 * simulator's stand-in for DNS, so a test can give names to addresses.
 */
export function resolverWithHosts(hostsText: string): Resolver {
  const table = new Map<string, { af: 4 | 6; addr: Bytes }[]>();
  for (const line of hostsText.split("\n")) {
    const [addr, ...names] = (line.split("#")[0] ?? "").trim().split(/\s+/);
    if (!addr || names.length === 0) continue;
    const v4 = parseV4(addr);
    const v6 = v4 ? null : parseV6(addr);
    const entry = v4 ? { af: 4 as const, addr: v4 } : v6 ? { af: 6 as const, addr: v6.addr } : null;
    if (!entry) continue;
    for (const n of names) table.set(n, [...(table.get(n) ?? []), entry]);
  }
  return (name) => table.get(name) ?? defaultResolver(name);
}
