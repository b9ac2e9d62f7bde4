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
import { startGitHttpServer, type GitHttpServer } from "../helpers/git-http-server.js";
import { WorkRepo, allowedSigners, makeBare, makeKey, makeTempDir, removeDir, writeAllowedSigners, type SshKey } from "../helpers/keys.js";

const MAIN = resolve(dirname(fileURLToPath(import.meta.url)), "../../agent/src/cli/main.js");

let dir: string;
let http: GitHttpServer;
let work: WorkRepo;
let primary: string;
let mirror: string;
let admin: SshKey;
let config: string;

before(async () => {
  dir = makeTempDir();
  admin = makeKey(join(dir, "keys"), "admin");
  writeAllowedSigners(join(dir, "etc", "allowed_signers"), [{ principal: "admin@cluster", key: admin }]);
  primary = makeBare(join(dir, "srv", "cluster.git"));
  mirror = makeBare(join(dir, "mirror.git"));
  http = await startGitHttpServer(join(dir, "srv"));
  work = WorkRepo.create(join(dir, "work"));
  config = join(dir, "etc", "steward.yaml");
  writeFileSync(
    config,
    ["node: alpha", `state: ${join(dir, "state")}`, "trust: allowed_signers", "timeout: 2", "remotes:", "  - name: origin", `    url: ${http.url("cluster.git")}`, "  - name: mirror", `    url: ${mirror}`, ""].join("\n"),
  );
});

after(async () => {
  await http?.close();
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
