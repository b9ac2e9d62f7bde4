/**
 * `steward plan` and `steward apply` as an admin runs them: the built CLI in a child process,
 * a cluster repo in a directory, a real pool (zfs-fuse). Asserts on exit codes and JSON.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { acquireApplyLock } from "../../agent/src/apply/lock.js";
import { silentLogger } from "../../agent/src/log.js";
import { runCli } from "../helpers/cli.js";
import { makeKey, writeAllowedSigners } from "../helpers/keys.js";
import { useSimulator, type Simulator } from "../helpers/sim.js";
import { TEST_RELEASE, createTestPool, installBase, type TestPool } from "../helpers/zfs-pool.js";

let pool: TestPool;
let repo: string;
let state: string;

const G = 1024 ** 3;

async function writeRepo(opts: { quota?: string; compression?: string; ip?: string } = {}): Promise<void> {
  await mkdir(join(repo, "nodes"), { recursive: true });
  await mkdir(join(repo, "services"), { recursive: true });
  await writeFile(
    join(repo, "cluster.yaml"),
    ["network:", "  jails: 10.17.0.0/24", "  protect: [192.168.1.0/24]", "defaults:", `  release: ${TEST_RELEASE}`, `  datasets: { compression: ${opts.compression ?? "gzip"}, atime: "off" }`, ""].join("\n"),
  );
  await writeFile(join(repo, "nodes", "alpha.yaml"), ["arch: amd64", `pool: ${pool.name}`, "interface: em0", `jails: ${pool.dir}/jails`, ""].join("\n"));
  await writeFile(
    join(repo, "services", "mail.yaml"),
    [
      "node: alpha",
      "jail:",
      `  ip: ${opts.ip ?? "10.17.0.25"}`,
      "datasets:",
      `  mail: { mount: /var/mail, quota: ${opts.quota ?? "20G"}, "org.example:backup": daily }`,
      "  spool: { mount: /var/spool, recordsize: 16K }",
      "",
    ].join("\n"),
  );
}

let sim: Simulator;
let etc: string;

before(async () => {
  pool = await createTestPool();
  await installBase(pool);
  sim = useSimulator();
  repo = await mkdtemp(join(tmpdir(), "steward-cli-repo-"));
  state = await mkdtemp(join(tmpdir(), "steward-cli-state-"));
  etc = await mkdtemp(join(tmpdir(), "steward-cli-etc-"));
  // The node's configuration: only its jail conf directory matters with --dir.
  const trust = writeAllowedSigners(join(etc, "allowed_signers"), [{ principal: "admin@cluster", key: makeKey(join(etc, "keys"), "admin") }]);
  await mkdir(join(etc, "jail.conf.d"));
  await writeFile(join(etc, "steward.yaml"), `node: alpha\nstate: ${state}\ntrust: ${trust}\njail_conf_dir: ${join(etc, "jail.conf.d")}\nremotes:\n  - name: origin\n    url: ${repo}\n`);
  await writeRepo();
});
after(async () => {
  await pool?.destroy();
  sim?.close();
  for (const d of [repo, state, etc]) if (d !== undefined) await rm(d, { recursive: true, force: true });
});

const target = (): string[] => ["--config", join(etc, "steward.yaml"), "--node", "alpha", "--dir", repo, "--state", state];

interface PlanJson {
  ok: boolean;
  plan: { actions: { id: string; kind: string; cause: string }[]; findings: { kind: string }[]; summary: Record<string, number> };
}
interface ApplyJson extends PlanJson {
  result: { ok: boolean; outcomes: { status: string }[] };
}

test("plan on a pool with only the base release lists every create and changes nothing", async () => {
  const r = await runCli(["plan", ...target(), "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as PlanJson;
  assert.equal(out.ok, true);
  // Six datasets (the jail's root cloned), its jail.conf and its start; the host's jail
  // settings; the pf anchor.
  assert.deepEqual(out.plan.summary, { create: 9, change: 1, restart: 0, remove: 0, destroy: 0, findings: 0 });
  // The jail's root is cloned before the datasets mounted inside it.
  const ids = out.plan.actions.map((a) => a.id);
  assert.ok(ids.indexOf(`zfs.clone:${pool.name}/steward/jails/mail`) < ids.indexOf(`zfs.create:${pool.name}/steward/data/mail/mail`), ids.join(" "));
});

test("apply converges, then plan and apply have nothing to do", async () => {
  const r = await runCli(["apply", ...target(), "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as ApplyJson;
  assert.deepEqual(
    out.result.outcomes.map((o) => o.status),
    Array(10).fill("applied"),
  );
  const plan = JSON.parse((await runCli(["plan", ...target(), "--json"])).stdout) as PlanJson;
  assert.equal(plan.plan.actions.length, 0);
  const text = await runCli(["apply", ...target()]);
  assert.equal(text.code, 0, text.stderr);
  assert.equal(await pool.get(`${pool.name}/steward/data/mail/mail`, "quota"), String(20 * G));
});

test("a manifest change shows as one set in plan and is applied", async () => {
  await writeRepo({ quota: "30G" });
  const plan = JSON.parse((await runCli(["plan", ...target(), "--json"])).stdout) as PlanJson;
  assert.deepEqual(plan.plan.actions.map((a) => [a.kind, a.cause]), [["zfs.set", "manifest-changed"]]);
  const r = await runCli(["apply", ...target(), "--json"]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await pool.get(`${pool.name}/steward/data/mail/mail`, "quota"), String(30 * G));
});

test("an invalid manifest prints its diagnostics, exits 1 and touches nothing", async () => {
  await writeRepo({ quota: "30G", ip: "10.99.0.25" });
  const runs = await Promise.all(["plan", "apply"].map((cmd) => runCli([cmd, ...target(), "--json"])));
  for (const r of runs) {
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout) as { ok: boolean; diagnostics: { code: string }[] };
    assert.equal(out.ok, false);
    assert.ok(out.diagnostics.some((d) => d.code.startsWith("MANIFEST_")));
  }
  await writeRepo({ quota: "30G" });
});

test("apply exits 1 when an action fails, and says which", async () => {
  // zfs-fuse rejects lz4 (docs/decisions.md, "gzip instead of lz4, on zfs-fuse only"): both datasets' compression sets fail.
  await writeRepo({ quota: "30G", compression: "lz4" });
  const r = await runCli(["apply", ...target(), "--json"]);
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout) as ApplyJson;
  assert.equal(out.ok, false);
  assert.deepEqual(out.result.outcomes.map((o) => o.status), ["failed", "failed"]);
  await writeRepo({ quota: "30G" });
  const fixed = await runCli(["apply", ...target(), "--json"]);
  assert.equal(fixed.code, 0);
  assert.equal((JSON.parse(fixed.stdout) as ApplyJson).plan.actions.length, 0);
});

test("apply while another apply holds the lock exits 1 with APPLY_LOCKED", async () => {
  const lock = await acquireApplyLock(state, silentLogger);
  try {
    const r = await runCli(["apply", ...target(), "--json"]);
    assert.equal(r.code, 1);
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, "APPLY_LOCKED");
  } finally {
    await lock.release();
  }
});

test("plan and apply without --node are usage errors", async () => {
  const runs = await Promise.all(["plan", "apply"].map((cmd) => runCli([cmd, "--dir", repo])));
  assert.deepEqual(runs.map((r) => r.code), [2, 2]);
});
