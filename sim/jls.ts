/**
 * jls(8): list jails (FreeBSD 14: `jls [-dhNnqsv] [-j jail] [param ...]`, with libxo's
 * `--libxo json`).
 *
 * Text: the default table (`   JID  IP Address      Hostname                      Path`,
 * rows `%6d  %-15.15s %-29.29s %.74s`), -v's four-line records, or the named parameters'
 * values separated by spaces (-n `name=value`, -q quotes, -h a header line, -s only the
 * writable ones as `name=value`). With no jail given, every jail; `-j jail` (jid or name)
 * only that one, and when it is missing: stderr `jls: jail "x" not found`, exit 1, after the
 * header (text) or an empty list (JSON).
 *
 * JSON (jls.c's libxo format strings): default mode `{"jid":3,"ipv4":"…","hostname":"…",
 * "path":"…"}` (jid a number, only the first IPv4 address); -v adds "name", "state",
 * "cpusetid" (a number), "ipv4_addrs" and "ipv6_addrs" lists; explicit parameters are all
 * strings (`"jid":"3"`, `"persist":"true"`) except ip4.addr/ip6.addr, lists, and booleans
 * with -n, JSON booleans.
 */
import type { Ctx } from "./context.js";
import { bsdGetopt } from "./getopt.js";
import { lookupParam, PARAMS, exportText } from "./jail-params.js";
import { parseLibxoArgs, renderJson, type XoField } from "./libxo.js";
import { notFoundMessage, readState, type SimJail } from "./state.js";

const USAGE = "usage: jls [-dhNnqv] [-j jail] [param ...]";

const PRINT_DEFAULT = 1, PRINT_HEADER = 2, PRINT_NAMEVAL = 4, PRINT_QUOTED = 8, PRINT_SKIP = 16, PRINT_VERBOSE = 32, PRINT_JAIL_NAME = 64;

function pad(s: string, width: number, max?: number): string {
  const t = max === undefined ? s : s.slice(0, max);
  return t.padEnd(width);
}

function quoteIf(value: string, quoted: boolean): string {
  if (!quoted) return value;
  const qc = value.includes("'") ? '"' : value.includes('"') ? "'" : /[ \t]/.test(value) ? '"' : "";
  return `${qc}${value}${qc}`;
}

