/**
 * The jail driver end to end: the template's six services on one node, on a real ZFS pool
 * (their roots cloned from a base release, their data datasets inside), with the jail tools of
 * test/helpers/jail-host.ts: on Linux the simulated jail, jls, jexec, sysrc, pkg and service
 * (sim/README.md) and zfs-fuse; with STEWARD_TEST_FREEBSD=1 on FreeBSD, the real ones (the
 * scenarios that inject faults are then skipped, with the reason). Each step is what an admin
 * sees: converge from empty, a rerun that does nothing, one changed file, one changed package,
 * a jail stopped by hand, a package that will not install, a restart that failed and is retried.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { systemExecutor } from "../../../agent/src/exec.js";
import { silentLogger } from "../../../agent/src/log.js";
import type { DesiredState } from "../../../agent/src/manifest/types.js";
import { applyNode, desiredFromDir, planNode, type ContentStore } from "../../../agent/src/reconcile.js";
import { makeTempDir, removeDir } from "../../helpers/keys.js";
import { SIMULATOR_ONLY, useJailHost, type JailHost } from "../../helpers/jail-host.js";
import { templateOnOneNode } from "../../helpers/template.js";
import { zfsOk } from "../../helpers/zfs-pool.js";

let host: JailHost;
let dir: string;
let repo: string;
let state: string;

/** faults sets the simulator's fault switches; only scenarios marked SIMULATOR_ONLY call it. */
function faults(f: Readonly<Record<string, unknown>>): void {
  if (host.sim === undefined) throw new Error("fault injection needs the simulator");
  host.sim.faults(f);
}

async function desired(): Promise<{ desired: DesiredState; contents: ContentStore }> {
  const d = await desiredFromDir(repo, "alpha");
  assert.ok(d.desired, JSON.stringify(d.diagnostics));
  return { desired: { ...d.desired, host: { jailConfDir: host.confDir } }, contents: d.contents };
}

const ctx = (contents: ContentStore) => ({ executor: systemExecutor, stateDir: state, log: silentLogger, contents });

async function apply(): Promise<Awaited<ReturnType<typeof applyNode>>> {
  const d = await desired();
  return applyNode(d.desired, ctx(d.contents));
}

before(async () => {
  host = await useJailHost("stj", 256);
  dir = makeTempDir();
  repo = join(dir, "repo");
  state = join(dir, "state");
  templateOnOneNode(repo, { name: host.pool, dir: host.dir });
});

after(async () => {
  await host?.close();
  if (dir !== undefined) removeDir(dir);
});

test("the template's six services converge on an empty node: datasets, jails, packages, rc.conf, files, services", async () => {
  const run = await apply();
  assert.ok(run.result.ok, JSON.stringify(run.result.outcomes.filter((o) => o.status !== "applied"), null, 1));
  assert.deepEqual(host.running(), ["blog", "caldav", "git", "mail", "taskd", "xmpp"]);
  assert.match(readFileSync(join(host.confDir, "mail.conf"), "utf8"), /ip4\.addr = "lo1\|10\.17\.0\.25\/32";/);
  assert.equal(readFileSync(join(host.dir, "jails", "mail", "usr/local/etc/postfix/main.cf"), "utf8"), readFileSync(join(repo, "files/mail/main.cf"), "utf8"));
  // The data is mounted inside the jail's root, not hidden under it.
  const mail = await zfsOk(["zfs", "get", "-H", "-o", "value", "mounted,mountpoint", `${host.pool}/steward/data/mail/mail`]);
  assert.deepEqual(mail.trim().split("\n"), ["yes", `${host.dir}/jails/mail/var/mail`], "mail's data is mounted in its jail");
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
  execFileSync("jail", ["-f", join(host.confDir, "xmpp.conf"), "-r", "xmpp"]);
  const run = await apply();
  assert.ok(run.result.ok, JSON.stringify(run.result.outcomes));
  assert.deepEqual(run.plan.actions.map((a) => [a.id, a.cause]), [["jail.start:xmpp", "drift"]]);
  assert.ok(host.running().includes("xmpp"));
});

test("a package that will not install fails that service only; the others stay ready", { skip: SIMULATOR_ONLY }, async () => {
  faults({ pkgInstallFail: ["taskd:rsync"] });
  const taskd = join(repo, "services/taskd.yaml");
  writeFileSync(taskd, readFileSync(taskd, "utf8").replace("packages: [taskd]", "packages: [taskd, rsync]"));
  const xmpp = join(repo, "services/xmpp.yaml");
  writeFileSync(xmpp, readFileSync(xmpp, "utf8").replace("packages: [prosody]", "packages: [prosody, rsync]"));
  const run = await apply();
  const failed = run.result.outcomes.filter((o) => o.status === "failed" || o.status === "skipped").map((o) => o.action);
  assert.deepEqual(failed, ["jail.pkg-install:taskd", "jail.service-restart:taskd:taskd"]);
  assert.ok(run.result.outcomes.some((o) => o.action === "jail.pkg-install:xmpp" && o.status === "applied"));
  faults({});
  const again = await apply();
  assert.ok(again.result.ok, JSON.stringify(again.result.outcomes));
  assert.deepEqual(again.plan.actions.map((a) => a.id), ["jail.pkg-install:taskd", "jail.service-restart:taskd:taskd"]);
});

test("a restart that failed is retried on the next run, though the file is now in sync", { skip: SIMULATOR_ONLY }, async () => {
  faults({ serviceStartFail: ["caldav:radicale"] });
  const conf = join(repo, "files/caldav/config");
  writeFileSync(conf, `${readFileSync(conf, "utf8")}# once more\n`);
  const first = await apply();
  assert.deepEqual(first.result.outcomes.map((o) => [o.action, o.status]), [["jail.file:caldav:/usr/local/etc/radicale/config", "applied"], ["jail.service-restart:caldav:radicale", "failed"]]);
  faults({});
  const second = await apply();
  assert.deepEqual(second.plan.actions.map((a) => [a.id, a.cause]), [["jail.service-restart:caldav:radicale", "restart-due"]]);
  assert.ok(second.result.ok);
  const third = await apply();
  assert.deepEqual(third.plan.actions, []);
});
