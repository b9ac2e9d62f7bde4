/**
 * `steward check`: the network policy of a cluster repo, offline — the template's matrix, a
 * route into the home LAN refused with its position, --explain naming the rule and manifest
 * line, --json, usage errors.
 */
import assert from "node:assert/strict";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { TEMPLATE_DIR } from "../helpers/template.js";

const work = mkdtempSync(join(tmpdir(), "steward-check-"));
after(() => rmSync(work, { recursive: true, force: true }));

const steward = (...args: string[]) => runCli(args);

test("check prints the template's matrix and exits 0", async () => {
  const r = await steward("check", TEMPLATE_DIR);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^service -> service$/m);
  assert.match(r.stdout, /^ {2}blog +-> git 22\/tcp$/m);
  assert.match(r.stdout, /^ {2}git +-> mail 587\/tcp$/m);
  assert.match(r.stdout, /^ {2}mail +-> 25\/tcp 53\/tcp 53\/udp$/m);
  assert.match(r.stdout, /^ {2}none: no service reaches it$/m);
  assert.match(r.stdout, /^ {2}mail +<- 25\/tcp 465\/tcp 587\/tcp 993\/tcp$/m);
  assert.match(r.stdout, /^ok: /m);
  assert.equal(r.stderr, "");
});

test("check --json gives the matrix as data: every reachable flow with the rule that lets it through", async () => {
  const r = await steward("check", TEMPLATE_DIR, "--json");
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { ok: boolean; nodes: string[]; problems: unknown[]; matrix: { reachable: { from: string; to: string; port: number; proto: string; answered: boolean; rule?: { node: string; origin: { where?: { file: string; line: number } } } }[] } };
  assert.deepEqual([out.ok, out.nodes, out.problems], [true, ["alpha", "beta", "pi"], []]);
  const blog = out.matrix.reachable.find((x) => x.from === "blog" && x.to === "git");
  assert.deepEqual([blog?.port, blog?.proto, blog?.answered, blog?.rule?.node, blog?.rule?.origin.where?.file, blog?.rule?.origin.where?.line], [22, "tcp", true, "alpha", "services/blog.yaml", 13]);
  assert.ok(!out.matrix.reachable.some((x) => x.to === "lan" || x.to.startsWith("node:")));
});

test("a route into the home LAN: check exits 1 with the route's file:line:col, and compiles nothing", async () => {
  const dir = join(work, "lan");
  cpSync(TEMPLATE_DIR, dir, { recursive: true });
  const mail = join(dir, "services/mail.yaml");
  writeFileSync(mail, readFileSync(mail, "utf8").replace("routes: [internet:25/tcp, dns]", "routes: [internet:25/tcp, dns, 192.168.1.20:631/tcp]"));
  const r = await steward("check", dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^services\/mail\.yaml:15:32 {2}MANIFEST_CONFLICT {2}routes: '192\.168\.1\.20:631\/tcp' goes into the home LAN 192\.168\.1\.0\/24/m);
  assert.equal(r.stdout, "");
});

test("check --explain names the rule and the manifest line that let a route through, and the rule that stops the rest", async () => {
  const r = await steward("check", TEMPLATE_DIR, "--explain", "git", "mail");
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^ {2}587\/tcp: reaches mail, and the answers come back\n {6}alpha: pass quick inet proto tcp from 10\.17\.0\.22 to 10\.17\.0\.25 port 587 keep state {2}# services\/git\.yaml:13:15 git -> mail:587\/tcp$/m);
  assert.match(r.stdout, /^ {2}9\/tcp \(and every port no rule names\): stopped: blocked on alpha\n {6}alpha: block drop quick inet from <steward_jails> to any/m);
  const lan = await steward("check", "--explain", "mail", "lan", TEMPLATE_DIR);
  assert.equal(lan.code, 0, lan.stderr);
  assert.match(lan.stdout, /block drop quick inet from <steward_jails> to <steward_protect> {2}# cluster\.yaml:5:12 /);
  const json = await steward("check", TEMPLATE_DIR, "--explain", "blog", "git", "--json");
  const e = (JSON.parse(json.stdout) as { explain: { ports: { port: number; proto: string; verdict: { delivered: boolean; answered: boolean }; rules: string[] }[] } }).explain;
  const ssh = e.ports.find((p) => p.port === 22 && p.proto === "tcp");
  assert.deepEqual([ssh?.verdict.delivered, ssh?.verdict.answered, ssh?.rules.length], [true, true, 2]);
  assert.match(ssh?.rules[0] ?? "", /^pi: pass out quick route-to \(genet0 192\.168\.1\.10\)/);
});

for (const c of [
  { name: "two directories", args: ["check", TEMPLATE_DIR, TEMPLATE_DIR] },
  { name: "--explain with one name", args: ["check", TEMPLATE_DIR, "--explain", "git"] },
  { name: "--explain of a name the cluster does not have", args: ["check", TEMPLATE_DIR, "--explain", "git", "ldap"] },
]) {
  test(`check: ${c.name} is a usage error`, async () => {
    const r = await steward(...c.args);
    assert.equal(r.code, 2, r.stderr);
  });
}
