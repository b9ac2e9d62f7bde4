/**
 * runPfctl: the pfctl(8) command line of FreeBSD 14 over the simulated kernel in
 * $STEWARD_SIM_ROOT/pf. Option handling follows pfctl.c: getopt, the -n/-a rules, then
 * -d, -s, -z, -F, -T, -f, -e, -x in that order; errx() paths exit at once. Returns what the
 * process would write and its exit status; reads files and the kernel state, writes the kernel
 * state (atomically, under its lock). A construct the simulator does not model is refused with
 * a message, never silently accepted.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { defaultIfTable, defaultResolver, ifTableFrom, type IfTable, type Resolver, resolverWithHosts } from "./pf/addr.js";
import {
  childAnchors, DEFAULT_LIMITS, DEFAULT_TIMEOUTS, emptyKernel, ensureAnchor, type Kernel, type KAnchor, type KTable,
  pfDir, prune, readKernel, resolveCall, SimRootMissing, takeFault, updateKernel,
} from "./pf/kernel.js";
import { expandLabels, type Options, parsePfConf, type ParseEnv, printLoad } from "./pf/parser.js";
import { printEthRule, printRule, TIMEOUT_ORDER } from "./pf/print.js";
import { emptyRuleset, type Rule, type Ruleset } from "./pf/rule.js";
import { entriesFromWord, entryKey, printEntry, sortEntries, type TableDef, type TableEntry, addressWords } from "./pf/tables.js";

export interface PfctlIO {
  env: NodeJS.ProcessEnv;
  cwd: string;
  stdin: () => string;
}

export interface PfctlResult {
  stdout: string;
  stderr: string;
  code: number;
}

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

const USAGE = [
  "usage: pfctl [-AdeghMmNnOPqRSrvz] [-a anchor] [-D macro=value] [-F modifier]",
  "\t[-f file] [-i interface] [-K host | network]",
  "\t[-k host | network | gateway | label | id] [-o level] [-p device]",
  "\t[-s modifier] [-t table -T command [address ...]] [-x level]",
];

const CLEAR_OPTS = ["nat", "queue", "rules", "Sources", "states", "info", "Tables", "osfp", "all", "ethernet"];
const SHOW_OPTS = ["ether", "nat", "queue", "rules", "Anchors", "Sources", "states", "info", "Interfaces", "labels", "timeouts", "memory", "Tables", "osfp", "Running", "all"];
const TBL_OPTS = ["kill", "flush", "add", "delete", "load", "replace", "show", "test", "zero", "expire"];
const DEBUG_OPTS = ["none", "urgent", "misc", "loud"];
const OPTI_OPTS = ["none", "basic", "profile"];

function lookupOption(cmd: string, list: string[]): string | null {
  if (!cmd) return null;
  return list.find((l) => l.startsWith(cmd)) ?? null;
}

interface Opts {
  noAction: boolean;
  verbose: 0 | 1 | 2;
  quiet: boolean;
  numeric: boolean;
  enable: boolean;
  disable: boolean;
  recurse: boolean;
  merge: boolean;
  showAll: boolean;
  debugFlag: boolean;
  /** -i: the interface or group `-s Interfaces` is limited to. */
  iface: string | null;
}

export function runPfctl(argv: string[], io: PfctlIO): PfctlResult {
  const out: string[] = [];
  const err: string[] = [];
  const stdout = (l: string): void => void out.push(l + "\n");
  const stderr = (l: string): void => void err.push(l + "\n");
  const warnx = (m: string): void => stderr(`pfctl: ${m}`);
  const errx = (code: number, m: string): never => {
    warnx(m);
    throw new Exit(code);
  };
  const usage = (): never => {
    for (const l of USAGE) stderr(l);
    throw new Exit(1);
  };
  let code = 0;
  try {
    code = main(argv, io, { stdout, stderr, warnx, errx, usage });
  } catch (e) {
    if (e instanceof Exit) code = e.code;
    else if (e instanceof SimRootMissing) {
      stderr(`pfctl: /dev/pf: ${e.message}`);
      code = 1;
    } else throw e;
  }
  return { stdout: out.join(""), stderr: err.join(""), code };
}

interface Out {
  stdout(l: string): void;
  stderr(l: string): void;
  warnx(m: string): void;
  errx(code: number, m: string): never;
  usage(): never;
}

/** BSD getopt(3) over pfctl's option string. */
function getopt(argv: string[], spec: string, o: Out): { opts: [string, string | null][]; rest: string[] } {
  const opts: [string, string | null][] = [];
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("-") || a === "-") break;
    for (let j = 1; j < a.length; j++) {
      const c = a[j] as string;
      const k = spec.indexOf(c);
      if (k < 0 || c === ":") {
        o.stderr(`pfctl: illegal option -- ${c}`);
        o.usage();
      }
      if (spec[k + 1] === ":") {
        let val = a.slice(j + 1);
        if (!val) {
          i++;
          if (i >= argv.length) {
            o.stderr(`pfctl: option requires an argument -- ${c}`);
            o.usage();
          }
          val = argv[i] as string;
        }
        opts.push([c, val]);
        break;
      }
      opts.push([c, null]);
    }
  }
  return { opts, rest: argv.slice(i) };
}

function loadFibs(dir: string | null): number {
  const f = dir ? path.join(dir, "fibs") : "";
  const n = f && fs.existsSync(f) ? Number(fs.readFileSync(f, "utf8").trim()) : 1;
  return Number.isInteger(n) && n > 0 ? n : 1;
}

function loadResolver(dir: string | null): Resolver {
  if (!dir) return defaultResolver;
  const f = path.join(dir, "hosts");
  return fs.existsSync(f) ? resolverWithHosts(fs.readFileSync(f, "utf8")) : defaultResolver;
}

