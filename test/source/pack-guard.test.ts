/**
 * The pack guard on real packs made by native git (`git pack-objects`), framed as upload-pack
 * responses, and end to end: a blob that inflates past the limit is refused over every
 * transport before isomorphic-git inflates it, and the tracking ref stays where it was.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fetchRemote, resolveOrUndefined, trackingRef, type FetchOptions } from "../../agent/src/source/fetch.js";
import { inspectUploadPackResponse } from "../../agent/src/source/pack-guard.js";
import { parseRemoteUrl, type RemoteSpec } from "../../agent/src/source/remotes.js";
import { prepareRepo } from "../../agent/src/source/repo.js";
import { startGitHttpServer, type GitHttpServer } from "../helpers/git-http-server.js";
import { WorkRepo, git, makeBare, makeTempDir, removeDir } from "../helpers/keys.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";

const MiB = 1024 * 1024;
let dir: string;
let bare: string;
let work: WorkRepo;
let http: GitHttpServer;
let sshd: Sshd;
let small: string;
let big: string;

before(async () => {
  dir = makeTempDir();
  bare = makeBare(join(dir, "srv", "cluster.git"));
  work = WorkRepo.create(join(dir, "work"));
  small = work.write("cluster.yaml", "domain: home.arpa\n").commit("small");
  // 4 MiB of zeros: a few KiB on the wire.
  big = work.write("files/zeros.bin", "\0".repeat(4 * MiB)).commit("big");
  work.push(bare);
  http = await startGitHttpServer(join(dir, "srv"));
  sshd = await startSshd(join(dir, "sshd"));
});

after(async () => {
  await http?.close();
  await sshd?.close();
  removeDir(dir);
});

/** A pack of everything reachable from `tip`, as upload-pack sends it in side-band pkt-lines. */
function response(tip: string, sideBand = true): Buffer {
  const objects = git(work.dir, ["rev-list", "--objects", tip]).split("\n").map((l) => l.split(" ")[0]).join("\n");
  const pack = execFileSync("git", ["pack-objects", "--stdout", "-q"], { cwd: work.dir, input: `${objects}\n` });
  const pkt = (payload: Buffer): Buffer => Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, "0")), payload]);
  if (!sideBand) return Buffer.concat([pkt(Buffer.from("NAK\n")), pack]);
  const frames = [pkt(Buffer.from("NAK\n"))];
  for (let i = 0; i < pack.length; i += 65515) frames.push(pkt(Buffer.concat([Buffer.from([1]), pack.subarray(i, i + 65515)])));
  return Buffer.concat([...frames, Buffer.from("0000")]);
}

for (const c of [
  { name: "a small pack passes", tip: () => small, limits: { maxObjectBytes: MiB, maxTotalBytes: 8 * MiB }, ok: true },
  { name: "a blob that inflates past the object limit is refused", tip: () => big, limits: { maxObjectBytes: MiB, maxTotalBytes: 64 * MiB }, ok: false },
  { name: "a pack that inflates past the total limit is refused", tip: () => big, limits: { maxObjectBytes: 8 * MiB, maxTotalBytes: 2 * MiB }, ok: false },
  { name: "the same pack passes under limits that fit it", tip: () => big, limits: { maxObjectBytes: 8 * MiB, maxTotalBytes: 64 * MiB }, ok: true },
]) {
  test(c.name, () => {
    assert.equal(inspectUploadPackResponse(response(c.tip()), c.limits).ok, c.ok);
    assert.equal(inspectUploadPackResponse(response(c.tip(), false), c.limits).ok, c.ok, "without side-band too");
  });
}

test("garbage and truncated responses are left for isomorphic-git to refuse", () => {
  const limits = { maxObjectBytes: MiB, maxTotalBytes: MiB };
  assert.equal(inspectUploadPackResponse(Buffer.from("this is not git"), limits).ok, true);
  const r = response(big);
  assert.equal(inspectUploadPackResponse(r.subarray(0, 40), limits).ok, true);
});

function remote(name: string, url: string, extra: Partial<RemoteSpec> = {}): RemoteSpec {
  return { name, url, target: parseRemoteUrl(url), key: undefined, knownHosts: undefined, ...extra };
}

let repos = 0;
async function fresh(r: RemoteSpec): Promise<FetchOptions> {
  const gitdir = join(dir, "state", `repo${repos++}.git`);
  await prepareRepo(gitdir, [r], "main");
  return { gitdir, cache: {}, branch: "main", timeoutMs: 5_000, packLimits: { maxObjectBytes: MiB, maxTotalBytes: 64 * MiB } };
}

test("a fetch whose pack would inflate too far fails with SOURCE_PROTOCOL over http, ssh and a local path", async () => {
  for (const r of [
    remote("origin", http.url("cluster.git")),
    remote("ssh", sshd.url(bare), { key: sshd.clientKey.private, knownHosts: sshd.knownHosts }),
    remote("mirror", bare),
  ]) {
    const options = await fresh(r);
    const o = await fetchRemote(r, options);
    assert.equal(o.ok ? "ok" : o.error.code, "SOURCE_PROTOCOL", r.name);
    assert.equal(await resolveOrUndefined(options.gitdir, trackingRef(r.name, "main")), undefined, `${r.name}: the ref did not move`);
  }
});
