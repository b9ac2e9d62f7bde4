/**
 * What a hostile remote can cost a node is bounded: a pack of many tiny objects (cheap on the
 * wire, expensive to index) or a huge ref advertisement is refused with a clear code within
 * the fetch deadline, with the whole `steward fetch` process's peak RSS under 256 MB, and
 * leaves neither a pack nor a moved tracking ref behind. The fetch runs in a worker thread
 * (fetch-isolated.ts) whose deadline covers indexing and whose heap is limited.
 */
import assert from "node:assert/strict";
import { readdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { FetchIsolate } from "../../agent/src/source/fetch-isolated.js";
import { DEFAULT_PACK_LIMITS } from "../../agent/src/source/pack-guard.js";
import { resolveOrUndefined, trackingRef } from "../../agent/src/source/fetch.js";
import { parseRemoteUrl, type RemoteSpec } from "../../agent/src/source/remotes.js";
import { prepareRepo } from "../../agent/src/source/repo.js";
import { sourcePaths } from "../../agent/src/source/state.js";
import { runCli } from "../helpers/cli.js";
import { startFakeUploadPack, type FakeUploadPack } from "../helpers/fake-upload-pack.js";
import { bigBlobPack, tinyBlobPack } from "../helpers/pack-bytes.js";
import { makeKey, makeTempDir, removeDir, writeAllowedSigners } from "../helpers/keys.js";

const MiB = 1024 * 1024;
let dir: string;
let server: FakeUploadPack;
let trust: string;
let n = 0;

before(async () => {
  dir = makeTempDir();
  trust = writeAllowedSigners(join(dir, "etc", "allowed_signers"), [{ principal: "admin@cluster", key: makeKey(join(dir, "keys"), "admin") }]);
  const { tip, pack } = tinyBlobPack(1);
  server = await startFakeUploadPack({ tip, pack });
});

after(async () => {
  await server?.close();
  removeDir(dir);
});

function configFor(url: string, timeout: number): { config: string; state: string } {
  const state = join(dir, `state${n++}`);
  const config = join(dir, `steward${n}.yaml`);
  writeFileSync(config, ["node: alpha", `state: ${state}`, `trust: ${trust}`, `timeout: ${timeout}`, "remotes:", "  - name: origin", `    url: ${url}`, ""].join("\n"));
  return { config, state };
}

function packs(state: string): string[] {
  try {
    return readdirSync(join(sourcePaths(state).gitdir, "objects", "pack"));
  } catch {
    return [];
  }
}

const MAX_OBJECT = DEFAULT_PACK_LIMITS.maxObjectBytes - 1024;
const ROOM = DEFAULT_PACK_LIMITS.maxObjects - 100;

// The worst shapes found within the limits, and some past them: every one is refused (past a
// limit, or unsigned) within the deadline and under 256 MB for the whole process.
for (const c of [
  { name: "300,000 tiny objects (past the object limit)", make: () => tinyBlobPack(300_000) },
  { name: "tiny objects up to the object limit", make: () => tinyBlobPack(ROOM) },
  { name: "fifteen 4 MiB blobs of zeros and tiny objects up to the limits", make: () => bigBlobPack(15, MAX_OBJECT, false, ROOM) },
  { name: "three 4 MiB blobs that do not compress and tiny objects up to the limits", make: () => bigBlobPack(3, MAX_OBJECT, true, ROOM) },
  { name: "5 MiB of zeros in one blob (past the object limit)", make: () => bigBlobPack(1, 5 * MiB, false) },
  { name: "24 MiB that does not compress (past the response limit)", make: () => bigBlobPack(6, MAX_OBJECT, true) },
]) {
  test(`a hostile pack of ${c.name} is refused within the deadline, peak RSS under 256 MB, nothing fetched left behind`, async (t) => {
    server.set(c.make());
    const timeout = 20;
    const { config, state } = configFor(server.url, timeout);
    const started = performance.now();
    const r = await runCli(["fetch", "--config", config, "--json"], { measureRss: true, timeoutMs: 120_000 });
    const elapsed = performance.now() - started;
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout) as { decision: { kind: string }; remotes: { standing: string; error?: { code: string }; refused?: { code: string } }[] };
    assert.equal(out.decision.kind, "hold");
    const remote = out.remotes[0];
    assert.ok(remote?.error?.code === "SOURCE_PROTOCOL" || remote?.refused?.code === "SOURCE_UNSIGNED", JSON.stringify(remote));
    assert.ok(elapsed < timeout * 1000 + 5_000, `took ${Math.round(elapsed)} ms`);
    assert.ok(r.peakRssKiB !== undefined && r.peakRssKiB < 256 * 1024, `peak RSS ${r.peakRssKiB} KiB`);
    t.diagnostic(`peak RSS ${Math.round((r.peakRssKiB ?? 0) / 1024)} MiB, ${Math.round(elapsed)} ms`);
    if (remote?.error !== undefined) {
      assert.deepEqual(packs(state), []);
      assert.equal(await resolveOrUndefined(sourcePaths(state).gitdir, trackingRef("origin", "main")), undefined);
    }
  });
}

