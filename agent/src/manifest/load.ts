/**
 * The manifest step: from the files of one revision to a validated ClusterModel. Pure.
 *
 * Order: which files are manifests (and names from file names), YAML with positions, JSON
 * Schema, then the semantic checks. Every problem is collected; the model is returned only when
 * there is none, so nothing downstream ever sees a half-valid cluster.
 */
import type { Diagnostic, Where } from "../errors.js";
import { checkSemantics } from "./check.js";
import { durationSeconds } from "./duration.js";
import { DEFAULT_SSH_PORT, INTERNET, ROUTE_SHORTHANDS, isAddressTarget, splitRoute, type Entry, type Locate, type RawBackups, type RawCluster, type RawNode, type RawService } from "./raw.js";
import { validateSchema, type ManifestKind } from "./schema.js";
import { SNAPSHOT_PERIODS, type BackupPolicy, type BackupsSpec, type ClusterModel, type ClusterSpec, type NodeSpec, type RepoSnapshot, type RouteSpec, type ServiceSpec, type SnapshotPeriod, type SshEndpoint } from "./types.js";
import { locate, MAX_MANIFEST_BYTES, parseYaml, type ParsedFile } from "./yaml.js";

export interface LoadResult {
  /** Present only when there are no error diagnostics. */
  readonly model?: ClusterModel;
  /** Every problem, sorted by file and position. */
  readonly diagnostics: readonly Diagnostic[];
}

const NAME = /^[a-z](?:[a-z0-9-]{0,22}[a-z0-9])?$/;
const DEFAULT_JAILS_DIR = "/jails";
const DEFAULT_DOMAIN = "home.arpa";

/**
 * isManifestPath answers whether a repo path is read as a manifest: cluster.yaml and every YAML
 * file below nodes/ and services/ — also misnamed (.yml) or misplaced (in a sub-folder) ones,
 * so that validation points at them instead of silently skipping them. Pure.
 */
export function isManifestPath(path: string): boolean {
  return path === "cluster.yaml" || path === "cluster.yml" || /^(nodes|services)\/.+\.ya?ml$/.test(path);
}

