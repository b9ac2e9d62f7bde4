/**
 * What every subcommand shares, through the built CLI: help in both spellings, and usage errors.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { runCli } from "../helpers/cli.js";

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
