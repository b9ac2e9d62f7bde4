/**
 * `make bench`: the cluster. The template's three nodes (alpha, beta, pi), each a
 * `steward agent` process with its own zfs-fuse pool and simulated FreeBSD host, following a
 * git server's bare repository on this machine (a local path: each agent wakes when the branch
 * moves) whose pre-receive hook checks every push (hooks/README.md).
 *
 * - cluster-push-to-converged: from `git push` of a signed commit that changes a dataset on
 *   each of the three nodes, through the server's hook, to the last of the three agents
 *   reporting that revision converged (its status commit written and pushed). Baseline: the
 *   same change pushed to an ansible repo, and `ansible-pull` started at once on the three
 *   nodes (as if cron fired right after the push; it usually runs every 15 or 30 minutes),
 *   until the last one finishes.
 * - cluster-noop-reconcile: one agent run with nothing to do (fetch, verify, observe the
 *   datasets, the jails and their services, plan, status), woken by SIGHUP, one node at a time.
 *   Baseline: `ansible-pull` of a playbook doing the same work on the same datasets (pull the
 *   repo, then community.general.zfs checks each dataset and clone with the same properties),
 *   one node at a time. The datasets are Steward's, as `steward check` resolves them for the
 *   node; ansible's copies live under `<pool>/ansible`, so that neither tool touches the other's.
 *   Steward does more in its run (jails, services, a status report), and its jail tools are the
 *   simulator, a Node.js process per call where FreeBSD has a small C program.
 *
 * One line per figure:
 *   BENCH cluster-push-to-converged steward=4200ms baseline=ansible-pull-x3:21000ms ratio=5.0
 */
import { execFile, spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { startAgent, type AgentProcess, type LogLine } from "../test/helpers/agent-process.js";
import { CLI_MAIN } from "../test/helpers/cli.js";
import { installHooks, makeNode, templateOnNodes, writeNodeConfig, type ClusterNode } from "../test/helpers/cluster.js";
import { WorkRepo, git, makeBare, makeKey, makeTempDir, removeDir, writeAllowedSigners, type SshKey } from "../test/helpers/keys.js";

const NODES = ["alpha", "beta", "pi"] as const;
type NodeName = (typeof NODES)[number];
/** The dataset each round changes on each node, and its quota in GiB before the first round. */
const CHANGED: Record<NodeName, { service: string; text: (gib: number) => (t: string) => string; base: number }> = {
  alpha: { service: "mail", text: (g) => (t) => t.replace(/mail: \{ mount: \/var\/mail, quota: \w+ \}/, `mail: { mount: /var/mail, quota: ${g}G }`), base: 20 },
  beta: { service: "xmpp", text: (g) => (t) => t.replace(/quota: \w+/, `quota: ${g}G`), base: 2 },
  pi: { service: "blog", text: (g) => (t) => t.replace(/www: \{ mount: \/usr\/local\/www\/blog[^}]*\}/, `www: { mount: /usr/local/www/blog, quota: ${g}G }`), base: 0 },
};
const PUSHES = 5;
const ANSIBLE_PUSHES = 2;
const NOOP_RUNS = 3;
const ANSIBLE_NOOP_RUNS = 1;
const ANSIBLE_TIMEOUT_MS = 10 * 60_000;
const run = promisify(execFile);

const PLAYBOOK = `# What steward does to a node's datasets, as an ansible-pull playbook: vars/<node>.json lists them.
- hosts: localhost
  connection: local
  gather_facts: false
  vars_files: ["vars/{{ node }}.json"]
  tasks:
    - name: datasets
      community.general.zfs:
        name: "{{ item.name }}"
        state: present
        origin: "{{ item.origin | default(omit) }}"
        extra_zfs_properties: "{{ item.properties }}"
      loop: "{{ datasets }}"
`;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function bench(name: string, steward: number, baselineName: string, baseline: number): void {
  console.log(`BENCH ${name} steward=${Math.round(steward)}ms baseline=${baselineName}:${Math.round(baseline)}ms ratio=${(baseline / steward).toFixed(1)}`);
}

interface DesiredDataset {
  readonly name: string;
  readonly properties: Readonly<Record<string, string>>;
  readonly role?: string;
  readonly origin?: string;
}

const root = makeTempDir("steward-bench-cluster-");
const nodes = new Map<NodeName, ClusterNode>();
const agents = new Map<NodeName, AgentProcess>();
const node = (n: NodeName): ClusterNode => nodes.get(n) as ClusterNode;
const agent = (n: NodeName): AgentProcess => agents.get(n) as AgentProcess;
const finished = (revision: string) => (l: LogLine): boolean => l.msg.startsWith("run finished") && l["revision"] === revision && l["verdict"] === "converged";

