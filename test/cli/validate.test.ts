import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { REPO_ROOT, TEMPLATE_DIR } from "../helpers/template.js";

const CLI = join(REPO_ROOT, "build/agent/src/cli/main.js");
const work = mkdtempSync(join(tmpdir(), "steward-validate-"));
after(() => rmSync(work, { recursive: true, force: true }));

function steward(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("validate exits 0 on the template", () => {
  const r = steward("validate", TEMPLATE_DIR);
  assert.equal(r.code, 0, r.stderr);
});

test("validate exits 1 and prints file:line:col CODE for every problem", () => {
  const dir = join(work, "bad");
  cpSync(TEMPLATE_DIR, dir, { recursive: true });
  writeFileSync(join(dir, "services/mail.yaml"), "node: nowhere\njail:\n  ip: 10.17.0.22\n");
  const r = steward("validate", dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^services\/mail\.yaml:1:7 {2}MANIFEST_REFERENCE /m);
  assert.match(r.stderr, /^services\/mail\.yaml:3:7 {2}MANIFEST_DUPLICATE /m);
  assert.match(r.stderr, /^ {2}hint: /m);
});

test("validate --json reports the diagnostics as data", () => {
  const dir = join(work, "bad-json");
  cpSync(TEMPLATE_DIR, dir, { recursive: true });
  writeFileSync(join(dir, "services/blog.yaml"), "node: pi\njail: { ip: 10.17.0.40 }\nroutes: [gti:22/tcp]\n");
  const r = steward("validate", dir, "--json");
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout) as { ok: boolean; diagnostics: { code: string; where: { file: string; line: number } }[] };
  assert.equal(out.ok, false);
  assert.deepEqual(out.diagnostics.map((d) => [d.code, d.where.file, d.where.line]), [["MANIFEST_REFERENCE", "services/blog.yaml", 3]]);
});

test("validate exits 2 on a usage error", () => {
  assert.equal(steward("validate", "--frobnicate").code, 2);
  assert.equal(steward("validate", "a", "b").code, 2);
  assert.equal(steward("no-such-command").code, 2);
  assert.equal(steward().code, 2);
});

test("validate of a folder that does not exist is a problem, not a crash", () => {
  const r = steward("validate", join(work, "nope"), "--json");
  assert.equal(r.code, 1);
  assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, "MANIFEST_MISSING");
});

test("--help lists the commands and exits 0", () => {
  const r = steward("--help");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /validate/);
});
