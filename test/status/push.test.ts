/**
 * Pushing status branches to real servers on loopback: git http-backend with receive-pack
 * enabled (REMOTE_USER), sshd with git-shell, and bare repositories on a local path. The
 * server checks the signature with native git; a server that is down gets the queued reports
 * later, in order, from a new process; a branch that moved gets the reports rebuilt on it.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { promisify } from "node:util";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { silentLogger } from "../../agent/src/log.js";
import type { RemoteSpec } from "../../agent/src/source/remotes.js";
import { resolveOrUndefined } from "../../agent/src/source/repo.js";
import { pushedRef, statusRef, type StatusRepo } from "../../agent/src/status/commit.js";
import { pendingFor, pushStatus, type PushContext, type PushOutcome } from "../../agent/src/status/push.js";
import { sshSigner, type Signer } from "../../agent/src/status/sign.js";
import { startGitHttpServer, type GitHttpServer } from "../helpers/git-http-server.js";
import { WorkRepo, git, makeBare, makeKey, makeTempDir, removeDir, type SshKey } from "../helpers/keys.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";
import { MINUTE, T0, configureServerRepo, heartbeatsOn, logOf, newRepo, remote, report, verifyCommit } from "../helpers/status.js";

let dir: string;
let srv: string;
let key: SshKey;
let signer: Signer;
let cluster: WorkRepo;
let http: GitHttpServer;
let sshd: Sshd;
let states = 0;
const execFileAsync = promisify(execFile);

before(async () => {
  dir = makeTempDir();
  srv = join(dir, "srv");
  key = makeKey(dir, "alpha");
  signer = sshSigner(key.private);
  cluster = WorkRepo.create(join(dir, "cluster"));
  cluster.write("cluster.yaml", "domain: home.arpa\n").commit("the cluster");
  http = await startGitHttpServer(srv, { remoteUser: "alpha" });
  sshd = await startSshd(join(dir, "sshd"));
});

after(async () => {
  await http?.close();
  await sshd?.close();
  removeDir(dir);
});

/**
 * A server repository under srv/ as a cluster repo is: a bare repository with `main` (so HEAD
 * resolves), refusing rewrites and deletions.
 */
function serverRepo(name: string): string {
  const path = makeBare(join(srv, name));
  configureServerRepo(path);
  cluster.push(path);
  return path;
}

const viaHttp = (name: string, server = http): RemoteSpec => remote("origin", server.url(name));
const viaSsh = (name: string): RemoteSpec => remote("ssh", sshd.url(join(srv, name)), { key: sshd.clientKey.private, knownHosts: sshd.knownHosts });
const viaLocal = (name: string, as = "mirror"): RemoteSpec => remote(as, join(srv, name));

async function node(remotes: readonly RemoteSpec[]): Promise<{ repo: StatusRepo; ctx: PushContext; remotes: readonly RemoteSpec[] }> {
  const repo = await newRepo(join(dir, `state${states++}`), remotes);
  return { repo, ctx: { repo, signer, timeoutMs: 10_000, log: silentLogger }, remotes };
}

function statuses(outcomes: readonly PushOutcome[]): string[] {
  return outcomes.map((o) => (o.status === "failed" ? `${o.remote}:failed:${o.error.code}` : `${o.remote}:${o.status}`));
}

const serverTip = (bare: string): string => git(bare, ["rev-parse", "refs/heads/status/alpha"]);
const signers = (): { principal: string; key: SshKey }[] => [{ principal: "alpha@steward", key }];

test("pushes over http, ssh and a local path; each server verifies the signature; a second push contacts nobody", async () => {
  const bares = ["p-http.git", "p-ssh.git", "p-local.git"].map(serverRepo);
  const n = await node([viaHttp("p-http.git"), viaSsh("p-ssh.git"), viaLocal("p-local.git")]);
  const { write } = await report(n.repo, signer, T0);
  const first = await pushStatus(n.remotes, n.ctx);
  assert.deepEqual(statuses(first), ["origin:pushed", "ssh:pushed", "mirror:pushed"]);
  for (const bare of bares) {
    assert.equal(serverTip(bare), write.oid, bare);
    const v = verifyCommit(bare, write.oid as string, signers(), dir);
    assert.equal(v.code, 0, `${bare}: ${v.output}`);
  }
  for (const r of n.remotes) assert.equal(await resolveOrUndefined(n.repo.gitdir, pushedRef(r.name)), write.oid);
  const requests = http.requests;
  assert.deepEqual(statuses(await pushStatus(n.remotes, n.ctx)), ["origin:up-to-date", "ssh:up-to-date", "mirror:up-to-date"]);
  assert.equal(http.requests, requests);
});