function loadIfTable(dir: string | null): IfTable {
  if (!dir) return defaultIfTable();
  const f = path.join(dir, "interfaces.json");
  if (!fs.existsSync(f)) return defaultIfTable();
  return ifTableFrom(JSON.parse(fs.readFileSync(f, "utf8")) as Record<string, string[]>);
}

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case "ENOENT":
      return "No such file or directory";
    case "EACCES":
      return "Permission denied";
    case "EISDIR":
      return "Is a directory";
    case "ENOTDIR":
      return "Not a directory";
    default:
      return "Input/output error";
  }
}

function main(argv: string[], io: PfctlIO, o: Out): number {
  if (argv.length < 1) o.usage();
  const { opts: parsed, rest } = getopt(argv, "a:AdD:eqf:F:ghi:k:K:mMnNOo:Pp:rRs:St:T:vx:z", o);
  const op: Opts = { noAction: false, verbose: 0, quiet: false, numeric: false, enable: false, disable: false, recurse: false, merge: false, showAll: false, debugFlag: false, iface: null };
  let anchoropt: string | null = null;
  let clearopt: string | null = null;
  let showopt: string | null = null;
  let rulesopt: string | null = null;
  let tableopt: string | null = null;
  let tblcmdopt: string | null = null;
  let debugopt: string | null = null;
  let rdwr = false;
  let loadopt = 0;
  const defines: [string, string][] = [];
  for (const [c, v] of parsed) {
    const val = v ?? "";
    switch (c) {
      case "a":
        anchoropt = val;
        break;
      case "d":
        op.disable = true;
        rdwr = true;
        break;
      case "D": {
        const eq = val.lastIndexOf("=");
        if (eq < 0) o.warnx(`could not parse macro definition ${val}`);
        else defines.push([val.slice(0, eq), val.slice(eq + 1)]);
        break;
      }
      case "e":
        op.enable = true;
        rdwr = true;
        break;
      case "q":
        op.quiet = true;
        break;
      case "F":
        clearopt = lookupOption(val, CLEAR_OPTS);
        if (!clearopt) {
          o.warnx(`Unknown flush modifier '${val}'`);
          o.usage();
        }
        rdwr = true;
        break;
      case "k":
      case "K":
        o.errx(1, `-${c} (killing states or source nodes) is not supported by the pfctl simulator`);
        break;
      case "m":
        op.merge = true;
        break;
      case "n":
        op.noAction = true;
        break;
      case "N":
        loadopt |= 2;
        break;
      case "R":
        loadopt |= 4;
        break;
      case "O":
        loadopt |= 8;
        break;
      case "A":
        loadopt |= 1;
        break;
      case "f":
        rulesopt = val;
        rdwr = true;
        break;
      case "g":
        op.debugFlag = true;
        break;
      case "o":
        if (!lookupOption(val, OPTI_OPTS)) {
          o.warnx(`Unknown optimization '${val}'`);
          o.usage();
        }
        break;
      case "P":
        op.numeric = true;
        break;
      case "s":
        showopt = lookupOption(val, SHOW_OPTS);
        if (!showopt) {
          o.warnx(`Unknown show modifier '${val}'`);
          o.usage();
        }
        break;
      case "t":
        tableopt = val;
        break;
      case "T":
        tblcmdopt = lookupOption(val, TBL_OPTS);
        if (!tblcmdopt) {
          o.warnx(`Unknown table command '${val}'`);
          o.usage();
        }
        break;
      case "v":
        op.verbose = op.verbose ? 2 : 1;
        break;
      case "x":
        debugopt = lookupOption(val, DEBUG_OPTS);
        if (!debugopt) {
          o.warnx(`Unknown debug level '${val}'`);
          o.usage();
        }
        rdwr = true;
        break;
      case "z":
        rdwr = true;
        break;
      case "i":
        op.iface = val;
        break;
      case "p":
      case "r":
      case "S":
      case "M":
        break;
      case "h":
      default:
        o.usage();
    }
  }
  if ((tblcmdopt === null) !== (tableopt === null)) o.usage();
  let tblArgs: string[] = [];
  if (tblcmdopt !== null) {
    tblArgs = rest;
    if (tblcmdopt === "load") {
      loadopt |= 16;
      tblcmdopt = null;
    } else rdwr = !["show", "test"].includes(tblcmdopt);
  } else if (rest.length) {
    o.warnx(`unknown command line argument: ${rest[0]} ...`);
    o.usage();
  }
  const FILTER = 4;
  const NAT = 2;
  const OPTION = 8;
  const TABLE = 16;
  if (loadopt === 0) loadopt = ~0;
  let anchor = "";
  if (anchoropt !== null) {
    if (anchoropt === "") o.errx(1, "anchor name must not be empty");
    if (!rdwr && showopt === null && tblcmdopt === null) {
      o.warnx("anchors apply to -f, -F, -s, and -T only");
      o.usage();
    }
    if (rdwr && tblcmdopt === null && (anchoropt.startsWith("_") || anchoropt.includes("/_")))
      o.errx(1, "anchor names beginning with '_' cannot be modified from the command line");
    let a = anchoropt;
    if (a.endsWith("*")) {
      a = a.length >= 2 && a[a.length - 2] === "/" ? a.slice(0, -2) : a.slice(0, -1);
      op.recurse = true;
    }
    if (a.length >= 1024) o.errx(1, `anchor name '${anchoropt}' too long`);
    anchor = a;
    loadopt &= FILTER | NAT | TABLE | 32;
  }

  let dir: string | null = null;
  try {
    dir = pfDir(io.env, !op.noAction);
  } catch (e) {
    if (!(e instanceof SimRootMissing)) throw e;
    if (!op.noAction) o.errx(1, `/dev/pf: ${e.message}`);
  }
  if (op.noAction) {
    op.enable = op.disable = false;
    clearopt = showopt = debugopt = null;
  }
  const ifs = loadIfTable(dir);
  const k = (): Kernel => (dir ? readKernel(dir) : emptyKernel());
  const update = <T>(fn: (k: Kernel) => { kernel: Kernel | null; result: T }): T => {
    if (!dir) throw new Error("no kernel");
    return updateKernel(dir, fn);
  };
  let exitVal = 0;

  if (op.disable) {
    update((kern) => {
      if (!kern.enabled) o.errx(1, "pf not enabled");
      kern.enabled = false;
      kern.since = Math.floor(Date.now() / 1000);
      return { kernel: kern, result: null };
    });
    if (!op.quiet) o.stderr("pf disabled");
  }

  if (showopt !== null) exitVal = show(showopt, k(), anchor, op, o, ifs) || exitVal;

  if (clearopt !== null) flush(clearopt, anchor, op, o, update);

  if (tblcmdopt !== null && tableopt !== null) {
    exitVal = tableCommand(tblcmdopt, tableopt, tblArgs, rulesopt, anchor, op, o, io, ifs, dir, update);
    rulesopt = null;
  }

  if (rulesopt !== null) {
    const r = loadRules(rulesopt, anchor, loadopt, op, o, io, ifs, dir, defines);
    if (r !== 0) throw new Exit(1);
  }

  if (op.enable) {
    update((kern) => {
      if (kern.enabled) o.errx(1, "pf already enabled");
      kern.enabled = true;
      kern.since = Math.floor(Date.now() / 1000);
      return { kernel: kern, result: null };
    });
    if (!op.quiet) o.stderr("pf enabled");
  }

  if (debugopt !== null) {
    update((kern) => {
      kern.debug = debugopt as string;
      return { kernel: kern, result: null };
    });
    if (!op.quiet) o.stderr(`debug level set to '${debugopt}'`);
  }
  return exitVal;
}

