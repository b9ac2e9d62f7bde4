import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  compareDatasetNames,
  isSameValue,
  parseGuidResult,
  parseObserveResult,
  parseSource,
  parseZfsGet,
  toObservedDatasets,
  type CommandResult,
} from "../../../agent/src/drivers/zfs/parse.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../../../test/fixtures/zfs");

/** A recorded command: `{argv, exitCode, stdout, stderr}` from zfs-fuse 0.7.0. */
function fixture(name: string): CommandResult & { argv: string[] } {
  const f = JSON.parse(readFileSync(join(FIXTURES, name), "utf8")) as { argv: string[]; exitCode: number; stdout: string; stderr: string };
  return { ...f, timedOut: false };
}

test("parses the recorded observe call into datasets, in tree order, snapshots folded in", () => {
  const r = parseObserveResult("fx/steward", fixture("get-tree.json"));
  assert.equal(r.kind, "rows");
  if (r.kind !== "rows") return;
  const datasets = toObservedDatasets(r.rows);
  assert.deepEqual(
    datasets.map((d) => [d.name, d.managed, d.snapshots]),
    [
      ["fx/steward", true, 0],
      ["fx/steward/data", true, 0],
      ["fx/steward/data/mail", true, 0],
      ["fx/steward/data/mail/byhand", false, 0],
      ["fx/steward/data/mail/mail", true, 1],
      ["fx/steward/data/mail/notes", true, 0],
    ],
  );
  const mail = datasets.find((d) => d.name === "fx/steward/data/mail/mail");
  assert.equal(mail?.guid, "3599961929452909614");
  assert.deepEqual(mail?.properties["quota"], { value: "21474836480", source: "local" });
  assert.deepEqual(mail?.properties["compression"], { value: "gzip", source: "local" });
  assert.equal(mail?.properties["org.steward:managed"], undefined);
  assert.equal(mail?.properties["guid"], undefined);
});

test("a marker that is only inherited does not make a dataset managed", () => {
  const r = parseObserveResult("fx/steward", fixture("get-tree.json"));
  assert.ok(r.kind === "rows");
  const byhand = toObservedDatasets(r.rows).find((d) => d.name === "fx/steward/data/mail/byhand");
  assert.equal(byhand?.managed, false);
  assert.deepEqual(byhand?.properties["mountpoint"], { value: "none", source: "inherited", inheritedFrom: "fx/steward/data/mail" });
});

test("a value with spaces survives: columns split on TAB only", () => {
  const r = parseObserveResult("fx/steward", fixture("get-tree.json"));
  assert.ok(r.kind === "rows");
  const notes = toObservedDatasets(r.rows).find((d) => d.name === "fx/steward/data/mail/notes");
  assert.equal(notes?.properties["org.example:backup"]?.value, "weekly of notes");
});

test("an unset user property reads as value - with source none", () => {
  const r = parseObserveResult("fx/steward", fixture("get-tree.json"));
  assert.ok(r.kind === "rows");
  const root = toObservedDatasets(r.rows).find((d) => d.name === "fx/steward");
  assert.deepEqual(root?.properties["org.example:backup"], { value: "-", source: "none" });
});

test("a missing root is an observation (absent), not a failure", () => {
  assert.deepEqual(parseObserveResult("fx/steward", fixture("get-missing.json")), { kind: "absent" });
});

test("a usage error (unknown property, exit 2) is a failure", () => {
  assert.deepEqual(parseObserveResult("fx/steward", fixture("get-bad-property.json")), { kind: "failed", unavailable: false });
});

test("a daemon that is not running is a failure that says ZFS is unavailable", () => {
  // zfs-fuse's text without its daemon (docs/decisions.md, "The portable subset of zfs"; not recorded: stopping the shared daemon would break other tests).
  const stderr = "connect: No such file or directory\nPlease make sure that the zfs-fuse daemon is running.\ninternal error: failed to initialize ZFS library\n";
  assert.deepEqual(parseObserveResult("tank/steward", { exitCode: 1, stdout: "", stderr, timedOut: false }), { kind: "failed", unavailable: true });
});

