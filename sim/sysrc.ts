/**
 * sysrc(8): read and change rc.conf(5) variables.
 *
 *   sysrc [-cdDeEFhilLnNqvxX] [-f file] [-j jail | -R dir] [-s name] name[[+|-]=value] ...
 *   sysrc [-cdDeEFhilLnNqvxX] [-f file] [-j jail | -R dir] -a | -A
 *
 * Output as FreeBSD's tests (usr.sbin/sysrc/tests) pin it: a read prints `name: value`; a
 * change prints `name: old -> new` (`name:  -> YES` for a variable set nowhere before); `+=`
 * adds words not yet in the list, `-=` removes them (creating an empty variable when unset);
 * an unknown variable prints `sysrc: unknown variable 'x'` on stderr and makes the exit
 * status 1 while the other arguments are still handled; -c changes nothing and exits 0 only
 * when every argument is already as asked; -x deletes every assignment. Without -f the files
 * are the defaults' rc_conf_files (/etc/rc.conf /etc/rc.conf.local) after
 * /etc/defaults/rc.conf; `-f FILE` (repeatable) replaces them, the defaults still read first.
 * -j runs inside a running jail and -R in another root directory; sysrc does that by piping
 * itself to /bin/sh there, so its messages then begin with `sh:`.
 */
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fsRoot, under, withCtx, type Ctx } from "./context.js";
import { shGetopts } from "./getopt.js";
import { jailRoot } from "./jexec.js";
import { describeFromText, evalRcConf, hasAssignment, setInText, deleteFromText, type Vars } from "./rc-conf.js";
import { defaultConfFiles, loadVars, rcDefaults, readIfExists, type ConfFile, type Defaults } from "./rc-files.js";
import { findJail, notFoundMessage, readState, withState } from "./state.js";

const VERSION = "6.3 Mar-4,2015";

interface Opts {
  checkOnly: boolean;
  del: 0 | 1 | 2;
  describe: boolean;
  showAll: 0 | 1 | 2;
  showEquals: boolean;
  showFile: boolean;
  showName: boolean;
  showValue: boolean;
  ignoreUnknowns: boolean;
  quiet: boolean;
  verbose: boolean;
  /** RC_CONFS: the -f files, in order; undefined when none was given (D sets it empty). */
  rcConfs: string[] | undefined;
  jail: string | undefined;
  rootdir: string | undefined;
  service: string | undefined;
  list: 0 | 1 | 2;
}

function usage(ctx: Ctx): number {
  ctx.io.err(`Usage: ${ctx.prog} [OPTIONS] name[[+|-]=value] ...\nTry \`${ctx.prog} --help' for more information.\n`);
  return 1;
}

function help(ctx: Ctx): number {
  const o = (flag: string, text: string): string => `\t${flag.padEnd(11)}${text}\n`;
  ctx.io.err(
    `Usage: ${ctx.prog} [OPTIONS] name[[+|-]=value] ...\n` +
      "OPTIONS:\n" +
      o("-a", "Dump a list of all non-default configuration variables.") +
      o("-A", "Dump a list of all configuration variables (incl. defaults).") +
      o("-c", "Check. Return success if set or no changes, else error.") +
      o("-d", "Print a description of the given variable.") +
      o("-D", "Show default value(s) only.") +
      o("-e", "Print query results as `var=value'.") +
      o("-f file", "Operate on the specified file(s) instead of rc_conf_files.") +
      o("-F", "Show only the last rc.conf(5) file each directive is in.") +
      o("-h", "Print a short usage statement to stderr and exit.") +
      o("--help", "Print this message to stderr and exit.") +
      o("-i", "Ignore unknown variables.") +
      o("-j jail", "The jid or name of the jail to operate within.") +
      o("-l", "List configuration files used at startup on stdout and exit.") +
      o("-n", "Show only variable values, not their names.") +
      o("-N", "Show only variable names, not their values.") +
      o("-q", "Quiet. Disable verbose and hide certain errors.") +
      o("-R dir", "Operate within the root directory `dir' rather than `/'.") +
      o("-s name", "Process additional rc.conf.d entries for service name.") +
      o("-v", "Verbose. Print the pathname of the specific rc.conf(5) file.") +
      o("--version", "Print version information to stdout and exit.") +
      o("-x", "Remove variable(s) from specified file(s).") +
      "\n",
  );
  return 1;
}

/** The files of one run: the defaults and the rc.conf files, as the tool names them and as they really are. */
interface Files {
  defaults: Defaults;
  files: ConfFile[];
  /** True when -f or -D gave the list (RC_CONFS is set). */
  explicit: boolean;
}