// ---- -f ---------------------------------------------------------------------------------------

interface Loaded {
  anchor: string;
  ruleset: Ruleset;
  tables: TableDef[];
  options: Options;
  loadEth: boolean;
  loadFilter: boolean;
  loadNat: boolean;
  loadTables: boolean;
}

function dirOf(io: PfctlIO): string | null {
  try {
    return pfDir(io.env, false);
  } catch {
    return null;
  }
}

function parseEnv(io: PfctlIO, ifs: IfTable, o: Out): ParseEnv {
  const resolveFile = (n: string): string => (path.isAbsolute(n) ? n : path.join(io.cwd, n));
  return {
    ifs,
    resolve: loadResolver(dirOf(io)),
    warn: (l) => o.stderr(l),
    readFile: (n) => {
      try {
        const st = fs.statSync(resolveFile(n));
        if (st.isDirectory()) return { errno: "Is a directory" };
        return { text: fs.readFileSync(resolveFile(n), "utf8") };
      } catch (e) {
        return { errno: errnoText(e) };
      }
    },
    fileExists: (n) => fs.existsSync(resolveFile(n)),
    fibs: loadFibs(dirOf(io)),
  };
}

/** pfctl_rules: parse, print (-v), gather "load anchor" files, then commit as one transaction. */
function loadRules(file: string, anchor: string, loadopt: number, op: Opts, o: Out, io: PfctlIO, ifs: IfTable, dir: string | null, defines: [string, string][]): number {
  const loaded: Loaded[] = [];
  const env = parseEnv(io, ifs, o);
  const one = (fname: string, anchorName: string, sub: boolean): boolean => {
    let text: string;
    let shown = fname;
    if (fname === "-" && !sub) {
      text = io.stdin();
      shown = "stdin";
    } else {
      const r = env.readFile(fname);
      if ("errno" in r) {
        o.stderr(`pfctl: ${fname}: ${r.errno}`);
        o.stderr(`pfctl: cannot open the main config file!: ${r.errno}`);
        if (!op.noAction) o.warnx("Syntax error in config file: pf rules not loaded");
        return false;
      }
      text = r.text;
    }
    const res = parsePfConf(
      {
        file: shown, text, anchor: anchorName, verbose: op.verbose, noAction: op.noAction,
        loadOptions: !anchorName && (loadopt & 8) !== 0, loadTables: (loadopt & 16) !== 0, defines,
      },
      env,
    );
    for (const l of res.out) (l.fd === 1 ? o.stdout : o.stderr)(l.text);
    if (res.errors) {
      if (!op.noAction) o.warnx("Syntax error in config file: pf rules not loaded");
      return false;
    }
    expandLabels(res.ruleset);
    const rs: Ruleset = emptyRuleset();
    if (loadopt & 32) rs.ether = res.ruleset.ether ?? [];
    if (loadopt & 4) {
      rs.scrub = res.ruleset.scrub;
      rs.filter = res.ruleset.filter;
    }
    if (loadopt & 2) {
      rs.nat = res.ruleset.nat;
      rs.rdr = res.ruleset.rdr;
      rs.binat = res.ruleset.binat;
    }
    for (const l of printLoad(rs, op.verbose, op.numeric)) o.stdout(l);
    loaded.push({ anchor: anchorName, ruleset: rs, tables: res.tables, options: res.options, loadEth: (loadopt & 32) !== 0, loadFilter: (loadopt & 4) !== 0, loadNat: (loadopt & 2) !== 0, loadTables: (loadopt & 16) !== 0 });
    for (const la of res.loadAnchors) {
      if (op.verbose) {
        o.stderr("");
        o.stderr(`Loading anchor ${la.anchor} from ${la.file}`);
      }
      if (!one(la.file, la.anchor, true)) {
        // pfctl_load_anchors failing: ERRX("load anchors"), with or without -n
        if (!sub) o.warnx("load anchors");
        return false;
      }
    }
    return true;
  };
  if (!one(file, anchor, false)) return 1;
  if (op.noAction || !dir) return 0;
  const fault = takeFault(dir, io.env);
  if (fault === "load") {
    o.warnx("Unable to load rules into kernel");
    return 1;
  }
  if (fault === "ebusy") {
    o.stderr("pfctl: DIOCXCOMMIT: Device busy");
    return 1;
  }
  updateKernel(dir, (kern) => {
    for (const l of loaded) commit(kern, l);
    prune(kern);
    return { kernel: kern, result: null };
  });
  return 0;
}

