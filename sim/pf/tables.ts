/**
 * Table entries (struct pfr_addr) and their text forms: append_addr/append_addr_host,
 * pfr_buf_load's tokenizer for address files, print_addrx and print_tabledef. Pure.
 */
import { type Af, type Bytes, host, type HostEnv, type NodeHost, ntop, unmask } from "./addr.js";
import { printAddr } from "./print.js";

export interface TableEntry {
  af: 4 | 6;
  addr: Bytes;
  net: number;
  not: boolean;
}

export interface TableInit {
  file?: string;
  hosts?: NodeHost[];
}

export interface TableDef {
  name: string;
  const: boolean;
  persist: boolean;
  counters: boolean;
  initAddr: boolean; // addresses were given ({ } or file): replace the contents
  inits: TableInit[];
  entries: TableEntry[];
}

/** append_addr_host: null (EINVAL) for a mask wider than the family allows. */
export function entriesFromHosts(hosts: NodeHost[], not: boolean, test: boolean): TableEntry[] | null {
  const out: TableEntry[] = [];
  for (const n of hosts) {
    if (n.af !== 4 && n.af !== 6) return null;
    const bits = n.af === 4 ? 32 : 128;
    const net = unmask(n.addr.mask);
    const neg = n.not !== not;
    if ((test && (not || net !== bits)) || net > bits) return null;
    const addr = [...n.addr.addr];
    out.push({ af: n.af, addr, net, not: neg });
  }
  return out;
}

/** append_addr: one word of an address file or of the command line ("!10.0.0.0/8", a name, ...). */
export function entriesFromWord(env: HostEnv, word: string, test: boolean): TableEntry[] | "bad" | "einval" {
  let r = word;
  let not = false;
  while (r.startsWith("!")) {
    not = !not;
    r = r.slice(1);
  }
  const h = host(env, r);
  if (!h) return "bad";
  const e = entriesFromHosts(h, not, test);
  return e ?? "einval";
}

/** pfr_next_token: whitespace-separated words, '#' comments to the end of the line. */
export function addressWords(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    for (const w of line.split(/[ \t\r\f\v]+/)) {
      if (w === "") continue;
      if (w.startsWith("#")) break;
      out.push(w);
    }
  }
  return out;
}

export function entryKey(e: TableEntry): string {
  return `${e.af}|${e.addr.join(".")}|${e.net}`;
}

/** The kernel's radix order: IPv4 before IPv6, then by address, more specific first. */
export function sortEntries(es: TableEntry[]): TableEntry[] {
  return [...es].sort((a, b) => {
    if (a.af !== b.af) return a.af - b.af;
    for (let i = 0; i < 16; i++) {
      const d = (a.addr[i] ?? 0) - (b.addr[i] ?? 0);
      if (d) return d;
    }
    return b.net - a.net;
  });
}

/** print_addrx with no feedback: "   10.0.0.1" or "  !10.0.0.0/8". */
export function printEntry(e: TableEntry, fback = " "): string {
  const hostnet = e.af === 6 ? 128 : 32;
  let s = `${fback} ${e.not ? "!" : " "}${ntop(e.af as Af, e.addr) ?? "{error}"}`;
  if (e.net < hostnet) s += `/${e.net}`;
  return s;
}

/** print_tabledef, as `pfctl -nv` writes a table statement. */
export function printTableDef(t: TableDef): string {
  let s = `table <${t.name}>`;
  if (t.const) s += " const";
  if (t.persist) s += " persist";
  if (t.counters) s += " counters";
  let i = 0;
  while (i < t.inits.length) {
    const ti = t.inits[i] as TableInit;
    if (ti.file !== undefined) {
      s += ` file "${ti.file}"`;
      i++;
      continue;
    }
    s += " {";
    while (i < t.inits.length && (t.inits[i] as TableInit).file === undefined) {
      for (const h of (t.inits[i] as TableInit).hosts ?? []) s += (h.not ? " !" : " ") + printAddr(h.addr, h.af, false);
      i++;
    }
    s += " }";
  }
  if (t.initAddr && t.inits.length === 0) s += " { }";
  return s;
}
