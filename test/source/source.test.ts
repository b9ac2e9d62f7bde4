/**
 * The source step end to end (runSource): a primary served by git http-backend (or sshd), a
 * mirror on a local path, commits signed by native git, and every attack of docs/architecture.md,
 * "Trust and threats", the agent must refuse. Each test builds its own repositories and state directory.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { AgentConfig } from "../../agent/src/config.js";
import { silentLogger } from "../../agent/src/log.js";
import type { Decision } from "../../agent/src/source/choose.js";
import { parseRemoteUrl, type RemoteSpec } from "../../agent/src/source/remotes.js";
import { runSource, type SourceResult } from "../../agent/src/source/source.js";
import { recordApplied, sourcePaths } from "../../agent/src/source/state.js";
import { startGitHttpServer, type GitHttpServer } from "../helpers/git-http-server.js";
import { WorkRepo, allowedSigners, git, makeBare, makeKey, makeTempDir, removeDir, writeAllowedSigners, type SshKey } from "../helpers/keys.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";

let root: string;
let srv: string;
let http: GitHttpServer;
let sshd: Sshd;
let admin: SshKey;
let admin2: SshKey;
let intruder: SshKey;
let bootstrap: string;
let worlds = 0;

before(async () => {
  root = makeTempDir();
  srv = join(root, "srv");
  mkdirSync(srv);
  admin = makeKey(join(root, "keys"), "admin");
  admin2 = makeKey(join(root, "keys"), "admin2");
  intruder = makeKey(join(root, "keys"), "intruder");
  bootstrap = writeAllowedSigners(join(root, "etc", "allowed_signers"), [{ principal: "admin@cluster", key: admin }]);
  http = await startGitHttpServer(srv);
  sshd = await startSshd(join(root, "sshd"));
});

after(async () => {
  await http?.close();
  await sshd?.close();
  removeDir(root);
});

interface World {
  readonly dir: string;
  readonly primary: string;
  readonly mirror: string;
  readonly work: WorkRepo;
  readonly config: AgentConfig;
  /** Runs the source step, and with `record`, records the chosen revision as applied. */
  run(record?: boolean): Promise<SourceResult>;
  /** Pushes the work repo's HEAD to the primary, the mirror, or both. */
  push(to: "both" | "primary" | "mirror", force?: boolean): void;
}

function spec(name: string, url: string, extra: Partial<RemoteSpec> = {}): RemoteSpec {
  return { name, url, target: parseRemoteUrl(url), key: undefined, knownHosts: undefined, ...extra };
}

const TRUST_ADMIN = (): string => allowedSigners([{ principal: "admin@cluster", key: admin }]);

function world(options: { primaryVia?: "http" | "ssh" } = {}): World {
  const n = worlds++;
  const dir = join(root, `w${n}`);
  const primary = makeBare(join(srv, `p${n}.git`));
  const mirror = makeBare(join(dir, "mirror.git"));
  const work = WorkRepo.create(join(dir, "work"));
  const origin = options.primaryVia === "ssh" ? spec("origin", sshd.url(primary), { key: sshd.clientKey.private, knownHosts: sshd.knownHosts }) : spec("origin", http.url(`p${n}.git`));
  const config: AgentConfig = { file: join(dir, "steward.yaml"), node: "alpha", state: join(dir, "state"), branch: "main", trust: bootstrap, timeout: 2, interval: 60, heartbeat: 900, remotes: [origin, spec("mirror", mirror)] };
  // One push updates both servers (two push URLs), to keep process start-ups down.
  git(work.dir, ["remote", "add", "both", primary]);
  git(work.dir, ["remote", "set-url", "--add", "--push", "both", primary]);
  git(work.dir, ["remote", "set-url", "--add", "--push", "both", mirror]);
  return {
    dir,
    primary,
    mirror,
    work,
    config,
    async run(record = false) {
      const r = await runSource(config, { log: silentLogger });
      if (record && r.decision.kind !== "hold") await recordApplied(config.state, r.decision.revision);
      return r;
    },
    push(to, force = false) {
      if (to === "both") git(work.dir, ["push", "-q", ...(force ? ["--force"] : []), "both", "HEAD:refs/heads/main"]);
      else work.push(to === "primary" ? primary : mirror, { force });
    },
  };
}

