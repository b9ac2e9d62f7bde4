/**
 * The kernel jail parameters the simulator knows (FreeBSD 14's security.jail.param tree, less
 * the linux.* and zfs.* modules), and libjail's rules for turning a parameter's text into a
 * value and back (jailparam_import / jailparam_export in lib/libjail/jail.c). Pure.
 *
 * Values are kept in exported form: strings, "true"/"false" for booleans, "disable"/"new"/
 * "inherit" for the jailsys parameters (vnet, host, ip4, ip6, sysvmsg, sysvsem, sysvshm), and
 * string arrays for ip4.addr/ip6.addr.
 */
import { isIPv4, isIPv6 } from "node:net";

export type ParamType = "string" | "int" | "bool" | "jailsys" | "ip4" | "ip6";
/** rw: settable at any time; rdtun: only at creation (jail -m refuses a change); rd: read-only. */
export type ParamAccess = "rw" | "rdtun" | "rd";

export interface ParamSpec {
  readonly name: string;
  readonly type: ParamType;
  readonly access: ParamAccess;
}

const P = (name: string, type: ParamType, access: ParamAccess = "rw"): ParamSpec => ({ name, type, access });

const ALLOWS = [
  "adjtime", "chflags", "extattr", "mlock", "mount", "mount.devfs", "mount.fdescfs", "mount.fusefs",
  "mount.linprocfs", "mount.linsysfs", "mount.nullfs", "mount.procfs", "mount.tmpfs", "mount.zfs",
  "nfsd", "quotas", "raw_sockets", "read_msgbuf", "reserved_ports", "routing", "set_hostname",
  "settime", "socket_af", "suser", "sysvipc", "unprivileged_proc_debug",
];

/** Every parameter, in the order sort_param() in jls(8) lists them: top-level names first, then dotted, each by strcmp. */
export const PARAMS: readonly ParamSpec[] = [
  P("children.cur", "int", "rd"),
  P("children.max", "int"),
  P("cpuset.id", "int", "rd"),
  P("devfs_ruleset", "int"),
  P("dying", "bool", "rd"),
  P("enforce_statfs", "int"),
  P("host", "jailsys"),
  P("ip4", "jailsys", "rdtun"),
  P("ip6", "jailsys", "rdtun"),
  P("jid", "int", "rdtun"),
  P("name", "string"),
  P("osreldate", "int", "rdtun"),
  P("osrelease", "string", "rdtun"),
  P("parent", "int", "rd"),
  P("path", "string", "rdtun"),
  P("persist", "bool"),
  P("securelevel", "int"),
  P("sysvmsg", "jailsys"),
  P("sysvsem", "jailsys"),
  P("sysvshm", "jailsys"),
  P("vnet", "jailsys", "rdtun"),
  ...ALLOWS.map((a) => P(`allow.${a}`, "bool")),
  P("host.domainname", "string"),
  P("host.hostid", "int"),
  P("host.hostname", "string"),
  P("host.hostuuid", "string"),
  P("ip4.addr", "ip4"),
  P("ip4.saddrsel", "bool"),
  P("ip6.addr", "ip6"),
  P("ip6.saddrsel", "bool"),
].sort((a, b) => {
  const ad = a.name.includes("."), bd = b.name.includes(".");
  if (ad !== bd) return ad ? 1 : -1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
});

const BY_NAME = new Map(PARAMS.map((p) => [p.name, p]));

/** The kernel's JAIL_DEFAULT_ALLOW: every other allow.* is off in a new jail. */
const DEFAULT_ALLOW = new Set(["allow.set_hostname", "allow.reserved_ports", "allow.suser", "allow.unprivileged_proc_debug"]);

/** What the simulated host reports for osrelease/osreldate (a FreeBSD 14.2 host). */
export const OSRELEASE = "14.2-RELEASE";
export const OSRELDATE = "1402000";

/**
 * lookupParam finds a parameter by name as libjail does, accepting the "no" prefix on the last
 * component of a boolean (`nopersist`, `allow.noraw_sockets`). Undefined when unknown.
 */
export function lookupParam(name: string): { spec: ParamSpec; negated: boolean } | undefined {
  const spec = BY_NAME.get(name);
  if (spec !== undefined) return { spec, negated: false };
  const dot = name.lastIndexOf(".");
  const last = name.slice(dot + 1);
  if (last.startsWith("no")) {
    const base = BY_NAME.get(`${name.slice(0, dot + 1)}${last.slice(2)}`);
    if (base !== undefined && base.type === "bool") return { spec: base, negated: true };
  }
  return undefined;
}

/** inet4 parses an address as inet_pton(AF_INET) does (dotted quad, no leading zeros); undefined when invalid. */
export function inet4(text: string): string | undefined {
  if (!isIPv4(text)) return undefined;
  if (text.split(".").some((o) => o.length > 1 && o.startsWith("0"))) return undefined;
  return text;
}