try {
  for (const n of NODES) nodes.set(n, await makeNode(root, n, `bc${n.slice(0, 2)}`));
  const keys = new Map<NodeName, SshKey>(NODES.map((n) => [n, makeKey(node(n).etc, "id_ed25519")]));
  const admin = makeKey(join(root, "keys"), "admin");
  const trust = writeAllowedSigners(join(root, "allowed_signers"), [{ principal: "admin@home.arpa", key: admin }]);
  const bare = makeBare(join(root, "srv", "cluster.git"));
  installHooks(bare, trust);
  for (const n of NODES) writeNodeConfig(node(n), { trust, key: (keys.get(n) as SshKey).private, remotes: [{ name: "origin", url: bare }] });
  const work = WorkRepo.create(join(root, "cluster"));
  templateOnNodes(work.dir, [...nodes.values()], Object.fromEntries(NODES.map((n) => [n, `${(keys.get(n) as SshKey).publicLine} ${n}@steward`])));
  work.write("trust/allowed_signers", `admin@home.arpa namespaces="git" ${admin.publicLine}\n`);
  const edit = (n: NodeName, gib: number): void => {
    const path = `services/${CHANGED[n].service}.yaml`;
    work.write(path, CHANGED[n].text(gib)(`${git(work.dir, ["show", `HEAD:${path}`])}\n`));
  };
  work.commit("The cluster", { signer: admin });
  for (const n of NODES) edit(n, CHANGED[n].base + 1);
  const first = work.commit("round 0", { signer: admin });
  work.push(bare);

  // The ansible side: a repo with the playbook and each node's datasets, as steward resolves them.
  const ansibleBare = makeBare(join(root, "srv", "ansible.git"));
  const ansibleWork = WorkRepo.create(join(root, "ansible"));
  ansibleWork.write("site.yml", PLAYBOOK);
  const ansibleVars = async (): Promise<void> => {
    for (const n of NODES) {
      const { stdout } = await run(process.execPath, [CLI_MAIN, "desired", "--dir", work.dir, "--node", n, "--json"], { maxBuffer: 16 * 1024 * 1024 });
      const desired = (JSON.parse(stdout) as { desired: { datasets: DesiredDataset[] } }).desired.datasets;
      const pool = node(n).pool;
      const mine = (name: string): string => name.replace(`${pool.name}/steward`, `${pool.name}/ansible`);
      const mount = (p: Readonly<Record<string, string>>): Record<string, string> =>
        p["mountpoint"] === undefined || p["mountpoint"] === "none" ? { ...p } : { ...p, mountpoint: p["mountpoint"].replace(`${pool.dir}/jails`, `${pool.dir}/ansible`) };
      const wanted = desired.filter((d) => !d.name.startsWith(`${pool.name}/steward/base`));
      // Containers, then the jail roots (clones), then the datasets mounted inside them: as steward orders them.
      const rank = (d: DesiredDataset): number => (d.properties["mountpoint"] === "none" ? 0 : d.role === "clone" ? 1 : 2);
      const datasets = [...wanted].sort((a, b) => rank(a) - rank(b)).map((d) => ({ name: mine(d.name), properties: mount(d.properties), ...(d.origin === undefined ? {} : { origin: d.origin }) }));
      ansibleWork.write(`vars/${n}.json`, `${JSON.stringify({ datasets }, null, 2)}\n`);
    }
  };
  await ansibleVars();
  ansibleWork.commit("datasets");
  ansibleWork.push(ansibleBare);
  const ansibleHome = join(root, "ansible-home");
  mkdirSync(ansibleHome);
  /** ansiblePull runs ansible-pull on node n; resolves with its time and how many tasks changed something. */
  const ansiblePull = async (n: NodeName): Promise<{ ms: number; changed: number }> => {
    const t0 = performance.now();
    const child = spawn("ansible-pull", ["-U", ansibleBare, "-C", "main", "-d", join(node(n).dir, "ansible-checkout"), "-i", "localhost,", "-e", `node=${n}`, "site.yml"], {
      env: { ...process.env, HOME: ansibleHome, ANSIBLE_NOCOLOR: "1", ANSIBLE_RETRY_FILES_ENABLED: "0", ANSIBLE_LOCALHOST_WARNING: "0", ANSIBLE_INVENTORY_UNPARSED_WARNING: "0", ANSIBLE_PYTHON_INTERPRETER: "auto_silent" },
      stdio: ["ignore", "pipe", "pipe"],
      timeout: ANSIBLE_TIMEOUT_MS,
    });
    let out = "";
    child.stdout.on("data", (b: Buffer) => (out += b.toString()));
    child.stderr.on("data", (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    const ms = performance.now() - t0;
    const recap = /localhost\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0/.exec(out);
    if (code !== 0 || recap === null) throw new Error(`ansible-pull on ${n} failed (exit ${code}):\n${out.slice(-3000)}`);
    return { ms, changed: Number(recap[1]) };
  };
  for (const n of NODES) if ((await ansiblePull(n)).changed === 0) throw new Error(`ansible's first converge on ${n} changed nothing`);

  // The agents, each converging the first revision.
  for (const n of NODES) agents.set(n, startAgent(["--config", node(n).config], node(n).env));
  await Promise.all(NODES.map((n) => agent(n).waitFor(finished(first), 180_000, 0)));

  // Push to converged, steward: one signed commit changing a dataset on each node.
  const stewardTimes: number[] = [];
  for (let round = 1; round <= PUSHES; round += 1) {
    for (const n of NODES) edit(n, CHANGED[n].base + 1 + round);
    const rev = work.commit(`round ${round}`, { signer: admin });
    const from = new Map(NODES.map((n) => [n, agent(n).lines.length]));
    const t0 = performance.now();
    await run("git", ["-C", work.dir, "push", "-q", bare, "HEAD:refs/heads/main"]);
    const done = await Promise.all(NODES.map((n) => agent(n).waitFor(finished(rev), 60_000, from.get(n))));
    stewardTimes.push(performance.now() - t0);
    if (done.some((l) => Number(l["applied"]) < 1)) throw new Error(`round ${round}: a node applied nothing`);
    await new Promise((r) => setTimeout(r, 500));
  }

  // Push to converged, ansible-pull on the three nodes at once.
  const ansibleTimes: number[] = [];
  for (let round = 1; round <= ANSIBLE_PUSHES; round += 1) {
    for (const n of NODES) edit(n, CHANGED[n].base + 1 + PUSHES + round);
    work.commit(`ansible round ${round}`, { signer: admin });
    await ansibleVars();
    ansibleWork.commit(`round ${round}`);
    const t0 = performance.now();
    await run("git", ["-C", ansibleWork.dir, "push", "-q", ansibleBare, "HEAD:refs/heads/main"]);
    const results = await Promise.all(NODES.map((n) => ansiblePull(n)));
    ansibleTimes.push(performance.now() - t0);
    if (results.some((r) => r.changed < 1)) throw new Error(`ansible round ${round}: a node changed nothing`);
  }
  bench("cluster-push-to-converged", median(stewardTimes), "ansible-pull-x3", median(ansibleTimes));

  // No-op: one node at a time. The steward work repo holds commits the agents never saw: they
  // stay on the last pushed revision, which is what they run.
  const noop: number[] = [];
  for (let i = 0; i < NOOP_RUNS; i += 1) {
    for (const n of NODES) {
      const from = agent(n).lines.length;
      const t0 = performance.now();
      agent(n).signal("SIGHUP");
      const done = await agent(n).waitFor((l) => l.msg.startsWith("run finished"), 60_000, from);
      noop.push(performance.now() - t0);
      if (done["verdict"] !== "converged" || agent(n).lines.slice(from).some((l) => l.msg === "action done")) throw new Error(`the no-op run on ${n} did something`);
    }
  }
  const ansibleNoop: number[] = [];
  for (let i = 0; i < ANSIBLE_NOOP_RUNS; i += 1) {
    for (const n of NODES) {
      const r = await ansiblePull(n);
      if (r.changed !== 0) throw new Error(`ansible's no-op on ${n} changed ${r.changed}`);
      ansibleNoop.push(r.ms);
    }
  }
  bench("cluster-noop-reconcile", median(noop), "ansible-pull", median(ansibleNoop));
} catch (e) {
  console.error(`bench cluster: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exitCode = 1;
} finally {
  for (const a of agents.values()) a.signal("SIGTERM");
  await Promise.race([Promise.all([...agents.values()].map((a) => a.exited)), new Promise((r) => setTimeout(r, 10_000))]);
  for (const a of agents.values()) a.killGroup();
  for (const n of nodes.values()) await n.pool.destroy();
  removeDir(root);
}
