/**
 * What ssh-keygen 9.2 makes of an allowed_signers file (ssh-keygen(1) "ALLOWED SIGNERS") and of
 * a revocation list of plain public keys (`-Y verify -r`), for keys of the types sshsig.ts
 * implements. Pure: bytes in, decisions out. Files are read as bytes, as C reads them.
 *
 * Ported from sshsig.c (parse_principals_key_and_options, sshsigopt_parse,
 * check_allowed_keys_line, sshsig_find_principals, sshsig_check_allowed_keys), misc.c
 * (strdelimw, opt_dequote, parse_absolute_time), match.c (match_pattern_list), sshkey.c
 * (sshkey_read) and authfile.c (sshkey_advance_past_options, sshkey_in_file,
 * sshkey_check_revoked). ssh-keygen skips every line it cannot parse; so does this reader.
 *
 * Where the answer depends on something this module cannot reproduce exactly, it says
 * `uncertain` and the caller asks ssh-keygen: a validity time that is not all digits (glibc's
 * strptime skips blanks inside fields), a local validity time in a zone whose UTC offset changes
 * near that date (mktime is called with tm_isdst = 0), a KRL, or a revocation line whose key
 * type is not implemented here.
 */
import { OTHER_KEY_TYPES, TEXT_KEY_TYPES, decodeBase64Strict, latin1, parseSshPublicKey, sameSshKey, type SshPublicKey } from "./sshsig.js";

/** A validity time as written: the calendar fields read as if UTC, and whether they are UTC. */
export type ValidityTime =
  | { readonly kind: "time"; readonly utc: boolean; readonly naive: number }
  /** Not all digits: glibc's strptime would decide. */
  | { readonly kind: "unknown" };

export interface SignerOptions {
  readonly certAuthority: boolean;
  /** The `namespaces="…"` pattern list, as bytes (latin1); undefined when absent. */
  readonly namespaces?: string;
  readonly validAfter?: ValidityTime;
  readonly validBefore?: ValidityTime;
}

/** One line of an allowed_signers file that names a key of an implemented type and parses. */
export interface SignerEntry {
  /** Counting from 1. */
  readonly line: number;
  /** The principals field as bytes (latin1): a pattern list. */
  readonly principals: string;
  readonly key: SshPublicKey;
  readonly options: SignerOptions;
}

/**
 * An allowed_signers file reduced to what can match a key of an implemented type: lines that do
 * not parse, and lines whose key is of another type (which never equals such a key), are gone.
 */
export interface AllowedSigners {
  readonly entries: readonly SignerEntry[];
}

/**
 * Unix seconds for local calendar fields as mktime (tm_isdst = 0) would give them, or
 * "uncertain". `naive` is the fields read as UTC.
 */
export type LocalTime = (naive: number) => number | "uncertain";

export type Tri = boolean | "uncertain";

// ---------------------------------------------------------------------------------------------
// Reading the file

const WHITESPACE = " \t\r\n";

/**
 * parseAllowedSigners reads an allowed_signers file the way ssh-keygen reads it line by line,
 * keeping the lines that could match a key of an implemented type. Never throws; a line
 * ssh-keygen would skip is skipped.
 */
export function parseAllowedSigners(bytes: Uint8Array): AllowedSigners {
  const entries: SignerEntry[] = [];
  splitLines(bytes).forEach((line, i) => {
    const entry = parseSignerLine(line, i + 1);
    if (entry !== undefined) entries.push(entry);
  });
  return { entries };
}

/** getline() lines (each with its "\n"), cut at a NUL byte as the C string functions see them. */
function splitLines(bytes: Uint8Array): string[] {
  const text = latin1(bytes);
  const lines: string[] = [];
  for (let at = 0; at < text.length; ) {
    const nl = text.indexOf("\n", at);
    const end = nl === -1 ? text.length : nl + 1;
    const line = text.slice(at, end);
    const nul = line.indexOf("\0");
    lines.push(nul === -1 ? line : line.slice(0, nul));
    at = end;
  }
  return lines;
}

