/**
 * The pf.conf lexer, as parse.y's lgetc/lungetc/yylex read a file: backslash-newline joins
 * lines, '#' comments run to the end of the line, $macro is expanded outside quotes only
 * (once: a macro's value is not expanded again), quoted strings may span lines, numbers end
 * only at space ) , / } =, and the keyword table decides what a word is. Pure: files are
 * read through the `readFile` callback.
 */

export const KEYWORDS: readonly string[] = [
  "all", "allow-opts", "altq", "anchor", "antispoof", "any", "bandwidth", "binat", "binat-anchor",
  "bitmask", "block", "block-policy", "bridge-to", "buckets", "cbq", "code", "codelq", "debug",
  "divert-reply", "divert-to", "dnpipe", "dnqueue", "drop", "dup-to", "endpoint-independent", "ether", "fail-policy",
  "fairq", "fastroute", "file", "fingerprints", "flags", "floating", "flush", "for", "fragment",
  "from", "global", "group", "hfsc", "hogs", "hostid", "icmp-type", "icmp6-type", "if-bound", "in",
  "include", "inet", "inet6", "interval", "keep", "keepcounters", "l3", "label", "limit",
  "linkshare", "load", "log", "loginterface", "map-e-portset", "match", "matches", "max", "max-mss",
  "max-src-conn", "max-src-conn-rate", "max-src-nodes", "max-src-states", "min-ttl", "modulate",
  "nat", "nat-anchor", "no", "no-df", "no-route", "no-sync", "on", "optimization", "os", "out",
  "overload", "pass", "pflow", "port", "prio", "priority", "priq", "probability", "proto", "qlimit", "queue",
  "quick", "random", "random-id", "rdr", "rdr-anchor", "realtime", "reassemble", "received-on", "reply-to",
  "require-order", "return", "return-icmp", "return-icmp6", "return-rst", "ridentifier",
  "round-robin", "route", "route-to", "rtable", "rule", "ruleset-optimization", "scrub", "set",
  "set-tos", "skip", "sloppy", "source-hash", "source-track", "state", "state-defaults",
  "state-policy", "static-port", "sticky-address", "syncookies", "synproxy", "table", "tag",
  "tagged", "target", "tbrsize", "timeout", "to", "tos", "ttl", "upperlimit", "urpf-failed", "user",
];
const keywordSet = new Set(KEYWORDS);

export type TokKind = "kw" | "STRING" | "NUMBER" | "PORTBINARY" | "ARROW" | "char" | "EOF" | "ERROR";

export interface Token {
  kind: TokKind;
  /** keyword text, string value, the character, or the operator ("<>" / "><") */
  text: string;
  num?: bigint;
  line: number;
  file: string;
}

interface SrcFile {
  name: string;
  text: string;
  pos: number;
  lineno: number;
}

const EOF = -1;
type Ch = string | typeof EOF;

export interface LexerHost {
  readFile(name: string): string | null;
  error(file: string, line: number, msg: string): void;
  warn(msg: string): void; // pfctl: warn()/warnx() lines without file:line
}

function isDigit(c: Ch): c is string {
  return typeof c === "string" && c >= "0" && c <= "9";
}
function isAlpha(c: Ch): boolean {
  return typeof c === "string" && /^[A-Za-z]$/.test(c);
}
function isAlnum(c: Ch): boolean {
  return isDigit(c) || isAlpha(c);
}
function isPunct(c: Ch): boolean {
  return typeof c === "string" && c.length === 1 && c > " " && c < "\x7f" && !isAlnum(c);
}
function isSpace(c: Ch): boolean {
  return c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\v" || c === "\f";
}
function allowedToEndNumber(c: Ch): boolean {
  return isSpace(c) || c === ")" || c === "," || c === "/" || c === "}" || c === "=";
}
function allowedInString(c: Ch): boolean {
  return isAlnum(c) || (isPunct(c) && !"(){}<>!=/#,".includes(c as string));
}

export class Lexer {
  private files: SrcFile[] = [];
  private parsebuf: string | null = null;
  private parseindex = 0;
  private pushback: Ch[] = [];
  /** yylval.lineno: the line yyerror reports */
  lineno = 1;
  private symbols = new Map<string, { val: string; used: boolean; persist: boolean }>();

  constructor(
    private readonly host: LexerHost,
    name: string,
    text: string,
  ) {
    this.files.push({ name, text, pos: 0, lineno: 1 });
  }

  get file(): SrcFile {
    const f = this.files[this.files.length - 1];
    if (!f) throw new Error("lexer: no file");
    return f;
  }

  get fileName(): string {
    return this.file.name;
  }

  /** include "file": push it; parse.y then ungets a newline so the include line ends. */
  pushFile(name: string): boolean {
    const text = this.host.readFile(name);
    if (text === null) return false;
    this.files.push({ name, text, pos: 0, lineno: 1 });
    return true;
  }

  symset(name: string, val: string, persist = false): void {
    const old = this.symbols.get(name);
    if (old?.persist) return;
    this.symbols.delete(name);
    this.symbols.set(name, { val, used: false, persist });
  }

  unusedMacros(): string[] {
    return [...this.symbols.entries()].filter(([, s]) => !s.used).map(([n]) => n);
  }

  private getc(): Ch {
    const f = this.file;
    if (f.pos >= f.text.length) return EOF;
    return f.text[f.pos++] as string;
  }

