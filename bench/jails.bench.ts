/**
 * `make bench`: a no-op reconcile of a node with 6 and with 60 jails (observe + plan + apply +
 * records, as the agent runs it every interval), against the check an admin's shell script
 * does for the same jails: per jail `jls -j`, `pkg -j … query`, `sysrc -j -n` per rc variable,
 * `cmp` per file, `service -j … status` per rc service. Both run against the same simulated
 * jail tools (sim/README.md) and the same jails, on a real zfs-fuse pool (their roots are
 * clones of the base release). Each jail: one package, one rc variable, one file, one service.
 * Two lines per size:
 *   BENCH jails-noop-60 steward=14.2ms/jail baseline=shell-loop:410.3ms/jail ratio=28.9
 *   BENCH jails-noop-60-commands steward=1.03cmd/jail baseline=shell-loop:4.00cmd/jail ratio=3.9
 * Commands are the jail tools' invocations for both (the simulator's `calls.jsonl`: what would
 * be jail, jls, jexec, sysrc, pkg and service processes on FreeBSD); Steward's other commands
 * (its ZFS reads) are a constant per node. STEWARD_BENCH_JAILS=6,60 picks other sizes. Exits 1 if a
 * run does not converge, the no-op is not one, or Steward's jail commands grow faster than one
 * per jail.
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemExecutor, type Executor } from "../agent/src/exec.js";
import { silentLogger } from "../agent/src/log.js";
import type { DesiredState } from "../agent/src/manifest/types.js";
import { applyNode, desiredFromDir, type ContentStore } from "../agent/src/reconcile.js";
import { useSimulator, type Simulator } from "../test/helpers/sim.js";
import { createTestPool, installBase, TEST_RELEASE, type TestPool } from "../test/helpers/zfs-pool.js";

const SIZES = (process.env["STEWARD_BENCH_JAILS"] ?? "6,60").split(",").map(Number);
const NOOP_RUNS = 5;
const SHELL_RUNS = 3;
const SHELL_TIMEOUT_MS = 10 * 60_000;
/** The simulated tools, by name: what the jail driver and the shell loop run. */
const JAIL_TOOLS = new Set(["jail", "jls", "jexec", "sysrc", "pkg", "service"]);

/** What an admin's check script does per jail. Exits 1 (naming the jail) when anything differs. */
const SHELL_LOOP = `set -u
status=0
for j in $JAIL_NAMES; do
  if ! jls -j "$j" jid >/dev/null 2>&1; then echo "$j: not running"; status=1; continue; fi
  pkg -j "$j" query -a %n | grep -qx nginx || { echo "$j: nginx is not installed"; status=1; }
  [ "$(sysrc -j "$j" -n nginx_enable)" = YES ] || { echo "$j: nginx_enable is not YES"; status=1; }
  cmp -s "$JAILS_DIR/$j/usr/local/etc/nginx/nginx.conf" "$REPO/files/$j/nginx.conf" || { echo "$j: nginx.conf differs"; status=1; }
  service -j "$j" nginx status >/dev/null || { echo "$j: nginx is not running"; status=1; }
done
exit $status
`;

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `web${String(i).padStart(3, "0")}`);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** writeRepo writes a cluster repo of one node (on the bench pool) running `n` web jails. */
async function writeRepo(repo: string, pool: TestPool, n: number): Promise<void> {
  await mkdir(join(repo, "nodes"), { recursive: true });
  await mkdir(join(repo, "services"), { recursive: true });
  await writeFile(join(repo, "cluster.yaml"), `domain: home.arpa\nnetwork:\n  jails: 10.17.0.0/16\n  protect: [192.168.1.0/24]\ndefaults:\n  release: ${TEST_RELEASE}\n  datasets: { compression: gzip }\n`);
  await writeFile(join(repo, "nodes", "alpha.yaml"), `arch: amd64\npool: ${pool.name}\ninterface: em0\njails: ${pool.dir}/jails\n`);
  for (const [i, name] of names(n).entries()) {
    await mkdir(join(repo, "files", name), { recursive: true });
    await writeFile(join(repo, "files", name, "nginx.conf"), `# ${name}\nworker_processes 1;\nevents { worker_connections 64; }\n`);
    await writeFile(
      join(repo, "services", `${name}.yaml`),
      [
        "node: alpha",
        "jail:",
        `  ip: 10.17.${1 + Math.floor(i / 200)}.${1 + (i % 200)}`,
        "  packages: [nginx]",
        "  services: [nginx]",
        '  rc: { nginx_enable: "YES" }',
        "files:",
        `  /usr/local/etc/nginx/nginx.conf: { from: files/${name}/nginx.conf, restart: [nginx] }`,
        "",
      ].join("\n"),
    );
  }
}

