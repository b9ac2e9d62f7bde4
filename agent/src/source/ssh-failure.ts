/**
 * What went wrong when ssh exits 255 (its own failures, ssh(1) EXIT STATUS), told from its stderr, and
 * the error an admin is shown for it. Pure: stderr and the known_hosts text in, data out.
 *
 * The cases need different people to do different things, so they get different codes:
 * - SOURCE_HOST_KEY: the server's host key is not pinned (known_hosts lacks the host: say how to
 *   pin it and to verify the fingerprint out of band), has changed (possibly a man in the middle:
 *   both fingerprints, and what to check), or is revoked;
 * - SOURCE_AUTH: the server refused the node's key (authorized_keys on the server);
 * - CONFIG_INVALID: ssh could not use the key file the configuration names;
 * - SOURCE_TIMEOUT and SOURCE_FETCH_FAILED: the host is slow or unreachable.
 * Each error carries `data.ssh`, the line of ssh's stderr that told, for the human output.
 */
import { StewardError } from "../errors.js";
import type { RemoteSpec } from "./remotes.js";
import { displayKeyType, parseKnownHosts, sshHostName, type KnownHost } from "./ssh-files.js";

/** One ssh failure, as its stderr tells it. `said` is the line that told. */
export type SshFailure =
  | { readonly kind: "host-key-changed"; readonly said: string; readonly offered: { readonly type: string; readonly fingerprint: string } | undefined; readonly offending: readonly { readonly file: string; readonly line: number }[] }
  | { readonly kind: "host-key-unknown"; readonly said: string; readonly keyType: string | undefined }
  | { readonly kind: "host-key-revoked"; readonly said: string }
  | { readonly kind: "key-unusable"; readonly said: string; readonly path: string; readonly reason: string }
  | { readonly kind: "key-refused"; readonly said: string }
  | { readonly kind: "timeout"; readonly said: string }
  | { readonly kind: "unreachable"; readonly said: string };

/** readSshFailure tells from ssh's stderr (LogLevel=ERROR, OpenSSH 8 and 9) why it exited 255. Never throws. */
export function readSshFailure(stderr: string): SshFailure {
  // eslint-disable-next-line no-control-regex
  const lines = stderr.replaceAll("\r", "").split("\n").map((l) => l.trim().replace(/[\u0000-\u001f\u007f-\u009f]/g, "?")).filter((l) => l !== "" && !/^@+$/.test(l));
  const find = (re: RegExp): string | undefined => lines.find((l) => re.test(l));
  let said: string | undefined;
  if ((said = find(/^Host key for .* has changed and you have requested strict checking/) ?? find(/REMOTE HOST IDENTIFICATION HAS CHANGED/)) !== undefined) {
    const offered = /The fingerprint for the (\S+) key sent by the remote host is\s+(SHA256:[A-Za-z0-9+/]+)/.exec(stderr);
    const offending = [...stderr.matchAll(/^Offending \S+ key in (.+):(\d+)\s*$/gm)].map((m) => ({ file: m[1] as string, line: Number(m[2]) }));
    return { kind: "host-key-changed", said, offered: offered === null ? undefined : { type: offered[1] as string, fingerprint: offered[2] as string }, offending };
  }
  if ((said = find(/host key for .* was revoked/i) ?? find(/is marked as revoked/)) !== undefined) return { kind: "host-key-revoked", said };
  if ((said = find(/^No \S+ host key is known for .* and you have requested strict checking/) ?? find(/^Host key verification failed/)) !== undefined) {
    return { kind: "host-key-unknown", said, keyType: /^No (\S+) host key is known/.exec(said)?.[1] };
  }
  const load = find(/^Load key "[^"]*": /);
  if (load !== undefined) {
    const m = /^Load key "([^"]*)": (.*)$/.exec(load) as RegExpExecArray;
    return { kind: "key-unusable", said: load, path: m[1] as string, reason: m[2] as string };
  }
  const access = find(/Identity file .* not accessible: /);
  if (access !== undefined) {
    const m = /Identity file (.*) not accessible: (.*?)\.?$/.exec(access) as RegExpExecArray;
    return { kind: "key-unusable", said: access, path: m[1] as string, reason: m[2] as string };
  }
  if ((said = find(/Permission denied \(|Too many authentication failures/)) !== undefined) return { kind: "key-refused", said };
  if ((said = find(/timed out|Timeout, server/i)) !== undefined) return { kind: "timeout", said };
  return { kind: "unreachable", said: lines.at(-1) ?? "(ssh said nothing)" };
}

/** What the error is built from besides the failure: the process's stderr tail and the pinned keys. */
export interface SshFailureFacts {
  readonly exitCode: number | null;
  /** The last lines of ssh's stderr. */
  readonly stderr: string;
  /** The remote's known_hosts file as read before ssh ran; undefined when it could not be read. */
  readonly knownHostsText: string | undefined;
}

/** How many pinned host names a message lists. */
const HOSTS_NAMED = 5;

/**
 * sshFailureError turns a failure of ssh to reach `remote` into the error shown for it:
 * SOURCE_HOST_KEY, SOURCE_AUTH, CONFIG_INVALID, SOURCE_TIMEOUT or SOURCE_FETCH_FAILED, as the
 * module comment says. `data.ssh` is the line of stderr that told. Never throws.
 */
