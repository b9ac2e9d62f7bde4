/**
 * Remote URLs: what a configured URL means (HTTP(S), SSH, or a path on this host), the
 * synthetic URL isomorphic-git is given for it, and the argument vectors that reach a remote
 * over SSH or a local `git upload-pack` / `git receive-pack`. Pure: strings in, data out; no I/O.
 *
 * Everything that ends up in an argument vector is validated here first (docs/architecture.md,
 * "Hostile input"): host names, user names, ports, repository paths and the ssh file options.
 */
import type { Argv } from "../exec.js";
import { sshArgv } from "../ssh.js";
import { StewardError } from "../errors.js";

export type RemoteKind = "http" | "ssh" | "local";

/** Where a remote lives, parsed from its configured URL. */
export type RemoteTarget =
  | { readonly kind: "http"; readonly url: string }
  | { readonly kind: "ssh"; readonly user: string | undefined; readonly host: string; readonly port: number | undefined; readonly path: string }
  | { readonly kind: "local"; readonly path: string };

/** One configured remote, validated. `key` and `knownHosts` are absolute paths (ssh only). */
export interface RemoteSpec {
  readonly name: string;
  /** The URL as written in the configuration (never carries credentials). */
  readonly url: string;
  readonly target: RemoteTarget;
  readonly key: string | undefined;
  readonly knownHosts: string | undefined;
}

/** The host isomorphic-git sees for an SSH remote; the http seam routes it to the ssh bridge. */
export const SSH_BRIDGE_HOST = "ssh.invalid";
/** The host isomorphic-git sees for a local-path remote; routed to `git upload-pack`. */
export const LOCAL_BRIDGE_HOST = "local.invalid";

const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
const IPV6 = /^[0-9A-Fa-f:.]{2,45}$/;
const USER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
// ssh expands `~` and `%x` tokens in IdentityFile and UserKnownHostsFile, and splits the
// latter on whitespace: only plain absolute paths are passed to it.
const SSH_FILE_PATH = /^\/[A-Za-z0-9._/+@,=-]{0,1023}$/;

/**
 * isBranchName answers whether a branch name is safe to use in a ref path: the rules of
 * git-check-ref-format, restricted to a portable character set.
 */
export function isBranchName(name: string): boolean {
  if (!/^[A-Za-z0-9._/-]{1,200}$/.test(name)) return false;
  if (name.startsWith("-") || name.startsWith("/") || name.endsWith("/") || name.endsWith(".")) return false;
  if (name.includes("..") || name.includes("//") || name.includes("@{")) return false;
  return name.split("/").every((part) => part.length > 0 && !part.startsWith(".") && !part.endsWith(".lock"));
}

/**
 * parseRemoteUrl decides what kind of remote a configured URL names. Accepts `https://…` and
 * `http://…` (no credentials, query or fragment), `ssh://[user@]host[:port]/path`, the scp-like
 * `[user@]host:path`, an absolute path and `file:///path`. Throws CONFIG_INVALID for anything
 * else, naming the rule that failed in `data.reason`.
 */
export function parseRemoteUrl(url: string): RemoteTarget {
  const invalid = (reason: string, hint: string): StewardError =>
    new StewardError("CONFIG_INVALID", `remote URL ${JSON.stringify(url)}: ${reason}`, { data: { url, reason }, hint });
  if (url.length === 0 || url.length > 2048 || hasControl(url)) {
    throw invalid("empty, too long, or contains control characters", "write the URL on one line, without control characters");
  }
  if (/^https?:\/\//i.test(url)) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw invalid("not a valid URL", "write it as https://host/path/repo.git");
    }
    if (u.username !== "" || u.password !== "") {
      throw invalid("credentials in the URL", "do not put user names or passwords in URLs; use an SSH remote with a key instead");
    }
    if (u.search !== "" || u.hash !== "") throw invalid("query or fragment in the URL", "remove the part after ? or #");
    const href = u.href.replace(/\/+$/, "");
    return { kind: "http", url: href };
  }
  if (/^(?:ssh|git\+ssh|ssh\+git):\/\//i.test(url)) {
    let u: URL;
    try {
      u = new URL(url.replace(/^[a-z+]+:/i, "ssh:"));
    } catch {
      throw invalid("not a valid ssh:// URL", "write it as ssh://user@host:22/path/repo.git");
    }
    if (u.password !== "") throw invalid("password in the URL", "SSH remotes authenticate with a key; remove the password");
    if (u.search !== "" || u.hash !== "") throw invalid("query or fragment in the URL", "remove the part after ? or #");
    const user = u.username === "" ? undefined : safeDecode(u.username);
    const host = u.hostname.startsWith("[") ? u.hostname.slice(1, -1) : u.hostname;
    const port = u.port === "" ? undefined : Number(u.port);
    const path = safeDecode(u.pathname);
    return checkSsh(url, user, host, port, path);
  }
  if (/^file:\/\//i.test(url)) {
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      throw invalid("not a valid file:// URL", "write it as file:///mnt/mirror/cluster.git or as the plain path");
    }
    if (u.host !== "" && u.host !== "localhost") throw invalid("file:// URL with a host", "a file URL names a path on this host: file:///path");
    return checkLocal(url, safeDecode(u.pathname));
  }
  if (url.startsWith("/")) return checkLocal(url, url);
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(url)) {
    throw invalid("unsupported URL scheme", "use ssh://, https://, http://, file:// or an absolute path");
  }
  // scp-like syntax: a colon before the first slash (git's rule, see urlmatch/connect.c).
  const scp = /^(?:([^@/:]+)@)?(\[[^\]/]+\]|[^:/[\]]+):(.+)$/.exec(url);
  if (scp !== null) {
    const rawHost = scp[2] ?? "";
    const host = rawHost.startsWith("[") ? rawHost.slice(1, -1) : rawHost;
    return checkSsh(url, scp[1], host, undefined, scp[3] ?? "");
  }
  throw invalid("not an https://, http://, ssh:// or scp-like URL, nor an absolute path", "use ssh://user@host/path, user@host:path, https://host/path, or /absolute/path");
}

