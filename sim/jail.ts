/**
 * jail(8): create, modify and remove jails, from jail.conf(5) or from parameters on the
 * command line (FreeBSD 14's options: -cdf:hiJ:lmn:p:qrRs:u:U:v).
 *
 *   jail [-dhilqv] [-J jid_file] [-u username] [-U username] -[cmr] param=value ... [command=command ...]
 *   jail [-dqv] [-f conf_file] [-p limit] -[cmr] [jail]
 *   jail [-qv] [-f conf_file] -[rR] ['*' | jail ...]
 *   jail [-dhilqv] [-J jid_file] [-u username] [-U username] [-n jailname] [-s securelevel] path hostname ip[,...] command ...
 *
 * What it prints follows jail.c/command.c: `NAME: created`, `NAME: updated`, `NAME: removed`
 * on stdout only for jails named by a configuration file (and `removed` for `-r` only when a
 * configuration file was read or several jails were named); -q silences them, -v adds a line
 * per step, -i prints the new jid alone. Errors go to stderr as `jail: "web" already exists`,
 * `jail: "web" not found`, `jail: web: /bin/sh /etc/rc: failed`. The exit status is 1 when any
 * jail failed, usage errors included.
 *
 * Creation runs, in order: interface aliases (ip4.addr/ip6.addr with `iface|`), mounts
 * (mount, mount.fstab, mount.devfs, mount.fdescfs, mount.procfs), exec.prestart, the kernel's
 * jail_set, exec.created, vnet.interface, exec.start, command, exec.poststart; a failure
 * undoes the steps already done in reverse. Removal: exec.prestop, exec.stop, SIGTERM to what
 * is left, jail_remove, exec.poststop, unmounts, alias removal. exec.start, exec.stop and
 * command run inside the jail (jexec.ts); the other exec.* hooks run on the Linux host with
 * JID, JNAME and JPATH in their environment. Mounts and aliases are recorded in the
 * simulator's state, not made.
 */
import { existsSync, readFileSync, realpathSync, statSync, writeFileSync } from "node:fs";
import { hostname as osHostname } from "node:os";
import { isAbsolute, resolve } from "node:path";
import { hostRoot, under, type Ctx } from "./context.js";
import { faultHits, loadFaults, type Faults } from "./faults.js";
import { bsdGetopt } from "./getopt.js";
import { runHost, withSimPath } from "./hostcmd.js";
import { fileIo, type Io } from "./io.js";
import { equalopts, INTERNAL_PARAMS, internalName, loadJailConf, parseJailConf, resolveJails, wildJailMatch, wildJailName, type ParseResult } from "./jail-conf.js";
import { defaultParams, importParam, inet4, inet6, lookupParam, exportText } from "./jail-params.js";
import { cleanEnv, execInJail, jailRoot } from "./jexec.js";
import { findJail, readState, withState, type SimJail, type SimState } from "./state.js";

const START = 1, SET = 2, STOP = 4;

/** A parameter as jail(8) keeps it: a name and its list of strings (empty for a bare `persist;`). */
interface JParam {
  name: string;
  values: string[];
}

interface Job {
  /** The jail's name in jail(8)'s messages: the config section, or a running jail's name; undefined for a command-line jail. */
  key: string | undefined;
  params: JParam[];
  op: number;
  depend: boolean;
  wild: boolean;
  failed: boolean;
  jid: number;
  /** The jid the jail had before jail_remove, still given to exec.poststop as JID. */
  lastJid: number;
  checked: boolean;
  /** Kernel parameters after import, in order. */
  kernel: Array<{ name: string; raw: string | null; value: string | string[] }>;
  ifaddrs: Array<{ family: "inet" | "inet6"; raw: string }>;
  mounts: Array<{ param: string; line: string }>;
  deps: Job[];
}

interface Run {
  ctx: Ctx;
  io: Io;
  verbose: number;
  iflag: boolean;
  noteRemove: boolean;
  faults: Faults;
  jidFile: string | undefined;
  oldcl: boolean;
  /** Jails seen from here: none inside a jail (the simulator gives jails no children). */
  visible: (s: SimState) => SimJail[];
}

function usage(io: Io): number {
  io.err(
    "usage: jail [-dhilqv] [-J jid_file] [-u username] [-U username]\n" +
      "            -[cmr] param=value ... [command=command ...]\n" +
      "       jail [-dqv] [-f file] -[cmr] [jail]\n" +
      "       jail [-qv] [-f file] -[rR] ['*' | jail ...]\n" +
      "       jail [-dhilqv] [-J jid_file] [-u username] [-U username]\n" +
      "            [-n jailname] [-s securelevel]\n" +
      "            path hostname [ip[,...]] command ...\n",
  );
  return 1;
}

// ------------------------------------------------------------------ parameter access

function findParam(job: Job, name: string): JParam | undefined {
  return job.params.find((p) => equalopts(p.name, name));
}

/** addParam adds or replaces a parameter, as add_param() does for command-line values (they append). */
function addParam(job: Job, name: string, value: string | null): void {
  const p = job.params.find((x) => equalopts(x.name, name));
  if (p !== undefined) {
    p.name = name;
    if (value === null) p.values = [];
    else p.values.push(value);
    return;
  }
  job.params.push({ name, values: value === null ? [] : [value] });
}

/** boolParam is bool_param(): true when set without a value, to true or a non-zero number, inverted by a `no` prefix. */
function boolParam(job: Job, name: string): boolean {
  const p = findParam(job, name);
  if (p === undefined) return false;
  const last = p.name.slice(p.name.lastIndexOf(".") + 1);
  const v = p.values.at(-1);
  const on = v === undefined || v.toLowerCase() === "true" || (Number.parseInt(v, 10) || 0) !== 0;
  return last.startsWith("no") !== on;
}

function stringParam(job: Job, name: string): string | undefined {
  return findParam(job, name)?.values.at(-1);
}

function intParam(job: Job, name: string): number | undefined {
  const v = stringParam(job, name);
  return v === undefined ? undefined : Number.parseInt(v, 10) || 0;
}

