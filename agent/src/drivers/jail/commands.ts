/**
 * The exact command lines of the jail driver (jail(8), jls(8), jexec(8), pkg(8), sysrc(8),
 * service(8); docs/jails.md), as argument vectors. Pure: builds arrays, runs nothing. Every name
 * in them (jail, package, service, variable) was validated by the manifest's schema.
 */
import type { Argv } from "../../exec.js";

/** How long one package transaction may take: fetching and installing takes minutes on a Pi. */
export const PKG_TIMEOUT_MS = 20 * 60_000;
/** How long creating or removing a jail may take (its rc scripts run inside). */
export const JAIL_TIMEOUT_MS = 5 * 60_000;

/**
 * jlsArgv is the one observe call for running jails: explicit parameters, so every value is a
 * string and `ip4.addr` a list (jls(8) with libxo). Never `-n`, never an empty-valued parameter.
 */
export function jlsArgv(): Argv {
  return ["jls", "--libxo", "json", "jid", "name", "path", "host.hostname", "ip4.addr"];
}

/** pkgQueryArgv lists a running jail's installed packages by name, one per line. */
export function pkgQueryArgv(jail: string): Argv {
  return ["pkg", "-j", jail, "query", "-a", "%n"];
}

/** hostRcArgv reads the host's jail variables; `-i` ignores the unset ones (sysrc(8)). */
export function hostRcArgv(): Argv {
  return ["sysrc", "-i", "jail_enable", "jail_list", "cloned_interfaces"];
}

/** startArgv creates a jail from its own conf file: always the file and the name (jail(8)). */
export function startArgv(confPath: string, jail: string): Argv {
  return ["jail", "-f", confPath, "-c", jail];
}

/** recreateArgv removes and creates a running jail again (a new jid, the new configuration). */
export function recreateArgv(confPath: string, jail: string): Argv {
  return ["jail", "-f", confPath, "-rc", jail];
}

/** removeArgv stops a jail with its conf file, so its exec.stop and unmounts run. */
export function removeArgv(confPath: string, jail: string): Argv {
  return ["jail", "-f", confPath, "-r", jail];
}

export function pkgInstallArgv(jail: string, packages: readonly string[]): Argv {
  return ["pkg", "-j", jail, "install", "-y", ...packages];
}

export function pkgDeleteArgv(jail: string, packages: readonly string[]): Argv {
  return ["pkg", "-j", jail, "delete", "-y", ...packages];
}

/**
 * rcSetArgv sets variables of a running jail's rc.conf with sysrc inside the jail (`-j`): from
 * the host, `sysrc -f ROOT/etc/rc.conf` would follow a symlink the jail made out of its root.
 */
export function rcSetArgv(jail: string, vars: Readonly<Record<string, string>>): Argv {
  return ["sysrc", "-j", jail, ...Object.keys(vars).sort().map((k) => `${k}=${vars[k] ?? ""}`)];
}

export function rcUnsetArgv(jail: string, names: readonly string[]): Argv {
  return ["sysrc", "-j", jail, "-x", ...[...names].sort()];
}

/**
 * The steps that put a file in a running jail, all run inside it (jexec), so that no path a
 * jail controls can lead a write out of its root: make the directory, write a temporary file
 * from stdin (dd: nothing echoed back), set its mode and owner, rename it over the file.
 */
export function fileWriteArgvs(jail: string, path: string, mode: number, owner: string | undefined): { readonly mkdir: Argv; readonly write: Argv; readonly rest: readonly Argv[] } {
  const tmp = tempPath(path);
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  return {
    mkdir: ["jexec", jail, "mkdir", "-p", dir],
    write: ["jexec", jail, "dd", `of=${tmp}`, "status=none"],
    rest: [["jexec", jail, "chmod", mode.toString(8).padStart(4, "0"), tmp], ...(owner === undefined ? [] : [chownArgv(jail, owner, tmp)]), ["jexec", jail, "mv", "-f", tmp, path]],
  };
}

/** tempPath is where a file is written before it is renamed into place (next to it, in the same directory). */
export function tempPath(path: string): string {
  return `${path}.steward-new`;
}

/** chownArgv sets a file's owner with the jail's own chown, so names resolve in the jail's passwd. */
export function chownArgv(jail: string, owner: string, path: string): Argv {
  return ["jexec", jail, "chown", owner, path];
}

export function serviceArgv(jail: string, service: string, verb: "restart" | "status"): Argv {
  return ["service", "-j", jail, service, verb];
}

export function removeFileArgv(path: string): Argv {
  return ["rm", "-f", path];
}

/** hostSetArgv sets one variable of the host's rc.conf. */
export function hostSetArgv(name: string, value: string): Argv {
  return ["sysrc", `${name}=${value}`];
}

/** cloneUpArgv creates the cloned interfaces rc.conf lists (netif's `cloneup`), now rather than at boot. */
export function cloneUpArgv(): Argv {
  return ["service", "netif", "cloneup"];
}