/** DIOCXCOMMIT for one anchor: its rulesets (and inline anchors') replaced, its tables defined. */
function commit(kern: Kernel, l: Loaded): void {
  const cuid = typeof process.getuid === "function" ? process.getuid() : 0;
  const place = (p: string, rs: Ruleset): void => {
    const a: KAnchor = ensureAnchor(kern, p);
    // the kernel numbers each ruleset's rules from 0 (what -vv prints as @nr)
    const store = (rules: Rule[]): Rule[] =>
      rules.map((r0, nr) => {
        const r = { ...r0, nr };
        if (r.anchor?.inline) {
          const child = p ? `${p}/${r.anchor.name}` : r.anchor.name;
          place(child, r.anchor.inline);
          return { ...r, anchor: { path: r.anchor.name, name: r.anchor.name, inline: null } };
        }
        return r;
      });
    if (l.loadEth) a.ruleset.ether = (rs.ether ?? []).map((e, nr) => ({ ...e, nr }));
    if (l.loadFilter) {
      a.ruleset.scrub = store(rs.scrub);
      a.ruleset.filter = store(rs.filter);
    }
    if (l.loadNat) {
      a.ruleset.nat = store(rs.nat);
      a.ruleset.rdr = store(rs.rdr);
      a.ruleset.binat = store(rs.binat);
    }
    a.cuid = cuid;
    a.cpid = process.pid;
  };
  place(l.anchor, l.ruleset);
  for (const kind of ["scrub", "filter", "nat", "rdr", "binat"] as const)
    for (const r of kern.anchors[l.anchor]?.ruleset[kind] ?? []) if (r.anchor) ensureAnchor(kern, resolveCall(l.anchor, r.anchor.path).path);
  if (l.loadTables)
    for (const t of l.tables) {
      const old = kern.tables.find((x) => x.anchor === l.anchor && x.name === t.name);
      const entries = t.initAddr ? dedupe(t.entries) : (old?.entries ?? []);
      const next: KTable = { anchor: l.anchor, name: t.name, const: t.const, persist: t.persist, counters: t.counters, entries };
      kern.tables = kern.tables.filter((x) => x !== old);
      kern.tables.push(next);
    }
  if (!l.anchor && l.options) {
    const opt = l.options;
    kern.limits = { ...DEFAULT_LIMITS, ...opt.limits };
    kern.timeouts = { ...DEFAULT_TIMEOUTS, ...opt.timeouts };
    if (opt.limits["states"] !== undefined && opt.timeouts["adaptive.start"] === undefined && opt.timeouts["adaptive.end"] === undefined) {
      kern.timeouts["adaptive.start"] = Math.floor((opt.limits["states"] as number) / 10) * 6;
      kern.timeouts["adaptive.end"] = Math.floor((opt.limits["states"] as number) / 10) * 12;
    }
    kern.debug = opt.debug ?? "urgent";
    kern.loginterface = opt.loginterface ?? null;
    kern.hostid = opt.hostid ?? kern.hostid;
    kern.skip = opt.skip ?? [];
  }
}

function dedupe(es: TableEntry[]): TableEntry[] {
  const seen = new Map<string, TableEntry>();
  for (const e of es) seen.set(entryKey(e), e);
  return [...seen.values()];
}

// ---- -s ---------------------------------------------------------------------------------------

function counters(a: KAnchor | undefined, op: Opts, o: Out): void {
  if (!op.verbose) return;
  o.stdout(`  [ Evaluations: ${"0".padEnd(8)}  Packets: ${"0".padEnd(8)}  Bytes: ${"0".padEnd(10)}  States: ${"0".padEnd(6)}]`);
  if (!op.debugFlag) o.stdout(`  [ Inserted: uid ${a?.cuid ?? 0} pid ${a?.cpid ?? 0} State Creations: ${"0".padEnd(6)}]`);
  if (op.verbose > 1) o.stdout("  [ Last Active Time: N/A ]");
}

function indent(depth: number, on: boolean): string {
  return on ? "  ".repeat(depth) : "";
}

function showRules(kern: Kernel, p: string, name: string, op: Opts, o: Out, depth: number, wildcard: boolean, title: { first: boolean }): void {
  let anchorName = name;
  if (anchorName.endsWith("/*")) anchorName = anchorName.slice(0, -2);
  const npath = anchorName.startsWith("/") ? anchorName.slice(1) : p ? (anchorName ? `${p}/${anchorName}` : p) : anchorName;
  if (wildcard && op.recurse) {
    if (!kern.anchors[npath]) o.stderr(`Anchor '${anchorName}' not found.`);
    for (const child of childAnchors(kern, npath)) {
      o.stdout(`${indent(depth, !op.verbose)}anchor "${child}" all {`);
      showRules(kern, npath, child, op, o, depth + 1, false, title);
      o.stdout(`${indent(depth, !op.verbose)}}`);
    }
    return;
  }
  const a = kern.anchors[npath];
  if (!a) {
    o.warnx("Anchor does not exist");
    return;
  }
  if (op.showAll) printTitle("FILTER RULES:", o, title);
  const v2 = op.verbose > 1;
  for (const r of a.ruleset.scrub) {
    o.stdout(printRule(r, "", v2, op.numeric));
    counters(a, op, o);
  }
  for (const r of a.ruleset.filter) {
    const call = r.anchor ? r.anchor.path : "";
    let line = indent(depth, !op.verbose) + printRule(r, call, v2, op.numeric);
    const last = call.split("/").filter((x) => x !== "*").pop() ?? "";
    if (call && (last.startsWith("_") || op.recurse)) {
      o.stdout(line + " {");
      counters(a, op, o);
      const res = resolveCall(npath, call);
      showRules(kern, npath, call, op, o, depth + 1, res.wildcard, title);
      o.stdout(`${indent(depth, !op.verbose)}}`);
    } else {
      o.stdout(line);
      counters(a, op, o);
    }
    line = "";
  }
}

