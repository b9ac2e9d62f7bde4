/**
 * readSnapshotFromDir on a real directory: manifests are read up to the limit and no further,
 * symlinks are not followed, and a manifest that is not a regular file when opened is refused.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { MAX_MANIFEST_BYTES } from "../../agent/src/manifest/yaml.js";
import { readSnapshotFromDir } from "../../agent/src/source/dir.js";

const root = mkdtempSync(join(tmpdir(), "steward-dir-"));
after(() => rmSync(root, { recursive: true, force: true }));

let counter = 0;
function repo(files: Readonly<Record<string, string | number>>): string {
  const dir = join(root, `repo-${++counter}`);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, ".."), { recursive: true });
    writeFileSync(join(dir, path), typeof content === "string" ? content : "");
    // A number is a size: a sparse file, instant and without disk blocks.
    if (typeof content === "number") truncateSync(join(dir, path), content);
  }
  return dir;
}

test("a manifest at the limit is read; one byte more is left unread and reported by size", async () => {
  const dir = repo({ "cluster.yaml": "domain: x\n", "nodes/a.yaml": MAX_MANIFEST_BYTES, "services/b.yaml": MAX_MANIFEST_BYTES + 1, "services/c.yaml": 3 * 1024 ** 3, "files/big.bin": 3 * 1024 ** 3 });
  const s = await readSnapshotFromDir(dir);
  assert.deepEqual([...s.manifests.keys()].sort(), ["cluster.yaml", "nodes/a.yaml"]);
  assert.equal(s.manifests.get("nodes/a.yaml")?.length, MAX_MANIFEST_BYTES);
  assert.deepEqual([...(s.oversized ?? new Map<string, number>())].sort(), [["services/b.yaml", MAX_MANIFEST_BYTES + 1], ["services/c.yaml", 3 * 1024 ** 3]]);
  assert.deepEqual([...s.paths].sort(), ["cluster.yaml", "files/big.bin", "nodes/a.yaml", "services/b.yaml", "services/c.yaml"]);
});

test("symlinks are listed as nothing and never read", async () => {
  const dir = repo({ "cluster.yaml": "domain: x\n" });
  mkdirSync(join(dir, "services"));
  symlinkSync("/etc/passwd", join(dir, "services/leak.yaml"));
  const s = await readSnapshotFromDir(dir);
  assert.deepEqual([...s.manifests.keys()], ["cluster.yaml"]);
  assert.equal(s.paths.has("services/leak.yaml"), false);
});

test("a FIFO where a manifest was listed does not block: it is not a regular file and is skipped", async () => {
  const dir = repo({ "cluster.yaml": "domain: x\n" });
  mkdirSync(join(dir, "nodes"));
  execFileSync("mkfifo", [join(dir, "nodes/a.yaml")]);
  const s = await readSnapshotFromDir(dir);
  assert.deepEqual([...s.manifests.keys()], ["cluster.yaml"]);
});
