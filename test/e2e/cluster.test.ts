/**
 * Steward end to end: the template's three nodes (alpha, beta, pi) as three `steward agent`
 * processes, each in its own network namespace with its own zfs-fuse pool, jail.conf.d and
 * simulated FreeBSD host (jails, rc, pf); a primary git server whose pre-receive hook checks
 * what is pushed (hooks/README.md), and a mirror without hooks, each in a namespace of its
 * own, on one private network that routes nowhere (test/helpers/netns.ts). The admin pushes
 * from a namespace of their own too. The servers know their clients by address: a node's pushes
 * run as `<node>@steward`, the admin's as `admin`.
 *
 * In order: every node converges the first revision and reports it; the primary's cable is
 * pulled and the nodes take the next revision from the mirror, writing reports that wait for
 * the primary; it comes back and gets every report; a change to two nodes converges on both;
 * bad pushes are refused by the hook and no node changes; a mirror serving a forged tip, then
 * rolled-back history, never stops the nodes from following the primary.
 *
 * The agents' interval is an hour: each run is started by SIGHUP (`service steward reload`).
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { parse } from "yaml";
import { startAgent, type AgentProcess, type LogLine } from "../helpers/agent-process.js";
import { CLI_MAIN, runCli } from "../helpers/cli.js";
import { installHooks, makeNode, templateOnNodes, writeNodeConfig, type ClusterNode } from "../helpers/cluster.js";
import { WorkRepo, git, makeBare, makeKey, makeTempDir, removeDir, writeAllowedSigners, type SshKey } from "../helpers/keys.js";
import { createLan, startGitServerOn, type Lan, type NetGitServer } from "../helpers/netns.js";

const NODES = ["alpha", "beta", "pi"] as const;
type NodeName = (typeof NODES)[number];
const GiB = 1024 ** 3;

let root: string;
let lan: Lan | undefined;
const nodes = new Map<NodeName, ClusterNode>();
const keys = new Map<NodeName, SshKey>();
const agents = new Map<NodeName, AgentProcess>();
const servers: NetGitServer[] = [];
let admin: SshKey;
let intruder: SshKey;
let primaryBare: string;
let mirrorBare: string;
let primaryUrl: string;
let work: WorkRepo;
let statusSigners: string;

const node = (n: NodeName): ClusterNode => nodes.get(n) as ClusterNode;
const agent = (n: NodeName): AgentProcess => agents.get(n) as AgentProcess;
const net = (): Lan => lan as Lan;

/** A push from the admin's machine to the primary, over the network: its exit code and the server's answer. */
function adminPush(): { code: number; stderr: string } {
  const [cmd, ...prefix] = net().exec("admin");
  const r = spawnSync(cmd, [...prefix, "git", "-C", work.dir, "push", primaryUrl, "HEAD:refs/heads/main"], { encoding: "utf8", timeout: 60_000, env: { ...process.env, GIT_TERMINAL_PROMPT: "0" } });
  return { code: r.status ?? 128, stderr: `${r.stderr}${r.error === undefined ? "" : String(r.error)}` };
}

/** commitAndPush commits the work tree signed by the admin and pushes it; the hook must accept it. */
function commitAndPush(message: string, edits: Readonly<Record<string, (text: string) => string>>): string {
  for (const [path, edit] of Object.entries(edits)) work.write(path, edit(git(work.dir, ["show", `HEAD:${path}`]) + "\n"));
  const oid = work.commit(message, { signer: admin });
  const r = adminPush();
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /steward-pre-receive: refs\/heads\/main: push accepted/);
  return oid;
}

/** syncMirror is the mirror's job: it copies the primary's main (and nothing else). */
function syncMirror(): void {
  git(mirrorBare, ["fetch", "-q", primaryBare, "+refs/heads/main:refs/heads/main"]);
}

