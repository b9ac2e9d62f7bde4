/**
 * A hostile mirror (test/helpers/fake-upload-pack.ts) serving hand-built packs: a commit signed
 * by a key the repo removed from its trust, delivered without its parent's tree; `shallow`
 * lines nobody asked for; a failed fetch while another process adds a pack; more new history
 * than the completeness check walks. Each must be SOURCE_PROTOCOL and leave the repo as it was.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { AgentConfig } from "../../agent/src/config.js";
import { StewardError } from "../../agent/src/errors.js";
import { silentLogger } from "../../agent/src/log.js";
import { fetchRemote, resolveOrUndefined, trackingRef, type FetchOptions, type FetchOutcome } from "../../agent/src/source/fetch.js";
import { parseRemoteUrl, type RemoteSpec } from "../../agent/src/source/remotes.js";
import { prepareRepo, repoFs } from "../../agent/src/source/repo.js";
import { runSource } from "../../agent/src/source/source.js";
import { recordApplied } from "../../agent/src/source/state.js";
import { objectsBetween, packObjects, removedKeyHistory, startFakeUploadPack, type FakeUploadPack } from "../helpers/fake-upload-pack.js";
import { WorkRepo, makeTempDir, removeDir } from "../helpers/keys.js";

let dir: string;
let work: WorkRepo;
let server: FakeUploadPack;
let bootstrap: string;
let L: string;
let C1: string;
let C2: string;
let fullL: Buffer;
let evil: Buffer;
let n = 0;

before(async () => {
  dir = makeTempDir();
  // The node's bootstrap file still lists the key the repo has since removed.
  ({ work, bootstrap, L, C1, C2, packWithoutC1Tree: evil } = removedKeyHistory(dir));
  fullL = packObjects(join(work.dir, ".git"), objectsBetween(join(work.dir, ".git"), L));
  server = await startFakeUploadPack({ tip: L, pack: fullL });
});

after(async () => {
  await server?.close();
  removeDir(dir);
});

const mirror = (): RemoteSpec => ({ name: "mirror", url: server.url, target: parseRemoteUrl(server.url), key: undefined, knownHosts: undefined });

/** A fresh repository that has fetched L from the mirror. */
async function repoWithL(): Promise<FetchOptions> {
  const gitdir = join(dir, `state${n++}`, "source", "repo.git");
  await prepareRepo(gitdir, [mirror()], "main");
  const options: FetchOptions = { gitdir, cache: {}, branch: "main", timeoutMs: 5_000 };
  server.set({ tip: L, pack: fullL });
  assert.equal(code(await fetchRemote(mirror(), options)), "ok");
  return options;
}

const code = (o: FetchOutcome): string => (o.ok ? "ok" : o.error.code);
const packs = (gitdir: string): string[] => readdirSync(join(gitdir, "objects", "pack")).sort();

test("a pack that leaves out a new commit's tree is SOURCE_PROTOCOL; ref and packs stay as they were", async () => {
  const options = await repoWithL();
  const before = packs(options.gitdir);
  server.set({ tip: C2, pack: evil });
  assert.equal(code(await fetchRemote(mirror(), options)), "SOURCE_PROTOCOL");
  assert.equal(await resolveOrUndefined(options.gitdir, trackingRef("mirror", "main")), L);
  assert.deepEqual(packs(options.gitdir), before);
});

test("a commit signed by a removed key, whose parent's tree the mirror withholds, is never chosen", async () => {
  const state = join(dir, `state${n++}`);
  const config: AgentConfig = { file: join(state, "steward.yaml"), node: "alpha", state, branch: "main", trust: bootstrap, timeout: 5, interval: 60, heartbeat: 900, remotes: [mirror()] };
  server.set({ tip: L, pack: fullL });
  const first = await runSource(config, { log: silentLogger });
  assert.equal(first.decision.kind, "apply", JSON.stringify(first.decision));
  await recordApplied(state, L);
  server.set({ tip: C2, pack: evil });
  const second = await runSource(config, { log: silentLogger });
  assert.equal(second.decision.kind, "hold", JSON.stringify(second.decision));
  assert.equal(second.decision.kind === "hold" && second.decision.revision, L);
  assert.equal(second.remotes[0]?.error?.code, "SOURCE_PROTOCOL");
});

test("shallow lines in a full fetch are SOURCE_PROTOCOL and never reach <gitdir>/shallow", async () => {
  const options = await repoWithL();
  const before = packs(options.gitdir);
  const gitDir = join(work.dir, ".git");
  server.set({ tip: C2, pack: packObjects(gitDir, objectsBetween(gitDir, C2, L)), shallow: [C1] });
  assert.equal(code(await fetchRemote(mirror(), options)), "SOURCE_PROTOCOL");
  assert.equal(existsSync(join(options.gitdir, "shallow")), false);
  assert.equal(await resolveOrUndefined(options.gitdir, trackingRef("mirror", "main")), L);
  assert.deepEqual(packs(options.gitdir), before);
  // The same answer without the lies is fetched.
  server.set({ tip: C2, pack: packObjects(gitDir, objectsBetween(gitDir, C2, L)) });
  assert.equal(code(await fetchRemote(mirror(), options)), "ok");
});

test("the repository's file system refuses to write a shallow file, behind the pack guard that refuses shallow lines", async () => {
  const options = await repoWithL();
  await assert.rejects(repoFs.promises.writeFile(join(options.gitdir, "shallow"), `${C1}\n`), (e: unknown) => e instanceof StewardError && e.code === "SOURCE_PROTOCOL");
  assert.equal(existsSync(join(options.gitdir, "shallow")), false);
});

test("prepareRepo removes a stray shallow file", async () => {
  const options = await repoWithL();
  writeFileSync(join(options.gitdir, "shallow"), `${L}\n`);
  await prepareRepo(options.gitdir, [mirror()], "main");
  assert.equal(existsSync(join(options.gitdir, "shallow")), false);
});

test("a failed fetch removes only the pack it wrote, not one another process added meanwhile", async () => {
  const options = await repoWithL();
  const foreign = join(options.gitdir, "objects", "pack", `pack-${"ab".repeat(20)}.pack`);
  server.onUploadPack(() => writeFileSync(foreign, "another process's pack"));
  // A well-formed pack that lacks C1's tree: the pack guard passes it, isomorphic-git writes
  // it, and fetch.ts refuses it afterwards. (A pack with a wrong trailer no longer gets that far.)
  try {
    server.set({ tip: C2, pack: evil });
    assert.equal(code(await fetchRemote(mirror(), options)), "SOURCE_PROTOCOL");
  } finally {
    server.onUploadPack(undefined);
  }
  assert.equal(existsSync(foreign), true);
  const evilName = `pack-${evil.subarray(evil.length - 20).toString("hex")}`;
  assert.deepEqual(packs(options.gitdir).filter((f) => f.startsWith(evilName)), []);
});

test("more new commits than the completeness check walks is SOURCE_PROTOCOL, not a silent pass", async () => {
  const options = await repoWithL();
  const gitDir = join(work.dir, ".git");
  server.set({ tip: C2, pack: packObjects(gitDir, objectsBetween(gitDir, C2, L)) });
  assert.equal(code(await fetchRemote(mirror(), { ...options, maxWalk: 1 })), "SOURCE_PROTOCOL");
  assert.equal(await resolveOrUndefined(options.gitdir, trackingRef("mirror", "main")), L);
  assert.equal(code(await fetchRemote(mirror(), options)), "ok");
});
