/**
 * The agent's node-local configuration: a YAML file (default /usr/local/etc/steward/steward.yaml)
 * naming this node, its state directory, the tracked branch, the bootstrap trust store and the
 * remotes in priority order. Parsed with duplicate keys refused, validated with ajv (JSON Schema
 * 2020-12, strict) against config.schema.json, then checked for what a schema cannot say
 * (URLs, unique remote names, ssh-only options), and, when read from disk, the files it names
 * are checked too (checkFiles below), so that a typo in a path is found now rather than the
 * day the file is first needed. `state` must be absolute; the other paths (`trust`, `revoked`,
 * `key`, `known_hosts`) may be relative and are then read from the configuration file's folder.
 * An ssh remote without its own `key` uses the node's `key`.
 *
 * ```yaml
 * node: alpha
 * state: /var/db/steward
 * branch: main
 * trust: /usr/local/etc/steward/allowed_signers
 * revoked: /usr/local/etc/steward/revoked_keys   # optional
 * key: /usr/local/etc/steward/id_ed25519   # signs status commits; ssh remotes use it
 * timeout: 30          # seconds per remote operation
 * interval: 60         # steward agent: seconds between reconciles
 * heartbeat: 900       # steward agent: seconds between unchanged status commits
 * pf_confirm_window: 60   # optional, see docs/network.md
 * backup_known_hosts: /usr/local/etc/steward/backup_known_hosts   # peers and remote stores
 * backup_identity: /usr/local/etc/steward/backup.age   # optional: decrypts remote copies (drills)
 * remotes:
 *   - name: origin
 *     url: ssh://git@git.home.arpa:22/srv/git/cluster.git
 *     known_hosts: /usr/local/etc/steward/known_hosts
 *   - name: mirror
 *     url: /mnt/mirror/cluster.git
 * ```
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import type { ErrorObject } from "ajv";
import { StewardError, type Where } from "./errors.js";
import { locate, parseYaml, type ParsedFile, type PathSegment } from "./manifest/yaml.js";
import { config as validate } from "./validators.js";
import { readSmallFile, type SmallFile } from "./read-small-file.js";
import { checkSshFilePath, isBranchName, parseRemoteUrl, type RemoteSpec } from "./source/remotes.js";
import { checkPrivateKey } from "./source/ssh-files.js";
import { MAX_TRUST_BYTES, checkAllowedSigners } from "./source/trust.js";

export const DEFAULT_CONFIG_PATH = "/usr/local/etc/steward/steward.yaml";
export const DEFAULT_STATE_DIR = "/var/db/steward";
export const DEFAULT_BRANCH = "main";
export const DEFAULT_TIMEOUT_SECONDS = 30;
export const DEFAULT_INTERVAL_SECONDS = 60;
export const DEFAULT_HEARTBEAT_SECONDS = 900;
const MAX_CONFIG_BYTES = 64 * 1024;

/** The validated configuration. Every path is absolute. */
export interface AgentConfig {
  /** The configuration file it was read from. */
  readonly file: string;
  readonly node: string;
  readonly state: string;
  readonly branch: string;
  /** The bootstrap allowed_signers file. */
  readonly trust: string;
  /** Keys that never verify (ssh-keygen -Y verify -r), if configured. */
  readonly revoked?: string | undefined;
  /** The node's SSH private key: signs its status commits; ssh remotes without their own use it. */
  readonly key?: string | undefined;
  /** Seconds allowed for each remote operation. */
  readonly timeout: number;
  /** steward agent: seconds between reconciles (before jitter). */
  readonly interval: number;
  /** steward agent: seconds between status commits when nothing changed. */
  readonly heartbeat: number;
  /** steward agent: the newest verified commit may be this old before SourceStale is an error. */
  readonly maxSourceAge?: number | undefined;
  /** In priority order. */
  readonly remotes: readonly RemoteSpec[];
  /** Where the jail driver writes jail.conf(5) files (DEFAULT_JAIL_CONF_DIR when absent). */
  readonly jailConfDir?: string;
  /**
   * Seconds the node has, after loading new pf rules, to reach one of its git remotes before
   * it loads the previous rules again (DEFAULT_PF_CONFIRM_WINDOW when absent; 0: no check).
   */
  readonly pfConfirmWindow?: number;
  /** Backups: the key for peers and remote stores (default `key`), their pinned host keys, the age identity. */
  readonly backupKey?: string | undefined;
  readonly backupKnownHosts?: string | undefined;
  readonly backupIdentity?: string | undefined;
}

