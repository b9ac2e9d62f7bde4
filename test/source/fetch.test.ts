/**
 * Fetching over the three transports against real servers on loopback: git http-backend
 * behind node's http server, sshd with git-shell, and `git upload-pack` on a local path.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readdirSync, writeFileSync } from "node:fs";
import { createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fetchRemote, trackingRef, resolveOrUndefined, type FetchOptions, type FetchOutcome } from "../../agent/src/source/fetch.js";
import { parseRemoteUrl, type RemoteSpec } from "../../agent/src/source/remotes.js";
import { prepareRepo } from "../../agent/src/source/repo.js";
import { startGitHttpServer, type GitHttpServer } from "../helpers/git-http-server.js";
import { WorkRepo, git, makeBare, makeKey, makeTempDir, removeDir } from "../helpers/keys.js";
import { freePort, startSshd, type Sshd } from "../helpers/sshd.js";

let dir: string;
let srv: string;
let bare: string;
let work: WorkRepo;
let http: GitHttpServer;
let sshd: Sshd;
let gitdirs = 0;

before(async () => {
  dir = makeTempDir();
  srv = join(dir, "srv");
  bare = makeBare(join(srv, "cluster.git"));
  makeBare(join(srv, "empty.git"));
  const other = makeBare(join(srv, "other.git"));
  // What `git init --bare` makes on Debian: HEAD names master, which will never exist.
  const debian = makeBare(join(srv, "debian.git"));
  git(debian, ["symbolic-ref", "HEAD", "refs/heads/master"]);
  work = WorkRepo.create(join(dir, "work"));
  work.write("cluster.yaml", "domain: home.arpa\n").commit("first");
  work.write("nodes/alpha.yaml", "arch: amd64\n").commit("second");
  work.push(bare).push(other, { branch: "other" }).push(debian);
  for (const b of ["feature-a", "feature-b", "feature-c", "feature-d", "feature-e", "release"]) work.push(other, { branch: b });
  http = await startGitHttpServer(srv);
  sshd = await startSshd(join(dir, "sshd"));
});

after(async () => {
  await http?.close();
  await sshd?.close();
  removeDir(dir);
});

function remote(name: string, url: string, extra: Partial<RemoteSpec> = {}): RemoteSpec {
  return { name, url, target: parseRemoteUrl(url), key: undefined, knownHosts: undefined, ...extra };
}
const viaHttp = (repo = "cluster.git"): RemoteSpec => remote("origin", http.url(repo));
const viaSsh = (path = bare, extra: Partial<RemoteSpec> = {}): RemoteSpec => remote("ssh", sshd.url(path), { key: sshd.clientKey.private, knownHosts: sshd.knownHosts, ...extra });
const viaLocal = (path = bare): RemoteSpec => remote("mirror", path);

async function freshRepo(remotes: readonly RemoteSpec[]): Promise<FetchOptions> {
  const gitdir = join(dir, "state", `repo${gitdirs++}.git`);
  await prepareRepo(gitdir, remotes, "main");
  return { gitdir, cache: {}, branch: "main", timeoutMs: 2_000 };
}

function packFiles(gitdir: string): string[] {
  return readdirSync(join(gitdir, "objects", "pack")).sort();
}

function code(o: FetchOutcome): string {
  return o.ok ? "ok" : o.error.code;
}

test("fetches the branch over http, ssh and a local path into each remote's tracking ref", async () => {
  const remotes = [viaHttp(), viaSsh(), viaLocal()];
  const options = await freshRepo(remotes);
  for (const r of remotes) {
    const o = await fetchRemote(r, options);
    assert.equal(code(o), "ok", r.name);
    assert.equal(o.ok && o.tip, work.head());
    assert.equal(await resolveOrUndefined(options.gitdir, trackingRef(r.name, "main")), work.head());
  }
});

for (const [kind, make] of [["http", viaHttp], ["ssh", viaSsh], ["local", viaLocal]] as const) {
  test(`a no-op fetch transfers no pack (${kind})`, async () => {
    const r = make();
    const options = await freshRepo([r]);
    const first = await fetchRemote(r, options);
    assert.equal(code(first), "ok");
    const packs = packFiles(options.gitdir);
    assert.equal(packs.length, 2);
    const again = await fetchRemote(r, options);
    assert.equal(code(again), "ok");
    assert.equal(again.ok && again.packBytes, 0);
    assert.deepEqual(packFiles(options.gitdir), packs);
  });
}

test("an incremental fetch adds one pack holding the new commit", async () => {
  const r = viaHttp();
  const options = await freshRepo([r]);
  await fetchRemote(r, options);
  const before = packFiles(options.gitdir).length;
  const next = work.write("services/mail.yaml", "node: alpha\n").commit("third");
  work.push(bare);
  const o = await fetchRemote(r, options);
  assert.equal(o.ok && o.tip, next);
  assert.equal(packFiles(options.gitdir).length, before + 2);
});

for (const fault of ["garbage", "truncated", "cut-pack"] as const) {
  test(`a ${fault} answer is SOURCE_PROTOCOL and leaves the tracking ref and packs as they were`, async () => {
    const r = viaHttp();
    const options = await freshRepo([r]);
    const old = await fetchRemote(r, options);
    assert.equal(code(old), "ok");
    const packs = packFiles(options.gitdir);
    // Several pkt-lines of incompressible pack data, so the cut falls inside the pack.
    work.write("files/blob.bin", randomBytes(200_000).toString("base64")).commit(`big for ${fault}`);
    work.push(bare);
    http.setFault(fault);
    try {
      const o = await fetchRemote(r, options);
      assert.equal(code(o), "SOURCE_PROTOCOL");
    } finally {
      http.setFault("none");
    }
    assert.equal(await resolveOrUndefined(options.gitdir, trackingRef("origin", "main")), old.ok ? old.tip : "");
    assert.deepEqual(packFiles(options.gitdir), packs);
    const recovered = await fetchRemote(r, options);
    assert.equal(recovered.ok && recovered.tip, work.head());
  });
}

test("an answer larger than the cap is SOURCE_PROTOCOL", async () => {
  const r = viaHttp();
  const options = await freshRepo([r]);
  assert.equal(code(await fetchRemote(r, { ...options, maxResponseBytes: 2_000 })), "SOURCE_PROTOCOL");
  const s = viaSsh();
  assert.equal(code(await fetchRemote(s, { ...(await freshRepo([s])), maxResponseBytes: 2_000 })), "SOURCE_PROTOCOL");
});

test("a 401 answer is SOURCE_AUTH", async () => {
  const r = viaHttp();
  const options = await freshRepo([r]);
  http.setFault("401");
  try {
    assert.equal(code(await fetchRemote(r, options)), "SOURCE_AUTH");
  } finally {
    http.setFault("none");
  }
});

test("a hung http server is SOURCE_TIMEOUT within the configured limit", async () => {
  const r = viaHttp();
  const options = await freshRepo([r]);
  http.setFault("hang");
  const started = performance.now();
  try {
    assert.equal(code(await fetchRemote(r, { ...options, timeoutMs: 1_000 })), "SOURCE_TIMEOUT");
  } finally {
    http.setFault("none");
  }
  assert.ok(performance.now() - started < 2_000, `took ${performance.now() - started} ms`);
});

test("a server that resets connections, and a closed port, are SOURCE_FETCH_FAILED", async () => {
  const r = viaHttp();
  const options = await freshRepo([r]);
  http.setFault("down");
  try {
    assert.equal(code(await fetchRemote(r, options)), "SOURCE_FETCH_FAILED");
  } finally {
    http.setFault("none");
  }
  const closed = remote("origin", `http://127.0.0.1:${await freePort()}/cluster.git`);
  assert.equal(code(await fetchRemote(closed, options)), "SOURCE_FETCH_FAILED");
  const closedSsh = remote("ssh", `ssh://root@127.0.0.1:${await freePort()}/x.git`, { knownHosts: sshd.knownHosts });
  assert.equal(code(await fetchRemote(closedSsh, await freshRepo([closedSsh]))), "SOURCE_FETCH_FAILED");
});

test("ssh with a key the server does not accept is SOURCE_AUTH", async () => {
  const r = viaSsh(bare, { key: makeKey(join(dir, "keys"), "stranger").private });
  assert.equal(code(await fetchRemote(r, await freshRepo([r]))), "SOURCE_AUTH");
});

test("ssh to a server whose host key is not the pinned one is SOURCE_AUTH", async () => {
  const other = makeKey(join(dir, "keys"), "otherhost");
  const pinned = join(dir, "keys", "wrong_known_hosts");
  writeFileSync(pinned, `[127.0.0.1]:${sshd.port} ${other.publicLine}\n`);
  const r = viaSsh(bare, { knownHosts: pinned });
  assert.equal(code(await fetchRemote(r, await freshRepo([r]))), "SOURCE_AUTH");
});

test("an ssh server that accepts and never speaks is SOURCE_TIMEOUT within the configured limit", async () => {
  const held = new Set<Socket>();
  const silent: Server = createServer((s) => held.add(s));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const port = (silent.address() as { port: number }).port;
  try {
    const r = remote("ssh", `ssh://root@127.0.0.1:${port}/x.git`, { key: sshd.clientKey.private, knownHosts: sshd.knownHosts });
    const started = performance.now();
    assert.equal(code(await fetchRemote(r, { ...(await freshRepo([r])), timeoutMs: 1_000 })), "SOURCE_TIMEOUT");
    assert.ok(performance.now() - started < 2_000);
  } finally {
    for (const s of held) s.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
});

test("a missing repository is SOURCE_NOT_FOUND over each transport", async () => {
  for (const r of [viaHttp("nosuch.git"), viaSsh(join(srv, "nosuch.git")), viaLocal(join(srv, "nosuch.git"))]) {
    assert.equal(code(await fetchRemote(r, await freshRepo([r]))), "SOURCE_NOT_FOUND", r.name);
  }
});

test("the branch is fetched by name when the remote's HEAD names a branch that does not exist", async () => {
  for (const r of [viaHttp("debian.git"), viaSsh(join(srv, "debian.git")), viaLocal(join(srv, "debian.git"))]) {
    const o = await fetchRemote(r, await freshRepo([r]));
    assert.equal(code(o), "ok", `${r.name}: ${o.ok ? "" : o.error.message}`);
    assert.equal(o.ok && o.tip, git(join(srv, "debian.git"), ["rev-parse", "refs/heads/main"]));
  }
});

test("a repository without the branch is SOURCE_NOT_FOUND naming some branches it has", async () => {
  for (const r of [viaHttp("other.git"), viaSsh(join(srv, "other.git")), viaLocal(join(srv, "other.git"))]) {
    const o = await fetchRemote(r, await freshRepo([r]));
    assert.equal(code(o), "SOURCE_NOT_FOUND", r.name);
    const data = o.ok ? {} : o.error.data;
    assert.deepEqual([data["branch"], data["branches"], data["branchCount"]], ["main", ["feature-a", "feature-b", "feature-c", "feature-d", "feature-e"], 7], r.name);
  }
});

test("a repository without the branch is SOURCE_NOT_FOUND, an empty one SOURCE_EMPTY", async () => {
  const other = viaHttp("other.git");
  assert.equal(code(await fetchRemote(other, await freshRepo([other]))), "SOURCE_NOT_FOUND");
  for (const r of [viaHttp("empty.git"), viaSsh(join(srv, "empty.git")), viaLocal(join(srv, "empty.git"))]) {
    assert.equal(code(await fetchRemote(r, await freshRepo([r]))), "SOURCE_EMPTY", r.name);
  }
});