const quota = (q: string) => (text: string): string => text.replace(/quota: \w+/, `quota: ${q}`);
const finished = (revision: string) => (l: LogLine): boolean => l.msg.startsWith("run finished") && l["revision"] === revision && l["verdict"] === "converged";

/** runAll wakes every agent (SIGHUP) and waits until each finished a converged run at `revision`; returns each run's log lines. */
async function runAll(revision: string, timeoutMs = 60_000): Promise<Map<NodeName, LogLine[]>> {
  const from = new Map(NODES.map((n) => [n, agent(n).lines.length]));
  for (const n of NODES) agent(n).signal("SIGHUP");
  await Promise.all(NODES.map((n) => agent(n).waitFor(finished(revision), timeoutMs, from.get(n))));
  return new Map(NODES.map((n) => [n, agent(n).lines.slice(from.get(n))]));
}

const dataset = (n: NodeName, path: string): string => `${node(n).pool.name}/steward/data/${path}`;
const quotaOf = (n: NodeName, path: string): Promise<string> => node(n).pool.get(dataset(n, path), "quota");

/** What a node runs: its Steward datasets with their properties, and its jails (jls, the simulator's). */
function hostState(n: NodeName): string {
  const zfs = execFileSync("zfs", ["get", "-rHp", "-o", "name,property,value", "quota,compression,atime,recordsize,mountpoint,org.steward:managed", `${node(n).pool.name}/steward`], { encoding: "utf8" });
  const jls = execFileSync("jls", ["name", "path", "ip4.addr"], { encoding: "utf8", env: node(n).env });
  return `${zfs}${jls}`;
}

