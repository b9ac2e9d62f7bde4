/**
 * service(8): run an rc script (FreeBSD 14's service.sh).
 *
 *   service [-j jail] -e | -R | [-v] -l | -r
 *   service [-j jail] [-v] rc.d-script start|stop|etc.
 *   service -h
 *
 * The usage text goes to stdout; -h exits 0, a bad option or a missing command exits 1.
 * `-j jail` runs `jexec -l jail /usr/sbin/service …` and passes its status through. A script
 * found in neither /etc/rc.d nor $local_startup prints `X does not exist in /etc/rc.d or the
 * local startup` / `directories (/usr/local/etc/rc.d), or is not executable` and exits 1.
 * Everything else is rc.subr's (rc.ts). The host's /etc/rc.d/jail is libexec/rc/rc.d/jail:
 * `service jail start web` runs `jail -i -f CONF -c web` with CONF the first readable of
 * $jail_web_conf, /etc/jail.web.conf, /etc/jail.conf.d/web.conf, $jail_conf, prints
 * `Starting jails: web.` or `Starting jails: cannot start jail  "web": ` and jail(8)'s output,
 * and always exits 0.
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { currentJail, hostRoot, under, withCtx, type Ctx } from "./context.js";
import { shGetopts } from "./getopt.js";
import { BufferIo, type Io } from "./io.js";
import { runJail } from "./jail.js";
import { cleanEnv, execInJail, rcRootOf } from "./jexec.js";
import { runJls } from "./jls.js";
import { isYes } from "./rc-conf.js";
import { rootVars } from "./rc-files.js";
import { findScript, listScripts, localStartup, runRcCommand, type RcRoot, type RcScript } from "./rc.js";
import { findJail, notFoundMessage, readState } from "./state.js";

function usage(ctx: Ctx, local: string): string {
  const me = ctx.prog;
  return (
    "\nUsage:\n" +
    `${me} [-j <jail name or id>] -e\n` +
    `${me} [-j <jail name or id>] -R\n` +
    `${me} [-j <jail name or id>] [-v] -l | -r\n` +
    `${me} [-j <jail name or id>] [-v] <rc.d script> start|stop|etc.\n` +
    `${me} -h\n\n` +
    "-j\tPerform actions within the named jail\n" +
    "-e\tShow services that are enabled\n" +
    `-R\tStop and start enabled ${local} services\n` +
    `-l\tList all scripts in /etc/rc.d and ${local}\n` +
    "-r\tShow the results of boot time rcorder\n" +
    "-v\tVerbose\n\n"
  );
}

function enabled(rr: RcRoot, sc: RcScript): boolean {
  if (sc.rcvar === undefined) return false;
  return isYes(rootVars(rr.root, sc.name).get(sc.rcvar) ?? sc.rcvarDefault) === true;
}

/** runService is service(8). */
export function runService(argv: readonly string[], ctx: Ctx): number {
  const io = ctx.io;
  const j = currentJail(ctx);
  const rr = rcRootOf(ctx, j);
  const local = localStartup(rr.root).join(" ");
  const g = shGetopts(argv, "j:ehlrRv");
  if (!g.ok) {
    io.err(g.message);
    io.out(usage(ctx, local));
    return 1;
  }
  let jail: string | undefined;
  let e = false, l = false, r = false, R = false, v = false;
  for (const o of g.value.options) {
    switch (o.flag) {
      case "j":
        jail = o.arg;
        break;
      case "e":
        e = true;
        break;
      case "h":
        io.out(usage(ctx, local));
        return 0;
      case "l":
        l = true;
        break;
      case "r":
        r = true;
        break;
      case "R":
        R = true;
        break;
      case "v":
        v = true;
        break;
    }
  }
  const rest = g.value.rest;
  if (jail !== undefined) {
    const args = [...(e ? ["-e"] : []), ...(l ? ["-l"] : []), ...(r ? ["-r"] : []), ...(R ? ["-R"] : []), ...(v ? ["-v"] : []), ...rest];
    const target = j === undefined ? findJail(readState(ctx.sim), jail) : undefined;
    if (target === undefined) {
      io.err(`jexec: ${notFoundMessage(jail)}\n`);
      return 1;
    }
    const res = execInJail(ctx, target, ["/usr/sbin/service", ...args], cleanEnv(ctx.env), io);
    return "status" in res ? res.status : 1;
  }
  if (R) {
    const locals = listScripts(rr).filter((s) => s.dir !== "/etc/rc.d");
    for (const sc of [...locals].reverse()) if (enabled(rr, sc)) runRcCommand(rr, sc, ["stop"], io);
    for (const sc of locals) if (enabled(rr, sc)) runRcCommand(rr, sc, ["start"], io);
    return 0;
  }
  if (e) {
    for (const sc of listScripts(rr)) if (enabled(rr, sc)) io.out(`${sc.dir}/${sc.script}\n`);
    return 0;
  }
  if (l) {
    for (const dir of ["/etc/rc.d", ...localStartup(rr.root)]) {
      if (v) io.out(`From ${dir}:\n`);
      const names = new Set(listScripts(rr).filter((s) => s.dir === dir).map((s) => s.script));
      const real = under(rr.root, dir);
      if (existsSync(real)) for (const f of readdirSync(real)) names.add(f);
      for (const n of [...names].sort()) io.out(`${n}\n`);
    }
    return 0;
  }
  if (r) {
    for (const sc of listScripts(rr)) io.out(`${sc.dir}/${sc.script}\n`);
    return 0;
  }
  if (rest.length <= 1) {
    io.out(usage(ctx, local));
    return 1;
  }
  const [script = "", ...cmd] = rest;
  const sc = findScript(rr, script);
  if (sc === undefined) {
    io.out(`${script} does not exist in /etc/rc.d or the local startup\ndirectories (${local}), or is not executable\n`);
    return 1;
  }
  if (v) io.out(`${script} is located in ${sc.dir}\n`);
  if (sc.script === "jail" && sc.dir === "/etc/rc.d" && rr.jid === 0) return runJailScript(ctx, rr, sc, cmd, io);
  if (sc.script === "netif" && sc.dir === "/etc/rc.d" && rr.jid === 0 && cmd[0] === "cloneup") {
    // rc.d/netif's clone_up: every interface of cloned_interfaces (or those named), then one line.
    const list = cmd.length > 1 ? cmd.slice(1) : (rootVars(rr.root).get("cloned_interfaces") ?? "").split(/\s+/).filter((x) => x !== "");
    if (list.length > 0) io.out(`Created clone interfaces: ${list.join(" ")}.\n`);
    return 0;
  }
  return runRcCommand(rr, sc, cmd, io);
}

