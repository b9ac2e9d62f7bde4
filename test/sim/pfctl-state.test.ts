/**
 * The pfctl simulator end to end, as Steward drives it: the built build/sim/bin/pfctl run as a
 * process against a state directory. Loads, read-back, atomic replacement, failed loads, the
 * enable flag, tables and concurrent writers.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, beforeEach, test } from "node:test";
import { fileURLToPath } from "node:url";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "../../..");
const PFCTL = join(REPO, "build/sim/bin/pfctl");

let root = "";
const roots: string[] = [];
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), "steward-pf-"));
  roots.push(root);
});
after(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

function pfctl(args: string[], input = "", env: NodeJS.ProcessEnv = {}): { stdout: string; stderr: string; code: number } {
  const r = spawnSync(PFCTL, args, { input, encoding: "utf8", env: { ...process.env, STEWARD_SIM_ROOT: root, ...env } });
  return { stdout: r.stdout, stderr: r.stderr, code: r.status ?? 128 };
}

function conf(name: string, text: string): string {
  const f = join(root, name);
  writeFileSync(f, text);
  return f;
}

const MAIN = `ext_if = "em0"
table <homelan> const { 192.168.1.0/24 }
table <steward_jails> persist
set block-policy drop
set skip on lo0
scrub in on $ext_if all fragment reassemble
nat-anchor "steward/*"
rdr-anchor "steward/*"
nat on $ext_if inet from <steward_jails> to ! <homelan> -> ($ext_if)
block drop log all
pass in quick on $ext_if inet proto tcp from <homelan> to ($ext_if) port 22 keep state
anchor "steward/*"
pass out on $ext_if inet from ($ext_if) keep state
`;

const WEB = `ext_if = "em0"
jail_if = "epair5a"
jail_ip = "10.17.5.2"
rdr on $ext_if inet proto tcp from any to ($ext_if) port 443 -> $jail_ip port 8443
block drop in quick on $jail_if inet from ! $jail_ip
pass in quick on $jail_if inet proto { tcp udp } from $jail_ip to any port { 53 443 } keep state
pass in quick on $ext_if inet proto tcp to $jail_ip port 8443 keep state
`;

const WEB_FILTER = `block drop in quick on epair5a inet from ! 10.17.5.2 to any
pass in quick on epair5a inet proto tcp from 10.17.5.2 to any port = domain flags S/SA keep state
pass in quick on epair5a inet proto tcp from 10.17.5.2 to any port = https flags S/SA keep state
pass in quick on epair5a inet proto udp from 10.17.5.2 to any port = domain keep state
pass in quick on epair5a inet proto udp from 10.17.5.2 to any port = https keep state
pass in quick on em0 inet proto tcp from any to 10.17.5.2 port = 8443 flags S/SA keep state
`;

test("the main ruleset loads and reads back in canonical form", () => {
  assert.deepEqual(pfctl(["-f", conf("pf.conf", MAIN)]), { stdout: "", stderr: "", code: 0 });
  assert.deepEqual(pfctl(["-sr"]), {
    stdout:
      "scrub in on em0 all fragment reassemble\nblock drop log all\n" +
      "pass in quick on em0 inet proto tcp from <homelan> to (em0) port = ssh flags S/SA keep state\n" +
      'anchor "steward/*" all\npass out on em0 inet from (em0) to any flags S/SA keep state\n',
    stderr: "",
    code: 0,
  });
  assert.deepEqual(pfctl(["-sn"]), {
    stdout: 'nat-anchor "steward/*" all\nnat on em0 inet from <steward_jails> to ! <homelan> -> (em0) round-robin\nrdr-anchor "steward/*" all\n',
    stderr: "",
    code: 0,
  });
});

test("an anchor load replaces its filter and rdr rules and reads back with -a", () => {
  pfctl(["-f", conf("pf.conf", MAIN)]);
  assert.equal(pfctl(["-a", "steward/web", "-f", conf("web.conf", WEB)]).code, 0);
  assert.deepEqual(pfctl(["-a", "steward/web", "-sr"]), { stdout: WEB_FILTER, stderr: "", code: 0 });
  assert.deepEqual(pfctl(["-a", "steward/web", "-sn"]), {
    stdout: "rdr on em0 inet proto tcp from any to (em0) port = https -> 10.17.5.2 port 8443\n",
    stderr: "",
    code: 0,
  });
  // a file with only filter rules empties the anchor's rdr rules too
  assert.equal(pfctl(["-a", "steward/web", "-f", "-"], "block drop in quick on epair5a all\n").code, 0);
  assert.equal(pfctl(["-a", "steward/web", "-sr"]).stdout, "block drop in quick on epair5a all\n");
  assert.equal(pfctl(["-a", "steward/web", "-sn"]).stdout, "");
});

test("-s Anchors lists anchors recursively, and under -a only its children", () => {
  pfctl(["-f", conf("pf.conf", MAIN)]);
  pfctl(["-a", "steward/web", "-f", conf("web.conf", WEB)]);
  pfctl(["-a", "steward/db", "-f", "-"], "pass in all\n");
  assert.equal(pfctl(["-s", "Anchors"]).stdout, "  steward\n  steward/db\n  steward/web\n");
  assert.equal(pfctl(["-a", "steward", "-s", "Anchors"]).stdout, "  steward/db\n  steward/web\n");
});

test("-a '*' -sr prints the wildcard anchor's children nested in braces", () => {
  pfctl(["-f", "-"], 'anchor "steward/*"\n');
  pfctl(["-a", "steward/db", "-f", "-"], "pass in all\n");
  assert.equal(pfctl(["-a", "*", "-sr"]).stdout, 'anchor "steward/*" all {\n  anchor "db" all {\n    pass in all flags S/SA keep state\n  }\n}\n');
});

test("a load with a syntax error changes nothing and says the rules were not loaded", () => {
  pfctl(["-a", "steward/web", "-f", conf("web.conf", WEB)]);
  const r = pfctl(["-a", "steward/web", "-f", "-"], "pass in quick on epair5a\nbogus line\n");
  assert.deepEqual(r, { stdout: "", stderr: "stdin:2: syntax error\npfctl: Syntax error in config file: pf rules not loaded\n", code: 1 });
  assert.equal(pfctl(["-a", "steward/web", "-sr"]).stdout, WEB_FILTER);
});

test("the fault switch fails the next load once, keeping the old rules", () => {
  pfctl(["-a", "steward/web", "-f", conf("web.conf", WEB)]);
  writeFileSync(join(root, "pf", "fail-next"), "load\n");
  assert.deepEqual(pfctl(["-a", "steward/web", "-f", "-"], "pass all\n"), { stdout: "", stderr: "pfctl: Unable to load rules into kernel\n", code: 1 });
  assert.equal(pfctl(["-a", "steward/web", "-sr"]).stdout, WEB_FILTER);
  assert.equal(pfctl(["-a", "steward/web", "-f", "-"], "pass all\n").code, 0);
  assert.equal(pfctl(["-a", "steward/web", "-sr"]).stdout, "pass all flags S/SA keep state\n");
});

test("the EBUSY fault reports the transaction commit failing", () => {
  mkdirSync(join(root, "pf"), { recursive: true });
  writeFileSync(join(root, "pf", "fail-next"), "ebusy\n");
  assert.deepEqual(pfctl(["-f", "-"], "pass all\n"), { stdout: "", stderr: "pfctl: DIOCXCOMMIT: Device busy\n", code: 1 });
  assert.equal(pfctl(["-sr"]).stdout, "");
  assert.equal(pfctl(["-f", "-"], "pass all\n", { STEWARD_SIM_PF_FAIL: "ebusy" }).code, 1);
});

test("-s on a missing anchor warns and still exits 0", () => {
  assert.deepEqual(pfctl(["-a", "steward/nope", "-sr"]), { stdout: "", stderr: "pfctl: Anchor does not exist\n", code: 0 });
});

test("-e and -d toggle pf; doing either twice is an error; -s Running reports it", () => {
  assert.deepEqual(pfctl(["-s", "Running"]), { stdout: "Disabled\n", stderr: "", code: 1 });
  assert.deepEqual(pfctl(["-e"]), { stdout: "", stderr: "pf enabled\n", code: 0 });
  assert.deepEqual(pfctl(["-e"]), { stdout: "", stderr: "pfctl: pf already enabled\n", code: 1 });
  assert.deepEqual(pfctl(["-s", "Running"]), { stdout: "Enabled\n", stderr: "", code: 0 });
  assert.deepEqual(pfctl(["-q", "-d"]), { stdout: "", stderr: "", code: 0 });
  assert.deepEqual(pfctl(["-d"]), { stdout: "", stderr: "pfctl: pf not enabled\n", code: 1 });
});

test("-n ignores -e and -s and touches no state", () => {
  assert.deepEqual(pfctl(["-n", "-e", "-sr", "-f", "-"], "pass all\n"), { stdout: "", stderr: "", code: 0 });
  assert.equal(pfctl(["-s", "Running"]).stdout, "Disabled\n");
  assert.equal(pfctl(["-sr"]).stdout, "");
});

test("-f runs before -e, so one command loads and enables", () => {
  assert.deepEqual(pfctl(["-e", "-f", "-"], "pass all\n"), { stdout: "", stderr: "pf enabled\n", code: 0 });
  assert.equal(pfctl(["-sr"]).stdout, "pass all flags S/SA keep state\n");
});

test("tables: replace creates and fills, show indents, test counts, no change is reported", () => {
  assert.deepEqual(pfctl(["-t", "steward_jails", "-T", "replace", "10.17.7.2", "10.17.5.2"]), {
    stdout: "",
    stderr: "1 table created.\n2 addresses added.\n",
    code: 0,
  });
  assert.deepEqual(pfctl(["-t", "steward_jails", "-T", "show"]), { stdout: "   10.17.5.2\n   10.17.7.2\n", stderr: "", code: 0 });
  assert.deepEqual(pfctl(["-t", "steward_jails", "-T", "replace", "10.17.5.2", "10.17.7.2"]), { stdout: "", stderr: "no changes.\n", code: 0 });
  assert.deepEqual(pfctl(["-t", "steward_jails", "-T", "replace", "10.17.5.2", "10.17.9.2"]), {
    stdout: "",
    stderr: "1 addresses added.\n1 addresses deleted.\n",
    code: 0,
  });
  assert.deepEqual(pfctl(["-t", "steward_jails", "-T", "test", "10.17.5.2"]), { stdout: "", stderr: "1/1 addresses match.\n", code: 0 });
  assert.deepEqual(pfctl(["-t", "steward_jails", "-T", "test", "10.17.5.2", "10.17.7.2"]), { stdout: "", stderr: "1/2 addresses match.\n", code: 2 });
  assert.deepEqual(pfctl(["-t", "steward_jails", "-T", "add", "10.17.8.0/24"]), { stdout: "", stderr: "1/1 addresses added.\n", code: 0 });
  assert.deepEqual(pfctl(["-t", "steward_jails", "-T", "delete", "10.17.8.0/24"]), { stdout: "", stderr: "1/1 addresses deleted.\n", code: 0 });
  assert.deepEqual(pfctl(["-s", "Tables"]), { stdout: "steward_jails\n", stderr: "", code: 0 });
});

test("tables: replace from a file, and show on a missing table", () => {
  const f = conf("jails", "# jails\n10.17.5.2\n10.17.7.2 # db\n");
  assert.equal(pfctl(["-t", "steward_jails", "-T", "replace", "-f", f]).code, 0);
  assert.equal(pfctl(["-t", "steward_jails", "-T", "show"]).stdout, "   10.17.5.2\n   10.17.7.2\n");
  assert.deepEqual(pfctl(["-t", "nope", "-T", "show"]), { stdout: "", stderr: "pfctl: Table does not exist.\n", code: 255 });
});

test("a const table refuses changes from the command line", () => {
  pfctl(["-f", "-"], "table <homelan> const { 192.168.1.0/24 }\npass from <homelan>\n");
  assert.deepEqual(pfctl(["-t", "homelan", "-T", "add", "10.0.0.1"]), { stdout: "", stderr: "pfctl: Operation not permitted.\n", code: 255 });
});

test("a table declared without addresses keeps its contents across a reload", () => {
  pfctl(["-f", "-"], "table <steward_jails> persist\npass all\n");
  pfctl(["-t", "steward_jails", "-T", "add", "10.17.5.2"]);
  pfctl(["-f", "-"], "table <steward_jails> persist\npass all\n");
  assert.equal(pfctl(["-t", "steward_jails", "-T", "show"]).stdout, "   10.17.5.2\n");
  pfctl(["-f", "-"], "table <steward_jails> persist { }\npass all\n");
  assert.equal(pfctl(["-t", "steward_jails", "-T", "show"]).stdout, "");
});

test("-F rules on an anchor flushes it only", () => {
  pfctl(["-f", conf("pf.conf", MAIN)]);
  pfctl(["-a", "steward/web", "-f", conf("web.conf", WEB)]);
  assert.deepEqual(pfctl(["-a", "steward/web", "-F", "rules"]), { stdout: "", stderr: "rules cleared\n", code: 0 });
  assert.equal(pfctl(["-a", "steward/web", "-sr"]).stdout, "");
  assert.notEqual(pfctl(["-sr"]).stdout, "");
});

test("-v adds the counter lines under each rule", () => {
  pfctl(["-f", "-"], "pass all\n");
  const r = pfctl(["-v", "-sr"]);
  assert.match(
    r.stdout,
    /^pass all flags S\/SA keep state\n {2}\[ Evaluations: 0 {9}Packets: 0 {9}Bytes: 0 {11}States: 0 {5}\]\n {2}\[ Inserted: uid \d+ pid \d+ State Creations: 0 {5}\]\n$/,
  );
});

test("load anchor in the main file loads that anchor in the same transaction", () => {
  const web = conf("web.conf", "pass in on epair5a all\n");
  assert.equal(pfctl(["-f", "-"], `anchor "steward/*"\nload anchor "steward/web" from "${web}"\n`).code, 0);
  assert.equal(pfctl(["-a", "steward/web", "-sr"]).stdout, "pass in on epair5a all flags S/SA keep state\n");
});

test("concurrent loads into different anchors all land", async () => {
  const n = 8;
  const runs = Array.from({ length: n }, (_, i) =>
    new Promise<number>((res) => {
      const p = spawn(PFCTL, ["-a", `steward/j${i}`, "-f", "-"], { env: { ...process.env, STEWARD_SIM_ROOT: root } });
      p.stdin.end(`pass in on epair${i}a all\n`);
      p.on("close", (c) => res(c ?? 128));
    }),
  );
  assert.deepEqual(await Promise.all(runs), new Array(n).fill(0));
  const anchors = pfctl(["-a", "steward", "-s", "Anchors"]).stdout.trim().split("\n").map((s) => s.trim());
  assert.deepEqual(anchors.sort(), Array.from({ length: n }, (_, i) => `steward/j${i}`).sort());
  assert.doesNotThrow(() => JSON.parse(readFileSync(join(root, "pf", "kernel.json"), "utf8")));
});

test("inline anchors load as child anchors; -sr recurses only into unnamed ones", () => {
  assert.equal(pfctl(["-f", "-"], 'anchor "web" {\n pass in proto tcp to port 80\n}\nanchor {\n pass out all\n}\n').code, 0);
  assert.equal(pfctl(["-sr"]).stdout, 'anchor "web" all\nanchor all {\n  pass out all flags S/SA keep state\n}\n');
  assert.equal(pfctl(["-a", "web", "-sr"]).stdout, "pass in proto tcp from any to any port = http flags S/SA keep state\n");
  assert.equal(pfctl(["-s", "Anchors"]).stdout, "  web\n");
  assert.equal(pfctl(["-v", "-s", "Anchors"]).stdout, "  _2\n  web\n");
});

test("-a refuses an empty name and, for changes, names starting with _", () => {
  assert.deepEqual(pfctl(["-a", "", "-sr"]), { stdout: "", stderr: "pfctl: anchor name must not be empty\n", code: 1 });
  assert.deepEqual(pfctl(["-a", "_1", "-F", "rules"]), { stdout: "", stderr: "pfctl: anchor names beginning with '_' cannot be modified from the command line\n", code: 1 });
});

test("-a with neither -f, -F, -s nor -T is a usage error, unless something writes (pfctl checks the open mode)", () => {
  assert.deepEqual(pfctl(["-a", "steward", "-e"]), { stdout: "", stderr: "pf enabled\n", code: 0 });
  const r2 = pfctl(["-a", "steward", "-q"]);
  assert.match(r2.stderr, /^pfctl: anchors apply to -f, -F, -s, and -T only\nusage: /);
  assert.equal(r2.code, 1);
});

test("tables defined in an anchor live in that anchor", () => {
  assert.equal(pfctl(["-a", "steward/web", "-f", "-"], "table <web_peers> persist { 10.17.7.2 }\npass in from <web_peers>\n").code, 0);
  assert.equal(pfctl(["-a", "steward/web", "-s", "Tables"]).stdout, "web_peers\n");
  assert.equal(pfctl(["-s", "Tables"]).stdout, "");
  assert.equal(pfctl(["-a", "steward/web", "-t", "web_peers", "-T", "show"]).stdout, "   10.17.7.2\n");
  assert.deepEqual(pfctl(["-a", "steward/web", "-F", "Tables"]), { stdout: "", stderr: "1 tables deleted.\n", code: 0 });
});

test("include reads another file in place", () => {
  const inc = conf("jails.conf", "pass in on epair5a all\n");
  assert.equal(pfctl(["-f", "-"], `block all\ninclude "${inc}"\npass out all\n`).code, 0);
  assert.equal(pfctl(["-sr"]).stdout, "block drop all\npass in on epair5a all flags S/SA keep state\npass out all flags S/SA keep state\n");
});

test("-D defines a macro for the file", () => {
  assert.equal(pfctl(["-D", "jail_if=epair5a", "-f", "-"], "pass in on $jail_if all\n").code, 0);
  assert.equal(pfctl(["-sr"]).stdout, "pass in on epair5a all flags S/SA keep state\n");
});

test("a load anchor file with errors fails the whole load", () => {
  const bad = conf("bad.conf", "pass in on\n");
  const r = pfctl(["-f", "-"], `pass all\nload anchor "steward/web" from "${bad}"\n`);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, `${bad}:1: syntax error\npfctl: Syntax error in config file: pf rules not loaded\npfctl: load anchors\n`);
  assert.equal(pfctl(["-sr"]).stdout, "");
});

test("names in pf/hosts resolve like DNS answers, every address of a name expanding", () => {
  mkdirSync(join(root, "pf"), { recursive: true });
  writeFileSync(join(root, "pf", "hosts"), "10.17.5.2 web.jail\n2001:db8::5 web.jail\n");
  assert.equal(pfctl(["-f", "-"], "pass in from web.jail\n").code, 0);
  assert.equal(pfctl(["-sr"]).stdout, "pass in inet from 10.17.5.2 to any flags S/SA keep state\npass in inet6 from 2001:db8::5 to any flags S/SA keep state\n");
});
