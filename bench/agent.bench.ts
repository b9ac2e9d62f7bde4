/**
 * `make bench`: the agent. On a zfs-fuse pool and the FreeBSD tool simulator, a node with three
 * jailed services, admin-signed commits:
 *
 * - agent-push-to-converged: from `git push` of a one-file change to the agent's log line saying
 *   it converged, with the trigger (the remote is a local path the agent watches; its interval is
 *   an hour). Baseline: the same agent polling an http remote every 5 s, the shortest interval
 *   it allows (Flux and comin poll every 60 s, twelve times longer).
 * - agent-noop-cycle: one run with nothing to do (fetch, validate, observe, plan, status), in
 *   process. Baseline: native `git fetch` plus the very commands that run issued, run one by one.
 * - agent-idle-rss: the agent's resident memory while it waits, against `node -e` and against a
 *   node that only imports the runtime dependencies.
 */
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runOnce } from "../agent/src/agent/run.js";
import { loadConfig } from "../agent/src/config.js";
import { systemExecutor, type Argv, type Executor } from "../agent/src/exec.js";
import { silentLogger } from "../agent/src/log.js";
import { FetchIsolate } from "../agent/src/source/fetch-isolated.js";
import { startAgent, type AgentProcess, type LogLine } from "../test/helpers/agent-process.js";
import { REPO_ROOT } from "../test/helpers/cli.js";
import { startGitHttpServer } from "../test/helpers/git-http-server.js";
import { WorkRepo, makeBare, makeKey, makeTempDir, removeDir, writeAllowedSigners } from "../test/helpers/keys.js";
import { useSimulator } from "../test/helpers/sim.js";
import { TEST_RELEASE, createTestPool, installBase } from "../test/helpers/zfs-pool.js";

const PUSHES = 5;
const POLL_PUSHES = 3;
const NOOP_RUNS = 10;
/** Runs a command to its end without blocking the event loop (the http server lives in this process). */
const run = promisify(execFile);

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function bench(name: string, steward: number, unit: string, baselineName: string, baseline: number): void {
  console.log(`BENCH ${name} steward=${steward.toFixed(unit === "MiB" ? 1 : 0)}${unit} baseline=${baselineName}:${baseline.toFixed(unit === "MiB" ? 1 : 0)}${unit} ratio=${(baseline / steward).toFixed(2)}`);
}

/** rssMiB reads a live process's resident set size (Linux /proc). */
function rssMiB(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]) / 1024;
}

/** idleRss starts `node args`, waits `settleMs`, and returns its RSS. */
async function idleRss(args: readonly string[], settleMs: number): Promise<number> {
  const child = spawn(process.execPath, args, { stdio: "ignore", cwd: REPO_ROOT });
  await new Promise((r) => setTimeout(r, settleMs));
  const rss = rssMiB(child.pid as number);
  child.kill("SIGKILL");
  return rss;
}