// ------------------------------------------------------------------ rc.d/jail

/** hostPath finds a file named in rc.conf: under the simulated host's root if it is there, else as a real path. */
function hostPath(ctx: Ctx, p: string): string {
  const mapped = under(hostRoot(ctx.sim), p);
  return existsSync(mapped) || !existsSync(p) ? mapped : p;
}

function jailVarName(j: string): string {
  return j.replace(/[^A-Za-z0-9]/g, "_");
}

/** confFor is parse_options(): the first readable configuration file for jail `j`, or undefined after rc.d/jail's warning. */
function confFor(ctx: Ctx, vars: Map<string, string>, j: string, io: Io): string | undefined {
  const jv = jailVarName(j);
  const candidates = [vars.get(`jail_${jv}_conf`) ?? `/etc/jail.${j}.conf`, `/etc/jail.conf.d/${j}.conf`, vars.get("jail_conf") ?? ""].filter((x) => x !== "");
  for (const c of candidates) {
    const real = hostPath(ctx, c);
    if (existsSync(real)) return real;
  }
  io.err(`/etc/rc.d/jail: WARNING: Invalid configuration for ${j} (no jail.conf, no hostname, or no path).  Jail ${j} was ignored.\n`);
  return undefined;
}

function jailRunning(ctx: Ctx, name: string): number | undefined {
  const b = new BufferIo();
  const code = runJls(["-j", name, "jid"], withCtx(ctx, { io: b }));
  return code === 0 ? Number(b.stdout.trim()) : undefined;
}

