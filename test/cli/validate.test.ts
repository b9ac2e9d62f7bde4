import assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { TEMPLATE_DIR } from "../helpers/template.js";

const work = mkdtempSync(join(tmpdir(), "steward-validate-"));
after(() => rmSync(work, { recursive: true, force: true }));

const steward = (...args: string[]) => runCli(args);

test("validate exits 0 on the template", async () => {
  const r = await steward("validate", TEMPLATE_DIR);
  assert.equal(r.code, 0, r.stderr);
});

test("validate exits 1 and prints file:line:col CODE for every problem", async () => {
  const dir = join(work, "bad");
  cpSync(TEMPLATE_DIR, dir, { recursive: true });
  writeFileSync(join(dir, "services/mail.yaml"), "node: nowhere\njail:\n  ip: 10.17.0.22\n");
  const r = await steward("validate", dir);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^services\/mail\.yaml:1:7 {2}MANIFEST_REFERENCE /m);
  assert.match(r.stderr, /^services\/mail\.yaml:3:7 {2}MANIFEST_DUPLICATE /m);
  assert.match(r.stderr, /^ {2}hint: /m);
});

test("validate --json reports the diagnostics as data", async () => {
  const dir = join(work, "bad-json");
  cpSync(TEMPLATE_DIR, dir, { recursive: true });
  writeFileSync(join(dir, "services/blog.yaml"), "node: pi\njail: { ip: 10.17.0.40 }\nroutes: [gti:22/tcp]\n");
  const r = await steward("validate", dir, "--json");
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout) as { ok: boolean; diagnostics: { code: string; where: { file: string; line: number } }[] };
  assert.equal(out.ok, false);
  assert.deepEqual(out.diagnostics.map((d) => [d.code, d.where.file, d.where.line]), [["MANIFEST_REFERENCE", "services/blog.yaml", 3]]);
});

test("validate exits 2 on a usage error", async () => {
  assert.equal((await steward("validate", "--frobnicate")).code, 2);
  assert.equal((await steward("validate", "a", "b")).code, 2);
  assert.equal((await steward("no-such-command")).code, 2);
  assert.equal((await steward()).code, 2);
});

test("validate of a folder that does not exist is a problem, not a crash", async () => {
  const r = await steward("validate", join(work, "nope"), "--json");
  assert.equal(r.code, 1);
  assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, "MANIFEST_MISSING");
});

test("--help lists the commands and exits 0", async () => {
  const r = await steward("--help");
  assert.equal(r.code, 0);
  assert.match(r.stdout, /validate/);
});

test("check resolves a node's desired state from a checkout", async () => {
  const r = await steward("desired", "--dir", TEMPLATE_DIR, "--node", "pi", "--json");
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { ok: boolean; desired: { datasets: { name: string; properties: Record<string, string> }[] } };
  assert.equal(out.ok, true);
  assert.deepEqual(out.desired.datasets.find((d) => d.name === "zroot/steward/data/blog/www")?.properties, {
    compression: "lz4",
    atime: "off",
    mountpoint: "/jails/blog/usr/local/www/blog",
  });
});

test("check of a node the repo lacks is a MANIFEST_REFERENCE problem", async () => {
  const r = await steward("desired", "--dir", TEMPLATE_DIR, "--node", "omega", "--json");
  assert.equal(r.code, 1);
  assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, "MANIFEST_REFERENCE");
});

test("validate refuses a 1.5 GB manifest by its size, without reading it (peak RSS under 150 MB)", async () => {
  const dir = join(work, "huge");
  cpSync(TEMPLATE_DIR, dir, { recursive: true });
  // Sparse: 1.5 GB long, no disk blocks, instant.
  const huge = join(dir, "services/huge.yaml");
  writeFileSync(huge, "");
  truncateSync(huge, 1.5 * 1024 ** 3);
  const r = await runCli(["validate", dir], { measureRss: true });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, /^services\/huge\.yaml:1:1 {2}MANIFEST_INVALID .*\b1610612736 bytes\b.*\b1048576 bytes\b/m);
  assert.match(r.stderr, /^ {2}hint: /m);
  const rss = r.peakRssKiB;
  assert.ok(rss !== undefined, r.stderr);
  assert.ok(rss < 150 * 1024, `peak RSS ${rss} KiB`);
});

test("validate --json names the oversized manifest with its size and the limit", async () => {
  const dir = join(work, "huge-json");
  cpSync(TEMPLATE_DIR, dir, { recursive: true });
  writeFileSync(join(dir, "nodes/alpha.yaml"), "");
  truncateSync(join(dir, "nodes/alpha.yaml"), 1024 * 1024 + 1);
  const r = await steward("validate", dir, "--json");
  assert.equal(r.code, 1);
  const out = JSON.parse(r.stdout) as { diagnostics: { code: string; message: string; where: { file: string; line: number; column: number } }[] };
  // Its services now name a node that failed to load: reported once, on the node file.
  assert.deepEqual(out.diagnostics.map((d) => [d.code, d.where.file, d.where.line, d.where.column]), [["MANIFEST_INVALID", "nodes/alpha.yaml", 1, 1]]);
  assert.match(out.diagnostics[0]?.message ?? "", /1048577 bytes.*1048576 bytes/);
});
