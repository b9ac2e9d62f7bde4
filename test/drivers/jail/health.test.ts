/**
 * Per-service health (agent/src/drivers/jail/health.ts) on the simulated jail tools
 * (sim/README.md): the template's node beta with caldav running radicale, taskd running but its
 * taskd stopped by hand, and xmpp's jail down; a status command that hangs; the deadline. And
 * the pure reading of service(8)'s answers.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { sliceJails } from "../../../agent/src/drivers/jail/driver.js";
import { healthFrom, observeHealth, serviceState } from "../../../agent/src/drivers/jail/health.js";
import type { JailDesired } from "../../../agent/src/drivers/jail/types.js";
import { systemExecutor } from "../../../agent/src/exec.js";
import { desiredStateFor } from "../../../agent/src/manifest/desired.js";
import { loadModel } from "../../../agent/src/manifest/load.js";
import { nodeHealth } from "../../../agent/src/reconcile.js";
import { makeTempDir, removeDir } from "../../helpers/keys.js";
import { RecordingExecutor } from "../../helpers/recording-executor.js";
import { useSimulator, type Simulator } from "../../helpers/sim.js";
import { templateWith } from "../../helpers/template.js";

let sim: Simulator;
let dir: string;
let desired: JailDesired;
let node: ReturnType<typeof desiredStateFor>;

const sh = (argv: string[]): string => execFileSync(argv[0] as string, argv.slice(1), { encoding: "utf8" });

before(async () => {
  sim = useSimulator();
  dir = makeTempDir("steward-health-");
  const { model } = loadModel(await templateWith({ "nodes/beta.yaml": (t) => `${t}jails: ${dir}/jails\n` }));
  assert.ok(model);
  node = { ...desiredStateFor(model, "beta"), host: { jailConfDir: join(dir, "conf") } };
  desired = sliceJails(node);
  assert.deepEqual(desired.jails.map((j) => [j.name, j.services]), [["caldav", ["radicale"]], ["taskd", ["taskd"]], ["xmpp", ["prosody"]]]);
  mkdirSync(join(dir, "conf"));
  // caldav and taskd run, as the driver left them; xmpp's jail is never started.
  for (const j of desired.jails.filter((x) => x.name !== "xmpp")) {
    mkdirSync(join(j.root, "dev"), { recursive: true });
    mkdirSync(join(j.root, "etc"), { recursive: true });
    writeFileSync(j.confPath, j.conf);
    sh(["jail", "-f", j.confPath, "-c", j.name]);
    sh(["pkg", "-j", j.name, "install", "-qy", ...j.packages]);
    sh(["sysrc", "-j", j.name, ...Object.entries(j.rc).map(([k, v]) => `${k}=${v}`)]);
    for (const s of j.services) sh(["service", "-j", j.name, s, "start"]);
  }
  // Stopped by hand: the jail runs, its service does not.
  sh(["service", "-j", "taskd", "taskd", "stop"]);
});

after(() => {
  sim?.close();
  if (dir !== undefined) removeDir(dir);
});

test("each listed service: running, stopped by hand, or its jail down; one jls and one status per service of a running jail", async () => {
  const ex = new RecordingExecutor([], systemExecutor);
  const health = await observeHealth(ex, desired);
  assert.deepEqual(
    health.map((h) => [h.jail, h.service, h.state]),
    [
      ["caldav", "radicale", "running"],
      ["taskd", "taskd", "stopped"],
      ["xmpp", "prosody", "jail-down"],
    ],
  );
  assert.match(health[0]?.detail ?? "", /^radicale is running as pid \d+\.$/);
  assert.equal(health[1]?.detail, "taskd is not running.");
  assert.equal(health[2]?.detail, "jail xmpp is not running");
  assert.deepEqual(ex.calls.map((a) => a.join(" ")).sort(), ["jls --libxo json jid name path host.hostname ip4.addr", "service -j caldav radicale onestatus", "service -j taskd taskd onestatus"]);
  // The same through the driver seam.
  assert.deepEqual(await nodeHealth(node, systemExecutor), await observeHealth(systemExecutor, desired));
});

test("a service disabled by hand but running is running: onestatus does not ask rc.conf", async () => {
  sh(["sysrc", "-j", "caldav", "radicale_enable=NO"]);
  try {
    const health = await observeHealth(systemExecutor, desired);
    assert.equal(health.find((h) => h.jail === "caldav")?.state, "running");
  } finally {
    sh(["sysrc", "-j", "caldav", "radicale_enable=YES"]);
  }
});

test("a status command that hangs is unknown at its timeout; the others still answer", async () => {
  sim.faults({ hang: ["taskd:service"], hangMs: 20_000 });
  try {
    const t0 = performance.now();
    const health = await observeHealth(systemExecutor, desired, { timeoutMs: 1_000 });
    assert.ok(performance.now() - t0 < 8_000, "bounded by the command's timeout");
    assert.deepEqual(
      health.map((h) => [h.service, h.state, h.detail.replace(/\d+/, "N")]),
      [
        ["radicale", "running", "radicale is running as pid N."],
        ["taskd", "unknown", "the status command timed out"],
        ["prosody", "jail-down", "jail xmpp is not running"],
      ],
    );
  } finally {
    sim.faults({});
  }
});

test("what is not checked by the deadline is unknown, and says so", async () => {
  sim.faults({ hang: ["caldav:service"], hangMs: 20_000 });
  try {
    const t0 = performance.now();
    const health = await observeHealth(systemExecutor, desired, { deadlineMs: 1_500, concurrency: 1 });
    assert.ok(performance.now() - t0 < 8_000, "bounded by the deadline");
    assert.deepEqual(
      health.map((h) => [h.service, h.state, h.detail]),
      [
        ["radicale", "unknown", "the status command timed out"],
        ["taskd", "unknown", "not checked: the health deadline passed"],
        ["prosody", "jail-down", "jail xmpp is not running"],
      ],
    );
  } finally {
    sim.faults({});
  }
});

test("jls failing makes every service unknown, with jls's reason", () => {
  const h = healthFrom(desired, undefined, new Map(), "jls failed (exit 1): jls: sysctl: Operation not permitted");
  assert.deepEqual(new Set(h.map((x) => `${x.state} ${x.detail}`)), new Set(["unknown jls failed (exit 1): jls: sysctl: Operation not permitted"]));
  assert.equal(h.length, 3);
});

test("service(8)'s answers, as rc.subr(8) and jexec(8) give them", () => {
  const r = (exitCode: number | null, stdout = "", stderr = "", extra: { timedOut?: boolean; spawnError?: string } = {}) => ({ exitCode, stdout, stderr, timedOut: false, ...extra });
  assert.deepEqual(serviceState(r(0, "nginx is running as pid 812.\n")), { state: "running", detail: "nginx is running as pid 812." });
  assert.deepEqual(serviceState(r(1, "nginx is not running.\n")), { state: "stopped", detail: "nginx is not running." });
  assert.deepEqual(serviceState(r(1, "nginx does not exist in /etc/rc.d or the local startup\ndirectories (/usr/local/etc/rc.d), or is not executable\n")), { state: "stopped", detail: "nginx does not exist in /etc/rc.d or the local startup" });
  assert.deepEqual(serviceState(r(1, "", 'jexec: jail "web" not found\n')), { state: "jail-down", detail: 'jexec: jail "web" not found' });
  assert.deepEqual(serviceState(r(3, "", "boom\n")), { state: "unknown", detail: "the status command exited 3: boom" });
  assert.deepEqual(serviceState(r(null, "", "", { timedOut: true })), { state: "unknown", detail: "the status command timed out" });
  assert.deepEqual(serviceState(r(null, "", "", { spawnError: "spawn service ENOENT" })), { state: "unknown", detail: "service(8) could not run: spawn service ENOENT" });
});

test("a node without services runs no command", async () => {
  const ex = new RecordingExecutor();
  assert.deepEqual(await observeHealth(ex, { ...desired, jails: desired.jails.map((j) => ({ ...j, services: [] })) }), []);
  assert.deepEqual(ex.calls, []);
});
