import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadConfig, parseConfig } from "../agent/src/config.js";
import { StewardError } from "../agent/src/errors.js";
import { makeTempDir, removeDir } from "./helpers/keys.js";

const FILE = "/usr/local/etc/steward/steward.yaml";
const GOOD = `node: alpha
state: /var/db/steward
branch: main
trust: allowed_signers
timeout: 20
remotes:
  - name: origin
    url: ssh://git@git.home.arpa:22/srv/git/cluster.git
    key: id_ed25519
    known_hosts: /usr/local/etc/steward/known_hosts
  - name: mirror
    url: /mnt/mirror/cluster.git
`;

let dir: string;
before(() => (dir = makeTempDir()));
after(() => removeDir(dir));

test("reads a full configuration, resolving relative paths against the file's directory", () => {
  const c = parseConfig(GOOD, FILE);
  assert.equal(c.node, "alpha");
  assert.equal(c.trust, "/usr/local/etc/steward/allowed_signers");
  assert.equal(c.timeout, 20);
  assert.deepEqual(c.remotes.map((r) => [r.name, r.target.kind, r.key]), [["origin", "ssh", "/usr/local/etc/steward/id_ed25519"], ["mirror", "local", undefined]]);
});

test("fills in the defaults", () => {
  const c = parseConfig("node: beta\ntrust: /etc/s\nremotes:\n  - name: origin\n    url: https://git.home.arpa/c.git\n", FILE);
  assert.deepEqual([c.state, c.branch, c.timeout], ["/var/db/steward", "main", 30]);
});

test("loads the file from disk and names it", async () => {
  const file = join(dir, "steward.yaml");
  writeFileSync(file, GOOD.replace("state: /var/db/steward", "state: state"));
  const c = await loadConfig(file);
  assert.equal(c.file, file);
  assert.equal(c.state, join(dir, "state"));
});

test("a missing file is CONFIG_INVALID", async () => {
  await assert.rejects(loadConfig(join(dir, "nope.yaml")), (e: unknown) => e instanceof StewardError && e.code === "CONFIG_INVALID");
});

for (const c of [
  { name: "refuses a duplicate key, pointing at it", text: GOOD.replace("timeout: 20", "timeout: 20\nnode: beta"), line: 6 },
  { name: "refuses an unknown key, pointing at it", text: GOOD.replace("timeout: 20", "timeout: 20\ninterval: 5"), line: 6 },
  { name: "refuses an unknown key in a remote", text: GOOD.replace("    url: /mnt/mirror/cluster.git", "    url: /mnt/mirror/cluster.git\n    token: x"), line: 13 },
  { name: "refuses a missing node", text: GOOD.replace("node: alpha\n", ""), line: 1 },
  { name: "refuses a bad node name", text: GOOD.replace("node: alpha", "node: Alpha!"), line: 1 },
  { name: "refuses a bad remote name", text: GOOD.replace("name: mirror", "name: Mirror_1"), line: 11 },
  { name: "refuses a duplicate remote name", text: GOOD.replace("name: mirror", "name: origin"), line: 11 },
  { name: "refuses an ssh remote without known_hosts", text: GOOD.replace("    known_hosts: /usr/local/etc/steward/known_hosts\n", ""), line: 7 },
  { name: "refuses key on a local remote", text: GOOD.replace("    url: /mnt/mirror/cluster.git", "    url: /mnt/mirror/cluster.git\n    key: /k"), line: 13 },
  { name: "refuses credentials in a URL", text: GOOD.replace("/mnt/mirror/cluster.git", "https://u:p@h/c.git"), line: 12 },
  { name: "refuses a relative local URL", text: GOOD.replace("/mnt/mirror/cluster.git", "mirror.git"), line: 12 },
  { name: "refuses a zero timeout", text: GOOD.replace("timeout: 20", "timeout: 0"), line: 5 },
  { name: "refuses an invalid branch", text: GOOD.replace("branch: main", "branch: a..b"), line: 3 },
  { name: "refuses broken YAML", text: GOOD.replace("remotes:", "remotes: ["), line: 7 },
  { name: "refuses an empty remotes list", text: GOOD.replace(/remotes:[\s\S]*/, "remotes: []\n"), line: 6 },
]) {
  test(c.name, () => {
    assert.throws(
      () => parseConfig(c.text, FILE),
      (e: unknown) => e instanceof StewardError && e.code === "CONFIG_INVALID" && e.where?.file === FILE && e.where.line === c.line && typeof e.hint === "string" && e.hint.length > 0,
    );
  });
}
