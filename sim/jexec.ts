/**
 * jexec(8): run a command inside a running jail, and the simulator's notion of running a
 * command "inside" a jail, shared with jail(8)'s exec.start/exec.stop/command.
 *
 *   jexec [-l] [-u username | -U username] jail [command ...]
 *
 * jexec's own failures exit 1 (`jexec: jail "x" not found`, `jexec: execvp: x: No such file or
 * directory`); otherwise the command's status is jexec's. Inside a jail the simulator can run:
 * the six simulated tools (by name or as /usr/sbin/X; pkg also as /usr/local/sbin/pkg);
 * `/bin/sh /etc/rc` and `/bin/sh /etc/rc.shutdown` (start every enabled rc script, stop every
 * running one); `sh -c STRING`, `sh FILE` and an interactive `sh`, which run the host's
 * /bin/sh with the jail's directory as working directory and the simulated tools first in
 * PATH (other commands in the string run on the Linux host, unconfined); `env [-i] [-u name]
 * [NAME=value ...] command`; true, false, echo; and the file tools Steward's jail driver uses to
 * put a file in a jail, each on paths inside the jail's root: `mkdir -p DIR`, `dd of=FILE
 * status=none` (stdin to FILE), `chmod MODE FILE`, `chown USER[:GROUP] FILE` (names from the
 * jail's etc/passwd and etc/group), `mv -f FROM TO`. Anything else fails as execvp(3) would.
 */
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { currentJail, hostRoot, JAIL_ENV, under, withCtx, type Ctx } from "./context.js";
import { hangIfFaulted, loadFaults } from "./faults.js";
import { bsdGetopt } from "./getopt.js";
import { runHost, withSimPath } from "./hostcmd.js";
import type { Io } from "./io.js";
import { runJail } from "./jail.js";
import { runJls } from "./jls.js";
import { runPkg } from "./pkg.js";
import { runEtcRc, runEtcRcShutdown, type RcRoot } from "./rc.js";
import { runService } from "./service.js";
import { findJail, notFoundMessage, readState, type SimJail } from "./state.js";
import { runSysrc } from "./sysrc.js";

type ToolFn = (argv: readonly string[], ctx: Ctx) => number;

const TOOLS: Record<string, { fn: () => ToolFn; paths: readonly string[] }> = {
  jail: { fn: () => runJail, paths: ["/usr/sbin/jail"] },
  jls: { fn: () => runJls, paths: ["/usr/sbin/jls"] },
  jexec: { fn: () => runJexec, paths: ["/usr/sbin/jexec"] },
  sysrc: { fn: () => runSysrc, paths: ["/usr/sbin/sysrc"] },
  service: { fn: () => runService, paths: ["/usr/sbin/service"] },
  pkg: { fn: () => runPkg, paths: ["/usr/sbin/pkg", "/usr/local/sbin/pkg"] },
};

/** jailRoot is the real directory of a jail's "/": its path, or the simulated host's root for path=/. */
export function jailRoot(sim: string, j: SimJail): string {
  return j.path === "/" ? hostRoot(sim) : j.path;
}

/** rcRootOf describes the jail (or, for undefined, the host) for rc.ts. */
export function rcRootOf(ctx: Ctx, j: SimJail | undefined): RcRoot {
  return {
    sim: ctx.sim,
    root: j === undefined ? hostRoot(ctx.sim) : jailRoot(ctx.sim, j),
    jid: j?.jid ?? 0,
    jailName: j?.name,
    faults: loadFaults(ctx.sim, ctx.env),
  };
}