/** The default commit-confirm window of a pf load, in seconds (docs/network.md). */
export const DEFAULT_PF_CONFIRM_WINDOW = 60;

/** Where a FreeBSD host keeps one jail.conf(5) file per jail (jail(8), rc.conf jail_list). */
export const DEFAULT_JAIL_CONF_DIR = "/etc/jail.conf.d";

/** One configuration problem, placed in the file. */
export interface ConfigProblem {
  readonly message: string;
  readonly where: Where;
  readonly hint: string;
}

interface RawConfig {
  node: string;
  state?: string;
  branch?: string;
  trust: string;
  revoked?: string;
  key?: string;
  timeout?: number;
  interval?: number;
  heartbeat?: number;
  max_source_age?: number;
  backup_key?: string;
  backup_known_hosts?: string;
  backup_identity?: string;
  jail_conf_dir?: string;
  pf_confirm_window?: number;
  remotes: { name: string; url: string; key?: string; known_hosts?: string }[];
}

/**
 * How the configuration check reads a file it names: at most `limit` bytes, or why it cannot
 * (read-small-file.ts readSmallFile; tests pass a table).
 */
export type ConfigFileReader = (path: string, limit: number) => SmallFile;

/**
 * loadConfig reads and validates the configuration file at `path`, and checks the files it
 * names (checkFiles). Throws CONFIG_INVALID naming `file:line:column` of the first problem (all
 * problems are in `data.problems`), with a hint; also when the file cannot be read.
 */
