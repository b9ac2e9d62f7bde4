import assert from "node:assert/strict";
import { test } from "node:test";
import { durationSeconds, formatDuration } from "../../agent/src/manifest/duration.js";

test("durations read as seconds", () => {
  assert.deepEqual(["30m", "12h", "3d", "1w"].map(durationSeconds), [1800, 43_200, 259_200, 604_800]);
  assert.throws(() => durationSeconds("3 days"));
});

test("durations print as their two largest units", () => {
  assert.deepEqual([0, 12, 60, 3600 + 120, 3 * 86_400 + 5 * 3600 + 7, 604_800 + 86_400 + 1].map(formatDuration), ["0s", "12s", "1m", "1h 2m", "3d 5h", "1w 1d"]);
});