/** The variables the simulator itself needs in every process it starts. */
function simVars(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ["STEWARD_SIM_ROOT", "STEWARD_SIM_FAULTS"]) {
    const v = env[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** cleanEnv is the environment jexec -l and exec.clean leave: TERM kept, PATH=/bin:/usr/bin, root's HOME, SHELL and USER. */
export function cleanEnv(env: Readonly<Record<string, string | undefined>>): Record<string, string> {
  const out: Record<string, string> = { ...simVars(env), PATH: "/bin:/usr/bin", HOME: "/root", SHELL: "/bin/csh", USER: "root" };
  if (env.TERM !== undefined) out.TERM = env.TERM;
  return out;
}

export type InJailResult = { status: number } | { notFound: string };

function toolFor(cmd: string): ToolFn | undefined {
  for (const [name, t] of Object.entries(TOOLS)) {
    if (cmd === name || t.paths.includes(cmd)) return t.fn();
  }
  return undefined;
}

/**
 * execInJail runs argv inside jail `j` with environment `env`, output to `io`. Returns the
 * status, or `notFound` when execvp would fail (the caller prints its own message).
 */
export function execInJail(ctx: Ctx, j: SimJail, argv: readonly string[], env: Record<string, string>, io: Io): InJailResult {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return { status: 0 };
  hangIfFaulted(ctx.sim, loadFaults(ctx.sim, ctx.env), j.name, cmd.slice(cmd.lastIndexOf("/") + 1), argv);
  const root = jailRoot(ctx.sim, j);
  const jenv: Record<string, string> = { ...env, ...simVars(ctx.env), [JAIL_ENV]: String(j.jid) };
  const inner = withCtx(ctx, { jid: j.jid, env: jenv, io, cwd: root });
  const tool = toolFor(cmd);
  if (tool !== undefined) return { status: tool(args, withCtx(inner, { prog: cmd.slice(cmd.lastIndexOf("/") + 1) })) };
  switch (cmd) {
    case "true":
    case "/usr/bin/true":
      return { status: 0 };
    case "false":
    case "/usr/bin/false":
      return { status: 1 };
    case "echo":
    case "/bin/echo": {
      const noNewline = args[0] === "-n";
      io.out(`${(noNewline ? args.slice(1) : args).join(" ")}${noNewline ? "" : "\n"}`);
      return { status: 0 };
    }
    case "env":
    case "/usr/bin/env": {
      let e: Record<string, string> = { ...env };
      let k = 0;
      for (; k < args.length; k++) {
        const a = args[k] ?? "";
        if (a === "-i" || a === "-") e = {};
        else if (a === "-u") e = Object.fromEntries(Object.entries(e).filter(([n]) => n !== args[++k]));
        else if (/^[^=]+=/.test(a)) e[a.slice(0, a.indexOf("="))] = a.slice(a.indexOf("=") + 1);
        else break;
      }
      if (k >= args.length) {
        io.out(Object.entries(e).map(([n, v]) => `${n}=${v}\n`).join(""));
        return { status: 0 };
      }
      const r = execInJail(ctx, j, args.slice(k), e, io);
      if ("notFound" in r) {
        io.err(`env: ${r.notFound}: No such file or directory\n`);
        return { status: 127 };
      }
      return r;
    }
    case "mkdir":
    case "/bin/mkdir":
      return { status: fileTool("mkdir", args, root, io) };
    case "dd":
    case "/bin/dd":
      return { status: fileTool("dd", args, root, io) };
    case "chmod":
    case "/bin/chmod":
      return { status: fileTool("chmod", args, root, io) };
    case "chown":
    case "/usr/sbin/chown":
      return { status: fileTool("chown", args, root, io) };
    case "mv":
    case "/bin/mv":
      return { status: fileTool("mv", args, root, io) };
    case "sh":
    case "/bin/sh": {
      const rr = rcRootOf(ctx, j);
      if (args[0] === "/etc/rc") return { status: runEtcRc(rr, io) };
      if (args[0] === "/etc/rc.shutdown") return { status: runEtcRcShutdown(rr, io) };
      const shEnv = withSimPath(jenv);
      if (args.length === 0 || args[0] === "-i") return { status: runHost(["/bin/sh", ...args], io, { env: shEnv, cwd: root, interactive: true }).status ?? 1 };
      if (args[0] === "-c") return { status: runHost(["/bin/sh", ...args], io, { env: shEnv, cwd: root }).status ?? 1 };
      const script = args[0] ?? "";
      const real = script.startsWith("/") ? under(root, script) : `${root}/${script}`;
      if (!existsSync(real)) {
        io.err(`sh: cannot open ${script}: No such file or directory\n`);
        return { status: 2 };
      }
      return { status: runHost(["/bin/sh", "-s", ...args.slice(1)], io, { env: shEnv, cwd: root, input: readFileSync(real, "utf8") }).status ?? 1 };
    }
    default:
      return { notFound: cmd };
  }
}

function usage(ctx: Ctx): number {
  ctx.io.err("usage: jexec [-l] [-u username | -U username] jail [command ...]\n");
  return 1;
}

function userExists(passwd: string, user: string): boolean {
  if (user === "root") return true;
  try {
    return readFileSync(passwd, "utf8").split("\n").some((l) => l.split(":")[0] === user);
  } catch {
    return false;
  }
}

/** runJexec is jexec(8). */
export function runJexec(argv: readonly string[], ctx: Ctx): number {
  const g = bsdGetopt("jexec", argv, "lnu:U:");
  if (!g.ok) {
    ctx.io.err(g.message);
    return usage(ctx);
  }
  let clean = false;
  let user: string | undefined;
  let uflag = false, Uflag = false;
  for (const o of g.value.options) {
    if (o.flag === "l") clean = true;
    else if (o.flag === "u") {
      user = o.arg;
      uflag = true;
    } else if (o.flag === "U") {
      user = o.arg;
      Uflag = true;
    }
  }
  const rest = g.value.rest;
  if (rest.length < 1 || (uflag && Uflag)) return usage(ctx);
  if (uflag && user !== undefined && !userExists("/etc/passwd", user)) {
    ctx.io.err(`jexec: ${user}: no such user\n`);
    return 1;
  }
  const key = rest[0] ?? "";
  // A jail sees only its own children, and the simulator gives jails none.
  const j = currentJail(ctx) === undefined ? findJail(readState(ctx.sim), key) : undefined;
  if (j === undefined) {
    ctx.io.err(`jexec: ${notFoundMessage(key)}\n`);
    return 1;
  }
  if (Uflag && user !== undefined && !userExists(under(jailRoot(ctx.sim, j), "/etc/passwd"), user)) {
    ctx.io.err(`jexec: ${user}: no such user\n`);
    return 1;
  }
  const env: Record<string, string> = clean ? cleanEnv(ctx.env) : Object.fromEntries(Object.entries(ctx.env).filter((e): e is [string, string] => e[1] !== undefined));
  const command = rest.length > 1 ? rest.slice(1) : [env.SHELL ?? "/bin/sh", "-i"];
  const r = execInJail(ctx, j, command[0] === "/bin/csh" ? ["/bin/sh", ...command.slice(1)] : command, env, ctx.io);
  if ("notFound" in r) {
    ctx.io.err(`jexec: ${rest.length > 1 ? "execvp" : "execlp"}: ${r.notFound}: No such file or directory\n`);
    return 1;
  }
  return r.status;
}

/** nameToId reads a jail's passwd(5) or group(5) file for a name's numeric id. */
function nameToId(root: string, file: "passwd" | "group", name: string): number | undefined {
  if (/^\d+$/.test(name)) return Number(name);
  let text: string;
  try {
    text = readFileSync(under(root, `/etc/${file}`), "utf8");
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const f = line.split(":");
    if (f[0] === name && f[2] !== undefined && /^\d+$/.test(f[2])) return Number(f[2]);
  }
  return undefined;
}

/**
 * fileTool runs one of the file tools inside a jail's root, with the real tools' usage
 * messages and exit statuses for what Steward's driver uses (mkdir(1), dd(1), chmod(1),
 * chown(8), mv(1) of FreeBSD).
 */
function fileTool(tool: "mkdir" | "dd" | "chmod" | "chown" | "mv", args: readonly string[], root: string, io: Io): number {
  const fail = (message: string, status = 1): number => {
    io.err(`${tool}: ${message}\n`);
    return status;
  };
  try {
    switch (tool) {
      case "mkdir": {
        const p = args[0] === "-p";
        const dirs = p ? args.slice(1) : args;
        if (dirs.length === 0) return fail("usage: mkdir [-pv] [-m mode] directory_name ...", 64);
        for (const d of dirs) mkdirSync(under(root, d), { recursive: p });
        return 0;
      }
      case "dd": {
        const of = args.find((a) => a.startsWith("of="));
        if (of === undefined || args.some((a) => !/^(of=.+|status=(none|noxfer|progress))$/.test(a))) return fail("unknown operand", 1);
        writeFileSync(under(root, of.slice(3)), readFileSync(0));
        return 0;
      }
      case "chmod": {
        const [mode, ...files] = args;
        if (mode === undefined || !/^[0-7]{3,4}$/.test(mode) || files.length === 0) return fail("usage: chmod [-fhv] [-R [-H | -L | -P]] mode file ...", 1);
        for (const f of files) chmodSync(under(root, f), Number.parseInt(mode, 8));
        return 0;
      }
      case "chown": {
        const [owner, ...files] = args;
        if (owner === undefined || files.length === 0) return fail("usage: chown [-fhvx] [-R [-H | -L | -P]] owner[:group] file ...", 1);
        const [user, group] = owner.split(":");
        const uid = nameToId(root, "passwd", user ?? "");
        if (uid === undefined) return fail(`${user ?? ""}: illegal user name`);
        const gid = group === undefined ? -1 : nameToId(root, "group", group);
        if (gid === undefined) return fail(`${group ?? ""}: illegal group name`);
        for (const f of files) chownSync(under(root, f), uid, gid);
        return 0;
      }
      case "mv": {
        const rest = args[0] === "-f" ? args.slice(1) : args;
        if (rest.length !== 2) return fail("usage: mv [-f | -i | -n] [-hv] source target", 64);
        renameSync(under(root, rest[0] as string), under(root, rest[1] as string));
        return 0;
      }
    }
  } catch (e) {
    return fail(`${args.at(-1) ?? ""}: ${(e as NodeJS.ErrnoException).code === "ENOENT" ? "No such file or directory" : e instanceof Error ? e.message : String(e)}`);
  }
}