/**
 * A world whose first signed commit A (with the repo trust file) is on both servers and
 * recorded as applied, as the apply step would have done after a first run (the first run
 * itself is exercised by the first test); the next run fetches A with what follows it.
 */
async function appliedWorld(options: { trust?: string; primaryVia?: "http" | "ssh" } = {}): Promise<World & { a: string }> {
  const w = world(options);
  w.work.write("cluster.yaml", "domain: home.arpa\n").write("trust/allowed_signers", options.trust ?? TRUST_ADMIN());
  const a = w.work.commit("A", { signer: admin });
  w.push("both");
  await recordApplied(w.config.state, a);
  return { ...w, a };
}

function expectHold(d: Decision, code: string, revision: string | undefined): void {
  assert.equal(d.kind, "hold", JSON.stringify(d));
  if (d.kind !== "hold") return;
  assert.equal(d.reason.code, code, JSON.stringify(d.reason));
  assert.equal(d.revision, revision);
}

function packCount(w: World): number {
  return readdirSync(join(sourcePaths(w.config.state).gitdir, "objects", "pack")).length;
}

test("update: the first signed tip is applied, then a new signed commit, then nothing changes and no pack is written", async () => {
  const w = world();
  w.work.write("cluster.yaml", "domain: home.arpa\n").write("trust/allowed_signers", TRUST_ADMIN());
  const a = w.work.commit("A", { signer: admin });
  w.push("both");
  assert.deepEqual((await w.run(true)).decision, { kind: "apply", revision: a, remote: "origin" });
  const b = w.work.write("nodes/alpha.yaml", "arch: amd64\n").commit("B", { signer: admin });
  w.push("both");
  const r = await w.run(true);
  assert.deepEqual(r.decision, { kind: "apply", revision: b, remote: "origin" });
  assert.equal(r.verification?.ok && r.verification.commits, 1);
  assert.deepEqual(r.remotes.map((x) => [x.name, x.ok, x.tip]), [["origin", true, b], ["mirror", true, b]]);
  const packs = packCount(w);
  assert.deepEqual((await w.run()).decision, { kind: "unchanged", revision: b });
  assert.equal(packCount(w), packs);
});

test("update over ssh: the primary reached through sshd and git-shell", async () => {
  const w = await appliedWorld({ primaryVia: "ssh" });
  const b = w.work.write("nodes/alpha.yaml", "arch: arm64\n").commit("B", { signer: admin });
  w.push("primary");
  assert.deepEqual((await w.run()).decision, { kind: "apply", revision: b, remote: "origin" });
});

test("primary down: the mirror's signed tip is applied and the primary's failure is reported", async () => {
  const w = await appliedWorld();
  const b = w.work.commit("B", { signer: admin });
  w.push("both");
  http.setFault("down");
  let r: SourceResult;
  try {
    r = await w.run();
  } finally {
    http.setFault("none");
  }
  assert.deepEqual(r.decision, { kind: "apply", revision: b, remote: "mirror" });
  assert.equal(r.remotes[0]?.error?.code, "SOURCE_FETCH_FAILED");
});

test("stale mirror: the primary's newer tip is applied", async () => {
  const w = await appliedWorld();
  const b = w.work.commit("B", { signer: admin });
  w.push("primary");
  const r = await w.run();
  assert.deepEqual(r.decision, { kind: "apply", revision: b, remote: "origin" });
  assert.equal(r.remotes[1]?.tip, w.a);
});

test("every remote down: the last applied revision is held with each remote's error", async () => {
  const w = await appliedWorld();
  removeDir(w.mirror);
  http.setFault("hang");
  let r: SourceResult;
  try {
    r = await w.run();
  } finally {
    http.setFault("none");
  }
  expectHold(r.decision, "SOURCE_FETCH_FAILED", w.a);
  assert.deepEqual(r.remotes.map((x) => x.error?.code), ["SOURCE_TIMEOUT", "SOURCE_NOT_FOUND"]);
});

