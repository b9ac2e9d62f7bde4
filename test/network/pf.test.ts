/**
 * The pf anchor: golden files for the template's nodes, parsed by the simulated pfctl as
 * FreeBSD 14's would parse them; renders broken on purpose are refused by it, with pfctl's
 * messages; random clusters always render to anchors pfctl accepts.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import fc from "fast-check";
import { loadModel } from "../../agent/src/manifest/load.js";
import { compilePolicy } from "../../agent/src/network/compile.js";
import { commentText, renderAnchor } from "../../agent/src/network/pf.js";
import { REPO_ROOT } from "../helpers/cli.js";
import { randomCluster, snapshotOf } from "../helpers/random-cluster.js";
import { SIM_BIN } from "../helpers/sim.js";
import { templateWith } from "../helpers/template.js";

const dir = mkdtempSync(join(tmpdir(), "steward-pf-render-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** parse runs the simulated `pfctl -o none -n -a steward -f FILE` on a text. */
function parse(text: string): { code: number | null; stderr: string } {
  const file = join(dir, "anchor.conf");
  writeFileSync(file, text);
  const r = spawnSync(join(SIM_BIN, "pfctl"), ["-o", "none", "-n", "-a", "steward", "-f", file], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } });
  return { code: r.status, stderr: r.stderr.replaceAll(file, "FILE") };
}

async function templateAnchors(): Promise<Map<string, string>> {
  const { model, diagnostics } = loadModel(await templateWith());
  assert.ok(model, JSON.stringify(diagnostics));
  return new Map(compilePolicy(model).nodes.map((n) => [n.node, renderAnchor(n)]));
}

for (const node of ["alpha", "beta", "pi"]) {
  test(`the template's anchor for ${node} is the golden file, and pfctl -n accepts it`, async () => {
    const text = (await templateAnchors()).get(node) as string;
    assert.equal(text, readFileSync(join(REPO_ROOT, "test/fixtures/pf", `template-${node}.conf`), "utf8"));
    assert.deepEqual(parse(text), { code: 0, stderr: "" });
  });
}

test("pfctl -nv reads back one rule for every rule line of the anchor", async () => {
  const text = (await templateAnchors()).get("alpha") as string;
  const file = join(dir, "alpha.conf");
  writeFileSync(file, text);
  const out = execFileSync(join(SIM_BIN, "pfctl"), ["-o", "none", "-nv", "-a", "steward", "-f", file], { encoding: "utf8" }).trim().split("\n");
  const written = text.split("\n").filter((l) => /^(table|nat|rdr|pass|block) /.test(l));
  assert.equal(out.length, written.length);
  assert.deepEqual(out.map((l) => l.split(" ")[0]), written.map((l) => l.split(" ")[0]));
});

/** Renders broken on purpose: what pfctl says about each (FILE:LINE: message, exit 1). */
const broken: { name: string; edit: (t: string) => string; message: RegExp }[] = [
  { name: "tagged before from/to (filter options come after the hosts)", edit: (t) => t.replace("inet all tagged steward_egress", "inet tagged steward_egress all"), message: /^FILE:\d+: syntax error$/m },
  { name: "no newline at the end of the file", edit: (t) => t.trimEnd(), message: /^FILE:\d+: syntax error$/m },
  { name: "a port without a protocol", edit: (t) => t.replace("rdr on em0 inet proto tcp", "rdr on em0 inet"), message: /port only applies to tcp\/udp/ },
  { name: "FreeBSD 15's nat-to", edit: (t) => t.replace("tag steward_egress -> (em0)", "tag steward_egress nat-to (em0)"), message: /^FILE:\d+: / },
  { name: "translation after filtering", edit: (t) => `${t}nat on em0 inet proto tcp from 10.17.0.25 to any port 25 -> (em0)\n`, message: /Rules must be in order: options, ethernet, normalization, queueing, translation, filtering/ },
  { name: "route-to without a direction", edit: (t) => t.replace("pass in quick on em0 reply-to", "pass quick on em0 reply-to"), message: /direction must be explicit with rules that specify routing/ },
  { name: "inet6 with IPv4 addresses", edit: (t) => t.replace("pass quick inet from 10.17.0.22", "pass quick inet6 from 10.17.0.22"), message: /rule expands to no valid combination/ },
  { name: "a table name over 31 characters", edit: (t) => t.replaceAll("steward_protect", "steward_protect_the_home_lan_nets"), message: /table name too long, max 31 chars/ },
  { name: "a netmask too long for IPv4", edit: (t) => t.replace("192.168.1.0/24 }  # the home", "192.168.1.0/33 }  # the home"), message: /^FILE:7: /m },
];

for (const b of broken) {
  test(`a broken render is refused by pfctl -n: ${b.name}`, async () => {
    const text = (await templateAnchors()).get("alpha") as string;
    const bad = b.edit(text);
    assert.notEqual(bad, text, "the edit applies");
    const r = parse(bad);
    assert.equal(r.code, 1);
    assert.match(r.stderr, b.message);
  });
}

test("random clusters render to anchors pfctl -n accepts, one line per rule", () => {
  fc.assert(
    fc.property(randomCluster(), (c) => {
      const { model } = loadModel(snapshotOf(c));
      assert.ok(model);
      for (const n of compilePolicy(model).nodes) {
        const text = renderAnchor(n);
        assert.deepEqual(parse(text), { code: 0, stderr: "" }, text);
        assert.equal(text.split("\n").filter((l) => /^(nat|rdr|pass|block) /.test(l)).length, n.nat.length + n.rdr.length + n.filter.length);
      }
    }),
    { numRuns: 25 },
  );
});

test("a comment stays on its line: no newline, and no backslash that pfctl would join to the next rule", () => {
  fc.assert(
    fc.property(fc.string({ unit: "binary" }), (s) => {
      const c = commentText(s);
      assert.ok(!/[\n\r\\]/.test(c) && c.length === s.length);
    }),
  );
  // What pfctl does with a comment that ends in a backslash: the next line becomes comment too.
  const joined = "block drop quick all  # ends in \\\npass quick all\n";
  const kept = `block drop quick all  # ${commentText("ends in \\")}\npass quick all\n`;
  const rules = (text: string): string => {
    const file = join(dir, "comment.conf");
    writeFileSync(file, text);
    return spawnSync(join(SIM_BIN, "pfctl"), ["-o", "none", "-nv", "-f", file], { encoding: "utf8", env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin" } }).stdout;
  };
  assert.doesNotMatch(rules(joined), /^pass/m);
  assert.match(rules(kept), /^pass quick all/m);
});