export function sshFailureError(remote: RemoteSpec, failure: SshFailure, facts: SshFailureFacts): StewardError {
  const t = remote.target;
  const host = t.kind === "ssh" ? t.host : remote.name;
  const port = t.kind === "ssh" ? t.port : undefined;
  const hostName = sshHostName(host, port);
  const knownHosts = remote.knownHosts ?? "known_hosts";
  const pinned = facts.knownHostsText === undefined ? [] : parseKnownHosts(facts.knownHostsText);
  const data = { remote: remote.name, exitCode: facts.exitCode, stderr: facts.stderr, ssh: failure.said };
  const keyscan = `ssh-keyscan ${port === undefined || port === 22 ? "" : `-p ${port} `}${host.includes(":") ? `[${host}]` : host}`;
  const serverSide = "ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the server's console";
  switch (failure.kind) {
    case "host-key-changed": {
      const offending = failure.offending.filter((o) => o.file === knownHosts).map((o) => pinned.find((p) => p.line === o.line)).filter((p): p is KnownHost => p !== undefined);
      const was = offending.length === 0 ? "the key pinned in known_hosts" : offending.map((p) => `${displayKeyType(p.type)} ${p.fingerprint ?? "(unreadable key)"} on line ${p.line}`).join(", ");
      const now = failure.offered === undefined ? "another key" : `${failure.offered.type} ${failure.offered.fingerprint}`;
      const lines = offending.length === 0 ? "its line" : `line ${offending.map((p) => p.line).join(", ")}`;
      return new StewardError("SOURCE_HOST_KEY", `the host key of ${hostName} has changed: it offered ${now}; ${knownHosts} pins ${was}`, {
        data: {
          ...data,
          host: hostName,
          knownHosts,
          offered: failure.offered ?? null,
          pinned: offending.map((p) => ({ line: p.line, type: p.type, fingerprint: p.fingerprint ?? null })),
        },
        hint: `someone may be intercepting the connection (a man in the middle), or the server was reinstalled and has a new key. Nothing is fetched from it until you decide: compare ${failure.offered?.fingerprint ?? "the offered fingerprint"} with the one the server shows itself (${serverSide}); only if they match, replace ${lines} of ${knownHosts} with the output of ${keyscan}`,
        retry: "stalled",
      });
    }
    case "host-key-unknown": {
      const names = [...new Set(pinned.filter((p) => p.marker === undefined && p.hosts !== undefined).map((p) => p.hosts as string))];
      const hashed = pinned.filter((p) => p.hosts === undefined).length;
      const what =
        facts.knownHostsText === undefined
          ? ""
          : pinned.length === 0
            ? " (the file pins no key at all)"
            : ` (it pins ${[...names.slice(0, HOSTS_NAMED), ...(names.length > HOSTS_NAMED ? [`${names.length - HOSTS_NAMED} more`] : []), ...(hashed > 0 ? [`${hashed} hashed entries`] : [])].join(", ")})`;
      return new StewardError("SOURCE_HOST_KEY", `${knownHosts} pins no host key for ${hostName}${what}`, {
        data: { ...data, host: hostName, knownHosts, pinnedHosts: names.slice(0, HOSTS_NAMED), keyType: failure.keyType ?? null },
        hint: `pin the server's key: ${keyscan} >> ${knownHosts}; then check the fingerprint (ssh-keygen -lf ${knownHosts}) against the server's own (${serverSide}) before you trust it. A host on another port than 22 is pinned as [host]:port`,
        retry: "stalled",
      });
    }
    case "host-key-revoked":
      return new StewardError("SOURCE_HOST_KEY", `the host key of ${hostName} is marked @revoked in ${knownHosts}`, {
        data: { ...data, host: hostName, knownHosts },
        hint: "the server offers a key you revoked: a stolen key may be impersonating it. Find out before anything else; fetching from it is refused",
        retry: "stalled",
      });
    case "key-unusable":
      return new StewardError("CONFIG_INVALID", `ssh cannot use key ${failure.path}: ${failure.reason}`, {
        data: { ...data, field: "key", path: failure.path, reason: failure.reason },
        hint: /permissions/i.test(failure.reason)
          ? `chmod 600 ${failure.path}`
          : /no such file/i.test(failure.reason)
            ? `create the node's key (ssh-keygen -t ed25519 -N '' -f ${failure.path}) or fix key: of remote ${remote.name} in the agent configuration`
            : `key: of remote ${remote.name} in the agent configuration must name an unencrypted ssh private key (ssh-keygen -t ed25519 -N '' -f FILE)`,
        retry: "stalled",
      });
    case "key-refused": {
      const user = t.kind === "ssh" && t.user !== undefined ? t.user : "the user ssh logs in as";
      const key = remote.key === undefined ? "(no key: configured, so ssh's default keys)" : remote.key;
      return new StewardError("SOURCE_AUTH", `${hostName} refused key ${key} for ${user}`, {
        data: { ...data, host: hostName, key: remote.key ?? null, user: t.kind === "ssh" ? (t.user ?? null) : null },
        hint: remote.key === undefined
          ? `set key: for remote ${remote.name} to the node's private key, and authorize its public key on the server`
          : `authorize the node's public key (${remote.key}.pub) for ${user} on the server (its ~/.ssh/authorized_keys; for gitolite, keydir/), and check the user in url:`,
        retry: "stalled",
      });
    }
    case "timeout":
      return new StewardError("SOURCE_TIMEOUT", `ssh to ${hostName} timed out`, { data, hint: "check that the server is up and reachable", retry: "transient" });
    case "unreachable":
      return new StewardError("SOURCE_FETCH_FAILED", `ssh to ${hostName} failed`, { data, hint: "the host is unreachable, its name does not resolve, or it refused the connection; retried later", retry: "transient" });
  }
}