test("indexing counts inside the deadline: a pack that takes long to index is stopped at the timeout and undone", async () => {
  server.set(tinyBlobPack(80_000));
  const gitdir = join(dir, `repo${n++}.git`);
  const remote: RemoteSpec = { name: "origin", url: server.url, target: parseRemoteUrl(server.url), key: undefined, knownHosts: undefined };
  await prepareRepo(gitdir, [remote], "main");
  // A heap and object limit large enough that only the clock can stop it.
  const isolate = new FetchIsolate({ heapMib: 2048 });
  try {
    const started = performance.now();
    const o = await isolate.fetch(remote, { gitdir, cache: {}, branch: "main", timeoutMs: 1_000, packLimits: { ...DEFAULT_PACK_LIMITS, maxObjects: 1_000_000 } });
    const elapsed = performance.now() - started;
    assert.equal(o.ok ? "ok" : o.error.code, "SOURCE_TIMEOUT");
    assert.ok(elapsed < 4_000, `took ${Math.round(elapsed)} ms`);
  } finally {
    await isolate.close();
  }
  assert.deepEqual(readdirSync(join(gitdir, "objects", "pack")), []);
  assert.equal(await resolveOrUndefined(gitdir, trackingRef("origin", "main")), undefined);
});

test("a ref advertisement over 4 MiB is refused over HTTP as over ssh and local paths", async () => {
  const tip = "1".repeat(40);
  const big: Server = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { "content-type": "application/x-git-upload-pack-advertisement" });
    const pkt = (s: string): string => `${(s.length + 4).toString(16).padStart(4, "0")}${s}`;
    res.write(`${pkt("# service=git-upload-pack\n")}0000${pkt(`${tip} HEAD\0side-band-64k ofs-delta symref=HEAD:refs/heads/main\n`)}`);
    // 100,000 refs, about 7 MB, written in chunks.
    for (let i = 0; i < 100; i++) {
      let chunk = "";
      for (let j = 0; j < 1_000; j++) chunk += pkt(`${tip} refs/heads/branch-${i}-${j}\n`);
      res.write(chunk);
    }
    res.end("0000");
  });
  await new Promise<void>((resolve) => big.listen(0, "127.0.0.1", resolve));
  try {
    const url = `http://127.0.0.1:${(big.address() as { port: number }).port}/repo.git`;
    const { config } = configFor(url, 10);
    const r = await runCli(["fetch", "--config", config, "--json"]);
    assert.equal(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout) as { remotes: { error?: { code: string; data: { limit?: number } } }[] };
    assert.equal(out.remotes[0]?.error?.code, "SOURCE_PROTOCOL");
    assert.equal(out.remotes[0]?.error?.data.limit, 4 * MiB);
  } finally {
    big.closeAllConnections();
    await new Promise<void>((resolve) => big.close(() => resolve()));
  }
});
