/**
 * rc scripts and rc.subr(8)'s run_rc_command, simulated: which scripts a root has, whether
 * their daemons run, and start/stop/status/restart with rc.subr's messages and exit codes:
 *   Cannot 'start' nginx. Set nginx_enable to YES in /etc/rc.conf or use 'onestart' instead of 'start'.   (stdout, 0)
 *   nginx already running?  (pid=1234).      (stderr, 1)
 *   nginx not running? (check /var/run/nginx.pid).   (stderr, 1)
 *   nginx is running as pid 1234. / nginx is not running.   (0 / 1)
 * A daemon is a record in the simulator's state (a pid, no process). /etc/rc and
 * /etc/rc.shutdown, as a jail's exec.start and exec.stop run them, start every enabled script
 * and stop every running one.
 *
 * Scripts: the base system's (syslogd, cron, sshd, ntpd; and jail on the host) always exist;
 * any executable file in <root>/etc/rc.d or a $local_startup directory is a script too, its
 * name=, rcvar=, pidfile=, desc= and extra_commands= read from the file. pkg(8) writes such
 * files for the packages it installs.
 */
import { accessSync, constants as fsc, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { under } from "./context.js";
import { faultHits, type Faults } from "./faults.js";
import type { Io } from "./io.js";
import { evalRcConf, isYes, setInText, deleteFromText, hasAssignment, type Vars } from "./rc-conf.js";
import { defaultConfFiles, rcDefaults, readIfExists, rootVars } from "./rc-files.js";
import { readState, withState, type SimState } from "./state.js";

export interface RcScript {
  /** The file name (`milter-opendkim`). */
  readonly script: string;
  /** The directory as the root sees it (`/etc/rc.d`, `/usr/local/etc/rc.d`). */
  readonly dir: string;
  /** $name (`milteropendkim`). */
  readonly name: string;
  readonly rcvar: string | undefined;
  readonly pidfile: string | undefined;
  readonly desc: string | undefined;
  readonly extraCommands: readonly string[];
  /** Default of the rcvar set by the script itself (`: ${nginx_enable:="NO"}`). */
  readonly rcvarDefault: string | undefined;
}

/** Where the scripts act: a root directory and the jid whose processes they start (0: the host). */
export interface RcRoot {
  readonly sim: string;
  readonly root: string;
  readonly jid: number;
  /** The jail's name, for fault scopes; undefined on the host. */
  readonly jailName: string | undefined;
  readonly faults: Faults;
}

const BASE: readonly RcScript[] = [
  { script: "syslogd", dir: "/etc/rc.d", name: "syslogd", rcvar: "syslogd_enable", pidfile: "/var/run/syslog.pid", desc: "System log daemon", extraCommands: ["reload"], rcvarDefault: undefined },
  { script: "ntpd", dir: "/etc/rc.d", name: "ntpd", rcvar: "ntpd_enable", pidfile: "/var/db/ntp/ntpd.pid", desc: "Network Time Protocol daemon", extraCommands: ["fetch", "needfetch"], rcvarDefault: undefined },
  { script: "cron", dir: "/etc/rc.d", name: "cron", rcvar: "cron_enable", pidfile: "/var/run/cron.pid", desc: "Daemon to execute scheduled commands", extraCommands: [], rcvarDefault: undefined },
  { script: "sshd", dir: "/etc/rc.d", name: "sshd", rcvar: "sshd_enable", pidfile: "/var/run/sshd.pid", desc: "Secure Shell Daemon", extraCommands: ["configtest", "keygen", "reload"], rcvarDefault: undefined },
];

/**
 * The host's rc.d/netif, only for `cloneup`: creating the cloned interfaces rc.conf lists now
 * (interfaces are not modelled; the command answers as rc.d/netif does).
 */
export const NETIF_SCRIPT: RcScript = { script: "netif", dir: "/etc/rc.d", name: "netif", rcvar: undefined, pidfile: undefined, desc: "Network interfaces", extraCommands: ["cloneup", "clonedown", "clear", "vnetup", "vnetdown"], rcvarDefault: undefined };

/** The host's rc.d/jail; service.ts runs it (jail_start/jail_stop), not run_rc_command's defaults. */
export const JAIL_SCRIPT: RcScript = { script: "jail", dir: "/etc/rc.d", name: "jail", rcvar: "jail_enable", pidfile: undefined, desc: "Manage system jails", extraCommands: ["config", "console", "status"], rcvarDefault: undefined };

function isExecutable(p: string): boolean {
  try {
    if (!statSync(p).isFile()) return false;
    accessSync(p, fsc.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** parseScript reads name=, rcvar=, pidfile=, desc=, extra_commands= and the rcvar's default from an rc script's text. */
export function parseScript(script: string, dir: string, text: string): RcScript {
  const vars: Vars = new Map();
  evalRcConf(text, vars);
  const name = vars.get("name") ?? script;
  const rcvar = vars.get("rcvar") ?? (/^rcvar=/m.test(text) ? `${name}_enable` : undefined);
  return {
    script,
    dir,
    name,
    rcvar,
    pidfile: vars.get("pidfile"),
    desc: vars.get("desc"),
    extraCommands: (vars.get("extra_commands") ?? "").split(/\s+/).filter((x) => x !== ""),
    rcvarDefault: rcvar === undefined ? undefined : vars.get(rcvar),
  };
}

/** localStartup is $local_startup of the root (default /usr/local/etc/rc.d). */
export function localStartup(root: string): string[] {
  return (rootVars(root).get("local_startup") ?? "").split(/\s+/).filter((x) => x !== "");
}

/** findScript looks `script` up as service(8) does: /etc/rc.d, then each $local_startup directory. */
export function findScript(rr: RcRoot, script: string): RcScript | undefined {
  for (const dir of ["/etc/rc.d", ...localStartup(rr.root)]) {
    const real = under(rr.root, `${dir}/${script}`);
    if (isExecutable(real)) return parseScript(script, dir, readFileSync(real, "utf8"));
    if (dir === "/etc/rc.d") {
      const base = BASE.find((b) => b.script === script);
      if (base !== undefined) return base;
      if (script === "jail" && rr.jid === 0) return JAIL_SCRIPT;
      if (script === "netif" && rr.jid === 0) return NETIF_SCRIPT;
    }
  }
  return undefined;
}

/** listScripts returns every script of the root, in the order /etc/rc would run them (an approximation of rcorder(8)). */
export function listScripts(rr: RcRoot): RcScript[] {
  const names = new Map<string, RcScript>();
  const add = (s: RcScript): void => {
    if (!names.has(`${s.dir}/${s.script}`)) names.set(`${s.dir}/${s.script}`, s);
  };
  for (const b of BASE) add(findScript(rr, b.script) ?? b);
  if (rr.jid === 0) add(JAIL_SCRIPT);
  for (const dir of ["/etc/rc.d", ...localStartup(rr.root)]) {
    const real = under(rr.root, dir);
    if (!existsSync(real)) continue;
    for (const f of readdirSync(real).sort()) {
      if (isExecutable(`${real}/${f}`)) add(parseScript(f, dir, readFileSync(`${real}/${f}`, "utf8")));
    }
  }
  const order = ["syslogd", "ntpd"];
  const rank = (s: RcScript): number => {
    const i = order.indexOf(s.script);
    return i >= 0 && s.dir === "/etc/rc.d" ? i : s.dir === "/etc/rc.d" ? 10 : 20;
  };
  return [...names.values()].sort((a, b) => rank(a) - rank(b) || (a.script < b.script ? -1 : a.script > b.script ? 1 : 0));
}

/** stubScript is the rc script pkg(8) installs for a catalogue service. */
export function stubScript(pkg: string, version: string, spec: { script: string; name?: string; rcvar?: string; pidfile?: string; desc?: string; extraCommands?: readonly string[] }): string {
  const name = spec.name ?? spec.script;
  const rcvar = spec.rcvar ?? `${name}_enable`;
  return [
    "#!/bin/sh",
    `# rc script of ${pkg}-${version}, written by Steward's FreeBSD simulator.`,
    "# The simulator reads the assignments below; it runs nothing.",
    "#",
    `# PROVIDE: ${name}`,
    "# REQUIRE: LOGIN",
    "# KEYWORD: shutdown",
    "",
    ". /etc/rc.subr",
    "",
    `name="${name}"`,
    `rcvar="${rcvar}"`,
    ...(spec.desc === undefined ? [] : [`desc="${spec.desc}"`]),
    `pidfile="${spec.pidfile ?? `/var/run/${name}.pid`}"`,
    ...(spec.extraCommands === undefined || spec.extraCommands.length === 0 ? [] : [`extra_commands="${spec.extraCommands.join(" ")}"`]),
    "",
    "load_rc_config $name",
    `: \${${rcvar}:="NO"}`,
    "",
    'run_rc_command "$1"',
    "",
  ].join("\n");
}

/** runningPid returns the pid of the script's daemon in this root's jail (or on the host). */
export function runningPid(s: SimState, jid: number, script: string): number | undefined {
  return s.processes[String(jid)]?.find((p) => p.script === script)?.pid;
}

function scriptPath(sc: RcScript): string {
  return `${sc.dir}/${sc.script}`;
}

/** checkyesno: the rcvar's value, with rc.subr's warning when it is neither yes nor no. */
function checkyesno(sc: RcScript, vars: Vars, io: Io, forced: boolean): boolean {
  if (sc.rcvar === undefined || forced) return true;
  const v = vars.get(sc.rcvar) ?? sc.rcvarDefault;
  const yes = isYes(v);
  if (yes === undefined) {
    io.err(`${scriptPath(sc)}: WARNING: $${sc.rcvar} is not set properly - see rc.conf(5).\n`);
    return false;
  }
  return yes;
}

export interface RunOptions {
  /** /etc/rc and /etc/rc.shutdown: autoboot, no pid check before the command. */
  readonly autoboot?: boolean;
}

function keywords(sc: RcScript): string[] {
  return ["start", "stop", "restart", "rcvar", "enable", "disable", "delete", "enabled", "describe", "extracommands", ...sc.extraCommands, "status", "poll"];
}

function rcUsage(sc: RcScript, io: Io): number {
  io.err(`Usage: ${scriptPath(sc)} [fast|force|one|quiet](${keywords(sc).join("|")})\n`);
  return 1;
}

/** writeRcVar sets `name=value` in the root's rc.conf files as `sysrc` would; returns the file it changed (as shown). */
export function writeRcVar(root: string, name: string, value: string): string {
  const d = rcDefaults(root);
  const files = defaultConfFiles(root, d);
  const holder = [...files].reverse().find((f) => {
    const t = readIfExists(f.real);
    return t !== undefined && hasAssignment(t, name);
  });
  const target = holder ?? files[0];
  if (target === undefined) return "";
  mkdirSync(dirname(target.real), { recursive: true });
  writeFileSync(target.real, setInText(readIfExists(target.real) ?? "", name, value));
  return target.shown;
}

/**
 * runRcCommand runs `argv` (`start`, `onestop`, `status`, …) for the script, as
 * `/usr/local/etc/rc.d/nginx start` would through rc.subr. Returns the exit status.
 */
export function runRcCommand(rr: RcRoot, sc: RcScript, argv: readonly string[], io: Io, opts: RunOptions = {}): number {
  let arg = argv[0] ?? "";
  let fast = false, force = false, one = false, quiet = false;
  let prefix = "";
  if (arg.startsWith("fast")) {
    arg = arg.slice(4);
    fast = quiet = true;
  } else if (arg.startsWith("force")) {
    arg = arg.slice(5);
    force = true;
    prefix = "force";
  } else if (arg.startsWith("one")) {
    arg = arg.slice(3);
    one = true;
    prefix = "one";
  } else if (arg.startsWith("quiet")) {
    arg = arg.slice(5);
    quiet = true;
    prefix = "quiet";
  }
  const vars = rootVars(rr.root, sc.name);
  const forced = force || one;
  const pid = opts.autoboot === true ? undefined : withStateRead(rr, (s) => runningPid(s, rr.jid, sc.script));
  if (arg === "") return rcUsage(sc, io);
  if (arg === "enabled") return checkyesno(sc, vars, io, forced) ? 0 : 1;
  if (!keywords(sc).includes(arg)) {
    io.err(`${scriptPath(sc)}: unknown directive '${arg}'.\n`);
    return rcUsage(sc, io);
  }
  const exempt = ["rcvar", "stop", "delete", "enable", "describe"];
  if ((sc.rcvar !== undefined && !exempt.includes(arg)) || (sc.rcvar !== undefined && arg === "stop" && pid === undefined)) {
    if (!checkyesno(sc, vars, io, forced)) {
      if (quiet) return 0;
      io.out(`Cannot '${arg}' ${sc.name}. Set ${sc.rcvar} to YES in /etc/rc.conf or use 'one${arg}' instead of '${arg}'.\n`);
      return 0;
    }
  }
  if (arg === "start" && !fast && pid !== undefined) {
    if (!quiet) io.err(`${sc.name} already running?  (pid=${pid}).\n`);
    return 1;
  }
  const notRunning = (): number => {
    io.err(`${sc.name} not running?${sc.pidfile === undefined ? "" : ` (check ${sc.pidfile}).`}\n`);
    return 1;
  };
  switch (arg) {
    case "describe":
      if (sc.desc !== undefined && sc.desc !== "") io.out(`${sc.desc}\n`);
      return 0;
    case "extracommands":
      io.out(`${sc.extraCommands.join(" ")}\n`);
      return 0;
    case "enable":
    case "disable": {
      if (sc.rcvar === undefined) return 0;
      const file = writeRcVar(rr.root, sc.rcvar, arg === "enable" ? "YES" : "NO");
      io.out(`${sc.name} ${arg}d in ${file}\n`);
      return 0;
    }
    case "delete": {
      if (sc.rcvar === undefined) return 0;
      const d = rcDefaults(rr.root);
      const changed: string[] = [];
      for (const f of defaultConfFiles(rr.root, d)) {
        const t = readIfExists(f.real);
        if (t === undefined) continue;
        const n = deleteFromText(t, sc.rcvar);
        if (n !== undefined) {
          writeFileSync(f.real, n);
          changed.push(f.shown);
        }
      }
      io.out(`${sc.rcvar} deleted in ${changed.join(" ")}\n`);
      return 0;
    }
    case "status":
      if (pid !== undefined) {
        io.out(`${sc.name} is running as pid ${pid}.\n`);
        return 0;
      }
      io.out(`${sc.name} is not running.\n`);
      return 1;
    case "start": {
      if (!quiet || isYes(vars.get("rc_startmsgs")) === true) io.out(`Starting ${sc.name}.\n`);
      if (faultHits(rr.faults.serviceStartFail, rr.jailName, sc.script)) {
        io.err(`${scriptPath(sc)}: WARNING: failed to start ${sc.name}\n`);
        return 1;
      }
      withState(rr.sim, (s) => {
        if (rr.jid !== 0 && !s.jails.some((j) => j.jid === rr.jid)) return;
        const list = (s.processes[String(rr.jid)] ??= []);
        if (list.some((p) => p.script === sc.script)) return;
        s.lastPid += 1 + (s.lastPid % 7);
        list.push({ pid: s.lastPid, script: sc.script, started: new Date().toISOString() });
      });
      return 0;
    }
    case "stop": {
      const current = withStateRead(rr, (s) => runningPid(s, rr.jid, sc.script));
      if (current === undefined) return fast ? 0 : notRunning();
      io.out(`Stopping ${sc.name}.\n`);
      if (faultHits(rr.faults.serviceStopFail, rr.jailName, sc.script)) {
        io.err(`kill: ${current}: Operation not permitted\n`);
        return 1;
      }
      withState(rr.sim, (s) => {
        const list = s.processes[String(rr.jid)];
        if (list !== undefined) s.processes[String(rr.jid)] = list.filter((p) => p.script !== sc.script);
      });
      io.out(`Waiting for PIDS: ${current}.\n`);
      return 0;
    }
    case "restart": {
      runRcCommand(rr, sc, [`${prefix}stop`], io, opts);
      const r = runRcCommand(rr, sc, [`${prefix}start`], io, opts);
      return r !== 0 && !force ? 1 : 0;
    }
    case "reload":
      if (pid === undefined) return notRunning();
      return 0;
    case "poll":
      return 0;
    case "rcvar": {
      io.out(`# ${sc.name}${sc.desc !== undefined && sc.desc !== "" ? ` : ${sc.desc}` : ""}\n#\n`);
      if (sc.rcvar !== undefined) {
        io.out(`${sc.rcvar}="${vars.get(sc.rcvar) ?? sc.rcvarDefault ?? ""}"\n#   (default: "")\n`);
      }
      io.out("\n");
      return 0;
    }
    default:
      // extra commands other than reload (configtest, keygen, …) succeed quietly
      return 0;
  }
}

function withStateRead<T>(rr: RcRoot, f: (s: SimState) => T): T {
  return f(readState(rr.sim));
}

/** runEtcRc is `/bin/sh /etc/rc` in a jail: every enabled script is started (rc.subr's faststart). Exit 0, as /etc/rc ends. */
export function runEtcRc(rr: RcRoot, io: Io): number {
  for (const sc of listScripts(rr)) {
    if (sc.script === "jail") continue;
    const vars = rootVars(rr.root, sc.name);
    if (!checkyesno(sc, vars, io, false)) continue;
    runRcCommand(rr, sc, ["faststart"], io, { autoboot: true });
  }
  return 0;
}

/** runEtcRcShutdown is `/bin/sh /etc/rc.shutdown`: every running script is stopped, last started first. */
export function runEtcRcShutdown(rr: RcRoot, io: Io): number {
  for (const sc of listScripts(rr).reverse()) {
    runRcCommand(rr, sc, ["faststop"], io);
  }
  return 0;
}

/** installScripts writes a package's rc scripts into the root (pkg install). */
export function installScripts(root: string, pkg: string, version: string, specs: ReadonlyArray<Parameters<typeof stubScript>[2]>): string[] {
  const files: string[] = [];
  for (const spec of specs) {
    const shown = `/usr/local/etc/rc.d/${spec.script}`;
    const real = under(root, shown);
    mkdirSync(dirname(real), { recursive: true });
    writeFileSync(real, stubScript(pkg, version, spec), { mode: 0o755 });
    files.push(shown);
  }
  return files;
}

export { readIfExists };