/** runJls is jls(8). */
export function runJls(argvIn: readonly string[], ctx: Ctx): number {
  const io = ctx.io;
  const xo = parseLibxoArgs(argvIn);
  if ("error" in xo) {
    io.err(`jls: ${xo.error}\n`);
    return 1;
  }
  const json = xo.style.style === "json";
  const pretty = xo.style.style === "json" && xo.style.pretty;
  const g = bsdGetopt("jls", xo.argv, "adj:hNnqsv");
  if (!g.ok) {
    io.err(g.message);
    io.err(`jls: ${USAGE}\n`);
    return 1;
  }
  let pflags = 0;
  let jname: string | undefined;
  let jid = 0;
  for (const o of g.value.options) {
    switch (o.flag) {
      case "j": {
        const arg = o.arg ?? "";
        const n = /^[0-9]+$/.test(arg) ? Number(arg) : 0;
        jid = n;
        jname = n === 0 ? arg : undefined;
        break;
      }
      case "h":
        pflags = (pflags & ~(PRINT_SKIP | PRINT_VERBOSE)) | PRINT_HEADER;
        break;
      case "N":
        pflags |= PRINT_JAIL_NAME;
        break;
      case "n":
        pflags = (pflags & ~PRINT_VERBOSE) | PRINT_NAMEVAL;
        break;
      case "q":
        pflags |= PRINT_QUOTED;
        break;
      case "s":
        pflags = (pflags & ~(PRINT_HEADER | PRINT_VERBOSE)) | PRINT_NAMEVAL | PRINT_QUOTED | PRINT_SKIP;
        break;
      case "v":
        pflags = (pflags & ~(PRINT_HEADER | PRINT_NAMEVAL | PRINT_SKIP)) | PRINT_VERBOSE;
        break;
    }
  }
  let params: string[] = [];
  const rest = g.value.rest;
  if (rest.length === 0) {
    if ((pflags & (PRINT_HEADER | PRINT_NAMEVAL)) !== 0) params = PARAMS.map((p) => p.name);
    else if ((pflags & PRINT_VERBOSE) === 0) pflags |= PRINT_DEFAULT;
  } else {
    pflags &= ~PRINT_VERBOSE;
    for (const p of rest) {
      const name = p === "all" ? undefined : p;
      if (name === undefined) {
        for (const s of PARAMS) if (!params.includes(s.name)) params.push(s.name);
        continue;
      }
      if (lookupParam(name) === undefined) {
        io.err(`jls: unknown parameter: ${name}\n`);
        return 1;
      }
      if (!params.includes(name)) params.push(name);
    }
  }

  const state = readState(ctx.sim);
  const visible: SimJail[] = ctx.jid === 0 ? [...state.jails].sort((a, b) => a.jid - b.jid) : [];
  let selected = visible;
  let missing: string | undefined;
  if (jid !== 0 || jname !== undefined) {
    const found = visible.find((j) => (jid !== 0 ? j.jid === jid : j.name === jname));
    selected = found === undefined ? [] : [found];
    if (found === undefined) missing = notFoundMessage(jid !== 0 ? String(jid) : (jname ?? ""));
  }

  const text: string[] = [];
  const instances: XoField[][] = [];
  if ((pflags & PRINT_VERBOSE) !== 0) {
    text.push("   JID  Hostname                      Path\n", `        Name${" ".repeat(26)}State\n`, "        CPUSetID\n", "        IP Address(es)\n");
  } else if ((pflags & PRINT_DEFAULT) !== 0) {
    text.push((pflags & PRINT_JAIL_NAME) !== 0 ? ` ${pad("JID", 15)} ${pad("IP Address", 15)} ${pad("Hostname", 29)} Path\n` : "   JID  IP Address      Hostname                      Path\n");
  } else if ((pflags & PRINT_HEADER) !== 0) {
    text.push(`${params.join(" ")}\n`);
  }

  for (const j of selected) {
    const p = j.params;
    const ip4 = (p["ip4.addr"] as string[] | undefined) ?? [];
    const ip6 = (p["ip6.addr"] as string[] | undefined) ?? [];
    const hostname = exportText(p["host.hostname"]);
    if ((pflags & PRINT_VERBOSE) !== 0) {
      text.push(`${String(j.jid).padStart(6)}  ${pad(hostname, 29, 29)} ${j.path.slice(0, 74)}\n`);
      text.push(`        ${pad(j.name, 29, 29)} ACTIVE\n`);
      text.push(`        ${exportText(p["cpuset.id"])}\n`);
      for (const a of [...ip4, ...ip6]) text.push(`        ${a}\n`);
      instances.push([
        { kind: "leaf", name: "jid", value: j.jid },
        { kind: "leaf", name: "hostname", value: hostname },
        { kind: "leaf", name: "path", value: j.path },
        { kind: "leaf", name: "name", value: j.name },
        { kind: "leaf", name: "state", value: "ACTIVE" },
        { kind: "leaf", name: "cpusetid", value: Number(exportText(p["cpuset.id"])) },
        { kind: "list", name: "ipv4_addrs", items: ip4 },
        { kind: "list", name: "ipv6_addrs", items: ip6 },
      ]);
    } else if ((pflags & PRINT_DEFAULT) !== 0) {
      const first = ip4[0] ?? "";
      const lead = (pflags & PRINT_JAIL_NAME) !== 0 ? ` ${pad(j.name, 15)} ` : `${String(j.jid).padStart(6)}  `;
      text.push(`${lead}${pad(first, 15, 15)} ${pad(hostname, 29, 29)} ${j.path.slice(0, 74)}\n`);
      instances.push([
        (pflags & PRINT_JAIL_NAME) !== 0 ? { kind: "leaf", name: "name", value: j.name } : { kind: "leaf", name: "jid", value: j.jid },
        { kind: "leaf", name: "ipv4", value: first },
        { kind: "leaf", name: "hostname", value: hostname },
        { kind: "leaf", name: "path", value: j.path },
      ]);
    } else {
      const parts: string[] = [];
      const fields: XoField[] = [];
      for (const name of params) {
        const found = lookupParam(name);
        if (found === undefined) continue;
        const { spec, negated } = found;
        if ((pflags & PRINT_SKIP) !== 0) {
          if (spec.access === "rd") continue;
          const dot = spec.name.indexOf(".");
          if (dot >= 0) {
            const parent = PARAMS.find((x) => x.name === spec.name.slice(0, dot));
            if (parent !== undefined && parent.type === "jailsys" && p[parent.name] !== "new") continue;
          }
        }
        const raw = p[spec.name];
        if (spec.type === "bool") {
          const on = (raw === "true") !== negated;
          if ((pflags & PRINT_NAMEVAL) !== 0) {
            const shown = on ? name : negated ? spec.name : `${spec.name.includes(".") ? `${spec.name.slice(0, spec.name.lastIndexOf(".") + 1)}no${spec.name.slice(spec.name.lastIndexOf(".") + 1)}` : `no${spec.name}`}`;
            parts.push(shown);
            fields.push({ kind: "leaf", name, value: on });
            continue;
          }
          parts.push(String(on));
          fields.push({ kind: "leaf", name, value: String(on) });
          continue;
        }
        const prefix = (pflags & PRINT_NAMEVAL) !== 0 ? `${name}=` : "";
        if (Array.isArray(raw)) {
          fields.push({ kind: "list", name, items: raw });
          if (raw.length === 0) parts.push(prefix + ((pflags & PRINT_QUOTED) !== 0 ? '""' : (pflags & PRINT_NAMEVAL) !== 0 ? "" : "-"));
          else parts.push(prefix + quoteIf(raw.join(","), (pflags & PRINT_QUOTED) !== 0));
          continue;
        }
        const v = raw ?? "";
        fields.push({ kind: "leaf", name, value: v });
        parts.push(prefix + (v === "" ? '""' : quoteIf(v, (pflags & PRINT_QUOTED) !== 0)));
      }
      text.push(`${parts.join(" ")}\n`);
      instances.push(fields);
    }
  }
  if (json) io.out(renderJson("2", "jail-information", "jail", instances, pretty));
  else io.out(text.join(""));
  if (missing !== undefined) {
    io.err(`jls: ${missing}\n`);
    return 1;
  }
  return 0;
}
