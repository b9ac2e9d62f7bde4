import assert from "node:assert/strict";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { StewardError } from "../../agent/src/errors.js";
import { readApplied, recordApplied, sourcePaths, writeTrustFile } from "../../agent/src/source/state.js";
import { makeTempDir, removeDir } from "../helpers/keys.js";

let dir: string;
before(() => (dir = makeTempDir()));
after(() => removeDir(dir));

const OID = "0123456789abcdef0123456789abcdef01234567";
const isState = (e: unknown): boolean => e instanceof StewardError && e.code === "SOURCE_STATE";

test("nothing recorded reads as undefined", async () => {
  assert.equal(await readApplied(`${dir}/fresh`), undefined);
});

test("a recorded revision reads back, and no temp file is left", async () => {
  const state = `${dir}/a`;
  await recordApplied(state, OID, new Date("2025-01-01T00:00:00Z"));
  assert.deepEqual(await readApplied(state), { revision: OID, recordedAt: "2025-01-01T00:00:00.000Z" });
  await recordApplied(state, OID.replace("0", "f"));
  assert.equal((await readApplied(state))?.revision, OID.replace("0", "f"));
  assert.deepEqual(readdirSync(sourcePaths(state).dir), ["applied.json"]);
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
