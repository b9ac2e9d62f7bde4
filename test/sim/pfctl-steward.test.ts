/**
 * The pfctl simulator on exactly what Steward does with pf (docs/network.md): the template's
 * anchors loaded with `-a steward -f`, read back with `-sn`/`-sr` as `-nv` printed them, the
 * grammar points Steward's rules rely on (pf.conf(5) and parse.y: filter options after the
 * hosts, a nat rule's tag before `->`, a direction with route-to), what `-a 'steward/*'`
 * shows, table command failures (exit 255, pfctl's exit(-1)), `set skip` on an interface
 * group, `-e`/`-d`, and a failed load keeping the old rules.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, beforeEach, test } from "node:test";
import { REPO_ROOT } from "../helpers/cli.js";
import { SIM_BIN } from "../helpers/sim.js";

const PFCTL = join(SIM_BIN, "pfctl");
const ALPHA = readFileSync(join(REPO_ROOT, "test/fixtures/pf/template-alpha.conf"), "utf8");
const MAIN = 'nat-anchor "steward"\nrdr-anchor "steward"\nblock drop all\nanchor "steward"\n';

let root = "";
const roots: string[] = [];
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "steward-pf-steward-"));
  roots.push(root);
});
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function pfctl(...args: string[]): { stdout: string; stderr: string; code: number } {
  const r = spawnSync(PFCTL, args, { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", STEWARD_SIM_ROOT: root } });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status ?? 128 };
}

function file(name: string, text: string): string {
  const f = join(root, name);
  writeFileSync(f, text);
  return f;
}

const lines = (s: string): string[] => s.split("\n").filter((l) => l !== "");

test("the template's anchor loads into steward and reads back as -nv printed it", () => {
  const f = file("alpha.conf", ALPHA);
  assert.equal(pfctl("-f", file("pf.conf", MAIN)).code, 0);
  const parsed = pfctl("-o", "none", "-nv", "-a", "steward", "-f", f);
  assert.equal(parsed.code, 0, parsed.stderr);
  const load = pfctl("-o", "none", "-a", "steward", "-f", f);
  assert.deepEqual([load.code, load.stderr], [0, ""]);
  const nv = lines(parsed.stdout);
  assert.deepEqual(lines(pfctl("-a", "steward", "-sn").stdout), nv.filter((l) => /^(nat|rdr) /.test(l)));
  assert.deepEqual(lines(pfctl("-a", "steward", "-sr").stdout), nv.filter((l) => /^(pass|block) /.test(l)));
  // The main ruleset is untouched by the anchor's load.
  assert.deepEqual(lines(pfctl("-sr").stdout), ["block drop all", 'anchor "steward" all']);
  assert.deepEqual(lines(pfctl("-sn").stdout), ['nat-anchor "steward" all', 'rdr-anchor "steward" all']);
  assert.deepEqual(lines(pfctl("-a", "steward", "-sT").stdout), ["steward_jails", "steward_private", "steward_protect"]);
});

for (const c of [
  { name: "a filter rule's tagged after the hosts", rule: "pass out quick on em0 inet from any to any tagged steward_egress keep state", ok: true },
  { name: "a filter rule's tagged before the hosts", rule: "pass out quick on em0 inet tagged steward_egress from any to any keep state", ok: false },
  { name: "a nat rule's tag after the hosts, before ->", rule: "nat on em0 inet proto tcp from 10.17.0.25 to ! <x> port 25 tag steward_egress -> (em0)", ok: true },
  { name: "a nat rule's tag before the hosts", rule: "nat on em0 inet proto tcp tag steward_egress from 10.17.0.25 to any port 25 -> (em0)", ok: false },
  { name: "route-to with a direction", rule: "pass out quick route-to (em0 192.168.1.10) inet proto tcp from 10.17.0.40 to 10.17.0.22 port 22 keep state", ok: true },
  { name: "route-to without a direction", rule: "pass quick route-to (em0 192.168.1.10) inet proto tcp from 10.17.0.40 to 10.17.0.22 port 22 keep state", ok: false },
  { name: "reply-to on an inbound rule", rule: "pass in quick on em0 reply-to (em0 192.168.1.12) inet proto tcp from 10.17.0.40 to 10.17.0.22 port 22 keep state", ok: true },
  { name: "a port on a rule without a protocol", rule: "pass quick inet from 10.17.0.22 to 10.17.0.25 port 587 keep state", ok: false },
  { name: "rdr keeping the port", rule: "rdr on em0 inet proto tcp from any to (em0) port 25 -> 10.17.0.25", ok: true },
]) {
  test(`grammar: ${c.name} is ${c.ok ? "accepted" : "refused"}`, () => {
    const r = pfctl("-n", "-a", "steward", "-f", file("r.conf", `${c.rule}\n`));
    assert.equal(r.code, c.ok ? 0 : 1, r.stderr);
    if (!c.ok) assert.match(r.stderr, /^.*r\.conf:1: /);
  });
}

test("-a 'steward/*' -sr shows the rules of steward, not the anchors below it unless a rule calls them", () => {
  assert.equal(pfctl("-a", "steward", "-f", file("s.conf", "block drop all\n")).code, 0);
  assert.equal(pfctl("-a", "steward/child", "-f", file("c.conf", "pass all\n")).code, 0);
  const r = pfctl("-a", "steward/*", "-sr");
  assert.deepEqual([r.code, lines(r.stdout)], [0, ["block drop all"]]);
  assert.deepEqual(lines(pfctl("-a", "steward", "-sA").stdout), ["  steward/child"]);
});

test("a missing anchor is a warning with exit 0", () => {
  const r = pfctl("-a", "steward", "-sr");
  assert.equal(r.code, 0);
  assert.equal(r.stdout, "");
});

for (const args of [
  ["-t", "nope", "-T", "show"],
  ["-t", "nope", "-T", "flush"],
  ["-t", "nope", "-T", "delete", "10.0.0.1"],
  ["-t", "nope", "-T", "test", "10.0.0.1"],
  ["-a", "steward", "-t", "steward_jails", "-T", "add", "10.17.0.99"],
]) {
  test(`a failed table command exits 255: pfctl ${args.join(" ")}`, () => {
    assert.equal(pfctl("-a", "steward", "-f", file("a.conf", ALPHA)).code, 0);
    const r = pfctl(...args);
    assert.equal(r.code, 255, r.stderr);
    assert.match(r.stderr, /^pfctl: (Table does not exist|Operation not permitted)\.$/m);
  });
}

test("set skip on the lo group marks lo0 skipped in -s Interfaces -v", () => {
  assert.equal(pfctl("-f", file("skip.conf", "set skip on lo\n")).code, 0);
  assert.deepEqual(lines(pfctl("-s", "Interfaces", "-i", "lo0", "-v").stdout), ["lo0 (skip)"]);
  assert.equal(pfctl("-f", file("noskip.conf", "pass all\n")).code, 0);
  assert.deepEqual(lines(pfctl("-s", "Interfaces", "-i", "lo0", "-v").stdout), ["lo0"]);
});

test("-e and -d: enabling twice and disabling twice fail with pfctl's words", () => {
  assert.equal(pfctl("-s", "Running").code, 1);
  assert.equal(pfctl("-e").code, 0);
  assert.deepEqual([pfctl("-e").code, pfctl("-e").stderr.trim()], [1, "pfctl: pf already enabled"]);
  assert.deepEqual([pfctl("-s", "Running").code, pfctl("-s", "Running").stdout.trim()], [0, "Enabled"]);
  assert.equal(pfctl("-d").code, 0);
  assert.deepEqual([pfctl("-d").code, pfctl("-d").stderr.trim()], [1, "pfctl: pf not enabled"]);
});

test("a failed load keeps the anchor's old rules, tables and translation", () => {
  assert.equal(pfctl("-a", "steward", "-f", file("a.conf", ALPHA)).code, 0);
  const before = [pfctl("-a", "steward", "-sr").stdout, pfctl("-a", "steward", "-sn").stdout, pfctl("-a", "steward", "-sT").stdout];
  file("pf/fail-next", "load\n");
  const r = pfctl("-a", "steward", "-f", file("b.conf", "block drop all\n"));
  assert.deepEqual([r.code, r.stderr.trim()], [1, "pfctl: Unable to load rules into kernel"]);
  const bad = pfctl("-a", "steward", "-f", file("c.conf", "pass quick tagged x all\n"));
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /pfctl: Syntax error in config file: pf rules not loaded/);
  assert.deepEqual([pfctl("-a", "steward", "-sr").stdout, pfctl("-a", "steward", "-sn").stdout, pfctl("-a", "steward", "-sT").stdout], before);
});
