/**
 * The one way Steward runs ssh(1): batch mode, the pinned known_hosts only, the given key only,
 * no forwarding, no agent, no user or system configuration (ssh_config(5)), connect and
 * keep-alive limits. Used for git remotes (source/remotes.ts) and backup peers and stores
 * (drivers/backup/commands.ts). Pure.
 */
import type { Argv } from "./exec.js";

export interface SshCall {
  readonly host: string;
  readonly port?: number | undefined;
  readonly user?: string | undefined;
  /** The pinned host keys (a known_hosts file). */
  readonly knownHosts: string;
  /** The private key to offer; none: ssh's defaults are not offered either (IdentitiesOnly). */
  readonly key?: string | undefined;
  readonly connectTimeoutSeconds: number;
  readonly aliveIntervalSeconds: number;
  readonly aliveCountMax: number;
  /** The remote command, one string as ssh sends it. */
  readonly command: string;
}

/** sshArgv builds the ssh command line for `call`. */
export function sshArgv(call: SshCall): Argv {
  const argv: string[] = [
    "ssh",
    "-F", "/dev/null",
    "-T", "-x", "-a",
    "-o", "BatchMode=yes",
    "-o", "StrictHostKeyChecking=yes",
    "-o", `UserKnownHostsFile=${call.knownHosts}`,
    "-o", "GlobalKnownHostsFile=/dev/null",
    "-o", "UpdateHostKeys=no",
    "-o", "IdentitiesOnly=yes",
    "-o", "PasswordAuthentication=no",
    "-o", "KbdInteractiveAuthentication=no",
    "-o", "ClearAllForwardings=yes",
    "-o", "PermitLocalCommand=no",
    "-o", `ConnectTimeout=${call.connectTimeoutSeconds}`,
    "-o", `ServerAliveInterval=${call.aliveIntervalSeconds}`,
    "-o", `ServerAliveCountMax=${call.aliveCountMax}`,
    "-o", "LogLevel=ERROR",
  ];
  if (call.key !== undefined) argv.push("-i", call.key);
  if (call.port !== undefined) argv.push("-p", String(call.port));
  if (call.user !== undefined) argv.push("-l", call.user);
  argv.push("--", call.host, call.command);
  return argv as unknown as Argv;
}