function showNat(kern: Kernel, p: string, name: string, op: Opts, o: Out, depth: number, wildcard: boolean, title: { first: boolean }): void {
  let anchorName = name;
  if (anchorName.endsWith("/*")) anchorName = anchorName.slice(0, -2);
  const npath = anchorName.startsWith("/") ? anchorName.slice(1) : p ? (anchorName ? `${p}/${anchorName}` : p) : anchorName;
  if (wildcard && op.recurse) {
    if (!kern.anchors[npath]) o.stderr(`NAT anchor '${anchorName}' not found.`);
    for (const child of childAnchors(kern, npath)) {
      o.stdout(`${indent(depth, !op.verbose)}nat-anchor "${child}" all {`);
      showNat(kern, npath, child, op, o, depth + 1, false, title);
      o.stdout(`${indent(depth, !op.verbose)}}`);
    }
    return;
  }
  const a = kern.anchors[npath];
  if (!a) {
    o.stderr("pfctl: DIOCGETRULES: Invalid argument");
    return;
  }
  for (const kind of ["nat", "rdr", "binat"] as const)
    for (const r of a.ruleset[kind]) {
      if (op.showAll) printTitle("TRANSLATION RULES:", o, title);
      const call = r.anchor ? r.anchor.path : "";
      const line = indent(depth, !op.verbose) + printRule(r, call, op.verbose > 1, op.numeric);
      const last = call.split("/").filter((x) => x !== "*").pop() ?? "";
      if (call && (last.startsWith("_") || op.recurse)) {
        o.stdout(line + " {");
        counters(a, op, o);
        showNat(kern, npath, call, op, o, depth + 1, resolveCall(npath, call).wildcard, title);
        o.stdout(`${indent(depth, !op.verbose)}}`);
      } else {
        o.stdout(line);
        counters(a, op, o);
      }
    }
}

function printTitle(t: string, o: Out, title: { first: boolean; printed?: Set<string> }): void {
  const printed = (title.printed ??= new Set<string>());
  if (printed.has(t)) return;
  printed.add(t);
  if (!title.first) o.stdout("");
  title.first = false;
  o.stdout(t);
}

function showAnchors(kern: Kernel, p: string, op: Opts, o: Out): void {
  if (!kern.anchors[p]) {
    o.stderr(`Anchor '${p}' not found.`);
    return;
  }
  for (const child of childAnchors(kern, p)) {
    const full = p ? `${p}/${child}` : child;
    if (!child.startsWith("_") || op.verbose) o.stdout(`  ${full}`);
    showAnchors(kern, full, op, o);
  }
}

function showTables(kern: Kernel, anchor: string, op: Opts, o: Out, title: { first: boolean }): void {
  const ts = kern.tables.filter((t) => t.anchor === anchor).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (op.showAll && ts.length) printTitle("TABLES:", o, title);
  for (const t of ts) {
    if (op.verbose) {
      const refs = tableReferenced(kern, t);
      let line = `${t.const ? "c" : "-"}${t.persist ? "p" : "-"}a-${refs ? "r" : "-"}-${t.counters ? "C" : "-"}\t${t.name}`;
      if (t.anchor) line += `\t${t.anchor}`;
      o.stdout(line);
      if (op.verbose > 1) {
        o.stdout(`\tAddresses:   ${t.entries.length}`);
        o.stdout(`\tCleared:     ${ctime(kern.since)}`);
        o.stdout(`\tReferences:  [ Anchors: ${"0".padEnd(18)} Rules: ${String(refs).padEnd(18)} ]`);
        o.stdout(`\tEvaluations: [ NoMatch: ${"0".padEnd(18)} Match: ${"0".padEnd(18)} ]`);
        for (const s of ["In/Block:", "In/Pass:", "In/XPass:", "Out/Block:", "Out/Pass:", "Out/XPass:"])
          o.stdout(`\t${s.padEnd(12)} [ Packets: ${"0".padEnd(18)} Bytes: ${"0".padEnd(18)} ]`);
      }
    } else o.stdout(t.name);
  }
}

function tableReferenced(kern: Kernel, t: KTable): number {
  let n = 0;
  for (const [p, a] of Object.entries(kern.anchors))
    for (const kind of ["scrub", "filter", "nat", "rdr", "binat"] as const)
      for (const r of a.ruleset[kind])
        for (const w of [r.src.addr, r.dst.addr]) if (w.type === "table" && w.tblname === t.name && (p === t.anchor || t.anchor === "")) n++;
  return n;
}

function ctime(secs: number): string {
  const d = new Date(secs * 1000);
  const days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  const mons = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const p2 = (n: number): string => String(n).padStart(2, "0");
  return `${days[d.getDay()]} ${mons[d.getMonth()]} ${String(d.getDate()).padStart(2, " ")} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())} ${d.getFullYear()}`;
}

