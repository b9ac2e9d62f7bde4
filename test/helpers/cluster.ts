/**
 * The pieces of a cluster on one machine, shared by the end-to-end test, `make demo` and the
 * cluster benchmark: nodes (each with its own zfs-fuse pool holding the base release, its own
 * jail.conf.d and its own simulated FreeBSD host, sim/README.md), the starter cluster repo
 * written for them, their agent configurations, and a git server's bare repository with
 * Steward's hooks installed as hooks/README.md says. Test code: runs git directly.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, cpSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI_MAIN, REPO_ROOT } from "./cli.js";
import { SIM_BIN } from "./sim.js";
import { TEMPLATE_DIR } from "./template.js";
import { createTestPool, installBase, type TestPool } from "./zfs-pool.js";

export interface ClusterNode {
  readonly name: string;
  readonly pool: TestPool;
  /** `<root>/<name>`: the node's files. */
  readonly dir: string;
  /** Where `steward.yaml`, the key and the bootstrap trust go. */
  readonly etc: string;
  readonly config: string;
  readonly state: string;
  readonly jailConfDir: string;
  /** STEWARD_SIM_ROOT: this node's simulated jails, rc and pf. */
  readonly simRoot: string;
  /** The environment of the node's processes: the simulated tools first on PATH, its own host. */
  readonly env: NodeJS.ProcessEnv;
}

/**
 * makeNode creates a node under `<root>/<name>`: a pool `<poolPrefix><hex>` of `poolMb` MiB with
 * the base release installed (docs/jails.md), a jail.conf.d and a simulated host.
 */
export async function makeNode(root: string, name: string, poolPrefix: string, poolMb = 128): Promise<ClusterNode> {
  const dir = join(root, name);
  const pool = await createTestPool(poolPrefix, poolMb);
  try {
    await installBase(pool);
  } catch (e) {
    await pool.destroy();
    throw e;
  }
  const etc = join(dir, "etc");
  const jailConfDir = join(dir, "jail.conf.d");
  const simRoot = join(dir, "sim");
  for (const d of [etc, jailConfDir, simRoot]) mkdirSync(d, { recursive: true });
  const env = { ...process.env, PATH: `${SIM_BIN}:${process.env["PATH"] ?? "/usr/bin:/bin"}`, STEWARD_SIM_ROOT: simRoot };
  // The node's own pf.conf, as README.md ("Network isolation") has the admin write it, loaded
  // and pf enabled: the anchor Steward loads is then in force.
  const pfConf = join(etc, "pf.conf");
  writeFileSync(pfConf, NODE_PF_CONF);
  for (const args of [["-f", pfConf], ["-e"]]) execFileSync("pfctl", args, { env, stdio: ["ignore", "ignore", "pipe"] });
  return { name, pool, dir, etc, config: join(etc, "steward.yaml"), state: join(dir, "state"), jailConfDir, simRoot, env };
}

/** A node's /etc/pf.conf: Steward's anchors, then the operator's own rules. */
const NODE_PF_CONF = 'nat-anchor "steward"\nrdr-anchor "steward"\nanchor "steward"\npass all\n';

export interface NodeConfigOptions {
  readonly trust: string;
  readonly key: string;
  readonly remotes: readonly { readonly name: string; readonly url: string }[];
  readonly interval?: number;
  readonly timeout?: number;
  readonly heartbeat?: number;
}

/** writeNodeConfig writes the node's steward.yaml (README.md, step 6) and returns its path. */
export function writeNodeConfig(node: ClusterNode, o: NodeConfigOptions): string {
  const lines = [
    `node: ${node.name}`,
    `state: ${node.state}`,
    `trust: ${o.trust}`,
    `key: ${o.key}`,
    `jail_conf_dir: ${node.jailConfDir}`,
    `timeout: ${o.timeout ?? 10}`,
    `interval: ${o.interval ?? 3600}`,
    ...(o.heartbeat === undefined ? [] : [`heartbeat: ${o.heartbeat}`]),
    "remotes:",
    ...o.remotes.flatMap((r) => [`  - name: ${r.name}`, `    url: ${r.url}`]),
    "",
  ];
  writeFileSync(node.config, lines.join("\n"));
  return node.config;
}

/**
 * templateOnNodes writes cluster-repo-template/ to `dest` for nodes on this machine: each
 * `nodes/<name>.yaml` names the node's pool, its jail roots under `<pool dir>/jails`, and its
 * key (`keys[name]`, an OpenSSH public key line, as `steward init` prints it); gzip instead of
 * lz4 (zfs-fuse has no lz4). The nodes must be the template's (alpha, beta, pi).
 */
export function templateOnNodes(dest: string, nodes: readonly ClusterNode[], keys: Readonly<Record<string, string>> = {}): void {
  cpSync(TEMPLATE_DIR, dest, { recursive: true });
  const names = readdirSync(join(dest, "nodes")).map((f) => f.replace(/\.yaml$/, ""));
  for (const n of nodes) {
    if (!names.includes(n.name)) throw new Error(`templateOnNodes: the template has no node ${n.name}`);
    const file = join(dest, "nodes", `${n.name}.yaml`);
    const key = keys[n.name];
    const text = readFileSync(file, "utf8").replace(/^pool: .*$/m, `pool: ${n.pool.name}`);
    writeFileSync(file, `${text}jails: ${n.pool.dir}/jails\n${key === undefined ? "" : `key: ${key}\n`}`);
  }
  const cluster = join(dest, "cluster.yaml");
  writeFileSync(cluster, readFileSync(cluster, "utf8").replace("compression: lz4", "compression: gzip"));
}

/**
 * installHooks makes `bare` a git server's repository as hooks/README.md says: pre-receive and
 * post-receive installed, `steward.bin` a wrapper that runs the built CLI, `steward.trust` the
 * nodes' bootstrap trust file.
 */
export function installHooks(bare: string, bootstrapTrust: string): void {
  for (const hook of ["pre-receive", "post-receive"]) {
    copyFileSync(join(REPO_ROOT, "hooks", hook), join(bare, "hooks", hook));
    chmodSync(join(bare, "hooks", hook), 0o755);
  }
  const wrapper = join(bare, "hooks", "steward");
  writeFileSync(wrapper, `#!/bin/sh\nexec '${process.execPath}' '${CLI_MAIN}' "$@"\n`);
  chmodSync(wrapper, 0o755);
  execFileSync("git", ["-C", bare, "config", "steward.bin", wrapper]);
  execFileSync("git", ["-C", bare, "config", "steward.trust", bootstrapTrust]);
}