function idFile(ctx: Ctx, name: string): string {
  return under(hostRoot(ctx.sim), `/var/run/jail_${name}.id`);
}

function writeId(ctx: Ctx, name: string, jid: number): void {
  const p = idFile(ctx, name);
  mkdirSync(dirname(p), { recursive: true });
  writeFileSync(p, `${jid}\n`);
}

function jailStart(ctx: Ctx, vars: Map<string, string>, names: string[], io: Io): void {
  if (names.length === 0) return;
  io.out("Starting jails:");
  const flags = (vars.get("jail_flags") ?? "").split(/\s+/).filter((x) => x !== "");
  if (names[0] === "_ALL") {
    const tmp = new BufferIo();
    const conf = hostPath(ctx, vars.get("jail_conf") ?? "/etc/jail.conf");
    const parallel = isYes(vars.get("jail_parallel_start")) === true;
    const code = runJail([...flags, "-f", conf, "-c", ...(parallel ? [] : ["-p1"])], withCtx(ctx, { io: { out: (t) => tmp.out(t), err: (t) => tmp.out(t) } }));
    if (code === 0) {
      for (const sj of [...readState(ctx.sim).jails].sort((a, b) => a.jid - b.jid)) {
        io.out(` ${sj.name}`);
        writeId(ctx, sj.name, sj.jid);
      }
    } else io.out(tmp.stdout);
    io.out(".\n");
    return;
  }
  for (const raw of names) {
    const jn = raw.replace(/[/.]/g, "_");
    const jv = jailVarName(jn);
    const conf = confFor(ctx, vars, jn, io);
    if (conf === undefined) continue;
    const hostname = vars.get(`jail_${jv}_hostname`) ?? "";
    const jflags = (vars.get(`jail_${jv}_flags`) ?? vars.get("jail_flags") ?? "").split(/\s+/).filter((x) => x !== "");
    const tmp = new BufferIo();
    const code = runJail([...jflags, "-i", "-f", conf, "-c", jn], withCtx(ctx, { io: { out: (t) => tmp.out(t), err: (t) => tmp.out(t) } }));
    if (code === 0) {
      io.out(` ${hostname !== "" ? hostname : jn}`);
      const jid = jailRunning(ctx, jn);
      if (jid !== undefined) writeId(ctx, jn, jid);
    } else {
      io.out(` cannot start jail  "${hostname !== "" ? hostname : jn}": \n`);
      io.out(tmp.stdout);
    }
  }
  io.out(".\n");
}