function showStatus(kern: Kernel, op: Opts, o: Out, title: { first: boolean }): void {
  if (op.showAll) printTitle("INFO:", o, title);
  const running = kern.enabled ? "Enabled" : "Disabled";
  let statline: string;
  if (kern.since) {
    let day = Math.max(0, Math.floor(Date.now() / 1000) - kern.since);
    const sec = day % 60;
    day = Math.floor(day / 60);
    const min = day % 60;
    day = Math.floor(day / 60);
    const hrs = day % 24;
    day = Math.floor(day / 24);
    const p2 = (n: number): string => String(n).padStart(2, "0");
    statline = `Status: ${running} for ${day} days ${p2(hrs)}:${p2(min)}:${p2(sec)}`;
  } else statline = `Status: ${running}`;
  const dbg: Record<string, string> = { none: "Debug: None", urgent: "Debug: Urgent", misc: "Debug: Misc", loud: "Debug: Loud" };
  o.stdout(statline.padEnd(44) + (dbg[kern.debug] ?? "Debug: Urgent").padStart(15));
  o.stdout("");
  if (op.verbose) {
    o.stdout(`Hostid:   0x${(kern.hostid >>> 0).toString(16).padStart(8, "0")}`);
    o.stdout(`Checksum: 0x${"0".repeat(32)}`);
    o.stdout("");
  }
  if (kern.loginterface) {
    o.stdout(`Interface Stats for ${kern.loginterface.padEnd(16)} ${"IPv4".padStart(5)} ${"IPv6".padStart(16)}`);
    o.stdout(`  ${"Bytes In".padEnd(25)} ${"0".padStart(14)} ${"0".padStart(16)}`);
    o.stdout(`  ${"Bytes Out".padEnd(25)} ${"0".padStart(14)} ${"0".padStart(16)}`);
    o.stdout("  Packets In");
    o.stdout(`    ${"Passed".padEnd(23)} ${"0".padStart(14)} ${"0".padStart(16)}`);
    o.stdout(`    ${"Blocked".padEnd(23)} ${"0".padStart(14)} ${"0".padStart(16)}`);
    o.stdout("  Packets Out");
    o.stdout(`    ${"Passed".padEnd(23)} ${"0".padStart(14)} ${"0".padStart(16)}`);
    o.stdout(`    ${"Blocked".padEnd(23)} ${"0".padStart(14)} ${"0".padStart(16)}`);
    o.stdout("");
  }
  const runtime = Math.floor(Date.now() / 1000) - kern.since;
  const row = (n: string): string => `  ${n.padEnd(25)} ${"0".padStart(14)} ` + (runtime > 0 ? `${"0.0".padStart(14)}/s` : "".padStart(14));
  o.stdout(`${"State Table".padEnd(27)} ${"Total".padStart(14)} ${"Rate".padStart(16)}`);
  o.stdout(`  ${"current entries".padEnd(25)} ${"0".padStart(14)} ${"".padStart(14)}`);
  for (const n of ["searches", "inserts", "removals"]) o.stdout(row(n));
  if (op.verbose) {
    o.stdout("Source Tracking Table");
    o.stdout(`  ${"current entries".padEnd(25)} ${"0".padStart(14)} ${"".padStart(14)}`);
    for (const n of ["searches", "inserts", "removals"]) o.stdout(row(n));
  }
  o.stdout("Counters");
  for (const n of ["match", "bad-offset", "fragment", "short", "normalize", "memory", "bad-timestamp", "congestion", "ip-option", "proto-cksum", "state-mismatch", "state-insert", "state-limit", "src-limit", "synproxy", "map-failed"])
    o.stdout(row(n));
  if (op.verbose) {
    o.stdout("Limit Counters");
    for (const n of ["max states per rule", "max-src-states", "max-src-nodes", "max-src-conn", "max-src-conn-rate", "overload table insertion", "overload flush states", "synfloods detected", "syncookies sent", "syncookies validated"])
      o.stdout(row(n));
    o.stdout("Syncookies");
    o.stdout(`  ${"mode".padEnd(25)} never`);
  }
}

function show(what: string, kern: Kernel, anchor: string, op: Opts, o: Out, ifs: IfTable): number {
  const title = { first: true };
  switch (what) {
    case "rules":
      showRules(kern, "", anchor, op, o, 0, false, title);
      return 0;
    case "nat":
      showNat(kern, "", anchor, op, o, 0, false, title);
      return 0;
    case "Anchors":
      showAnchors(kern, anchor, op, o);
      return 0;
    case "Running":
      o.stdout(kern.enabled ? "Enabled" : "Disabled");
      return kern.enabled ? 0 : 1;
    case "info":
      showStatus(kern, op, o, title);
      return 0;
    case "Tables":
      showTables(kern, anchor, op, o, title);
      return 0;
    case "timeouts":
      showTimeouts(kern, op, o, title);
      return 0;
    case "memory":
      showLimits(kern, op, o, title);
      return 0;
    case "labels":
      showLabels(kern, anchor, o);
      return 0;
    case "Interfaces": {
      // pfi_get_ifaces lists the kifs pfi_skip_if lets through: the one named by -i, or the
      // members of the group it names; `set skip on GROUP` flags the group and its members.
      const shown = (name: string, groups: readonly string[]): boolean => op.iface === null || op.iface === name || groups.includes(op.iface);
      const line = (name: string, groups: readonly string[]): string => name + (op.verbose && [name, ...groups].some((n) => kern.skip.includes(n)) ? " (skip)" : "");
      for (const i of ifs.ifaces) {
        for (const g of i.groups) if (!ifs.ifaces.some((x) => x.name === g) && shown(g, [])) o.stdout(line(g, []));
        if (shown(i.name, i.groups)) o.stdout(line(i.name, i.groups));
      }
      if (shown("all", [])) o.stdout("all");
      return 0;
    }
    case "states":
    case "Sources":
      return 0;
    case "ether":
      showEther(kern, anchor, op, o, title);
      return 0;
    case "all": {
      const sa: Opts = { ...op, showAll: true };
      showEther(kern, anchor, sa, o, title);
      showNat(kern, "", anchor, sa, o, 0, false, title);
      showRules(kern, "", anchor, sa, o, 0, false, title);
      showStatus(kern, sa, o, title);
      if (Object.values(kern.anchors).some((a) => [...a.ruleset.filter].some((r) => r.labels.length))) {
        printTitle("LABEL COUNTERS:", o, title);
        showLabels(kern, anchor, o);
      }
      showTimeouts(kern, sa, o, title);
      showLimits(kern, sa, o, title);
      showTables(kern, anchor, sa, o, title);
      printTitle("OS FINGERPRINTS:", o, title);
      o.stdout("0 fingerprints loaded");
      return 0;
    }
    default:
      o.errx(1, `-s ${what} is not supported by the pfctl simulator`);
  }
}

