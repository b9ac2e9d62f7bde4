/**
 * The rc.conf files of one root (the host's or a jail's): which files exist, what they set.
 * A root without /etc/defaults/rc.conf uses the simulator's defaults (rc-conf.ts).
 */
import { existsSync, readFileSync } from "node:fs";
import { under } from "./context.js";
import { DEFAULT_RC_CONF, evalRcConf, type Vars } from "./rc-conf.js";

/** A file as its tool names it (`/etc/rc.conf`) and where it really is. */
export interface ConfFile {
  readonly shown: string;
  readonly real: string;
}

export interface Defaults extends ConfFile {
  readonly text: string;
}

/** rcDefaults is the root's /etc/defaults/rc.conf, or `override` (sysrc's RC_DEFAULTS, a real path). */
export function rcDefaults(root: string, override?: string): Defaults {
  if (override !== undefined && override !== "") {
    return { shown: override, real: override, text: existsSync(override) ? readFileSync(override, "utf8") : "" };
  }
  const real = under(root, "/etc/defaults/rc.conf");
  return { shown: "/etc/defaults/rc.conf", real, text: existsSync(real) ? readFileSync(real, "utf8") : DEFAULT_RC_CONF };
}

export function readIfExists(real: string): string | undefined {
  try {
    return readFileSync(real, "utf8");
  } catch {
    return undefined;
  }
}

/** defaultConfFiles is rc_conf_files (as the defaults and the files themselves set it), mapped under `root`. */
export function defaultConfFiles(root: string, defaults: Defaults): ConfFile[] {
  const vars: Vars = new Map();
  evalRcConf(defaults.text, vars);
  const list = (vars.get("rc_conf_files") ?? "").split(/\s+/).filter((x) => x !== "");
  return list.map((shown) => ({ shown, real: under(root, shown) }));
}

/** loadVars sources the defaults, then each existing file, as load_rc_config does. */
export function loadVars(defaults: Defaults, files: readonly ConfFile[]): Vars {
  const vars: Vars = new Map();
  evalRcConf(defaults.text, vars);
  for (const f of files) {
    const t = readIfExists(f.real);
    if (t !== undefined) evalRcConf(t, vars);
  }
  return vars;
}

/** rootVars is everything the root's rc.conf files set, plus /etc/rc.conf.d/NAME and $local_startup/../rc.conf.d/NAME for `service`. */
export function rootVars(root: string, service?: string): Vars {
  const d = rcDefaults(root);
  const files = defaultConfFiles(root, d);
  const vars = loadVars(d, files);
  if (service !== undefined) {
    const dirs = ["/etc", ...(vars.get("local_startup") ?? "").split(/\s+/).filter((x) => x !== "").map((x) => x.replace(/\/rc\.d$/, ""))];
    for (const dir of dirs) {
      const t = readIfExists(under(root, `${dir}/rc.conf.d/${service}`));
      if (t !== undefined) evalRcConf(t, vars);
    }
  }
  return vars;
}

export { existsSync };