function jailStop(ctx: Ctx, vars: Map<string, string>, names: string[], io: Io): void {
  if (names.length === 0) return;
  io.out("Stopping jails:");
  if (names[0] === "_ALL") {
    const conf = hostPath(ctx, vars.get("jail_conf") ?? "/etc/jail.conf");
    const flags = (vars.get("jail_flags") ?? "").split(/\s+/).filter((x) => x !== "");
    let list = [...readState(ctx.sim).jails].sort((a, b) => a.jid - b.jid).map((x) => x.name);
    if (isYes(vars.get("jail_reverse_stop")) === true) list = list.reverse();
    for (const jn of list) {
      io.out(` ${jn}`);
      const tmp = new BufferIo();
      runJail([...flags, "-f", conf, "-r", jn], withCtx(ctx, { io: { out: (t) => tmp.out(t), err: (t) => tmp.out(t) } }));
      if (jailRunning(ctx, jn) !== undefined) io.out(tmp.stdout);
      else rmSync(idFile(ctx, jn), { force: true });
    }
    io.out(".\n");
    return;
  }
  const ordered = isYes(vars.get("jail_reverse_stop")) === true ? [...names].reverse() : names;
  for (const raw of ordered) {
    const jn = raw.replace(/[/.]/g, "_");
    const jv = jailVarName(jn);
    const conf = confFor(ctx, vars, jn, io);
    if (conf === undefined) continue;
    if (jailRunning(ctx, jn) === undefined) continue;
    const hostname = vars.get(`jail_${jv}_hostname`) ?? "";
    io.out(` ${hostname !== "" ? hostname : jn}`);
    const tmp = new BufferIo();
    runJail(["-q", "-f", conf, "-r", jn], withCtx(ctx, { io: { out: (t) => tmp.out(t), err: (t) => tmp.out(t) } }));
    if (jailRunning(ctx, jn) !== undefined) io.out(tmp.stdout);
    else rmSync(idFile(ctx, jn), { force: true });
  }
  io.out(".\n");
}

/** runJailScript is /etc/rc.d/jail with its arguments: `start [jail ...]`, `stop`, `restart`, `status`, `config`, `console`. */
function runJailScript(ctx: Ctx, rr: RcRoot, sc: RcScript, argv: readonly string[], io: Io): number {
  const vars = rootVars(rr.root, "jail");
  const [arg0 = "", ...names] = argv;
  let list = names;
  if (argv.length === 1) {
    const jl = (vars.get("jail_list") ?? "").split(/\s+/).filter((x) => x !== "");
    list = jl.length > 0 ? jl : ["_ALL"];
  } else vars.set("jail_reverse_stop", "no");
  let arg = arg0;
  let prefix = "";
  for (const p of ["fast", "force", "one", "quiet"]) {
    if (arg.startsWith(p)) {
      prefix = p;
      arg = arg.slice(p.length);
      break;
    }
  }
  const custom: Record<string, (n: string[]) => void> = {
    start: (n) => jailStart(ctx, vars, n, io),
    stop: (n) => jailStop(ctx, vars, n, io),
    status: () => runJls(["-N"], ctx),
    config: () => undefined,
    console: (n) => {
      const target = n[0];
      if (target === undefined || target === "_ALL") {
        io.err("/etc/rc.d/jail: ERROR: Specify a jail name.\n");
        return;
      }
      const t = findJail(readState(ctx.sim), target);
      if (t === undefined) io.err(`jexec: ${notFoundMessage(target)}\n`);
      else execInJail(ctx, t, n.length > 1 ? n.slice(1) : ["/usr/bin/login", "-f", "root"], cleanEnv(ctx.env), io);
    },
  };
  const fn = custom[arg];
  if (fn === undefined || arg === "restart" || arg === "rcvar" || arg === "enable" || arg === "disable" || arg === "delete" || arg === "enabled" || arg === "describe" || arg === "extracommands") {
    if (arg === "restart") {
      const enabledNow = prefix === "one" || prefix === "force" || isYes(vars.get("jail_enable")) === true;
      if (!enabledNow) {
        io.out(`Cannot 'restart' jail. Set jail_enable to YES in /etc/rc.conf or use 'onerestart' instead of 'restart'.\n`);
        return 0;
      }
      jailStop(ctx, vars, list, io);
      jailStart(ctx, vars, list, io);
      return 0;
    }
    return runRcCommand(rr, sc, [arg0], io);
  }
  const forced = prefix === "one" || prefix === "force";
  if (!forced && isYes(vars.get("jail_enable")) !== true) {
    if (prefix === "quiet" || prefix === "fast") return 0;
    io.out(`Cannot '${arg}' jail. Set jail_enable to YES in /etc/rc.conf or use 'one${arg}' instead of '${arg}'.\n`);
    return 0;
  }
  fn(list);
  return 0;
}
