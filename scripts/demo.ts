/**
 * `make demo`: Steward's main job end to end on this machine, with nothing but loopback.
 *
 * A git server (git http-backend on 127.0.0.1) serves a cluster repo made from
 * cluster-repo-template/ and signed by an admin key; one node converges its ZFS datasets on a
 * file-backed zfs-fuse pool through the real `steward` CLI: validate, fetch, plan, apply, a
 * second apply that changes nothing, a signed change, a hand edit corrected as drift, and an
 * unsigned commit that is held. Everything is removed at the end.
 */
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI_MAIN, REPO_ROOT } from "../test/helpers/cli.js";
import { startGitHttpServer } from "../test/helpers/git-http-server.js";
import { WorkRepo, makeBare, makeKey, makeTempDir, removeDir, writeAllowedSigners } from "../test/helpers/keys.js";
import { useSimulator } from "../test/helpers/sim.js";
import { createTestPool, installBase } from "../test/helpers/zfs-pool.js";

const bold = (s: string): string => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const say = (s: string): void => void process.stdout.write(`\n${bold(`== ${s}`)}\n`);

/**
 * run shows a command as an admin would type it, runs it with output to the terminal and
 * resolves with its exit code. Asynchronous: the git server lives in this process.
 */
async function run(display: string, argv: readonly string[]): Promise<number> {
  process.stdout.write(`$ ${display}\n`);
  const child = spawn(argv[0] ?? "", argv.slice(1), { stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, STEWARD_LOG: "error" } });
  const code = await new Promise<number>((resolve) => child.on("close", (c) => resolve(c ?? 1)));
  if (code !== 0) process.stdout.write(`(exit ${code})\n`);
  return code;
}

const root = makeTempDir("steward-demo-");
const pool = await createTestPool("stdemo", 256);
// jail, jls, jexec, sysrc, pkg, service and pfctl cannot run on Linux: the simulator plays them (sim/README.md).
const sim = useSimulator();
// The base release jails are cloned from, installed once per release (docs/jails.md).
await installBase(pool);
const http = await startGitHttpServer(join(root, "srv"));
let failed = false;
try {
  const steward = (args: string[]): Promise<number> => run(`steward ${args.join(" ").replaceAll(root, "$DEMO")}`, [process.execPath, CLI_MAIN, ...args]);
  const expect = (code: number, want: number, what: string): void => {
    if (code !== want) {
      failed = true;
      process.stdout.write(`demo: ${what}: expected exit ${want}, got ${code}\n`);
    }
  };

  say(`a git server on ${http.url("cluster.git")}, an admin key, a cluster repo from the template`);
  const admin = makeKey(join(root, "keys"), "admin");
  const trust = writeAllowedSigners(join(root, "etc", "allowed_signers"), [{ principal: "admin@home.arpa", key: admin }]);
  mkdirSync(join(root, "srv"), { recursive: true });
  const bare = makeBare(join(root, "srv", "cluster.git"));
  const work = WorkRepo.create(join(root, "cluster"));
  cpSync(join(REPO_ROOT, "cluster-repo-template"), work.dir, { recursive: true });
  // One node on this machine: every service moves to it, on the demo pool. zfs-fuse has no lz4.
  for (const n of readdirSync(join(work.dir, "nodes"))) work.remove(`nodes/${n}`);
  work.write("nodes/demo.yaml", `# This machine, for the demo: a file-backed zfs-fuse pool.\narch: amd64\npool: ${pool.name}\ninterface: em0\nssh: 2222\njails: ${pool.dir}/jails\n`);
  for (const s of readdirSync(join(work.dir, "services"))) {
    work.write(`services/${s}`, readFileSync(join(work.dir, "services", s), "utf8").replace(/^node: .*$/m, "node: demo"));
  }
  work.write("cluster.yaml", readFileSync(join(work.dir, "cluster.yaml"), "utf8").replace("compression: lz4", "compression: gzip"));
  work.write("trust/allowed_signers", readFileSync(trust, "utf8"));
  work.commit("A closet cluster on one node", { signer: admin });
  work.push(bare);
  const config = join(root, "etc", "steward.yaml");
  mkdirSync(join(root, "etc", "jail.conf.d"), { recursive: true });
  writeFileSync(config, [`node: demo`, `state: ${join(root, "state")}`, `trust: ${trust}`, `jail_conf_dir: ${join(root, "etc", "jail.conf.d")}`, `remotes:`, `  - name: origin`, `    url: ${http.url("cluster.git")}`, ""].join("\n"));
  process.stdout.write(readFileSync(join(work.dir, "services", "mail.yaml"), "utf8"));

  say("validate the checkout offline");
  expect(await steward(["validate", work.dir]), 0, "validate");
  say("fetch: which revision would this node run, and is it signed by a trusted key?");
  expect(await steward(["fetch", "--config", config]), 0, "fetch");
  say("plan: what would change (nothing is touched)");
  expect(await steward(["plan", "--config", config]), 0, "plan");
  say("apply: converge, then record the revision as applied");
  expect(await steward(["apply", "--config", config]), 0, "apply");
  expect(await run(`zfs list -r -o name,quota,compression,mountpoint ${pool.name}/steward`, ["zfs", "list", "-r", "-o", "name,quota,compression,mountpoint", `${pool.name}/steward`]), 0, "zfs list");
  say("apply again: nothing to do");
  expect(await steward(["apply", "--config", config]), 0, "second apply");

  say("a signed change: mail gets a bigger quota");
  work.write("services/mail.yaml", readFileSync(join(work.dir, "services", "mail.yaml"), "utf8").replace("quota: 20G", "quota: 25G"));
  work.commit("mail: 25G", { signer: admin });
  work.push(bare);
  expect(await steward(["apply", "--config", config]), 0, "apply the change");

  say("someone changes a dataset by hand; Steward puts it back");
  expect(await run(`zfs set atime=on ${pool.name}/steward/data/blog/www`, ["zfs", "set", "atime=on", `${pool.name}/steward/data/blog/www`]), 0, "zfs set");
  expect(await steward(["plan", "--config", config]), 0, "plan drift");
  expect(await steward(["apply", "--config", config]), 0, "apply drift");

  say("an unsigned commit is held: the node keeps the last applied revision");
  work.write("services/blog.yaml", readFileSync(join(work.dir, "services", "blog.yaml"), "utf8").replace("routes: [dns, git:22/tcp]", "routes: [dns, git:22/tcp, internet:443/tcp]"));
  work.commit("unsigned change");
  work.push(bare);
  expect(await steward(["fetch", "--config", config]), 1, "fetch of an unsigned commit");
} finally {
  await http.close();
  await pool.destroy();
  sim.close();
  removeDir(root);
}
say(failed ? "demo FAILED" : "demo done: everything above ran for real on this machine, and is cleaned up");
process.exitCode = failed ? 1 : 0;