/** inet6 parses an IPv6 address and returns inet_ntop's form (lower case, longest zero run as ::); undefined when invalid. */
export function inet6(text: string): string | undefined {
  if (!isIPv6(text) || text.includes("%")) return undefined;
  let head = text;
  let v4tail: number[] = [];
  const lastColon = text.lastIndexOf(":");
  if (text.slice(lastColon + 1).includes(".")) {
    v4tail = text.slice(lastColon + 1).split(".").map(Number);
    head = text.slice(0, lastColon + 1) + "0:0";
  }
  const [l, r] = head.includes("::") ? head.split("::") : [head, undefined];
  const left = l === "" || l === undefined ? [] : l.split(":");
  const right = r === undefined || r === "" ? [] : r.split(":");
  const fill = r === undefined ? [] : new Array(8 - left.length - right.length).fill("0");
  const groups = [...left, ...fill, ...right].map((g) => Number.parseInt(g, 16));
  if (v4tail.length === 4) {
    groups[6] = ((v4tail[0] ?? 0) << 8) | (v4tail[1] ?? 0);
    groups[7] = ((v4tail[2] ?? 0) << 8) | (v4tail[3] ?? 0);
  }
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let k = i;
    while (k < 8 && groups[k] === 0) k++;
    if (k - i > bestLen && k - i >= 2) {
      best = i;
      bestLen = k - i;
    }
    i = k;
  }
  const hex = groups.map((g) => (g ?? 0).toString(16));
  // inet_ntop writes IPv4-compatible and IPv4-mapped addresses with a dotted quad.
  if (best === 0 && (bestLen === 6 || (bestLen === 5 && groups[5] === 0xffff))) {
    const q = [(groups[6] ?? 0) >> 8, (groups[6] ?? 0) & 0xff, (groups[7] ?? 0) >> 8, (groups[7] ?? 0) & 0xff].join(".");
    return bestLen === 6 ? `::${q}` : `::ffff:${q}`;
  }
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

export type Imported = { ok: true; name: string; value: string | string[] } | { ok: false; message: string };

function isInteger(text: string): boolean {
  return /^[ \t]*[-+]?[0-9]+$/.test(text);
}

function importBool(text: string): boolean | undefined {
  const t = text.toLowerCase();
  if (t === "true") return true;
  if (t === "false") return false;
  if (isInteger(text)) return Number.parseInt(text, 10) !== 0;
  return undefined;
}

/**
 * importParam converts `value` (null for a bare name, as `persist;` or `vnet` on the command
 * line) to the parameter's exported form, or returns libjail's error message:
 * `unknown parameter: x`, `securelevel: non-integer value "x"`, `persist: unknown boolean value
 * "x"`, `vnet: unknown jailsys value "x"`, `ip4.addr: not an IPv4 address: x`.
 */
export function importParam(name: string, value: string | null): Imported {
  const found = lookupParam(name);
  if (found === undefined || found.spec.access === "rd") return { ok: false, message: `unknown parameter: ${name}` };
  const { spec, negated } = found;
  switch (spec.type) {
    case "bool": {
      const b = value === null ? true : importBool(value);
      if (b === undefined) return { ok: false, message: `${name}: unknown boolean value "${value}"` };
      return { ok: true, name: spec.name, value: String(negated ? !b : b) };
    }
    case "jailsys": {
      if (value === null || value === "") return { ok: true, name: spec.name, value: "new" };
      const t = value.toLowerCase();
      const names = ["disable", "new", "inherit"];
      if (names.includes(t)) return { ok: true, name: spec.name, value: t };
      if (isInteger(value)) {
        const n = Number.parseInt(value, 10);
        const v = names[n];
        if (v !== undefined) return { ok: true, name: spec.name, value: v };
      }
      return { ok: false, message: `${name}: unknown jailsys value "${value}"` };
    }
    case "int": {
      const v = value ?? "";
      if (!isInteger(v)) return { ok: false, message: `${name}: non-integer value "${v}"` };
      return { ok: true, name: spec.name, value: String(Number.parseInt(v, 10)) };
    }
    case "string":
      return { ok: true, name: spec.name, value: value ?? "" };
    case "ip4":
    case "ip6": {
      const v = value ?? "";
      if (v === "" || v === "-") return { ok: true, name: spec.name, value: [] };
      const out: string[] = [];
      for (const a of v.split(",")) {
        const parsed = spec.type === "ip4" ? inet4(a) : inet6(a);
        if (parsed === undefined) return { ok: false, message: `${name}: not an ${spec.type === "ip4" ? "IPv4" : "IPv6"} address: ${a}` };
        out.push(parsed);
      }
      return { ok: true, name: spec.name, value: out };
    }
  }
}

/** defaultParams is a new jail's full parameter set before the requested ones are applied. */
export function defaultParams(jid: number, cpuset: number, hostHostname: string): Record<string, string | string[]> {
  const p: Record<string, string | string[]> = {};
  for (const s of PARAMS) {
    switch (s.type) {
      case "bool":
        p[s.name] = String(DEFAULT_ALLOW.has(s.name) || s.name.endsWith("saddrsel"));
        break;
      case "jailsys":
        p[s.name] = s.name === "host" ? "new" : s.name === "vnet" ? "inherit" : "disable";
        break;
      case "int":
        p[s.name] = "0";
        break;
      case "string":
        p[s.name] = "";
        break;
      default:
        p[s.name] = [];
    }
  }
  p.jid = String(jid);
  p.name = String(jid);
  p.path = "/";
  p.persist = "false";
  p.dying = "false";
  p.securelevel = "-1";
  p.enforce_statfs = "2";
  p["cpuset.id"] = String(cpuset);
  p["host.hostname"] = hostHostname;
  p["host.hostuuid"] = "00000000-0000-0000-0000-000000000000";
  p.osrelease = OSRELEASE;
  p.osreldate = OSRELDATE;
  return p;
}

/** exportText is the text jls(8) prints for a value: arrays joined with commas. */
export function exportText(v: string | string[] | undefined): string {
  if (v === undefined) return "";
  return Array.isArray(v) ? v.join(",") : v;
}