// ------------------------------------------------------------------ messages

/** note is jail_note(): `key: text` or just `text`, on stdout. */
function note(run: Run, job: Job, text: string): void {
  run.io.out(job.key !== undefined ? `${job.key}: ${text}` : text);
}

/** warn is jail_warnx(): `jail: key: text` or `jail: text`, on stderr. */
function warn(run: Run, job: Job, text: string): void {
  run.io.err(job.key !== undefined ? `jail: ${job.key}: ${text}\n` : `jail: ${text}\n`);
}

/** quotedWarn is jail_quoted_warnx(): `jail: "name" not found`. */
function quotedWarn(run: Run, job: Job, nameMsg: string, nonameMsg: string): void {
  const name = job.key ?? stringParam(job, "jid") ?? stringParam(job, "name");
  run.io.err(name !== undefined ? `jail: "${name}" ${nameMsg}\n` : `jail: ${nonameMsg}\n`);
}

function fail(job: Job): void {
  job.failed = true;
}

/** quotedPrint quotes a value for -v and jid files as jail(8) does. */
function quotedPrint(s: string): string {
  const qc = s === "" ? '"' : s.includes("'") ? '"' : s.includes('"') ? "'" : /[ \t]/.test(s) ? '"' : "";
  let out = qc;
  for (const c of s) out += c === "\\" || (qc !== "" && c === qc) ? `\\${c}` : c;
  return out + qc;
}

// ------------------------------------------------------------------ checking and importing

/** checkIntparams is check_intparams(): formats of jail(8)'s own booleans and integers, addresses, mount.fstab. */
function checkIntparams(run: Run, job: Job): boolean {
  let ok = true;
  for (const p of job.params) {
    const internal = internalName(p.name);
    if (internal === undefined || p.values.length === 0) continue;
    const kind = INTERNAL_PARAMS[internal];
    const v = p.values.at(-1) ?? "";
    if (kind?.bool === true && !["true", "false"].includes(v.toLowerCase()) && !/^[ \t]*[-+]?[0-9]*$/.test(v)) {
      warn(run, job, `${p.name}: unknown boolean value "${v}"`);
      ok = false;
    } else if (kind?.int === true && !/^[ \t]*[-+]?[0-9]+$/.test(v)) {
      warn(run, job, `${p.name}: non-integer value "${v}"`);
      ok = false;
    }
  }
  const defif = stringParam(job, "interface") !== undefined;
  job.ifaddrs = [];
  for (const [pname, family] of [["ip4.addr", "inet"], ["ip6.addr", "inet6"]] as const) {
    const p = job.params.find((x) => x.name === pname);
    if (p === undefined) continue;
    p.values = p.values.map((v) => {
      let s = v;
      if (s.includes("|") || defif) job.ifaddrs.push({ family, raw: s });
      if (s.includes("|")) s = s.slice(s.indexOf("|") + 1);
      if (s.includes("/")) s = s.slice(0, s.indexOf("/"));
      if (s.includes(" ")) s = s.slice(0, s.indexOf(" "));
      return s;
    });
  }
  job.mounts = [];
  for (const p of job.params) if (equalopts(p.name, "mount") && p.name === "mount") for (const v of p.values) job.mounts.push({ param: "mount", line: v });
  const fstab = job.params.find((p) => p.name === "mount.fstab");
  for (const file of fstab?.values ?? []) {
    if (file === "") continue;
    let text: string;
    try {
      text = readFileSync(resolve(run.ctx.cwd, file), "utf8");
    } catch {
      warn(run, job, `mount.fstab: ${file}: No such file or directory`);
      ok = false;
      continue;
    }
    for (const line of text.split("\n").slice(0, text.endsWith("\n") ? -1 : undefined)) {
      const hash = line.indexOf("#");
      job.mounts.push({ param: "mount.fstab", line: hash >= 0 ? line.slice(0, hash) : line });
    }
  }
  if (!ok) fail(job);
  return ok;
}

/** importParams is import_params(): every kernel parameter through libjail's checks. */
function importParams(run: Run, job: Job): boolean {
  job.kernel = [];
  let ok = true;
  for (const p of job.params) {
    if (internalName(p.name) !== undefined) continue;
    const spec = lookupParam(p.name)?.spec;
    const isArray = spec?.type === "ip4" || spec?.type === "ip6";
    const raw = p.values.length === 0 ? null : isArray ? p.values.join(",") : (p.values.at(-1) ?? "");
    const r = importParam(p.name, raw);
    if (!r.ok) {
      warn(run, job, r.message);
      ok = false;
      continue;
    }
    job.kernel.push({ name: p.name, raw, value: r.value });
  }
  if (!ok) fail(job);
  return ok;
}

function kernelValue(job: Job, name: string): string | string[] | undefined {
  return job.kernel.filter((k) => lookupParam(k.name)?.spec.name === name).at(-1)?.value;
}

// ------------------------------------------------------------------ kernel

function runningJid(run: Run, job: Job): number {
  const s = readState(run.ctx.sim);
  const jid = stringParam(job, "jid");
  if (jid !== undefined) {
    const n = Number.parseInt(jid, 10);
    if (!/^[0-9]+$/.test(jid) || n === 0) return -1;
    return run.visible(s).find((j) => j.jid === n)?.jid ?? -1;
  }
  const name = stringParam(job, "name");
  if (name === undefined) return -1;
  return run.visible(s).find((j) => j.name === name)?.jid ?? -1;
}

function realPath(ctx: Ctx, p: string): string {
  const abs = isAbsolute(p) ? p : resolve(ctx.cwd, p);
  try {
    return realpathSync(abs);
  } catch {
    return abs;
  }
}