export async function loadConfig(path: string): Promise<AgentConfig> {
  const file = resolve(path);
  let text: string;
  try {
    const bytes = await readFile(file);
    if (bytes.length > MAX_CONFIG_BYTES) throw new Error(`larger than ${MAX_CONFIG_BYTES} bytes`);
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (e) {
    throw new StewardError("CONFIG_INVALID", `${file}: cannot read the configuration: ${e instanceof Error ? e.message : String(e)}`, {
      data: { file },
      where: { file, line: 1, column: 1 },
      hint: `create it (see steward fetch --help) or name another with --config; the default is ${DEFAULT_CONFIG_PATH}`,
    });
  }
  return parseConfig(text, file, readSmallFile);
}

/**
 * parseConfig validates configuration text as if read from `file` (an absolute path, used to
 * resolve relative paths and to place problems). With `readFile`, also checks the files the
 * configuration names (checkFiles); without, touches nothing. Throws CONFIG_INVALID as
 * loadConfig does, with every problem found.
 */
export function parseConfig(text: string, file: string, readFile?: ConfigFileReader): AgentConfig {
  const { parsed, diagnostics } = parseYaml(file, text);
  const problems: ConfigProblem[] = diagnostics.map((d) => ({ message: d.message, where: d.where, hint: d.hint ?? "fix the YAML syntax here" }));
  if (problems.length > 0) throw configError(file, problems);
  if (!validate(parsed.value)) {
    for (const e of validate.errors ?? []) problems.push(schemaProblem(e, parsed));
    throw configError(file, problems);
  }
  const raw = parsed.value as RawConfig;
  const base = dirname(file);
  const place = (path: PathSegment[]): Where => locate(parsed, path);
  if (raw.state !== undefined && !isAbsolute(raw.state)) {
    problems.push({
      message: `state ${JSON.stringify(raw.state)} is not an absolute path`,
      where: place(["state"]),
      hint: `write the state directory's absolute path, e.g. ${DEFAULT_STATE_DIR}; unlike the other paths it is not read from the configuration's folder`,
    });
  }
  if (raw.branch !== undefined && !isBranchName(raw.branch)) {
    problems.push({ message: `branch ${JSON.stringify(raw.branch)} is not a valid branch name`, where: place(["branch"]), hint: "use a plain branch name such as main" });
  }
  const seen = new Set<string>();
  const remotes: RemoteSpec[] = [];
  raw.remotes.forEach((r, i) => {
    if (seen.has(r.name)) problems.push({ message: `remote name ${r.name} is used twice`, where: place(["remotes", i, "name"]), hint: "give each remote its own name" });
    seen.add(r.name);
    try {
      const target = parseRemoteUrl(r.url);
      const own = r.key ?? (target.kind === "ssh" ? raw.key : undefined);
      const key = own === undefined ? undefined : resolve(base, own);
      const knownHosts = r.known_hosts === undefined ? undefined : resolve(base, r.known_hosts);
      if (target.kind !== "ssh") {
        for (const k of ["key", "known_hosts"] as const) {
          if (r[k] !== undefined) problems.push({ message: `${k} applies to ssh remotes only`, where: place(["remotes", i, k]), hint: `remove ${k}: from this ${target.kind} remote` });
        }
      } else {
        if (knownHosts === undefined) problems.push({ message: `ssh remote ${r.name} needs known_hosts`, where: place(["remotes", i]), hint: "pin the server's host key: add known_hosts: /usr/local/etc/steward/known_hosts" });
        for (const [k, v] of [["known_hosts", knownHosts], ["key", key]] as const) {
          if (v === undefined) continue;
          try {
            checkSshFilePath(k, v);
          } catch (e) {
            problems.push({ message: (e as StewardError).message, where: place(k === "key" && r.key === undefined ? ["key"] : ["remotes", i, k]), hint: (e as StewardError).hint ?? "" });
          }
        }
      }
      remotes.push({ name: r.name, url: r.url, target, key, knownHosts });
    } catch (e) {
      if (!(e instanceof StewardError)) throw e;
      problems.push({ message: e.message, where: place(["remotes", i, "url"]), hint: e.hint ?? "" });
    }
  });
  const config: AgentConfig = {
    file,
    node: raw.node,
    state: resolve(raw.state ?? DEFAULT_STATE_DIR),
    branch: raw.branch ?? DEFAULT_BRANCH,
    trust: resolve(base, raw.trust),
    revoked: raw.revoked === undefined ? undefined : resolve(base, raw.revoked),
    key: raw.key === undefined ? undefined : resolve(base, raw.key),
    timeout: raw.timeout ?? DEFAULT_TIMEOUT_SECONDS,
    interval: raw.interval ?? DEFAULT_INTERVAL_SECONDS,
    heartbeat: raw.heartbeat ?? DEFAULT_HEARTBEAT_SECONDS,
    maxSourceAge: raw.max_source_age,
    remotes,
    jailConfDir: raw.jail_conf_dir ?? DEFAULT_JAIL_CONF_DIR,
    pfConfirmWindow: raw.pf_confirm_window ?? DEFAULT_PF_CONFIRM_WINDOW,
    ...backupFiles(raw, base),
  };
  for (const [k, v] of [["backup_key", config.backupKey], ["backup_known_hosts", config.backupKnownHosts]] as const) {
    if (v === undefined || raw[k] === undefined) continue;
    try {
      checkSshFilePath(k, v);
    } catch (e) {
      problems.push({ message: (e as StewardError).message, where: place([k]), hint: (e as StewardError).hint ?? "" });
    }
  }
  if (readFile !== undefined) problems.push(...checkFiles(config, readFile, place));
  if (problems.length > 0) throw configError(file, problems.sort((a, b) => a.where.line - b.where.line || a.where.column - b.where.column));
  return config;
}

/** backupFiles resolves the backup_* paths; the backup key defaults to the node's key. */
function backupFiles(raw: RawConfig, base: string): Pick<AgentConfig, "backupKey" | "backupKnownHosts" | "backupIdentity"> {
  const key = raw.backup_key ?? raw.key;
  return {
    ...(key === undefined ? {} : { backupKey: resolve(base, key) }),
    ...(raw.backup_known_hosts === undefined ? {} : { backupKnownHosts: resolve(base, raw.backup_known_hosts) }),
    ...(raw.backup_identity === undefined ? {} : { backupIdentity: resolve(base, raw.backup_identity) }),
  };
}

/** What is read of a key file: its armor and cipher name, never the whole key. */
const KEY_HEAD_BYTES = 512;

/**
 * checkFiles reads the files a configuration names and returns what is wrong with each,
 * placed at the path in the configuration: the trust file must exist and be an allowed_signers
 * file ssh-keygen reads whole (every line parses) that trusts at least one key; the revocation
 * list and each ssh remote's known_hosts must exist and be readable; each ssh key must be a
 * private key ssh can use unattended (ssh-files.ts checkPrivateKey). Reads through `readFile`
 * only.
 */
function checkFiles(config: AgentConfig, readFile: ConfigFileReader, place: (path: PathSegment[]) => Where): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const relative = "a relative path is read from the configuration's folder";
  const trust = readFile(config.trust, MAX_TRUST_BYTES + 1);
  const atTrust = place(["trust"]);
  if (!trust.ok) {
    problems.push({ message: `trust: ${config.trust} ${trust.reason}`, where: atTrust, hint: `install the admins' allowed_signers file there, or fix the path (${relative})` });
  } else if (trust.size > MAX_TRUST_BYTES) {
    problems.push({ message: `trust: ${config.trust} is larger than ${MAX_TRUST_BYTES} bytes`, where: atTrust, hint: "an allowed_signers file lists a few admins' public keys; check that the path names it" });
  } else {
    let text: string | undefined;
    try {
      text = new TextDecoder("utf-8", { fatal: true }).decode(trust.bytes);
    } catch {
      problems.push({ message: `trust: ${config.trust} is not UTF-8 text`, where: atTrust, hint: "name an OpenSSH allowed_signers file" });
    }
    if (text !== undefined) {
      const check = checkAllowedSigners(text);
      for (const p of check.problems) {
        problems.push({ message: `trust: ${config.trust}:${p.line}: ${p.message}`, where: atTrust, hint: "write each line as: principals [options] keytype base64-key [comment] (ssh-keygen(1), ALLOWED SIGNERS)" });
      }
      if (check.problems.length === 0 && check.entries === 0) {
        problems.push({ message: `trust: ${config.trust} trusts no key`, where: atTrust, hint: "list at least one admin's key, e.g. admin@cluster namespaces=\"git\" ssh-ed25519 AAAA…" });
      }
    }
  }
  if (config.revoked !== undefined) {
    const revoked = readFile(config.revoked, 1);
    if (!revoked.ok) problems.push({ message: `revoked: ${config.revoked} ${revoked.reason}`, where: place(["revoked"]), hint: `create it (it may be empty) or fix the path (${relative}); remove revoked: if you keep no revocation list` });
  }
  const checkKey = (path: string, at: Where): void => {
    const key = readFile(path, KEY_HEAD_BYTES);
    if (!key.ok) problems.push({ message: `key: ${path} ${key.reason}`, where: at, hint: `create the node's key (steward init, or ssh-keygen -t ed25519 -N '' -f ${path}) or fix the path (${relative})` });
    else {
      const problem = checkPrivateKey(path, key);
      if (problem !== undefined) problems.push({ message: problem.message, where: at, hint: problem.hint });
    }
  };
  if (config.key !== undefined) checkKey(config.key, place(["key"]));
  if (config.backupKey !== undefined && config.backupKey !== config.key) checkKey(config.backupKey, place(["backup_key"]));
  for (const [k, v] of [["backup_known_hosts", config.backupKnownHosts], ["backup_identity", config.backupIdentity]] as const) {
    if (v === undefined) continue;
    const f = readFile(v, 1);
    if (!f.ok) problems.push({ message: `${k}: ${v} ${f.reason}`, where: place([k]), hint: `create it or fix the path (${relative})` });
  }
  config.remotes.forEach((r, i) => {
    if (r.target.kind !== "ssh") return;
    if (r.knownHosts !== undefined) {
      const kh = readFile(r.knownHosts, 1);
      if (!kh.ok) problems.push({ message: `known_hosts: ${r.knownHosts} ${kh.reason}`, where: place(["remotes", i, "known_hosts"]), hint: `pin the server's host key there (ssh-keyscan, then check the fingerprint), or fix the path (${relative})` });
    }
    // A remote without its own key uses the node's, checked above.
    if (r.key !== undefined && r.key !== config.key) checkKey(r.key, place(["remotes", i, "key"]));
  });
  return problems;
}

