/**
 * The jail driver end to end: the template's six services on one node, on a real zfs-fuse pool
 * (their roots cloned from a base release, their data datasets inside), with the simulated
 * jail, jls, jexec, sysrc, pkg and service (sim/README.md). Each step is what an admin sees:
 * converge from empty, a rerun that does nothing, one changed file, one changed package, a jail
 * stopped by hand, a package that will not install, a restart that failed and is retried.
 */
import assert from "node:assert/strict";
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { systemExecutor } from "../../../agent/src/exec.js";
import { silentLogger } from "../../../agent/src/log.js";
import type { DesiredState } from "../../../agent/src/manifest/types.js";
import { applyNode, desiredFromDir, planNode, type ContentStore } from "../../../agent/src/reconcile.js";
import { makeTempDir, removeDir } from "../../helpers/keys.js";
import { useSimulator, type Simulator } from "../../helpers/sim.js";
import { TEMPLATE_DIR } from "../../helpers/template.js";
import { createTestPool, installBase, type TestPool } from "../../helpers/zfs-pool.js";

let pool: TestPool;
let sim: Simulator;
let dir: string;
let repo: string;
let state: string;
let confDir: string;

/** The template with every service on node alpha, on the test pool (gzip: zfs-fuse has no lz4). */
function writeRepo(): void {
  rmSync(repo, { recursive: true, force: true });
  cpSync(TEMPLATE_DIR, repo, { recursive: true });
  writeFileSync(join(repo, "nodes", "alpha.yaml"), `arch: amd64\npool: ${pool.name}\ninterface: em0\nssh: 2222\njails: ${pool.dir}/jails\n`);
  writeFileSync(join(repo, "cluster.yaml"), readFileSync(join(repo, "cluster.yaml"), "utf8").replace("compression: lz4", "compression: gzip"));
  for (const f of readdirSync(join(repo, "services"))) {
    const path = join(repo, "services", f);
    writeFileSync(path, readFileSync(path, "utf8").replace(/^node: .*$/m, "node: alpha"));
  }
}

async function desired(): Promise<{ desired: DesiredState; contents: ContentStore }> {
  const d = await desiredFromDir(repo, "alpha");
  assert.ok(d.desired, JSON.stringify(d.diagnostics));
  return { desired: { ...d.desired, host: { jailConfDir: confDir } }, contents: d.contents };
}

const ctx = (contents: ContentStore) => ({ executor: systemExecutor, stateDir: state, log: silentLogger, contents });

async function apply(): Promise<Awaited<ReturnType<typeof applyNode>>> {
  const d = await desired();
  return applyNode(d.desired, ctx(d.contents));
}

const running = (): { name: string }[] => {
  const s = JSON.parse(readFileSync(join(sim.root, "state.json"), "utf8")) as { jails: { name: string }[] };
  return s.jails;
};

before(async () => {
  pool = await createTestPool("stj", 256);
  await installBase(pool);
  sim = useSimulator();
  dir = makeTempDir();
  repo = join(dir, "repo");
  state = join(dir, "state");
  confDir = join(dir, "jail.conf.d");
  mkdirSync(confDir);
  writeRepo();
});

after(async () => {
  await pool?.destroy();
  sim?.close();
  if (dir !== undefined) removeDir(dir);
});

test("the template's six services converge on an empty node: datasets, jails, packages, rc.conf, files, services", async () => {
  const run = await apply();
  assert.ok(run.result.ok, JSON.stringify(run.result.outcomes.filter((o) => o.status !== "applied"), null, 1));
  assert.deepEqual(running().map((j) => j.name).sort(), ["blog", "caldav", "git", "mail", "taskd", "xmpp"]);
  assert.match(readFileSync(join(confDir, "mail.conf"), "utf8"), /ip4\.addr = "lo1\|10\.17\.0\.25\/32";/);
  assert.equal(readFileSync(join(pool.dir, "jails", "mail", "usr/local/etc/postfix/main.cf"), "utf8"), readFileSync(join(repo, "files/mail/main.cf"), "utf8"));
  // The data is mounted inside the jail's root, not hidden under it.
  const mounted = readFileSync("/proc/mounts", "utf8");
  assert.ok(mounted.includes(`${pool.dir}/jails/mail/var/mail`), "mail's data is mounted in its jail");
});