/** kernelCreate is jail_set(JAIL_CREATE) on the simulated kernel; returns the jid or the kernel's message. */
function kernelCreate(run: Run, job: Job, tempPersist: boolean): number | string {
  const forced = run.faults.jailCreateFail?.[job.key ?? stringParam(job, "name") ?? ""];
  if (forced !== undefined) return forced;
  if (run.ctx.jid !== 0) return "jail_set: Operation not permitted";
  return withState(run.ctx.sim, (s) => {
    const requested = kernelValue(job, "jid");
    let jid = requested === undefined ? 0 : Number(requested);
    const name = kernelValue(job, "name") as string | undefined;
    if (name !== undefined && /^[0-9]+$/.test(name) && name !== "0") {
      if (jid !== 0 && jid !== Number(name)) return "name cannot be numeric (unless it is the jid)";
      jid = Number(name);
    }
    if (jid !== 0 && s.jails.some((j) => j.jid === jid)) return `jail ${jid} already exists`;
    if (name !== undefined && s.jails.some((j) => j.name === name)) return `jail "${name}" already exists`;
    for (const k of ["enforce_statfs", "devfs_ruleset", "children.max"]) {
      const v = kernelValue(job, k);
      if (v !== undefined && (Number(v) < 0 || (k === "enforce_statfs" && Number(v) > 2))) return "jail_set: Invalid argument";
    }
    for (const fam of ["ip4.addr", "ip6.addr"]) {
      const mine = (kernelValue(job, fam) as string[] | undefined) ?? [];
      for (const other of s.jails) {
        const theirs = (other.params[fam] as string[] | undefined) ?? [];
        if (mine.some((a) => theirs.includes(a)) && (mine.length > 1 || theirs.length > 1)) return "jail_set: Address already in use";
      }
    }
    if (jid === 0) {
      jid = s.lastJid + 1;
      while (s.jails.some((j) => j.jid === jid)) jid++;
      s.lastJid = jid;
    } else if (jid > s.lastJid) s.lastJid = jid;
    s.lastCpuset += 1;
    const params = defaultParams(jid, s.lastCpuset, osHostname());
    for (const k of job.kernel) {
      const spec = lookupParam(k.name)?.spec;
      if (spec !== undefined) params[spec.name] = k.value;
    }
    params.jid = String(jid);
    if (name === undefined) params.name = String(jid);
    const path = kernelValue(job, "path");
    params.path = typeof path === "string" && path !== "" ? realPath(run.ctx, path) : "/";
    if ((params["ip4.addr"] as string[]).length > 0 && kernelValue(job, "ip4") === undefined) params.ip4 = "new";
    if ((params["ip6.addr"] as string[]).length > 0 && kernelValue(job, "ip6") === undefined) params.ip6 = "new";
    if (params.vnet === "new") {
      if (kernelValue(job, "ip4") === undefined && (params["ip4.addr"] as string[]).length === 0) params.ip4 = "inherit";
      if (kernelValue(job, "ip6") === undefined && (params["ip6.addr"] as string[]).length === 0) params.ip6 = "inherit";
    }
    s.jails.push({ jid, name: params.name as string, path: params.path, params, tempPersist, created: new Date().toISOString() });
    return jid;
  });
}

/** rdtunChanged is rdtun_params(): the first create-only parameter the request would change, if any. */
function rdtunChanged(run: Run, job: Job): string | undefined {
  const j = readState(run.ctx.sim).jails.find((x) => x.jid === job.jid);
  if (j === undefined) return undefined;
  for (const k of job.kernel) {
    const spec = lookupParam(k.name)?.spec;
    if (spec === undefined || spec.access !== "rdtun" || spec.name === "jid") continue;
    const want = spec.name === "path" && typeof k.value === "string" ? realPath(run.ctx, k.value) : k.value;
    if (exportText(want) !== exportText(j.params[spec.name])) return k.name;
  }
  return undefined;
}

function kernelUpdate(run: Run, job: Job): string | undefined {
  return withState(run.ctx.sim, (s) => {
    const j = s.jails.find((x) => x.jid === job.jid);
    if (j === undefined) return notFound(job.jid);
    for (const k of job.kernel) {
      const spec = lookupParam(k.name)?.spec;
      if (spec === undefined || spec.access === "rdtun") continue;
      j.params[spec.name] = k.value;
      if (spec.name === "name" && typeof k.value === "string") j.name = k.value;
    }
    return undefined;
  });
}

function notFound(jid: number): string {
  return `jail ${jid} not found`;
}

// ------------------------------------------------------------------ commands

const SH_SPECIAL = /[!"$&'()*;<>?[\\\]`{|}~]/;

/** splitCommand turns an exec.* string into argv as run_command() does: through /bin/sh -c when it has shell syntax, else split on white space. */
function splitCommand(s: string): { argv: string[]; background: boolean } {
  const m = SH_SPECIAL.exec(s);
  if (m !== null && !(m[0] === "&" && m.index === s.length - 1)) return { argv: ["/bin/sh", "-c", s], background: false };
  const text = m !== null ? s.slice(0, m.index) : s;
  return { argv: text.split(/[ \t\f\v\r\n]+/).filter((x) => x !== ""), background: m !== null };
}

function jobEnv(run: Run, job: Job): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(run.ctx.env)) if (v !== undefined) env[k] = v;
  const jid = job.jid > 0 ? job.jid : job.lastJid;
  if (jid > 0) env.JID = String(jid);
  const name = stringParam(job, "name");
  if (name !== undefined) env.JNAME = name;
  const path = stringParam(job, "path");
  if (path !== undefined) env.JPATH = path;
  return env;
}

/**
 * runCommand runs one command line of parameter `param` (exec.start, …) for the job, in the
 * jail when `injail`. Returns false after printing jail(8)'s failure message.
 */
