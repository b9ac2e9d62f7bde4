/**
 * README.md's walkthrough, "From nothing to a converging node", run from the README's own
 * commands: every ```sh walkthrough block, in order, each in a fresh bash (`-e -o pipefail`) in
 * Steward's source tree, against a real sshd with git-shell playing the git server, real git,
 * a real zfs-fuse pool and the jail-tool simulator. All three machines are this one.
 *
 * Only what is specific to a host is changed in a block, by the SUBSTITUTIONS table below:
 * host names and ports, paths (a temporary directory instead of /usr/local/etc/steward, /srv/git,
 * …), the account that plays `git` (sshd logs in as the user running the tests), `ssh
 * root@<host> CMD` run here as `eval CMD`, and the passphrase prompt of ssh-keygen answered with
 * `-N ''`. Between the template copy and the commit the test makes the edits the README asks
 * the admin to make (the pool, the jails directory, gzip for lz4 on zfs-fuse), and the base
 * release is installed as docs/jails.md says, with a tiny test root (installBase) because
 * fetching FreeBSD is off this machine.
 */
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CLI_MAIN, REPO_ROOT, runCli } from "./helpers/cli.js";
import { makeTempDir, removeDir } from "./helpers/keys.js";
import { useSimulator, type Simulator } from "./helpers/sim.js";
import { startSshd, type Sshd } from "./helpers/sshd.js";
import { createTestPool, installBase, type TestPool } from "./helpers/zfs-pool.js";

const README = readFileSync(join(REPO_ROOT, "README.md"), "utf8");

/** walkthroughBlocks returns the README's ```sh walkthrough blocks, in order. */
function walkthroughBlocks(text: string): string[] {
  return [...text.matchAll(/^```sh walkthrough\n([\s\S]*?)^```$/gm)].map((m) => m[1] ?? "");
}

let t: string;
let sshd: Sshd;
let pool: TestPool;
let sim: Simulator;
let env: NodeJS.ProcessEnv;
let config: string;

before(async () => {
  t = makeTempDir("steward-readme-");
  pool = await createTestPool("strd");
  await installBase(pool);
  sshd = await startSshd(join(t, "sshd"));
  sim = useSimulator();
  for (const d of ["home", "bin", "node"]) mkdirSync(join(t, d));
  // `steward` on PATH, as npm install -g puts it there.
  writeFileSync(join(t, "bin", "steward"), `#!/bin/sh\nexec '${process.execPath}' '${CLI_MAIN}' "$@"\n`);
  chmodSync(join(t, "bin", "steward"), 0o755);
  config = join(t, "node", "etc", "steward.yaml");
  const home = join(t, "home");
  const { SSH_AUTH_SOCK: _agent, STEWARD_LOG: _log, STEWARD_LOG_FORMAT: _format, ...inherited } = process.env;
  env = {
    ...inherited,
    HOME: home,
    PATH: `${join(t, "bin")}:${process.env["PATH"] ?? "/usr/bin:/bin"}`,
    GIT_CONFIG_NOSYSTEM: "1",
    // The admin's identity, which git asks for before the first commit.
    GIT_AUTHOR_NAME: "Admin",
    GIT_AUTHOR_EMAIL: "admin@home.arpa",
    GIT_COMMITTER_NAME: "Admin",
    GIT_COMMITTER_EMAIL: "admin@home.arpa",
    // ssh finds ~/.ssh through the password database, not $HOME: point it at the admin's.
    GIT_SSH_COMMAND: `ssh -F /dev/null -o BatchMode=yes -o IdentitiesOnly=yes -o UserKnownHostsFile=${home}/.ssh/known_hosts -i ${home}/.ssh/id_ed25519`,
  };
});

after(async () => {
  sim?.close();
  await sshd?.close();
  await pool?.destroy();
  if (t !== undefined) removeDir(t);
});

/** The host-specific values of the README's commands, in the order they are replaced. */
function substitutions(): [RegExp, string][] {
  const user = sshd.user;
  const group = execFileSync("id", ["-gn"], { encoding: "utf8" }).trim();
  const node = join(t, "node");
  return [
    // ssh-keygen asks for a passphrase; a test has nobody to type one.
    [/^ssh-keygen -t (?![^\n]*-N )/gm, "ssh-keygen -N '' -t "],
    // Every machine is this one: what runs on another over ssh runs here.
    [/ssh root@(?:alpha|git)\.home\.arpa /g, "eval "],
    [/ssh:\/\/git@git\.home\.arpa\//g, `ssh://${user}@127.0.0.1:${sshd.port}/`],
    [/ssh-keyscan git\.home\.arpa/g, `ssh-keyscan -p ${sshd.port} 127.0.0.1`],
    // The test's sshd plays the git account: its authorized_keys, its user.
    [/~git\/\.ssh/g, join(t, "sshd")],
    [/\bgit:git\b/g, `${user}:${group}`],
    [/\/etc\/ssh\/ssh_host_ed25519_key\.pub/g, sshd.hostKey.public],
    [/\/usr\/local\/etc\/steward/g, join(node, "etc")],
    [/\/var\/db\/steward/g, join(node, "db")],
    [/\/srv\/git/g, join(t, "srv", "git")],
    [/\/etc\/jail\.conf\.d/g, join(node, "jail.conf.d")],
    // The default configuration path, /usr/local/etc/steward/steward.yaml, moved with the rest.
    [/^steward (fetch|desired|plan|apply|agent)\b/gm, `steward $1 --config ${config}`],
  ];
}

/** runBlock runs one block in bash in Steward's source tree; resolves with its exit code and output. */
function runBlock(script: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn("bash", ["-e", "-o", "pipefail", "-c", script], { cwd: REPO_ROOT, env, stdio: ["ignore", "pipe", "pipe"], timeout: 180_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? 129, stdout, stderr }));
  });
}