test("a mirror ahead with an unsigned commit is refused, though the primary's older tip is fine", async () => {
  const w = await appliedWorld();
  w.work.commit("B unsigned");
  w.push("mirror");
  const r = await w.run();
  expectHold(r.decision, "SOURCE_UNSIGNED", w.a);
});

test("a mirror with a commit signed by an untrusted key is refused", async () => {
  const w = await appliedWorld();
  w.work.commit("B by intruder", { signer: intruder });
  w.push("mirror");
  expectHold((await w.run()).decision, "SOURCE_UNTRUSTED", w.a);
});

test("a commit whose signature does not match its content is refused", async () => {
  const w = await appliedWorld();
  const b = w.work.commit("B", { signer: admin });
  const raw = execFileSync("git", ["cat-file", "commit", b], { cwd: w.work.dir }).toString("utf8").replace("\nB\n", "\nB altered\n");
  const forged = execFileSync("git", ["hash-object", "-t", "commit", "-w", "--stdin"], { cwd: w.work.dir, input: raw }).toString().trim();
  w.work.resetHard(forged);
  w.push("both");
  expectHold((await w.run()).decision, "SOURCE_BAD_SIGNATURE", w.a);
});

test("a force-pushed older signed commit is a refused rollback", async () => {
  const w = await appliedWorld();
  const b = w.work.commit("B", { signer: admin });
  w.push("both");
  assert.equal((await w.run(true)).decision.kind, "apply");
  w.work.resetHard(w.a);
  w.push("both", true);
  const behind = await w.run();
  expectHold(behind.decision, "SOURCE_ROLLBACK", b);
  const sibling = w.work.commit("B' rewritten", { signer: admin });
  w.push("both", true);
  const rewritten = await w.run();
  expectHold(rewritten.decision, "SOURCE_ROLLBACK", b);
  assert.equal(rewritten.decision.kind === "hold" && rewritten.decision.reason.data["tip"], sibling);
});

test("diverged remotes are refused even when both tips are validly signed", async () => {
  const w = await appliedWorld();
  w.work.commit("B", { signer: admin });
  w.push("primary");
  w.work.resetHard(w.a);
  w.work.commit("B'", { signer: admin });
  w.push("mirror");
  expectHold((await w.run()).decision, "SOURCE_DIVERGED", w.a);
});

test("an unsigned commit hidden behind a signed tip is refused", async () => {
  const w = await appliedWorld();
  const hidden = w.work.commit("B unsigned");
  w.work.commit("C signed", { signer: admin });
  w.push("both");
  const r = await w.run();
  expectHold(r.decision, "SOURCE_UNSIGNED", w.a);
  assert.equal(r.decision.kind === "hold" && r.decision.reason.data["commit"], hidden);
});

test("a trust change signed by a trusted key is accepted, and the new key may sign after it", async () => {
  const w = await appliedWorld();
  w.work.write("trust/allowed_signers", allowedSigners([{ principal: "admin@cluster", key: admin }, { principal: "admin2@cluster", key: admin2 }])).commit("B adds admin2", { signer: admin });
  const c = w.work.write("services/mail.yaml", "node: alpha\n").commit("C by admin2", { signer: admin2 });
  w.push("both");
  const r = await w.run();
  assert.deepEqual(r.decision, { kind: "apply", revision: c, remote: "origin" });
  assert.equal(r.verification?.ok && r.verification.commits, 2);
});

test("a self-authorising trust change is refused: the commit is judged by the trust before it", async () => {
  const w = await appliedWorld();
  const b = w.work.write("trust/allowed_signers", allowedSigners([{ principal: "admin@cluster", key: admin }, { principal: "evil@cluster", key: intruder }])).commit("B adds itself", { signer: intruder });
  w.push("both");
  const r = await w.run();
  expectHold(r.decision, "SOURCE_UNTRUSTED", w.a);
  assert.equal(r.decision.kind === "hold" && r.decision.reason.data["commit"], b);
});

