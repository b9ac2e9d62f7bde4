/**
 * `make bench`: Steward against ansible-playbook (Debian's ansible, community.general.zfs) on
 * real ZFS (zfs-fuse), for 10, 50 and 200 datasets: the first converge and a no-op run.
 * For each size, a fresh pool holds both trees (`<pool>/steward/...` and `<pool>/ansible/...`)
 * with the same properties. Steward is timed in-process (observe + plan + apply + records, as
 * the agent runs it every interval); ansible as the whole `ansible-playbook` run, as an admin
 * runs it. One line per figure:
 *   BENCH zfs-noop-200 steward=85ms baseline=ansible:38000ms ratio=447.1
 * STEWARD_BENCH_SIZES=10,50 picks other sizes. Exits 1 if a run does not converge.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemExecutor } from "../agent/src/exec.js";
import { silentLogger } from "../agent/src/log.js";
import type { DatasetSpec } from "../agent/src/manifest/types.js";
import { applyNode } from "../agent/src/reconcile.js";
import { containers, desiredState, ds } from "../test/drivers/zfs/build.js";
import { createTestPool, type TestPool } from "../test/helpers/zfs-pool.js";

const SIZES = (process.env["STEWARD_BENCH_SIZES"] ?? "10,50,200").split(",").map(Number);
const NOOP_RUNS = 5;
const ANSIBLE_TIMEOUT_MS = 20 * 60_000;

const PROPS = { compression: "gzip", atime: "off", quota: "1073741824", "org.example:backup": "daily" };

const PLAYBOOK = `- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: parent
      community.general.zfs:
        name: "{{ parent }}"
        state: present
        extra_zfs_properties: { mountpoint: none }
    - name: datasets
      community.general.zfs:
        name: "{{ item }}"
        state: present
        extra_zfs_properties:
          compression: gzip
          atime: "off"
          quota: 1G
          "org.example:backup": daily
      loop: "{{ names }}"
`;

function names(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `d${String(i).padStart(3, "0")}`);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

async function timeSteward(pool: TestPool, n: number, state: string): Promise<{ ms: number; actions: number; ok: boolean }> {
  const datasets: DatasetSpec[] = [...containers(pool.name, "bench"), ...names(n).map((d) => ds(`${pool.name}/steward/data/bench/${d}`, PROPS, "correct", "bench"))];
  const desired = desiredState(pool.name, datasets);
  const t0 = performance.now();
  const run = await applyNode(desired, { executor: systemExecutor, stateDir: state, log: silentLogger });
  return { ms: performance.now() - t0, actions: run.plan.actions.length, ok: run.result.ok };
}

async function timeAnsible(pool: TestPool, n: number, dir: string): Promise<{ ms: number; changed: number }> {
  const playbook = join(dir, "zfs.yml");
  const vars = join(dir, "vars.json");
  await writeFile(playbook, PLAYBOOK);
  await writeFile(vars, JSON.stringify({ parent: `${pool.name}/ansible`, names: names(n).map((d) => `${pool.name}/ansible/${d}`) }));
  const t0 = performance.now();
  const r = await systemExecutor.run(["ansible-playbook", "-i", "localhost,", "-e", `@${vars}`, playbook], {
    timeoutMs: ANSIBLE_TIMEOUT_MS,
    env: { ANSIBLE_NOCOLOR: "1", ANSIBLE_RETRY_FILES_ENABLED: "0", ANSIBLE_LOCALHOST_WARNING: "0", ANSIBLE_INVENTORY_UNPARSED_WARNING: "0", ANSIBLE_PYTHON_INTERPRETER: "auto_silent" },
  });
  const ms = performance.now() - t0;
  const recap = /ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0/.exec(r.stdout);
  if (r.exitCode !== 0 || recap === null) throw new Error(`ansible-playbook failed (exit ${r.exitCode}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-2000)}`);
  return { ms, changed: Number(recap[1]) };
}

function line(name: string, steward: number, ansible: number): string {
  return `BENCH ${name} steward=${Math.max(1, Math.round(steward))}ms baseline=ansible:${Math.round(ansible)}ms ratio=${(ansible / steward).toFixed(1)}`;
}

async function benchSize(n: number): Promise<void> {
  const pool = await createTestPool("stb", 512);
  const dir = await mkdtemp(join(tmpdir(), "steward-bench-"));
  try {
    const state = join(dir, "state");
    const first = await timeSteward(pool, n, state);
    if (!first.ok || first.actions !== n + 3) throw new Error(`steward first converge: ok=${first.ok} actions=${first.actions}`);
    const noops: number[] = [];
    for (let i = 0; i < NOOP_RUNS; i++) {
      const r = await timeSteward(pool, n, state);
      if (r.actions !== 0) throw new Error(`steward no-op run had ${r.actions} actions`);
      noops.push(r.ms);
    }
    const ansibleFirst = await timeAnsible(pool, n, dir);
    if (ansibleFirst.changed === 0) throw new Error("ansible first converge changed nothing");
    const ansibleNoop = await timeAnsible(pool, n, dir);
    if (ansibleNoop.changed !== 0) throw new Error(`ansible no-op changed ${ansibleNoop.changed}`);
    console.log(line(`zfs-converge-${n}`, first.ms, ansibleFirst.ms));
    console.log(line(`zfs-noop-${n}`, median(noops), ansibleNoop.ms));
  } finally {
    await pool.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

try {
  for (const n of SIZES) await benchSize(n);
} catch (e) {
  console.error(`bench zfs: ${e instanceof Error ? e.message : String(e)}`);
  process.exitCode = 1;
}
