/**
 * rc.conf(5) files: reading them the way sh(1) sources them, and editing them the way
 * sysrc(8) does. Pure; the callers read and write the files.
 *
 * Reading understands what rc.conf files hold in practice: assignments (`a=b`, `a="b $c"`,
 * `a='b'`, several on one line), `${x}`, `${x:-y}`, `${x-y}`, `${x:=y}`, comments and line
 * continuations. Any other command (functions, `if`, `.`) is skipped; a command using `$(…)`
 * or backquotes is skipped whole, since the simulator runs no shell code.
 *
 * Editing follows sysrc's f_sysrc_set: the last assignment in the last file that has one is
 * changed in place, keeping its quoting ('…' stays single-quoted, a bare word becomes "…") and
 * anything after it on the line; a variable found nowhere, or only in the defaults, is appended
 * as `name="value"` to the first file, after adding a missing final newline.
 */

export type Vars = Map<string, string>;

interface Word {
  text: string;
  /** The text before any quoting or expansion, to recognise `name=` prefixes. */
  raw: string;
  unsupported: boolean;
}

const NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*/;

/** expandParam expands `${…}` contents (`x`, `x:-y`, `x-y`, `x:=y`, `x=y`). */
function expandParam(body: string, vars: Vars): string {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?)([-=+?])(.*))?$/s.exec(body);
  if (m === null) return "";
  const [, name = "", colon, op, word = ""] = m;
  const v = vars.get(name);
  const unset = v === undefined || (colon === ":" && v === "");
  switch (op) {
    case undefined:
      return v ?? "";
    case "-":
      return unset ? expandString(word, vars) : (v ?? "");
    case "=": {
      if (!unset) return v ?? "";
      const w = expandString(word, vars);
      vars.set(name, w);
      return w;
    }
    case "+":
      return unset ? "" : expandString(word, vars);
    default:
      return unset ? "" : (v ?? "");
  }
}

/** expandString expands variables and removes quotes in the word of `${x:-word}`. */
function expandString(s: string, vars: Vars): string {
  let out = "";
  let dq = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i] ?? "";
    if (c === '"') {
      dq = !dq;
      continue;
    }
    if (c === "'" && !dq) {
      const end = s.indexOf("'", i + 1);
      const stop = end < 0 ? s.length : end;
      out += s.slice(i + 1, stop);
      i = stop;
      continue;
    }
    if (c === "\\") {
      out += s[++i] ?? "";
      continue;
    }
    if (c === "$") {
      const r = dollar(s, i, vars);
      out += r.text;
      i = r.end - 1;
    } else out += c;
  }
  return out;
}

function dollar(s: string, i: number, vars: Vars): { text: string; end: number; unsupported?: boolean } {
  const next = s[i + 1] ?? "";
  if (next === "{") {
    let depth = 1, k = i + 2;
    for (; k < s.length && depth > 0; k++) {
      if (s[k] === "{") depth++;
      else if (s[k] === "}") depth--;
    }
    return { text: expandParam(s.slice(i + 2, k - 1), vars), end: k };
  }
  if (next === "(") return { text: "", end: i + 2, unsupported: true };
  const m = NAME_RE.exec(s.slice(i + 1));
  if (m !== null) return { text: vars.get(m[0]) ?? "", end: i + 1 + m[0].length };
  return { text: "$", end: i + 1 };
}

/**
 * evalRcConf applies the assignments in `text` to `vars` (changed in place), as `. file` would.
 * Returns the names assigned, in order.
 */
