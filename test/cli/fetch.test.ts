/**
 * `steward fetch` as an admin runs it: the built CLI against a real HTTP server and a local
 * mirror, with a configuration file using relative paths.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { execFileSync } from "node:child_process";
import { startGitHttpServer, type GitHttpServer } from "../helpers/git-http-server.js";
import { WorkRepo, allowedSigners, makeBare, makeKey, makeTempDir, removeDir, writeAllowedSigners, type SshKey } from "../helpers/keys.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), "../../agent/src/cli/main.js");

let dir: string;
let http: GitHttpServer;
let work: WorkRepo;
let primary: string;
let mirror: string;
let admin: SshKey;
let config: string;
let sshd: Sshd;

before(async () => {
  dir = makeTempDir();
  admin = makeKey(join(dir, "keys"), "admin");
  writeAllowedSigners(join(dir, "etc", "allowed_signers"), [{ principal: "admin@cluster", key: admin }]);
  primary = makeBare(join(dir, "srv", "cluster.git"));
  mirror = makeBare(join(dir, "mirror.git"));
  http = await startGitHttpServer(join(dir, "srv"));
  sshd = await startSshd(join(dir, "sshd"));
  work = WorkRepo.create(join(dir, "work"));
  config = join(dir, "etc", "steward.yaml");
  writeFileSync(
    config,
    ["node: alpha", `state: ${join(dir, "state")}`, "trust: allowed_signers", "timeout: 2", "remotes:", "  - name: origin", `    url: ${http.url("cluster.git")}`, "  - name: mirror", `    url: ${mirror}`, ""].join("\n"),
  );
});

after(async () => {
  await http?.close();
  await sshd?.close();
  removeDir(dir);
});

function push(): void {
  work.push(primary).push(mirror);
}

function cli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ["ignore", "pipe", "pipe"], timeout: 20_000 });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => resolvePromise({ code: code ?? 129, stdout, stderr }));
  });
}

test("chooses and records the signed tip, exit 0, then reports it unchanged", async () => {
  work.write("cluster.yaml", "domain: home.arpa\n").write("trust/allowed_signers", allowedSigners([{ principal: "admin@cluster", key: admin }]));
  const a = work.commit("A", { signer: admin });
  push();
  const first = await cli(["fetch", "--config", config, "--json", "--record"]);
  assert.equal(first.code, 0, first.stderr);
  const j = JSON.parse(first.stdout) as { ok: boolean; decision: { kind: string; revision: string; remote: string }; recorded: boolean; remotes: { name: string; ok: boolean; tip: string }[] };
  assert.deepEqual([j.ok, j.decision, j.recorded], [true, { kind: "apply", revision: a, remote: "origin" }, true]);
  assert.deepEqual(j.remotes.map((r) => [r.name, r.ok, r.tip]), [["origin", true, a], ["mirror", true, a]]);
  const again = await cli(["fetch", "--config", config, "--json"]);
  assert.equal(again.code, 0);
  assert.deepEqual(JSON.parse(again.stdout).decision, { kind: "unchanged", revision: a });
});

test("holds an unsigned tip with exit 1 and the reason's code", async () => {
  const a = work.head();
  work.commit("B unsigned");
  push();
  const r = await cli(["fetch", "--config", config, "--json"]);
  assert.equal(r.code, 1);
  const j = JSON.parse(r.stdout) as { ok: boolean; decision: { kind: string; revision: string; reason: { code: string } }; lastApplied: string };
  assert.deepEqual([j.ok, j.decision.kind, j.decision.revision, j.decision.reason.code, j.lastApplied], [false, "hold", a, "SOURCE_UNSIGNED", a]);
  const text = await cli(["fetch", "--config", config]);
  assert.equal(text.code, 1);
  assert.match(text.stdout, /^hold [0-9a-f]{40}: SOURCE_UNSIGNED/);
});

test("an invalid configuration is CONFIG_INVALID with exit 1", async () => {
  const bad = join(dir, "etc", "bad.yaml");
  writeFileSync(bad, "node: alpha\nremotes: []\n");
  const r = await cli(["fetch", "--config", bad, "--json"]);
  assert.equal(r.code, 1);
  const j = JSON.parse(r.stdout) as { ok: boolean; error: { code: string; where: { file: string; line: number } } };
  assert.deepEqual([j.ok, j.error.code, j.error.where.file], [false, "CONFIG_INVALID", bad]);
});

test("every problem of the configuration is printed with its place, the files it names included", async () => {
  const bad = join(dir, "etc", "typos.yaml");
  writeFileSync(bad, ["node: alpha", "state: state", "trust: alowed_signers", "revoked: revoked_kyes", "remotes:", "  - name: mirror", `    url: ${mirror}`, ""].join("\n"));
  const r = await cli(["fetch", "--config", bad]);
  assert.equal(r.code, 1);
  const places = [...r.stderr.matchAll(/^(\S+):(\d+):(\d+)  (CONFIG_INVALID)  /gm)].map((m) => [m[1], Number(m[2]), m[4]]);
  assert.deepEqual(places, [[bad, 2, "CONFIG_INVALID"], [bad, 3, "CONFIG_INVALID"], [bad, 4, "CONFIG_INVALID"]]);
});

test("--help documents --record and exits 0", async () => {
  const r = await cli(["fetch", "--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /--record/);
});

/** fingerprint is what ssh-keygen -l prints for a public key file (or the first key of a known_hosts). */
function fingerprint(file: string): string {
  return execFileSync("ssh-keygen", ["-lf", file], { encoding: "utf8" }).split(" ")[1] as string;
}