function filesFor(ctx: Ctx, root: string, opts: Opts): Files {
  const defaults = rcDefaults(root, ctx.jid === 0 && opts.rootdir === undefined ? ctx.env.RC_DEFAULTS : undefined);
  if (opts.rcConfs !== undefined) {
    // Inside a jail or another root every path is that root's; on the host a path given is a real path.
    const map = (p: string): ConfFile => ({ shown: p, real: ctx.jid !== 0 || opts.rootdir !== undefined ? under(root, p.startsWith("/") ? p : `/${p}`) : resolve(ctx.cwd, p) });
    return { defaults, files: opts.rcConfs.map(map), explicit: true };
  }
  const files = defaultConfFiles(root, defaults);
  if (opts.service !== undefined) {
    for (const dir of ["/etc", "/usr/local/etc"]) {
      const shown = `${dir}/rc.conf.d/${opts.service}`;
      if (existsSync(under(root, shown))) files.push({ shown, real: under(root, shown) });
    }
  }
  return { defaults, files, explicit: false };
}

function vars(f: Files): Vars {
  return loadVars(f.defaults, f.files);
}

/** find is f_sysrc_find: the file holding the last assignment (searched last file first, then the defaults). */
function find(f: Files, name: string): ConfFile | undefined {
  if (!/^[A-Za-z_]/.test(name)) return undefined;
  for (const file of [...f.files].reverse()) {
    const t = readIfExists(file.real);
    if (t !== undefined && hasAssignment(t, name)) return file;
  }
  if (hasAssignment(f.defaults.text, name)) return f.defaults;
  return undefined;
}

function get(f: Files, name: string): string | undefined {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return undefined;
  return vars(f).get(name);
}

/** setUnlocked is f_sysrc_set: change the last assignment in place, or append to the first file. Call it under the state lock. */
function setUnlocked(f: Files, name: string, value: string): void {
  const holder = find(f, name);
  if (holder === undefined || holder === f.defaults) {
    const first = f.files[0];
    if (first === undefined) return;
    mkdirSync(dirname(first.real), { recursive: true });
    const text = readIfExists(first.real) ?? "";
    writeFileSync(first.real, text === "" || text.endsWith("\n") ? `${text}${name}="${value}"\n` : `${text}\n${name}="${value}"\n`);
    return;
  }
  writeFileSync(holder.real, setInText(readIfExists(holder.real) ?? "", name, value));
}

/** del is f_sysrc_delete: remove every assignment from every file; false when none had one. */
function del(sim: string, f: Files, name: string): boolean {
  return withState(sim, () => delUnlocked(f, name));
}

function delUnlocked(f: Files, name: string): boolean {
  let any = false;
  for (const file of f.files) {
    const t = readIfExists(file.real);
    if (t === undefined) continue;
    const n = deleteFromText(t, name);
    if (n === undefined) continue;
    writeFileSync(file.real, n);
    any = true;
  }
  return any;
}

function words(s: string, delim: string): string[] {
  return (delim === " " ? s.split(/[ \t\n]+/) : s.split(delim)).filter((x) => x !== "");
}

function listDelim(value: string): string {
  const c = value[0] ?? "";
  return c === "" || /[ \t\n]/.test(c) || /[A-Za-z0-9]/.test(c) ? " " : c;
}

/** nextValue computes what `name=v`, `name+=v` or `name-=v` makes of `before`, as sysrc's loops do. */
function nextValue(mode: "assign" | "append" | "remove", before: string, given: string): string {
  if (mode === "assign") return given;
  const delim = listDelim(given);
  if (mode === "remove") {
    const drop = words(given, delim);
    return words(before, delim)
      .filter((b) => !drop.includes(b))
      .join(delim);
  }
  // A word is skipped only when the old value has it.
  const old = words(before, delim);
  let out = before;
  for (const a of words(given, delim)) if (!old.includes(a)) out = `${out}${delim}${a}`;
  return out.startsWith(delim) ? out.slice(delim.length) : out;
}

