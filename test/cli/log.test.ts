/**
 * Where the CLI's logs go and how they read: short lines on a terminal, JSON lines otherwise
 * or when asked, always on stderr, never in the --json answer on stdout. A fetch of an
 * unsigned commit logs the warning "revision held", so every case below has a log to show.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { CLI_MAIN, runCli } from "../helpers/cli.js";
import { WorkRepo, makeBare, makeKey, makeTempDir, removeDir, writeAllowedSigners } from "../helpers/keys.js";

let dir: string;
let config: string;

before(() => {
  dir = makeTempDir();
  const admin = makeKey(join(dir, "keys"), "admin");
  writeAllowedSigners(join(dir, "etc", "allowed_signers"), [{ principal: "admin@cluster", key: admin }]);
  const bare = makeBare(join(dir, "cluster.git"));
  const work = WorkRepo.create(join(dir, "work"));
  work.write("cluster.yaml", "domain: home.arpa\n").commit("unsigned");
  work.push(bare);
  config = join(dir, "etc", "steward.yaml");
  writeFileSync(config, ["node: alpha", `state: ${join(dir, "state")}`, "trust: allowed_signers", "remotes:", "  - name: mirror", `    url: ${bare}`, ""].join("\n"));
});

after(() => removeDir(dir));

/** env is this process's environment without the log settings, plus `extra`. */
function env(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const { STEWARD_LOG: _l, STEWARD_LOG_FORMAT: _f, ...rest } = process.env;
  return { ...rest, ...extra };
}

const lines = (text: string): string[] => text.split("\n").filter((l) => l !== "");

test("stderr that is not a terminal gets JSON lines", async () => {
  const r = await runCli(["fetch", "--config", config], { env: env() });
  assert.equal(r.code, 1, r.stderr);
  const records = lines(r.stderr).map((l) => JSON.parse(l) as { level: number; msg: string; code?: string });
  assert.ok(records.some((x) => x.level === 40 && x.msg === "revision held" && x.code === "SOURCE_UNSIGNED"), r.stderr);
  assert.match(r.stdout, /^hold \(nothing applied yet\): SOURCE_UNSIGNED/);
});

test("--log-format text and STEWARD_LOG_FORMAT=text print `level: message key=value` lines", async () => {
  for (const [args, extra] of [[["--log-format", "text"], {}], [[], { STEWARD_LOG_FORMAT: "text" }]] as const) {
    const r = await runCli(["fetch", "--config", config, ...args], { env: env(extra) });
    assert.equal(r.code, 1, r.stderr);
    const held = lines(r.stderr).find((l) => l.startsWith("warn: revision held "));
    assert.ok(held !== undefined, r.stderr);
    assert.match(held, / code=SOURCE_UNSIGNED( |$)/);
    assert.doesNotMatch(held, /pid=|command=|time=/);
    assert.ok(lines(r.stderr).every((l) => !l.startsWith("{")), r.stderr);
  }
});

test("--log-format json wins over STEWARD_LOG_FORMAT", async () => {
  const r = await runCli(["fetch", "--config", config, "--log-format", "json"], { env: env({ STEWARD_LOG_FORMAT: "text" }) });
  assert.equal(r.code, 1);
  assert.ok(lines(r.stderr).every((l) => typeof JSON.parse(l) === "object"), r.stderr);
});

test("--json on stdout is one JSON document whatever the logs say, in either format", async () => {
  for (const format of ["json", "text"]) {
    const r = await runCli(["fetch", "--config", config, "--json", "--log-format", format], { env: env({ STEWARD_LOG: "trace" }) });
    assert.equal(r.code, 1, r.stderr);
    const answer = JSON.parse(r.stdout) as { ok: boolean; decision: { kind: string } };
    assert.deepEqual([answer.ok, answer.decision.kind], [false, "hold"]);
    assert.ok(lines(r.stderr).length > 1, `trace logs expected on stderr: ${r.stderr}`);
  }
});

test("an unknown format or level is a usage error naming the good values", async () => {
  const format = await runCli(["fetch", "--config", config, "--log-format", "yaml"], { env: env() });
  assert.equal(format.code, 2);
  assert.match(format.stderr, /--log-format yaml is not a log format; use text or json/);
  const fromEnv = await runCli(["fetch", "--config", config], { env: env({ STEWARD_LOG_FORMAT: "pretty" }) });
  assert.equal(fromEnv.code, 2);
  assert.match(fromEnv.stderr, /STEWARD_LOG_FORMAT=pretty is not a log format/);
  const level = await runCli(["fetch", "--config", config], { env: env({ STEWARD_LOG: "verbose" }) });
  assert.equal(level.code, 2);
  assert.match(level.stderr, /STEWARD_LOG=verbose is not a log level; use one of trace, debug, info, warn/);
});

test("on a real terminal (script(1) gives the command a pty) logs are short lines", async () => {
  const command = [process.execPath, CLI_MAIN, "fetch", "--config", config].map((a) => `'${a}'`).join(" ");
  const output = await new Promise<string>((resolve, reject) => {
    execFile("script", ["-qec", command, "/dev/null"], { env: env({ TERM: "dumb" }), timeout: 30_000 }, (error, stdout) => {
      // script exits with the command's status (1: held), which is expected here.
      if (error !== null && typeof error.code !== "number") reject(error);
      else resolve(stdout);
    });
  });
  const text = output.replaceAll("\r", "");
  assert.match(text, /^warn: revision held .*code=SOURCE_UNSIGNED/m, text);
  assert.doesNotMatch(text, /"level":/);
  assert.match(text, /^hold \(nothing applied yet\): SOURCE_UNSIGNED/m);
});