test("a key removed from the repo's trust cannot sign after the removal", async () => {
  const w = await appliedWorld({ trust: allowedSigners([{ principal: "admin@cluster", key: admin }, { principal: "admin2@cluster", key: admin2 }]) });
  w.work.write("trust/allowed_signers", TRUST_ADMIN()).commit("B removes admin2", { signer: admin });
  w.work.commit("C by admin2", { signer: admin2 });
  w.push("both");
  expectHold((await w.run()).decision, "SOURCE_UNTRUSTED", w.a);
});

test("a key on the node's revocation list never verifies, even while a trust file lists it", async () => {
  const w = await appliedWorld({ trust: allowedSigners([{ principal: "admin@cluster", key: admin }, { principal: "admin2@cluster", key: admin2 }]) });
  w.work.commit("B by admin2", { signer: admin2 });
  w.push("both");
  const revoked = join(w.dir, "revoked_keys");
  writeFileSync(revoked, readFileSync(admin2.public, "utf8"));
  const held = await runSource({ ...w.config, revoked }, { log: silentLogger });
  expectHold(held.decision, "SOURCE_UNTRUSTED", w.a);
  const missing = await runSource({ ...w.config, revoked: join(w.dir, "nope") }, { log: silentLogger });
  expectHold(missing.decision, "SOURCE_TRUST_INVALID", w.a);
  assert.equal((await runSource(w.config, { log: silentLogger })).decision.kind, "apply", "without the list, admin2 is trusted");
});

test("a trust file that trusts nobody is refused", async () => {
  const w = await appliedWorld();
  w.work.write("trust/allowed_signers", "# nobody\n").commit("B empties trust", { signer: admin });
  w.push("both");
  expectHold((await w.run()).decision, "SOURCE_TRUST_INVALID", w.a);
});

test("a commit dated in the future is refused", async () => {
  const w = await appliedWorld();
  w.work.commit("B from the future", { signer: admin, date: `@${Math.floor(Date.now() / 1000) + 3600} +0000` });
  w.push("both");
  expectHold((await w.run()).decision, "SOURCE_FUTURE_COMMIT", w.a);
});

test("a commit dated well before its parent is refused; a few minutes of clock skew is not", async () => {
  const w = await appliedWorld();
  const now = Math.floor(Date.now() / 1000);
  w.work.commit("B a little behind", { signer: admin, date: `@${now - 300} +0000` });
  w.push("both");
  assert.equal((await w.run()).decision.kind, "apply");
  w.work.commit("C a day behind", { signer: admin, date: `@${now - 86400} +0000` });
  w.push("both");
  expectHold((await w.run()).decision, "SOURCE_BACKDATED_COMMIT", w.a);
});

test("when the last applied revision was merged in as a side parent, the first-parent chain down to its ancestors is verified", async () => {
  // R <- A (applied, on main); a branch from R gets X, then merges A: M = merge(X, A).
  const w = world();
  w.work.write("trust/allowed_signers", TRUST_ADMIN());
  const r = w.work.commit("R", { signer: admin });
  const a = w.work.write("cluster.yaml", "a: 1\n").commit("A", { signer: admin });
  w.push("both");
  assert.equal((await w.run(true)).decision.kind, "apply");
  w.work.checkout(["-b", "side", r]);
  w.work.write("nodes/alpha.yaml", "x: 1\n").commit("X", { signer: admin });
  const m = w.work.merge(a, "M", { signer: admin });
  w.push("both");
  const ok = await w.run();
  assert.deepEqual(ok.decision, { kind: "apply", revision: m, remote: "origin" });
  assert.equal(ok.verification?.ok && ok.verification.commits, 2);
  // The same shape with an unsigned X is refused.
  w.work.resetHard(r);
  w.work.write("nodes/alpha.yaml", "x: 2\n").commit("X unsigned");
  w.work.merge(a, "M2", { signer: admin });
  w.push("both", true);
  expectHold((await w.run()).decision, "SOURCE_UNSIGNED", a);
});

test("on a first run the tip must be signed by a key in the bootstrap trust file", async () => {
  const w = world();
  w.work.write("trust/allowed_signers", allowedSigners([{ principal: "evil@cluster", key: intruder }])).commit("A by intruder", { signer: intruder });
  w.push("both");
  expectHold((await w.run()).decision, "SOURCE_UNTRUSTED", undefined);
});

