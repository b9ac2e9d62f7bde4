/**
 * `steward agent` end to end, as a process: a cluster repo served by git http-backend (which
 * also takes the node's status pushes), admin-signed commits, a real zfs-fuse pool and the
 * FreeBSD tool simulator. The interval is an hour, so every run here is started by the thing
 * under test: the start, `steward kick`, SIGHUP.
 */
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { startAgent, type AgentProcess, type LogLine } from "../helpers/agent-process.js";
import { runCli } from "../helpers/cli.js";
import { startGitHttpServer, type GitHttpServer } from "../helpers/git-http-server.js";
import { WorkRepo, git, makeBare, makeKey, makeTempDir, removeDir, writeAllowedSigners, type SshKey } from "../helpers/keys.js";
import { SIM_BIN, useSimulator, type Simulator } from "../helpers/sim.js";
import { TEST_RELEASE, createTestPool, installBase, type TestPool } from "../helpers/zfs-pool.js";

let root: string;
let http: GitHttpServer;
let pool: TestPool;
let admin: SshKey;
let node: SshKey;
let work: WorkRepo;
let bare: string;
let config: string;
let sim: Simulator;
let agent: AgentProcess | undefined;
let env: NodeJS.ProcessEnv;
let slowMarker: string;

const quotaOf = (q: string, packages: readonly string[] = []): Record<string, string> => ({
  "cluster.yaml": `network:\n  jails: 10.17.0.0/24\n  protect: [192.168.1.0/24]\ndefaults:\n  release: ${TEST_RELEASE}\n  datasets: { compression: gzip }\n`,
  "nodes/n1.yaml": `arch: amd64\npool: ${pool.name}\ninterface: em0\njails: ${pool.dir}/jails\n`,
  "services/blog.yaml": `node: n1\njail:\n  ip: 10.17.0.40\n  packages: [${packages.join(", ")}]\n${packages.includes("nginx") ? '  services: [nginx]\n  rc: { nginx_enable: "YES" }\n' : ""}datasets:\n  www: { mount: /usr/local/www, quota: ${q} }\n`,
});

function push(files: Record<string, string>): string {
  for (const [path, text] of Object.entries(files)) work.write(path, text);
  const oid = work.commit("change", { signer: admin });
  work.push(bare);
  return oid;
}

const finished = (revision: string) => (l: LogLine): boolean => l.msg === "run finished" && l["revision"] === revision && l["verdict"] === "converged";
const statusLog = (gitdir: string): string[] => {
  const out = git(gitdir, ["log", "--first-parent", "--format=%H", "refs/heads/status/n1"]);
  return out === "" ? [] : out.split("\n");
};

before(async () => {
  root = makeTempDir();
  pool = await createTestPool("sag");
  await installBase(pool);
  admin = makeKey(join(root, "keys"), "admin");
  node = makeKey(join(root, "etc"), "id_ed25519");
  const trust = writeAllowedSigners(join(root, "etc", "allowed_signers"), [{ principal: "admin@cluster", key: admin }]);
  mkdirSync(join(root, "srv"));
  bare = makeBare(join(root, "srv", "cluster.git"));
  http = await startGitHttpServer(join(root, "srv"), { remoteUser: "n1" });
  work = WorkRepo.create(join(root, "work"));
  config = join(root, "etc", "steward.yaml");
  mkdirSync(join(root, "jail.conf.d"));
  writeFileSync(
    config,
    [
      "node: n1",
      `state: ${join(root, "state")}`,
      `trust: ${trust}`,
      `key: ${node.private}`,
      `jail_conf_dir: ${join(root, "jail.conf.d")}`,
      "timeout: 10",
      "interval: 3600",
      "heartbeat: 60",
      "remotes:",
      "  - name: origin",
      `    url: ${http.url("cluster.git")}`,
      "",
    ].join("\n"),
  );
  sim = useSimulator();
  // A pkg that hangs on `install` while the marker exists: an apply to kill in the middle.
  slowMarker = join(root, "slow-pkg");
  const shims = join(root, "shims");
  mkdirSync(shims);
  writeFileSync(join(shims, "pkg"), `#!/bin/sh\nfor a in "$@"; do [ "$a" = install ] && [ -e ${slowMarker} ] && exec sleep 60; done\nexec ${SIM_BIN}/pkg "$@"\n`);
  chmodSync(join(shims, "pkg"), 0o755);
  env = { ...process.env, PATH: `${shims}:${process.env["PATH"] ?? ""}` };
});

after(async () => {
  agent?.killGroup();
  sim?.close();
  await http?.close();
  await pool?.destroy();
  removeDir(root);
});

