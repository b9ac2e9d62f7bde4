/**
 * verifyChain and firstParentChain on repositories built with native git, including ones
 * missing objects (as a hostile mirror would leave them before fetch.ts refused such packs).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { StewardError } from "../../agent/src/errors.js";
import { readSnapshot } from "../../agent/src/source/snapshot.js";
import { firstParentChain, verifyChain } from "../../agent/src/source/verify.js";
import { removedKeyHistory } from "../helpers/fake-upload-pack.js";
import { WorkRepo, git, makeBare, makeTempDir, removeDir } from "../helpers/keys.js";

let dir: string;
let work: WorkRepo;
let bootstrap: string;
let gitdir: string;
let L: string;
let C1: string;
let C2: string;

before(() => {
  dir = makeTempDir();
  let evil: Buffer;
  ({ work, bootstrap, L, C1, C2, packWithoutC1Tree: evil } = removedKeyHistory(dir));
  // L complete; C1 and C2 without C1's tree, indexed as they are (index-pack checks no links).
  gitdir = makeBare(join(dir, "state", "source", "repo.git"));
  git(work.dir, ["push", "-q", gitdir, `${L}:refs/heads/applied`, "--force"]);
  execFileSync("git", ["-C", gitdir, "index-pack", "--stdin"], { input: evil, stdio: ["pipe", "ignore", "ignore"] });
});

after(() => removeDir(dir));

test("a parent whose tree is missing holds with SOURCE_PROTOCOL instead of falling back to the bootstrap keys", async () => {
  const v = await verifyChain(C2, L, { gitdir, cache: {}, stateDir: join(dir, "state"), bootstrapTrust: bootstrap, now: Date.now() });
  assert.equal(v.ok, false, JSON.stringify(v));
  assert.equal(!v.ok && v.problem.code, "SOURCE_PROTOCOL");
});

test("reading a revision whose tree is missing is SOURCE_STATE, not a crash", async () => {
  await assert.rejects(readSnapshot(gitdir, C1, {}), (e: unknown) => e instanceof StewardError && e.code === "SOURCE_STATE");
});

test("the ancestor set of a side-merged last applied revision is capped with SOURCE_PROTOCOL", async () => {
  const w = WorkRepo.create(join(dir, "merge"));
  w.write("a", "1").commit("B");
  w.write("a", "2").commit("M1");
  w.checkout(["--orphan", "side"]);
  for (let i = 0; i < 5; i++) w.write("s", String(i)).commit(`S${i}`);
  const side = w.head();
  w.checkout(["-f", "main"]);
  const tip = w.merge("side", "M2");
  const repo = makeBare(join(dir, "merge.git"));
  w.push(repo);
  // The first-parent walk (M2, M1, B) fits in 4; the side history (5 commits) does not.
  await assert.rejects(firstParentChain(tip, side, repo, {}, 4), (e: unknown) => e instanceof StewardError && e.code === "SOURCE_PROTOCOL");
  assert.deepEqual((await firstParentChain(tip, side, repo, {})).length, 3);
});