function showEther(kern: Kernel, anchor: string, op: Opts, o: Out, title: { first: boolean }): void {
  const a = kern.anchors[anchor];
  if (!a) {
    o.stderr("pfctl: DIOCGETETHRULES: Invalid argument");
    return;
  }
  for (const r of a.ruleset.ether ?? []) {
    if (op.showAll) printTitle("ETH RULES:", o, title);
    o.stdout(printEthRule(r, r.anchor ? r.anchor.path : "", op.verbose > 1));
    if (op.verbose) o.stdout(`  [ Evaluations: ${"0".padEnd(8)}  Packets: ${"0".padEnd(8)}  Bytes: ${"0".padEnd(10)}]`);
  }
}

function showLabels(kern: Kernel, anchor: string, o: Out): void {
  for (const r of kern.anchors[anchor]?.ruleset.filter ?? []) if (r.labels.length) o.stdout(`${r.labels.join(" ")} 0 0 0 0 0 0 0 0`);
}

function showTimeouts(kern: Kernel, op: Opts, o: Out, title: { first: boolean }): void {
  if (op.showAll) printTitle("TIMEOUTS:", o, title);
  const order = ["tcp.first", "tcp.opening", "tcp.established", "tcp.closing", "tcp.finwait", "tcp.closed", "tcp.tsdiff", "udp.first", "udp.single", "udp.multiple", "icmp.first", "icmp.error", "other.first", "other.single", "other.multiple", "frag", "interval", "adaptive.start", "adaptive.end", "src.track"];
  void TIMEOUT_ORDER;
  for (const t of order) {
    const v = kern.timeouts[t] ?? DEFAULT_TIMEOUTS[t] ?? 0;
    o.stdout(`${t.padEnd(20)} ${String(v).padStart(10)}${t.startsWith("adaptive") ? " states" : "s"}`);
  }
}

function showLimits(kern: Kernel, op: Opts, o: Out, title: { first: boolean }): void {
  if (op.showAll) printTitle("LIMITS:", o, title);
  for (const l of ["states", "src-nodes", "frags", "table-entries"]) {
    const v = kern.limits[l] ?? DEFAULT_LIMITS[l] ?? 0;
    o.stdout(`${l.padEnd(13)} ${v === 4294967295 ? "unlimited" : `hard limit ${String(v).padStart(8)}`}`);
  }
}

// ---- -F ---------------------------------------------------------------------------------------

function flush(what: string, anchor: string, op: Opts, o: Out, update: <T>(fn: (k: Kernel) => { kernel: Kernel | null; result: T }) => T): void {
  const say = (m: string): void => {
    if (!op.quiet) o.stderr(m);
  };
  const rules = (kern: Kernel, p: string): void => {
    const a = ensureAnchor(kern, p);
    a.ruleset.scrub = [];
    a.ruleset.filter = [];
  };
  const nat = (kern: Kernel, p: string): void => {
    const a = ensureAnchor(kern, p);
    a.ruleset.nat = [];
    a.ruleset.rdr = [];
    a.ruleset.binat = [];
  };
  const tables = (kern: Kernel, p: string): number => {
    const before = kern.tables.length;
    kern.tables = kern.tables.filter((t) => t.anchor !== p);
    return before - kern.tables.length;
  };
  update((kern) => {
    switch (what) {
      case "rules":
        if (op.recurse) {
          // pfctl_recurse: the anchor, then its descendants depth first, each pushed on the
          // front of a list, so they print (and are flushed) in reverse
          const visit: string[] = [anchor];
          const walk = (p: string): void => {
            for (const c of childAnchors(kern, p)) {
              const full = p ? `${p}/${c}` : c;
              visit.push(full);
              walk(full);
            }
          };
          walk(anchor);
          o.stdout("Removing:");
          for (const p of visit.reverse()) {
            o.stdout(`  ${p || "/"}`);
            rules(kern, p);
          }
        } else {
          rules(kern, anchor);
          say("rules cleared");
        }
        break;
      case "nat":
        nat(kern, anchor);
        say("nat cleared");
        break;
      case "Tables": {
        const n = tables(kern, anchor);
        say(`${n} tables deleted.`);
        break;
      }
      case "ethernet":
        ensureAnchor(kern, anchor).ruleset.ether = [];
        say("Ethernet rules cleared");
        break;
      case "all": {
        ensureAnchor(kern, anchor).ruleset.ether = [];
        say("Ethernet rules cleared");
        rules(kern, anchor);
        say("rules cleared");
        nat(kern, anchor);
        say("nat cleared");
        const n = tables(kern, anchor);
        say(`${n} tables deleted.`);
        if (!anchor) {
          say("0 states cleared");
          say("source tracking entries cleared");
          say("pf: statistics cleared");
          say("pf: interface flags reset");
        }
        break;
      }
      case "states":
        say("0 states cleared");
        break;
      case "Sources":
        say("source tracking entries cleared");
        break;
      case "info":
        say("pf: statistics cleared");
        break;
      default:
        o.errx(1, `-F ${what} is not supported by the pfctl simulator`);
    }
    prune(kern);
    return { kernel: kern, result: null };
  });
}

// ---- -T ---------------------------------------------------------------------------------------