/** parse_principals_key_and_options and sshsigopt_parse for one line. */
function parseSignerLine(line: string, lineNo: number): SignerEntry | undefined {
  let cp = skip(line, 0, " \t");
  if (cp >= line.length || line[cp] === "#") return undefined;
  const first = strdelimw(line, cp);
  if (first === undefined || first.rest === undefined) return undefined;
  const principals = first.token;
  cp = first.rest;
  let options = "";
  let read = readKeyText(line, cp);
  if (read.kind !== "key") {
    // No key here: the field is options, the key follows.
    const end = advancePastOptions(line, cp);
    if (end === undefined || end >= line.length) return undefined;
    options = line.slice(cp, end);
    read = readKeyText(line, skip(line, end + 1, " \t"));
    // Another key type, or no key at all: either way this line never matches an implemented key.
    if (read.kind !== "key") return undefined;
  }
  const parsed = parseSignerOptions(options);
  if (parsed === undefined) return undefined;
  return { line: lineNo, principals, key: read.key, options: parsed };
}

function skip(s: string, at: number, chars: string): number {
  while (at < s.length && chars.includes(s[at] as string)) at++;
  return at;
}

/**
 * misc.c strdelimw: the next token, ending at white space or a quoted section (quotes removed,
 * the text after the closing quote starts the rest). undefined for an unmatched quote; `rest`
 * undefined when the line holds no delimiter at all.
 */
export function strdelimw(s: string, at: number): { token: string; rest: number | undefined } | undefined {
  let j = at;
  while (j < s.length && !(WHITESPACE + '"').includes(s[j] as string)) j++;
  if (j >= s.length) return { token: s.slice(at), rest: undefined };
  if (s[j] === '"') {
    const close = s.indexOf('"', j + 1);
    if (close === -1) return undefined;
    return { token: s.slice(at, j) + s.slice(j + 1, close), rest: skip(s, close + 1, WHITESPACE) };
  }
  return { token: s.slice(at, j), rest: skip(s, j + 1, WHITESPACE) };
}

/**
 * authfile.c sshkey_advance_past_options: the index of the first unquoted blank (space or tab)
 * from `at`, or the end of the line; undefined when a quote is still open at the end.
 */
function advancePastOptions(s: string, at: number): number | undefined {
  let quoted = false;
  let i = at;
  for (; i < s.length && (quoted || (s[i] !== " " && s[i] !== "\t")); i++) {
    if (s[i] === "\\" && s[i + 1] === '"') i++;
    else if (s[i] === '"') quoted = !quoted;
  }
  return i >= s.length && quoted ? undefined : i;
}

/** What sshkey_read makes of the text at `at`, for the implemented key types. */
type KeyText =
  | { readonly kind: "key"; readonly key: SshPublicKey }
  /** sshkey_read fails (not SSH_ERR_KEY_LENGTH). */
  | { readonly kind: "fail" }
  /** SSH_ERR_KEY_LENGTH: an RSA modulus under 1024 bits. */
  | { readonly kind: "key-length" }
  /** The type word names a key type OpenSSH has and this module does not implement. */
  | { readonly kind: "not-implemented"; readonly type: string }
  /** An implemented type word over a blob of another type: the outcome depends on that type. */
  | { readonly kind: "other-blob" };

function readKeyText(s: string, at: number): KeyText {
  let space = at;
  while (space < s.length && s[space] !== " " && s[space] !== "\t") space++;
  const typeWord = s.slice(at, space);
  // No blank after the type word: SSH_ERR_INVALID_FORMAT, whatever the word.
  if (space >= s.length) return { kind: "fail" };
  const type = TEXT_KEY_TYPES.get(typeWord);
  if (type === undefined) return OTHER_KEY_TYPES.has(typeWord) ? { kind: "not-implemented", type: typeWord } : { kind: "fail" };
  const start = skip(s, space, " \t");
  if (start >= s.length) return { kind: "fail" };
  let end = start;
  while (end < s.length && s[end] !== " " && s[end] !== "\t") end++;
  const blob = decodeBase64Strict(Buffer.from(s.slice(start, end), "latin1"));
  if (blob === undefined) return { kind: "fail" };
  const parsed = parseSshPublicKey(blob);
  switch (parsed.kind) {
    case "invalid":
      return { kind: "fail" };
    case "key-length":
      return { kind: "key-length" };
    case "other":
      return { kind: "other-blob" };
    case "key":
      // The blob's type (and curve) must be the one the line names.
      return parsed.key.type === type ? parsed : { kind: "fail" };
  }
}