/** makeHostEdits does what the README asks the admin to do to the template for their machines. */
function makeHostEdits(cluster: string): void {
  const node = join(cluster, "nodes", "alpha.yaml");
  writeFileSync(node, `${readFileSync(node, "utf8").replace(/^pool: .*$/m, `pool: ${pool.name}`)}jails: ${pool.dir}/jails\n`);
  const file = join(cluster, "cluster.yaml");
  // zfs-fuse has no lz4 (docs/decisions.md, "gzip instead of lz4, on zfs-fuse only").
  writeFileSync(file, readFileSync(file, "utf8").replace("compression: lz4", "compression: gzip"));
}

test("the README keeps its order: the three make commands, then installing on FreeBSD, then the walkthrough", () => {
  const at = (s: string): number => README.indexOf(s);
  const headings = ["## Three commands", "## Install on FreeBSD", "## From nothing to a converging node"].map(at);
  assert.ok(headings.every((h) => h >= 0), `headings ${JSON.stringify(headings)}`);
  assert.deepEqual([...headings].sort((a, b) => a - b), headings);
  for (const cmd of ["make demo", "make test", "make bench"]) assert.ok(README.slice(headings[0], headings[1]).includes(`${cmd}  `), `${cmd} comes first`);
  assert.ok(walkthroughBlocks(README).every((b) => README.indexOf(b) > headings[2]!), "every walkthrough block is in the walkthrough");
  assert.match(README, /`compression: lz4` is right for FreeBSD; only on zfs-fuse[^.]*is it replaced by gzip/);
  assert.match(README, /<!-- steward init:/, "the spot where steward init will go is marked");
});

test("the walkthrough names every step a newcomer needs", () => {
  const all = walkthroughBlocks(README).join("\n");
  for (const step of [
    "ssh-keygen -t ed25519", // the admin's key
    "git config --global gpg.format ssh",
    "git config --global user.signingkey",
    ">> trust/allowed_signers", // the admin's key in the repo's trust
    "/usr/local/etc/steward/allowed_signers", // and in the node's bootstrap trust
    "git init --bare --initial-branch=main", // the server repository, HEAD on the branch
    "/usr/local/etc/steward/id_ed25519.pub", // the node's key…
    "~git/.ssh/authorized_keys", // …on the server
    "ssh-keyscan git.home.arpa > /usr/local/etc/steward/known_hosts", // the pinned host key
    "cat > /usr/local/etc/steward/steward.yaml",
    "git push",
    "steward fetch",
    "steward apply",
    "key: /usr/local/etc/steward/id_ed25519", // the node's key signs its status reports
    'echo "key: $(ssh root@alpha.home.arpa cat /usr/local/etc/steward/id_ed25519.pub)" >> nodes/alpha.yaml',
    "STEWARD_PUSHER=alpha@steward",
    "steward agent --once",
  ]) {
    assert.ok(all.includes(step), `the walkthrough has: ${step}`);
  }
});

test("the walkthrough's own commands take a fresh machine to a converged node", async () => {
  const blocks = walkthroughBlocks(README);
  assert.ok(blocks.length >= 8, `${blocks.length} walkthrough blocks`);
  const subs = substitutions();
  let signed = "";
  for (const [i, block] of blocks.entries()) {
    const script = subs.reduce((s, [pattern, value]) => s.replace(pattern, value), block);
    const r = await runBlock(script);
    assert.equal(r.code, 0, `block ${i + 1} failed (exit ${r.code}):\n${script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    if (/git log --show-signature/.test(block)) signed = r.stdout + r.stderr;
    if (/cp -R cluster-repo-template ~\/cluster/.test(block)) makeHostEdits(join(t, "home", "cluster"));
  }
  assert.match(signed, /Good "git" signature for admin@home\.arpa/);

  // The node runs the pushed commit and has nothing left to do.
  const head = execFileSync("git", ["-C", join(t, "srv", "git", "cluster.git"), "rev-parse", "main"], { encoding: "utf8" }).trim();
  const plan = await runCli(["plan", "--config", config, "--json"], { env });
  assert.equal(plan.code, 0, plan.stderr);
  const out = JSON.parse(plan.stdout) as { plan: { actions: unknown[]; findings: { kind: string }[] }; source: { revision: string; decision: { kind: string } } };
  assert.deepEqual([out.source.revision, out.source.decision.kind, out.plan.actions], [head, "unchanged", []]);
  assert.equal(await pool.get(`${pool.name}/steward/data/mail/mail`, "compression"), "gzip");
  assert.ok(existsSync(join(t, "node", "jail.conf.d", "mail.conf")));
  for (const jail of ["mail", "git"]) execFileSync("jls", ["-j", jail], { env, stdio: "ignore" });
  // The agent's first report reached the server, signed by the node's key.
  const status = execFileSync("git", ["-C", join(t, "srv", "git", "cluster.git"), "show", "status/alpha:status/alpha.yaml"], { encoding: "utf8" });
  assert.match(status, new RegExp(`lastAppliedRevision: ${head}`));
});
