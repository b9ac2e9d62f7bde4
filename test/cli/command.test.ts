/**
 * What every subcommand shares, through the built CLI: help in both spellings, usage errors,
 * and every problem of an invalid agent configuration.
 */
import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { makeTempDir, removeDir } from "../helpers/keys.js";

/** commandNames reads the command list of `steward --help`. */
function commandNames(help: string): string[] {
  const list = help.split("\ncommands:\n")[1]?.split("\n\n")[0] ?? "";
  return list.split("\n").map((l) => l.trim().split(/\s+/)[0] ?? "").filter((n) => n !== "");
}

test("`steward help X` prints what `steward X --help` prints, for every command", async () => {
  const top = await runCli(["--help"]);
  assert.equal(top.code, 0);
  const names = commandNames(top.stdout);
  assert.ok(names.includes("plan") && names.includes("fetch"), top.stdout);
  for (const name of names) {
    const [viaHelp, viaFlag] = await Promise.all([runCli(["help", name]), runCli([name, "--help"])]);
    assert.equal(viaHelp.code, 0, viaHelp.stderr);
    assert.equal(viaHelp.stdout, viaFlag.stdout);
    assert.match(viaHelp.stdout, new RegExp(`^usage: steward ${name} `));
  }
});

test("`steward help` alone is `steward --help`", async () => {
  const [help, flag] = await Promise.all([runCli(["help"]), runCli(["--help"])]);
  assert.deepEqual([help.code, help.stdout], [0, flag.stdout]);
});

test("`steward help` of an unknown command is a usage error naming the commands", async () => {
  const top = await runCli(["--help"]);
  for (const args of [["help", "plna"], ["help", "plan", "apply"]]) {
    const r = await runCli(args);
    assert.equal(r.code, 2);
    assert.equal(r.stdout, "");
    assert.match(r.stderr, /^steward help: /);
    for (const name of commandNames(top.stdout)) assert.ok(r.stderr.includes(name), `${name} in ${r.stderr}`);
  }
});

test("no command is a usage error with the usage on stderr; an unknown one names itself", async () => {
  const none = await runCli([]);
  assert.deepEqual([none.code, none.stdout], [2, ""]);
  assert.match(none.stderr, /^usage: steward <command>/);
  const unknown = await runCli(["deploy"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /^steward: unknown command 'deploy'/);
});

test("fetch, desired, plan and apply print every problem of the configuration, each with its place", async () => {
  const dir = makeTempDir();
  try {
    mkdirSync(join(dir, "etc"));
    const bad = join(dir, "etc", "steward.yaml");
    // Three problems: a relative state, a trust file and a revocation list that do not exist.
    writeFileSync(bad, ["node: alpha", "state: state", "trust: alowed_signers", "revoked: revoked_kyes", "remotes:", "  - name: mirror", `    url: ${join(dir, "cluster.git")}`, ""].join("\n"));
    for (const command of ["fetch", "desired", "plan", "apply"]) {
      const r = await runCli([command, "--config", bad]);
      assert.equal(r.code, 1, `${command}: ${r.stderr}`);
      const places = [...r.stderr.matchAll(/^(\S+):(\d+):(\d+)  CONFIG_INVALID  (.*)$/gm)].map((m) => [m[1], Number(m[2])]);
      assert.deepEqual(places, [[bad, 2], [bad, 3], [bad, 4]], `${command}: ${r.stderr}`);
      assert.equal((r.stderr.match(/^  hint: /gm) ?? []).length, 3, r.stderr);
      const json = await runCli([command, "--config", bad, "--json"]);
      assert.equal(json.code, 1);
      const j = JSON.parse(json.stdout) as { ok: boolean; error: { code: string; data: { problems: { where: { line: number } }[] } } };
      assert.deepEqual([j.ok, j.error.code, j.error.data.problems.map((p) => p.where.line)], [false, "CONFIG_INVALID", [2, 3, 4]]);
    }
  } finally {
    removeDir(dir);
  }
});
