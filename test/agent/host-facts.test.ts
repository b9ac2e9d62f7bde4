/** Host facts for the status report (host-facts.ts): what the commands print, read exactly. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { architectureName, observeHostFacts, parseAvailable, parsePoolHealth } from "../../agent/src/agent/host-facts.js";
import { RecordingExecutor, startsWith } from "../helpers/recording-executor.js";

test("pool health is read from zpool list -H for the named pool only", () => {
  assert.equal(parsePoolHealth("zroot\tONLINE\n", "zroot"), "ONLINE");
  assert.equal(parsePoolHealth("tank\tDEGRADED\nzroot\tFAULTED\n", "zroot"), "FAULTED");
  assert.equal(parsePoolHealth("tank\tONLINE\n", "zroot"), undefined);
  assert.equal(parsePoolHealth("zroot\t-\n", "zroot"), undefined);
});

test("free space is a plain byte count or nothing", () => {
  assert.equal(parseAvailable("123456789\n"), 123456789);
  assert.equal(parseAvailable("1.5G\n"), undefined);
  assert.equal(parseAvailable("99999999999999999999\n"), undefined);
});

test("architectures carry FreeBSD's names", () => {
  assert.equal(architectureName("x86_64"), "amd64");
  assert.equal(architectureName("aarch64"), "arm64");
  assert.equal(architectureName("arm64"), "arm64");
});

test("a fact that cannot be read is UNKNOWN or 0, never a failed run", async () => {
  const ex = new RecordingExecutor([
    { when: startsWith("freebsd-version"), reply: { exitCode: 0, stdout: "14.2-RELEASE-p1\n" } },
    { when: startsWith("zpool"), reply: { exitCode: 1, stderr: "cannot open 'zroot': no such pool\n" } },
    { when: startsWith("zfs"), reply: { exitCode: 0, stdout: "4096\n" } },
  ]);
  const facts = await observeHostFacts(ex, "zroot");
  assert.equal(facts.osVersion, "14.2-RELEASE-p1");
  assert.deepEqual(facts.pools, [{ name: "zroot", health: "UNKNOWN", freeBytes: 4096 }]);
  assert.deepEqual((await observeHostFacts(ex, undefined)).pools, []);
});
