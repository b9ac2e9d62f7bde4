/**
 * The host facts of a status report (docs/agent.md, "Status"): the architecture, the OS
 * version and the health and free space of the node's pool. A thin observer (three short
 * commands, each under a deadline) around pure parsers; a fact that cannot be read is
 * reported as `unknown`, never as a failed run.
 *
 *   freebsd-version -u                 the userland version (14.2-RELEASE-p1); elsewhere
 *                                      (the test host) the kernel's name and release
 *   zpool list -H -o name,health POOL  ONLINE, DEGRADED, FAULTED... (zpool(8))
 *   zfs get -Hp -o value available POOL   free bytes a dataset can use (zfs(8); `zpool list -p`
 *                                      is not on every ZFS this runs on)
 */
import { machine, release, type } from "node:os";
import type { Executor } from "../exec.js";
import type { HostFacts, PoolFacts } from "../status/document.js";

const FACT_TIMEOUT_MS = 10_000;

/** What FreeBSD calls the architectures Node may report (uname -m on Linux says x86_64). */
const ARCH_NAMES: Readonly<Record<string, string>> = { x86_64: "amd64", aarch64: "arm64" };

/** architectureName maps `uname -m` to FreeBSD's name. Pure. */
export function architectureName(uname: string): string {
  return ARCH_NAMES[uname] ?? uname;
}

/** parsePoolHealth reads `zpool list -H -o name,health POOL`; undefined when it names another pool or none. Pure. */
export function parsePoolHealth(stdout: string, pool: string): string | undefined {
  for (const line of stdout.split("\n")) {
    const [name, health] = line.split("\t");
    if (name === pool && health !== undefined && /^[A-Z_]+$/.test(health.trim())) return health.trim();
  }
  return undefined;
}

/** parseAvailable reads `zfs get -Hp -o value available POOL`: a byte count, or undefined. Pure. */
export function parseAvailable(stdout: string): number | undefined {
  const text = stdout.trim();
  if (!/^\d{1,19}$/.test(text)) return undefined;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * observeHostFacts reads the facts for a node whose datasets live in `pool` (undefined: no
 * pool is known yet, e.g. the manifest never validated). Runs the commands above; never throws.
 */
export async function observeHostFacts(executor: Executor, pool: string | undefined): Promise<HostFacts> {
  const run = (argv: readonly [string, ...string[]]) =>
    executor.run(argv, { timeoutMs: FACT_TIMEOUT_MS, maxBuffer: 64 * 1024 }).catch(() => undefined);
  const version = await run(["freebsd-version", "-u"]);
  const osVersion = version?.exitCode === 0 && version.stdout.trim() !== "" ? version.stdout.trim() : `${type()} ${release()}`;
  const pools: PoolFacts[] = [];
  if (pool !== undefined) {
    const health = await run(["zpool", "list", "-H", "-o", "name,health", pool]);
    const free = await run(["zfs", "get", "-Hp", "-o", "value", "available", pool]);
    pools.push({
      name: pool,
      health: (health?.exitCode === 0 ? parsePoolHealth(health.stdout, pool) : undefined) ?? "UNKNOWN",
      freeBytes: (free?.exitCode === 0 ? parseAvailable(free.stdout) : undefined) ?? 0,
    });
  }
  return { architecture: architectureName(machine()), osVersion, pools };
}
