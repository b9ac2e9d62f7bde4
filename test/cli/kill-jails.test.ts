/**
 * `steward apply` killed with SIGKILL in the middle of converging the template's six jails, then
 * run again, as an admin would after a power cut: the built CLI in a child process, a real
 * zfs-fuse pool for the datasets, the simulated jail tools (sim/README.md). The simulator's
 * `hang` fault stops the first apply while it puts mail's main.cf in place (the temporary file
 * written, not yet renamed); the test kills it there. The next apply reports the interrupted
 * one and leaves the node exactly as the manifest says: every jail running with its packages,
 * rc.conf, files and services, no temporary file in a jail root, and the lock free. Killed the
 * same way while rewriting a changed file whose change is then reverted, the temporary file is
 * still removed though the file is in sync.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { lockPath } from "../../agent/src/apply/lock.js";
import { ownerPath } from "../../agent/src/file-lock.js";
import { desiredFromDir } from "../../agent/src/reconcile.js";
import { runCli, startCli } from "../helpers/cli.js";
import { makeKey, makeTempDir, removeDir, writeAllowedSigners } from "../helpers/keys.js";
import { useSimulator, type Simulator } from "../helpers/sim.js";
import { templateOnOneNode } from "../helpers/template.js";
import { createTestPool, installBase, type TestPool } from "../helpers/zfs-pool.js";

let pool: TestPool;
let sim: Simulator;
let dir: string;
let repo: string;
let state: string;
let config: string;

before(async () => {
  pool = await createTestPool("stk", 256);
  await installBase(pool);
  sim = useSimulator();
  dir = makeTempDir("steward-kill-jails-");
  repo = join(dir, "repo");
  state = join(dir, "state");
  templateOnOneNode(repo, pool);
  mkdirSync(join(dir, "etc", "jail.conf.d"), { recursive: true });
  const trust = writeAllowedSigners(join(dir, "etc", "allowed_signers"), [{ principal: "admin@cluster", key: makeKey(join(dir, "keys"), "admin") }]);
  config = join(dir, "etc", "steward.yaml");
  writeFileSync(config, `node: alpha\nstate: ${state}\ntrust: ${trust}\njail_conf_dir: ${join(dir, "etc", "jail.conf.d")}\nremotes:\n  - name: origin\n    url: ${repo}\n`);
});

after(async () => {
  await pool?.destroy();
  sim?.close();
  if (dir !== undefined) removeDir(dir);
});

const args = (): string[] => ["apply", "--config", config, "--node", "alpha", "--dir", repo, "--state", state, "--json"];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The commands the hang fault stopped so far (sim/README.md, "Fault injection"). */
function hung(): { pid: number; jail: string; item: string; argv: string[] }[] {
  const path = join(sim.root, "hung.jsonl");
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter((l) => l !== "").map((l) => JSON.parse(l) as { pid: number; jail: string; item: string; argv: string[] });
}

/** Every file under `root` whose name ends with `suffix` (data datasets mounted inside included). */
function findFiles(root: string, suffix: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    if (e.isDirectory()) out.push(...findFiles(p, suffix));
    else if (e.name.endsWith(suffix)) out.push(p);
  }
  return out;
}

interface ApplyJson {
  ok: boolean;
  plan: { actions: { id: string }[] };
  result: { outcomes: { action: string; status: string }[] };
  interrupted: { inFlight: string | null } | null;
}

const MAIN_CF = "usr/local/etc/postfix/main.cf";

/**
 * applyKilledAtRename starts `steward apply` with mail's renames hanging, SIGKILLs it once one
 * hangs, then ends the hung rename too (it outlived the apply that started it, and would
 * rename a stale file later). Leaves the temporary file behind, as a power cut would.
 */
