/** judgeObjects (push.ts): the server refuses what no node will fetch. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { judgeObjects } from "../../agent/src/source/push.js";

const LIMITS = { maxObjects: 3, maxObjectBytes: 100, maxTotalBytes: 250, maxDeltaOps: 10 };
const obj = (n: number, size = 10, path?: string) => ({ oid: String(n).padStart(40, "0"), type: "blob", size, ...(path === undefined ? {} : { path }) });

test("within every limit: accepted", () => {
  assert.equal(judgeObjects([obj(1), obj(2), obj(3, 100)], LIMITS), undefined);
});

test("too many objects, one too large (named by path), or too many bytes in all: refused as a node would", () => {
  assert.match(judgeObjects([obj(1), obj(2), obj(3), obj(4)], LIMITS)?.message ?? "", /brings 4 objects; a node fetches at most 3/);
  const big = judgeObjects([obj(1), obj(2, 101, "files/big.bin")], LIMITS);
  assert.equal(big?.code, "SOURCE_PROTOCOL");
  assert.match(big?.message ?? "", /\(files\/big\.bin\) is 101 bytes/);
  assert.match(judgeObjects([obj(1, 100), obj(2, 100), obj(3, 100)], LIMITS)?.message ?? "", /300 bytes of objects/);
});