function parseOptions(argv: readonly string[], ctx: Ctx): { opts: Opts; rest: string[] } | number {
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--help") return help(ctx);
    if (a === "--version") {
      ctx.io.out(`${VERSION}\n`);
      return 1;
    }
    if (a === "-f" || a === "-R" || a === "-j" || a === "-s") i++;
  }
  const g = shGetopts(argv, "aAcdDeEf:Fhij:lLnNqR:s:vxX");
  if (!g.ok) {
    ctx.io.err(g.message);
    return usage(ctx);
  }
  const opts: Opts = {
    checkOnly: false, del: 0, describe: false, showAll: 0, showEquals: false, showFile: false, showName: true, showValue: true,
    ignoreUnknowns: false, quiet: false, verbose: false, rcConfs: undefined, jail: undefined, rootdir: undefined, service: undefined, list: 0,
  };
  for (const o of g.value.options) {
    switch (o.flag) {
      case "a":
        if (opts.showAll === 0) opts.showAll = 1;
        break;
      case "A":
        opts.showAll = 2;
        break;
      case "c":
        opts.checkOnly = true;
        break;
      case "d":
        opts.describe = true;
        break;
      case "D":
        opts.rcConfs = [];
        break;
      case "e":
        opts.showEquals = true;
        break;
      case "E":
        break;
      case "f":
        opts.rcConfs = [...(opts.rcConfs ?? []), ...(o.arg === "" ? [] : [o.arg ?? ""])];
        break;
      case "F":
        opts.showFile = true;
        break;
      case "h":
        return usage(ctx);
      case "i":
        opts.ignoreUnknowns = true;
        break;
      case "j":
        if ((o.arg ?? "") === "") {
          ctx.io.err(`${ctx.prog}: Missing or null argument to \`-j' flag\n`);
          return 1;
        }
        opts.jail = o.arg;
        break;
      case "l":
        opts.list = 1;
        break;
      case "L":
        opts.list = 2;
        break;
      case "n":
        opts.showName = false;
        break;
      case "N":
        opts.showValue = false;
        break;
      case "q":
        opts.quiet = true;
        opts.verbose = false;
        break;
      case "R":
        if ((o.arg ?? "") === "") {
          ctx.io.err(`${ctx.prog}: Missing or null argument to \`-R' flag\n`);
          return 1;
        }
        opts.rootdir = o.arg;
        break;
      case "s":
        opts.service = o.arg;
        break;
      case "v":
        opts.verbose = true;
        opts.quiet = false;
        break;
      case "x":
        if (opts.del === 0) opts.del = 1;
        break;
      case "X":
        opts.del = 2;
        break;
    }
  }
  return { opts, rest: [...g.value.rest] };
}