function runCommand(run: Run, job: Job, param: string, argvIn: string[] | string, injail: boolean): boolean {
  const { argv, background } = typeof argvIn === "string" ? splitCommand(argvIn) : { argv: argvIn, background: false };
  if (argv.length === 0) return true;
  const comline = argv.join(" ");
  const user = stringParam(job, injail ? "exec.jail_user" : "exec.system_user");
  if (run.verbose > 0) note(run, job, `run command${injail ? " in jail" : ""}${user !== undefined ? ` as ${user}` : ""}: ${comline}\n`);
  let io = run.io;
  if (injail) {
    const conslog = stringParam(job, "exec.consolelog");
    if (conslog !== undefined) {
      if (!conslog.startsWith("/")) {
        warn(run, job, `exec.consolelog: ${conslog}: not an absolute pathname`);
        return false;
      }
      io = fileIo(conslog);
    }
  }
  const scope = job.key ?? stringParam(job, "name");
  if (faultHits(run.faults.execFail, scope, param)) {
    warn(run, job, `${comline}: failed`);
    return false;
  }
  const env = jobEnv(run, job);
  const timeout = intParam(job, "exec.timeout");
  if (injail) {
    const j = readState(run.ctx.sim).jails.find((x) => x.jid === job.jid);
    if (j === undefined) {
      warn(run, job, `jail_attach: Invalid argument`);
      return false;
    }
    const jenv = boolParam(job, "exec.clean") ? cleanEnv(env) : env;
    const r = execInJail(run.ctx, j, argv, jenv, io);
    if ("notFound" in r) {
      io.err(`jail: ${job.key !== undefined ? `${job.key}: ` : ""}exec ${r.notFound}: No such file or directory\n`);
      warn(run, job, `${comline}: failed`);
      return false;
    }
    if (r.status !== 0 && !background) {
      warn(run, job, `${comline}: failed`);
      return false;
    }
    return true;
  }
  const r = runHost(argv, io, { env: withSimPath(env), cwd: run.ctx.cwd, ...(timeout !== undefined && timeout > 0 ? { timeoutMs: timeout * 1000 } : {}) });
  if (background) return true;
  if (r.execError !== undefined) {
    io.err(`jail: ${job.key !== undefined ? `${job.key}: ` : ""}exec ${argv[0]}: ${r.execError}\n`);
    warn(run, job, `${comline}: failed`);
    return false;
  }
  if (r.timedOut) {
    warn(run, job, `${comline}: timed out`);
    return false;
  }
  if (r.signal !== undefined) {
    warn(run, job, `${comline}: exited on signal ${r.signal}`);
    return false;
  }
  if (r.status !== 0) {
    warn(run, job, `${comline}: failed`);
    return false;
  }
  return true;
}

/** runParamCommands runs every value of an exec.* parameter, in order (reversed when `reverse`). */
function runParamCommands(run: Run, job: Job, param: string, injail: boolean, reverse = false): boolean {
  const p = job.params.find((x) => x.name === param);
  if (p === undefined) return true;
  const values = reverse ? [...p.values].reverse() : p.values;
  for (const v of values) {
    if (v === "") continue;
    if (!runCommand(run, job, param, v, injail)) return false;
  }
  return true;
}

/** checkPath is check_path(): an absolute path whose components below the jail's path exist and are not symbolic links. */
function checkPath(run: Run, job: Job, pname: string, path: string, isFile: boolean): boolean {
  if (!path.startsWith("/")) {
    warn(run, job, `${pname}: ${path}: not an absolute pathname`);
    return false;
  }
  const jailpath = stringParam(job, "path") ?? "";
  if (path.startsWith(`${jailpath}/`)) {
    const parts = path.slice(jailpath.length).split("/").filter((x) => x !== "");
    let cur = jailpath;
    for (const [i, part] of parts.entries()) {
      cur = `${cur}/${part}`;
      let st;
      try {
        st = statSync(cur, { throwIfNoEntry: false });
      } catch {
        st = undefined;
      }
      if (st === undefined) {
        if (isFile && i === parts.length - 1) break;
        warn(run, job, `${pname}: ${cur}: No such file or directory`);
        return false;
      }
    }
  }
  return true;
}

interface MountReq {
  param: string;
  fstype: string;
  special: string;
  node: string;
  comline: string;
}

function mountRequests(run: Run, job: Job, down: boolean): MountReq[] | undefined {
  const out: MountReq[] = [];
  const path = stringParam(job, "path");
  for (const m of job.mounts) {
    const f = m.line.split(/[ \t\f\v\r\n]+/).filter((x) => x !== "").slice(0, 4);
    if (f.length === 0) continue;
    if (f.length < 3) {
      warn(run, job, `${m.param}: ${m.line}: missing information`);
      return undefined;
    }
    const [special = "", node = "", fstype = "", opts] = f;
    out.push({
      param: m.param,
      fstype,
      special,
      node,
      comline: down ? `/sbin/umount ${node}` : `/sbin/mount -t ${fstype}${opts !== undefined ? ` -o ${opts}` : ""} ${special} ${node}`,
    });
  }
  for (const [param, fstype, sub] of [["mount.devfs", "devfs", "/dev"], ["mount.fdescfs", "fdescfs", "/dev/fd"], ["mount.procfs", "procfs", "/proc"]] as const) {
    if (!boolParam(job, param)) continue;
    if (path === undefined) {
      warn(run, job, `${param}: no jail root path defined`);
      return undefined;
    }
    const node = `${path}${sub}`;
    const ruleset = stringParam(job, "devfs_ruleset") ?? "4";
    out.push({
      param,
      fstype,
      special: fstype === "devfs" ? "." : ".",
      node,
      comline: down ? `/sbin/umount ${node}` : fstype === "devfs" ? `/sbin/mount -t devfs -oruleset=${ruleset} . ${node}` : `/sbin/mount -t ${fstype} . ${node}`,
    });
  }
  return out;
}

function realNode(run: Run, node: string): string {
  // A jail whose path is "/" shares the simulated host's root.
  return node.startsWith("/") ? node : resolve(run.ctx.cwd, node);
}

function doMount(run: Run, job: Job, m: MountReq): boolean {
  if (!checkPath(run, job, m.param, m.node, false)) return false;
  if (run.verbose > 0) note(run, job, `run command: ${m.comline}\n`);
  const node = realNode(run, m.node);
  let st;
  try {
    st = statSync(node, { throwIfNoEntry: false });
  } catch {
    st = undefined;
  }
  if (st === undefined || !st.isDirectory()) {
    run.io.err(`mount: ${m.node}: ${st === undefined ? "No such file or directory" : "Not a directory"}\n`);
    warn(run, job, `${m.comline}: failed`);
    return false;
  }
  withState(run.ctx.sim, (s) => {
    s.mounts.push({ fstype: m.fstype, special: m.special, node });
  });
  return true;
}