test("a server that is down: the reports queue locally and go out later, in order, from a new process", async () => {
  const bare = serverRepo("q.git");
  const down = await startGitHttpServer(srv, { remoteUser: "alpha" });
  try {
    down.setFault("down");
    const n = await node([viaHttp("q.git", down)]);
    const written: string[] = [];
    for (const [i, services] of [["postfix"], ["postfix", "dovecot"], ["dovecot"]].entries()) {
      const { doc } = await report(n.repo, signer, T0 + i * MINUTE, services);
      written.push(doc.heartbeat);
      const [outcome] = await pushStatus(n.remotes, n.ctx);
      assert.ok(outcome?.status === "failed" && outcome.error.code === "STATUS_PUSH" && outcome.error.retry === "transient", JSON.stringify(outcome));
      assert.equal(outcome.pending, i + 1);
    }
    assert.equal(spawnSync("git", ["-C", bare, "rev-parse", "--verify", "-q", "refs/heads/status/alpha"]).status, 1);

    // A restart: another process, with nothing but the state directory, pushes the queue.
    down.setFault("none");
    const script = `
      const [statusJs, signJs, logJs, remotesJs] = process.argv.slice(1, 5);
      const { pushStatus } = await import(statusJs);
      const { sshSigner } = await import(signJs);
      const { silentLogger } = await import(logJs);
      const { parseRemoteUrl } = await import(remotesJs);
      const [gitdir, url, key] = process.argv.slice(5);
      const remotes = [{ name: "origin", url, target: parseRemoteUrl(url), key: undefined, knownHosts: undefined }];
      const outcomes = await pushStatus(remotes, { repo: { gitdir, node: "alpha", cache: {} }, signer: sshSigner(key), timeoutMs: 10000, log: silentLogger });
      process.stdout.write(JSON.stringify(outcomes));`;
    const mod = (rel: string): string => fileURLToPath(new URL(rel, import.meta.url));
    // Asynchronously: the server answers from this process's event loop.
    const child = await execFileAsync(process.execPath, ["--input-type=module", "-e", script, mod("../../agent/src/status/push.js"), mod("../../agent/src/status/sign.js"), mod("../../agent/src/log.js"), mod("../../agent/src/source/remotes.js"), n.repo.gitdir, down.url("q.git"), key.private], { encoding: "utf8" });
    const outcomes = JSON.parse(child.stdout) as PushOutcome[];
    assert.deepEqual(outcomes.map((o) => [o.status, o.status === "pushed" ? o.commits : -1]), [["pushed", 3]]);
    assert.deepEqual(heartbeatsOn(bare, "alpha"), written);
    for (const oid of logOf(bare, "refs/heads/status/alpha")) assert.equal(verifyCommit(bare, oid, signers(), dir).code, 0);
    assert.equal(await pendingFor(n.repo, "origin"), 0);
  } finally {
    await down.close();
  }
});

test("a remote whose branch moved gets the reports rebuilt on its tip, never forced, and the node follows it", async () => {
  const bare = serverRepo("moved.git");
  const n = await node([viaLocal("moved.git", "origin")]);
  const r1 = await report(n.repo, signer, T0, ["postfix"]);
  assert.deepEqual(statuses(await pushStatus(n.remotes, n.ctx)), ["origin:pushed"]);
  // Someone else writes the branch: an admin's note on top of the node's report.
  const work = WorkRepo.create(join(dir, "note-work"));
  git(work.dir, ["fetch", "-q", bare, "refs/heads/status/alpha"]);
  work.checkout(["-q", "FETCH_HEAD"]).write("NOTE", "disk replaced on 2025-01-01\n");
  const note = work.commit("note from an admin");
  work.push(bare, { branch: "status/alpha" });
  const r2 = await report(n.repo, signer, T0 + MINUTE, ["postfix", "dovecot"]);
  const [outcome] = await pushStatus(n.remotes, n.ctx);
  assert.ok(outcome?.status === "pushed" && outcome.rebuilt && outcome.commits === 1, JSON.stringify(outcome));
  const tip = serverTip(bare);
  assert.notEqual(tip, r2.write.oid);
  assert.deepEqual(logOf(bare, "refs/heads/status/alpha", "%H"), [tip, note, r1.write.oid]);
  assert.equal(git(bare, ["rev-parse", `${tip}^{tree}`]), git(n.repo.gitdir, ["rev-parse", `${r2.write.oid as string}^{tree}`]));
  assert.equal(verifyCommit(bare, tip, signers(), dir).code, 0);
  // The node's branch now continues the remote's line: the next report is a plain fast-forward.
  assert.equal(await resolveOrUndefined(n.repo.gitdir, statusRef("alpha")), tip);
  await report(n.repo, signer, T0 + 2 * MINUTE, ["dovecot"]);
  const [next] = await pushStatus(n.remotes, n.ctx);
  assert.ok(next?.status === "pushed" && !next.rebuilt && next.commits === 1, JSON.stringify(next));
});

