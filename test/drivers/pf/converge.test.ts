/**
 * The pf driver end to end on the simulated pfctl (sim/pf-README.md), as an admin sees it on a
 * node whose /etc/pf.conf calls the anchor: the template's node alpha loaded from nothing and
 * read back; a rerun that does nothing; the anchor flushed by hand and put back; a failed load
 * and a render pfctl refuses, both keeping the old rules; and commit-confirmed loads against a
 * real git server on loopback, stopped during the window (the previous rules come back by
 * themselves) or started again within it (the new rules stay).
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import { pfDriver } from "../../../agent/src/drivers/pf/driver.js";
import { systemExecutor, type Executor } from "../../../agent/src/exec.js";
import { silentLogger } from "../../../agent/src/log.js";
import type { DesiredState, HostLayout } from "../../../agent/src/manifest/types.js";
import type { Driver } from "../../../agent/src/drivers/driver.js";
import { applyNode, desiredFromSnapshot, planNode } from "../../../agent/src/reconcile.js";
import { startGitHttpServer, type GitHttpServer } from "../../helpers/git-http-server.js";
import { makeTempDir, removeDir } from "../../helpers/keys.js";
import { useSimulator, type Simulator } from "../../helpers/sim.js";
import { templateWith } from "../../helpers/template.js";

const DRIVERS = [pfDriver as Driver];
const PF_CONF = 'set skip on lo1\nnat-anchor "steward"\nrdr-anchor "steward"\nblock drop log all\npass in quick on em0 inet proto tcp from any to (em0) port 2222 keep state\nanchor "steward"\npass out on em0 inet from (em0) keep state\n';

let sim: Simulator;
let dir: string;
let state: string;

before(() => {
  sim = useSimulator({ pf: "bare" });
});
after(() => sim.close());
beforeEach(() => {
  if (dir !== undefined) removeDir(dir);
  dir = makeTempDir();
  state = join(dir, "state");
  mkdirSync(state);
  // A fresh kernel: the operator's pf.conf loaded and pf enabled.
  removeDir(join(sim.root, "pf"));
  const conf = join(dir, "pf.conf");
  writeFileSync(conf, PF_CONF);
  assert.equal(pfctl("-f", conf).code, 0);
  assert.equal(pfctl("-e").code, 0);
});

function pfctl(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync("pfctl", args, { encoding: "utf8" });
  return { code: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
}

const anchorRules = (): string => pfctl("-a", "steward", "-sr").stdout;
const anchorNat = (): string => pfctl("-a", "steward", "-sn").stdout;

async function desired(edits: Parameters<typeof templateWith>[0] = {}, host?: Partial<HostLayout>): Promise<DesiredState> {
  const d = await desiredFromSnapshot(await templateWith(edits), "alpha");
  assert.ok(d.desired, JSON.stringify(d.diagnostics));
  return { ...d.desired, host: { jailConfDir: join(dir, "jail.conf.d"), ...host } };
}

const ctx = (executor: Executor = systemExecutor) => ({ executor, stateDir: state, log: silentLogger, drivers: DRIVERS });

test("the template's alpha: loaded from nothing, read back, recorded; a rerun does nothing", async () => {
  const d = await desired();
  const run = await applyNode(d, ctx());
  assert.deepEqual(run.plan.actions.map((a) => `${a.id} ${a.cause}`), ["pf.load:steward missing"]);
  assert.ok(run.result.ok, JSON.stringify(run.result.outcomes));
  assert.deepEqual(run.plan.findings, []);
  assert.match(anchorRules(), /^block drop quick inet from <steward_jails> to <steward_protect>$/m);
  assert.match(anchorRules(), /^pass quick inet proto tcp from 10\.17\.0\.22 to 10\.17\.0\.25 port = submission flags S\/SA keep state$/m);
  assert.match(anchorNat(), /^rdr on em0 inet proto tcp from any to \(em0\) port = ssh -> 10\.17\.0\.22$/m);
  assert.equal(readFileSync(join(state, "pf", "steward.conf"), "utf8"), pfDriver.slice(d).text);
  assert.equal(existsSync(join(state, "pf", "steward.next.conf")), false);
  // The operator's main ruleset is as it was.
  assert.match(pfctl("-sr").stdout, /^pass in quick on em0 inet proto tcp from any to \(em0\) port = 2222 flags S\/SA keep state$/m);
  const again = await planNode(d, ctx());
  assert.deepEqual(again.plan.actions, []);
});

test("an anchor flushed by hand (or lost at reboot) is drift, and is loaded again", async () => {
  const d = await desired();
  assert.ok((await applyNode(d, ctx())).result.ok);
  assert.equal(pfctl("-a", "steward", "-F", "rules").code, 0);
  const run = await applyNode(d, ctx());
  assert.deepEqual(run.plan.actions.map((a) => `${a.id} ${a.cause}`), ["pf.load:steward drift"]);
  assert.ok(run.result.ok);
  assert.match(anchorRules(), /steward_protect/);
});

const CHANGE = { "services/mail.yaml": (t: string) => t.replace("routes: [internet:25/tcp, dns]", "routes: [internet:25/tcp, dns, git:22/tcp]") };

test("a failed load keeps the old rules, and the next apply loads the new ones", async () => {
  assert.ok((await applyNode(await desired(), ctx())).result.ok);
  const old = [anchorRules(), anchorNat()];
  writeFileSync(join(sim.root, "pf", "fail-next"), "load\n");
  const d = await desired(CHANGE);
  const run = await applyNode(d, ctx());
  const o = run.result.outcomes[0];
  assert.ok(o?.status === "failed" && o.code === "EXEC_FAILED" && /Unable to load rules into kernel/.test(o.stderr), JSON.stringify(o));
  assert.deepEqual([anchorRules(), anchorNat()], old);
  assert.notEqual(readFileSync(join(state, "pf", "steward.conf"), "utf8"), pfDriver.slice(d).text, "the record still names the old anchor");
  const retry = await applyNode(d, ctx());
  assert.deepEqual(retry.plan.actions.map((a) => `${a.id} ${a.cause}`), ["pf.load:steward manifest-changed"]);
  assert.ok(retry.result.ok);
  assert.match(anchorRules(), /from 10\.17\.0\.25 to 10\.17\.0\.22 port = ssh/);
});

test("a render pfctl refuses is caught by pfctl -n before any load: the old rules stay", async () => {
  assert.ok((await applyNode(await desired(), ctx())).result.ok);
  const old = [anchorRules(), anchorNat()];
  // An executor whose file writes put the filter options before the hosts, as a broken renderer would.
  const broken: Executor = {
    run: (argv, o) => systemExecutor.run(argv, o),
    writeFile: (path, data, mode) => systemExecutor.writeFile(path, Buffer.from(Buffer.from(data).toString("utf8").replace("inet all tagged steward_egress", "inet tagged steward_egress all")), mode),
  };
  const run = await applyNode(await desired(CHANGE), ctx(broken));
  const o = run.result.outcomes[0];
  assert.ok(o?.status === "failed" && o.argv?.includes("-n") === true && /syntax error/.test(o.stderr), JSON.stringify(o));
  assert.deepEqual([anchorRules(), anchorNat()], old);
});

test("the findings of a pf.conf that does not call the anchor, skips lo0, or is disabled", async () => {
  const conf = join(dir, "bare.conf");
  writeFileSync(conf, "set skip on lo\npass quick on lo0 all\n");
  assert.equal(pfctl("-f", conf).code, 0);
  assert.equal(pfctl("-d").code, 0);
  const run = await applyNode(await desired(), ctx());
  assert.deepEqual(run.plan.findings.map((f) => f.kind), ["disabled", "loopback-skipped", "not-called"]);
  assert.ok(run.result.ok, "the anchor is loaded all the same");
});

describe("commit-confirmed loads against a git server on loopback", () => {
  let server: GitHttpServer | undefined;
  let repos: string;
  const host = (s: GitHttpServer): Partial<HostLayout> => ({ pfConfirm: { targets: [{ name: "origin", host: "127.0.0.1", port: s.port }], windowMs: 2_000 } });

  beforeEach(async () => {
    repos = join(dir, "srv");
    mkdirSync(repos);
    spawnSync("git", ["init", "-q", "--bare", join(repos, "cluster.git")]);
    server = await startGitHttpServer(repos);
  });

  test("commit-confirmed: a load after which no remote answers is reverted by itself", async () => {
    const s = server as GitHttpServer;
    assert.ok((await applyNode(await desired({}, host(s)), ctx())).result.ok, "confirmed while the server answers");
    const old = [anchorRules(), anchorNat()];
    await s.close();
    const d = await desired(CHANGE, host(s));
    const started = Date.now();
    const run = await applyNode(d, ctx());
    const o = run.result.outcomes[0];
    assert.ok(o?.status === "failed" && o.code === "APPLY_REVERTED", JSON.stringify(o));
    assert.match(o.message, /no git remote answered within 2 s of loading \(origin: ECONNREFUSED\)/);
    assert.ok(Date.now() - started >= 1_500, "it waited for the window");
    assert.deepEqual([anchorRules(), anchorNat()], old, "the previous anchor is back");
    // Still due: the next apply tries again (and, with the server back, keeps it).
    server = await startGitHttpServer(repos, { port: s.port });
    const retry = await applyNode(d, ctx());
    assert.ok(retry.result.ok, JSON.stringify(retry.result.outcomes));
    assert.match(anchorRules(), /from 10\.17\.0\.25 to 10\.17\.0\.22 port = ssh/);
  });

  test("commit-confirmed: a first load that cuts the remotes leaves an empty anchor", async () => {
    const s = server as GitHttpServer;
    await s.close();
    const run = await applyNode(await desired({}, host(s)), ctx());
    const o = run.result.outcomes[0];
    assert.ok(o?.status === "failed" && o.code === "APPLY_REVERTED", JSON.stringify(o));
    assert.equal(anchorRules(), "");
    assert.equal(anchorNat(), "");
    server = await startGitHttpServer(repos, { port: s.port });
  });

  test("commit-confirmed: a remote that answers again within the window confirms the load", async () => {
    const s = server as GitHttpServer;
    await s.close();
    const restart = setTimeout(() => {
      void startGitHttpServer(repos, { port: s.port }).then((x) => {
        server = x;
      });
    }, 700);
    const run = await applyNode(await desired({}, { pfConfirm: { targets: [{ name: "origin", host: "127.0.0.1", port: s.port }], windowMs: 5_000 } }), ctx());
    clearTimeout(restart);
    assert.ok(run.result.ok, JSON.stringify(run.result.outcomes));
    assert.match(anchorRules(), /steward_protect/);
  });

  afterEach(async () => {
    await server?.close().catch(() => {});
    server = undefined;
  });
});

after(() => {
  if (dir !== undefined) removeDir(dir);
});

test("a host whose pf cannot be opened: a blocking finding, the observation does not fail", async () => {
  const root = process.env["STEWARD_SIM_ROOT"];
  delete process.env["STEWARD_SIM_ROOT"];
  try {
    const run = await applyNode(await desired(), ctx());
    assert.deepEqual(run.plan.actions, []);
    assert.deepEqual(run.plan.findings.map((f) => [f.kind, f.blocking]), [["unavailable", true]]);
    assert.deepEqual(run.plan.blocked, ["pf:steward"]);
  } finally {
    process.env["STEWARD_SIM_ROOT"] = root;
  }
});