const root = makeTempDir("steward-bench-agent-");
const sim = useSimulator();
const pool = await createTestPool("bag");
try {
  await installBase(pool);
  const admin = makeKey(join(root, "keys"), "admin");
  const node = makeKey(join(root, "etc"), "id_ed25519");
  const trust = writeAllowedSigners(join(root, "etc", "allowed_signers"), [{ principal: "admin@cluster", key: admin }]);
  mkdirSync(join(root, "srv"));
  const bare = makeBare(join(root, "srv", "cluster.git"));
  const http = await startGitHttpServer(join(root, "srv"), { remoteUser: "n1" });
  mkdirSync(join(root, "jail.conf.d"));
  const work = WorkRepo.create(join(root, "work"));
  let quota = 1;
  const push = (): string => {
    quota += 1;
    work.write("cluster.yaml", `network:\n  jails: 10.17.0.0/24\n  protect: [192.168.1.0/24]\ndefaults:\n  release: ${TEST_RELEASE}\n  datasets: { compression: gzip }\n`);
    work.write("nodes/n1.yaml", `arch: amd64\npool: ${pool.name}\ninterface: em0\njails: ${pool.dir}/jails\n`);
    for (const [i, s] of ["blog", "git", "taskd"].entries()) {
      work.write(`services/${s}.yaml`, `node: n1\njail:\n  ip: 10.17.0.${40 + i}\ndatasets:\n  data: { mount: /data, quota: ${s === "blog" ? quota : 1}G }\n`);
    }
    const oid = work.commit(`quota ${quota}G`, { signer: admin });
    work.push(bare);
    return oid;
  };
  const configFile = (name: string, url: string, interval: number): string => {
    const file = join(root, "etc", `${name}.yaml`);
    writeFileSync(file, [`node: n1`, `state: ${join(root, "state")}`, `trust: ${trust}`, `key: ${node.private}`, `jail_conf_dir: ${join(root, "jail.conf.d")}`, "timeout: 10", `interval: ${interval}`, "remotes:", "  - name: origin", `    url: ${url}`, ""].join("\n"));
    return file;
  };
  const triggered = configFile("triggered", bare, 3600);
  const polling = configFile("polling", http.url("cluster.git"), 5);
  const converged = (rev: string) => (l: LogLine): boolean => l.msg === "run finished" && l["revision"] === rev && l["verdict"] === "converged";

  const latencies = async (agent: AgentProcess, n: number): Promise<number[]> => {
    const out: number[] = [];
    for (let i = 0; i < n; i += 1) {
      const from = agent.lines.length;
      const t0 = performance.now();
      const rev = push();
      await agent.waitFor(converged(rev), 60_000, from);
      out.push(performance.now() - t0);
      await new Promise((r) => setTimeout(r, 300));
    }
    return out;
  };

  // With the trigger.
  let agent = startAgent(["--config", triggered]);
  await agent.waitFor(converged(push()), 120_000, 0);
  const withTrigger = await latencies(agent, PUSHES);
  await new Promise((r) => setTimeout(r, 15_000)); // the run worker (and the fetch worker in it) stops after 5 s idle; its memory goes with it
  const agentRss = rssMiB(agent.child.pid as number);
  agent.signal("SIGTERM");
  if ((await agent.exited) !== 0) throw new Error("the agent did not stop cleanly");

  // Polling every 5 s.
  agent = startAgent(["--config", polling]);
  await agent.waitFor((l) => l.msg === "agent started", 30_000, 0);
  const withPolling = await latencies(agent, POLL_PUSHES);
  agent.signal("SIGTERM");
  await agent.exited;
  bench("agent-push-to-converged", median(withTrigger), "ms", "polling-every-5s", median(withPolling));

  // One run with nothing to do, in process, and the same work done by hand.
  const config = await loadConfig(polling);
  const key = config.key as string;
  const issued: Argv[] = [];
  const recording: Executor = { run: (argv, o) => (issued.push(argv), systemExecutor.run(argv, o)), writeFile: (p, d, m) => systemExecutor.writeFile(p, d, m) };
  const isolate = new FetchIsolate();
  const cache = {};
  const stop = new AbortController().signal;
  const options = { config: { ...config, key }, executor: recording, log: silentLogger };
  await runOnce(options, { isolate, cache, stop });
  const runs: number[] = [];
  for (let i = 0; i < NOOP_RUNS; i += 1) {
    issued.length = 0;
    const t0 = performance.now();
    const r = await runOnce(options, { isolate, cache, stop });
    runs.push(performance.now() - t0);
    if (r.verdict.kind !== "converged" || (r.reconcile?.run?.plan.actions.length ?? 1) !== 0) throw new Error("the no-op run did something");
  }
  await isolate.close();
  const commands = issued.filter((a) => a[0] !== "ssh-keygen");
  const clone = join(root, "clone.git");
  await run("git", ["clone", "-q", "--bare", http.url("cluster.git"), clone]);
  const byHand: number[] = [];
  for (let i = 0; i < NOOP_RUNS; i += 1) {
    const t0 = performance.now();
    await run("git", ["-C", clone, "fetch", "-q", "origin"]);
    for (const [cmd, ...args] of commands) await run(cmd, args).catch(() => undefined);
    byHand.push(performance.now() - t0);
  }
  bench("agent-noop-cycle", median(runs), "ms", `git-fetch+${commands.length}-commands`, median(byHand));

  // Idle memory.
  bench("agent-idle-rss", agentRss, "MiB", "node-e", await idleRss(["-e", "setTimeout(() => {}, 60000)"], 1_000));
  const imports = "await Promise.all(['isomorphic-git','yaml','ajv','execa','pino','chokidar'].map((m) => import(m))); setTimeout(() => {}, 60000)";
  bench("agent-idle-rss-vs-stack", agentRss, "MiB", "node-importing-the-stack", await idleRss(["--input-type=module", "-e", imports], 2_000));
  await http.close();
} finally {
  await pool.destroy();
  sim.close();
  removeDir(root);
}