test("a timed-out observe is a failure even with exit 0 text", () => {
  assert.equal(parseObserveResult("x/steward", { exitCode: null, stdout: "", stderr: "", timedOut: true }).kind, "failed");
});

test("bookmark rows are dropped and snapshot rows only counted", () => {
  const rows = parseZfsGet("t/s\tguid\t1\t-\nt/s@a\tguid\t2\t-\nt/s@b\tguid\t3\t-\nt/s#bm\tguid\t4\t-\n");
  assert.deepEqual(
    toObservedDatasets(rows).map((d) => [d.name, d.snapshots, d.guid]),
    [["t/s", 2, "1"]],
  );
});

test("a value holding a TAB or a newline stays one value", () => {
  const rows = parseZfsGet("t/s\tx:y\ta\tb\tlocal\nt/s\tx:z\tline1\nline2\tlocal\nt/s\tatime\ton\tdefault\n");
  assert.deepEqual(
    rows.map((r) => [r.property, r.value, r.source]),
    [
      ["x:y", "a\tb", "local"],
      ["x:z", "line1\nline2", "local"],
      ["atime", "on", "default"],
    ],
  );
});

for (const [text, want] of [
  ["local", { source: "local" }],
  ["default", { source: "default" }],
  ["received", { source: "received" }],
  ["temporary", { source: "temporary" }],
  ["-", { source: "none" }],
  ["inherited from tank/a b", { source: "inherited", inheritedFrom: "tank/a b" }],
] as const) {
  test(`reads the source column '${text}'`, () => assert.deepEqual(parseSource(text), want));
}

test("the guid check reads the recorded guid", () => {
  assert.deepEqual(parseGuidResult("fx/steward/data/mail/mail", fixture("guid.json")), { kind: "guid", guid: "3599961929452909614" });
});

test("the guid check of a missing dataset is absent", () => {
  assert.deepEqual(parseGuidResult("fx/steward/data/gone", fixture("guid-missing.json")), { kind: "absent" });
});

test("the guid check of another failure is failed", () => {
  assert.deepEqual(parseGuidResult("fx/x", { exitCode: 1, stdout: "", stderr: "internal error: failed to initialize ZFS library\n", timedOut: false }), { kind: "failed" });
});

test("recorded failures keep their documented exit codes and first lines", () => {
  for (const [name, code, prefix] of [
    ["set-bad-compression.json", 1, "cannot set property for "],
    ["set-quota-below-used.json", 1, "cannot set property for "],
    ["inherit-quota.json", 1, "'quota' property cannot be inherited"],
    ["create-parent-missing.json", 1, "cannot create "],
    ["destroy-has-children.json", 1, "cannot destroy "],
    ["destroy-missing.json", 1, "cannot open "],
  ] as const) {
    const f = fixture(name);
    assert.equal(f.exitCode, code, name);
    assert.ok(f.stderr.startsWith(prefix), name);
  }
});

for (const [property, desired, observed, same] of [
  ["compression", "gzip-6", "gzip", true],
  ["compression", "gzip-9", "gzip", false],
  ["quota", "none", "0", true],
  ["quota", "0", "0", true],
  ["quota", "1073741824", "0", false],
  ["mountpoint", "none", "none", true],
  ["org.example:x", "none", "0", false],
] as const) {
  test(`compares ${property} ${desired} with observed ${observed}: ${same ? "same" : "different"}`, () => assert.equal(isSameValue(property, desired, observed), same));
}

test("dataset names sort as a tree walk: each parent right before its children", () => {
  const names = ["t/a-b", "t/a/b", "t/a", "t", "t/a/b/c", "t/b"];
  assert.deepEqual([...names].sort(compareDatasetNames), ["t", "t/a", "t/a/b", "t/a/b/c", "t/a-b", "t/b"]);
});
