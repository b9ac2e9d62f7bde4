/**
 * parseTree reads trees exactly as isomorphic-git does (the node's reading), including the
 * trees it refuses: the server and the nodes must judge the same tree the same way.
 */
import assert from "node:assert/strict";
import fs from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import git from "isomorphic-git";
import { parseTree } from "../../agent/src/source/objects.js";
import { makeBare, makeTempDir, removeDir } from "../helpers/keys.js";

let dir: string;
let gitdir: string;

before(() => {
  dir = makeTempDir();
  gitdir = makeBare(join(dir, "repo.git"));
});

after(() => removeDir(dir));

const OID = Buffer.from("0123456789abcdef0123456789abcdef01234567", "hex");
function entry(mode: string, name: string, oid: Buffer = OID): Buffer {
  return Buffer.concat([Buffer.from(`${mode} ${name}\u0000`, "utf8"), oid]);
}

for (const c of [
  { name: "a tree of every mode git writes", tree: Buffer.concat([entry("40000", "trust"), entry("100644", "a.yaml"), entry("100755", "run"), entry("120000", "link"), entry("160000", "sub")]) },
  { name: "an empty tree", tree: Buffer.alloc(0) },
  { name: "a name in UTF-8", tree: entry("100644", "grüße.yaml") },
  { name: "an unknown mode (100664, written by old git)", tree: entry("100664", "old") },
  { name: "a name with a slash", tree: entry("100644", "a/b") },
  { name: "a name with a backslash", tree: entry("100644", "a\\b") },
  { name: "the name ..", tree: entry("40000", "..") },
  { name: "the name .git", tree: entry("40000", ".git") },
  { name: "an NTFS alias of .git", tree: entry("40000", "GIT~1") },
  { name: "an HFS+ alias of .git", tree: entry("40000", ".g\u200cit") },
  { name: "an NTFS stream of .git", tree: entry("40000", ".git::$INDEX_ALLOCATION") },
  { name: "an entry without a space", tree: Buffer.from("100644name\u0000") },
]) {
  test(`parseTree agrees with isomorphic-git on ${c.name}`, async () => {
    const oid = await git.writeObject({ fs, gitdir, type: "tree", object: c.tree, format: "content" });
    type Entries = { path: string; oid: string; type: string; mode: string }[];
    let theirs: Entries | "refused";
    try {
      theirs = ((await git.readObject({ fs, gitdir, oid, format: "parsed" })).object as unknown as Entries).map((e) => ({ mode: e.mode, path: e.path, oid: e.oid, type: e.type }));
    } catch {
      theirs = "refused";
    }
    let ours: typeof theirs;
    try {
      ours = parseTree(c.tree).map((e) => ({ mode: e.mode, path: e.path, oid: e.oid, type: e.type }));
    } catch {
      ours = "refused";
    }
    // isomorphic-git sorts the entries it parses; the order is not part of the reading.
    const sorted = (x: typeof theirs): typeof theirs => (x === "refused" ? x : [...x].sort((a, b) => a.path.localeCompare(b.path)));
    assert.deepEqual(sorted(ours), sorted(theirs));
  });
}