test("a rerun of an unchanged node plans nothing and runs no command that changes anything", async () => {
  const d = await desired();
  const { plan } = await planNode(d.desired, ctx(d.contents));
  assert.deepEqual(plan.actions.map((a) => a.id), []);
});

test("one changed file rewrites it and restarts only the service that names it", async () => {
  writeFileSync(join(repo, "files/mail/main.cf"), `${readFileSync(join(repo, "files/mail/main.cf"), "utf8")}# tuned\n`);
  const run = await apply();
  assert.ok(run.result.ok);
  assert.deepEqual(run.plan.actions.map((a) => a.id), ["jail.file:mail:/usr/local/etc/postfix/main.cf", "jail.service-restart:mail:postfix"]);
});

test("one added package installs it in that jail only and restarts that jail's services", async () => {
  const blog = join(repo, "services/blog.yaml");
  writeFileSync(blog, readFileSync(blog, "utf8").replace("packages: [nginx]", "packages: [nginx, rsync]"));
  const run = await apply();
  assert.ok(run.result.ok, JSON.stringify(run.result.outcomes));
  assert.deepEqual(run.plan.actions.map((a) => a.id), ["jail.pkg-install:blog", "jail.service-restart:blog:nginx"]);
});

test("a jail stopped by hand is started again, and its services checked", async () => {
  const { execFileSync } = await import("node:child_process");
  execFileSync("jail", ["-f", join(confDir, "xmpp.conf"), "-r", "xmpp"], { env: process.env });
  const run = await apply();
  assert.ok(run.result.ok, JSON.stringify(run.result.outcomes));
  assert.deepEqual(run.plan.actions.map((a) => [a.id, a.cause]), [["jail.start:xmpp", "drift"]]);
  assert.ok(running().some((j) => j.name === "xmpp"));
});

test("a package that will not install fails that service only; the others stay ready", async () => {
  sim.faults({ pkgInstallFail: ["taskd:rsync"] });
  const taskd = join(repo, "services/taskd.yaml");
  writeFileSync(taskd, readFileSync(taskd, "utf8").replace("packages: [taskd]", "packages: [taskd, rsync]"));
  const xmpp = join(repo, "services/xmpp.yaml");
  writeFileSync(xmpp, readFileSync(xmpp, "utf8").replace("packages: [prosody]", "packages: [prosody, rsync]"));
  const run = await apply();
  const failed = run.result.outcomes.filter((o) => o.status === "failed" || o.status === "skipped").map((o) => o.action);
  assert.deepEqual(failed, ["jail.pkg-install:taskd", "jail.service-restart:taskd:taskd"]);
  assert.ok(run.result.outcomes.some((o) => o.action === "jail.pkg-install:xmpp" && o.status === "applied"));
  sim.faults({});
  const again = await apply();
  assert.ok(again.result.ok, JSON.stringify(again.result.outcomes));
  assert.deepEqual(again.plan.actions.map((a) => a.id), ["jail.pkg-install:taskd", "jail.service-restart:taskd:taskd"]);
});

test("a restart that failed is retried on the next run, though the file is now in sync", async () => {
  sim.faults({ serviceStartFail: ["caldav:radicale"] });
  const conf = join(repo, "files/caldav/config");
  writeFileSync(conf, `${readFileSync(conf, "utf8")}# once more\n`);
  const first = await apply();
  assert.deepEqual(first.result.outcomes.map((o) => [o.action, o.status]), [["jail.file:caldav:/usr/local/etc/radicale/config", "applied"], ["jail.service-restart:caldav:radicale", "failed"]]);
  sim.faults({});
  const second = await apply();
  assert.deepEqual(second.plan.actions.map((a) => [a.id, a.cause]), [["jail.service-restart:caldav:radicale", "restart-due"]]);
  assert.ok(second.result.ok);
  const third = await apply();
  assert.deepEqual(third.plan.actions, []);
});