  private popfile(): boolean {
    if (this.files.length > 1) {
      this.files.pop();
      return true;
    }
    return false;
  }

  private lgetc(quotec: boolean): Ch {
    if (this.parsebuf !== null) {
      if (this.parseindex >= 0) {
        const c = this.parsebuf[this.parseindex++];
        if (c !== undefined) return c;
        this.parsebuf = null;
      } else this.parseindex++;
    }
    if (this.pushback.length) return this.pushback.pop() as Ch;
    if (quotec) {
      const c = this.getc();
      if (c === EOF) {
        this.host.error(this.file.name, this.lineno, "reached end of file while parsing quoted string");
        if (!this.popfile()) return EOF;
        return '"';
      }
      return c;
    }
    let c: Ch;
    while ((c = this.getc()) === "\\") {
      const next = this.getc();
      if (next !== "\n") {
        c = next;
        break;
      }
      this.lineno = this.file.lineno;
      this.file.lineno++;
    }
    while (c === EOF) {
      if (!this.popfile()) return EOF;
      c = this.getc();
    }
    return c;
  }

  private lungetc(c: Ch): void {
    if (c === EOF) return;
    if (this.parsebuf !== null) {
      this.parseindex--;
      if (this.parseindex >= 0) return;
    }
    this.pushback.push(c);
  }

  /** findeol: skip to the end of the line after a lexer error. */
  private findeol(): Token {
    this.parsebuf = null;
    for (;;) {
      const c = this.pushback.length ? (this.pushback.pop() as Ch) : this.lgetc(false);
      if (c === "\n") {
        this.file.lineno++;
        break;
      }
      if (c === EOF) break;
    }
    return this.tok("ERROR", "");
  }

  /** A lungetc('\n') for include. */
  ungetNewline(): void {
    this.lungetc("\n");
  }

  private tok(kind: TokKind, text: string, num?: bigint): Token {
    const t: Token = { kind, text, line: this.lineno, file: this.file.name };
    if (num !== undefined) t.num = num;
    return t;
  }

  next(): Token {
    for (;;) {
      let buf = "";
      let c: Ch;
      while ((c = this.lgetc(false)) === " " || c === "\t");
      this.lineno = this.file.lineno;
      if (c === "#") while ((c = this.lgetc(false)) !== "\n" && c !== EOF);
      if (c === "$" && this.parsebuf === null) {
        for (;;) {
          c = this.lgetc(false);
          if (c === EOF) return this.tok("EOF", "");
          if (isAlnum(c) || c === "_") {
            buf += c;
            continue;
          }
          this.lungetc(c);
          break;
        }
        const sym = this.symbols.get(buf);
        if (!sym) {
          this.host.error(this.file.name, this.lineno, `macro '${buf}' not defined`);
          return this.findeol();
        }
        sym.used = true;
        this.parsebuf = sym.val;
        this.parseindex = 0;
        continue;
      }
      switch (c) {
        case "'":
        case '"': {
          const quotec = c;
          for (;;) {
            c = this.lgetc(true);
            if (c === EOF) return this.tok("EOF", "");
            if (c === "\n") {
              this.file.lineno++;
              continue;
            } else if (c === "\\") {
              const next = this.lgetc(true);
              if (next === EOF) return this.tok("EOF", "");
              if (next === quotec) c = next;
              else if (next === "\n") {
                this.file.lineno++;
                continue;
              } else this.lungetc(next);
            } else if (c === quotec) break;
            buf += c;
          }
          return this.tok("STRING", buf);
        }
        case "<": {
          const next = this.lgetc(false);
          if (next === ">") return this.tok("PORTBINARY", "<>");
          this.lungetc(next);
          break;
        }
        case ">": {
          const next = this.lgetc(false);
          if (next === "<") return this.tok("PORTBINARY", "><");
          this.lungetc(next);
          break;
        }
        case "-": {
          const next = this.lgetc(false);
          if (next === ">") return this.tok("ARROW", "->");
          this.lungetc(next);
          break;
        }
      }
      if (c === "-" || isDigit(c)) {
        const chars: string[] = [];
        do {
          chars.push(c as string);
        } while ((c = this.lgetc(false)) !== EOF && isDigit(c));
        this.lungetc(c);
        const onlyMinus = chars.length === 1 && chars[0] === "-";
        if (!onlyMinus && (c === EOF || allowedToEndNumber(c))) {
          const s = chars.join("");
          const v = BigInt(s);
          if (v > 9223372036854775807n || v < -9223372036854775808n) {
            this.host.error(this.file.name, this.lineno, `"${s}" invalid number: ${v < 0n ? "too small" : "too large"}`);
            return this.findeol();
          }
          return this.tok("NUMBER", s, v);
        }
        for (let k = chars.length - 1; k >= 1; k--) this.lungetc(chars[k] as string);
        c = chars[0] as string;
        if (c === "-") return this.tok("char", "-");
      }
      if (isAlnum(c) || c === ":" || c === "_") {
        do {
          buf += c as string;
        } while ((c = this.lgetc(false)) !== EOF && allowedInString(c));
        this.lungetc(c);
        if (keywordSet.has(buf)) return this.tok("kw", buf);
        return this.tok("STRING", buf);
      }
      if (c === "\n") {
        const t = this.tok("char", "\n");
        this.file.lineno++;
        return t;
      }
      if (c === EOF) return this.tok("EOF", "");
      return this.tok("char", c as string);
    }
  }
}