function doUnmount(run: Run, job: Job, m: MountReq): boolean {
  const node = realNode(run, m.node);
  const found = readState(run.ctx.sim).mounts.some((x) => x.node === node);
  if (!found) {
    warn(run, job, `${m.param}: ${m.node}: not a mount point`);
    return false;
  }
  if (run.verbose > 0) note(run, job, `run command: ${m.comline}\n`);
  withState(run.ctx.sim, (s) => {
    const i = s.mounts.map((x) => x.node).lastIndexOf(node);
    if (i >= 0) s.mounts.splice(i, 1);
  });
  return true;
}

function ifconfigLine(job: Job, a: { family: "inet" | "inet6"; raw: string }, down: boolean): { iface: string; addr: string; comline: string } {
  let v = a.raw;
  let extra = "";
  const sp = v.indexOf(" ");
  if (sp >= 0 && v.length > sp + 1) {
    extra = v.slice(sp + 1);
    v = v.slice(0, sp);
  }
  let iface = stringParam(job, "interface") ?? "";
  if (v.includes("|")) {
    iface = v.slice(0, v.indexOf("|"));
    v = v.slice(v.indexOf("|") + 1);
  }
  const slash = v.indexOf("/");
  const addr = slash >= 0 ? v.slice(0, slash) : v;
  let args: string;
  if (a.family === "inet") {
    if (slash < 0) args = `${addr} netmask 255.255.255.255`;
    else if (v.slice(slash + 1).includes(".")) args = `${addr} netmask ${v.slice(slash + 1)}`;
    else args = v;
  } else {
    args = slash < 0 ? `${addr} prefixlen 128` : v;
  }
  const opts = !down && extra !== "" ? ` ${extra.split(" ").filter((x) => x !== "").join(" ")}` : "";
  return { iface, addr, comline: `/sbin/ifconfig ${iface} ${a.family} ${args}${opts} ${down ? "-alias" : "alias"}` };
}

function doAlias(run: Run, job: Job, family: "inet" | "inet6", down: boolean): boolean {
  const list = job.ifaddrs.filter((a) => a.family === family);
  for (const a of down ? [...list].reverse() : list) {
    const l = ifconfigLine(job, a, down);
    if (run.verbose > 0) note(run, job, `run command: ${l.comline}\n`);
    const addr = family === "inet" ? inet4(l.addr) : inet6(l.addr);
    if (!down && (l.iface === "" || addr === undefined)) {
      run.io.err(l.iface === "" ? "ifconfig: interface  does not exist\n" : `ifconfig: ${l.addr}: bad value\n`);
      warn(run, job, `${l.comline}: failed`);
      return false;
    }
    withState(run.ctx.sim, (s) => {
      if (down) s.ifaddrs = s.ifaddrs.filter((x) => !(x.iface === l.iface && x.addr === addr));
      else s.ifaddrs.push({ iface: l.iface, family, addr: addr ?? l.addr, jid: job.jid });
    });
  }
  return true;
}

// ------------------------------------------------------------------ create and remove

type Step = { name: string; up: () => boolean; down?: () => boolean };

/** createJail runs the start commands; on a failure it undoes what was done, in reverse. */
function createJail(run: Run, job: Job): boolean {
  const path = stringParam(job, "path");
  const persist = boolParam(job, "persist");
  const commandParam = job.params.find((p) => p.name === "command");
  const dopersist = !persist && (findParam(job, "exec.start") !== undefined || commandParam !== undefined || findParam(job, "exec.poststart") !== undefined);
  let tempPersist = false;
  const mounts = mountRequests(run, job, false);
  if (mounts === undefined) {
    fail(job);
    return false;
  }
  const steps: Step[] = [
    { name: "ip4", up: () => doAlias(run, job, "inet", false), down: () => doAlias(run, job, "inet", true) },
    { name: "ip6", up: () => doAlias(run, job, "inet6", false), down: () => doAlias(run, job, "inet6", true) },
    ...mounts.map((m) => ({ name: m.param, up: () => doMount(run, job, m), down: () => doUnmount(run, job, m) })),
    { name: "exec.prestart", up: () => runParamCommands(run, job, "exec.prestart", false) },
    {
      name: "create",
      up: () => {
        if (path !== undefined) {
          if (job.key !== undefined && !path.startsWith("/")) {
            warn(run, job, `path ${path}: not an absolute pathname`);
            return false;
          }
          const real = path === "/" ? hostRoot(run.ctx.sim) : resolve(run.ctx.cwd, path);
          let st;
          try {
            st = statSync(real, { throwIfNoEntry: false });
          } catch {
            st = undefined;
          }
          if (st === undefined) {
            warn(run, job, `path ${path}: No such file or directory`);
            return false;
          }
          if (!st.isDirectory()) {
            warn(run, job, `path ${path}: Not a directory`);
            return false;
          }
        }
        if (run.verbose > 0) {
          const shown = [...(dopersist ? ["persist"] : []), ...job.kernel.filter((k) => !(dopersist && equalopts(k.name, "persist"))).map((k) => (k.raw === null ? k.name : `${k.name}=${quotedPrint(k.raw)}`))];
          note(run, job, `jail_set(JAIL_CREATE) ${shown.join(" ")}\n`);
        }
        const r = kernelCreate(run, job, dopersist);
        if (typeof r === "string") {
          warn(run, job, r);
          return false;
        }
        job.jid = r;
        tempPersist = dopersist;
        if (run.iflag) run.io.out(`${r}\n`);
        if (run.verbose >= 0 && (job.key !== undefined || run.verbose > 0)) note(run, job, "created\n");
        return true;
      },
      down: () => {
        removeFromKernel(run, job, false);
        return true;
      },
    },
    { name: "exec.created", up: () => runParamCommands(run, job, "exec.created", false) },
    {
      name: "vnet.interface",
      up: () => {
        for (const iface of findParam(job, "vnet.interface")?.values ?? []) {
          const comline = `/sbin/ifconfig ${iface} vnet ${stringParam(job, "jid") ?? stringParam(job, "name") ?? job.jid}`;
          if (run.verbose > 0) note(run, job, `run command: ${comline}\n`);
          withState(run.ctx.sim, (s) => {
            s.vnetIfaces = s.vnetIfaces.filter((x) => x.iface !== iface);
            s.vnetIfaces.push({ iface, jid: job.jid });
          });
        }
        return true;
      },
      down: () => {
        withState(run.ctx.sim, (s) => {
          s.vnetIfaces = s.vnetIfaces.filter((x) => x.jid !== job.jid);
        });
        return true;
      },
    },
    { name: "exec.start", up: () => runParamCommands(run, job, "exec.start", true) },
    {
      name: "command",
      up: () => {
        if (commandParam === undefined) return true;
        if (job.key === undefined) return runCommand(run, job, "command", commandParam.values, true);
        return runParamCommands(run, job, "command", true);
      },
    },
    { name: "exec.poststart", up: () => runParamCommands(run, job, "exec.poststart", false) },
  ];
  const done: Step[] = [];
  for (const step of steps) {
    if (!step.up()) {
      fail(job);
      for (const d of done.reverse()) d.down?.();
      return false;
    }
    done.push(step);
  }
  if (tempPersist) {
    withState(run.ctx.sim, (s) => {
      const j = s.jails.find((x) => x.jid === job.jid);
      if (j !== undefined) j.tempPersist = false;
    });
    if (run.verbose > 0) note(run, job, `jail_set(JAIL_UPDATE) jid=${job.jid} nopersist\n`);
  }
  if (run.jidFile !== undefined) writeJidFile(run, job);
  return true;
}

