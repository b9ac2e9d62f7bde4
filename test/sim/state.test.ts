/**
 * The simulator's host state under concurrent tool invocations: jails created at once all
 * get distinct jids, appends to one rc.conf list and installs into one root lose nothing, and
 * a lock left by a process that died does not block the next tool.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { newHost, run, subst, type Host } from "./harness.js";

function runAsync(h: Host, argv: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const [file, ...args] = argv.map((a) => subst(h, a));
    const c = spawn(file ?? "true", args, { cwd: h.dir, env: h.env, stdio: "ignore" });
    c.on("error", reject);
    c.on("close", (code) => resolve(code ?? 128));
  });
}

const N = 12;

test(`${N} jails created at once all exist, each with its own jid`, async () => {
  const h = newHost();
  try {
    const codes = await Promise.all(Array.from({ length: N }, (_, i) => runAsync(h, ["jail", "-c", `name=c${i}`, "path=/", "persist"])));
    assert.deepEqual(codes, new Array(N).fill(0));
    const r = run(h, ["jls", "jid", "name"]);
    const rows = r.stdout.trim().split("\n").map((l) => l.split(" "));
    assert.equal(rows.length, N);
    assert.equal(new Set(rows.map((x) => x[0])).size, N);
    assert.deepEqual(rows.map((x) => x[1]).sort(), Array.from({ length: N }, (_, i) => `c${i}`).sort());
  } finally {
    rmSync(h.dir, { recursive: true, force: true });
  }
});

test(`${N} concurrent sysrc list+=word and pkg installs into one root lose nothing`, async () => {
  const h = newHost();
  try {
    mkdirSync(join(h.dir, "root"));
    const pkgs = ["nginx", "postfix", "dovecot", "prosody", "taskd", "opendkim", "git", "spamd"];
    const codes = await Promise.all([
      ...Array.from({ length: N }, (_, i) => runAsync(h, ["sysrc", "-f", "${DIR}/rc.conf", `jail_list+=j${i}`])),
      ...pkgs.map((p) => runAsync(h, ["pkg", "-r", "${DIR}/root", "install", "-qy", p])),
    ]);
    assert.deepEqual(codes, new Array(codes.length).fill(0));
    const list = readFileSync(join(h.dir, "rc.conf"), "utf8").match(/^jail_list="(.*)"$/m)?.[1]?.split(" ") ?? [];
    assert.deepEqual([...list].sort(), Array.from({ length: N }, (_, i) => `j${i}`).sort());
    assert.deepEqual(run(h, ["pkg", "-r", "${DIR}/root", "query", "%n"]).stdout.trim().split("\n"), [...pkgs].sort());
  } finally {
    rmSync(h.dir, { recursive: true, force: true });
  }
});

test("a lock left behind by a process that died is taken over", () => {
  const h = newHost();
  try {
    mkdirSync(h.sim ?? "", { recursive: true });
    writeFileSync(join(h.sim ?? "", "state.lock"), "999999999 dead\n");
    const r = run(h, ["jail", "-c", "name=after", "path=/", "persist"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(run(h, ["jls", "-j", "after", "name"]).stdout, "after\n");
  } finally {
    rmSync(h.dir, { recursive: true, force: true });
  }
});

test("every tool refuses to run without STEWARD_SIM_ROOT (exit 78) and records its calls when it has one", () => {
  const h = newHost();
  try {
    for (const tool of ["jail", "jls", "jexec", "sysrc", "pkg", "service"]) {
      const r = run(h, [tool], { env: { STEWARD_SIM_ROOT: "" } });
      assert.equal(r.code, 78, tool);
      assert.match(r.stderr, new RegExp(`^${tool}: STEWARD_SIM_ROOT is not set`));
    }
    run(h, ["jls", "-j", "nope", "jid"]);
    const calls = readFileSync(join(h.sim ?? "", "calls.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { tool: string; argv: string[]; exit: number });
    assert.deepEqual(calls.map((c) => [c.tool, c.argv, c.exit]), [["jls", ["-j", "nope", "jid"], 1]]);
  } finally {
    rmSync(h.dir, { recursive: true, force: true });
  }
});
