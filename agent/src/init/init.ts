/**
 * `steward init`: what a node needs before its agent can run (docs/agent.md, "A new node").
 * The pure part renders the configuration and the lines an admin adds elsewhere; the thin
 * part makes the node's key (ssh-keygen) and reads the git server's host keys (ssh-keyscan).
 */
import { StewardError } from "../errors.js";
import type { Executor } from "../exec.js";
import { decodeBase64Strict, keyFingerprint } from "../source/sshsig.js";
import { parseRemoteUrl, type RemoteTarget } from "../source/remotes.js";

/** The names given to remotes in the order given: the first is origin, then mirror, mirror-2 ... */
export function remoteNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? "origin" : i === 1 ? "mirror" : `mirror-${i}`));
}

export interface InitRemote {
  readonly name: string;
  readonly url: string;
  readonly target: RemoteTarget;
}

/** parseRemotes validates the URLs and names them. Throws CONFIG_INVALID (parseRemoteUrl's) for a bad URL. */
export function parseRemotes(urls: readonly string[]): InitRemote[] {
  const names = remoteNames(urls.length);
  return urls.map((url, i) => ({ name: names[i] as string, url, target: parseRemoteUrl(url) }));
}

export interface ConfigFacts {
  readonly node: string;
  readonly state: string;
  readonly trust: string;
  readonly key: string;
  /** Written when any remote uses ssh. */
  readonly knownHosts: string;
  readonly remotes: readonly InitRemote[];
}

/** renderConfig writes the agent configuration init creates, commented for the admin who reads it. Pure. */
export function renderConfig(f: ConfigFacts): string {
  const lines = [
    "# Steward agent configuration, written by `steward init` (steward fetch --help explains every key).",
    `node: ${f.node}`,
    `state: ${f.state}`,
    "branch: main",
    `trust: ${f.trust}              # the admins' keys this node trusts until the repo says otherwise`,
    `key: ${f.key}                  # this node's key: signs its status reports, logs in to ssh remotes`,
    "timeout: 30                    # seconds per remote operation",
    "interval: 60                   # seconds between runs of the agent",
    "remotes:                       # in priority order",
  ];
  for (const r of f.remotes) {
    lines.push(`  - name: ${r.name}`, `    url: ${r.url}`);
    if (r.target.kind === "ssh") lines.push(`    known_hosts: ${f.knownHosts}`);
  }
  return `${lines.join("\n")}\n`;
}

/** The lines an admin adds to the cluster repo and to the git server for a new node. Pure. */
export function adminLines(node: string, publicKey: string): { manifest: string; authorizedKeys: string; gitolite: string } {
  const [type, base64] = publicKey.trim().split(/\s+/);
  const key = `${type ?? ""} ${base64 ?? ""} ${node}@steward`;
  return {
    manifest: `key: ${key}`,
    authorizedKeys: `command="env STEWARD_PUSHER=${node}@steward git-shell -c \\"$SSH_ORIGINAL_COMMAND\\"",restrict ${key}`,
    gitolite: `keydir/${node}@steward.pub`,
  };
}

/** A host key as ssh-keyscan printed it, with its fingerprint. */
export interface ScannedKey {
  /** The known_hosts line. */
  readonly line: string;
  readonly type: string;
  readonly fingerprint: string;
}

/** parseKeyscan reads ssh-keyscan's output: `host keytype base64` lines (comments skipped). Pure. */
export function parseKeyscan(stdout: string): ScannedKey[] {
  const keys: ScannedKey[] = [];
  for (const line of stdout.split("\n")) {
    const t = line.trim();
    if (t === "" || t.startsWith("#")) continue;
    const [host, type, base64] = t.split(/\s+/);
    if (host === undefined || type === undefined || base64 === undefined) continue;
    const blob = decodeBase64Strict(new TextEncoder().encode(base64));
    const fp = blob === undefined ? undefined : keyFingerprint(blob);
    if (fp === undefined) continue;
    keys.push({ line: `${host} ${type} ${base64}`, type, fingerprint: fp.fingerprint });
  }
  return keys;
}

/**
 * scanHostKeys asks an ssh server for its host keys (`ssh-keyscan -T 10 -p PORT HOST`). Throws
 * SOURCE_FETCH_FAILED when it answers with none (down, wrong port, not ssh).
 */
export async function scanHostKeys(executor: Executor, host: string, port: number): Promise<ScannedKey[]> {
  const r = await executor.run(["ssh-keyscan", "-T", "10", "-p", String(port), host], { timeoutMs: 30_000 });
  const keys = r.exitCode === 0 || r.stdout !== "" ? parseKeyscan(r.stdout) : [];
  if (keys.length === 0) {
    throw new StewardError("SOURCE_FETCH_FAILED", `${host} port ${port} gave no ssh host key`, {
      data: { host, port, stderr: r.stderr.trim().slice(0, 500), ...(r.spawnError === undefined ? {} : { spawnError: r.spawnError }) },
      hint: "check that the git server's sshd runs and is reachable from this node, then run steward init again",
      retry: "transient",
    });
  }
  return keys;
}

/**
 * makeNodeKey creates an ed25519 key without passphrase at `path` (ssh-keygen -t ed25519 -N ''
 * -C <node>@steward -f PATH), readable by its owner only. Throws EXEC_FAILED when ssh-keygen fails.
 */
export async function makeNodeKey(executor: Executor, path: string, node: string): Promise<void> {
  const r = await executor.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", `${node}@steward`, "-f", path], { timeoutMs: 30_000 });
  if (r.exitCode !== 0) {
    throw new StewardError("EXEC_FAILED", `ssh-keygen could not create ${path}`, { data: { stderr: r.stderr.trim().slice(0, 500), exitCode: r.exitCode }, hint: "check that the directory exists and is writable", retry: "stalled" });
  }
}