const statusRef = (n: NodeName): string => `refs/heads/status/${n}`;
const localRepo = (n: NodeName): string => join(node(n).state, "source", "repo.git");
const tipOf = (gitdir: string, ref: string): string | undefined => {
  const r = spawnSync("git", ["--git-dir", gitdir, "rev-parse", "--verify", "-q", ref], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() : undefined;
};
const historyOf = (gitdir: string, ref: string): string[] => git(gitdir, ["log", "--first-parent", "--format=%H", ref]).split("\n");

interface Report {
  readonly lastAppliedRevision: string | null;
  readonly conditions: readonly { type: string; status: string; severity?: string; reason: string }[];
  readonly source: { readonly answered: string | null; readonly remotes: readonly { name: string; standing: string; code?: string }[] };
}
const reportAt = (gitdir: string, n: NodeName, ref = statusRef(n)): Report => parse(git(gitdir, ["show", `${ref}:status/${n}.yaml`])) as Report;
const condition = (r: Report, type: string): Report["conditions"][number] | undefined => r.conditions.find((c) => c.type === type);

/** steward status from an admin's fresh clone of the primary, over the network. */
async function adminStatus(): Promise<{ code: number; stdout: string }> {
  const clone = join(root, `admin-clone-${Date.now()}`);
  const [cmd, ...prefix] = net().exec("admin");
  execFileSync(cmd, [...prefix, "git", "clone", "-q", "--bare", primaryUrl, clone], { stdio: "ignore" });
  const r = await runCli(["status", clone]);
  return { code: r.code, stdout: `${r.stdout}${r.stderr}` };
}

before(async () => {
  root = makeTempDir("steward-e2e-");
  lan = createLan(["git", "mirror", "admin", ...NODES]);
  for (const n of NODES) {
    nodes.set(n, await makeNode(root, n, `e2${n.slice(0, 2)}`));
    keys.set(n, makeKey(node(n).etc, "id_ed25519"));
  }
  admin = makeKey(join(root, "keys"), "admin");
  intruder = makeKey(join(root, "keys"), "intruder");
  const trust = writeAllowedSigners(join(root, "allowed_signers"), [{ principal: "admin@home.arpa", key: admin }]);
  statusSigners = writeAllowedSigners(join(root, "status_signers"), NODES.map((n) => ({ principal: `${n}@steward`, key: keys.get(n) as SshKey })));
  const srv = join(root, "srv");
  const mirror = join(root, "mirror");
  mkdirSync(srv);
  mkdirSync(mirror);
  primaryBare = makeBare(join(srv, "cluster.git"));
  installHooks(primaryBare, trust);
  mirrorBare = makeBare(join(mirror, "cluster.git"));
  const users = { admin: "admin", ...Object.fromEntries(NODES.map((n) => [n, `${n}@steward`])) };
  const primary = await startGitServerOn(net(), "git", srv, users);
  servers.push(primary);
  const mirrorServer = await startGitServerOn(net(), "mirror", mirror, users);
  servers.push(mirrorServer);
  primaryUrl = primary.url("cluster.git");
  for (const n of NODES) {
    writeNodeConfig(node(n), {
      trust,
      key: (keys.get(n) as SshKey).private,
      timeout: 5,
      remotes: [
        { name: "origin", url: primaryUrl },
        { name: "mirror", url: mirrorServer.url("cluster.git") },
      ],
    });
  }
  work = WorkRepo.create(join(root, "cluster"));
  templateOnNodes(work.dir, [...nodes.values()], Object.fromEntries(NODES.map((n) => [n, `${(keys.get(n) as SshKey).publicLine} ${n}@steward`])));
  work.write("trust/allowed_signers", `admin@home.arpa namespaces="git" ${admin.publicLine}\n`);
});

after(async () => {
  for (const a of agents.values()) a.killGroup();
  await Promise.all([...agents.values()].map((a) => a.exited));
  await Promise.all(servers.map((s) => s.close()));
  lan?.destroy();
  for (const n of nodes.values()) await n.pool.destroy();
  if (root !== undefined) removeDir(root);
});

let C1: string;
let C2: string;
let C3: string;

test("three agents converge the cluster's first revision, each its own services, and report it in signed commits", async () => {
  work.commit("The cluster: three nodes, six services", { signer: admin });
  const first = adminPush();
  assert.equal(first.code, 0, first.stderr);
  C1 = work.head();
  syncMirror();
  for (const n of NODES) agents.set(n, startAgent(["--config", node(n).config], node(n).env, net().exec(n)));
  await Promise.all(NODES.map((n) => agent(n).waitFor(finished(C1), 150_000, 0)));

  assert.equal(await quotaOf("alpha", "mail/mail"), String(20 * GiB));
  assert.equal(await quotaOf("beta", "xmpp/data"), String(2 * GiB));
  assert.equal(await node("pi").pool.get(dataset("pi", "blog/www"), "compression"), "gzip");
  const jails: Record<NodeName, string[]> = { alpha: ["git", "mail"], beta: ["caldav", "taskd", "xmpp"], pi: ["blog"] };
  for (const n of NODES) {
    const running = execFileSync("jls", ["name"], { encoding: "utf8", env: node(n).env }).trim().split("\n").sort();
    assert.deepEqual(running, jails[n], `${n} runs its own jails and no other node's`);
  }
  for (const n of NODES) {
    const tip = tipOf(primaryBare, statusRef(n));
    assert.ok(tip !== undefined, `the primary has status/${n}`);
    git(primaryBare, ["-c", "gpg.format=ssh", "-c", `gpg.ssh.allowedSignersFile=${statusSigners}`, "verify-commit", tip]);
    const report = reportAt(primaryBare, n);
    assert.equal(report.lastAppliedRevision, C1);
    assert.equal(condition(report, "Ready")?.status, "True", JSON.stringify(report.conditions));
  }
  // Nothing left to do on any node, whatever drivers are registered (agent/src/drivers/registry.ts).
  // pf: once the pf driver is registered, also assert each node's rules here: `pfctl -a
  // steward/<jail> -sr` with the node's env (its STEWARD_SIM_ROOT, sim/pf-README.md) lists the
  // rules of its own jails only.
  for (const n of NODES) {
    const [cmd, ...prefix] = net().exec(n);
    const r = spawnSync(cmd, [...prefix, process.execPath, CLI_MAIN, "plan", "--config", node(n).config, "--json"], { encoding: "utf8", env: node(n).env, timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual((JSON.parse(r.stdout) as { plan: { actions: unknown[] } }).plan.actions, [], `nothing left to do on ${n}`);
  }
  const status = await adminStatus();
  assert.equal(status.code, 0, status.stdout);
  for (const n of NODES) assert.match(status.stdout, new RegExp(`^${n}\\s+ready\\s+${C1.slice(0, 12)} \\(current\\)`, "m"));
});

test("the primary's cable is pulled: the nodes take the next revision from the mirror and keep reporting, queued for the primary", async () => {
  C2 = commitAndPush("blog: 1G", { "services/blog.yaml": (t) => t.replace("www: { mount: /usr/local/www/blog }", "www: { mount: /usr/local/www/blog, quota: 1G }") });
  syncMirror();
  const before = new Map(NODES.map((n) => [n, tipOf(primaryBare, statusRef(n))]));
  net().cut("git");
  const runs = await runAll(C2);
  assert.equal(await quotaOf("pi", "blog/www"), String(GiB));
  for (const n of NODES) {
    const lines = runs.get(n) ?? [];
    assert.ok(lines.some((l) => l.msg === "status push failed" && l["remote"] === "origin" && Number(l["pending"]) >= 1), `${n}: reports wait for the primary`);
    assert.equal(tipOf(primaryBare, statusRef(n)), before.get(n), `nothing reached the primary from ${n}`);
    const local = tipOf(localRepo(n), statusRef(n));
    assert.notEqual(local, before.get(n));
    assert.equal(tipOf(mirrorBare, statusRef(n)), local, `the mirror took ${n}'s reports`);
    const report = reportAt(localRepo(n), n);
    assert.equal(report.lastAppliedRevision, C2);
    assert.equal(report.source.answered, "mirror");
    assert.equal(condition(report, "FetchFailed")?.severity, "Warning", JSON.stringify(report.conditions));
    assert.equal(condition(report, "Ready")?.status, "True");
  }
});

test("the primary is back: every queued report reaches it, in order", async () => {
  const queued = new Map(NODES.map((n) => [n, historyOf(localRepo(n), statusRef(n))]));
  net().restore("git");
  await runAll(C2);
  for (const n of NODES) {
    const onPrimary = historyOf(primaryBare, statusRef(n));
    assert.equal(onPrimary[0], tipOf(localRepo(n), statusRef(n)), `the primary has ${n}'s newest report`);
    const mine = queued.get(n) ?? [];
    assert.deepEqual(onPrimary.slice(onPrimary.length - mine.length), mine, `every queued report of ${n}, in order`);
    const report = reportAt(primaryBare, n);
    assert.equal(report.source.answered, "origin");
    assert.equal(condition(report, "FetchFailed"), undefined);
  }
});

test("one signed commit that changes services on two nodes converges on both; the third has nothing to do", async () => {
  C3 = commitAndPush("mail 25G, xmpp 3G", { "services/mail.yaml": quota("25G"), "services/xmpp.yaml": quota("3G") });
  syncMirror();
  const runs = await runAll(C3);
  assert.equal(await quotaOf("alpha", "mail/mail"), String(25 * GiB));
  assert.equal(await quotaOf("beta", "xmpp/data"), String(3 * GiB));
  const applied = (n: NodeName): number => (runs.get(n) ?? []).filter((l) => l.msg === "action finished" || l.msg === "action started").length;
  assert.ok(applied("alpha") > 0 && applied("beta") > 0, "alpha and beta acted");
  assert.equal(applied("pi"), 0, "pi had nothing to do");
  for (const n of NODES) assert.equal(reportAt(localRepo(n), n).lastAppliedRevision, C3);
});

test("pushes the nodes would refuse are refused by the server's hook, and no node changes", async () => {
  const states = new Map(NODES.map((n) => [n, hostState(n)]));
  work.write("services/mail.yaml", quota("1G")(git(work.dir, ["show", "HEAD:services/mail.yaml"])));
  work.commit("unsigned: mail 1G");
  const unsigned = adminPush();
  assert.notEqual(unsigned.code, 0);
  assert.match(unsigned.stderr, /SOURCE_UNSIGNED/);
  assert.match(unsigned.stderr, /pre-receive hook declined/);
  work.resetHard(C3);
  work.write("services/xmpp.yaml", `${git(work.dir, ["show", "HEAD:services/xmpp.yaml"])}\ncolour: blue\n`);
  work.commit("signed, but not valid", { signer: admin });
  const invalid = adminPush();
  assert.notEqual(invalid.code, 0);
  assert.match(invalid.stderr, /services\/xmpp\.yaml:\d+:1\s+MANIFEST_SCHEMA/);
  work.resetHard(C3);
  assert.equal(tipOf(primaryBare, "refs/heads/main"), C3, "the server's branch did not move");
  const runs = await runAll(C3);
  for (const n of NODES) {
    assert.ok(!(runs.get(n) ?? []).some((l) => l.msg === "action started"), `${n} ran no action`);
    assert.equal(hostState(n), states.get(n), `${n} is as it was`);
  }
});

test("a hostile mirror, serving a forged tip and then rolled-back history, cannot stop the nodes from following the primary", async () => {
  // The mirror's main becomes a commit on top of C3 signed by a key no one trusts.
  const forger = WorkRepo.create(join(root, "forger"));
  git(forger.dir, ["fetch", "-q", primaryBare, "main"]);
  forger.resetHard(C3);
  forger.write("services/mail.yaml", quota("1G")(git(forger.dir, ["show", "HEAD:services/mail.yaml"])));
  const forged = forger.commit("mail: 1G", { signer: intruder });
  forger.push(mirrorBare, { force: true });
  const C4 = commitAndPush("taskd 2G", { "services/taskd.yaml": quota("2G") });
  let runs = await runAll(C4);
  assert.equal(await quotaOf("beta", "taskd/data"), String(2 * GiB));
  assert.equal(await quotaOf("alpha", "mail/mail"), String(25 * GiB), "the forged change is not applied");
  for (const n of NODES) {
    const ignored = (runs.get(n) ?? []).find((l) => l.msg === "remote ignored: what it serves is refused");
    assert.equal(ignored?.["remote"], "mirror", `${n} ignored the mirror`);
    assert.equal(ignored?.["tip"], forged);
    const report = reportAt(localRepo(n), n);
    assert.equal(report.lastAppliedRevision, C4);
    assert.equal(condition(report, "VerificationFailed")?.severity, "Warning", JSON.stringify(report.conditions));
    assert.equal(condition(report, "Ready")?.status, "True");
  }

  // Then it serves the first revision again, as if history had been rolled back.
  git(mirrorBare, ["update-ref", "refs/heads/main", C1]);
  const C5 = commitAndPush("blog 2G", { "services/blog.yaml": quota("2G") });
  runs = await runAll(C5);
  assert.equal(await quotaOf("pi", "blog/www"), String(2 * GiB));
  for (const n of NODES) {
    assert.ok((runs.get(n) ?? []).some((l) => l.msg === "remote behind the last applied revision" && l["remote"] === "mirror"), `${n} saw the mirror behind`);
    const report = reportAt(localRepo(n), n);
    assert.equal(report.lastAppliedRevision, C5);
    assert.equal(report.source.remotes.find((r) => r.name === "mirror")?.standing, "behind");
  }
  const status = await adminStatus();
  assert.equal(status.code, 0, status.stdout);
  for (const n of NODES) assert.match(status.stdout, new RegExp(`^${n}\\s+ready\\s+${C5.slice(0, 12)} \\(current\\)`, "m"));
});