/** countingExecutor runs on the host and counts the commands, by program. */
function countingExecutor(): Executor & { readonly counts: Map<string, number> } {
  const counts = new Map<string, number>();
  return {
    counts,
    writeFile: (path, data, mode) => systemExecutor.writeFile(path, data, mode),
    run(argv, options) {
      counts.set(argv[0], (counts.get(argv[0]) ?? 0) + 1);
      return systemExecutor.run(argv, options);
    },
  };
}

/** simCalls is how many simulated tool processes have run so far. */
function simCalls(sim: Simulator): number {
  const path = join(sim.root, "calls.jsonl");
  return existsSync(path) ? readFileSync(path, "utf8").split("\n").filter((l) => l !== "").length : 0;
}

interface Node {
  readonly desired: DesiredState;
  readonly contents: ContentStore;
}

async function loadNode(repo: string, confDir: string): Promise<Node> {
  const d = await desiredFromDir(repo, "alpha");
  if (d.desired === undefined) throw new Error(`the generated repo does not validate: ${JSON.stringify(d.diagnostics.slice(0, 3))}`);
  return { desired: { ...d.desired, host: { jailConfDir: confDir } }, contents: d.contents };
}

async function runShellLoop(n: number, pool: TestPool, repo: string, dir: string): Promise<number> {
  const script = join(dir, "check-jails.sh");
  await writeFile(script, SHELL_LOOP);
  const t0 = performance.now();
  const r = await new Promise<{ code: number | null; out: string }>((resolve, reject) => {
    const child = spawn("/bin/sh", [script], {
      env: { ...process.env, JAIL_NAMES: names(n).join(" "), JAILS_DIR: join(pool.dir, "jails"), REPO: repo },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: SHELL_TIMEOUT_MS,
    });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (out += b.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
  const ms = performance.now() - t0;
  if (r.code !== 0) throw new Error(`the shell loop found differences (exit ${r.code}):\n${r.out.slice(0, 2000)}`);
  return ms;
}

function line(name: string, steward: number, baseline: number, unit: string, digits: number): string {
  return `BENCH ${name} steward=${steward.toFixed(digits)}${unit} baseline=shell-loop:${baseline.toFixed(digits)}${unit} ratio=${(baseline / steward).toFixed(1)}`;
}

async function benchSize(n: number): Promise<void> {
  const pool = await createTestPool("stjb", 256 + 8 * n);
  const sim = useSimulator();
  const dir = await mkdtemp(join(tmpdir(), "steward-bench-jails-"));
  try {
    await installBase(pool);
    const repo = join(dir, "repo");
    const state = join(dir, "state");
    const confDir = join(dir, "jail.conf.d");
    await mkdir(confDir);
    await writeRepo(repo, pool, n);
    const node = await loadNode(repo, confDir);
    const ctx = (executor: Executor) => ({ executor, stateDir: state, log: silentLogger, contents: node.contents });

    const first = await applyNode(node.desired, ctx(systemExecutor));
    if (!first.result.ok) throw new Error(`the first converge failed: ${JSON.stringify(first.result.outcomes.filter((o) => o.status !== "applied").slice(0, 3))}`);

    const stewardMs: number[] = [];
    let stewardSim = 0;
    for (let i = 0; i < NOOP_RUNS; i++) {
      const ex = countingExecutor();
      const simBefore = simCalls(sim);
      const t0 = performance.now();
      const run = await applyNode(node.desired, ctx(ex));
      stewardMs.push(performance.now() - t0);
      if (run.plan.actions.length !== 0) throw new Error(`the no-op run planned ${run.plan.actions.length} actions: ${run.plan.actions.slice(0, 3).map((a) => a.id).join(", ")}`);
      const jailCommands = [...ex.counts].filter(([p]) => JAIL_TOOLS.has(p)).reduce((s, [, c]) => s + c, 0);
      if (jailCommands > n + 2) throw new Error(`a no-op ran ${jailCommands} jail commands for ${n} jails (at most one per jail and two per node)`);
      stewardSim = simCalls(sim) - simBefore;
    }

    const shellMs: number[] = [];
    let shellSim = 0;
    for (let i = 0; i < SHELL_RUNS; i++) {
      const simBefore = simCalls(sim);
      shellMs.push(await runShellLoop(n, pool, repo, dir));
      shellSim = simCalls(sim) - simBefore;
    }

    console.log(line(`jails-noop-${n}`, median(stewardMs) / n, median(shellMs) / n, "ms/jail", 1));
    console.log(line(`jails-noop-${n}-commands`, stewardSim / n, shellSim / n, "cmd/jail", 2));
  } finally {
    sim.close();
    await pool.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

try {
  for (const n of SIZES) await benchSize(n);
} catch (e) {
  console.error(`bench jails: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