/** runSysrc is sysrc(8). */
export function runSysrc(argv: readonly string[], ctx: Ctx): number {
  if (argv.length === 0) return usage(ctx);
  const parsed = parseOptions(argv, ctx);
  if (typeof parsed === "number") return parsed;
  const { opts, rest } = parsed;
  if (rest.length === 0 && opts.showAll === 0 && opts.list === 0) return usage(ctx);
  if (opts.del !== 0 && opts.showAll !== 0 && opts.del !== 2) {
    ctx.io.err(`${ctx.prog}: \`-x' option incompatible with \`-a'/\`-A' options (use \`-X' to override)\n`);
    return 1;
  }
  if (opts.checkOnly && opts.showAll !== 0) {
    ctx.io.err(`${ctx.prog}: \`-c' option incompatible with \`-a'/\`-A' options\n`);
    return 1;
  }
  if (opts.showFile) opts.showEquals = false;
  if (!opts.showName) opts.showEquals = false;
  if (!opts.showValue) {
    opts.showName = true;
    opts.showEquals = false;
  }

  // -j and -R: sysrc re-runs itself through sh(1) in the jail (jexec) or the root (chroot).
  let root: string;
  let inner = ctx;
  if (opts.jail !== undefined || opts.rootdir !== undefined) {
    const s = readState(ctx.sim);
    let jail = opts.jail === undefined ? undefined : ctx.jid === 0 ? findJail(s, opts.jail) : undefined;
    if (opts.jail !== undefined && jail === undefined) {
      ctx.io.err(`jexec: ${notFoundMessage(opts.jail)}\n`);
      return 1;
    }
    if (jail === undefined && opts.rootdir !== undefined) {
      const claim = s.jails.filter((j) => j.path === opts.rootdir);
      if (claim.length > 1) {
        ctx.io.err(`${ctx.prog}: ${opts.rootdir}: Multiple jails claim this directory as their root. (use \`-j jail' instead)\n`);
        return 1;
      }
      jail = claim[0];
    }
    if (jail !== undefined) {
      root = jailRoot(ctx.sim, jail);
      inner = withCtx(ctx, { prog: "sh", jid: jail.jid });
      opts.rootdir = undefined;
    } else {
      root = resolve(ctx.cwd, opts.rootdir ?? "/");
      if (!existsSync(root)) {
        ctx.io.err(`chroot: ${opts.rootdir}: No such file or directory\n`);
        return 127;
      }
      inner = withCtx(ctx, { prog: "sh" });
    }
  } else {
    root = fsRoot(ctx);
  }
  const f = filesFor(inner, root, opts);
  const io = inner.io;
  const pgm = inner.prog;

  if (opts.list !== 0) {
    io.out(`${f.files.map((x) => x.shown).join(" ")}\n`);
    return 0;
  }

  if (opts.showAll !== 0) {
    const all: Vars = new Map();
    if (opts.showAll === 2) evalRcConf(f.defaults.text, all);
    const fromDefaults: Vars = new Map();
    evalRcConf(f.defaults.text, fromDefaults);
    const fileVars: Vars = new Map(opts.showAll === 2 ? all : []);
    for (const file of f.files) {
      const t = readIfExists(file.real);
      if (t !== undefined) evalRcConf(t, fileVars);
    }
    if (opts.showAll === 1 && find(f, "rc_conf_files") === f.defaults) fileVars.delete("rc_conf_files");
    for (const name of [...fileVars.keys()].sort()) {
      if (opts.describe) {
        io.out(`${name}: ${describeFromText(f.defaults.text, name) ?? ""}\n`);
        continue;
      }
      if (opts.showFile) {
        io.out(`${opts.showName ? `${name}: ` : ""}${find(f, name)?.shown ?? ""}\n`);
        continue;
      }
      if (opts.del === 2) {
        del(ctx.sim, f, name);
        continue;
      }
      if (opts.verbose) io.out(`${find(f, name)?.shown ?? ""}: `);
      if (!opts.showValue) {
        io.out(`${name}\n`);
        continue;
      }
      io.out(`${opts.showName ? `${name}${opts.showEquals ? '="' : ": "}` : ""}${fileVars.get(name) ?? ""}${opts.showEquals ? '"' : ""}\n`);
    }
    return 0;
  }

  const sep = opts.showEquals ? '="' : ": ";
  let status = 0;
  for (const arg of rest) {
    let name = arg.includes("=") ? arg.slice(0, arg.indexOf("=")) : arg;
    let mode: "assign" | "append" | "remove" = "assign";
    if (name.endsWith("+")) {
      mode = "append";
      name = name.slice(0, -1);
    } else if (name.endsWith("-")) {
      mode = "remove";
      name = name.slice(0, -1);
    }
    if (opts.describe) io.out(`${name}: ${describeFromText(f.defaults.text, name) ?? ""}\n`);
    if (arg.includes("=")) {
      const given = arg.slice(arg.indexOf("=") + 1);
      if (opts.verbose && !opts.checkOnly) {
        const where = find(f, name);
        const file = where === undefined || where === f.defaults ? (f.files[0]?.shown ?? "") : where.shown;
        io.out(opts.showEquals ? `: ${file}; ` : `${file}: `);
      }
      if (opts.del !== 0) {
        if (!del(ctx.sim, f, name)) status = 1;
        continue;
      }
      if (opts.checkOnly) {
        const current = get(f, name);
        if (current === undefined) {
          status = 1;
          if (opts.verbose) io.out(`${name}: not currently set\n`);
          continue;
        }
        const delim = listDelim(given);
        const have = words(current, delim);
        let same: boolean;
        if (mode === "append") same = words(given, delim).every((w) => have.includes(w));
        else if (mode === "remove") same = !words(given, delim).some((w) => have.includes(w));
        else same = current === given;
        if (!same) {
          status = 1;
          if (opts.verbose) io.out(`${find(f, name)?.shown ?? ""}: ${name}: would change from \`${current}' to \`${given}'\n`);
        } else if (opts.verbose) io.out(`${find(f, name)?.shown ?? ""}: ${name}: already set to \`${current}'\n`);
        continue;
      }
      // Read, compute and write under the lock, so concurrent `+=` on one list lose nothing.
      const line = withState(ctx.sim, () => {
        let before = get(f, name) ?? "";
        const next = nextValue(mode, before, given);
        if (opts.showFile) before = find(f, name)?.shown ?? "";
        setUnlocked(f, name, next);
        const after = opts.showFile ? (find(f, name)?.shown ?? "") : (get(f, name) ?? "");
        if (!opts.showValue) return `${name}\n`;
        return `${opts.showName ? `${name}${sep}` : ""}${before}${opts.showEquals ? '" #' : ""} -> ${opts.showEquals ? '"' : ""}${after}${opts.showEquals ? '"' : ""}\n`;
      });
      io.out(line);
      continue;
    }
    const value = get(f, name);
    if (value === undefined) {
      if (!opts.ignoreUnknowns && !opts.quiet) io.err(`${pgm}: unknown variable '${name}'\n`);
      status = 1;
      continue;
    }
    if (opts.checkOnly || opts.describe) continue;
    if (opts.del !== 0) {
      if (!del(ctx.sim, f, name)) status = 1;
      continue;
    }
    if (opts.showFile) {
      io.out(`${opts.showName ? `${name}: ` : ""}${find(f, name)?.shown ?? ""}\n`);
      continue;
    }
    if (opts.verbose) io.out(opts.showEquals ? `: ${find(f, name)?.shown ?? ""}; ` : `${find(f, name)?.shown ?? ""}: `);
    if (!opts.showValue) io.out(`${name}\n`);
    else io.out(`${opts.showName ? `${name}${sep}` : ""}${value}${opts.showEquals ? '"' : ""}\n`);
  }
  return status;
}