const HINTS: Readonly<Record<string, string>> = {
  node: "a lowercase name such as alpha, as in nodes/alpha.yaml",
  state: "an absolute directory path such as /var/db/steward",
  branch: "a branch name such as main",
  trust: "the path of an OpenSSH allowed_signers file",
  revoked: "the path of a file of revoked public keys (or a KRL)",
  timeout: "seconds, e.g. 30",
  interval: "seconds between reconciles, e.g. 60",
  heartbeat: "seconds between unchanged status commits, e.g. 900",
  max_source_age: "seconds, e.g. 604800 (a week)",
  jail_conf_dir: "an absolute directory such as /etc/jail.conf.d",
  pf_confirm_window: "seconds, e.g. 60 (0 turns the check off)",
  backup_key: "the path of the ssh private key for peers and remote stores",
  backup_known_hosts: "the path of a known_hosts file pinning the peers' and remote stores' host keys",
  backup_identity: "the path of an age identity file (age-keygen -o FILE)",
  remotes: "a list of {name, url} in priority order",
  name: "a lowercase name such as origin or mirror",
  url: "ssh://user@host/path, user@host:path, https://host/path, or /absolute/path",
  key: "the path of the ssh private key",
  known_hosts: "the path of a known_hosts file pinning the server's host key",
};

