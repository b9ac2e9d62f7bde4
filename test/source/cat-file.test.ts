/**
 * The native object source: BatchParser on output cut at every byte, and openCatFile against a
 * real repository, answering as isomorphic-git reads the same objects.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { BatchParser, openCatFile } from "../../agent/src/source/cat-file.js";
import { isomorphicObjects } from "../../agent/src/source/objects.js";
import { gitFs } from "../../agent/src/source/repo.js";
import { StewardError } from "../../agent/src/errors.js";
import { WorkRepo, git, makeBare, makeTempDir, removeDir } from "../helpers/keys.js";

const A = "a".repeat(40);
const B = "b".repeat(40);
const C = "c".repeat(40);

function batch(...parts: (string | Buffer)[]): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === "string" ? Buffer.from(p, "latin1") : p)));
}

const content = Buffer.from("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\n\nbinary \u0000\n\n newline inside\n", "latin1");
const output = batch(`${A} commit ${content.length}\n`, content, "\n", `${B} missing\n`, `${C} blob 12\n`, "0123456789ab\n");

test("BatchParser gives the same answers however the output is cut", () => {
  for (let cut = 0; cut <= output.length; cut++) {
    const parser = new BatchParser(1024);
    const answers = [...parser.push(output.subarray(0, cut)), ...parser.push(output.subarray(cut))];
    assert.deepEqual(
      answers.map((a) => (a.kind === "object" ? [a.kind, a.oid, a.type, Buffer.from(a.content).toString("latin1")] : [a.kind, a.oid])),
      [
        ["object", A, "commit", content.toString("latin1")],
        ["missing", B],
        ["object", C, "blob", "0123456789ab"],
      ],
      `cut at ${cut}`,
    );
  }
});

test("BatchParser skips an object over the limit as it streams past, one byte at a time", () => {
  const parser = new BatchParser(11);
  const answers = [];
  for (const byte of output) answers.push(...parser.push(Buffer.from([byte])));
  assert.deepEqual(
    answers.map((a) => [a.kind, a.oid]),
    [
      ["too-large", A],
      ["missing", B],
      ["too-large", C],
    ],
  );
});

test("BatchParser refuses output that is not the batch format", () => {
  assert.throws(() => new BatchParser(10).push(Buffer.from("fatal: not a git repository\n")));
  assert.throws(() => new BatchParser(10).push(batch(`${C} blob 2\n`, "abX")));
  assert.throws(() => new BatchParser(10).push(Buffer.alloc(300, 0x61)));
});

let dir: string;
let gitdir: string;
let commit: string;

before(() => {
  dir = makeTempDir();
  const work = WorkRepo.create(join(dir, "work"));
  work.write("trust/allowed_signers", "# nobody\n").write("a.yaml", "a: 1\n");
  commit = work.commit("one");
  gitdir = makeBare(join(dir, "repo.git"));
  work.push(gitdir);
});

after(() => removeDir(dir));

test("openCatFile reads commits, trees and blobs as isomorphic-git does; a missing object is NotFoundError", async () => {
  const native = openCatFile({ gitdir });
  const iso = isomorphicObjects(gitdir, {}, gitFs);
  try {
    const tree = git(gitdir, ["rev-parse", `${commit}^{tree}`]);
    const blob = git(gitdir, ["rev-parse", `${commit}:a.yaml`]);
    // Several reads in flight at once come back to the right callers.
    const [n1, n2, n3] = await Promise.all([native.read(commit), native.read(tree), native.read(blob)]);
    for (const [oid, n] of [[commit, n1], [tree, n2], [blob, n3]] as const) {
      const i = await iso.read(oid);
      assert.equal(n?.type, i.type);
      assert.deepEqual(Buffer.from(n?.content ?? []), Buffer.from(i.content));
    }
    await assert.rejects(native.read("0".repeat(40)), (e: unknown) => (e as { code?: string }).code === "NotFoundError");
    await assert.rejects(native.read("HEAD"), (e: unknown) => (e as { code?: string }).code === "NotFoundError", "only object ids reach git");
    assert.equal((await native.read(commit)).type, "commit", "the source still answers after a missing object");
  } finally {
    await native.close();
  }
  await assert.rejects(native.read(commit), (e: unknown) => e instanceof StewardError && e.code === "EXEC_FAILED");
});

test("openCatFile on something that is not a repository fails every read with EXEC_FAILED", async () => {
  const native = openCatFile({ gitdir: join(dir, "no-such.git") });
  await assert.rejects(native.read(commit), (e: unknown) => e instanceof StewardError && e.code === "EXEC_FAILED");
  await native.close();
});