test("a missing bootstrap trust file is SOURCE_TRUST_INVALID", async () => {
  const w = world();
  w.work.commit("A", { signer: admin });
  w.push("both");
  const r = await runSource({ ...w.config, trust: join(w.dir, "nosuch_allowed_signers") }, { log: silentLogger });
  expectHold(r.decision, "SOURCE_TRUST_INVALID", undefined);
});

test("a corrupt applied record holds instead of starting over", async () => {
  const w = await appliedWorld();
  writeFileSync(sourcePaths(w.config.state).applied, "{ torn");
  expectHold((await w.run()).decision, "SOURCE_STATE", undefined);
});

test("the fetch of a revision does not record it as applied", async () => {
  const w = await appliedWorld();
  w.work.commit("B", { signer: admin });
  w.push("both");
  assert.equal((await w.run()).decision.kind, "apply");
  assert.equal((await w.run()).lastApplied, w.a);
  assert.equal(git(w.work.dir, ["rev-parse", "HEAD~1"]), w.a);
});

test("one bad remote freezes nothing: the primary's signed update is applied though the mirror's tip on top is unsigned", async () => {
  const w = await appliedWorld();
  const b = w.work.commit("B", { signer: admin });
  w.push("both");
  w.work.commit("C unsigned");
  w.push("mirror");
  const r = await w.run();
  assert.deepEqual(r.decision.kind === "apply" && [r.decision.revision, r.decision.remote], [b, "origin"]);
  assert.deepEqual(r.decision.ignored?.map((i) => [i.remote, i.code]), [["mirror", "SOURCE_UNSIGNED"]]);
  assert.deepEqual(r.remotes.map((x) => x.standing), ["verified", "refused"]);
});

test("one bad remote freezes nothing: the mirror's signed update is applied though the primary's tip is untrusted", async () => {
  const w = await appliedWorld();
  const b = w.work.commit("B", { signer: admin });
  w.push("both");
  w.work.commit("C by intruder", { signer: intruder });
  w.push("primary");
  const r = await w.run();
  assert.deepEqual(r.decision.kind === "apply" && [r.decision.revision, r.decision.remote], [b, "mirror"]);
  assert.equal(r.remotes[0]?.refused?.code, "SOURCE_UNTRUSTED");
});

test("a mirror serving an unrelated unsigned commit is named in the hold, and never stops the primary's next update", async () => {
  const w = await appliedWorld();
  const forged = WorkRepo.create(join(w.dir, "forged"));
  forged.write("cluster.yaml", "evil: true\n").commit("unrelated");
  forged.push(w.mirror, { force: true });
  const held = await w.run();
  expectHold(held.decision, "SOURCE_ROLLBACK", w.a);
  assert.match(held.decision.kind === "hold" ? held.decision.reason.message : "", /^mirror /);
  const b = w.work.commit("B", { signer: admin });
  w.push("primary");
  const r = await w.run();
  assert.deepEqual(r.decision.kind === "apply" && [r.decision.revision, r.decision.remote], [b, "origin"]);
  assert.deepEqual(r.decision.ignored?.map((i) => i.remote), ["mirror"]);
});

test("a mirror behind the last applied revision is a warning; the headline is the primary's own failure", async () => {
  const w = await appliedWorld();
  w.work.commit("B", { signer: admin });
  w.push("primary");
  assert.equal((await w.run(true)).decision.kind, "apply");
  http.setFault("401");
  let r: SourceResult;
  try {
    r = await w.run();
  } finally {
    http.setFault("none");
  }
  assert.equal(r.decision.kind, "hold");
  assert.equal(r.decision.kind === "hold" && r.decision.reason.code, "SOURCE_FETCH_FAILED");
  assert.match(r.decision.kind === "hold" ? r.decision.reason.message : "", /origin: remote origin refused access/);
  assert.deepEqual(r.remotes.map((x) => x.standing), ["failed", "behind"]);
});