function tableCommand(
  cmd: string, name: string, args: string[], file: string | null, anchor: string, op: Opts, o: Out, io: PfctlIO,
  ifs: IfTable, dir: string | null, update: <T>(fn: (k: Kernel) => { kernel: Kernel | null; result: T }) => T,
): number {
  if (name.length >= 32) o.usage();
  const suffix = op.noAction ? (dir ? " (dummy)." : " (syntax only).") : ".";
  const xprintf = (m: string): void => {
    if (!op.quiet) o.stderr(m + suffix);
  };
  const perror = (m: string): number => {
    o.stderr(`pfctl: ${m}.`);
    return -1;
  };
  const env = { ifs, resolve: loadResolver(dir), warn: (l: string) => o.stderr(l) };
  const loadAddr = (test: boolean): TableEntry[] | null => {
    const es: TableEntry[] = [];
    for (const w of args) {
      const e = entriesFromWord(env, w, test);
      if (e === "bad") return null;
      if (e === "einval") {
        o.stderr(`pfctl: cannot decode ${w}: Invalid argument`);
        return null;
      }
      es.push(...e);
    }
    if (file !== null) {
      let text: string;
      try {
        text = file === "-" ? io.stdin() : fs.readFileSync(path.isAbsolute(file) ? file : path.join(io.cwd, file), "utf8");
      } catch (e) {
        o.stderr(`pfctl: cannot load ${file}: ${errnoText(e)}`);
        return null;
      }
      for (const w of addressWords(text)) {
        const e = entriesFromWord(env, w, test);
        if (e === "bad" || e === "einval") {
          o.stderr(`pfctl: cannot load ${file}: Invalid argument`);
          return null;
        }
        es.push(...e);
      }
    }
    return es;
  };
  const noArgs = (): void => {
    if (args.length || file !== null) o.usage();
  };
  const find = (k: Kernel): KTable | undefined => k.tables.find((t) => t.anchor === anchor && t.name === name);
  const readOnly = (): Kernel => (dir ? readKernel(dir) : emptyKernel());
  const mutate = <T>(fn: (k: Kernel) => T): T => {
    if (!dir || op.noAction) return fn(readOnly());
    return update((k) => {
      const r = fn(k);
      prune(k);
      return { kernel: k, result: r };
    });
  };
  const createIfMissing = (k: Kernel): KTable => {
    let t = find(k);
    if (!t) {
      t = { anchor, name, const: false, persist: true, counters: false, entries: [] };
      k.tables.push(t);
      ensureAnchor(k, anchor);
      if (anchor && k.tables.some((x) => x.anchor === "" && x.name === name))
        o.warnx(`warning: namespace collision with <${name}> global table.`);
      xprintf("1 table created");
    }
    return t;
  };
  switch (cmd) {
    case "show": {
      noArgs();
      const t = find(readOnly());
      if (!t) return perror("Table does not exist");
      for (const e of sortEntries(t.entries)) {
        o.stdout(printEntry(e));
        if (op.verbose) o.stdout(`\tCleared:     ${ctime(readOnly().since)}`);
      }
      return 0;
    }
    case "add":
    case "delete":
    case "replace": {
      const es = loadAddr(false);
      if (!es) return -1;
      return mutate((k) => {
        if (cmd === "delete") {
          const t = find(k);
          if (!t) return perror("Table does not exist");
          if (t.const) return perror("Operation not permitted");
          const keys = new Set(es.map(entryKey));
          const before = t.entries.length;
          t.entries = t.entries.filter((e) => !keys.has(entryKey(e)));
          xprintf(`${before - t.entries.length}/${es.length} addresses deleted`);
          return 0;
        }
        const t = createIfMissing(k);
        if (t.const) return perror("Operation not permitted");
        if (cmd === "add") {
          const have = new Set(t.entries.map(entryKey));
          let nadd = 0;
          for (const e of es)
            if (!have.has(entryKey(e))) {
              have.add(entryKey(e));
              t.entries.push(e);
              nadd++;
            }
          xprintf(`${nadd}/${es.length} addresses added`);
          return 0;
        }
        const want = dedupe(es);
        const old = new Map(t.entries.map((e) => [entryKey(e), e]));
        const neu = new Map(want.map((e) => [entryKey(e), e]));
        let nadd = 0;
        let ndel = 0;
        let nchange = 0;
        for (const [key, e] of neu) {
          const prev = old.get(key);
          if (!prev) nadd++;
          else if (prev.not !== e.not) nchange++;
        }
        for (const key of old.keys()) if (!neu.has(key)) ndel++;
        t.entries = want;
        if (nadd) xprintf(`${nadd} addresses added`);
        if (ndel) xprintf(`${ndel} addresses deleted`);
        if (nchange) xprintf(`${nchange} addresses changed`);
        if (!nadd && !ndel && !nchange) xprintf("no changes");
        return 0;
      });
    }
    case "flush":
      noArgs();
      return mutate((k) => {
        const t = find(k);
        if (!t) return perror("Table does not exist");
        if (t.const) return perror("Operation not permitted");
        const n = t.entries.length;
        t.entries = [];
        xprintf(`${n} addresses deleted`);
        return 0;
      });
    case "kill":
      noArgs();
      return mutate((k) => {
        const before = k.tables.length;
        k.tables = k.tables.filter((t) => !(t.anchor === anchor && t.name === name));
        xprintf(`${before - k.tables.length} table deleted`);
        return 0;
      });
    case "zero":
      noArgs();
      if (!find(readOnly())) return perror("Table does not exist");
      xprintf("1 table/stats cleared");
      return 0;
    case "expire":
      if (args.length !== 1 || file !== null) o.usage();
      if (!/^[0-9]+$/.test(args[0] as string)) o.errx(1, `expiry time: invalid`);
      if (!find(readOnly())) return perror("Table does not exist");
      xprintf("0/0 addresses expired");
      return 0;
    case "test": {
      const es = loadAddr(true);
      if (!es) return -1;
      const t = find(readOnly());
      if (!t) return perror("Table does not exist");
      let nmatch = 0;
      const matched: TableEntry[] = [];
      for (const e of es) {
        let best: TableEntry | null = null;
        for (const c of t.entries) {
          if (c.af !== e.af) continue;
          if (!prefixContains(c, e)) continue;
          if (!best || c.net > best.net) best = c;
        }
        if (best && !best.not) {
          nmatch++;
          matched.push(e);
        }
      }
      xprintf(`${nmatch}/${es.length} addresses match`);
      if (op.verbose) for (const e of matched) o.stdout(printEntry(e, "M"));
      return nmatch < es.length ? 2 : 0;
    }
    default:
      o.errx(1, `-T ${cmd} is not supported by the pfctl simulator`);
  }
}

function prefixContains(net: TableEntry, a: TableEntry): boolean {
  let bits = net.net;
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const m = bits >= 8 ? 0xff : (0xff00 >> bits) & 0xff;
    if (((net.addr[i] ?? 0) & m) !== ((a.addr[i] ?? 0) & m)) return false;
  }
  return true;
}
