/**
 * Fetching over the three transports against real servers on loopback: git http-backend
 * behind node's http server, sshd with git-shell, and `git upload-pack` on a local path.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { chmodSync, copyFileSync, readdirSync, writeFileSync } from "node:fs";
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

test("ssh with a key the server does not accept is SOURCE_AUTH naming the key", async () => {
  const stranger = makeKey(join(dir, "keys"), "stranger");
  const r = viaSsh(bare, { key: stranger.private });
  const o = await fetchRemote(r, await freshRepo([r]));
  assert.equal(code(o), "SOURCE_AUTH");
  assert.equal(!o.ok && o.error.data["key"], stranger.private);
  assert.match(String(!o.ok && o.error.data["ssh"]), /Permission denied/);
});

/** The fingerprint ssh-keygen -l prints for the first key of a file. */
function fingerprintOf(file: string): string {
  return execFileSync("ssh-keygen", ["-lf", file], { encoding: "utf8" }).split(" ")[1] as string;
}

test("a server whose host key changed is SOURCE_HOST_KEY naming the pinned and the offered fingerprint", async () => {
  const rotating = await startSshd(join(dir, "sshd-rotating"));
  try {
    const pinned = fingerprintOf(rotating.knownHosts);
    const r = remote("ssh", rotating.url(bare), { key: rotating.clientKey.private, knownHosts: rotating.knownHosts });
    assert.equal(code(await fetchRemote(r, await freshRepo([r]))), "ok");
    await rotating.rotateHostKey();
    const o = await fetchRemote(r, await freshRepo([r]));
    assert.equal(code(o), "SOURCE_HOST_KEY");
    const data = o.ok ? {} : o.error.data;
    assert.deepEqual(data["offered"], { type: "ED25519", fingerprint: fingerprintOf(rotating.hostKey.public) });
    assert.deepEqual(data["pinned"], [{ line: 1, type: "ssh-ed25519", fingerprint: pinned }]);
    assert.notEqual(pinned, fingerprintOf(rotating.hostKey.public));
    assert.match(String(data["ssh"]), /has changed/);
  } finally {
    await rotating.close();
  }
});

test("a host that known_hosts does not pin is SOURCE_HOST_KEY: an empty file, and one pinning another host", async () => {
  const empty = join(dir, "keys", "empty_known_hosts");
  writeFileSync(empty, "");
  const other = join(dir, "keys", "other_known_hosts");
  writeFileSync(other, `git.home.arpa ${makeKey(join(dir, "keys"), "gitserver").publicLine}\n`);
  for (const [file, pinnedHosts] of [[empty, []], [other, ["git.home.arpa"]]] as const) {
    const r = viaSsh(bare, { knownHosts: file });
    const o = await fetchRemote(r, await freshRepo([r]));
    assert.equal(code(o), "SOURCE_HOST_KEY", file);
    assert.deepEqual([o.ok || o.error.data["host"], o.ok || o.error.data["pinnedHosts"]], [`[127.0.0.1]:${sshd.port}`, pinnedHosts]);
    assert.match(String(!o.ok && o.error.hint), new RegExp(`ssh-keyscan -p ${sshd.port} 127\\.0\\.0\\.1`));
  }
});

test("a key file or known_hosts ssh cannot use is CONFIG_INVALID naming the file, before ssh runs", async () => {
  const keys = join(dir, "keys");
  const open = join(keys, "open_key");
  copyFileSync(sshd.clientKey.private, open);
  chmodSync(open, 0o644);
  const locked = makeKey(keys, "locked");
  execFileSync("ssh-keygen", ["-q", "-p", "-P", "", "-N", "secret", "-f", locked.private]);
  for (const [field, extra, path] of [
    ["key", { key: join(keys, "missing") }, join(keys, "missing")],
    ["key", { key: sshd.clientKey.public }, sshd.clientKey.public],
    ["key", { key: keys }, keys],
    ["key", { key: locked.private }, locked.private],
    ["key", { key: open }, open],
    ["known_hosts", { knownHosts: join(keys, "missing_known_hosts") }, join(keys, "missing_known_hosts")],
  ] as const) {
    const r = viaSsh(bare, extra);
    const o = await fetchRemote(r, await freshRepo([r]));
    assert.equal(code(o), "CONFIG_INVALID", path);
    assert.deepEqual([o.ok || o.error.data["field"], o.ok || o.error.data["path"]], [field, path]);
  }
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