/** removeFromKernel is the jail_remove() step: the jail and everything running in it go. */
function removeFromKernel(run: Run, job: Job, stopping: boolean): void {
  withState(run.ctx.sim, (s) => {
    s.jails = s.jails.filter((j) => j.jid !== job.jid);
    delete s.processes[String(job.jid)];
    s.vnetIfaces = s.vnetIfaces.filter((x) => x.jid !== job.jid);
  });
  if (run.verbose > 0 || (run.verbose === 0 && (stopping ? run.noteRemove : job.key !== undefined))) note(run, job, "removed\n");
  job.lastJid = job.jid;
  job.jid = -1;
}

/** removeJail runs the stop commands; a failing exec.prestop or exec.stop leaves the jail running. */
function removeJail(run: Run, job: Job): boolean {
  if (!runParamCommands(run, job, "exec.prestop", false) || !runParamCommands(run, job, "exec.stop", true)) {
    fail(job);
    return false;
  }
  const timeout = intParam(job, "stop.timeout");
  if (timeout !== 0) {
    const pids = readState(run.ctx.sim).processes[String(job.jid)]?.map((p) => p.pid) ?? [];
    if (pids.length > 0 && run.verbose > 0) note(run, job, `sent SIGTERM to: ${pids.join(" ")}\n`);
  }
  removeFromKernel(run, job, true);
  let ok = runParamCommands(run, job, "exec.poststop", false);
  const mounts = mountRequests(run, job, true);
  if (mounts === undefined) ok = false;
  else for (const m of [...mounts].reverse()) if (!doUnmount(run, job, m)) ok = false;
  if (!doAlias(run, job, "inet6", true)) ok = false;
  if (!doAlias(run, job, "inet", true)) ok = false;
  if (!ok) fail(job);
  return ok;
}

function writeJidFile(run: Run, job: Job): void {
  if (run.jidFile === undefined) return;
  let line: string;
  if (run.oldcl) {
    const ip = [...(findParam(job, "ip4.addr")?.values ?? []), ...(findParam(job, "ip6.addr")?.values ?? [])].map(quotedPrint).join(",");
    line = `${job.jid}\t${(findParam(job, "path")?.values ?? []).map(quotedPrint).join(",")}\t${(findParam(job, "host.hostname")?.values ?? []).map(quotedPrint).join(",")}\t${ip}\t${(findParam(job, "command")?.values ?? []).map(quotedPrint).join(" ")}`;
  } else {
    line = `jid=${job.jid}${job.params
      .filter((p) => p.name !== "jid")
      .map((p) => ` ${p.name}${p.values.length === 0 ? "" : `=${p.values.map(quotedPrint).join(",")}`}`)
      .join("")}`;
  }
  writeFileSync(resolve(run.ctx.cwd, run.jidFile), `${line}\n`, { flag: "a" });
}

// ------------------------------------------------------------------ the main loop

function prepare(run: Run, job: Job): boolean {
  if (job.checked) return !job.failed;
  job.checked = true;
  if (job.failed) return false;
  if (!checkIntparams(run, job)) return false;
  if ((job.op & (START | SET)) !== 0 && !importParams(run, job)) return false;
  return true;
}

