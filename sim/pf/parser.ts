/**
 * parsePfConf: the pf.conf grammar of FreeBSD 14's sbin/pfctl/parse.y, as a recursive-descent
 * parser over the yylex-faithful Lexer, with yacc's error recovery (skip to the end of the line,
 * no second "syntax error" until three tokens were shifted), the same checks and messages, and
 * the same list expansion (expand_rule). Pure: files, interfaces and names come through `env`;
 * everything pfctl would print comes back as ordered output lines.
 *
 * Constructs the simulator does not model (ether rules, altq/queue, os fingerprints, brace-only
 * "fake" anchors, include of a missing file aside) are refused with a FILE:LINE message and count
 * as errors, so a file that uses them never loads.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  AFLAG_BROADCAST, AFLAG_MODEMASK, AFLAG_NETWORK, AFLAG_NOALIAS, AFLAG_PEER, type Af, cloneHost, emptyWrap,
  host, type HostEnv, ifaLookup, ifNameToIndex, isZero, type NodeHost, setIpmask, unmask, zero,
} from "./addr.js";
import { Lexer, type Token } from "./lexer.js";
import { getProtoByName, getServByName } from "./netdb.js";
import { expandLabel, printEthRule, icmpCodeByName, icmpTypeByName, NAT_PROXY_PORT_HIGH, NAT_PROXY_PORT_LOW, printRule, TCPFLAGS, UID_MAX } from "./print.js";
import {
  type Action, type AnchorCall, type EthAddr, type EthRule, emptyRuleset, LOG, LOG_ALL, LOG_MATCHES, LOG_SOCKET_LOOKUP, type Pool, type PoolType, type PortOp,
  PRIO_ZERO, type Rule, type RuleAddr, type Ruleset, rulesetOf,
} from "./rule.js";
import { entriesFromHosts, entriesFromWord, addressWords, printTableDef, type TableDef, type TableEntry } from "./tables.js";

export interface Output {
  fd: 1 | 2;
  text: string; // one line, without its newline
}

export interface ParseEnv extends HostEnv {
  /** net.fibs: routing tables 0 .. fibs-1 are valid rtable ids (FreeBSD's default is 1) */
  fibs?: number;
  readFile(name: string): { text: string } | { errno: string };
  fileExists(name: string): boolean;
}

export interface ParseOptions {
  file: string; // name used in messages ("stdin" for -)
  text: string;
  anchor: string; // the anchor being loaded, "" for the main ruleset
  verbose: 0 | 1 | 2;
  noAction: boolean;
  loadOptions: boolean; // PFCTL_FLAG_OPTION (main ruleset loads only)
  loadTables: boolean;
  defines: [string, string][]; // -D macro=value
}

export interface Options {
  limits: Record<string, number>;
  timeouts: Record<string, number>;
  loginterface: string | null | undefined; // undefined: not set
  hostid: number | undefined;
  debug: string | undefined;
  skip: string[] | undefined;
  optimization: string | undefined;
  reassemble: { on: boolean; nodf: boolean } | undefined;
  syncookies: string | undefined;
  keepCounters: boolean;
}

export interface ParseResult {
  errors: number;
  out: Output[];
  ruleset: Ruleset;
  tables: TableDef[];
  options: Options;
  loadAnchors: { anchor: string; file: string }[];
}

class ParseFail extends Error {
  constructor(readonly syntax: boolean) {
    super(syntax ? "syntax error" : "semantic error");
  }
}

const STATE_OPTION = 1;
const STATE_ETHER = 2;
const STATE_SCRUB = 3;
const STATE_QUEUE = 4;
const STATE_NAT = 5;
const STATE_FILTER = 6;

const ICMP_UNREACH = 3;
const ICMP_UNREACH_PORT = 3;
const ICMP6_DST_UNREACH = 1;
const ICMP6_DST_UNREACH_NOPORT = 4;
const UINT_MAX = 4294967295;
const PF_TABLE_NAME_SIZE = 32;
const PF_TAG_NAME_SIZE = 64;
const PF_RULE_LABEL_SIZE = 64;
const PF_RULE_MAX_LABEL_COUNT = 5;
const IFNAMSIZ = 16;
const PF_QNAME_SIZE = 64;
const PF_PRIO_MAX = 7;
const PF_THRESHOLD_MAX = 0xffffffff / 1000;

const TIMEOUT_NAMES = [
  "tcp.first", "tcp.opening", "tcp.established", "tcp.closing", "tcp.finwait", "tcp.closed", "tcp.tsdiff",
  "udp.first", "udp.single", "udp.multiple", "icmp.first", "icmp.error", "other.first", "other.single",
  "other.multiple", "frag", "interval", "adaptive.start", "adaptive.end", "src.track",
];
const LIMIT_NAMES = ["states", "src-nodes", "frags", "table-entries"];
const HINTS: Record<string, [string, number][]> = (() => {
  const normal: [string, number][] = [["tcp.first", 120], ["tcp.opening", 30], ["tcp.established", 86400], ["tcp.closing", 900], ["tcp.finwait", 45], ["tcp.closed", 90], ["tcp.tsdiff", 30]];
  const satellite: [string, number][] = [["tcp.first", 180], ["tcp.opening", 35], ["tcp.established", 86400], ["tcp.closing", 905], ["tcp.finwait", 50], ["tcp.closed", 95], ["tcp.tsdiff", 60]];
  const conservative: [string, number][] = [["tcp.first", 3600], ["tcp.opening", 900], ["tcp.established", 432000], ["tcp.closing", 3600], ["tcp.finwait", 600], ["tcp.closed", 180], ["tcp.tsdiff", 60]];
  const aggressive: [string, number][] = [["tcp.first", 30], ["tcp.opening", 5], ["tcp.established", 18000], ["tcp.closing", 60], ["tcp.finwait", 30], ["tcp.closed", 30], ["tcp.tsdiff", 10]];
  return { normal, satellite, "high-latency": satellite, conservative, aggressive };
})();
const TOS_NAMES: Record<string, number> = {
  af11: 0x28, af12: 0x30, af13: 0x38, af21: 0x48, af22: 0x50, af23: 0x58, af31: 0x68, af32: 0x70, af33: 0x78,
  af41: 0x88, af42: 0x90, af43: 0x98, critical: 0xa0, cs0: 0x00, cs1: 0x20, cs2: 0x40, cs3: 0x60, cs4: 0x80,
  cs5: 0xa0, cs6: 0xc0, cs7: 0xe0, ef: 0xb8, inetcontrol: 0xc0, lowdelay: 0x10, netcontrol: 0xe0,
  reliability: 0x04, throughput: 0x08, va: 0xb0,
};

interface Port {
  op: PortOp;
  a: number;
  b: number;
}
interface Uid {
  op: PortOp;
  a: number;
  b: number;
}
interface Icmp {
  type: number;
  code: number;
  proto: number;
}
interface IfItem {
  name: string;
  not: boolean;
  dynamic?: boolean;
}
interface StateOpt {
  kind: "pflow" | "max" | "nosync" | "srctrack" | "max-src-states" | "max-src-conn" | "max-src-conn-rate" | "overload" | "max-src-nodes" | "statelock" | "sloppy" | "timeout";
  n?: number;
  n2?: number;
  s?: string;
}
interface FilterOpts {
  rcv: IfItem | null;
  uid: Uid[] | null;
  gid: Uid[] | null;
  flagsSet: boolean;
  flags: number;
  flagset: number;
  icmp: Icmp[] | null;
  prio?: number;
  tos: number;
  tosSet: boolean;
  keepSet: boolean;
  keep: { action: Rule["keepState"]; options: StateOpt[] | null };
  ridentifier: number;
  fragment: boolean;
  allowOpts: boolean;
  labels: string[];
  qname: string | null;
  pqname: string | null;
  dnpipe: number;
  dnrpipe: number;
  dnIsPipe: boolean;
  tag: string | null;
  matchTag: string | null;
  matchTagNot: boolean;
  prob: number;
  rtableid: number;
  divertPort: number;
  nodf: boolean;
  minttl: number;
  settos: number | null;
  randomid: boolean;
  maxMss: number;
  scrubTcp: boolean;
  setPrio: [number, number] | null;
}
interface ScrubOpts {
  nodf: boolean;
  minttl: number;
  maxmss: number;
  settos: number | null;
  fragcache: "" | "reassemble" | "noreassemble";
  randomid: boolean;
  reassembleTcp: boolean;
  matchTag: string | null;
  matchTagNot: boolean;
  rtableid: number;
}
interface PoolOpts {
  endpointIndependent: boolean;
  type: PoolType;
  sticky: boolean;
  staticPort: boolean;
  key: [number, number, number, number] | null;
  mape: { offset: number; psidlen: number; psid: number };
}
interface FromTo {
  srcHosts: NodeHost[] | null;
  srcPorts: Port[] | null;
  dstHosts: NodeHost[] | null;
  dstPorts: Port[] | null;
}

interface Anchor {
  name: string;
  ruleset: Ruleset;
  match: number;
}

/** The users and groups of a fresh FreeBSD 14 install (etc/master.passwd, etc/group). */
const FREEBSD_USERS: Record<string, number> = {
  root: 0, toor: 0, daemon: 1, operator: 2, bin: 3, tty: 4, kmem: 5, games: 7, news: 8, man: 9, sshd: 22,
  smmsp: 25, mailnull: 26, bind: 53, unbound: 59, proxy: 62, _pflogd: 64, _dhcp: 65, uucp: 66, pop: 68,
  auditdistd: 78, www: 80, ntpd: 123, _ypldap: 160, hast: 845, tests: 977, nobody: 65534,
};
const FREEBSD_GROUPS: Record<string, number> = {
  wheel: 0, daemon: 1, kmem: 2, sys: 3, tty: 4, operator: 5, mail: 6, bin: 7, news: 8, man: 9, games: 13,
  ftp: 14, staff: 20, sshd: 22, smmsp: 25, mailnull: 26, guest: 31, video: 44, realtime: 47, idletime: 48,
  bind: 53, unbound: 59, proxy: 62, authpf: 63, _pflogd: 64, _dhcp: 65, uucp: 66, dialer: 68, network: 69,
  audit: 77, www: 80, ntpd: 123, _ypldap: 160, hast: 845, tests: 977, nogroup: 65533, nobody: 65534,
};

function blankRuleAddr(): RuleAddr {
  return { addr: emptyWrap(), neg: false, port: [0, 0], portOp: 0 };
}

export function blankPool(): Pool {
  return { addrs: [], type: "none", sticky: false, key: [0, 0, 0, 0], proxyPort: [0, 0], mape: { offset: 0, psidlen: 0, psid: 0 } };
}

export function blankRule(): Rule {
  return {
    nr: 0, action: "pass", returnKind: "", returnTtl: 0, returnIcmp: 0, returnIcmp6: 0, direction: "", log: 0,
    logif: 0, quick: false, ifname: "", ifnot: false, rt: "", af: 0, proto: 0, src: blankRuleAddr(),
    dst: blankRuleAddr(), os: "", uid: { op: 0, ids: [0, 0] }, gid: { op: 0, ids: [0, 0] }, flags: 0, flagset: 0,
    type: 0, code: 0, tos: 0, prio: 0, setPrio: null, keepState: 0, prob: 0, maxStates: 0, maxSrcNodes: 0,
    maxSrcStates: 0, maxSrcConn: 0, maxSrcConnRate: [0, 0], overload: "", flush: 0, nosync: false, srctrack: "",
    ifbound: false, sloppy: false, timeouts: {}, fragment: false, nodf: false, randomid: false, minTtl: 0,
    maxMss: 0, setTos: null, allowOpts: false, reassembleTcp: false, fragNoReass: false, labels: [],
    ridentifier: 0, dnpipe: 0, dnrpipe: 0, dnIsPipe: false, qname: "", pqname: "", tag: "", matchTag: "",
    matchTagNot: false, rtableid: -1, divertPort: 0, natpass: false, rpool: blankPool(), anchor: null,
  };
}

function cloneRule(r: Rule): Rule {
  return JSON.parse(JSON.stringify(r)) as Rule;
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}

/** atoul: strtoul(s, &ep, 0) that must consume the whole string. */
function atoul(s: string): number | null {
  if (s === "") return null;
  let m: RegExpExecArray | null;
  if ((m = /^0[xX]([0-9a-fA-F]+)$/.exec(s))) return parseInt(m[1] as string, 16);
  if (/^0[0-7]*$/.test(s)) return parseInt(s, 8);
  if (/^[1-9][0-9]*$/.test(s)) return Number(s);
  if (/^\+[0-9]+$/.test(s)) return Number(s.slice(1));
  return null;
}

function parseFlags(s: string): number {
  let f = 0;
  for (const ch of s) {
    const i = TCPFLAGS.indexOf(ch);
    if (i < 0) return -1;
    f |= 1 << i;
  }
  return f ? f : 0xff;
}

function dynifMultiaddr(h: NodeHost): boolean {
  if (h.addr.type !== "dynif") return false;
  const last = h.addr.ifname[h.addr.ifname.length - 1];
  return !(h.addr.iflags & AFLAG_NOALIAS) || !isDigit(last);
}

export class Parser {
  private lex: Lexer;
  private tok: Token | null = null;
  private errflag = 0;
  errors = 0;
  readonly out: Output[] = [];
  private rulestate = 0;
  private blockpolicy: "drop" | "return" = "drop";
  private failpolicy: "drop" | "return" = "drop";
  private requireOrder = true;
  private defaultStatelock = false;
  private keepStateDefaults: StateOpt[] | null = null;
  private readonly returnicmpdefault = (ICMP_UNREACH << 8) | ICMP_UNREACH_PORT;
  private readonly returnicmp6default = (ICMP6_DST_UNREACH << 8) | ICMP6_DST_UNREACH_NOPORT;
  private astack: Anchor[] = [];
  private inlineStack: (Anchor | null)[] = [];
  private bn = 0;
  private ethMatch = 0;
  private altqQueues: { name: string; parent: string; ifname: string; scheduler: string }[] = [];
  private alast: Anchor | null = null;
  readonly tables: TableDef[] = [];
  readonly loadAnchors: { anchor: string; file: string }[] = [];
  readonly options: Options = {
    limits: {}, timeouts: {}, loginterface: undefined, hostid: undefined, debug: undefined, skip: undefined,
    optimization: undefined, reassemble: undefined, syncookies: undefined, keepCounters: false,
  };
  private optimizeSet = false;

  constructor(
    private readonly opts: ParseOptions,
    private readonly env: ParseEnv,
  ) {
    this.lex = new Lexer(
      {
        readFile: (n) => {
          const r = env.readFile(n);
          return "text" in r ? r.text : null;
        },
        error: (file, line, msg) => this.errorAt(file, line, msg),
        warn: (m) => this.stderr(`pfctl: ${m}`),
      },
      opts.file,
      opts.text,
    );
    for (const [k, v] of opts.defines) this.lex.symset(k, v, true);
    const root: Anchor = { name: opts.anchor, ruleset: emptyRuleset(), match: 0 };
    this.astack = [root];
    this.inlineStack = [null];
  }

  // ---- output ------------------------------------------------------------------------------

  private stdout(text: string): void {
    this.out.push({ fd: 1, text });
  }
  private stderr(text: string): void {
    this.out.push({ fd: 2, text });
  }
  private errorAt(file: string, line: number, msg: string): void {
    this.errors++;
    this.stderr(`${file}:${line}: ${msg}`);
  }
  /** yyerror: FILE:LINE of the last token read. */
  private yyerror(msg: string): void {
    this.errorAt(this.lex.fileName, this.lex.lineno, msg);
  }
  private fail(msg?: string): never {
    if (msg !== undefined) this.yyerror(msg);
    throw new ParseFail(false);
  }
  private refuse(what: string): never {
    this.fail(`${what} is not supported by the pfctl simulator`);
  }
  private get verbose(): boolean {
    return this.opts.verbose > 0;
  }
  private hostEnv(): HostEnv {
    return { ifs: this.env.ifs, resolve: this.env.resolve, warn: (l) => this.stderr(l) };
  }

  // ---- tokens ------------------------------------------------------------------------------