export function evalRcConf(text: string, vars: Vars): string[] {
  const assigned: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    // one simple command: words up to an unquoted newline, ';' or '&'
    const words: Word[] = [];
    let cur: Word | undefined;
    let endOfCommand = false;
    while (i < n && !endOfCommand) {
      const c = text[i] ?? "";
      if (c === "\n" || c === ";" || c === "&") {
        endOfCommand = true;
        i++;
        break;
      }
      if (c === " " || c === "\t") {
        if (cur !== undefined) words.push(cur);
        cur = undefined;
        i++;
        continue;
      }
      if (c === "#" && cur === undefined) {
        while (i < n && text[i] !== "\n") i++;
        continue;
      }
      cur ??= { text: "", raw: "", unsupported: false };
      if (c === "\\") {
        if (text[i + 1] === "\n") {
          i += 2;
          continue;
        }
        cur.text += text[i + 1] ?? "";
        cur.raw += c + (text[i + 1] ?? "");
        i += 2;
        continue;
      }
      if (c === "'") {
        const end = text.indexOf("'", i + 1);
        const stop = end < 0 ? n : end;
        cur.text += text.slice(i + 1, stop);
        cur.raw += text.slice(i, stop + 1);
        i = stop + 1;
        continue;
      }
      if (c === '"') {
        let k = i + 1;
        for (; k < n && text[k] !== '"'; k++) {
          const d = text[k] ?? "";
          if (d === "\\" && "$`\"\\\n".includes(text[k + 1] ?? "")) {
            if (text[k + 1] !== "\n") cur.text += text[k + 1];
            k++;
          } else if (d === "$") {
            const r = dollar(text, k, vars);
            if (r.unsupported === true) cur.unsupported = true;
            cur.text += r.text;
            k = r.end - 1;
          } else if (d === "`") {
            cur.unsupported = true;
          } else cur.text += d;
        }
        cur.raw += text.slice(i, k + 1);
        i = k + 1;
        continue;
      }
      if (c === "$") {
        const r = dollar(text, i, vars);
        if (r.unsupported === true) cur.unsupported = true;
        cur.text += r.text;
        cur.raw += text.slice(i, r.end);
        i = r.end;
        continue;
      }
      if (c === "`") cur.unsupported = true;
      cur.text += c;
      cur.raw += c;
      i++;
    }
    if (cur !== undefined) words.push(cur);
    if (words.length === 0 || words.some((w) => w.unsupported)) continue;
    const assignments = words.map((w) => /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(w.raw));
    if (assignments.some((m) => m === null)) continue;
    for (const [k, w] of words.entries()) {
      const name = assignments[k]?.[1] ?? "";
      vars.set(name, w.text.slice(name.length + 1));
      assigned.push(name);
    }
  }
  return assigned;
}

/** assignmentRegex matches a line that assigns `name` (sysrc's `^[[:space:]]*name=`). */
function assigns(line: string, name: string): boolean {
  return new RegExp(`^[ \\t\\n\\r\\f\\v]*${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}=`).test(line);
}

/** hasAssignment says whether `text` has a line assigning `name` (f_sysrc_find's grep). */
export function hasAssignment(text: string, name: string): boolean {
  return text.split("\n").some((l) => assigns(l, name));
}

/**
 * setInText changes the last assignment of `name` in `text` to `value`, as sysrc's awk does.
 * When that assignment's value starts with `$`, a backquote or a backslash, it is left alone
 * and a new assignment is appended instead. Returns the new text.
 */
