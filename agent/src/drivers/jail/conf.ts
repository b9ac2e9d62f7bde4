/**
 * A service's jail.conf(5) file, as Steward writes it to `<confDir>/<name>.conf`. Pure.
 *
 * A thin jail on the node's shared stack: its address an alias on the jail interface
 * (`lo1|addr/32`, added and removed by jail(8)), started and stopped by its own rc scripts,
 * devfs with the jail ruleset, no raw sockets, nothing visible of the host's mounts, no child
 * jails; `persist` so it stays while rc is between services.
 */

/** The first line of every conf file Steward writes: it marks a jail as Steward's. */
export const CONF_HEADER = "# Written by Steward from the cluster repo: do not edit, it is replaced on the next apply.";

/** Double-quoted jail.conf string: `\`, `"` and `$` escaped (`$` would expand, jail.conf(5)). */
function quote(value: string): string {
  return `"${value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("$", "\\$")}"`;
}

export interface ConfInput {
  readonly name: string;
  readonly root: string;
  readonly hostname: string;
  readonly ip: string;
  readonly jailInterface: string;
}

/** renderConf writes one jail's conf file, newline-terminated. */
export function renderConf(j: ConfInput): string {
  const lines = [
    CONF_HEADER,
    `${j.name} {`,
    `    path = ${quote(j.root)};`,
    `    host.hostname = ${quote(j.hostname)};`,
    `    ip4.addr = ${quote(`${j.jailInterface}|${j.ip}/32`)};`,
    "    exec.clean;",
    `    exec.start = ${quote("/bin/sh /etc/rc")};`,
    `    exec.stop = ${quote("/bin/sh /etc/rc.shutdown jail")};`,
    `    exec.consolelog = ${quote(`/var/log/jail_console_${j.name}.log`)};`,
    "    mount.devfs;",
    "    devfs_ruleset = 4;",
    "    securelevel = 2;",
    "    enforce_statfs = 2;",
    "    children.max = 0;",
    "    allow.noraw_sockets;",
    "    allow.nounprivileged_proc_debug;",
    "    persist;",
    "}",
  ];
  return `${lines.join("\n")}\n`;
}