function checkSsh(url: string, user: string | undefined, host: string, port: number | undefined, path: string): RemoteTarget {
  const invalid = (reason: string, hint: string): StewardError =>
    new StewardError("CONFIG_INVALID", `remote URL ${JSON.stringify(url)}: ${reason}`, { data: { url, reason }, hint });
  if (user !== undefined && !USER_NAME.test(user)) throw invalid("user name has characters ssh would not accept", "use a user name of letters, digits, '_', '.' and '-'");
  if (!(HOST_NAME.test(host) || (host.includes(":") && IPV6.test(host)))) throw invalid("host is not a host name or IP address", "write a host name such as git.home.arpa or an IP address");
  if (port !== undefined && !(Number.isInteger(port) && port >= 1 && port <= 65535)) throw invalid("port out of range", "use a port from 1 to 65535");
  if (path.length === 0 || path === "/" || path.startsWith("-") || hasControl(path) || path.length > 1024) {
    throw invalid("repository path is empty, starts with '-', or contains control characters", "name the repository, e.g. /srv/git/cluster.git");
  }
  return { kind: "ssh", user, host, port, path };
}

function checkLocal(url: string, path: string): RemoteTarget {
  if (!path.startsWith("/") || hasControl(path) || path.length > 1024 || path.split("/").includes("..")) {
    throw new StewardError("CONFIG_INVALID", `remote URL ${JSON.stringify(url)}: not a plain absolute path`, {
      data: { url, reason: "local path must be absolute, without '..' or control characters" },
      hint: "write the mirror's absolute path, e.g. /mnt/mirror/cluster.git",
    });
  }
  return { kind: "local", path: path.length > 1 ? path.replace(/\/+$/, "") : path };
}

/**
 * checkSshFilePath validates a key or known_hosts path passed to ssh. Throws CONFIG_INVALID
 * when the path is not absolute or has characters ssh would expand or split (space, `~`, `%`).
 */
export function checkSshFilePath(field: string, path: string): string {
  if (!SSH_FILE_PATH.test(path) || path.split("/").includes("..")) {
    throw new StewardError("CONFIG_INVALID", `${field}: ${JSON.stringify(path)} is not a plain absolute path`, {
      data: { field, path },
      hint: "ssh expands '~' and '%' and splits on spaces: move the file to a path of letters, digits and ._/+@,=-",
    });
  }
  return path;
}

/** bridgeUrl returns the URL isomorphic-git is given for a remote: the real one for HTTP(S), a synthetic one otherwise. */
export function bridgeUrl(remote: RemoteSpec): string {
  switch (remote.target.kind) {
    case "http":
      return remote.target.url;
    case "ssh":
      return `http://${SSH_BRIDGE_HOST}/${remote.name}`;
    case "local":
      return `http://${LOCAL_BRIDGE_HOST}/${remote.name}`;
  }
}

/**
 * describeRemote renders a remote's location for logs and reports. Configured URLs carry no
 * credentials (parseRemoteUrl rejects them), so this is the URL with the kind in front.
 */
export function describeRemote(remote: RemoteSpec): string {
  const t = remote.target;
  switch (t.kind) {
    case "http":
      return t.url;
    case "ssh":
      return `ssh://${t.user === undefined ? "" : `${t.user}@`}${t.host.includes(":") ? `[${t.host}]` : t.host}${t.port === undefined ? "" : `:${t.port}`}${t.path.startsWith("/") ? "" : "/~/"}${t.path}`;
    case "local":
      return t.path;
  }
}