export function setInText(text: string, name: string, value: string): string {
  const hadNewline = text.endsWith("\n");
  const lines = (hadNewline ? text.slice(0, -1) : text).split("\n");
  for (let i = lines.length - 1; i >= 0; i--) {
    const line = lines[i] ?? "";
    if (!assigns(line, name)) continue;
    const eq = line.indexOf("=", line.indexOf(name)) + 1;
    const prefix = line.slice(0, eq);
    let rest = line.slice(eq);
    const t1 = rest[0] ?? "";
    let open = t1;
    let close = t1;
    if (t1 === "`" || t1 === "$" || t1 === "\\") {
      lines.push(`${name}="${value}"`);
      return `${lines.join("\n")}\n`;
    } else if (t1 === "'") {
      rest = rest.replace(/^'[^']*/, "");
      if (rest.length === 0) close = "";
      rest = rest.replace(/^'/, "");
    } else if (t1 === '"') {
      rest = rest.replace(/^"(.*\\\\+")*[^"]*/, "");
      if (rest.length === 0) close = "";
      rest = rest.replace(/^"/, "");
    } else if (t1 !== "" && !/[\s;]/.test(t1)) {
      open = close = '"';
      rest = rest.replace(/^\S*/, "");
    } else {
      open = close = '"';
    }
    lines[i] = `${prefix}${open}${value}${close}${rest}`;
    return `${lines.join("\n")}\n`;
  }
  return appendToText(text, name, value);
}

/** appendToText adds `name="value"` at the end, after a newline if the text lacks a final one. */
export function appendToText(text: string, name: string, value: string): string {
  const sep = text === "" || text.endsWith("\n") ? "" : "\n";
  return `${text}${sep}${name}="${value}"\n`;
}

/** deleteFromText removes every line assigning `name`; undefined when there was none. */
export function deleteFromText(text: string, name: string): string | undefined {
  const lines = text.split("\n");
  const kept = lines.filter((l) => !assigns(l, name));
  return kept.length === lines.length ? undefined : kept.join("\n");
}

/** describeFromText returns the comment after `name`'s assignment in a defaults file, joined with continuation comment lines (sysrc -d). */
export function describeFromText(text: string, name: string): string | undefined {
  const lines = text.split("\n");
  const i = lines.findIndex((l) => assigns(l, name));
  if (i < 0) return undefined;
  const first = (lines[i] ?? "").replace(/^[^#]*(#\s*)?/, "");
  const parts = [first];
  for (let k = i + 1; k < lines.length; k++) {
    const l = lines[k] ?? "";
    if (!/^\s*#/.test(l) || /^\s*[A-Za-z_][A-Za-z0-9_]*=/.test(l) || /^\s*#[A-Za-z_][A-Za-z0-9_]*=/.test(l) || /^\s*$/.test(l)) break;
    parts.push(l.replace(/(.*#)*\s*/, ""));
  }
  return parts.join(" ").trim();
}

/** isYes is rc.subr's checkyesno: undefined when the value is neither yes nor no (it then warns). */
export function isYes(value: string | undefined): boolean | undefined {
  const v = (value ?? "").toLowerCase();
  if (["yes", "true", "on", "1"].includes(v)) return true;
  if (["no", "false", "off", "0"].includes(v)) return false;
  return undefined;
}

/**
 * The simulator's /etc/defaults/rc.conf, used when a root has none: the variables the
 * simulated rc scripts and rc.d/jail read, with FreeBSD 14's default values. The comments
 * are the simulator's own wording (sysrc -d prints them).
 */
export const DEFAULT_RC_CONF = `#!/bin/sh
# Defaults of Steward's FreeBSD simulator (a subset of FreeBSD 14's /etc/defaults/rc.conf).
# Override them in /etc/rc.conf.

rc_conf_files="/etc/rc.conf /etc/rc.conf.local" # Files read after this one, in order.
rc_startmsgs="YES"	# Print "Starting x." while booting.
rc_info="NO"		# Print informational messages of rc scripts.
rc_debug="NO"		# Print debugging messages of rc scripts.
local_startup="/usr/local/etc/rc.d" # Directories of rc scripts installed by packages.
hostname=""		# The host's name.
ifconfig_lo0="inet 127.0.0.1" # Loopback address.
defaultrouter="NO"	# Default IPv4 route (an address), or NO.
gateway_enable="NO"	# Forward IPv4 packets between interfaces.
syslogd_enable="YES"	# Run the system log daemon.
syslogd_flags="-s"	# Flags of syslogd.
cron_enable="YES"	# Run the periodic job daemon.
cron_flags=""		# Flags of cron.
sshd_enable="NO"	# Run the secure shell daemon.
sshd_flags=""		# Flags of sshd.
ntpd_enable="NO"	# Run the network time daemon.
ntpd_flags=""		# Flags of ntpd.
pf_enable="NO"		# Load pf rules at boot.
pf_rules="/etc/pf.conf" # Rules file of pf.
zfs_enable="NO"		# Mount ZFS datasets at boot.
jail_enable="NO"	# Start the jails in jail_list at boot.
jail_conf="/etc/jail.conf" # The jail.conf(5) file for jails without their own file.
jail_list=""		# Jails to start, in order; empty: every jail in jail_conf.
jail_parallel_start="NO" # Start the jails in jail_list at the same time.
jail_reverse_stop="NO"	# Stop the jails in jail_list in reverse order.
`;