async function applyKilledAtRename(): Promise<void> {
  const seen = hung().length;
  sim.faults({ hang: ["mail:mv"] });
  const started = startCli(args(), { timeoutMs: 300_000 });
  let stopped = hung();
  for (const t0 = Date.now(); stopped.length === seen && Date.now() - t0 < 240_000; stopped = hung()) await sleep(100);
  assert.equal(stopped.length, seen + 1, "the apply reached mail's rename");
  started.child.kill("SIGKILL");
  assert.notEqual((await started.done).code, 0);
  const rename = stopped[seen] as { pid: number; argv: string[] };
  process.kill(rename.pid, "SIGKILL");
  assert.deepEqual(rename.argv.slice(0, 3), ["mv", "-f", `/${MAIN_CF}.steward-new`]);
  assert.ok(existsSync(join(pool.dir, "jails", "mail", `${MAIN_CF}.steward-new`)), "the kill left the temporary file behind");
  sim.faults({});
}

test("apply killed with SIGKILL while it writes a file in a jail: the next apply converges the node exactly", { timeout: 600_000 }, async () => {
  await applyKilledAtRename();

  const second = await runCli(args(), { timeoutMs: 300_000 });
  const out = JSON.parse(second.stdout) as ApplyJson;
  assert.equal(second.code, 0, JSON.stringify(out.result?.outcomes.filter((o) => o.status !== "applied"), null, 1) + second.stderr);
  assert.equal(out.interrupted?.inFlight, "jail.file:mail:/usr/local/etc/postfix/main.cf", "the interrupted apply is reported");

  // Exactly the desired state.
  const d = await desiredFromDir(repo, "alpha");
  assert.ok(d.desired);
  const jls = JSON.parse(execFileSync("jls", ["--libxo", "json", "name"], { encoding: "utf8" })) as { "jail-information": { jail: { name: string }[] } };
  assert.deepEqual(jls["jail-information"].jail.map((j) => j.name).sort(), d.desired.services.map((s) => s.name).sort());
  for (const s of d.desired.services) {
    const root = join(pool.dir, "jails", s.name);
    const installed = execFileSync("pkg", ["-j", s.name, "query", "-a", "%n"], { encoding: "utf8" }).split("\n");
    for (const p of s.packages) assert.ok(installed.includes(p), `${s.name}: ${p} installed`);
    for (const f of s.files) assert.equal(readFileSync(join(root, f.path), "utf8"), readFileSync(join(repo, f.from), "utf8"), `${s.name}:${f.path}`);
    for (const svc of s.services) assert.equal(spawnSync("service", ["-j", s.name, svc, "status"]).status, 0, `${s.name}:${svc} runs`);
  }
  assert.deepEqual(findFiles(join(pool.dir, "jails"), ".steward-new"), [], "no temporary file is left in a jail root");

  // The lock is free (a held one fails at once with APPLY_LOCKED), and nothing is left to do.
  const third = await runCli(args(), { timeoutMs: 120_000 });
  assert.equal(third.code, 0, third.stdout + third.stderr);
  assert.deepEqual((JSON.parse(third.stdout) as ApplyJson).plan.actions, []);
  assert.equal(existsSync(ownerPath(lockPath(state))), false);
});

test("killed while rewriting a changed file, the change then reverted: the temporary file goes, nothing restarts", { timeout: 600_000 }, async () => {
  const source = join(repo, "files/mail/main.cf");
  const original = readFileSync(source, "utf8");
  writeFileSync(source, `${original}# tuned\n`);
  await applyKilledAtRename();
  writeFileSync(source, original);
  const run = await runCli(args(), { timeoutMs: 300_000 });
  assert.equal(run.code, 0, run.stdout + run.stderr);
  assert.deepEqual((JSON.parse(run.stdout) as ApplyJson).plan.actions.map((a) => a.id), [`jail.file:mail:/${MAIN_CF}`]);
  assert.equal(readFileSync(join(pool.dir, "jails", "mail", MAIN_CF), "utf8"), original);
  assert.deepEqual(findFiles(join(pool.dir, "jails"), ".steward-new"), []);
});