/** startJob performs a create/modify (or the start half of a restart) on one job, dependencies first. */
function processJob(run: Run, job: Job, done: Set<Job>): void {
  if (done.has(job)) return;
  done.add(job);
  const stopping = (job.op & STOP) !== 0;
  if (!stopping) {
    for (const d of job.deps) {
      if (!done.has(d)) {
        d.depend = true;
        d.op = (job.op & START) !== 0 ? START : SET;
        processJob(run, d, done);
      }
      if (d.failed && !job.failed) {
        if (!job.depend && run.verbose >= 0) warn(run, job, "skipped");
        fail(job);
      }
    }
  }
  if (job.failed && !job.checked) return;
  if (!prepare(run, job)) return;
  if (job.jid === 0 || job.jid === -1) job.jid = runningJid(run, job);
  let op = job.op;
  if (op === (START | SET)) op = job.jid < 0 ? START : SET;
  else if (op === (SET | STOP)) {
    if (job.jid < 0) {
      quotedWarn(run, job, "not found", "no jail specified");
      fail(job);
      return;
    }
    op = rdtunChanged(run, job) !== undefined ? START | STOP : SET;
  } else if (op === (START | SET | STOP)) {
    op = job.jid < 0 ? START : rdtunChanged(run, job) !== undefined ? START | STOP : SET;
  }
  if (op === START) {
    if (job.jid > 0) {
      if (!job.depend && !job.wild) {
        quotedWarn(run, job, "already exists", "");
        fail(job);
      }
      return;
    }
    createJail(run, job);
    return;
  }
  if (op === SET) {
    if (job.jid < 0) {
      if (!job.depend) {
        quotedWarn(run, job, "not found", "no jail specified");
        fail(job);
      }
      return;
    }
    if (job.depend) return;
    const changed = rdtunChanged(run, job);
    if (changed !== undefined) {
      warn(run, job, `${changed} cannot be changed after creation`);
      fail(job);
      return;
    }
    if (run.verbose > 0) {
      note(run, job, `jail_set(JAIL_UPDATE) jid=${job.jid}${job.kernel.filter((k) => lookupParam(k.name)?.spec.access !== "rdtun").map((k) => ` ${k.raw === null ? k.name : `${k.name}=${quotedPrint(k.raw)}`}`).join("")}\n`);
    }
    const err = kernelUpdate(run, job);
    if (err !== undefined) {
      warn(run, job, err);
      fail(job);
      return;
    }
    if (run.verbose >= 0 && (job.key !== undefined || run.verbose > 0)) note(run, job, "updated\n");
    return;
  }
  // STOP or RESTART
  if (job.jid < 0) {
    if (!job.depend && !job.wild) {
      if (run.verbose >= 0) quotedWarn(run, job, "not found", "");
      fail(job);
    }
    return;
  }
  if (!removeJail(run, job)) return;
  if ((op & START) !== 0 && !job.failed) {
    if ((job.op & (START | SET)) !== 0 && job.kernel.length === 0) importParams(run, job);
    if (!job.failed) createJail(run, job);
  }
}

/** stopOrder stops the jails that depend on a stopping jail first (dep_check with the edges reversed). */
function stopJob(run: Run, job: Job, all: Job[], done: Set<Job>): void {
  if (done.has(job)) return;
  for (const other of all) {
    if (other !== job && other.deps.includes(job) && !done.has(other)) {
      if (other.jid <= 0) other.jid = runningJid(run, other);
      if (other.jid > 0) {
        other.depend = true;
        other.op = STOP;
        stopJob(run, other, all, done);
      }
    }
  }
  processJob(run, job, done);
}

function newJob(key: string | undefined, params: JParam[]): Job {
  return { key, params, op: 0, depend: false, wild: false, failed: false, jid: -1, lastJid: -1, checked: false, kernel: [], ifaddrs: [], mounts: [], deps: [] };
}

function readStdin(): string {
  try {
    return readFileSync(0, "utf8");
  } catch {
    return "";
  }
}