  private peek(): Token {
    if (!this.tok) this.tok = this.lex.next();
    return this.tok;
  }
  private take(): Token {
    const t = this.peek();
    this.tok = null;
    if (this.errflag > 0) this.errflag--;
    return t;
  }
  private isKw(w: string): boolean {
    const t = this.peek();
    return t.kind === "kw" && t.text === w;
  }
  private isCh(c: string): boolean {
    const t = this.peek();
    return t.kind === "char" && t.text === c;
  }
  private acceptKw(w: string): boolean {
    if (this.isKw(w)) {
      this.take();
      return true;
    }
    return false;
  }
  private acceptCh(c: string): boolean {
    if (this.isCh(c)) {
      this.take();
      return true;
    }
    return false;
  }
  private syntax(): never {
    throw new ParseFail(true);
  }
  private expectKw(w: string): void {
    if (!this.acceptKw(w)) this.syntax();
  }
  private expectCh(c: string): void {
    if (!this.acceptCh(c)) this.syntax();
  }
  private expectString(): string {
    const t = this.peek();
    if (t.kind !== "STRING") this.syntax();
    this.take();
    return t.text;
  }
  private expectNumber(): bigint {
    const t = this.peek();
    if (t.kind !== "NUMBER") this.syntax();
    this.take();
    return t.num as bigint;
  }
  private optnl(): void {
    while (this.acceptCh("\n"));
  }
  private comma(): void {
    this.acceptCh(",");
  }
  /** string: STRING STRING ... joined by spaces */
  private string(): string {
    const parts = [this.expectString()];
    while (this.peek().kind === "STRING") parts.push(this.take().text);
    return parts.join(" ");
  }
  /** numberstring: NUMBER | STRING */
  private numberstring(): string {
    const t = this.peek();
    if (t.kind === "NUMBER") {
      this.take();
      return (t.num as bigint).toString();
    }
    return this.expectString();
  }
  /** number: NUMBER | STRING that atoul accepts */
  private number(): number {
    const t = this.peek();
    if (t.kind === "NUMBER") {
      this.take();
      return Number(t.num);
    }
    const s = this.expectString();
    const v = atoul(s);
    if (v === null) this.fail(`${s} is not a number`);
    return v;
  }

  // ---- top level ---------------------------------------------------------------------------

  parse(): ParseResult {
    for (;;) {
      const t = this.peek();
      if (t.kind === "EOF") break;
      try {
        this.statement();
      } catch (e) {
        if (!(e instanceof ParseFail)) throw e;
        if (e.syntax && this.errflag === 0) this.yyerror("syntax error");
        this.errors++;
        this.errflag = 3;
        // yacc's error recovery: discard tokens up to the end of the line
        let eof = false;
        for (;;) {
          const d = this.peek();
          if (d.kind === "EOF") {
            eof = true;
            break;
          }
          this.tok = null;
          if (d.kind === "char" && d.text === "\n") break;
        }
        if (eof) break;
        this.errflag = 2;
        this.inlineStack = [null];
        this.astack = this.astack.slice(0, 1);
      }
    }
    for (const name of this.lex.unusedMacros())
      if (this.opts.verbose > 1) this.stderr(`warning: macro '${name}' not used`);
    const root = this.astack[0] as Anchor;
    return { errors: this.errors, out: this.out, ruleset: root.ruleset, tables: this.tables, options: this.options, loadAnchors: this.loadAnchors };
  }

  private endOfStatement(): void {
    this.expectCh("\n");
  }

  private statement(): void {
    const t = this.peek();
    if (t.kind === "char" && t.text === "\n") {
      this.take();
      return;
    }
    if (t.kind === "STRING") {
      this.varset();
      return this.endOfStatement();
    }
    if (t.kind === "char" && t.text === "{") this.refuse("a brace block outside an anchor");
    if (t.kind !== "kw") this.syntax();
    switch (t.text) {
      case "include":
        return this.include();
      case "set":
        this.option();
        return this.endOfStatement();
      case "ether":
        this.etherrule();
        return this.endOfStatement();
      case "scrub":
        this.scrubrule(false);
        return this.endOfStatement();
      case "nat":
      case "rdr":
        this.natrule(false);
        return this.endOfStatement();
      case "binat":
        this.binatrule(false);
        return this.endOfStatement();
      case "no": {
        this.take();
        const n = this.peek();
        if (n.kind === "kw" && n.text === "scrub") this.scrubrule(true);
        else if (n.kind === "kw" && (n.text === "nat" || n.text === "rdr")) this.natrule(true);
        else if (n.kind === "kw" && n.text === "binat") this.binatrule(true);
        else this.syntax();
        return this.endOfStatement();
      }
      case "pass":
      case "block":
      case "match":
        this.pfrule();
        return this.endOfStatement();
      case "anchor":
      case "nat-anchor":
      case "rdr-anchor":
      case "binat-anchor":
        this.anchorrule();
        return this.endOfStatement();
      case "load":
        this.loadrule();
        return this.endOfStatement();
      case "altq":
        this.altqif();
        return this.endOfStatement();
      case "queue":
        this.queuespec();
        return this.endOfStatement();
      case "antispoof":
        this.antispoof();
        return this.endOfStatement();
      case "table":
        this.tabledef();
        return this.endOfStatement();
      default:
        this.syntax();
    }
  }

  private checkRulestate(desired: number): void {
    if (this.requireOrder && this.rulestate > desired)
      this.fail("Rules must be in order: options, ethernet, normalization, queueing, translation, filtering");
    this.rulestate = desired;
  }

  private include(): void {
    this.expectKw("include");
    const name = this.expectString();
    const r = this.env.readFile(name);
    if ("errno" in r) {
      this.stderr(`pfctl: ${name}: ${r.errno}`);
      this.fail(`failed to include file ${name}`);
    }
    // parse.y pushes the file and ungets a newline, which ends the include line; the
    // include line's own newline is read after the included file
    this.lex.pushFile(name);
    this.lex.ungetNewline();
    this.expectCh("\n");
  }

  private varset(): void {
    const name = this.expectString();
    this.expectCh("=");
    const parts = [this.numberstring()];
    while (this.peek().kind === "STRING" || this.peek().kind === "NUMBER") parts.push(this.numberstring());
    const val = parts.join(" ");
    if (this.verbose) this.stdout(`${name} = "${val}"`);
    if (/\s/.test(name.slice(1))) this.fail("macro name cannot contain whitespace");
    this.lex.symset(name, val, false);
  }

  // ---- options -------------------------------------------------------------------------------

  private yesno(): boolean {
    if (this.acceptKw("no")) return false;
    const s = this.expectString();
    if (s === "yes") return true;
    this.fail(`invalid value '${s}', expected 'yes' or 'no'`);
  }

  private setTimeout(name: string, secs: number, quiet: boolean): boolean {
    if (!this.opts.loadOptions) return true;
    const canon = TIMEOUT_NAMES.find((t) => t.toLowerCase() === name.toLowerCase());
    if (!canon) {
      this.stderr("pfctl: Bad timeout name.");
      return false;
    }
    this.options.timeouts[canon] = secs;
    if (this.verbose && !quiet) this.stdout(`set timeout ${name} ${secs}`);
    return true;
  }

  private timeoutSpec(): void {
    let name: string;
    if (this.acceptKw("interval")) name = "interval";
    else name = this.expectString();
    const n = this.expectNumber();
    this.checkRulestate(STATE_OPTION);
    if (n < 0n || n > BigInt(UINT_MAX)) this.fail("only positive values permitted");
    if (!this.setTimeout(name, Number(n), false)) {
      if (name === "interval") this.fail();
      this.fail(`unknown timeout ${name}`);
    }
  }

  private limitSpec(): void {
    const name = this.expectString();
    const n = this.expectNumber();
    this.checkRulestate(STATE_OPTION);
    if (n < 0n || n > BigInt(UINT_MAX)) this.fail("only positive values permitted");
    if (!this.opts.loadOptions) return;
    const canon = LIMIT_NAMES.find((l) => l.toLowerCase() === name.toLowerCase());
    if (!canon) {
      this.stderr("pfctl: Bad pool name.");
      this.fail(`unable to set limit ${name} ${n}`);
    }
    this.options.limits[canon] = Number(n);
    if (this.verbose) this.stdout(`set limit ${name} ${Number(n) | 0}`);
  }

  private option(): void {
    this.expectKw("set");
    const t = this.take();
    if (t.kind !== "kw") this.syntax();
    switch (t.text) {
      case "reassemble": {
        const on = this.yesno();
        const nodf = this.acceptKw("no-df");
        this.checkRulestate(STATE_OPTION);
        if (!this.opts.loadOptions) return;
        this.options.reassemble = { on, nodf };
        if (this.verbose) this.stdout(`set reassemble ${on ? "yes" : "no"} ${nodf ? "no-df" : ""}`);
        return;
      }
      case "optimization": {
        const s = this.expectString();
        this.checkRulestate(STATE_OPTION);
        if (!this.opts.loadOptions) return;
        const key = Object.keys(HINTS).find((h) => h.toLowerCase() === s.toLowerCase());
        if (!key) {
          this.stderr("pfctl: invalid state timeouts optimization");
          this.fail(`unknown optimization ${s}`);
        }
        for (const [n, v] of HINTS[key] ?? []) this.setTimeout(n, v, true);
        this.options.optimization = s;
        if (this.verbose) this.stdout(`set optimization ${s}`);
        return;
      }
      case "ruleset-optimization": {
        const s = this.string();
        if (!["none", "basic", "profile"].includes(s)) this.fail(`unknown ruleset-optimization ${s}`);
        this.optimizeSet = true;
        return;
      }
      case "timeout":
        if (this.acceptCh("{")) {
          this.optnl();
          this.timeoutSpec();
          this.optnl();
          while (!this.isCh("}")) {
            this.comma();
            this.timeoutSpec();
            this.optnl();
          }
          this.expectCh("}");
        } else this.timeoutSpec();
        return;
      case "limit":
        if (this.acceptCh("{")) {
          this.optnl();
          this.limitSpec();
          this.optnl();
          while (!this.isCh("}")) {
            this.comma();
            this.limitSpec();
            this.optnl();
          }
          this.expectCh("}");
        } else this.limitSpec();
        return;
      case "loginterface": {
        const s = this.acceptKw("all") ? "all" : this.expectString();
        this.checkRulestate(STATE_OPTION);
        if (!this.opts.loadOptions) return;
        this.options.loginterface = s === "none" ? null : s;
        if (this.verbose) this.stdout(`set loginterface ${s}`);
        return;
      }
      case "hostid": {
        const n = this.number();
        if (n === 0 || n > UINT_MAX) this.fail("hostid must be non-zero");
        if (!this.opts.loadOptions) return;
        this.options.hostid = n;
        if (this.verbose) this.stdout(`set hostid 0x${n.toString(16).padStart(8, "0")}`);
        return;
      }
      case "block-policy":
      case "fail-policy": {
        const v = this.take();
        if (v.kind !== "kw" || (v.text !== "drop" && v.text !== "return")) this.syntax();
        if (this.verbose) this.stdout(`set ${t.text} ${v.text}`);
        this.checkRulestate(STATE_OPTION);
        if (t.text === "block-policy") this.blockpolicy = v.text;
        else this.failpolicy = v.text;
        return;
      }
      case "require-order": {
        const v = this.yesno();
        if (this.verbose) this.stdout(`set require-order ${v ? "yes" : "no"}`);
        this.requireOrder = v;
        return;
      }
      case "fingerprints": {
        const s = this.expectString();
        if (this.verbose) this.stdout(`set fingerprints "${s}"`);
        this.checkRulestate(STATE_OPTION);
        if (!this.opts.anchor && !this.env.fileExists(s)) {
          this.stderr(`pfctl: ${s}: No such file or directory`);
          this.fail(`error loading fingerprints ${s}`);
        }
        return;
      }
      case "state-policy": {
        const v = this.take();
        if (v.kind !== "kw" || (v.text !== "if-bound" && v.text !== "floating")) this.syntax();
        if (this.verbose) this.stdout(`set state-policy ${v.text}`);
        this.defaultStatelock = v.text === "if-bound";
        return;
      }
      case "debug": {
        const s = this.expectString();
        this.checkRulestate(STATE_OPTION);
        if (!this.opts.loadOptions) return;
        if (!["none", "urgent", "misc", "loud"].includes(s)) {
          this.stderr(`pfctl: unknown debug level "${s}"`);
          this.fail(`error setting debuglevel ${s}`);
        }
        this.options.debug = s;
        if (this.verbose) this.stdout(`set debug ${s}`);
        return;
      }
      case "skip": {
        const ifs = this.interfaceSpec();
        if (!ifs || (ifs.length === 1 && !ifs[0]?.not && ifs[0]?.name === "none")) {
          if (this.verbose) this.stdout("set skip on none");
          if (this.opts.loadOptions) this.options.skip = [];
          return;
        }
        let line = "set skip on {";
        let bad = false;
        for (const i of ifs) {
          line += ` ${i.name}`;
          if (i.not) bad = true;
        }
        if (this.verbose) this.stdout(line + " }");
        if (bad) {
          this.yyerror("skip on ! <interface> is not supported");
          this.fail("error setting skip interface(s)");
        }
        if (this.opts.loadOptions) this.options.skip = [...(this.options.skip ?? []), ...ifs.map((i) => i.name)];
        return;
      }
      case "state-defaults": {
        const l = this.stateOptList();
        if (this.keepStateDefaults !== null) this.fail("cannot redefine state-defaults");
        this.keepStateDefaults = l;
        return;
      }
      case "keepcounters":
        this.options.keepCounters = true;
        return;
      case "syncookies": {
        const v = this.expectString();
        if (!["never", "adaptive", "always"].includes(v)) this.fail("illegal value for syncookies");
        let start = 0;
        let end = 0;
        let withOpts = false;
        if (this.acceptCh("(")) {
          withOpts = true;
          for (;;) {
            const k = this.expectString();
            const p = this.expectString();
            const m = /^([0-9.]+)%$/.exec(p);
            if (!m) this.fail();
            const val = Number(m[1]);
            if (val <= 0 || val > 100) this.fail("illegal percentage value");
            if (k === "start") start = val;
            else if (k === "end") end = val;
            else this.fail("illegal syncookie option");
            if (this.acceptCh(")")) break;
            this.comma();
          }
        }
        if (v !== "adaptive" && withOpts) {
          this.stderr("pfctl: syncookies start/end only apply to adaptive");
          this.fail("error setting syncookies");
        }
        if (withOpts) {
          if (!start) start = 25;
          if (!end) end = start / 2;
          if (end >= start) {
            this.stderr("pfctl: start must be higher than end");
            this.fail("error setting syncookies");
          }
        }
        if (this.verbose) {
          if (v === "adaptive" && withOpts) this.stdout(`set syncookies adaptive (start ${Math.trunc(start)}%, end ${Math.trunc(end)}%)`);
          else this.stdout(`set syncookies ${v}`);
        }
        this.options.syncookies = v;
        return;
      }
      default:
        this.syntax();
    }
  }

  // ---- pieces shared by rules ----------------------------------------------------------------

  private ifItem(): IfItem {
    const name = this.expectString();
    if (name.length >= IFNAMSIZ) this.fail("interface name too long");
    return { name, not: false };
  }
  private ifItemNot(): IfItem {
    const not = this.acceptCh("!");
    const i = this.ifItem();
    i.not = not;
    return i;
  }
  /** interface: empty | ON if_item_not | ON '{' if_list '}' */
  private interfaceSpec(): IfItem[] | null {
    if (!this.acceptKw("on")) return null;
    if (this.acceptCh("{")) {
      this.optnl();
      const list = [this.ifItemNot()];
      this.optnl();
      while (!this.isCh("}")) {
        this.comma();
        list.push(this.ifItemNot());
        this.optnl();
      }
      this.expectCh("}");
      return list;
    }
    return [this.ifItemNot()];
  }

  private af(): Af {
    if (this.acceptKw("inet")) return 4;
    if (this.acceptKw("inet6")) return 6;
    return 0;
  }

  private protoItem(): number {
    const t = this.peek();
    let p: number;
    if (t.kind === "NUMBER") {
      this.take();
      const n = t.num as bigint;
      if (n < 0n || n > 255n) this.fail("protocol outside range");
      p = Number(n);
    } else {
      const s = this.expectString();
      const v = getProtoByName(s);
      if (v === null) this.fail(`unknown protocol ${s}`);
      p = v;
    }
    if ((p & 0xff) === 0) this.fail("proto 0 cannot be used");
    return p & 0xff;
  }
  private protoSpec(): number[] | null {
    if (!this.acceptKw("proto")) return null;
    if (this.acceptCh("{")) {
      this.optnl();
      const l = [this.protoItem()];
      this.optnl();
      while (!this.isCh("}")) {
        this.comma();
        l.push(this.protoItem());
        this.optnl();
      }
      this.expectCh("}");
      return l;
    }
    return [this.protoItem()];
  }