const TOP_KEYS = ["node", "state", "branch", "trust", "revoked", "key", "jail_conf_dir", "pf_confirm_window", "timeout", "interval", "heartbeat", "max_source_age", "backup_key", "backup_known_hosts", "backup_identity", "remotes"];
const REMOTE_KEYS = ["name", "url", "key", "known_hosts"];

function schemaProblem(e: ErrorObject, parsed: ParsedFile): ConfigProblem {
  const path = e.instancePath
    .split("/")
    .slice(1)
    .map((s) => s.replaceAll("~1", "/").replaceAll("~0", "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  const last = path.filter((s): s is string => typeof s === "string").at(-1);
  const hintFor = (key: string | undefined): string | undefined => (key !== undefined && Object.hasOwn(HINTS, key) ? HINTS[key] : undefined);
  if (e.keyword === "additionalProperties") {
    const key = String((e.params as { additionalProperty: unknown }).additionalProperty);
    const known = path.length === 0 ? TOP_KEYS : REMOTE_KEYS;
    return { message: `unknown key ${key}`, where: locate(parsed, path, key), hint: `remove it or fix its spelling; known keys here: ${known.join(", ")}` };
  }
  if (e.keyword === "required") {
    const key = String((e.params as { missingProperty: unknown }).missingProperty);
    return { message: `missing key ${key}`, where: locate(parsed, path), hint: `add ${key}: ${hintFor(key) ?? ""}` };
  }
  return { message: `${e.instancePath || "/"}: ${e.message ?? "invalid"}`, where: locate(parsed, path), hint: hintFor(last) ?? "see the example in steward fetch --help" };
}

function configError(file: string, problems: readonly ConfigProblem[]): StewardError {
  const first = problems[0] as ConfigProblem;
  return new StewardError("CONFIG_INVALID", `${first.where.file}:${first.where.line}:${first.where.column}: ${first.message}`, {
    data: { file, problems },
    where: first.where,
    hint: first.hint,
  });
}