test("two remotes on different lines each get every report once", async () => {
  const [a, b] = [serverRepo("line-a.git"), serverRepo("line-b.git")];
  const n = await node([viaLocal("line-a.git", "a"), viaLocal("line-b.git", "b")]);
  await report(n.repo, signer, T0, ["r1"]);
  assert.deepEqual(statuses(await pushStatus(n.remotes, n.ctx)), ["a:pushed", "b:pushed"]);
  const work = WorkRepo.create(join(dir, "line-work"));
  git(work.dir, ["fetch", "-q", b, "refs/heads/status/alpha"]);
  work.checkout(["-q", "FETCH_HEAD"]).write("NOTE", "b only\n").commit("note on b");
  work.push(b, { branch: "status/alpha" });
  for (const [i, s] of ["r2", "r3", "r4"].entries()) {
    await report(n.repo, signer, T0 + (i + 1) * MINUTE, [s]);
    const outcomes = await pushStatus(n.remotes, n.ctx);
    assert.deepEqual(outcomes.map((o) => (o.status === "pushed" ? `${o.remote}:${o.commits}:${o.rebuilt}` : `${o.remote}:${o.status}`)), ["a:1:false", "b:1:true"], s);
  }
  // Each report by the service it names; the admin's note by its subject.
  const reports = (bare: string): string[] =>
    logOf(bare, "refs/heads/status/alpha", "%H %s").map((l) => {
      const [oid, subject] = [l.slice(0, 40), l.slice(41)];
      if (subject.startsWith("note")) return "note";
      assert.equal(verifyCommit(bare, oid, signers(), dir).code, 0, `${bare} ${oid}`);
      return /service: (\w+)/.exec(git(bare, ["show", `${oid}:status/alpha.yaml`]))?.[1] ?? "?";
    });
  assert.deepEqual(reports(a), ["r4", "r3", "r2", "r1"]);
  assert.deepEqual(reports(b), ["r4", "r3", "r2", "note", "r1"]);
});

test("a server that refuses is STATUS_PUSH_DENIED: a declining hook, receive-pack off over HTTP, no such repository", async () => {
  const hooked = serverRepo("hooked.git");
  writeFileSync(join(hooked, "hooks", "pre-receive"), "#!/bin/sh\necho 'alpha may not push here' >&2\nexit 1\n");
  chmodSync(join(hooked, "hooks", "pre-receive"), 0o755);
  serverRepo("anon.git");
  const anonymous = await startGitHttpServer(srv);
  try {
    const n = await node([viaLocal("hooked.git", "hooked"), remote("anon", anonymous.url("anon.git")), remote("nosuch", sshd.url(join(srv, "nosuch.git")), { key: sshd.clientKey.private, knownHosts: sshd.knownHosts })]);
    await report(n.repo, signer, T0);
    const outcomes = await pushStatus(n.remotes, n.ctx);
    assert.deepEqual(statuses(outcomes), ["hooked:failed:STATUS_PUSH_DENIED", "anon:failed:STATUS_PUSH_DENIED", "nosuch:failed:STATUS_PUSH_DENIED"]);
    for (const o of outcomes) assert.ok(o.status === "failed" && o.error.retry === "stalled" && o.pending === 1, JSON.stringify(o));
    const hook = outcomes[0];
    assert.ok(hook?.status === "failed" && /pre-receive hook declined/.test(String(hook.error.data["refs"])), JSON.stringify(hook));
    assert.equal(spawnSync("git", ["-C", hooked, "rev-parse", "--verify", "-q", "refs/heads/status/alpha"]).status, 1);
  } finally {
    await anonymous.close();
  }
});

test("1,000 no-change heartbeats with a remote that takes them push one commit per interval", async () => {
  const bare = serverRepo("beat.git");
  const n = await node([viaLocal("beat.git", "origin")]);
  let pushed = 0;
  for (let i = 0; i < 1000; i++) {
    const { write } = await report(n.repo, signer, T0 + i * MINUTE, ["postfix"], 60 * MINUTE);
    // The agent pushes every run; a run that wrote nothing finds every marker at the tip.
    if (write.action === "skipped" && i % 100 !== 0) continue;
    for (const o of await pushStatus(n.remotes, n.ctx)) if (o.status === "pushed") pushed += o.commits;
  }
  assert.equal(pushed, 17);
  assert.equal(logOf(bare, "refs/heads/status/alpha").length, 17);
  assert.equal(await pendingFor(n.repo, "origin"), 0);
});

test("a server that accepts and never answers is STATUS_PUSH (SOURCE_TIMEOUT) within the deadline", async () => {
  serverRepo("hang.git");
  const hanging = await startGitHttpServer(srv, { remoteUser: "alpha" });
  try {
    hanging.setFault("hang");
    const n = await node([viaHttp("hang.git", hanging)]);
    await report(n.repo, signer, T0);
    const started = performance.now();
    const [outcome] = await pushStatus(n.remotes, { ...n.ctx, timeoutMs: 500 });
    assert.ok(performance.now() - started < 5_000);
    assert.ok(outcome?.status === "failed" && outcome.error.code === "STATUS_PUSH" && outcome.error.data["cause"] === "SOURCE_TIMEOUT" && outcome.pending === 1, JSON.stringify(outcome));
  } finally {
    await hanging.close();
  }
});
