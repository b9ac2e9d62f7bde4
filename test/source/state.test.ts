import assert from "node:assert/strict";
import { cpSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { StewardError } from "../../agent/src/errors.js";
import { readApplied, recordApplied, sourcePaths, writeTrustFile } from "../../agent/src/source/state.js";
import { WorkRepo, makeTempDir, removeDir } from "../helpers/keys.js";

let dir: string;
before(() => (dir = makeTempDir()));
after(() => removeDir(dir));

const OID = "0123456789abcdef0123456789abcdef01234567";
const isState = (e: unknown): boolean => e instanceof StewardError && e.code === "SOURCE_STATE";

test("nothing recorded reads as undefined", async () => {
  assert.equal(await readApplied(`${dir}/fresh`), undefined);
});

/** A state directory whose repository holds the linear history A <- B <- C, and a sibling B' of B. */
function stateWithHistory(name: string): { state: string; a: string; b: string; c: string; sibling: string } {
  const work = WorkRepo.create(join(dir, `${name}-work`));
  const a = work.write("x", "1\n").commit("A");
  const b = work.write("x", "2\n").commit("B");
  const c = work.write("x", "3\n").commit("C");
  work.resetHard(a);
  const sibling = work.write("x", "2'\n").commit("B'");
  const state = join(dir, name);
  mkdirSync(sourcePaths(state).dir, { recursive: true });
  cpSync(join(work.dir, ".git"), sourcePaths(state).gitdir, { recursive: true });
  return { state, a, b, c, sibling };
}

test("a recorded revision reads back, and no temp file is left", async () => {
  const state = `${dir}/a`;
  await recordApplied(state, OID, new Date("2025-01-01T00:00:00Z"));
  assert.deepEqual(await readApplied(state), { revision: OID, recordedAt: "2025-01-01T00:00:00.000Z" });
  await recordApplied(state, OID);
  assert.deepEqual(readdirSync(sourcePaths(state).dir), ["applied.json"]);
});

test("the record only moves forward: a descendant is recorded, an ancestor or a sibling is SOURCE_ROLLBACK", async () => {
  const { state, a, b, c, sibling } = stateWithHistory("forward");
  await recordApplied(state, b);
  await recordApplied(state, c);
  for (const older of [a, b, sibling]) {
    await assert.rejects(recordApplied(state, older), (e: unknown) => e instanceof StewardError && e.code === "SOURCE_ROLLBACK", older);
  }
  assert.equal((await readApplied(state))?.revision, c);
});

test("a corrupt record is SOURCE_STATE, never a first run", async () => {
  const state = `${dir}/b`;
  mkdirSync(sourcePaths(state).dir, { recursive: true });
  for (const text of ["{", "[]", '{"revision":"HEAD","recordedAt":"x"}', ""]) {
    writeFileSync(sourcePaths(state).applied, text);
    await assert.rejects(readApplied(state), isState, text);
  }
});

test("only a commit id can be recorded", async () => {
  await assert.rejects(recordApplied(`${dir}/c`, "main"), isState);
});

test("trust files are stored under their blob id", async () => {
  const path = await writeTrustFile(`${dir}/d`, OID, Buffer.from("x"));
  assert.equal(path, `${sourcePaths(`${dir}/d`).trustDir}/${OID}`);
  assert.equal(await writeTrustFile(`${dir}/d`, OID, Buffer.from("x")), path);
});