  /** dynaddr: '(' STRING ')' */
  private dynaddr(): NodeHost {
    this.expectCh("(");
    const op = this.expectString();
    this.expectCh(")");
    if (!/^[A-Za-z]/.test(op)) this.fail(`invalid interface name '${op}'`);
    let name = op;
    let flags = 0;
    for (let p = name.lastIndexOf(":"); p >= 0; p = name.lastIndexOf(":")) {
      const m = name.slice(p + 1);
      if (m === "network") flags |= AFLAG_NETWORK;
      else if (m === "broadcast") flags |= AFLAG_BROADCAST;
      else if (m === "peer") flags |= AFLAG_PEER;
      else if (m === "0") flags |= AFLAG_NOALIAS;
      else this.fail(`interface ${name} has bad modifier`);
      name = name.slice(0, p);
    }
    if (flags & (flags - 1) & AFLAG_MODEMASK) this.fail("illegal combination of interface modifiers");
    if (name.length >= IFNAMSIZ) this.fail("interface name too long");
    const h: NodeHost = { af: 0, addr: { ...emptyWrap("dynif"), ifname: name, iflags: flags }, not: false, ifindex: 0 };
    setIpmask(h, 128);
    return h;
  }

  private hostLookup(s: string): NodeHost[] {
    const h = host(this.hostEnv(), s);
    if (!h) this.fail("could not parse host specification");
    return h;
  }

  /** host: STRING | STRING '-' STRING | STRING '/' NUMBER | NUMBER '/' NUMBER | dynaddr ['/' NUMBER] | '<' STRING '>' */
  private host(): NodeHost[] {
    const t = this.peek();
    if (t.kind === "char" && t.text === "(") {
      const d = this.dynaddr();
      if (this.acceptCh("/")) {
        const n = this.expectNumber();
        if (n < 0n || n > 128n) this.fail("bit number too big");
        setIpmask(d, Number(n));
      }
      return [d];
    }
    if (t.kind === "char" && t.text === "<") {
      this.take();
      const name = this.expectString();
      this.expectCh(">");
      if (name.length >= PF_TABLE_NAME_SIZE) this.fail(`table name '${name}' too long`);
      return [{ af: 0, addr: { ...emptyWrap("table"), tblname: name }, not: false, ifindex: 0 }];
    }
    if (t.kind === "NUMBER") {
      this.take();
      this.expectCh("/");
      const m = this.expectNumber();
      return this.hostLookup(`${t.num}/${m}`);
    }
    const s = this.expectString();
    if (this.acceptCh("-")) {
      const e = this.expectString();
      const bh = host(this.hostEnv(), s);
      const eh = bh ? host(this.hostEnv(), e) : null;
      if (!bh || !eh) this.fail("could not parse host specification");
      const b = bh[0] as NodeHost;
      const en = eh[0] as NodeHost;
      if (
        b.af !== en.af || b.addr.type !== "addrmask" || en.addr.type !== "addrmask" ||
        unmask(b.addr.mask) !== (b.af === 4 ? 32 : 128) || unmask(en.addr.mask) !== (en.af === 4 ? 32 : 128) ||
        bh.length > 1 || b.not || eh.length > 1 || en.not
      )
        this.fail("invalid address range");
      return [{ ...b, addr: { ...b.addr, type: "range", mask: [...en.addr.addr] } }];
    }
    if (this.acceptCh("/")) {
      const n = this.expectNumber();
      return this.hostLookup(`${s}/${n}`);
    }
    return this.hostLookup(s);
  }

  /** xhost: not host | not NOROUTE | not URPFFAILED */
  private xhost(): NodeHost[] {
    const not = this.acceptCh("!");
    if (this.acceptKw("no-route")) return [{ af: 0, addr: emptyWrap("noroute"), not, ifindex: 0 }];
    if (this.acceptKw("urpf-failed")) return [{ af: 0, addr: emptyWrap("urpf"), not, ifindex: 0 }];
    const h = this.host();
    for (const n of h) n.not = not;
    return h;
  }

  /** ipspec: ANY | xhost | '{' host_list '}'; null for "any" */
  private ipspec(): NodeHost[] | null {
    if (this.acceptKw("any")) return null;
    if (this.acceptCh("{")) {
      this.optnl();
      let list = this.ipspec();
      this.optnl();
      while (!this.isCh("}")) {
        this.comma();
        const n = this.ipspec();
        this.optnl();
        if (n === null) continue;
        list = list === null ? n : [...list, ...n];
      }
      this.expectCh("}");
      return list;
    }
    return this.xhost();
  }

  private getservice(n: string): number {
    const v = atoul(n);
    if (v !== null) {
      if (v > 65535) this.fail(`illegal port value ${v}`);
      return v;
    }
    const p = getServByName(n, "tcp") ?? getServByName(n, "udp");
    if (p === null) this.fail(`unknown port ${n}`);
    return p;
  }

  /** parseport: a port, a name, "a:b", or with PPORT_STAR "a:*" */
  private parseport(s: string, range: boolean, star: boolean): { a: number; b: number; t: PortOp } {
    const p = s.indexOf(":");
    if (p < 0) return { a: this.getservice(s), b: 0, t: 0 };
    if (star && s.slice(p + 1) === "*") return { a: this.getservice(s.slice(0, p)), b: 0, t: "><" };
    if (range) {
      const a = this.getservice(s.slice(0, p));
      const b = this.getservice(s.slice(p + 1));
      if (a === b) return { a, b: 0, t: 0 };
      return { a, b, t: ":" };
    }
    this.fail();
  }

  private unaryop(): PortOp | null {
    if (this.acceptCh("=")) return "=";
    if (this.isCh("!")) {
      this.take();
      this.expectCh("=");
      return "!=";
    }
    if (this.acceptCh("<")) return this.acceptCh("=") ? "<=" : "<";
    if (this.acceptCh(">")) return this.acceptCh("=") ? ">=" : ">";
    return null;
  }

  private portItem(): Port {
    const op = this.unaryop();
    const first = this.parseport(this.numberstring(), true, false);
    if (op) {
      if (first.t) this.fail("':' cannot be used with an other port operator");
      return { op, a: first.a, b: first.b };
    }
    const t = this.peek();
    if (t.kind === "PORTBINARY") {
      this.take();
      const second = this.parseport(this.numberstring(), true, false);
      if (first.t || second.t) this.fail("':' cannot be used with an other port operator");
      return { op: t.text as PortOp, a: first.a, b: second.a };
    }
    return { op: first.t ? ":" : "=", a: first.a, b: first.b };
  }
  private portspec(): Port[] {
    if (this.acceptCh("{")) {
      this.optnl();
      const l = [this.portItem()];
      this.optnl();
      while (!this.isCh("}")) {
        this.comma();
        l.push(this.portItem());
        this.optnl();
      }
      this.expectCh("}");
      return l;
    }
    return [this.portItem()];
  }

  private ipportspec(): { hosts: NodeHost[] | null; ports: Port[] | null } {
    if (this.acceptKw("port")) return { hosts: null, ports: this.portspec() };
    const hosts = this.ipspec();
    if (this.acceptKw("port")) return { hosts, ports: this.portspec() };
    return { hosts, ports: null };
  }

  /** fromto: ALL | from os to */
  private fromto(): FromTo {
    const ft: FromTo = { srcHosts: null, srcPorts: null, dstHosts: null, dstPorts: null };
    if (this.acceptKw("all")) return ft;
    if (this.acceptKw("from")) {
      const s = this.ipportspec();
      ft.srcHosts = s.hosts;
      ft.srcPorts = s.ports;
    }
    if (this.isKw("os")) {
      this.take();
      this.refuse("OS fingerprinting (os)");
    }
    if (this.acceptKw("to")) {
      const d = this.ipportspec();
      if (d.hosts?.some((h) => h.addr.type === "urpf")) this.fail('"urpf-failed" is not permitted in a destination address');
      ft.dstHosts = d.hosts;
      ft.dstPorts = d.ports;
    }
    return ft;
  }

  private logopt(): { log: number; logif: number } {
    if (this.acceptKw("all")) return { log: LOG_ALL, logif: 0 };
    if (this.acceptKw("matches")) return { log: LOG_MATCHES, logif: 0 };
    if (this.acceptKw("user") || this.acceptKw("group")) return { log: LOG_SOCKET_LOOKUP, logif: 0 };
    this.expectKw("to");
    const s = this.string();
    if (!s.startsWith("pflog")) this.fail(`${s}: should be a pflog interface`);
    const rest = s.slice(5);
    if (!/^[0-9]+$/.test(rest)) this.fail(`${s}: invalid`);
    if (Number(rest) > 255) this.fail(`${s}: too large`);
    return { log: 0, logif: Number(rest) };
  }
  private log(): { log: number; logif: number } | null {
    if (!this.acceptKw("log")) return null;
    if (!this.acceptCh("(")) return { log: LOG, logif: 0 };
    let r = this.logopt();
    while (!this.isCh(")")) {
      this.comma();
      const o = this.logopt();
      r = { log: r.log | o.log, logif: o.logif || r.logif };
    }
    this.expectCh(")");
    return { log: LOG | r.log, logif: r.logif };
  }
  /** logquick: [log] [quick] in either order */
  private logquick(): { log: number; logif: number; quick: boolean } {
    let l = this.log();
    const quick = this.acceptKw("quick");
    if (quick && !l) l = this.log();
    return { log: l?.log ?? 0, logif: l?.logif ?? 0, quick };
  }

  private uidItem(isGroup: boolean): Uid {
    const name = isGroup ? "group" : "user";
    const single = (): number => {
      const t = this.peek();
      if (t.kind === "NUMBER") {
        this.take();
        const n = t.num as bigint;
        if (n < 0n || n >= BigInt(UID_MAX)) this.fail(`illegal ${isGroup ? "gid" : "uid"} value ${n}`);
        return Number(n);
      }
      const s = this.expectString();
      if (s === "unknown") return UID_MAX;
      const known = isGroup ? FREEBSD_GROUPS : FREEBSD_USERS;
      if (!(s in known)) this.fail(`unknown ${name} ${s}`);
      return known[s] as number;
    };
    const op = this.unaryop();
    const a = single();
    if (op) {
      if (a === UID_MAX && op !== "=" && op !== "!=") this.fail(`${name} unknown requires operator = or !=`);
      return { op, a, b: a };
    }
    const t = this.peek();
    if (t.kind === "PORTBINARY") {
      this.take();
      const b = single();
      if (a === UID_MAX || b === UID_MAX) this.fail(`${name} unknown requires operator = or !=`);
      return { op: t.text as PortOp, a, b };
    }
    return { op: "=", a, b: a };
  }
  private uids(isGroup: boolean): Uid[] {
    if (this.acceptCh("{")) {
      this.optnl();
      const l = [this.uidItem(isGroup)];
      this.optnl();
      while (!this.isCh("}")) {
        this.comma();
        l.push(this.uidItem(isGroup));
        this.optnl();
      }
      this.expectCh("}");
      return l;
    }
    return [this.uidItem(isGroup)];
  }

  private flag(): number {
    const s = this.expectString();
    const f = parseFlags(s);
    if (f < 0) this.fail(`bad flags ${s}`);
    return f;
  }

  private icmpItem(af: 4 | 6): Icmp {
    const proto = af === 4 ? 1 : 58;
    const kind = af === 4 ? "icmp" : "icmp6";
    let type: number;
    const t = this.peek();
    if (t.kind === "NUMBER") {
      this.take();
      const n = t.num as bigint;
      if (n < 0n || n > 255n) this.fail(`illegal ${kind}-type ${n}`);
      type = Number(n) + 1;
    } else {
      const s = this.expectString();
      const v = icmpTypeByName(s, af);
      if (v === null) this.fail(`unknown ${kind}-type ${s}`);
      type = v + 1;
    }
    if (!this.acceptKw("code")) return { type, code: 0, proto };
    const c = this.peek();
    if (c.kind === "NUMBER") {
      this.take();
      const n = c.num as bigint;
      if (n < 0n || n > 255n) this.fail(`illegal icmp-code ${n}`);
      return { type, code: Number(n) + 1, proto };
    }
    const s = this.expectString();
    const v = icmpCodeByName(type - 1, s, af);
    if (v === null) this.fail(`unknown ${kind}-code ${s}`);
    return { type, code: v + 1, proto };
  }
  private icmpspec(): Icmp[] {
    const af = this.take().text === "icmp-type" ? 4 : 6;
    if (this.acceptCh("{")) {
      this.optnl();
      const l = [this.icmpItem(af)];
      this.optnl();
      while (!this.isCh("}")) {
        this.comma();
        l.push(this.icmpItem(af));
        this.optnl();
      }
      this.expectCh("}");
      return l;
    }
    return [this.icmpItem(af)];
  }

  private tos(): number {
    const t = this.peek();
    if (t.kind === "NUMBER") {
      this.take();
      const n = Number(t.num);
      if (n < 0 || n > 255) this.fail(`illegal tos value ${t.text}`);
      return n;
    }
    const s = this.expectString();
    let v = 256;
    const named = Object.entries(TOS_NAMES).find(([k]) => k.toLowerCase() === s.toLowerCase());
    if (named) v = named[1];
    else if (/^0x[0-9a-fA-F]+$/.test(s)) v = parseInt(s.slice(2), 16);
    if (v < 0 || v > 255) this.fail(`illegal tos value ${s}`);
    return v;
  }

  private stateOptItem(): StateOpt {
    const t = this.take();
    const num = (): number => {
      const n = this.expectNumber();
      if (n < 0n || n > BigInt(UINT_MAX)) this.fail("only positive values permitted");
      return Number(n);
    };
    if (t.kind === "kw") {
      switch (t.text) {
        case "max":
          return { kind: "max", n: num() };
        case "no-sync":
          return { kind: "nosync" };
        case "max-src-states":
          return { kind: "max-src-states", n: num() };
        case "max-src-conn":
          return { kind: "max-src-conn", n: num() };
        case "max-src-conn-rate": {
          const a = this.expectNumber();
          this.expectCh("/");
          const b = this.expectNumber();
          if (a < 0n || a > BigInt(UINT_MAX) || b < 0n || b > BigInt(UINT_MAX)) this.fail("only positive values permitted");
          return { kind: "max-src-conn-rate", n: Number(a), n2: Number(b) };
        }
        case "overload": {
          this.expectCh("<");
          const name = this.expectString();
          this.expectCh(">");
          let flush = 0;
          if (this.acceptKw("flush")) flush = this.acceptKw("global") ? 3 : 1;
          if (name.length >= PF_TABLE_NAME_SIZE) this.fail(`table name '${name}' too long`);
          return { kind: "overload", s: name, n: flush };
        }
        case "max-src-nodes":
          return { kind: "max-src-nodes", n: num() };
        case "source-track":
          if (this.acceptKw("global")) return { kind: "srctrack", s: "global" };
          if (this.acceptKw("rule")) return { kind: "srctrack", s: "rule" };
          return { kind: "srctrack", s: "" };
        case "if-bound":
          return { kind: "statelock", n: 1 };
        case "floating":
          return { kind: "statelock", n: 0 };
        case "sloppy":
          return { kind: "sloppy" };
        case "pflow":
          return { kind: "pflow" };
        default:
          this.syntax();
      }
    }
    if (t.kind !== "STRING") this.syntax();
    const n = this.expectNumber();
    if (n < 0n || n > BigInt(UINT_MAX)) this.fail("only positive values permitted");
    const name = TIMEOUT_NAMES.find((x) => x === t.text);
    if (!name) this.fail(`illegal timeout name ${t.text}`);
    if (!name.includes(".")) this.fail(`illegal state timeout ${t.text}`);
    return { kind: "timeout", s: name, n: Number(n) };
  }
  private stateOptList(): StateOpt[] {
    const l = [this.stateOptItem()];
    while (!this.isCh(")") && !this.isCh("\n")) {
      this.comma();
      l.push(this.stateOptItem());
    }
    return l;
  }