/** quoteForGitShell quotes one argument the way git-shell(1) and gitolite parse it. */
export function quoteForGitShell(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

export interface BridgeTiming {
  /** The whole operation's limit, in seconds. */
  readonly timeoutSeconds: number;
}

/**
 * The two git services a bridge process runs: `git-upload-pack` to fetch, `git-receive-pack`
 * to push (the status step's `status/<node>` branch). git-shell and gitolite accept both.
 */
export type GitService = "git-upload-pack" | "git-receive-pack";

/**
 * bridgeArgv builds the command a bridge runs for `service` on an SSH or local remote
 * (sshServiceArgv, localUploadPackArgv, localReceivePackArgv). Throws INTERNAL for an HTTP
 * remote, CONFIG_INVALID as sshServiceArgv does.
 */
export function bridgeArgv(remote: RemoteSpec, service: GitService, timing: BridgeTiming): Argv {
  if (remote.target.kind === "ssh") return sshServiceArgv(remote, service, timing);
  return service === "git-upload-pack" ? localUploadPackArgv(remote, timing) : localReceivePackArgv(remote);
}

/**
 * sshUploadPackArgv builds the ssh command for `git-upload-pack` on an SSH remote (see
 * sshServiceArgv).
 */
export function sshUploadPackArgv(remote: RemoteSpec, timing: BridgeTiming): Argv {
  return sshServiceArgv(remote, "git-upload-pack", timing);
}

/**
 * sshReceivePackArgv builds the ssh command for `git-receive-pack` on an SSH remote (see
 * sshServiceArgv): the same options as a fetch, so a push is held to the same limits.
 */
export function sshReceivePackArgv(remote: RemoteSpec, timing: BridgeTiming): Argv {
  return sshServiceArgv(remote, "git-receive-pack", timing);
}

/**
 * sshServiceArgv builds the ssh command for a git service on an SSH remote: batch
 * mode, the pinned known_hosts only, the configured key only, no forwarding, no user config,
 * connect and keep-alive limits derived from the operation timeout. Throws CONFIG_INVALID
 * (via checkSshFilePath) when known_hosts is missing or unsafe.
 */
function sshServiceArgv(remote: RemoteSpec, service: GitService, timing: BridgeTiming): Argv {
  const t = remote.target;
  if (t.kind !== "ssh") throw new StewardError("INTERNAL", `remote ${remote.name} is not an ssh remote`, { retry: "internal" });
  if (remote.knownHosts === undefined) {
    throw new StewardError("CONFIG_INVALID", `remote ${remote.name}: known_hosts is required for ssh`, { data: { remote: remote.name }, hint: "pin the server's host key in a known_hosts file and name it in known_hosts:" });
  }
  const connect = Math.max(1, Math.min(10, Math.ceil(timing.timeoutSeconds)));
  const alive = Math.max(1, Math.min(15, Math.floor(timing.timeoutSeconds / 3)));
  return sshArgv({
    host: t.host,
    port: t.port,
    user: t.user,
    knownHosts: checkSshFilePath("known_hosts", remote.knownHosts),
    key: remote.key === undefined ? undefined : checkSshFilePath("key", remote.key),
    connectTimeoutSeconds: connect,
    aliveIntervalSeconds: alive,
    aliveCountMax: 2,
    command: `${service} ${quoteForGitShell(t.path)}`,
  });
}

/**
 * localUploadPackArgv builds the `git upload-pack` command for a mirror on a mounted disk.
 * `safe.directory` names exactly that path: a mirror disk is often owned by another user, and
 * git refuses such repositories otherwise.
 */
export function localUploadPackArgv(remote: RemoteSpec, timing: BridgeTiming): Argv {
  const t = remote.target;
  if (t.kind !== "local") throw new StewardError("INTERNAL", `remote ${remote.name} is not a local remote`, { retry: "internal" });
  const idle = Math.max(1, Math.ceil(timing.timeoutSeconds));
  return ["git", "-c", `safe.directory=${t.path}`, "upload-pack", "--strict", `--timeout=${idle}`, t.path];
}

/**
 * localReceivePackArgv builds the `git receive-pack` command for pushing to a repository on a
 * mounted disk, with `safe.directory` as for upload-pack. receive-pack has no `--timeout`:
 * the bridge's deadline ends it. The repository's own hooks and `receive.*` settings apply.
 */
export function localReceivePackArgv(remote: RemoteSpec): Argv {
  const t = remote.target;
  if (t.kind !== "local") throw new StewardError("INTERNAL", `remote ${remote.name} is not a local remote`, { retry: "internal" });
  return ["git", "-c", `safe.directory=${t.path}`, "receive-pack", t.path];
}

function hasControl(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f]/.test(s);
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
