/**
 * jail.conf(5): reads a configuration file into jail definitions, the way jail(8) does. Pure
 * except for `loadJailConf`, which reads the file and the files `.include` names.
 *
 * Syntax (jail.conf(5), "String format", "Variables", "Wildcards", "Comments"):
 * - statements end in `;`; `name;`, `name = value;`, `name += value;`, `name value;`; a value
 *   is a comma-separated list of strings;
 * - a string is a run of tokens with no white space between them: bare words, '…' (no
 *   substitution), "…" ($var and ${var} substituted), backslash escapes (C style, octal, \x);
 * - `$var = value;` defines a variable; `$name`, `${host.hostname}` refer to parameters or
 *   variables of the same jail, resolved per jail after the wildcard sections are merged;
 * - `* { }` and parameters outside any jail apply to every jail; later definitions win;
 * - comments: `#`, `//` to end of line, `/* … *\/`;
 * - `.include "glob";` reads more files in place (FreeBSD 14.0 and later).
 * Errors read as jail(8)'s: `FILE line N: TOKEN: syntax error`, `FILE: unexpected EOF`,
 * `FILE line N: unterminated string`, and per jail `web: path: variable "x" not found`.
 */
import { existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export interface CString {
  /** The literal text, with variables removed. */
  text: string;
  /** Variables to insert, each at its offset in `text`. */
  vars: Array<{ name: string; pos: number }>;
}

export interface CParam {
  name: string;
  isVar: boolean;
  append: boolean;
  values: CString[];
}

export interface CJail {
  name: string;
  params: CParam[];
}

type TokKind = "STR" | "STR1" | "VAR" | "VAR1" | "PLEQ" | "," | ";" | "=" | "{" | "}" | "OTHER" | "EOF";

interface Tok {
  kind: TokKind;
  /** Processed value (string text or variable name). */
  value: string;
  /** The lexeme as written (yytext), for error messages. */
  raw: string;
  /** The line number after the token, as yyerror reports it. */
  line: number;
}

const ATOM = /[A-Za-z0-9_!%&()\-.:<>?@[\]^`|~]+/y;
const NAME = /[A-Za-z_][A-Za-z_0-9]*/y;

/** unescape processes the backslash escapes in `s`, stopping at an unescaped `$` when `toVar`. Returns the text and where it stopped. */
function unescape(s: string, toVar: boolean): { text: string; stop: number } {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? "";
    if (c !== "\\") {
      if (toVar && c === "$") return { text: out, stop: i };
      out += c;
      continue;
    }
    i++;
    const d = s[i] ?? "";
    if (d >= "0" && d <= "7") {
      let n = d.charCodeAt(0) - 48;
      for (let k = 0; k < 2 && (s[i + 1] ?? "") >= "0" && (s[i + 1] ?? "") <= "7"; k++) n = n * 8 + ((s[++i] ?? "0").charCodeAt(0) - 48);
      out += String.fromCharCode(n & 0xff);
      continue;
    }
    switch (d) {
      case "a": out += "\x07"; break;
      case "b": out += "\b"; break;
      case "f": out += "\f"; break;
      case "n": out += "\n"; break;
      case "r": out += "\r"; break;
      case "t": out += "\t"; break;
      case "v": out += "\v"; break;
      case "\n": break;
      case "x": {
        let n = 0, k = 0;
        while (k < 2 && /[0-9A-Fa-f]/.test(s[i + 1] ?? "")) {
          n = n * 16 + Number.parseInt(s[++i] ?? "0", 16);
          k++;
        }
        out += String.fromCharCode(n);
        break;
      }
      default:
        out += d;
    }
  }
  return { text: out, stop: -1 };
}

/** matchQuoted returns the end (exclusive) of a quoted string starting at `i`, or -1 when it is not closed. */
function matchQuoted(src: string, i: number, q: string): number {
  for (let k = i + 1; k < src.length; k++) {
    const c = src[k];
    if (c === "\\") k++;
    else if (c === q) return k + 1;
  }
  return -1;
}

/** matchBraceVar returns the end of `${…}` starting at `i`, or -1; inside double quotes a `"` ends the attempt. */
function matchBraceVar(src: string, i: number, inDq: boolean): number {
  for (let k = i + 2; k < src.length; k++) {
    const c = src[k];
    if (c === "\\") {
      k++;
      continue;
    }
    if (c === "}") return k + 1;
    if (c === "\n" || c === "{" || (inDq && c === '"')) return -1;
  }
  return -1;
}

class Lexer {
  private i = 0;
  private line = 1;
  private instr = false;
  private dq = false;
  readonly errors: string[] = [];

  constructor(private readonly src: string, private readonly file: string) {}

  private countLines(text: string): void {
    for (const c of text) if (c === "\n") this.line++;
  }

  private str(value: string, raw: string): Tok {
    const kind: TokKind = this.instr ? "STR1" : "STR";
    this.instr = true;
    this.countLines(raw);
    return { kind, value, raw, line: this.line };
  }

  private variable(name: string, raw: string): Tok {
    const kind: TokKind = this.instr ? "VAR1" : "VAR";
    this.instr = true;
    this.countLines(raw);
    return { kind, value: name, raw, line: this.line };
  }

  /** The rest of a double-quoted string from `start` (after a variable, or after the opening quote). */
  private dqRest(start: number, skipOpen: boolean): Tok {
    const end = matchQuoted(this.src, skipOpen ? start : start - 1, '"');
    const body = this.src.slice(skipOpen ? start + 1 : start, end - 1);
    const { text, stop } = unescape(body, true);
    if (stop < 0) {
      this.i = end;
      this.dq = false;
      return this.str(text, this.src.slice(start, end));
    }
    const rawEnd = (skipOpen ? start + 1 : start) + stop;
    this.i = rawEnd;
    this.dq = true;
    return this.str(text, this.src.slice(start, rawEnd));
  }

  next(): Tok {
    const s = this.src;
    for (;;) {
      const i = this.i;
      if (i >= s.length) return { kind: "EOF", value: "", raw: "", line: this.line };
      const c = s[i] ?? "";
      if (this.dq) {
        if (c === '"') {
          this.i++;
          this.dq = false;
          continue;
        }
        if (c === "$") {
          NAME.lastIndex = i + 1;
          const m = NAME.exec(s);
          if (m !== null) {
            this.i = i + 1 + m[0].length;
            return this.variable(m[0], s.slice(i, this.i));
          }
          if (s[i + 1] === "{") {
            const end = matchBraceVar(s, i, true);
            if (end < 0) {
              this.errors.push(`${this.file} line ${this.line}: unterminated variable`);
              this.i = s.indexOf("\n", i) < 0 ? s.length : s.indexOf("\n", i);
              this.dq = false;
              continue;
            }
            this.i = end;
            return this.variable(unescape(s.slice(i + 2, end - 1), false).text, s.slice(i, end));
          }
          this.i = i + 1;
          return this.str("$", "$");
        }
        if (c === "\\") {
          const t = this.escapeToken(i);
          if (t !== undefined) return t;
        }
        return this.dqRest(i, false);
      }
      if (c === " " || c === "\t") {
        this.i++;
        this.instr = false;
        continue;
      }
      if (c === "#" || (c === "/" && s[i + 1] === "/")) {
        const nl = s.indexOf("\n", i);
        this.i = nl < 0 ? s.length : nl;
        continue;
      }
      if (c === "/" && s[i + 1] === "*") {
        const end = s.indexOf("*/", i + 2);
        if (end < 0) {
          this.errors.push(`${this.file} line ${this.line}: unterminated comment`);
          this.countLines(s.slice(i));
          this.i = s.length;
          continue;
        }
        this.countLines(s.slice(i, end + 2));
        this.i = end + 2;
        this.instr = false;
        continue;
      }
      if (c === "\n") {
        this.i++;
        this.line++;
        this.instr = false;
        continue;
      }
      if (c === "+" && s[i + 1] === "=") {
        this.i += 2;
        this.instr = false;
        return { kind: "PLEQ", value: "+=", raw: "+=", line: this.line };
      }
      if (c === "," || c === ";" || c === "=" || c === "{" || c === "}") {
        this.i++;
        this.instr = false;
        return { kind: c, value: c, raw: c, line: this.line };
      }
      if (c === "$") {
        NAME.lastIndex = i + 1;
        const m = NAME.exec(s);
        if (m !== null) {
          this.i = i + 1 + m[0].length;
          return this.variable(m[0], s.slice(i, this.i));
        }
        if (s[i + 1] === "{") {
          const end = matchBraceVar(s, i, false);
          if (end < 0) {
            this.errors.push(`${this.file} line ${this.line}: unterminated variable`);
            const nl = s.indexOf("\n", i);
            this.i = nl < 0 ? s.length : nl;
            continue;
          }
          this.i = end;
          return this.variable(unescape(s.slice(i + 2, end - 1), false).text, s.slice(i, end));
        }
      }
      if (c === "'") {
        const end = matchQuoted(s, i, "'");
        if (end < 0) {
          this.errors.push(`${this.file} line ${this.line}: unterminated string`);
          const nl = s.indexOf("\n", i);
          this.i = nl < 0 ? s.length : nl;
          continue;
        }
        this.i = end;
        return this.str(unescape(s.slice(i + 1, end - 1), false).text, s.slice(i, end));
      }
      if (c === '"') {
        if (matchQuoted(s, i, '"') < 0) {
          this.errors.push(`${this.file} line ${this.line}: unterminated string`);
          const nl = s.indexOf("\n", i);
          this.i = nl < 0 ? s.length : nl;
          continue;
        }
        return this.dqRest(i, true);
      }
      ATOM.lastIndex = i;
      const m = ATOM.exec(s);
      if (m !== null) {
        this.i = i + m[0].length;
        return this.str(m[0], m[0]);
      }
      if (c === "\\") {
        const t = this.escapeToken(i);
        if (t !== undefined) return t;
      }
      if (c === "$" || c === "*" || c === "+" || c === "/" || c === "\\") {
        this.i = i + 1;
        return this.str(c, c);
      }
      this.i = i + 1;
      return { kind: "OTHER", value: c, raw: c, line: this.line };
    }
  }

  /** A single backslash escape as a string token: `\.`, `\` newline, up to three octal digits, `\x` and up to two hex digits. */
  private escapeToken(i: number): Tok | undefined {
    const s = this.src;
    if (i + 1 >= s.length) return undefined;
    let end = i + 2;
    if (/[0-7]/.test(s[i + 1] ?? "")) {
      while (end < i + 4 && /[0-7]/.test(s[end] ?? "")) end++;
    } else if (s[i + 1] === "x") {
      while (end < i + 4 && /[0-9A-Fa-f]/.test(s[end] ?? "")) end++;
    }
    const raw = s.slice(i, end);
    this.i = end;
    return this.str(unescape(raw, false).text, raw);
  }
}

export type ParseResult = { ok: true; jails: CJail[] } | { ok: false; errors: string[]; jails: CJail[] };

/**
 * parseJailConf parses one file's text. `include` reads a file named by `.include` (its
 * result is spliced in place). Errors are jail(8)'s messages without the `jail: ` prefix.
 */
export function parseJailConf(src: string, file: string, include: (pattern: string, line: number) => ParseResult = () => ({ ok: true, jails: [] })): ParseResult {
  const lex = new Lexer(src, file);
  const errors: string[] = [];
  const jails: CJail[] = [];
  let tok = lex.next();
  // A function, not the variable: advance() changes tok behind the type checker's back.
  const kind = (): TokKind => tok.kind;
  const advance = (): void => {
    tok = lex.next();
  };
  const syntaxError = (): void => {
    errors.push(kind() === "EOF" ? `${file}: unexpected EOF` : `${file} line ${tok.line}: ${tok.raw}: syntax error`);
  };
  const parseString = (): CString | undefined => {
    if (kind() !== "STR" && kind() !== "VAR") return undefined;
    const s: CString = { text: "", vars: [] };
    if (kind() === "STR") s.text = tok.value;
    else s.vars.push({ name: tok.value, pos: 0 });
    advance();
    while (kind() === "STR1" || kind() === "VAR1") {
      if (kind() === "STR1") s.text += tok.value;
      else s.vars.push({ name: tok.value, pos: s.text.length });
      advance();
    }
    return s;
  };
  /** One `param ;`; false after a syntax error (the caller skips to the next `;`). */
  const parseParam = (into: CParam[]): boolean => {
    if (kind() !== "STR" && kind() !== "VAR") {
      syntaxError();
      return false;
    }
    const p: CParam = { name: tok.value, isVar: kind() === "VAR", append: false, values: [] };
    advance();
    if (kind() === "=" || kind() === "PLEQ") {
      p.append = kind() === "PLEQ";
      advance();
      const first = parseString();
      if (first === undefined) {
        syntaxError();
        return false;
      }
      p.values.push(first);
    } else if (kind() === "STR" || kind() === "VAR") {
      const first = parseString();
      if (first !== undefined) p.values.push(first);
    }
    if (p.values.length > 0) {
      while (kind() === ",") {
        advance();
        const s = parseString();
        if (s === undefined) {
          syntaxError();
          return false;
        }
        p.values.push(s);
      }
    }
    if (kind() !== ";") {
      syntaxError();
      return false;
    }
    advance();
    into.push(p);
    return true;
  };
  const recover = (): void => {
    while (kind() !== ";" && kind() !== "EOF" && kind() !== "}") advance();
    if (kind() === ";") advance();
  };
  const globalJail = (): CJail => {
    const last = jails.at(-1);
    if (last !== undefined && last.name === "*") return last;
    const j: CJail = { name: "*", params: [] };
    jails.push(j);
    return j;
  };
  while (kind() !== "EOF") {
    if (kind() === ";") {
      advance();
      continue;
    }
    if (kind() === "STR") {
      const name = tok.value;
      const save = tok;
      advance();
      if (kind() === "{") {
        advance();
        const j: CJail = { name, params: [] };
        while (kind() !== "}") {
          if (kind() === "EOF") {
            syntaxError();
            return { ok: false, errors: [...lex.errors, ...errors], jails };
          }
          if (kind() === ";") {
            advance();
            continue;
          }
          if (!parseParam(j.params)) {
            recover();
            if (kind() === "EOF") return { ok: false, errors: [...lex.errors, ...errors], jails };
          }
        }
        advance();
        jails.push(j);
        continue;
      }
      // Not a jail: re-parse as a global parameter whose name we already consumed.
      const ps: CParam[] = [];
      const rest = parseParamAfterName(save);
      if (rest === undefined) recover();
      else ps.push(rest);
      for (const p of ps) {
        if (p.name === ".include" && !p.isVar) {
          for (const v of p.values) {
            const inc = include(v.text, save.line);
            jails.push(...inc.jails);
            if (!inc.ok) errors.push(...inc.errors);
          }
        } else {
          globalJail().params.push(p);
        }
      }
      continue;
    }
    if (kind() === "VAR") {
      if (!parseParam(globalJail().params)) recover();
      continue;
    }
    syntaxError();
    recover();
    if (kind() === "}") advance();
  }
  const all = [...lex.errors, ...errors];
  return all.length > 0 ? { ok: false, errors: all, jails } : { ok: true, jails };

  function parseParamAfterName(nameTok: Tok): CParam | undefined {
    const p: CParam = { name: nameTok.value, isVar: false, append: false, values: [] };
    if (kind() === "=" || kind() === "PLEQ") {
      p.append = kind() === "PLEQ";
      advance();
      const first = parseString();
      if (first === undefined) {
        syntaxError();
        return undefined;
      }
      p.values.push(first);
    } else if (kind() === "STR" || kind() === "VAR") {
      const first = parseString();
      if (first !== undefined) p.values.push(first);
    }
    if (p.values.length > 0) {
      while (kind() === ",") {
        advance();
        const s = parseString();
        if (s === undefined) {
          syntaxError();
          return undefined;
        }
        p.values.push(s);
      }
    }
    if (kind() !== ";") {
      syntaxError();
      return undefined;
    }
    advance();
    return p;
  }
}

/** globMatch matches one path component against a sh(1) glob (`*`, `?`, `[...]`). */
function globMatch(pattern: string, name: string): boolean {
  let re = "^";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i] ?? "";
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = pattern.indexOf("]", i + 1);
      if (end < 0) re += "\\[";
      else {
        re += `[${pattern.slice(i + 1, end).replace(/^!/, "^").replace(/\\/g, "\\\\")}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\/]/g, "\\$&");
  }
  return new RegExp(`${re}$`).test(name) && !name.startsWith(".");
}

/** expandGlob lists the files a `.include` pattern names, sorted; a pattern without glob characters names itself. */
export function expandGlob(pattern: string): string[] {
  if (!/[*?[]/.test(pattern)) return [pattern];
  const dir = dirname(pattern);
  const base = basename(pattern);
  if (/[*?[]/.test(dir) || !existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => globMatch(base, n))
    .map((n) => join(dir, n))
    .filter((p) => statSync(p).isFile())
    .sort();
}

/**
 * loadJailConf reads `realPath` (shown as `shownPath` in messages) and what it includes.
 * Returns the parse result; a file that cannot be read gives `shownPath: No such file or directory`.
 */
export function loadJailConf(realPath: string, shownPath: string, resolveInclude: (p: string) => string = (p) => p, depth = 0): ParseResult {
  let src: string;
  try {
    src = readFileSync(realPath, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, errors: [`${shownPath}: ${code === "ENOENT" ? "No such file or directory" : code === "EACCES" ? "Permission denied" : code === "EISDIR" ? "Is a directory" : String(code)}`], jails: [] };
  }
  return parseJailConf(src, shownPath, (pattern) => {
    if (depth > 32) return { ok: false, errors: [`${shownPath}: too many levels of .include`], jails: [] };
    const results = expandGlob(resolveInclude(pattern)).map((f) => loadJailConf(f, f, resolveInclude, depth + 1));
    const errors = results.flatMap((r) => (r.ok ? [] : r.errors));
    return { ok: errors.length === 0, errors, jails: results.flatMap((r) => r.jails) } as ParseResult;
  });
}

// ---------------------------------------------------------------- resolution (config.c load_config)

/** jail(8)'s own parameters (never passed to the kernel), with their kinds. */
export const INTERNAL_PARAMS: Readonly<Record<string, { bool?: true; int?: true }>> = {
  "allow.dying": { bool: true },
  command: {},
  depend: {},
  "exec.clean": { bool: true },
  "exec.consolelog": {},
  "exec.fib": { int: true },
  "exec.jail_user": {},
  "exec.poststart": {},
  "exec.poststop": {},
  "exec.prepare": {},
  "exec.prestart": {},
  "exec.prestop": {},
  "exec.release": {},
  "exec.created": {},
  "exec.start": {},
  "exec.stop": {},
  "exec.system_jail_user": { bool: true },
  "exec.system_user": {},
  "exec.timeout": { int: true },
  interface: {},
  ip_hostname: { bool: true },
  mount: {},
  "mount.devfs": { bool: true },
  "mount.fdescfs": { bool: true },
  "mount.procfs": { bool: true },
  "mount.fstab": {},
  "stop.timeout": { int: true },
  "vnet.interface": {},
};

/** equalopts compares parameter names the way jail(8) does: `persist` equals `nopersist`, `allow.mount` equals `allow.nomount`. */
export function equalopts(a: string, b: string): boolean {
  if (a === b) return true;
  if (a.startsWith("no") && a.slice(2) === b) return true;
  if (b.startsWith("no") && a === b.slice(2)) return true;
  let o1 = a, o2 = b;
  for (let dot = o1.indexOf("."); dot >= 0; dot = o1.indexOf(".")) {
    if (o1.slice(0, dot + 1) !== o2.slice(0, dot + 1)) break;
    o2 = o2.slice(dot + 1);
    o1 = o1.slice(dot + 1);
    if (o1.startsWith("no") && o1.slice(2) === o2) return true;
    if (o2.startsWith("no") && o1 === o2.slice(2)) return true;
  }
  return false;
}

/** internalName returns the jail(8) parameter `name` stands for (`mount.nodevfs` → `mount.devfs`), if any. */
export function internalName(name: string): string | undefined {
  for (const k of Object.keys(INTERNAL_PARAMS)) if (equalopts(name, k)) return k;
  return undefined;
}

/** wildJailName says whether a section name is a wildcard (`*`, `foo.*`). */
export function wildJailName(name: string): boolean {
  for (let i = name.indexOf("*"); i >= 0; i = name.indexOf("*", i + 1)) {
    if ((i === 0 || name[i - 1] === ".") && (i + 1 === name.length || name[i + 1] === ".")) return true;
  }
  return false;
}

/** wildJailMatch: a non-final `*` component matches one component, a final `*` one or more. */
export function wildJailMatch(jname: string, wname: string): boolean {
  const jc = jname.split(".");
  const wc = wname.split(".");
  for (let i = 0; i < wc.length; i++) {
    const w = wc[i];
    if (i === wc.length - 1 && w === "*") return jc.length >= wc.length;
    if (i >= jc.length) return false;
    if (w !== "*" && w !== jc[i]) return false;
  }
  return jc.length === wc.length;
}

export interface RParam {
  name: string;
  values: string[];
  isVar: boolean;
  immutable: boolean;
  /** `persist;` and `persist = …;` are both kept; a bare name has no values. */
}

export interface ResolvedJail {
  /** The section name, used in jail(8)'s messages (`web: created`). */
  key: string;
  params: RParam[];
  /** Errors found while merging and substituting; the jail is not operated on. */
  errors: string[];
}

interface WorkParam extends RParam {
  strings: CString[];
}

function cloneStrings(v: CString[]): CString[] {
  return v.map((s) => ({ text: s.text, vars: s.vars.map((x) => ({ ...x })) }));
}

/**
 * resolveJails merges every real jail with the wildcard sections around it and substitutes
 * variables, as load_config() does. Pure. A jail named by a number gets that jid (and, unless
 * it sets `name`, that name); any other gets its section name as `name`.
 */
export function resolveJails(parsed: readonly CJail[]): ResolvedJail[] {
  const seq = parsed.map((j, i) => ({ j, seq: i + 1 }));
  const wild = seq.filter((x) => wildJailName(x.j.name));
  const real = seq.filter((x) => !wildJailName(x.j.name));
  return real.map(({ j, seq: jseq }) => {
    const params: WorkParam[] = [];
    const errors: string[] = [];
    const add = (p: { name: string; isVar: boolean; append: boolean; strings: CString[]; immutable?: boolean }): void => {
      const dp = params.find((x) => equalopts(x.name, p.name));
      if (dp !== undefined) {
        if (dp.isVar !== p.isVar) {
          errors.push(`variable "$${p.name}" cannot have the same name as a parameter.`);
          return;
        }
        if (dp.immutable) {
          errors.push(`cannot redefine parameter "${dp.name}".`);
          return;
        }
        dp.name = p.name;
        if (!p.append || p.strings.length === 0) dp.strings = [];
        dp.strings.push(...p.strings);
        return;
      }
      if (p.isVar && internalName(p.name) !== undefined) {
        errors.push(`variable "$${p.name}" cannot have the same name as a parameter.`);
        return;
      }
      params.push({ name: p.name, isVar: p.isVar, immutable: p.immutable === true, values: [], strings: p.strings });
    };
    const numeric = /^[0-9]+$/.test(j.name) && Number(j.name) !== 0;
    add({ name: numeric ? "jid" : "name", isVar: false, append: false, strings: [{ text: j.name, vars: [] }], immutable: true });
    let didSelf = false;
    const own = (): void => {
      for (const p of j.params) add({ ...p, strings: cloneStrings(p.values) });
      didSelf = true;
    };
    for (const w of wild) {
      if (jseq < w.seq && !didSelf) own();
      if (wildJailMatch(j.name, w.j.name)) for (const p of w.j.params) add({ ...p, strings: cloneStrings(p.values) });
    }
    if (!didSelf) own();
    // The jid-named jail's name is its number unless the section sets one.
    if (numeric && !params.some((p) => p.name === "name")) params.splice(1, 0, { name: "name", isVar: false, immutable: false, values: [], strings: [{ text: j.name, vars: [] }] });

    // Variable substitution, with loop detection.
    const state = new Map<WorkParam, "busy" | "done" | "bad">();
    const resolve = (p: WorkParam): boolean => {
      const st = state.get(p);
      if (st === "done") return true;
      if (st === "bad") return false;
      state.set(p, "busy");
      const out: string[] = [];
      for (const s of p.strings) {
        if (s.vars.length === 0) {
          out.push(s.text);
          continue;
        }
        let text = s.text;
        let shift = 0;
        const extra: string[] = [];
        for (let vi = 0; vi < s.vars.length; vi++) {
          const v = s.vars[vi];
          if (v === undefined) continue;
          const vp = params.find((x) => x.name === v.name);
          if (vp === undefined || vp.strings.length === 0) {
            errors.push(`${p.name}: variable "${v.name}" not found`);
            state.set(p, "bad");
            return false;
          }
          if (state.get(vp) === "busy") {
            errors.push(`${v.name}: variable loop`);
            state.set(p, "bad");
            return false;
          }
          if (!resolve(vp)) {
            state.set(p, "bad");
            return false;
          }
          if (vp.values.length > 1 && (s.text !== "" || s.vars.length > 1)) {
            errors.push(`${p.name}: array cannot be substituted inline`);
            state.set(p, "bad");
            return false;
          }
          const first = vp.values[0] ?? "";
          text = text.slice(0, v.pos + shift) + first + text.slice(v.pos + shift);
          shift += first.length;
          extra.push(...vp.values.slice(1));
        }
        out.push(text, ...extra);
      }
      p.values = out;
      state.set(p, "done");
      return true;
    };
    for (const p of params) resolve(p);
    const finalParams: RParam[] = params.filter((p) => !p.isVar).map((p) => ({ name: p.name, values: p.values, isVar: false, immutable: p.immutable }));
    return { key: j.name, params: finalParams, errors };
  });
}
