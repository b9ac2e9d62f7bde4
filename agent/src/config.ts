/**
 * The agent's node-local configuration: a YAML file (default /usr/local/etc/steward/steward.yaml)
 * naming this node, its state directory, the tracked branch, the bootstrap trust store and the
 * remotes in priority order. Parsed with duplicate keys refused, validated with ajv (JSON Schema
 * 2020-12, strict) against config.schema.json, then checked for what a schema cannot say
 * (URLs, unique remote names, ssh-only options). Relative paths resolve against the file's
 * directory.
 *
 * ```yaml
 * node: alpha
 * state: /var/db/steward
 * branch: main
 * trust: /usr/local/etc/steward/allowed_signers
 * revoked: /usr/local/etc/steward/revoked_keys   # optional
 * timeout: 30
 * remotes:
 *   - name: origin
 *     url: ssh://git@git.home.arpa:22/srv/git/cluster.git
 *     key: /usr/local/etc/steward/id_ed25519
 *     known_hosts: /usr/local/etc/steward/known_hosts
 *   - name: mirror
 *     url: /mnt/mirror/cluster.git
 * ```
 */
import { readFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import type { ErrorObject } from "ajv";
import { StewardError, type Where } from "./errors.js";
import { locate, parseYaml, type ParsedFile, type PathSegment } from "./manifest/yaml.js";
import { config as validate } from "./validators.js";
import { checkSshFilePath, isBranchName, parseRemoteUrl, type RemoteSpec } from "./source/remotes.js";

export const DEFAULT_CONFIG_PATH = "/usr/local/etc/steward/steward.yaml";
export const DEFAULT_STATE_DIR = "/var/db/steward";
export const DEFAULT_BRANCH = "main";
export const DEFAULT_TIMEOUT_SECONDS = 30;
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
  /** Seconds allowed for each remote operation. */
  readonly timeout: number;
  /** In priority order. */
  readonly remotes: readonly RemoteSpec[];
}

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
  timeout?: number;
  remotes: { name: string; url: string; key?: string; known_hosts?: string }[];
}

/**
 * loadConfig reads and validates the configuration file at `path`. Throws CONFIG_INVALID
 * naming `file:line:column` of the first problem (all problems are in `data.problems`), with a
 * hint; also when the file cannot be read.
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
  return parseConfig(text, file);
}

/**
 * parseConfig validates configuration text as if read from `file` (an absolute path, used to
 * resolve relative paths and to place problems). Throws CONFIG_INVALID as loadConfig does.
 */
export function parseConfig(text: string, file: string): AgentConfig {
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
      const key = r.key === undefined ? undefined : resolve(base, r.key);
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
            problems.push({ message: (e as StewardError).message, where: place(["remotes", i, k]), hint: (e as StewardError).hint ?? "" });
          }
        }
      }
      remotes.push({ name: r.name, url: r.url, target, key, knownHosts });
    } catch (e) {
      if (!(e instanceof StewardError)) throw e;
      problems.push({ message: e.message, where: place(["remotes", i, "url"]), hint: e.hint ?? "" });
    }
  });
  if (problems.length > 0) throw configError(file, problems);
  return {
    file,
    node: raw.node,
    state: resolve(base, raw.state ?? DEFAULT_STATE_DIR),
    branch: raw.branch ?? DEFAULT_BRANCH,
    trust: resolve(base, raw.trust),
    revoked: raw.revoked === undefined ? undefined : resolve(base, raw.revoked),
    timeout: raw.timeout ?? DEFAULT_TIMEOUT_SECONDS,
    remotes,
  };
}

const HINTS: Readonly<Record<string, string>> = {
  node: "a lowercase name such as alpha, as in nodes/alpha.yaml",
  state: "a directory path such as /var/db/steward",
  branch: "a branch name such as main",
  trust: "the path of an OpenSSH allowed_signers file",
  revoked: "the path of a file of revoked public keys (or a KRL)",
  timeout: "seconds, e.g. 30",
  remotes: "a list of {name, url} in priority order",
  name: "a lowercase name such as origin or mirror",
  url: "ssh://user@host/path, user@host:path, https://host/path, or /absolute/path",
  key: "the path of the ssh private key",
  known_hosts: "the path of a known_hosts file pinning the server's host key",
};

const TOP_KEYS = ["node", "state", "branch", "trust", "revoked", "timeout", "remotes"];
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