/**
 * sshsigopt_parse: cert-authority, namespaces="…", valid-after="…", valid-before="…", names
 * case-insensitive, comma-separated, each at most once. undefined when ssh-keygen refuses them.
 */
export function parseSignerOptions(opts: string): SignerOptions | undefined {
  let certAuthority = false;
  let namespaces: string | undefined;
  let validAfter: ValidityTime | undefined;
  let validBefore: ValidityTime | undefined;
  let i = 0;
  const startsWithCI = (word: string): boolean => opts.slice(i, i + word.length).toLowerCase() === word;
  while (i < opts.length && opts[i] !== " " && opts[i] !== "\t") {
    if (startsWithCI("cert-authority")) {
      certAuthority = true;
      i += "cert-authority".length;
    } else if (startsWithCI("namespaces=")) {
      i += "namespaces=".length;
      if (namespaces !== undefined) return undefined;
      const q = dequote(opts, i);
      if (q === undefined) return undefined;
      namespaces = q.value;
      i = q.end;
    } else if (startsWithCI("valid-after=") || startsWithCI("valid-before=")) {
      const after = startsWithCI("valid-after=");
      i += after ? "valid-after=".length : "valid-before=".length;
      if ((after ? validAfter : validBefore) !== undefined) return undefined;
      const q = dequote(opts, i);
      if (q === undefined) return undefined;
      const t = parseAbsoluteTime(q.value);
      if (t === undefined) return undefined;
      if (after) validAfter = t;
      else validBefore = t;
      i = q.end;
    }
    if (i >= opts.length || opts[i] === " " || opts[i] === "\t") break;
    if (opts[i] !== ",") return undefined;
    i++;
    if (i >= opts.length) return undefined;
  }
  return {
    certAuthority,
    ...(namespaces === undefined ? {} : { namespaces }),
    ...(validAfter === undefined ? {} : { validAfter }),
    ...(validBefore === undefined ? {} : { validBefore }),
  };
}

/** misc.c opt_dequote: a double-quoted value in which \" stands for a quote. */
function dequote(s: string, at: number): { value: string; end: number } | undefined {
  if (s[at] !== '"') return undefined;
  let value = "";
  let i = at + 1;
  while (i < s.length && s[i] !== '"') {
    if (s[i] === "\\" && s[i + 1] === '"') i++;
    value += s[i];
    i++;
  }
  if (i >= s.length) return undefined;
  return { value, end: i + 1 };
}

/**
 * parseAbsoluteTime reads "YYYYMMDD", "YYYYMMDDHHMM" or "YYYYMMDDHHMMSS", optionally followed by
 * "Z" or "UTC" (any case), as misc.c parse_absolute_time with glibc's strptime: month 1–12,
 * day 1–31, hour 0–23, minute 0–59, second 0–61, then normalised as mktime/timegm do (the 31st
 * of February is the 3rd of March). undefined when ssh-keygen refuses it for its shape or range;
 * `unknown` when it is not all digits. Whether the result is after the epoch is decided later,
 * when the zone is applied (resolveTime).
 */
export function parseAbsoluteTime(s: string): ValidityTime | undefined {
  let l = s.length;
  let utc = false;
  if (l > 1 && s[l - 1]?.toLowerCase() === "z") {
    utc = true;
    l -= 1;
  } else if (l > 3 && s.slice(l - 3).toLowerCase() === "utc") {
    utc = true;
    l -= 3;
  }
  if (l !== 8 && l !== 12 && l !== 14) return undefined;
  const body = s.slice(0, l);
  if (!/^[0-9]+$/.test(body)) return { kind: "unknown" };
  const num = (from: number): number => Number(body.slice(from, from + 2));
  const year = Number(body.slice(0, 4));
  const month = num(4);
  const day = num(6);
  const hour = l >= 12 ? num(8) : 0;
  const minute = l >= 12 ? num(10) : 0;
  const second = l === 14 ? num(12) : 0;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 61) return undefined;
  const naive = (daysFromCivil(year, month) + day - 1) * 86400 + hour * 3600 + minute * 60 + second;
  return { kind: "time", utc, naive };
}