/** loadModel validates a revision's manifests and builds the model. Never throws on bad input. */
export function loadModel(snapshot: RepoSnapshot): LoadResult {
  const diagnostics: Diagnostic[] = [];
  const top: Where = { file: "cluster.yaml", line: 1, column: 1 };
  const parsedFiles = new Map<string, ParsedFile>();
  const files: { kind: ManifestKind; name: string; file: string }[] = [];

  const oversized = snapshot.oversized ?? new Map<string, number>();
  const isManifest = (path: string): boolean => snapshot.manifests.has(path) || oversized.has(path);
  for (const file of [...new Set([...snapshot.manifests.keys(), ...oversized.keys()])].sort()) {
    const kind = classify(file);
    if (kind === "ignored") continue;
    const at: Where = { file, line: 1, column: 1 };
    if (kind === "wrong-extension") {
      diagnostics.push({ code: "MANIFEST_NAME", severity: "error", where: at, message: `${file}: manifests end in .yaml`, hint: `rename it to ${file.replace(/\.yml$/, ".yaml")}` });
      continue;
    }
    if (kind === "nested") {
      diagnostics.push({ code: "MANIFEST_NAME", severity: "error", where: at, message: `${file}: nodes/ and services/ hold files, not folders`, hint: `move it to ${file.split("/")[0]}/${file.split("/").pop() ?? ""}` });
      continue;
    }
    const name = kind === "cluster" ? "cluster" : baseName(file);
    if (kind !== "cluster" && !NAME.test(name)) {
      diagnostics.push({ code: "MANIFEST_NAME", severity: "error", where: at, message: `${file}: '${name}' is not a valid ${kind} name`, hint: "names are lowercase letters, digits and '-', start with a letter, end with a letter or digit, at most 24 characters" });
      continue;
    }
    files.push({ kind, name, file });
  }
  // A file in nodes/ or services/ that looks meant as a manifest but would be skipped.
  for (const path of [...snapshot.paths].sort()) {
    if (isManifest(path) || !/^(nodes|services)\//.test(path)) continue;
    const base = path.split("/").pop() ?? path;
    if (/\.ya?ml$/i.test(base) || !base.includes(".")) {
      diagnostics.push({ code: "MANIFEST_NAME", severity: "error", where: { file: path, line: 1, column: 1 }, message: `${path}: manifests end in .yaml`, hint: `rename it to ${path.replace(/(\.ya?ml)?$/i, ".yaml")}, or move it out of ${path.split("/")[0]}/` });
    }
  }
  if (!isManifest("cluster.yaml")) {
    diagnostics.push({ code: "MANIFEST_MISSING", severity: "error", where: top, message: "cluster.yaml is missing", hint: "every cluster repo has a cluster.yaml at its root; start from cluster-repo-template/" });
  }

  const valid = new Map<string, { kind: ManifestKind; name: string; file: string; value: unknown }>();
  const broken = { node: new Set<string>(), service: new Set<string>() };
  for (const f of files) {
    const text = snapshot.manifests.get(f.file) ?? "";
    const fileDiagnostics: Diagnostic[] = [];
    // Readers leave files over the limit unread (oversized); a snapshot built in memory may not.
    const size = oversized.get(f.file) ?? Buffer.byteLength(text, "utf8");
    if (size > MAX_MANIFEST_BYTES) {
      fileDiagnostics.push(oversizedManifest(f.file, size));
    } else {
      const { parsed, diagnostics: yamlDiagnostics } = parseYaml(f.file, text);
      parsedFiles.set(f.file, parsed);
      fileDiagnostics.push(...yamlDiagnostics);
      if (yamlDiagnostics.length === 0) fileDiagnostics.push(...validateSchema(f.kind, parsed));
      if (fileDiagnostics.length === 0) valid.set(f.file, { ...f, value: parsed.value });
    }
    diagnostics.push(...fileDiagnostics);
    if (fileDiagnostics.length > 0 && f.kind !== "cluster") broken[f.kind].add(f.name);
  }

  const entries = <T>(kind: ManifestKind): Entry<T>[] =>
    [...valid.values()].filter((v) => v.kind === kind).map((v) => ({ name: v.name, file: v.file, raw: v.value as T }));
  const cluster = entries<RawCluster>("cluster")[0];
  const nodes = entries<RawNode>("node");
  const services = entries<RawService>("service");
  const locateIn = (file: string, path: readonly (string | number)[], key?: string): Where => {
    const parsed = parsedFiles.get(file);
    return parsed === undefined ? { file, line: 1, column: 1 } : locate(parsed, path, key);
  };
  diagnostics.push(
    ...checkSemantics({ cluster, nodes, services, brokenNodes: broken.node, brokenServices: broken.service, paths: snapshot.paths, locate: locateIn }),
  );

  const sorted = diagnostics.sort(byPosition);
  if (sorted.some((d) => d.severity === "error") || cluster === undefined) return { diagnostics: sorted };
  const clusterSpec = { ...buildCluster(cluster.raw), protectWhere: locateIn(cluster.file, ["network", "protect"]) };
  return {
    model: {
      revision: snapshot.revision,
      cluster: clusterSpec,
      nodes: nodes.map((n) => buildNode(n, clusterSpec, locateIn)),
      services: services.map((s) => buildService(s, clusterSpec, nodes, locateIn)),
    },
    diagnostics: sorted,
  };
}

/** oversizedManifest is the diagnostic for a manifest file of `size` bytes, over the limit. */
export function oversizedManifest(file: string, size: number): Diagnostic {
  return {
    code: "MANIFEST_INVALID",
    severity: "error",
    where: { file, line: 1, column: 1 },
    message: `${file} is ${size} bytes, larger than the manifest limit of ${MAX_MANIFEST_BYTES} bytes (1 MiB)`,
    hint: "a manifest is a few KiB: move data into files/ and reference it with files.<path>.from",
  };
}

type FileKind = ManifestKind | "ignored" | "wrong-extension" | "nested";

function classify(file: string): FileKind {
  if (file === "cluster.yaml") return "cluster";
  if (file === "cluster.yml") return "wrong-extension";
  const parts = file.split("/");
  const dir = parts[0];
  if (dir !== "nodes" && dir !== "services") return "ignored";
  if (!/\.ya?ml$/.test(file)) return "ignored";
  if (parts.length > 2) return "nested";
  if (file.endsWith(".yml")) return "wrong-extension";
  return dir === "nodes" ? "node" : "service";
}

function baseName(file: string): string {
  return (file.split("/").pop() ?? file).replace(/\.yaml$/, "");
}

function byPosition(a: Diagnostic, b: Diagnostic): number {
  return a.where.file < b.where.file ? -1 : a.where.file > b.where.file ? 1 : a.where.line - b.where.line || a.where.column - b.where.column;
}

function buildCluster(raw: RawCluster): ClusterSpec {
  const backups = raw.backups === undefined ? undefined : buildBackups(raw.backups);
  return {
    domain: raw.domain ?? DEFAULT_DOMAIN,
    jailNetwork: raw.network.jails,
    protect: [...raw.network.protect],
    release: raw.defaults?.release,
    drift: raw.defaults?.drift ?? "correct",
    datasetDefaults: { ...(raw.defaults?.datasets ?? {}) },
    ...(raw.defaults?.budget === undefined ? {} : { budget: durationSeconds(raw.defaults.budget) }),
    ...(backups === undefined ? {} : { backups }),
    ...(raw.defaults?.backup === undefined ? {} : { backup: raw.defaults.backup }),
  };
}

const DEFAULT_REMOTE_EVERY = "1d";
const DEFAULT_COLD_EVERY = "1w";
const DEFAULT_DRILL = "1w";

function buildBackups(raw: RawBackups): BackupsSpec {
  const policies: Record<string, BackupPolicy> = {};
  for (const [name, p] of Object.entries(raw.policies ?? {})) {
    const keep: Partial<Record<SnapshotPeriod, number>> = {};
    for (const period of SNAPSHOT_PERIODS) {
      const n = p.keep[period];
      if (n !== undefined && n > 0) keep[period] = n;
    }
    const replica = p.replica === undefined ? undefined : typeof p.replica === "string" || Array.isArray(p.replica) ? { to: p.replica, every: undefined } : (p.replica as { to: string | readonly string[]; every?: string });
    policies[name] = {
      name,
      keep,
      ...(replica === undefined ? {} : { replica: { to: typeof replica.to === "string" ? [replica.to] : [...replica.to], every: replica.every === undefined ? undefined : durationSeconds(replica.every) } }),
      ...(p.cold === undefined ? {} : { cold: typeof p.cold === "string" ? { pool: p.cold, every: durationSeconds(DEFAULT_COLD_EVERY) } : { pool: p.cold.pool, every: durationSeconds(p.cold.every ?? DEFAULT_COLD_EVERY) } }),
      ...(p.remote === undefined ? {} : { remote: typeof p.remote === "string" ? { to: p.remote, every: durationSeconds(DEFAULT_REMOTE_EVERY) } : { to: p.remote.to, every: durationSeconds(p.remote.every ?? DEFAULT_REMOTE_EVERY) } }),
    };
  }
  const remotes: Record<string, SshEndpoint> = {};
  for (const [name, url] of Object.entries(raw.remotes ?? {})) remotes[name] = parseSshEndpoint(url);
  return { recipients: [...(raw.recipients ?? [])], remotes, policies, drill: durationSeconds(raw.drill ?? DEFAULT_DRILL) };
}

/** parseSshEndpoint reads a schema-valid `ssh://[user@]host[:port]`. */
export function parseSshEndpoint(url: string): SshEndpoint {
  const m = /^ssh:\/\/(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::([0-9]+))?$/.exec(url);
  if (m === null) throw new Error(`not an ssh endpoint: ${url}`);
  const host = (m[2] as string).replace(/^\[(.*)\]$/, "$1");
  return { user: m[1], host, port: m[3] === undefined ? undefined : Number(m[3]) };
}

function buildNode(e: Entry<RawNode>, cluster: ClusterSpec, locate: Locate): NodeSpec {
  return {
    name: e.name,
    arch: e.raw.arch,
    pool: e.raw.pool,
    interface: e.raw.interface,
    address: e.raw.address,
    ssh: e.raw.ssh ?? DEFAULT_SSH_PORT,
    ...(e.raw.receive === undefined ? {} : { receive: parseSshEndpoint(e.raw.receive) }),
    release: e.raw.release ?? cluster.release,
    jails: (e.raw.jails ?? DEFAULT_JAILS_DIR).replace(/(.)\/+$/, "$1"),
    destroy: [...(e.raw.destroy ?? [])],
    ...(e.raw.key === undefined ? {} : { key: e.raw.key }),
    ...(e.raw.down === true ? { down: true, downWhere: locate(e.file, ["down"]) } : {}),
    where: { file: e.file, line: 1, column: 1 },
    ...(e.raw.jails === undefined ? {} : { jailsWhere: locate(e.file, ["jails"]) }),
  };
}

function buildService(e: Entry<RawService>, cluster: ClusterSpec, nodes: readonly Entry<RawNode>[], locate: Locate): ServiceSpec {
  const { raw } = e;
  const node = nodes.find((n) => n.name === raw.node);
  return {
    name: e.name,
    node: raw.node,
    drift: raw.drift ?? cluster.drift,
    ip: raw.jail.ip,
    ipWhere: locate(e.file, ["jail", "ip"]),
    release: raw.jail.release ?? node?.raw.release ?? cluster.release,
    packages: [...(raw.jail.packages ?? [])],
    services: [...(raw.jail.services ?? [])],
    rc: Object.fromEntries(Object.entries(raw.jail.rc ?? {}).map(([k, v]) => [k, String(v)])),
    datasets: Object.entries(raw.datasets ?? {}).map(([name, props]) => {
      const { mount, backup, ...rest } = props;
      return {
        name,
        mount: mount?.replace(/(.)\/+$/, "$1"),
        ...(mount === undefined ? {} : { mountWhere: locate(e.file, ["datasets", name, "mount"]) }),
        properties: { ...cluster.datasetDefaults, ...rest },
        ...policyOf(backup ?? raw.backup ?? cluster.backup),
        where: { file: e.file, line: 1, column: 1 },
      };
    }),
    files: Object.entries(raw.files ?? {}).map(([path, f]) => ({ path, from: f.from, mode: f.mode, owner: f.owner, restart: [...(f.restart ?? [])] })),
    expose: (raw.expose ?? []).map((spec, i) => ({ ...parsePort(spec), where: locate(e.file, ["expose", i]) })),
    routes: (raw.routes ?? []).flatMap((spec, i) => parseRoute(spec).map((r) => ({ ...r, where: locate(e.file, ["routes", i]), text: spec }))),
    ...(raw.budget !== undefined ? { budget: durationSeconds(raw.budget) } : cluster.budget !== undefined ? { budget: cluster.budget } : {}),
    ...policyOf(raw.backup ?? cluster.backup),
    where: { file: e.file, line: 1, column: 1 },
  };
}

/** policyOf is the `backup` field of a service or dataset: absent for none. */
function policyOf(name: string | undefined): { backup?: string } {
  return name === undefined || name === "none" ? {} : { backup: name };
}

function parsePort(spec: string): { port: number; proto: "tcp" | "udp" } {
  const [port, proto] = spec.split("/");
  return { port: Number(port), proto: proto === "udp" ? "udp" : "tcp" };
}

function parseRoute(spec: string): RouteSpec[] {
  const shorthand = Object.hasOwn(ROUTE_SHORTHANDS, spec) ? ROUTE_SHORTHANDS[spec] : undefined;
  if (shorthand !== undefined) return shorthand.map((p) => ({ to: INTERNET, ...p }));
  const r = splitRoute(spec);
  if (r === undefined) return [];
  if (isAddressTarget(r.target)) return [{ to: INTERNET, net: r.target.includes("/") ? r.target : `${r.target}/32`, port: r.port, proto: r.proto }];
  return [{ to: r.target, port: r.port, proto: r.proto }];
}