/** runJail is jail(8). */
export function runJail(argv: readonly string[], ctx: Ctx): number {
  const io = ctx.io;
  const g = bsdGetopt("jail", argv, "cdf:hiJ:lmn:p:qrRs:u:U:v");
  if (!g.ok) {
    io.err(g.message);
    return usage(io);
  }
  let op = 0;
  let dflag = false, Rflag = false, docf = true, iflag = false;
  let cfname: string | undefined;
  let jidFile: string | undefined;
  let verbose = 0;
  const cli = newJob(undefined, []);
  for (const o of g.value.options) {
    switch (o.flag) {
      case "c":
        op |= START;
        break;
      case "d":
        dflag = true;
        break;
      case "f":
        cfname = o.arg;
        break;
      case "h":
        addParam(cli, "ip_hostname", null);
        docf = false;
        break;
      case "i":
        iflag = true;
        verbose = -1;
        break;
      case "J":
        jidFile = o.arg;
        break;
      case "l":
        addParam(cli, "exec.clean", null);
        docf = false;
        break;
      case "m":
        op |= SET;
        break;
      case "n":
        addParam(cli, "name", o.arg ?? "");
        docf = false;
        break;
      case "p":
        break;
      case "q":
        verbose = -1;
        break;
      case "r":
        op |= STOP;
        break;
      case "R":
        op |= STOP;
        Rflag = true;
        break;
      case "s":
        addParam(cli, "securelevel", o.arg ?? "");
        docf = false;
        break;
      case "u":
        addParam(cli, "exec.jail_user", o.arg ?? "");
        addParam(cli, "exec.system_jail_user", null);
        docf = false;
        break;
      case "U":
        addParam(cli, "exec.jail_user", o.arg ?? "");
        addParam(cli, "exec.system_jail_user", "false");
        docf = false;
        break;
      case "v":
        verbose = 1;
        break;
    }
  }
  if (dflag) addParam(cli, "allow.dying", null);
  const rest = g.value.rest;
  const defaultConf = cfname === undefined;
  const shownConf = cfname ?? "/etc/jail.conf";
  const realConf = cfname === undefined ? under(hostRoot(ctx.sim), "/etc/jail.conf") : cfname === "-" ? "-" : resolve(ctx.cwd, cfname);
  const run: Run = {
    ctx,
    io,
    verbose,
    iflag,
    noteRemove: false,
    faults: loadFaults(ctx.sim, ctx.env),
    jidFile,
    oldcl: false,
    visible: (s) => (ctx.jid === 0 ? s.jails : []),
  };

  let jobs: Job[] = [];
  let loaded = false;
  const loadConfig = (): number | undefined => {
    let parsed: ParseResult;
    if (realConf === "-") parsed = parseJailConf(readStdin(), "STDIN");
    else {
      parsed = loadJailConf(realConf, shownConf, (p) => (defaultConf && p.startsWith("/") ? under(hostRoot(ctx.sim), p) : p));
    }
    if (!parsed.ok) {
      for (const e of parsed.errors) io.err(`jail: ${e}\n`);
      return 1;
    }
    for (const rj of resolveJails(parsed.jails)) {
      const job = newJob(rj.key, rj.params.map((p) => ({ name: p.name, values: [...p.values] })));
      for (const e of rj.errors) io.err(`jail: ${rj.key}: ${e}\n`);
      if (rj.errors.length > 0) job.failed = true;
      jobs.push(job);
    }
    loaded = true;
    return undefined;
  };

  if (op === 0) {
    // Old-style command line: path hostname ip[,...] command ...
    if (rest.length < 4 || !(rest[0] ?? "").startsWith("/")) return usage(io);
    op = START;
    docf = false;
    run.oldcl = true;
    addParam(cli, "path", rest[0] ?? "");
    addParam(cli, "host.hostname", rest[1] ?? "");
    if ((rest[2] ?? "") !== "") for (const a of (rest[2] ?? "").split(",")) addParam(cli, inet6(a) !== undefined ? "ip6.addr" : "ip4.addr", a);
    for (const c of rest.slice(3)) addParam(cli, "command", c);
    jobs = [cli];
  } else if (op === STOP) {
    if (!docf || rest.length === 0) return usage(io);
    if (!Rflag && rest.some((a) => a.includes("="))) return usage(io);
    docf = !Rflag && (realConf === "-" || existsSync(realConf));
    if (docf) {
      const r = loadConfig();
      if (r !== undefined) return r;
    }
    run.noteRemove = docf || rest.length > 1 || wildJailName(rest[0] ?? "");
  } else if (rest.length > 1 || (rest.length === 1 && (rest[0] ?? "").includes("="))) {
    if (Rflag) return usage(io);
    docf = false;
    for (let i = 0; i < rest.length; i++) {
      const a = rest[i] ?? "";
      if (a === "command" || a.startsWith("command=")) {
        if (a.startsWith("command=")) addParam(cli, "command", a.slice(8));
        for (i++; i < rest.length; i++) addParam(cli, "command", rest[i] ?? "");
      } else if (a.startsWith("ip4.addr=") || a.startsWith("ip6.addr=")) {
        for (const x of a.slice(9).split(",")) addParam(cli, a.slice(0, 8), x);
      } else if (a.includes("=")) addParam(cli, a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1));
      else addParam(cli, a, null);
    }
    jobs = [cli];
  } else {
    if (Rflag || !docf) return usage(io);
    const r = loadConfig();
    if (r !== undefined) return r;
  }

  // Dependencies among the configuration's jails (dep_setup).
  if (loaded) {
    for (const job of jobs) {
      if (job.failed) continue;
      for (const d of job.params.find((p) => p.name === "depend")?.values ?? []) {
        const dj = jobs.find((x) => x.key === d);
        if (dj === undefined) {
          warn(run, job, `depends on undefined jail "${d}"`);
          job.failed = true;
        } else job.deps.push(dj);
      }
    }
  } else if (jobs[0] !== undefined) {
    for (const d of jobs[0].params.find((p) => p.name === "depend")?.values ?? []) {
      if (findJail(readState(ctx.sim), d) === undefined) {
        io.err(`jail: depends on nonexistent jail "${d}"\n`);
        jobs[0].failed = true;
      }
    }
  }

  let error = false;
  const targets: Job[] = [];
  const running = (key: string): Job | undefined => {
    const s = readState(ctx.sim);
    const j = run.visible(s).find((x) => (/^[0-9]+$/.test(key) && Number(key) !== 0 ? x.jid === Number(key) : x.name === key));
    if (j === undefined) return undefined;
    const fromConf = jobs.find((x) => x.key === j.name);
    if (fromConf !== undefined) {
      fromConf.jid = j.jid;
      return fromConf;
    }
    const job = newJob(j.name, [{ name: "name", values: [j.name] }]);
    job.jid = j.jid;
    jobs.push(job);
    return job;
  };
  if (op === STOP) {
    for (const target of rest) {
      if (docf && !Rflag && target === "*") {
        for (const j of jobs) {
          j.op = STOP;
          j.wild = true;
          targets.push(j);
        }
      } else if (wildJailName(target)) {
        if (Rflag || !docf) {
          for (const sj of run.visible(readState(ctx.sim))) {
            if (!wildJailMatch(sj.name, target)) continue;
            const job = newJob(sj.name, [{ name: "name", values: [sj.name] }]);
            job.jid = sj.jid;
            job.op = STOP;
            job.wild = true;
            jobs.push(job);
            targets.push(job);
          }
        } else {
          for (const j of jobs.filter((x) => wildJailMatch(x.key ?? "", target))) {
            j.op = STOP;
            j.wild = true;
            targets.push(j);
          }
        }
      } else {
        const job = (docf ? jobs.find((x) => x.key === target) : undefined) ?? running(target);
        if (job === undefined) {
          io.err(`jail: "${target}" not found\n`);
          error = true;
          continue;
        }
        job.op = STOP;
        targets.push(job);
      }
    }
  } else {
    const target = rest[0];
    if (target === undefined || !docf || target === "*") {
      for (const j of jobs) {
        j.op = op;
        if (docf) j.wild = true;
        targets.push(j);
      }
    } else if (wildJailName(target)) {
      for (const j of jobs.filter((x) => wildJailMatch(x.key ?? "", target))) {
        j.op = op;
        j.wild = true;
        targets.push(j);
      }
    } else {
      const j = jobs.find((x) => x.key === target);
      if (j === undefined) {
        io.err(`jail: "${target}" not found\n`);
        return 1;
      }
      j.op = op;
      targets.push(j);
    }
  }

  const done = new Set<Job>();
  for (const job of targets) {
    if ((job.op & STOP) !== 0 && (job.op & START) === 0) stopJob(run, job, jobs, done);
    else processJob(run, job, done);
  }
  for (const job of done) if (job.failed) error = true;
  for (const job of targets) if (job.failed) error = true;
  return error ? 1 : 0;
}