/**
 * scenario writes a configuration of its own (state directory and bare repository included)
 * whose remotes are given as YAML lines, and returns its path and the repository's.
 */
function scenario(name: string, remotes: (repo: string) => readonly string[]): { config: string; repo: string } {
  const repo = makeBare(join(dir, name, "cluster.git"));
  const file = join(dir, name, "steward.yaml");
  writeFileSync(file, ["node: alpha", `state: ${join(dir, name, "state")}`, `trust: ${join(dir, "etc", "allowed_signers")}`, "timeout: 5", "remotes:", ...remotes(repo), ""].join("\n"));
  return { config: file, repo };
}

test("an untrusted signature shows the signing key's fingerprint and the keys the trust file lists", async () => {
  const { config: file, repo } = scenario("untrusted", (repo) => ["  - name: mirror", `    url: ${repo}`]);
  const stranger = makeKey(join(dir, "keys"), "stranger");
  const w = WorkRepo.create(join(dir, "untrusted", "work"));
  w.write("cluster.yaml", "domain: home.arpa\n").commit("by a stranger", { signer: stranger });
  w.push(repo);
  const r = await cli(["fetch", "--config", file]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^hold \(nothing applied yet\): SOURCE_UNTRUSTED/);
  assert.ok(r.stdout.split("\n")[0]?.includes(`signed with ssh-ed25519 ${fingerprint(stranger.public)}`), r.stdout);
  assert.ok(r.stdout.includes(join(dir, "etc", "allowed_signers")), r.stdout);
  assert.match(r.stdout, new RegExp(`admin@cluster +ssh-ed25519 ${fingerprint(admin.public).replaceAll("+", "\\+")} +\\(line 1\\)`));
});

test("an invalid trust file in the repo shows where it is and each bad line with its number", async () => {
  const { config: file, repo } = scenario("badtrust", (repo) => ["  - name: mirror", `    url: ${repo}`]);
  const w = WorkRepo.create(join(dir, "badtrust", "work"));
  const trust = `${allowedSigners([{ principal: "admin@cluster", key: admin }])}ops@cluster ssh-ed2551 AAAA\n# a comment\nlaptop@cluster\n`;
  const tip = w.write("trust/allowed_signers", trust).commit("a broken trust file", { signer: admin });
  w.push(repo);
  const r = await cli(["fetch", "--config", file]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /^hold \(nothing applied yet\): SOURCE_TRUST_INVALID/);
  assert.ok(r.stdout.includes(`trust/allowed_signers at commit ${tip.slice(0, 12)}`), r.stdout);
  assert.match(r.stdout, /^ +line 2: /m);
  assert.match(r.stdout, /^ +line 4: /m);
});

test("ssh problems: each remote on one line, with ssh's own line, the fingerprints of a changed host key, and how to pin an unknown one", async () => {
  const emptyKnownHosts = join(dir, "etc", "empty_known_hosts");
  writeFileSync(emptyKnownHosts, "");
  const ssh = (name: string, knownHosts: string) => (repo: string): string[] => [`  - name: ${name}`, `    url: ${sshd.url(repo)}`, `    key: ${sshd.clientKey.private}`, `    known_hosts: ${knownHosts}`];
  const { config: file, repo } = scenario("ssh", (repo) => [...ssh("origin", sshd.knownHosts)(repo), ...ssh("backup", emptyKnownHosts)(repo)]);
  const w = WorkRepo.create(join(dir, "ssh", "work"));
  w.write("cluster.yaml", "domain: home.arpa\n").commit("A", { signer: admin });
  w.push(repo);
  const pinned = fingerprint(sshd.knownHosts);
  await sshd.rotateHostKey();
  const r = await cli(["fetch", "--config", file]);
  assert.equal(r.code, 1);
  const lines = r.stdout.split("\n");
  const origin = lines.find((l) => /^ {2}origin +failed +SOURCE_HOST_KEY: /.test(l));
  const backup = lines.find((l) => /^ {2}backup +failed +SOURCE_HOST_KEY: /.test(l));
  assert.ok(origin !== undefined && backup !== undefined, r.stdout);
  assert.ok(origin.includes(pinned) && origin.includes(fingerprint(sshd.hostKey.public)), origin);
  assert.match(r.stdout, /^ +ssh: Host key for \[127\.0\.0\.1\]:\d+ has changed/m);
  assert.match(r.stdout, /^ +ssh: No ED25519 host key is known for/m);
  assert.ok(r.stdout.includes(`ssh-keyscan -p ${sshd.port} 127.0.0.1 >> ${emptyKnownHosts}`), r.stdout);
});

test("plan with nothing ever applied and an unsigned tip fails with the hold's own code and retry (stalled, not transient)", async () => {
  const fresh = join(dir, "etc", "fresh.yaml");
  writeFileSync(fresh, ["node: alpha", `state: ${join(dir, "fresh-state")}`, "trust: allowed_signers", "timeout: 2", "remotes:", "  - name: mirror", `    url: ${mirror}`, ""].join("\n"));
  const r = await cli(["plan", "--config", fresh, "--json"]);
  assert.equal(r.code, 1, r.stderr);
  const j = JSON.parse(r.stdout) as { error: { code: string; retry: string } };
  assert.deepEqual([j.error.code, j.error.retry], ["SOURCE_UNSIGNED", "stalled"]);
});
