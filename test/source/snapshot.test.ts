import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { StewardError } from "../../agent/src/errors.js";
import { isManifestPath } from "../../agent/src/manifest/load.js";
import { MAX_MANIFEST_BYTES } from "../../agent/src/manifest/yaml.js";
import { readSnapshot } from "../../agent/src/source/snapshot.js";
import { WorkRepo, makeBare, makeTempDir, removeDir } from "../helpers/keys.js";

let dir: string;
let bare: string;
let work: WorkRepo;

before(() => {
  dir = makeTempDir();
  bare = makeBare(join(dir, "cluster.git"));
  work = WorkRepo.create(join(dir, "work"));
});
after(() => removeDir(dir));

test("reads manifests and every path of a revision straight from the objects", async () => {
  work
    .write("cluster.yaml", "domain: home.arpa\n")
    .write("nodes/alpha.yaml", "arch: amd64\n")
    .write("services/mail.yaml", "node: alpha\n")
    .write("services/blog.yml", "node: alpha\n")
    .write("services/extra/deep.yaml", "misplaced: true\n")
    .write("files/mail/main.cf", "myhostname = mail\n")
    .write("README.md", "# cluster\n");
  const oid = work.commit("layout");
  work.push(bare);
  const cache = {};
  const s = await readSnapshot(bare, oid, cache);
  assert.equal(s.revision, oid);
  // Misnamed and misplaced YAML is read too, so that validation can point at it.
  assert.deepEqual([...s.manifests.keys()].sort(), ["cluster.yaml", "nodes/alpha.yaml", "services/blog.yml", "services/extra/deep.yaml", "services/mail.yaml"]);
  assert.equal(s.manifests.get("nodes/alpha.yaml"), "arch: amd64\n");
  assert.deepEqual([...s.paths].sort(), ["README.md", "cluster.yaml", "files/mail/main.cf", "nodes/alpha.yaml", "services/blog.yml", "services/extra/deep.yaml", "services/mail.yaml"]);
});

test("an older revision reads as it was", async () => {
  const first = work.head();
  work.remove("README.md").write("cluster.yaml", "domain: lan\n");
  const second = work.commit("change");
  work.push(bare);
  const cache = {};
  assert.equal((await readSnapshot(bare, first, cache)).manifests.get("cluster.yaml"), "domain: home.arpa\n");
  const now = await readSnapshot(bare, second, cache);
  assert.equal(now.manifests.get("cluster.yaml"), "domain: lan\n");
  assert.equal(now.paths.has("README.md"), false);
});

test("a manifest over the limit is MANIFEST_INVALID at file:1:1, with its size and the limit", async () => {
  writeFileSync(join(work.dir, "services", "big.yaml"), "x".repeat(MAX_MANIFEST_BYTES + 1));
  const oid = work.commit("big");
  work.push(bare);
  await assert.rejects(readSnapshot(bare, oid, {}), (e: unknown) =>
    e instanceof StewardError && e.code === "MANIFEST_INVALID" && e.where?.file === "services/big.yaml" && e.where.line === 1 && e.where.column === 1 &&
    e.data["size"] === MAX_MANIFEST_BYTES + 1 && e.data["limit"] === MAX_MANIFEST_BYTES && e.hint !== undefined);
  work.remove("services/big.yaml");
  work.commit("no big");
  work.push(bare);
});

test("a manifest that is too large or not UTF-8 is MANIFEST_INVALID, naming the file", async () => {
  for (const content of ["x".repeat(1024 * 1024 + 1), "\xff\xfe"]) {
    writeFileSync(join(work.dir, "services", "bad.yaml"), Buffer.from(content, "latin1"));
    const oid = work.commit("bad");
    work.push(bare);
    await assert.rejects(readSnapshot(bare, oid, {}), (e: unknown) => e instanceof StewardError && e.code === "MANIFEST_INVALID" && e.where?.file === "services/bad.yaml");
  }
});

test("a revision that is not in the repository is SOURCE_NOT_FOUND", async () => {
  await assert.rejects(readSnapshot(bare, "0".repeat(40), {}), (e: unknown) => e instanceof StewardError && e.code === "SOURCE_NOT_FOUND");
});

for (const [path, yes] of [["cluster.yaml", true], ["cluster.yml", true], ["nodes/a.yaml", true], ["services/m.yml", true], ["services/x/y.yaml", true], ["files/a.yaml", false], ["nodes/a.json", false]] as const) {
  test(`${yes ? "reads" : "does not read"} ${path} as a manifest`, () => assert.equal(isManifestPath(path), yes));
}