/** Days from 1970-01-01 to the first of `month` of `year` (proleptic Gregorian). */
function daysFromCivil(year: number, month: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = (month + 9) % 12;
  const doy = Math.floor((153 * mp + 2) / 5);
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

/**
 * systemLocalTime applies this process's time zone (TZ, else /etc/localtime, which ssh-keygen's
 * mktime reads too) when its UTC offset is the same for 18 months on either side; otherwise
 * "uncertain", since mktime with tm_isdst = 0 shifts summer times by the DST offset.
 */
export const systemLocalTime: LocalTime = (naive) => {
  const offsetAt = (seconds: number): number => new Date(seconds * 1000).getTimezoneOffset();
  const offset = offsetAt(naive);
  const guess = naive + offset * 60;
  for (let k = -18; k <= 18; k++) if (offsetAt(guess + k * 30 * 86400) !== offset) return "uncertain";
  return guess;
};

/**
 * resolveTime turns a validity time into Unix seconds: timegm for UTC, mktime for local time.
 * undefined when sshsigopt_parse refuses it (before or at the epoch).
 */
function resolveTime(t: ValidityTime, localTime: LocalTime): number | undefined | "uncertain" {
  if (t.kind === "unknown") return "uncertain";
  const seconds = t.utc ? t.naive : localTime(t.naive);
  if (seconds === "uncertain") return seconds;
  return seconds <= 0 ? undefined : seconds;
}

// ---------------------------------------------------------------------------------------------
// Deciding

/** `ok`, `skip` (the line does not apply), or `uncertain`: check_allowed_keys_line's time part. */
function timeState(o: SignerOptions, now: number, localTime: LocalTime): "ok" | "skip" | "uncertain" {
  const after = o.validAfter === undefined ? 0 : resolveTime(o.validAfter, localTime);
  const before = o.validBefore === undefined ? 0 : resolveTime(o.validBefore, localTime);
  // A time sshsigopt_parse refuses makes the whole line unparsable.
  if (after === undefined || before === undefined) return "skip";
  if (after === "uncertain" || before === "uncertain") return "uncertain";
  if (after !== 0 && before !== 0 && before <= after) return "skip";
  if (after !== 0 && now < after) return "skip";
  if (before !== 0 && now > before) return "skip";
  return "ok";
}

export type FoundPrincipals = { readonly kind: "found"; readonly principals: string } | { readonly kind: "none" } | { readonly kind: "uncertain" };

/**
 * findPrincipals is `ssh-keygen -Y find-principals` (sshsig_find_principals) for a plain key:
 * the principals field (bytes, latin1) of the first line whose key is `key`, that is not a
 * cert-authority line, and that is valid at `now` (Unix seconds). Namespaces are not looked at.
 * Returns `uncertain` when that depends on a time this module cannot resolve. Pure.
 */
export function findPrincipals(signers: AllowedSigners, key: SshPublicKey, now: number, localTime: LocalTime = systemLocalTime): FoundPrincipals {
  for (const e of signers.entries) {
    if (e.options.certAuthority || !sameSshKey(e.key, key)) continue;
    const t = timeState(e.options, now, localTime);
    if (t === "uncertain") return { kind: "uncertain" };
    if (t === "ok") return { kind: "found", principals: e.principals };
  }
  return { kind: "none" };
}

/**
 * isAllowedSigner is the allowed_signers part of `ssh-keygen -Y verify -I PRINCIPAL -n NAMESPACE`
 * (sshsig_check_allowed_keys) for a plain key: whether some line lists `principal` (bytes,
 * latin1) in its principal patterns, has `key`, is not a cert-authority line, allows
 * `namespace`, and is valid at `now` (Unix seconds). Pure.
 */
export function isAllowedSigner(signers: AllowedSigners, key: SshPublicKey, principal: string, namespace: string, now: number, localTime: LocalTime = systemLocalTime): Tri {
  for (const e of signers.entries) {
    if (matchPatternList(principal, e.principals) !== 1) continue;
    if (e.options.certAuthority || !sameSshKey(e.key, key)) continue;
    if (e.options.namespaces !== undefined && matchPatternList(namespace, e.options.namespaces) !== 1) continue;
    const t = timeState(e.options, now, localTime);
    if (t === "uncertain") return t;
    if (t === "ok") return true;
  }
  return false;
}

/**
 * matchPatternList is match.c match_pattern_list (case-sensitive): 1 when `s` matches one of
 * the comma-separated patterns (`*`, `?`), -1 when it matches a pattern negated with `!`, else
 * 0. A pattern of 1023 bytes or more ends the search with 0, as in OpenSSH. Pure.
 */
export function matchPatternList(s: string, patterns: string): -1 | 0 | 1 {
  let positive = false;
  for (let i = 0; i < patterns.length; ) {
    const negated = patterns[i] === "!";
    if (negated) i++;
    let end = patterns.indexOf(",", i);
    if (end === -1) end = patterns.length;
    if (end - i >= 1023) return 0;
    const sub = patterns.slice(i, end);
    i = end < patterns.length ? end + 1 : end;
    if (matchPattern(s, sub)) {
      if (negated) return -1;
      positive = true;
    }
  }
  return positive ? 1 : 0;
}

/** match.c match_pattern: `*` any run, `?` any one character; iterative, same answers. */
export function matchPattern(s: string, pattern: string): boolean {
  let si = 0;
  let pi = 0;
  let starP = -1;
  let starS = 0;
  while (si < s.length) {
    if (pi < pattern.length && (pattern[pi] === "?" || (pattern[pi] !== "*" && pattern[pi] === s[si]))) {
      si++;
      pi++;
    } else if (pi < pattern.length && pattern[pi] === "*") {
      starP = pi++;
      starS = si;
    } else if (starP !== -1) {
      pi = starP + 1;
      si = ++starS;
    } else return false;
  }
  while (pi < pattern.length && pattern[pi] === "*") pi++;
  return pi === pattern.length;
}

// ---------------------------------------------------------------------------------------------
// Revocation lists

export type RevokedKeys =
  /** A binary KRL ("SSHKRL\n\0"): for ssh-keygen. */
  | { readonly kind: "krl" }
  /** A line whose fate this module cannot tell: a key type it does not implement. */
  | { readonly kind: "unsupported"; readonly line: number }
  /**
   * Plain public keys. `refusesAll`: a line sshkey_read fails on, which makes
   * sshkey_check_revoked fail, so `-Y verify -r` refuses every signature.
   */
  | { readonly kind: "list"; readonly keys: readonly SshPublicKey[]; readonly refusesAll: boolean };

const KRL_MAGIC = "SSHKRL\n\0";

/**
 * parseRevokedKeys reads a `-r` revocation file as sshkey_check_revoked does when it is not a
 * KRL (sshkey_in_file): blank lines and `#` comments skipped, RSA keys under 1024 bits skipped,
 * any other unreadable line an error. Never throws.
 */
export function parseRevokedKeys(bytes: Uint8Array): RevokedKeys {
  if (latin1(bytes.subarray(0, KRL_MAGIC.length)) === KRL_MAGIC) return { kind: "krl" };
  const keys: SshPublicKey[] = [];
  const lines = splitLines(bytes);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const cp = skip(line, 0, " \t");
    if (cp >= line.length || line[cp] === "#" || line[cp] === "\n") continue;
    const read = readKeyText(line, cp);
    switch (read.kind) {
      case "key":
        keys.push(read.key);
        break;
      case "key-length":
        break;
      case "fail":
        return { kind: "list", keys, refusesAll: true };
      case "not-implemented":
      case "other-blob":
        return { kind: "unsupported", line: i + 1 };
    }
  }
  return { kind: "list", keys, refusesAll: false };
}

/** isRevoked says whether `-Y verify -r` refuses `key` for this list (sshkey_equal_public). Pure. */
export function isRevoked(list: Extract<RevokedKeys, { kind: "list" }>, key: SshPublicKey): boolean {
  return list.refusesAll || list.keys.some((k) => sameSshKey(k, key));
}