test("the agent converges a signed revision at start and reports it in a status commit git verify-commit accepts", async () => {
  const first = push(quotaOf("1G"));
  agent = startAgent(["--config", config], env);
  await agent.waitFor(finished(first), 60_000);
  assert.equal(await pool.get(`${pool.name}/steward/data/blog/www`, "quota"), String(1024 ** 3));
  const signers = writeAllowedSigners(join(root, "status_signers"), [{ principal: "n1@steward", key: node }]);
  const tip = git(bare, ["rev-parse", "refs/heads/status/n1"]);
  git(bare, ["-c", "gpg.format=ssh", "-c", `gpg.ssh.allowedSignersFile=${signers}`, "verify-commit", tip]);
  const doc = git(bare, ["show", `${tip}:status/n1.yaml`]);
  assert.match(doc, new RegExp(`lastAppliedRevision: ${first}`));
  assert.match(doc, /type: Ready\n\s+status: "True"/);
});

test("steward kick runs the agent at once: a pushed change converges without waiting for the interval", async () => {
  assert.ok(agent);
  const second = push(quotaOf("2G"));
  const from = agent.lines.length;
  const r = await runCli(["kick", "--config", config]);
  assert.equal(r.code, 0, r.stderr);
  await agent.waitFor(finished(second), 20_000, from);
  assert.equal(await pool.get(`${pool.name}/steward/data/blog/www`, "quota"), String(2 * 1024 ** 3));
});

test("SIGHUP runs the agent at once", async () => {
  assert.ok(agent);
  const third = push(quotaOf("3G"));
  const from = agent.lines.length;
  agent.signal("SIGHUP");
  await agent.waitFor(finished(third), 20_000, from);
  assert.equal(await pool.get(`${pool.name}/steward/data/blog/www`, "quota"), String(3 * 1024 ** 3));
});

test("a second agent on the same node is refused with AGENT_RUNNING and changes nothing", async () => {
  const r = await runCli(["agent", "--config", config], { env });
  assert.equal(r.code, 1);
  assert.match(r.stderr, /AGENT_RUNNING/);
  assert.match(r.stderr, /another process|pid \d+/);
});

test("while the server is down the reports queue on the node; once it is back they all go out, in order", async () => {
  assert.ok(agent);
  const local = join(root, "state", "source", "repo.git");
  const before = statusLog(bare);
  http.setFault("down");
  const fourth = push(quotaOf("4G"));
  let from = agent.lines.length;
  agent.signal("SIGHUP");
  const down = await agent.waitFor((l) => l.msg === "run did not converge", 30_000, from);
  assert.deepEqual(down["pushFailed"], ["origin"]);
  const queued = statusLog(local);
  assert.ok(queued.length > before.length, "the failed fetch is reported on the local branch");
  assert.deepEqual(statusLog(bare), before, "nothing reached the server");
  http.setFault("none");
  from = agent.lines.length;
  agent.signal("SIGHUP");
  await agent.waitFor(finished(fourth), 30_000, from);
  const after = statusLog(bare);
  assert.deepEqual(after, statusLog(local), "the server has every report the node wrote");
  for (const oid of queued) assert.ok(after.includes(oid), `queued report ${oid} reached the server`);
  const doc = git(bare, ["show", "refs/heads/status/n1:status/n1.yaml"]);
  assert.match(doc, new RegExp(`lastAppliedRevision: ${fourth}`));
});

test("kill -9 in the middle of an apply: the restarted agent reports the interrupted apply and converges", async () => {
  assert.ok(agent);
  writeFileSync(slowMarker, "");
  const fifth = push(quotaOf("4G", ["nginx"]));
  const from = agent.lines.length;
  agent.signal("SIGHUP");
  await agent.waitFor((l) => l.msg === "action started" && String(l["action"]).includes("pkg"), 30_000, from);
  agent.killGroup();
  assert.notEqual(await agent.exited, 0);
  rmSync(slowMarker);
  agent = startAgent(["--config", config], env);
  await agent.waitFor((l) => l.msg === "previous apply interrupted", 60_000, 0);
  await agent.waitFor(finished(fifth), 60_000, 0);
  const installed = await runCli(["apply", "--config", config, "--json"], { env });
  assert.equal(installed.code, 0, installed.stderr);
  assert.deepEqual((JSON.parse(installed.stdout) as { plan: { actions: unknown[] } }).plan.actions, [], "nothing left to do");
  // The report says the jail's rc service runs (the jail driver's health check).
  const doc = git(bare, ["show", "refs/heads/status/n1:status/n1.yaml"]);
  assert.match(doc, /services:\n\s+- jail: blog\n\s+service: nginx\n\s+running: true/);
});

test("SIGTERM stops the agent cleanly: exit 0, the lock released", async () => {
  assert.ok(agent);
  agent.signal("SIGTERM");
  assert.equal(await agent.exited, 0);
  assert.ok(agent.lines.some((l) => l.msg === "agent stopped"));
  agent = undefined;
  const once = await runCli(["agent", "--config", config, "--once", "--json"], { env });
  assert.equal(once.code, 0, once.stderr);
  assert.equal((JSON.parse(once.stdout) as { ok: boolean; decision: string }).decision, "unchanged");
  assert.ok(!existsSync(join(root, "state", "agent.lock.owner")), "no stale owner record");
});