  private keep(): { action: Rule["keepState"]; options: StateOpt[] | null } {
    const t = this.take();
    let action: Rule["keepState"];
    if (t.text === "no") {
      this.expectKw("state");
      return { action: 0, options: null };
    }
    if (t.text === "keep") action = "keep";
    else if (t.text === "modulate") action = "modulate";
    else action = "synproxy";
    this.expectKw("state");
    let options: StateOpt[] | null = null;
    if (this.acceptCh("(")) {
      options = this.stateOptList();
      this.expectCh(")");
    }
    return { action, options };
  }

  private probability(): number {
    const t = this.peek();
    if (t.kind === "NUMBER") {
      this.take();
      return Number(t.num);
    }
    const s = this.expectString();
    const m = /^([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)(%?)$/.exec(s);
    if (!m) this.fail(`invalid probability: ${s}`);
    let p = Number(m[1]);
    if (m[2]) p *= 0.01;
    return p;
  }

  private blankFilterOpts(): FilterOpts {
    return {
      rcv: null, uid: null, gid: null, flagsSet: false, flags: 0, flagset: 0, icmp: null, tos: 0, tosSet: false, keepSet: false,
      keep: { action: 0, options: null }, ridentifier: 0, fragment: false, allowOpts: false, labels: [], qname: null,
      pqname: null, dnpipe: 0, dnrpipe: 0, dnIsPipe: false, tag: null, matchTag: null, matchTagNot: false, prob: 0,
      rtableid: -1, divertPort: 0, nodf: false, minttl: 0, settos: null, randomid: false, maxMss: 0, scrubTcp: false,
      setPrio: null,
    };
  }

  private dnArgs(): [number, number | null] {
    if (this.acceptCh("(")) {
      const a = this.number();
      let b: number | null = null;
      if (!this.isCh(")")) {
        this.comma();
        b = this.number();
      }
      this.expectCh(")");
      return [a, b];
    }
    return [this.number(), null];
  }

  private filterOpts(): FilterOpts {
    const o = this.blankFilterOpts();
    for (;;) {
      const t = this.peek();
      if (t.kind === "char" && t.text === "!") {
        this.take();
        this.expectKw("tagged");
        o.matchTag = this.string();
        o.matchTagNot = true;
        continue;
      }
      if (t.kind !== "kw") return o;
      switch (t.text) {
        case "user":
        case "group": {
          this.take();
          const l = this.uids(t.text === "group");
          if (t.text === "user") o.uid = [...l, ...(o.uid ?? [])];
          else o.gid = [...l, ...(o.gid ?? [])];
          break;
        }
        case "received-on": {
          this.take();
          const not = this.acceptCh("!");
          const i = this.ifItem();
          i.not = not;
          o.rcv = i;
          break;
        }
        case "flags": {
          this.take();
          let b1 = 0;
          let b2 = 0;
          if (this.acceptKw("any")) {
            /* flags any */
          } else if (this.acceptCh("/")) b2 = this.flag();
          else {
            b1 = this.flag();
            this.expectCh("/");
            b2 = this.flag();
          }
          if (o.flagsSet) this.fail("flags cannot be redefined");
          o.flagsSet = true;
          o.flags |= b1;
          o.flagset |= b2;
          break;
        }
        case "icmp-type":
        case "icmp6-type": {
          const l = this.icmpspec();
          if (o.icmp) this.fail("icmp-type cannot be redefined");
          o.icmp = l;
          break;
        }
        case "prio": {
          this.take();
          const n = this.expectNumber();
          if (o.prio !== undefined) this.fail("prio cannot be redefined");
          if (n < 0n || n > BigInt(PF_PRIO_MAX)) this.fail(`prio must be 0 - ${PF_PRIO_MAX}`);
          o.prio = Number(n);
          break;
        }
        case "tos": {
          this.take();
          const v = this.tos();
          if (o.tosSet) this.fail("tos cannot be redefined");
          o.tosSet = true;
          o.tos = v;
          break;
        }
        case "no":
        case "keep":
        case "modulate":
        case "synproxy": {
          const k = this.keep();
          if (o.keepSet) this.fail("modulate or keep cannot be redefined");
          o.keepSet = true;
          o.keep = k;
          break;
        }
        case "ridentifier":
          this.take();
          o.ridentifier = this.number();
          break;
        case "fragment":
          this.take();
          o.fragment = true;
          break;
        case "allow-opts":
          this.take();
          o.allowOpts = true;
          break;
        case "label": {
          this.take();
          const l = this.expectString();
          if (o.labels.length >= PF_RULE_MAX_LABEL_COUNT) this.fail(`label can only be used ${PF_RULE_MAX_LABEL_COUNT} times`);
          o.labels.push(l);
          break;
        }
        case "queue": {
          this.take();
          let q: string;
          let pq: string | null = null;
          if (this.acceptCh("(")) {
            q = this.expectString();
            if (!this.isCh(")")) {
              this.comma();
              pq = this.expectString();
            }
            this.expectCh(")");
          } else q = this.expectString();
          if (o.qname) this.fail("queue cannot be redefined");
          o.qname = q;
          o.pqname = pq;
          break;
        }
        case "dnpipe":
        case "dnqueue": {
          this.take();
          const [a, b] = this.dnArgs();
          o.dnpipe = a;
          if (b !== null) o.dnrpipe = b;
          o.dnIsPipe = t.text === "dnpipe";
          break;
        }
        case "tag":
          this.take();
          o.tag = this.string();
          break;
        case "tagged":
          this.take();
          o.matchTag = this.string();
          o.matchTagNot = false;
          break;
        case "probability": {
          this.take();
          const pr = this.probability();
          const p = Math.floor(pr * UINT_MAX + 0.5);
          if (p < 0 || p > UINT_MAX) this.fail(`invalid probability: ${p.toFixed(6)}`);
          o.prob = p === 0 ? 1 : p;
          break;
        }
        case "rtable": {
          this.take();
          const n = this.expectNumber();
          if (n < 0n || n > BigInt(this.rtMax())) this.fail("invalid rtable id");
          o.rtableid = Number(n);
          break;
        }
        case "divert-to": {
          this.take();
          let portStr = this.numberstring();
          if (this.acceptKw("port")) portStr = this.numberstring();
          const p = this.parseport(portStr, false, false);
          if (!p.a) this.fail(`invalid divert port: ${p.a}`);
          o.divertPort = p.a;
          break;
        }
        case "divert-reply":
          this.take();
          this.fail("divert-reply has no meaning in FreeBSD pf(4)");
          break;
        case "scrub": {
          this.take();
          this.expectCh("(");
          const s = this.scrubOpts(true);
          this.expectCh(")");
          o.nodf = s.nodf;
          o.minttl = s.minttl;
          if (s.settos !== null) o.settos = s.settos;
          o.randomid = s.randomid;
          o.maxMss = s.maxmss;
          if (s.reassembleTcp) o.scrubTcp = true;
          break;
        }
        case "set": {
          this.take();
          const one = (): void => {
            if (this.acceptKw("prio")) {
              let v: [number, number];
              if (this.acceptCh("(")) {
                const a = this.expectNumber();
                this.comma();
                const b = this.expectNumber();
                this.expectCh(")");
                if (a < 0n || a > 7n || b < 0n || b > 7n) this.fail(`prio must be 0 - ${PF_PRIO_MAX}`);
                v = [Number(a), Number(b)];
              } else {
                const a = this.expectNumber();
                if (a < 0n || a > 7n) this.fail(`prio must be 0 - ${PF_PRIO_MAX}`);
                v = [Number(a), Number(a)];
              }
              if (o.setPrio) this.fail("prio cannot be redefined");
              o.setPrio = v;
            } else if (this.acceptKw("tos")) {
              const v = this.tos();
              if (o.settos !== null) this.fail("tos cannot be respecified");
              o.settos = v;
            } else this.syntax();
          };
          if (this.acceptCh("(")) {
            one();
            while (!this.isCh(")")) {
              this.comma();
              one();
            }
            this.expectCh(")");
          } else one();
          break;
        }
        default:
          return o;
      }
    }
  }

  private scrubOpts(inParens: boolean): ScrubOpts {
    const s: ScrubOpts = { nodf: false, minttl: 0, maxmss: 0, settos: null, fragcache: "", randomid: false, reassembleTcp: false, matchTag: null, matchTagNot: false, rtableid: -1 };
    let first = true;
    for (;;) {
      if (!first && this.isCh(",")) this.take();
      const t = this.peek();
      const isOpt =
        (t.kind === "kw" && ["no-df", "min-ttl", "max-mss", "set-tos", "fragment", "reassemble", "random-id", "rtable", "tagged"].includes(t.text)) ||
        (t.kind === "char" && t.text === "!");
      if (!isOpt) {
        if (inParens && first) this.syntax();
        return s;
      }
      first = false;
      this.take();
      if (t.kind === "char") {
        this.expectKw("tagged");
        s.matchTag = this.string();
        s.matchTagNot = true;
        continue;
      }
      switch (t.text) {
        case "no-df":
          if (s.nodf) this.fail("no-df cannot be respecified");
          s.nodf = true;
          break;
        case "min-ttl": {
          const n = this.expectNumber();
          if (s.minttl) this.fail("min-ttl cannot be respecified");
          if (n < 0n || n > 255n) this.fail(`illegal min-ttl value ${n}`);
          s.minttl = Number(n);
          break;
        }
        case "max-mss": {
          const n = this.expectNumber();
          if (s.maxmss) this.fail("max-mss cannot be respecified");
          if (n < 0n || n > 65535n) this.fail(`illegal max-mss value ${n}`);
          s.maxmss = Number(n);
          break;
        }
        case "set-tos": {
          const v = this.tos();
          if (s.settos !== null) this.fail("set-tos cannot be respecified");
          s.settos = v;
          break;
        }
        case "fragment": {
          const no = this.acceptKw("no");
          this.expectKw("reassemble");
          if (s.fragcache) this.fail("fragcache cannot be respecified");
          s.fragcache = no ? "noreassemble" : "reassemble";
          break;
        }
        case "reassemble": {
          const w = this.expectString();
          if (w.toLowerCase() !== "tcp") this.fail(`scrub reassemble supports only tcp, not '${w}'`);
          if (s.reassembleTcp) this.fail("reassemble tcp cannot be respecified");
          s.reassembleTcp = true;
          break;
        }
        case "random-id":
          if (s.randomid) this.fail("random-id cannot be respecified");
          s.randomid = true;
          break;
        case "rtable": {
          const n = this.expectNumber();
          if (n < 0n || n > BigInt(this.rtMax())) this.fail("invalid rtable id");
          s.rtableid = Number(n);
          break;
        }
        case "tagged":
          s.matchTag = this.string();
          s.matchTagNot = false;
          break;
      }
    }
  }

  private poolOpts(): PoolOpts {
    const p: PoolOpts = { endpointIndependent: false, type: "none", sticky: false, staticPort: false, key: null, mape: { offset: 0, psidlen: 0, psid: 0 } };
    for (;;) {
      const t = this.peek();
      if (t.kind !== "kw") return p;
      const setType = (ty: PoolType): void => {
        if (p.type !== "none") this.fail("pool type cannot be redefined");
        p.type = ty;
      };
      switch (t.text) {
        case "bitmask":
          this.take();
          setType("bitmask");
          break;
        case "random":
          this.take();
          setType("random");
          break;
        case "round-robin":
          this.take();
          setType("round-robin");
          break;
        case "source-hash": {
          this.take();
          let key: [number, number, number, number];
          if (this.peek().kind === "STRING") {
            const s = this.string();
            if (s.startsWith("0x")) {
              if (s.length !== 34) this.fail("hex key must be 128 bits (32 hex digits) long");
              if (!/^0x[0-9a-fA-F]{32}$/.test(s)) this.fail("invalid hex key");
              key = [0, 1, 2, 3].map((i) => parseInt(s.slice(2 + 8 * i, 10 + 8 * i), 16)) as [number, number, number, number];
            } else {
              const d = createHash("md5").update(s).digest();
              key = [0, 1, 2, 3].map((i) => d.readUInt32BE(4 * i)) as [number, number, number, number];
            }
          } else {
            const d = randomBytes(16);
            key = [0, 1, 2, 3].map((i) => d.readUInt32BE(4 * i)) as [number, number, number, number];
          }
          setType("source-hash");
          p.key = key;
          break;
        }
        case "static-port":
          this.take();
          if (p.staticPort) this.fail("static-port cannot be redefined");
          p.staticPort = true;
          break;
        case "endpoint-independent":
          this.take();
          if (p.endpointIndependent) this.fail("endpoint-independent cannot be redefined");
          p.endpointIndependent = true;
          break;
        case "sticky-address":
          this.take();
          if (p.sticky) this.fail("sticky-address cannot be redefined");
          p.sticky = true;
          break;
        case "map-e-portset": {
          this.take();
          const a = this.number();
          this.expectCh("/");
          const b = this.number();
          this.expectCh("/");
          const c = this.number();
          if (p.mape.offset) this.fail("map-e-portset cannot be redefined");
          if (p.type !== "none") this.fail("map-e-portset cannot be used with address pools");
          if (a <= 0 || a >= 16) this.fail("MAP-E PSID offset must be 1-15");
          if (b < 0 || b >= 16 || a + b > 16) this.fail("Invalid MAP-E PSID length");
          else if (b === 0) this.fail("PSID Length = 0: this means you do not need MAP-E");
          if (c < 0 || c > 65535) this.fail("Invalid MAP-E PSID");
          p.mape = { offset: a, psidlen: b, psid: c };
          break;
        }
        default:
          return p;
      }
    }
  }

  private rtable(): number {
    if (!this.acceptKw("rtable")) return -1;
    const n = this.expectNumber();
    if (n < 0n || n > BigInt(this.rtMax())) this.fail("invalid rtable id");
    return Number(n);
  }

  // ---- rules ------------------------------------------------------------------------------------

  private rtMax(): number {
    return (this.env.fibs ?? 1) - 1;
  }

  private current(): Anchor {
    return this.astack[this.astack.length - 1] as Anchor;
  }

  private appendRule(r: Rule): void {
    const rs = this.current().ruleset;
    rs[rulesetOf(r.action)].push(r);
  }

  private checkNetmask(h: NodeHost, af: Af): boolean {
    if (h.addr.type === "table") return false;
    if (h.addr.type === "dynif") {
      // an interface address in an inet rule or pool gets a /32 mask (pool hosts are the rule's own)
      if (af === 4 && unmask(h.addr.mask) > 32) setIpmask(h, 32);
      return false;
    }
    const m = h.addr.mask;
    if (af === 4 && m.slice(4).some((x) => x !== 0)) {
      this.stderr(`netmask ${unmask(m)} invalid for IPv4 address`);
      return true;
    }
    return false;
  }

  private filterConsistent(r: Rule): number {
    let problems = 0;
    if (r.proto !== 6 && r.proto !== 17 && (r.src.portOp || r.dst.portOp)) {
      this.yyerror("port only applies to tcp/udp");
      problems++;
    }
    if (r.proto !== 1 && r.proto !== 58 && (r.type || r.code)) {
      this.yyerror("icmp-type/code only applies to icmp");
      problems++;
    }
    if (!r.af && (r.type || r.code)) {
      this.yyerror("must indicate address family with icmp-type/code");
      problems++;
    }
    if (r.overload && r.maxSrcConn === 0 && r.maxSrcConnRate[1] === 0) {
      this.yyerror("'overload' requires 'max-src-conn' or 'max-src-conn-rate'");
      problems++;
    }
    if ((r.proto === 1 && r.af === 6) || (r.proto === 58 && r.af === 4)) {
      this.yyerror(`proto ${r.proto === 1 ? "icmp" : "icmp6"} doesn't match address family ${r.af === 4 ? "inet" : "inet6"}`);
      problems++;
    }
    if (r.allowOpts && r.action !== "pass") {
      this.yyerror("allow-opts can only be specified for pass rules");
      problems++;
    }
    if (r.fragment && (r.src.portOp || r.dst.portOp || r.flagset || r.type || r.code)) {
      this.yyerror("fragments can be filtered only on IP header fields");
      problems++;
    }
    if (r.returnKind === "return-rst" && r.proto !== 6) {
      this.yyerror("return-rst can only be applied to TCP rules");
      problems++;
    }
    if (r.maxSrcNodes && r.srctrack !== "rule") {
      this.yyerror("max-src-nodes requires 'source-track rule'");
      problems++;
    }
    if (r.action !== "pass" && r.keepState) {
      this.yyerror("keep state is great, but only for pass rules");
      problems++;
    }
    if (r.sloppy && (r.keepState === "modulate" || r.keepState === "synproxy")) {
      this.yyerror("sloppy state matching cannot be used with synproxy state or modulate state");
      problems++;
    }
    if (r.action === "match") {
      if (r.divertPort) {
        this.yyerror("divert is not supported on match rules");
        problems++;
      }
      if (r.rt) {
        this.yyerror("route-to, reply-to, dup-to and fastroute must not be used on match rules");
        problems++;
      }
    }
    return problems;
  }

  private rdrConsistent(r: Rule): number {
    let problems = 0;
    if (r.proto !== 6 && r.proto !== 17) {
      if (r.src.portOp) {
        this.yyerror("src port only applies to tcp/udp");
        problems++;
      }
      if (r.dst.portOp) {
        this.yyerror("dst port only applies to tcp/udp");
        problems++;
      }
      if (r.rpool.proxyPort[0]) {
        this.yyerror("rpool port only applies to tcp/udp");
        problems++;
      }
    }
    if (r.dst.portOp && r.dst.portOp !== "=" && r.dst.portOp !== ":") {
      this.yyerror("invalid port operator for rdr destination port");
      problems++;
    }
    return problems;
  }

  private ruleConsistent(r: Rule): number {
    switch (r.action) {
      case "pass":
      case "match":
      case "block":
      case "scrub":
      case "noscrub":
        return this.filterConsistent(r);
      case "rdr":
      case "nordr":
        return this.rdrConsistent(r);
      default:
        return 0;
    }
  }

  /** expand_rule: one rule for each combination of the lists, skipping impossible address families. */
  private expandRule(
    base: Rule, ifs: IfItem[] | null, rpoolHosts: NodeHost[] | null, protos: number[] | null,
    srcHosts: NodeHost[] | null, srcPorts: Port[] | null, dstHosts: NodeHost[] | null, dstPorts: Port[] | null,
    uids: Uid[] | null, gids: Uid[] | null, icmps: Icmp[] | null, anchorCall: AnchorCall | null,
  ): void {
    const af = base.af;
    let added = 0;
    const nullHost = (): NodeHost => ({ af: 0, addr: emptyWrap(), not: false, ifindex: 0 });
    const L = <T>(l: T[] | null, z: () => T): T[] => (l && l.length ? l : [z()]);
    const keepState = base.keepState;
    const flags = base.flags;
    const flagset = base.flagset;
    for (const iface of L(ifs, () => ({ name: "", not: false }) as IfItem))
      for (const proto of L(protos, () => 0))
        for (const icmp of L(icmps, () => ({ type: 0, code: 0, proto: 0 }) as Icmp))
          for (const src of L(srcHosts, nullHost))
            for (const sport of L(srcPorts, () => ({ op: 0, a: 0, b: 0 }) as Port))
              for (const dst of L(dstHosts, nullHost))
                for (const dport of L(dstPorts, () => ({ op: 0, a: 0, b: 0 }) as Port))
                  for (const uid of L(uids, () => ({ op: 0, a: 0, b: 0 }) as Uid))
                    for (const gid of L(gids, () => ({ op: 0, a: 0, b: 0 }) as Uid)) {
                      const r = cloneRule(base);
                      r.af = af;
                      const ifidx = iface.name ? ifNameToIndex(this.env.ifs, iface.name) : 0;
                      if (
                        (r.af && src.af && r.af !== src.af) || (r.af && dst.af && r.af !== dst.af) ||
                        (src.af && dst.af && src.af !== dst.af) ||
                        (src.ifindex && dst.ifindex && src.ifindex !== dst.ifindex) ||
                        (src.ifindex && iface.name && src.ifindex !== ifidx) ||
                        (dst.ifindex && iface.name && dst.ifindex !== ifidx)
                      )
                        continue;
                      if (!r.af && src.af) r.af = src.af;
                      else if (!r.af && dst.af) r.af = dst.af;
                      if (iface.name) r.ifname = iface.name;
                      else if (src.ifindex) r.ifname = this.env.ifs.ifaces.find((i) => i.index === src.ifindex)?.name ?? "";
                      else if (dst.ifindex) r.ifname = this.env.ifs.ifaces.find((i) => i.index === dst.ifindex)?.name ?? "";
                      else r.ifname = "";
                      // gen_dynnode: an interface address in an inet rule gets a /32 mask, on a copy
                      const dyn = (h: NodeHost): NodeHost => {
                        const c = cloneHost(h);
                        if (r.af === 4 && c.addr.type === "dynif" && unmask(c.addr.mask) > 32) setIpmask(c, 32);
                        return c;
                      };
                      const s2 = dyn(src);
                      const d2 = dyn(dst);
                      let error = 0;
                      if (this.checkNetmask(s2, r.af)) error++;
                      if (this.checkNetmask(d2, r.af)) error++;
                      r.ifnot = iface.not;
                      r.proto = proto;
                      r.src = { addr: s2.addr, neg: src.not, port: [sport.a, sport.b], portOp: sport.op };
                      r.dst = { addr: d2.addr, neg: dst.not, port: [dport.a, dport.b], portOp: dport.op };
                      r.uid = { op: uid.op, ids: [uid.a, uid.b] };
                      r.gid = { op: gid.op, ids: [gid.a, gid.b] };
                      r.type = icmp.type;
                      r.code = icmp.code;
                      if ((keepState === "modulate" || keepState === "synproxy") && r.proto && r.proto !== 6) r.keepState = "keep";
                      else r.keepState = keepState;
                      if (r.proto && r.proto !== 6) {
                        r.flags = 0;
                        r.flagset = 0;
                      } else {
                        r.flags = flags;
                        r.flagset = flagset;
                      }
                      if (icmp.proto && r.proto !== icmp.proto) {
                        this.yyerror("icmp-type mismatch");
                        error++;
                      }
                      r.rpool.addrs = (rpoolHosts ?? []).map((h) => ({ addr: { ...h.addr, addr: [...h.addr.addr], mask: [...h.addr.mask] }, ifname: h.ifname ?? "" }));
                      if (this.ruleConsistent(r) > 0 || error) this.yyerror("skipping rule due to errors");
                      else {
                        r.nr = this.current().match++;
                        if (anchorCall) r.anchor = { ...anchorCall };
                        this.appendRule(r);
                        added++;
                      }
                    }
    if (!added) this.yyerror("rule expands to no valid combination");
  }

  private decideAf(hosts: NodeHost[] | null, af: Af): Af {
    if (af !== 0 || !hosts || hosts.length === 0) return af;
    const first = (hosts[0] as NodeHost).af;
    return hosts.every((h) => h.af === first) ? first : 0;
  }

  private removeInvalidHosts(hosts: NodeHost[], af: Af): { hosts: NodeHost[]; af: Af } {
    let a = af;
    const out: NodeHost[] = [];
    for (const n of hosts) {
      if (a && n.af && n.af !== a) continue;
      if (n.af && !a) a = n.af;
      out.push(n);
    }
    return { hosts: out, af: a };
  }

  private applyStateOpts(r: Rule, o: StateOpt[] | null): { srctrack: string | null; statelock: boolean; adaptive: boolean } {
    let srctrack: string | null = null;
    let statelock = false;
    let adaptive = false;
    for (const s of o ?? []) {
      switch (s.kind) {
        case "max":
          if (r.maxStates) this.fail("state option 'max' multiple definitions");
          r.maxStates = s.n ?? 0;
          break;
        case "nosync":
          if (r.nosync) this.fail("state option 'sync' multiple definitions");
          r.nosync = true;
          break;
        case "srctrack":
          if (srctrack !== null) this.fail("state option 'source-track' multiple definitions");
          srctrack = s.s ?? "";
          if (!r.srctrack) r.srctrack = "global";
          break;
        case "max-src-states":
          if (r.maxSrcStates) this.fail("state option 'max-src-states' multiple definitions");
          if (!s.n) this.fail("'max-src-states' must be > 0");
          r.maxSrcStates = s.n;
          if (!r.srctrack) r.srctrack = "global";
          break;
        case "overload":
          if (r.overload) this.fail("multiple 'overload' table definitions");
          r.overload = s.s ?? "";
          r.flush = s.n ?? 0;
          break;
        case "max-src-conn":
          if (r.maxSrcConn) this.fail("state option 'max-src-conn' multiple definitions");
          if (!s.n) this.fail("'max-src-conn' must be > 0");
          r.maxSrcConn = s.n;
          r.srctrack = "rule";
          break;
        case "max-src-conn-rate":
          if (r.maxSrcConnRate[0]) this.fail("state option 'max-src-conn-rate' multiple definitions");
          if (!s.n || !s.n2) this.fail("'max-src-conn-rate' values must be > 0");
          if ((s.n ?? 0) > PF_THRESHOLD_MAX) this.fail(`'max-src-conn-rate' maximum rate must be < ${Math.floor(PF_THRESHOLD_MAX)}`);
          r.maxSrcConnRate = [s.n, s.n2];
          r.srctrack = "rule";
          break;
        case "max-src-nodes":
          if (r.maxSrcNodes) this.fail("state option 'max-src-nodes' multiple definitions");
          if (!s.n) this.fail("'max-src-nodes' must be > 0");
          r.maxSrcNodes = s.n;
          r.srctrack = "rule";
          break;
        case "statelock":
          if (statelock) this.fail("state locking option: multiple definitions");
          statelock = true;
          r.ifbound = s.n === 1;
          break;
        case "sloppy":
          if (r.sloppy) this.fail("state sloppy option: multiple definitions");
          r.sloppy = true;
          break;
        case "pflow":
          if (r.pflow) this.fail("state pflow option: multiple definitions");
          r.pflow = true;
          break;
        case "timeout": {
          const name = s.s ?? "";
          if (name === "adaptive.start" || name === "adaptive.end") adaptive = true;
          if (r.timeouts[name]) this.fail(`state timeout ${name} multiple definitions`);
          r.timeouts[name] = s.n ?? 0;
          break;
        }
      }
    }
    return { srctrack, statelock, adaptive };
  }

  private routeSpec(): { rt: Rule["rt"]; hosts: NodeHost[]; pool: PoolOpts } | null {
    const t = this.peek();
    if (t.kind !== "kw") return null;
    if (t.text === "fastroute") {
      this.take();
      return null;
    }
    if (t.text !== "route-to" && t.text !== "reply-to" && t.text !== "dup-to") return null;
    this.take();
    const routeHost = (): NodeHost[] => {
      if (this.acceptCh("(")) {
        const ifname = this.expectString();
        const hs = this.host();
        this.expectCh(")");
        if (ifname.length >= IFNAMSIZ) this.fail("interface name too long");
        for (const h of hs) h.ifname = ifname;
        return hs;
      }
      const ifname = this.expectString();
      if (ifname.length >= IFNAMSIZ) this.fail("interface name too long");
      const h: NodeHost = { af: 0, addr: emptyWrap(), not: false, ifindex: 0, ifname };
      setIpmask(h, 128);
      return [h];
    };
    let hosts: NodeHost[];
    if (this.acceptCh("{")) {
      this.optnl();
      hosts = routeHost();
      this.optnl();
      while (!this.isCh("}")) {
        this.comma();
        const n = routeHost();
        const h0 = hosts[0] as NodeHost;
        if (h0.af === 0) h0.af = (n[0] as NodeHost).af;
        if (h0.af !== (n[0] as NodeHost).af) this.fail("all pool addresses must be in the same address family");
        hosts = [...hosts, ...n];
        this.optnl();
      }
      this.expectCh("}");
    } else hosts = routeHost();
    const pool = this.poolOpts();
    return { rt: t.text as Rule["rt"], hosts, pool };
  }

  private setLabelsAndTags(r: Rule, o: FilterOpts): void {
    if (o.tag !== null) {
      if (o.tag.length >= PF_TAG_NAME_SIZE) this.fail(`tag too long, max ${PF_TAG_NAME_SIZE - 1} chars`);
      r.tag = o.tag;
    }
    if (o.matchTag !== null) {
      if (o.matchTag.length >= PF_TAG_NAME_SIZE) this.fail(`tag too long, max ${PF_TAG_NAME_SIZE - 1} chars`);
      r.matchTag = o.matchTag;
    }
    r.matchTagNot = o.matchTagNot;
    for (const l of o.labels) if (l.length >= PF_RULE_LABEL_SIZE) this.fail(`rule label too long (max ${PF_RULE_LABEL_SIZE - 1} chars)`);
    r.labels = [...o.labels];
  }

  private pfrule(): void {
    const r = blankRule();
    const a = this.take().text;
    if (a === "pass") {
      r.action = "pass";
      r.returnKind = this.failpolicy === "return" ? "return" : "";
      r.returnIcmp = this.returnicmpdefault;
      r.returnIcmp6 = this.returnicmp6default;
    } else if (a === "match") r.action = "match";
    else {
      r.action = "block";
      this.blockspec(r);
    }
    if (this.acceptKw("in")) r.direction = "in";
    else if (this.acceptKw("out")) r.direction = "out";
    const lq = this.logquick();
    const ifs = this.interfaceSpec();
    const route = this.routeSpec();
    r.af = this.af();
    const protos = this.protoSpec();
    const ft = this.fromto();
    const o = this.filterOpts();
    this.checkRulestate(STATE_FILTER);
    r.log = lq.log;
    r.logif = lq.logif;
    r.quick = lq.quick;
    r.prob = o.prob;
    r.rtableid = o.rtableid;
    // scrub (no-df random-id ...) and set tos on a pass/match rule go to scrub_flags, which
    // print_rule does not print (it prints the rule_flag ones of scrub rules)
    r.minTtl = o.minttl;
    r.maxMss = o.maxMss;
    if (o.settos !== null) r.stateSetTos = o.settos;
    if (o.prio !== undefined) r.prio = o.prio === 0 ? PRIO_ZERO : o.prio;
    if (o.setPrio) r.setPrio = o.setPrio;
    this.setLabelsAndTags(r, o);
    r.ridentifier = o.ridentifier;
    r.flags = o.flags;
    r.flagset = o.flagset;
    if ((o.flags & o.flagset) !== o.flags) this.fail("flags always false");
    if ((o.flags || o.flagset) && protos && !protos.includes(6)) this.fail("flags only apply to tcp");
    r.tos = o.tos;
    r.keepState = o.keep.action;
    let stateOpts = o.keep.options;
    if (!r.keepState && r.action === "pass" && !o.keepSet) {
      r.keepState = "keep";
      stateOpts = this.keepStateDefaults;
    }
    const st = this.applyStateOpts(r, stateOpts);
    if (r.action === "pass" && !r.flags && !r.flagset && !o.fragment && !o.flagsSet && r.keepState) {
      r.flags = parseFlags("S");
      r.flagset = parseFlags("SA");
    }
    if (!st.adaptive && r.maxStates) {
      r.timeouts["adaptive.start"] = Math.floor(r.maxStates / 10) * 6;
      r.timeouts["adaptive.end"] = Math.floor(r.maxStates / 10) * 12;
    }
    if (r.srctrack) {
      if (st.srctrack === "global" && r.maxSrcNodes) this.fail("'max-src-nodes' is incompatible with 'source-track global'");
      if (st.srctrack === "global" && r.maxSrcConn) this.fail("'max-src-conn' is incompatible with 'source-track global'");
      if (st.srctrack === "global" && r.maxSrcConnRate[1]) this.fail("'max-src-conn-rate' is incompatible with 'source-track global'");
      if ((r.timeouts["src.track"] ?? 0) < r.maxSrcConnRate[1]) r.timeouts["src.track"] = r.maxSrcConnRate[1];
      if (st.srctrack === "rule") r.srctrack = "rule";
    }
    if (r.keepState && !st.statelock) r.ifbound = r.ifbound || this.defaultStatelock;
    r.fragment = o.fragment;
    r.allowOpts = o.allowOpts;
    r.af = this.decideAf(ft.srcHosts, r.af);
    r.af = this.decideAf(ft.dstHosts, r.af);
    let rpoolHosts: NodeHost[] | null = null;
    if (route) {
      if (!r.direction) this.fail("direction must be explicit with rules that specify routing");
      r.rt = route.rt;
      r.rpool.type = route.pool.type;
      r.rpool.sticky = route.pool.sticky;
      if (route.pool.key) r.rpool.key = route.pool.key;
      r.af = this.decideAf(route.hosts, r.af);
      const rm = this.removeInvalidHosts(route.hosts, r.af);
      r.af = rm.af;
      if (rm.hosts.length === 0) this.fail("no routing address with matching address family found.");
      const h0 = rm.hosts[0] as NodeHost;
      if (r.rpool.type === "none" && (rm.hosts.length > 1 || h0.addr.type === "table" || dynifMultiaddr(h0))) r.rpool.type = "round-robin";
      if (r.rpool.type !== "round-robin") {
        const tbl = rm.hosts.find((h) => h.addr.type === "table");
        if (tbl) this.fail("tables are only supported in round-robin routing pools");
        const al = rm.hosts.find((h) => dynifMultiaddr(h));
        if (al) this.fail(`interface (${al.addr.ifname}) is only supported in round-robin routing pools`);
        if (rm.hosts.length > 1) this.fail("r.rpool.opts must be PF_POOL_ROUNDROBIN");
      }
      rpoolHosts = rm.hosts;
    }
    if (o.qname !== null) {
      if (o.qname.length >= PF_QNAME_SIZE) this.fail(`rule qname too long (max ${PF_QNAME_SIZE - 1} chars)`);
      r.qname = o.qname;
    }
    if (o.pqname !== null) {
      if (o.pqname.length >= PF_QNAME_SIZE) this.fail(`rule pqname too long (max ${PF_QNAME_SIZE - 1} chars)`);
      r.pqname = o.pqname;
    }
    if (o.rcv) {
      r.rcvIfname = o.rcv.name;
      r.rcvIfnot = o.rcv.not;
    }
    r.divertPort = o.divertPort;
    if (o.dnpipe || o.dnrpipe) {
      r.dnpipe = o.dnpipe;
      r.dnrpipe = o.dnrpipe;
      r.dnIsPipe = o.dnIsPipe;
    }
    this.expandRule(r, ifs, rpoolHosts, protos, ft.srcHosts, ft.srcPorts, ft.dstHosts, ft.dstPorts, o.uid, o.gid, o.icmp, null);
  }

  private reticmp(af: 4 | 6): number {
    const type = af === 4 ? this.returnicmpdefault >> 8 : this.returnicmp6default >> 8;
    const t = this.peek();
    if (t.kind === "NUMBER") {
      this.take();
      const n = t.num as bigint;
      if (n < 0n || n > 255n) this.fail(`invalid icmp code ${n}`);
      return (type << 8) | Number(n);
    }
    const s = this.expectString();
    let code = atoul(s);
    if (code === null) {
      code = icmpCodeByName(type, s, af);
      if (code === null) this.fail(`unknown icmp code ${s}`);
    }
    if (code > 255) this.fail(`invalid icmp code ${code}`);
    return (type << 8) | code;
  }

  private blockspec(r: Rule): void {
    const t = this.peek();
    const def = (): void => {
      r.returnIcmp = this.returnicmpdefault;
      r.returnIcmp6 = this.returnicmp6default;
    };
    if (t.kind !== "kw") {
      r.returnKind = this.blockpolicy === "return" ? "return" : "drop";
      def();
      return;
    }
    switch (t.text) {
      case "drop":
        this.take();
        r.returnKind = "drop";
        return;
      case "return-rst":
        this.take();
        r.returnKind = "return-rst";
        if (this.acceptCh("(")) {
          this.expectKw("ttl");
          const n = this.expectNumber();
          this.expectCh(")");
          if (n < 0n || n > 255n) this.fail(`illegal ttl value ${n}`);
          r.returnTtl = Number(n);
        }
        return;
      case "return-icmp":
        this.take();
        r.returnKind = "return-icmp";
        def();
        if (this.acceptCh("(")) {
          r.returnIcmp = this.reticmp(4);
          if (this.isCh(")")) r.returnIcmp6 = this.returnicmpdefault;
          else {
            this.comma();
            r.returnIcmp6 = this.reticmp(6);
          }
          this.expectCh(")");
        }
        return;
      case "return-icmp6":
        this.take();
        r.returnKind = "return-icmp";
        def();
        if (this.acceptCh("(")) {
          r.returnIcmp6 = this.reticmp(6);
          this.expectCh(")");
        }
        return;
      case "return":
        this.take();
        r.returnKind = "return";
        def();
        return;
      default:
        r.returnKind = this.blockpolicy === "return" ? "return" : "drop";
        def();
    }
  }

  private scrubrule(no: boolean): void {
    this.expectKw("scrub");
    const r = blankRule();
    r.action = no ? "noscrub" : "scrub";
    if (this.acceptKw("in")) r.direction = "in";
    else if (this.acceptKw("out")) r.direction = "out";
    const lq = this.logquick();
    const ifs = this.interfaceSpec();
    r.af = this.af();
    const protos = this.protoSpec();
    const ft = this.fromto();
    const s = this.scrubOpts(false);
    this.checkRulestate(STATE_SCRUB);
    r.log = lq.log;
    r.logif = lq.logif;
    if (lq.quick) this.fail("scrub rules do not support 'quick'");
    r.nodf = s.nodf;
    r.randomid = s.randomid;
    if (s.reassembleTcp) {
      if (r.direction) this.fail("reassemble tcp rules can not specify direction");
      r.reassembleTcp = true;
    }
    r.minTtl = s.minttl;
    r.maxMss = s.maxmss;
    if (s.settos !== null) r.setTos = s.settos;
    r.fragNoReass = s.fragcache === "noreassemble";
    if (s.matchTag !== null) {
      if (s.matchTag.length >= PF_TAG_NAME_SIZE) this.fail(`tag too long, max ${PF_TAG_NAME_SIZE - 1} chars`);
      r.matchTag = s.matchTag;
    }
    r.matchTagNot = s.matchTagNot;
    r.rtableid = s.rtableid;
    this.expandRule(r, ifs, null, protos, ft.srcHosts, ft.srcPorts, ft.dstHosts, ft.dstPorts, null, null, null, null);
  }

  private natpasslog(): { pass: boolean; log: number; logif: number } {
    const pass = this.acceptKw("pass");
    const l = this.log();
    return { pass, log: l?.log ?? 0, logif: l?.logif ?? 0 };
  }

  private natrule(no: boolean): void {
    const kind = this.take().text; // nat | rdr
    const npl = this.natpasslog();
    if (no && npl.pass) this.fail('"pass" not valid with "no"');
    const r = blankRule();
    r.action = kind === "nat" ? (no ? "nonat" : "nat") : no ? "nordr" : "rdr";
    r.natpass = npl.pass;
    r.log = npl.log;
    r.logif = npl.logif;
    const ifs = this.interfaceSpec();
    r.af = this.af();
    const protos = this.protoSpec();
    const ft = this.fromto();
    let tag: string | null = null;
    if (this.acceptKw("tag")) tag = this.expectString();
    let tagged: { neg: boolean; name: string } | null = null;
    if (this.isCh("!")) {
      this.take();
      this.expectKw("tagged");
      tagged = { neg: true, name: this.string() };
    } else if (this.acceptKw("tagged")) tagged = { neg: false, name: this.string() };
    r.rtableid = this.rtable();
    let redir: { hosts: NodeHost[]; rport: { a: number; b: number; t: PortOp } } | null = null;
    if (this.peek().kind === "ARROW") {
      this.take();
      let hosts: NodeHost[];
      if (this.acceptCh("{")) {
        this.optnl();
        hosts = this.host();
        this.optnl();
        while (!this.isCh("}")) {
          this.comma();
          hosts = [...hosts, ...this.host()];
          this.optnl();
        }
        this.expectCh("}");
      } else hosts = this.host();
      let rport = { a: 0, b: 0, t: 0 as PortOp };
      if (this.acceptKw("port")) rport = this.parseport(this.numberstring(), true, true);
      redir = { hosts, rport };
    }
    const pool = this.poolOpts();
    this.checkRulestate(STATE_NAT);
    if (!r.af) {
      const s0 = ft.srcHosts?.[0];
      const d0 = ft.dstHosts?.[0];
      if (s0 && s0.af && !s0.ifindex) r.af = s0.af;
      else if (d0 && d0.af && !d0.ifindex) r.af = d0.af;
    }
    if (tag !== null) {
      if (tag.length >= PF_TAG_NAME_SIZE) this.fail(`tag too long, max ${PF_TAG_NAME_SIZE - 1} chars`);
      r.tag = tag;
    }
    if (tagged) {
      if (tagged.name.length >= PF_TAG_NAME_SIZE) this.fail(`tag too long, max ${PF_TAG_NAME_SIZE - 1} chars`);
      r.matchTag = tagged.name;
      r.matchTagNot = tagged.neg;
    }
    let poolHosts: NodeHost[] | null = null;
    if (r.action === "nonat" || r.action === "nordr") {
      if (redir) this.fail("translation rule with 'no' does not need '->'");
    } else {
      if (!redir || redir.hosts.length === 0) this.fail("translation rule requires '-> address'");
      const h0 = redir.hosts[0] as NodeHost;
      if (!r.af && !h0.ifindex) r.af = h0.af;
      const rm = this.removeInvalidHosts(redir.hosts, r.af);
      r.af = rm.af;
      if (!r.af) {
        if (rm.hosts.some((n) => n.addr.type !== "table" && n.addr.type !== "dynif"))
          this.fail("address family not given and translation address expands to multiple address families");
      }
      if (rm.hosts.length === 0) this.fail("no translation address with matching address family found.");
      if (rm.hosts.some((h) => this.checkNetmask(h, r.af))) this.fail();
      r.rpool.proxyPort[0] = redir.rport.a;
      if (r.action === "rdr") {
        if (!redir.rport.b && redir.rport.t && ft.dstPorts) {
          const d = ft.dstPorts[0] as Port;
          r.rpool.proxyPort[1] = redir.rport.a + (d.b - d.a);
        } else r.rpool.proxyPort[1] = redir.rport.b;
      } else if (r.action === "nat") {
        r.rpool.proxyPort[1] = redir.rport.b;
        if (!r.rpool.proxyPort[0] && !r.rpool.proxyPort[1]) {
          r.rpool.proxyPort[0] = NAT_PROXY_PORT_LOW;
          r.rpool.proxyPort[1] = NAT_PROXY_PORT_HIGH;
        } else if (!r.rpool.proxyPort[1]) r.rpool.proxyPort[1] = r.rpool.proxyPort[0];
      }
      r.rpool.type = pool.type;
      const p0 = rm.hosts[0] as NodeHost;
      if (r.rpool.type === "none" && (rm.hosts.length > 1 || p0.addr.type === "table" || dynifMultiaddr(p0))) r.rpool.type = "round-robin";
      if (r.rpool.type !== "round-robin") {
        const tbl = rm.hosts.find((h) => h.addr.type === "table");
        if (tbl) this.fail("tables are only supported in round-robin redirection pools");
        const al = rm.hosts.find((h) => dynifMultiaddr(h));
        if (al) this.fail(`interface (${al.addr.ifname}) is only supported in round-robin redirection pools`);
        if (rm.hosts.length > 1) this.fail("only round-robin valid for multiple redirection addresses");
      }
      poolHosts = rm.hosts;
    }
    if (pool.key) r.rpool.key = pool.key;
    if (pool.sticky) r.rpool.sticky = true;
    if (pool.staticPort) {
      if (r.action !== "nat") this.fail("the 'static-port' option is only valid with nat rules");
      if (r.rpool.proxyPort[0] !== NAT_PROXY_PORT_LOW && r.rpool.proxyPort[1] !== NAT_PROXY_PORT_HIGH)
        this.fail("the 'static-port' option can't be used when specifying a port range");
      r.rpool.proxyPort = [0, 0];
    }
    if (pool.endpointIndependent) {
      if (r.action !== "nat") this.fail("the 'endpoint-independent' option is only valid with nat rules");
      r.rpool.endpointIndependent = true;
    }
    if (pool.mape.offset) {
      if (r.action !== "nat") this.fail("the 'map-e-portset' option is only valid with nat rules");
      if (pool.staticPort) this.fail("the 'map-e-portset' option can't be used 'static-port'");
      if (r.rpool.proxyPort[0] !== NAT_PROXY_PORT_LOW && r.rpool.proxyPort[1] !== NAT_PROXY_PORT_HIGH)
        this.fail("the 'map-e-portset' option can't be used when specifying a port range");
      r.rpool.mape = pool.mape;
    }
    this.expandRule(r, ifs, poolHosts, protos, ft.srcHosts, ft.srcPorts, ft.dstHosts, ft.dstPorts, null, null, null, null);
  }

  private binatrule(no: boolean): void {
    this.expectKw("binat");
    const npl = this.natpasslog();
    const ifs = this.interfaceSpec();
    let af = this.af();
    const protos = this.protoSpec();
    this.expectKw("from");
    const src = this.ipspec();
    let dst: NodeHost[] | null = null;
    if (this.acceptKw("to")) dst = this.ipspec();
    let tag: string | null = null;
    if (this.acceptKw("tag")) tag = this.expectString();
    let tagged: { neg: boolean; name: string } | null = null;
    if (this.isCh("!")) {
      this.take();
      this.expectKw("tagged");
      tagged = { neg: true, name: this.string() };
    } else if (this.acceptKw("tagged")) tagged = { neg: false, name: this.string() };
    const rtableid = this.rtable();
    let redir: { host: NodeHost[]; rport: { a: number; b: number; t: PortOp } } | null = null;
    if (this.peek().kind === "ARROW") {
      this.take();
      const h = this.host();
      let rport = { a: 0, b: 0, t: 0 as PortOp };
      if (this.acceptKw("port")) rport = this.parseport(this.numberstring(), true, true);
      redir = { host: h, rport };
    }
    this.checkRulestate(STATE_NAT);
    if (dst?.some((h) => h.addr.type === "urpf")) this.fail('"urpf-failed" is not permitted as a binat destination');
    if (no && npl.pass) this.fail('"pass" not valid with "no"');
    const r = blankRule();
    r.action = no ? "nobinat" : "binat";
    r.natpass = npl.pass;
    r.log = npl.log;
    r.logif = npl.logif;
    const s0 = src?.[0];
    const d0 = dst?.[0];
    if (!af && s0 && s0.af) af = s0.af;
    if (!af && d0 && d0.af) af = d0.af;
    if (!af && redir && redir.host[0]) af = (redir.host[0] as NodeHost).af;
    if (!af) this.fail("address family (inet/inet6) undefined");
    r.af = af;
    if (ifs && ifs[0]) {
      r.ifname = ifs[0].name;
      r.ifnot = ifs[0].not;
    }
    if (tag !== null) {
      if (tag.length >= PF_TAG_NAME_SIZE) this.fail(`tag too long, max ${PF_TAG_NAME_SIZE - 1} chars`);
      r.tag = tag;
    }
    if (tagged) {
      if (tagged.name.length >= PF_TAG_NAME_SIZE) this.fail(`tag too long, max ${PF_TAG_NAME_SIZE - 1} chars`);
      r.matchTag = tagged.name;
      r.matchTagNot = tagged.neg;
    }
    r.rtableid = rtableid;
    if (protos && protos[0] !== undefined) r.proto = protos[0];
    if (src) {
      const tbl = src.find((h) => h.addr.type === "table");
      if (tbl) this.fail(`invalid use of table <${tbl.addr.tblname}> as the source address of a binat rule`);
      const al = src.find((h) => dynifMultiaddr(h));
      if (al) this.fail(`invalid use of interface (${al.addr.ifname}) as the source address of a binat rule`);
    }
    if (redir) {
      const tbl = redir.host.find((h) => h.addr.type === "table");
      if (tbl) this.fail(`invalid use of table <${tbl.addr.tblname}> as the redirect address of a binat rule`);
      const al = redir.host.find((h) => dynifMultiaddr(h));
      if (al) this.fail(`invalid use of interface (${al.addr.ifname}) as the redirect address of a binat rule`);
    }
    if (src && s0) {
      if (src.length > 1) this.fail("multiple binat ip addresses");
      if (s0.addr.type === "dynif") s0.af = r.af;
      if (s0.af !== r.af) this.fail("binat ip versions must match");
      if (this.checkNetmask(s0, r.af)) this.fail();
      r.src.addr = s0.addr;
    }
    if (dst && d0) {
      if (dst.length > 1) this.fail("multiple binat ip addresses");
      if (d0.af !== r.af && d0.af) this.fail("binat ip versions must match");
      if (this.checkNetmask(d0, r.af)) this.fail();
      r.dst.addr = d0.addr;
      r.dst.neg = d0.not;
    }
    if (r.action === "nobinat") {
      if (redir) this.fail("'no binat' rule does not need '->'");
    } else {
      if (!redir || redir.host.length === 0) this.fail("'binat' rule requires '-> address'");
      const rm = this.removeInvalidHosts(redir.host, r.af);
      if (rm.hosts.length === 0) this.fail("no translation address with matching address family found.");
      if (rm.hosts.length > 1) this.fail("binat rule must redirect to a single address");
      const h = rm.hosts[0] as NodeHost;
      if (this.checkNetmask(h, r.af)) this.fail();
      const srcMask = r.src.addr.mask;
      const len = r.af === 4 ? 4 : 16;
      const zeroMask = srcMask.slice(0, len).every((x) => x === 0);
      const same = srcMask.slice(0, len).every((x, i) => x === h.addr.mask[i]);
      if (!zeroMask && !same) this.fail("'binat' source mask and redirect mask must be the same");
      r.rpool.addrs = [{ addr: h.addr, ifname: "" }];
    }
    this.appendRule(r);
  }

  private anchorrule(): void {
    const kw = this.take().text;
    if (kw === "anchor") return this.filterAnchor();
    const name = this.string();
    const ifs = this.interfaceSpec();
    const af = this.af();
    const protos = this.protoSpec();
    const ft = this.fromto();
    const rtableid = this.rtable();
    this.checkRulestate(STATE_NAT);
    const r = blankRule();
    r.af = af;
    r.rtableid = rtableid;
    r.af = this.decideAf(ft.srcHosts, r.af);
    r.af = this.decideAf(ft.dstHosts, r.af);
    const call = this.anchorCall(name, null);
    if (kw === "nat-anchor") {
      r.action = "nat";
      this.expandRule(r, ifs, null, protos, ft.srcHosts, ft.srcPorts, ft.dstHosts, ft.dstPorts, null, null, null, call);
    } else if (kw === "rdr-anchor") {
      r.action = "rdr";
      if (ft.srcPorts) this.fail("source port parameter not supported in rdr-anchor");
      if (ft.dstPorts) {
        if (ft.dstPorts.length > 1) this.fail("destination port list expansion not supported in rdr-anchor");
        else if ((ft.dstPorts[0] as Port).op !== "=") this.fail("destination port operators not supported in rdr-anchor");
      }
      this.expandRule(r, ifs, null, protos, ft.srcHosts, ft.srcPorts, ft.dstHosts, ft.dstPorts, null, null, null, call);
    } else {
      r.action = "binat";
      if (protos) {
        if (protos.length > 1) this.fail("proto list expansion not supported in binat-anchor");
        r.proto = protos[0] as number;
      }
      if (ft.srcHosts || ft.srcPorts || ft.dstHosts || ft.dstPorts) this.fail("fromto parameter not supported in binat-anchor");
      r.anchor = call;
      this.appendRule(r);
    }
  }

  private anchorCall(path: string, inline: Ruleset | null): AnchorCall {
    const slash = path.lastIndexOf("/");
    return { path, name: slash >= 0 ? path.slice(slash + 1) : path, inline };
  }

  private filterAnchor(): void {
    let name: string | null = null;
    if (this.peek().kind === "STRING") name = this.expectString();
    const r = blankRule();
    if (this.acceptKw("in")) r.direction = "in";
    else if (this.acceptKw("out")) r.direction = "out";
    r.quick = this.acceptKw("quick");
    const ifs = this.interfaceSpec();
    r.af = this.af();
    const protos = this.protoSpec();
    const ft = this.fromto();
    const o = this.filterOpts();
    let inline: Anchor | null = null;
    if (this.isCh("{")) {
      this.take();
      this.bn++;
      inline = { name: `_${this.bn}`, ruleset: emptyRuleset(), match: 0 };
      this.astack.push(inline);
      this.expectCh("\n");
      for (;;) {
        const t = this.peek();
        if (t.kind === "char" && t.text === "\n") {
          this.take();
          continue;
        }
        if (t.kind === "char" && t.text === "}") break;
        if (t.kind === "kw" && (t.text === "pass" || t.text === "block" || t.text === "match")) this.pfrule();
        else if (t.kind === "kw" && t.text === "anchor") {
          this.take();
          this.filterAnchor();
        } else this.syntax();
        this.expectCh("\n");
      }
      this.take();
      this.astack.pop();
    }
    this.checkRulestate(STATE_FILTER);
    if (name && (name[0] === "_" || name.includes("/_"))) this.fail("anchor names beginning with '_' are reserved for internal use");
    let call: AnchorCall;
    if (inline) {
      if (name && name.includes("/")) this.fail("anchor paths containing '/' cannot be used for inline anchors.");
      const nm = name ?? inline.name;
      const sibling = this.current().ruleset.filter.find((x) => x.anchor?.inline && x.anchor.name === nm);
      if (sibling && name) this.fail(`inline anchor '${nm}' already exists`);
      call = { path: nm, name: nm, inline: inline.ruleset };
    } else {
      if (!name) this.fail("anchors without explicit rules must specify a name");
      call = this.anchorCall(name, null);
    }
    r.prob = o.prob;
    r.rtableid = o.rtableid;
    r.ridentifier = o.ridentifier;
    this.setLabelsAndTags(r, o);
    r.flags = o.flags;
    r.flagset = o.flagset;
    if ((o.flags & o.flagset) !== o.flags) this.fail("flags always false");
    if ((o.flags || o.flagset) && protos && !protos.includes(6)) this.fail("flags only apply to tcp");
    r.tos = o.tos;
    if (o.keep.action) this.fail("cannot specify state handling on anchors");
    if (o.prio !== undefined) r.prio = o.prio === 0 ? PRIO_ZERO : o.prio;
    if (o.setPrio) r.setPrio = o.setPrio;
    r.af = this.decideAf(ft.srcHosts, r.af);
    r.af = this.decideAf(ft.dstHosts, r.af);
    this.expandRule(r, ifs, null, protos, ft.srcHosts, ft.srcPorts, ft.dstHosts, ft.dstPorts, o.uid, o.gid, o.icmp, call);
  }

  private loadrule(): void {
    this.expectKw("load");
    this.expectKw("anchor");
    const name = this.string();
    this.expectKw("from");
    const file = this.string();
    const base = this.current().name;
    const full = base && !base.startsWith("_") ? `${base}/${name}` : name;
    if (full.length >= 1024) this.fail(`anchorname ${name} too long, max 1023\n`);
    this.loadAnchors.push({ anchor: full, file });
  }

  private antispoof(): void {
    this.expectKw("antispoof");
    const lq = this.logquick();
    this.expectKw("for");
    const ifItem = (): IfItem => {
      if (this.acceptCh("(")) {
        const i = this.ifItem();
        this.expectCh(")");
        i.dynamic = true;
        return i;
      }
      return this.ifItem();
    };
    let ifs: IfItem[];
    if (this.acceptCh("{")) {
      this.optnl();
      ifs = [ifItem()];
      this.optnl();
      while (!this.isCh("}")) {
        this.comma();
        ifs.push(ifItem());
        this.optnl();
      }
      this.expectCh("}");
    } else ifs = [ifItem()];
    const af = this.af();
    const labels: string[] = [];
    let ridentifier = 0;
    let rtableid = -1;
    for (;;) {
      if (this.acceptKw("label")) {
        const l = this.expectString();
        if (labels.length >= PF_RULE_MAX_LABEL_COUNT) this.fail(`label can only be used ${PF_RULE_MAX_LABEL_COUNT} times`);
        labels.push(l);
      } else if (this.acceptKw("ridentifier")) ridentifier = this.number();
      else if (this.acceptKw("rtable")) {
        const n = this.expectNumber();
        if (n < 0n || n > BigInt(this.rtMax())) this.fail("invalid rtable id");
        rtableid = Number(n);
      } else break;
    }
    this.checkRulestate(STATE_FILTER);
    for (const i of ifs) {
      const mk = (): Rule => {
        const r = blankRule();
        r.action = "block";
        r.returnKind = "drop";
        r.direction = "in";
        r.log = lq.log;
        r.logif = lq.logif;
        r.quick = lq.quick;
        r.af = af;
        r.ridentifier = ridentifier;
        for (const l of labels) if (l.length >= PF_RULE_LABEL_SIZE) this.fail(`rule label too long (max ${PF_RULE_LABEL_SIZE - 1} chars)`);
        r.labels = [...labels];
        r.rtableid = rtableid;
        return r;
      };
      const j: IfItem = { name: i.name, not: true };
      let h: NodeHost[] | null;
      let hh: NodeHost[] | null = null;
      if (i.dynamic) {
        const d: NodeHost = { af: 0, addr: { ...emptyWrap("dynif"), ifname: i.name }, not: false, ifindex: 0 };
        setIpmask(d, 128);
        hh = [cloneHost(d)];
        d.addr.iflags = AFLAG_NETWORK;
        h = [d];
      } else {
        const l = ifaLookup(this.env.ifs, i.name, AFLAG_NETWORK);
        h = l.length ? l : null;
      }
      if (h) this.expandRule(mk(), [j], null, null, h, null, null, null, null, null, null, null);
      const iface = this.env.ifs.ifaces.find((x) => x.name === i.name);
      if (!iface?.loopback) {
        const r = mk();
        const h2 = hh ?? ifaLookup(this.env.ifs, i.name, 0);
        if (h2 && h2.length) this.expandRule(r, null, null, null, h2, null, null, null, null, null, null, null);
      }
    }
  }



  // ---- queueing (ALTQ) --------------------------------------------------------------------------

  /** bandwidth: "100Kb", "20Mb", "60%", or a number of bits per second */
  private bandwidth(): { abs: number; pct: number } {
    const t = this.peek();
    if (t.kind === "NUMBER") {
      this.take();
      const n = t.num as bigint;
      if (n < 0n) this.fail("bandwidth number too big");
      return { abs: Number(n), pct: 0 };
    }
    const s = this.expectString();
    const m = /^([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)(.*)$/.exec(s);
    let bps = m ? Number(m[1]) : 0;
    let cp = m ? (m[2] ?? "") : s;
    if (cp.length > 1 && ["Bit", "B", "bit", "b"].includes(cp.slice(1))) cp = cp.slice(0, 1);
    if (cp === "" || cp === "b") return { abs: Math.trunc(bps), pct: 0 };
    if (cp === "K") bps *= 1000;
    else if (cp === "M") bps *= 1000 * 1000;
    else if (cp === "G") bps *= 1000 * 1000 * 1000;
    else if (cp === "%") {
      if (bps < 0 || bps > 100) this.fail("bandwidth spec out of range");
      return { abs: 0, pct: Math.trunc(bps) };
    } else this.fail(`unknown unit ${cp}`);
    return { abs: Math.trunc(bps), pct: 0 };
  }

  private rate2str(rate: number): string {
    const unit = " KMG";
    let r = rate;
    let i = 0;
    for (; r >= 1000 && i <= 3; i++) r /= 1000;
    if (Math.trunc(r * 100) % 100) return `${r.toFixed(2)}${unit[i]}b`;
    return `${Math.trunc(r)}${unit[i]}b`;
  }

  /** scheduler: cbq | priq | hfsc | fairq | codelq, with their flags in parentheses */
  private scheduler(): { type: string; flags: string[] } {
    const t = this.take();
    const type = t.text === "codelq" ? "codel" : t.text;
    const flags: string[] = [];
    if (this.acceptCh("(")) {
      const known: Record<string, string[]> = {
        cbq: ["default", "borrow", "red", "ecn", "rio", "codel"],
        priq: ["default", "red", "ecn", "rio", "codel"],
        hfsc: ["default", "red", "ecn", "rio", "codel"],
        fairq: ["default", "red", "ecn", "rio", "codel"],
        codel: ["ecn"],
      };
      for (;;) {
        const f = this.peek();
        if (f.kind === "kw" && ["linkshare", "realtime", "upperlimit", "hogs", "buckets", "interval", "target"].includes(f.text))
          this.refuse(`the ${type} service curve and timing options (${f.text})`);
        const w = this.expectString();
        if (!(known[type] ?? []).includes(w)) this.fail(type === "codel" ? `unknown codel option "${w}"` : `unknown ${type} flag "${w}"`);
        flags.push(w);
        if (this.acceptCh(")")) break;
        this.comma();
      }
    }
    return { type, flags };
  }

  private schedulerText(type: string, flags: string[]): string {
    const order = ["red", "ecn", "rio", "codel", "borrow", "default"];
    const f = order.filter((x) => flags.includes(x));
    if (type === "codel") return flags.includes("ecn") ? "codel(ecn ) " : "";
    if (!f.length) return "";
    return `${type}(${f.map((x) => ` ${x === "ecn" && !flags.includes("red") ? "red ecn" : x}`).join("")} ) `;
  }

  private queueOpts(): { bw: { abs: number; pct: number } | null; priority: number; qlimit: number; tbrsize: number; sched: { type: string; flags: string[] } | null } {
    const o = { bw: null as { abs: number; pct: number } | null, priority: 1, qlimit: 50, tbrsize: 0, sched: null as { type: string; flags: string[] } | null };
    const seen = new Set<string>();
    for (;;) {
      const t = this.peek();
      if (t.kind !== "kw") return o;
      const once = (what: string): void => {
        if (seen.has(what)) this.fail(`${what} cannot be respecified`);
        seen.add(what);
      };
      if (t.text === "bandwidth") {
        this.take();
        const b = this.bandwidth();
        once("bandwidth");
        o.bw = b;
      } else if (t.text === "priority") {
        this.take();
        const n = this.expectNumber();
        once("priority");
        if (n < 0n || n > 255n) this.fail("priority out of range: max 255");
        o.priority = Number(n);
      } else if (t.text === "qlimit") {
        this.take();
        const n = this.expectNumber();
        once("qlimit");
        if (n < 0n || n > 65535n) this.fail("qlimit out of range: max 65535");
        o.qlimit = Number(n);
      } else if (t.text === "tbrsize") {
        this.take();
        const n = this.expectNumber();
        once("tbrsize");
        o.tbrsize = Number(n);
      } else if (["cbq", "priq", "hfsc", "fairq", "codelq"].includes(t.text)) {
        const sch = this.scheduler();
        once("scheduler");
        o.sched = sch;
      } else return o;
    }
  }

  private qassign(): string[] {
    if (!this.acceptKw("queue")) return [];
    if (this.acceptCh("{")) {
      this.optnl();
      const l = [this.expectString()];
      this.optnl();
      while (!this.isCh("}")) {
        this.comma();
        l.push(this.expectString());
        this.optnl();
      }
      this.expectCh("}");
      return l;
    }
    return [this.expectString()];
  }

  /** altq on IF scheduler bandwidth ... queue { ... }: parsed, checked and printed; the simulated kernel, like GENERIC, has no ALTQ to load it into. */
  private altqif(): void {
    this.expectKw("altq");
    const ifs = this.interfaceSpec();
    const o = this.queueOpts();
    const children = this.qassign();
    this.checkRulestate(STATE_QUEUE);
    if (!o.sched) this.fail("no scheduler specified!");
    if (!children.length && o.sched.type !== "codel") this.fail("no child queues specified");
    for (const i of ifs ?? []) {
      if (i.not) {
        this.yyerror("altq on ! <interface> is not supported");
        this.fail();
      }
      let bw = o.bw?.abs ?? 0;
      if (!bw) {
        this.stderr(`interface ${i.name} does not know its bandwidth, please specify an absolute bandwidth`);
        this.fail();
      }
      let tbr = o.tbrsize;
      if (!tbr) {
        const size = bw <= 1e6 ? 1 : bw <= 10e6 ? 4 : bw <= 200e6 ? 8 : bw <= 2500e6 ? 24 : 128;
        tbr = size * 1500;
      }
      if (this.verbose) {
        let line = `altq on ${i.name} `;
        const st = this.schedulerText(o.sched.type, o.sched.flags);
        line += st || `${o.sched.type} `;
        line += `bandwidth ${this.rate2str(bw)} `;
        if (o.qlimit !== 50) line += `qlimit ${o.qlimit} `;
        line += `tbrsize ${tbr} `;
        if (children.length) line += `queue { ${children.join(" ")} }`;
        this.stdout(line);
      }
      bw = 0;
      for (const c of children) this.altqQueues.push({ name: c, parent: "", ifname: i.name, scheduler: o.sched.type });
    }
  }

  private queuespec(): void {
    this.expectKw("queue");
    const name = this.expectString();
    const ifs = this.interfaceSpec();
    const o = this.queueOpts();
    let children: string[] = [];
    if (this.acceptCh("{")) {
      this.optnl();
      children = [this.expectString()];
      this.optnl();
      while (!this.isCh("}")) {
        this.comma();
        children.push(this.expectString());
        this.optnl();
      }
      this.expectCh("}");
    } else if (this.peek().kind === "STRING") children = [this.expectString()];
    this.checkRulestate(STATE_QUEUE);
    if (name.length >= PF_QNAME_SIZE) this.fail(`queue name too long (max ${PF_QNAME_SIZE - 1} chars)`);
    if (o.tbrsize) this.fail("cannot specify tbrsize for queue");
    const iface = ifs?.[0];
    const found = this.altqQueues.filter((q) => q.name === name && (!iface || (iface.not ? q.ifname !== iface.name : q.ifname === iface.name)));
    if (!found.length) this.fail(`queue ${name} has no parent`);
    const first = found[0] as (typeof found)[number];
    if (o.sched && o.sched.type !== first.scheduler) this.fail("exactly one scheduler type per interface allowed");
    if (first.scheduler === "priq") {
      if (children.length) this.fail("priq queues cannot have child queues");
      if (o.bw && (o.bw.abs > 0 || o.bw.pct < 100)) this.fail("priq doesn't take bandwidth");
    }
    if (children.includes(name)) this.fail("queue cannot have itself as child");
    if (this.verbose) {
      let line = "queue ";
      line += `${name} `;
      if (iface) line += `on ${first.ifname} `;
      if (["cbq", "hfsc", "fairq"].includes(first.scheduler)) {
        if (!o.bw || o.bw.pct > 0) {
          if (o.bw && o.bw.pct < 100) line += `bandwidth ${o.bw.pct}% `;
        } else line += `bandwidth ${this.rate2str(o.bw.abs)} `;
      }
      if (o.priority !== 1) line += `priority ${o.priority} `;
      if (o.qlimit !== 50) line += `qlimit ${o.qlimit} `;
      if (o.sched) line += this.schedulerText(first.scheduler, o.sched.flags);
      if (children.length) line += `{ ${children.join(" ")} }`;
      this.stdout(line);
    }
    for (const q of found) for (const c of children) this.altqQueues.push({ name: c, parent: name, ifname: q.ifname, scheduler: q.scheduler });
  }

  // ---- ether (layer 2) rules ----------------------------------------------------------------

  /** mac: string ['/' NUMBER], or "mac&mask" */
  private mac(): EthAddr {
    const s = this.string();
    const parse = (t: string | undefined): number[] | null => {
      const m = /^([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2}):([0-9a-fA-F]{1,2})/.exec(t ?? "");
      return m ? m.slice(1, 7).map((x) => parseInt(x, 16)) : null;
    };
    if (this.acceptCh("/")) {
      const n = this.expectNumber();
      if (n < 0n || n > 48n) this.fail("invalid MAC mask length");
      const addr = parse(s);
      if (!addr) this.fail("invalid MAC address");
      const mask = [0, 0, 0, 0, 0, 0];
      for (let i = 0; i < Number(n); i++) mask[Math.floor(i / 8)] = (mask[Math.floor(i / 8)] ?? 0) | (1 << i % 8);
      return { addr, mask, neg: false, isset: true };
    }
    if (s.includes("&")) {
      const [a, m] = s.split("&");
      const addr = parse(a);
      if (!addr) this.fail("invalid MAC address");
      const mask = parse(m);
      if (!mask) this.fail("invalid MAC mask");
      return { addr, mask, neg: false, isset: true };
    }
    const addr = parse(s);
    if (!addr) this.fail("invalid MAC address");
    return { addr, mask: [255, 255, 255, 255, 255, 255], neg: false, isset: true };
  }
  private xmac(): EthAddr {
    const not = this.acceptCh("!");
    const m = this.mac();
    m.neg = not;
    return m;
  }
  private macspec(): EthAddr[] {
    if (this.acceptCh("{")) {
      this.optnl();
      const l = [this.xmac()];
      this.optnl();
      while (!this.isCh("}")) {
        this.comma();
        l.push(this.xmac());
        this.optnl();
      }
      this.expectCh("}");
      return l;
    }
    return [this.xmac()];
  }
  private etherprotoItem(): number {
    const t = this.peek();
    let pr = 0;
    if (t.kind === "NUMBER") {
      this.take();
      const n = t.num as bigint;
      if (n < 0n || n > 65565n) this.fail("protocol outside range");
      pr = Number(n);
    } else {
      const s = this.expectString();
      const m = /^0x([0-9a-fA-F]{1,4})/.exec(s);
      if (s.startsWith("0x")) {
        if (!m) this.fail("invalid EtherType hex");
        pr = parseInt(m[1] as string, 16);
      } else this.yyerror("Symbolic EtherType not yet supported");
    }
    if ((pr & 0xffff) === 0) this.fail("proto 0 cannot be used");
    return pr & 0xffff;
  }

  private etherrule(): void {
    this.expectKw("ether");
    const isAnchor = this.acceptKw("anchor");
    let action: EthRule["action"] = "pass";
    let anchorName: string | null = null;
    if (isAnchor) {
      if (this.peek().kind === "STRING") anchorName = this.expectString();
    } else {
      const a = this.take();
      if (a.kind !== "kw" || !["pass", "block", "match"].includes(a.text)) this.syntax();
      action = a.text as EthRule["action"];
      if (action === "block") this.blockspec(blankRule());
    }
    let direction: EthRule["direction"] = "";
    if (this.acceptKw("in")) direction = "in";
    else if (this.acceptKw("out")) direction = "out";
    const quick = this.acceptKw("quick");
    const ifs = this.interfaceSpec();
    let bridgeTo = "";
    if (!isAnchor && this.acceptKw("bridge-to")) bridgeTo = this.expectString();
    let protos: number[] | null = null;
    if (this.acceptKw("proto")) {
      if (this.acceptCh("{")) {
        this.optnl();
        protos = [this.etherprotoItem()];
        this.optnl();
        while (!this.isCh("}")) {
          this.comma();
          protos.push(this.etherprotoItem());
          this.optnl();
        }
        this.expectCh("}");
      } else protos = [this.etherprotoItem()];
    }
    let srcs: EthAddr[] | null = null;
    let dsts: EthAddr[] | null = null;
    if (!this.acceptKw("all")) {
      if (this.acceptKw("from")) srcs = this.macspec();
      if (this.acceptKw("to")) dsts = this.macspec();
    }
    let ft: FromTo = { srcHosts: null, srcPorts: null, dstHosts: null, dstPorts: null };
    if (this.acceptKw("l3")) {
      ft = this.fromto();
      if (ft.srcHosts?.some((h) => h.addr.type !== "addrmask" && h.addr.type !== "table")) this.fail("from must be an address or table");
      if (ft.dstHosts?.some((h) => h.addr.type !== "addrmask" && h.addr.type !== "table")) this.fail("to must be an address or table");
    }
    const r: EthRule = {
      nr: 0, action, direction, quick, ifname: "", ifnot: false, bridgeTo, proto: 0,
      src: { addr: [0, 0, 0, 0, 0, 0], mask: [0, 0, 0, 0, 0, 0], neg: false, isset: false },
      dst: { addr: [0, 0, 0, 0, 0, 0], mask: [0, 0, 0, 0, 0, 0], neg: false, isset: false },
      ipsrc: blankRuleAddr(), ipdst: blankRuleAddr(), labels: [], ridentifier: 0, qname: "", tag: "", matchTag: "",
      matchTagNot: false, dnpipe: 0, dnIsPipe: false, anchor: null,
    };
    if (isAnchor) {
      if (this.isCh("{")) this.refuse("an inline ether anchor");
    } else {
      for (;;) {
        const t = this.peek();
        if (t.kind === "char" && t.text === "!") {
          this.take();
          this.expectKw("tagged");
          r.matchTag = this.string();
          r.matchTagNot = true;
          continue;
        }
        if (t.kind !== "kw") break;
        if (t.text === "queue") {
          this.take();
          if (this.acceptCh("(")) {
            r.qname = this.expectString();
            this.expectCh(")");
          } else r.qname = this.expectString();
        } else if (t.text === "ridentifier") {
          this.take();
          r.ridentifier = this.number();
        } else if (t.text === "label") {
          this.take();
          const l = this.expectString();
          if (r.labels.length >= PF_RULE_MAX_LABEL_COUNT) this.fail(`label can only be used ${PF_RULE_MAX_LABEL_COUNT} times`);
          r.labels.push(l);
        } else if (t.text === "tag") {
          this.take();
          r.tag = this.string();
        } else if (t.text === "tagged") {
          this.take();
          r.matchTag = this.string();
          r.matchTagNot = false;
        } else if (t.text === "dnpipe" || t.text === "dnqueue") {
          this.take();
          r.dnpipe = this.number();
          r.dnIsPipe = t.text === "dnpipe";
        } else break;
      }
    }
    this.checkRulestate(STATE_ETHER);
    if (anchorName && (anchorName[0] === "_" || anchorName.includes("/_"))) this.fail("anchor names beginning with '_' are reserved for internal use");
    if (isAnchor && !anchorName) this.fail("anchors without explicit rules must specify a name");
    if (r.matchTag.length >= PF_TAG_NAME_SIZE) this.fail(`tag too long, max ${PF_TAG_NAME_SIZE - 1} chars`);
    for (const l of r.labels) if (l.length >= PF_RULE_LABEL_SIZE) this.fail(`rule label too long (max ${PF_RULE_LABEL_SIZE - 1} chars)`);
    const nullHost = (): NodeHost => ({ af: 0, addr: emptyWrap(), not: false, ifindex: 0 });
    const L = <T>(l: T[] | null, z: () => T): T[] => (l && l.length ? l : [z()]);
    const noMac = (): EthAddr => ({ addr: [0, 0, 0, 0, 0, 0], mask: [0, 0, 0, 0, 0, 0], neg: false, isset: false });
    const rs = this.current().ruleset;
    rs.ether ??= [];
    for (const iface of L(ifs, () => ({ name: "", not: false }) as IfItem))
      for (const proto of L(protos, () => 0))
        for (const src of L(srcs, noMac))
          for (const dst of L(dsts, noMac))
            for (const ipsrc of L(ft.srcHosts, nullHost))
              for (const ipdst of L(ft.dstHosts, nullHost)) {
                const e: EthRule = JSON.parse(JSON.stringify(r)) as EthRule;
                e.ifname = iface.name;
                e.ifnot = iface.not;
                e.proto = proto;
                if (!e.proto && ipsrc.af) e.proto = ipsrc.af === 4 ? 0x0800 : 0x86dd;
                else if (!e.proto && ipdst.af) e.proto = ipdst.af === 4 ? 0x0800 : 0x86dd;
                e.src = { ...src };
                e.dst = { ...dst };
                e.ipsrc = { addr: { ...ipsrc.addr }, neg: ipsrc.not, port: [0, 0], portOp: 0 };
                e.ipdst = { addr: { ...ipdst.addr }, neg: ipdst.not, port: [0, 0], portOp: 0 };
                e.nr = this.ethMatch++;
                if (isAnchor && anchorName) e.anchor = this.anchorCall(anchorName, null);
                rs.ether.push(e);
              }
  }

  private tabledef(): void {
    this.expectKw("table");
    this.expectCh("<");
    const name = this.expectString();
    this.expectCh(">");
    const def: TableDef = { name, const: false, persist: false, counters: false, initAddr: false, inits: [], entries: [] };
    for (;;) {
      const t = this.peek();
      if (t.kind === "STRING") {
        this.take();
        if (t.text === "const") def.const = true;
        else if (t.text === "persist") def.persist = true;
        else if (t.text === "counters") def.counters = true;
        else this.fail(`invalid table option '${t.text}'`);
        continue;
      }
      if (t.kind === "char" && t.text === "{") {
        this.take();
        this.optnl();
        if (this.acceptCh("}")) {
          def.initAddr = true;
          continue;
        }
        let list = this.ipspec();
        this.optnl();
        while (!this.isCh("}")) {
          this.comma();
          const n = this.ipspec();
          this.optnl();
          if (n === null) continue;
          list = list === null ? n : [...list, ...n];
        }
        this.expectCh("}");
        for (const n of list ?? []) {
          switch (n.addr.type) {
            case "addrmask":
              continue;
            case "range":
              this.fail("address ranges are not permitted inside tables");
              break;
            case "dynif":
              this.fail("dynamic addresses are not permitted inside tables");
              break;
            case "table":
              this.fail("tables cannot contain tables");
              break;
            case "noroute":
              this.fail('"no-route" is not permitted inside tables');
              break;
            case "urpf":
              this.fail('"urpf-failed" is not permitted inside tables');
              break;
          }
        }
        if (list) def.inits.push({ hosts: list });
        def.initAddr = true;
        continue;
      }
      if (t.kind === "kw" && t.text === "file") {
        this.take();
        const f = this.expectString();
        def.inits.push({ file: f });
        def.initAddr = true;
        continue;
      }
      break;
    }
    if (name.length >= PF_TABLE_NAME_SIZE) this.fail(`table name too long, max ${PF_TABLE_NAME_SIZE - 1} chars`);
    if (!this.opts.loadTables) return;
    const entries: TableEntry[] = [];
    for (const ti of def.inits) {
      if (ti.file !== undefined) {
        const r = this.env.readFile(ti.file);
        if ("errno" in r) this.fail(`cannot load "${ti.file}": ${r.errno}`);
        for (const w of addressWords(r.text)) {
          const e = entriesFromWord(this.hostEnv(), w, false);
          if (e === "bad") this.fail(`file "${ti.file}" contains bad data`);
          if (e === "einval") this.fail(`cannot load "${ti.file}": Invalid argument`);
          entries.push(...e);
        }
      }
      if (ti.hosts) {
        const e = entriesFromHosts(ti.hosts, false, false);
        if (!e) this.fail("cannot create address buffer: Invalid argument");
        entries.push(...e);
      }
    }
    def.entries = entries;
    if (this.verbose) this.stdout(printTableDef(def));
    this.tables.push(def);
  }
}

/** The lines `pfctl -v` prints while loading a ruleset: load order, nested inline anchors. */
export function printLoad(rs: Ruleset, verbose: 0 | 1 | 2, numeric: boolean): string[] {
  const lines: string[] = [];
  if (!verbose) return lines;
  const v2 = verbose > 1;
  const walk = (set: Ruleset, kind: "scrub" | "filter" | "nat" | "rdr" | "binat", depth: number): void => {
    for (const r of set[kind]) {
      const ind = v2 ? "" : "  ".repeat(depth);
      const a = r.anchor;
      const name = a ? (a.inline && a.inline[kind].length ? a.name : a.path) : "";
      let line = ind + printRule(r, name, v2, numeric);
      if (a) {
        const inner = a.inline ? a.inline[kind] : [];
        if (inner.length && a.inline) {
          lines.push(line + " {");
          walk(a.inline, kind, depth + 1);
          lines.push("  ".repeat(depth) + "}");
          continue;
        }
      }
      lines.push(line);
      line = "";
    }
  };
  walk(rs, "scrub", 0);
  for (const e of rs.ether ?? []) lines.push(printEthRule(e, e.anchor ? e.anchor.path : "", v2));
  for (const k of ["nat", "rdr", "binat", "filter"] as const) walk(rs, k, 0);
  return lines;
}

/** Load-time label/tag expansion (pfctl_load_ruleset), applied to every rule, inline anchors too. */
export function expandLabels(rs: Ruleset): void {
  for (const k of ["scrub", "nat", "rdr", "binat", "filter"] as const)
    for (const r of rs[k]) {
      r.labels = r.labels.map((l) => expandLabel(l, r));
      if (r.tag) r.tag = expandLabel(r.tag, r);
      if (r.matchTag) r.matchTag = expandLabel(r.matchTag, r);
      if (r.anchor?.inline) expandLabels(r.anchor.inline);
    }
}

export function parsePfConf(opts: ParseOptions, env: ParseEnv): ParseResult {
  return new Parser(opts, env).parse();
}

export { isZero, zero };
