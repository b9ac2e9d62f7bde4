/**
 * `steward verify-push` as the pre-receive hook runs it, on a repository made by native git
 * with SSH-signed commits: exit codes, the JSON verdict, and the codes nodes would give.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { WorkRepo, allowedSigners, git, makeBare, makeKey, makeTempDir, removeDir, writeAllowedSigners, type SshKey } from "../helpers/keys.js";

const ZERO = "0".repeat(40);
let dir: string;
let repo: string;
let bootstrap: string;
let admin: SshKey;
let work: WorkRepo;
/** root (signed, trust lists admin) <- good (signed) <- unsigned <- signedOnTop; side: good <- fixed (signed). */
let root: string;
let good: string;
let unsigned: string;
let signedOnTop: string;
let fixed: string;

before(() => {
  dir = makeTempDir();
  admin = makeKey(join(dir, "keys"), "admin");
  bootstrap = writeAllowedSigners(join(dir, "etc", "allowed_signers"), [{ principal: "admin@cluster", key: admin }]);
  work = WorkRepo.create(join(dir, "work"));
  root = work.write("trust/allowed_signers", allowedSigners([{ principal: "admin@cluster", key: admin }])).commit("root", { signer: admin });
  good = work.write("a", "1").commit("good", { signer: admin });
  unsigned = work.write("a", "2").commit("unsigned");
  signedOnTop = work.write("a", "3").commit("signed on top", { signer: admin });
  work.checkout(["-q", "-b", "fix", good]);
  fixed = work.write("a", "4").commit("fixed", { signer: admin });
  repo = makeBare(join(dir, "repo.git"));
  work.push(repo, { branch: "main" }).push(repo, { branch: "fix" });
  git(work.dir, ["push", "-q", repo, `${signedOnTop}:refs/heads/stuck`]);
});

after(() => removeDir(dir));

async function verifyPush(...args: string[]): Promise<{ code: number; json: Record<string, unknown>; stderr: string }> {
  const r = await runCli(["verify-push", "--repo", repo, "--json", ...args]);
  return { code: r.code, json: r.stdout === "" ? {} : (JSON.parse(r.stdout) as Record<string, unknown>), stderr: r.stderr };
}

const problemOf = (json: Record<string, unknown>): { code?: string; data?: Record<string, unknown> } => (json["problem"] ?? {}) as { code?: string; data?: Record<string, unknown> };

test("a fast-forward of signed commits is accepted (exit 0) and counted", async () => {
  const r = await verifyPush(root, fixed);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual({ ok: r.json["ok"], kind: r.json["kind"], commits: r.json["commits"] }, { ok: true, kind: "fast-forward", commits: 2 });
});

test("a fast-forward over an unsigned commit is refused (exit 1) with SOURCE_UNSIGNED naming it", async () => {
  const r = await verifyPush(good, signedOnTop);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(problemOf(r.json).code, "SOURCE_UNSIGNED");
  assert.equal(problemOf(r.json).data?.["commit"], unsigned);
});

test("the text form prints the refusal on stderr, with the commit in full, and nothing on stdout", async () => {
  const r = await runCli(["verify-push", "--repo", repo, good, "stuck"]);
  assert.equal(r.code, 1);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^steward verify-push: SOURCE_UNSIGNED: /m);
  assert.match(r.stderr, new RegExp(`^  commit: ${unsigned}$`, "m"));
});

test("a new branch is judged by --trust alone, its tip as a node's first run judges it", async () => {
  const r = await verifyPush(ZERO, "fix", "--trust", bootstrap);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json["kind"], "create");
  const other = writeAllowedSigners(join(dir, "etc", "other"), [{ principal: "x@cluster", key: makeKey(join(dir, "keys"), "other") }]);
  const refused = await verifyPush(ZERO, "fix", "--trust", other);
  assert.equal(refused.code, 1);
  assert.equal(problemOf(refused.json).code, "SOURCE_UNTRUSTED");
});

test("a rewrite that drops the unsigned commit and what follows is accepted, saying why", async () => {
  const r = await verifyPush(signedOnTop, fixed);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.json["kind"], "rewrite");
  const dropped = r.json["dropped"] as { commits: number; first: string; refusedAs: { code: string } };
  assert.deepEqual([dropped.commits, dropped.first, dropped.refusedAs.code], [2, unsigned, "SOURCE_UNSIGNED"]);
});

test("a rewrite that drops a commit nodes accept is refused with SOURCE_ROLLBACK", async () => {
  const r = await verifyPush(fixed, signedOnTop);
  assert.equal(r.code, 1);
  assert.equal(problemOf(r.json).code, "SOURCE_ROLLBACK");
  assert.equal(problemOf(r.json).data?.["firstDropped"], fixed);
});

test("a commit whose parent has no trust file needs --trust; without it the hint says how to give it", async () => {
  const w = WorkRepo.create(join(dir, "no-trust"));
  const first = w.write("a", "1").commit("no trust file", { signer: admin });
  const second = w.write("a", "2").commit("second", { signer: admin });
  const bare = makeBare(join(dir, "no-trust.git"));
  w.push(bare);
  const without = await runCli(["verify-push", "--repo", bare, "--json", first, second]);
  assert.equal(without.code, 1);
  const p = problemOf(JSON.parse(without.stdout) as Record<string, unknown>) as { code?: string; hint?: string };
  assert.equal(p.code, "SOURCE_TRUST_INVALID");
  assert.match(p.hint ?? "", /--trust FILE/);
  const withTrust = await runCli(["verify-push", "--repo", bare, "--trust", bootstrap, first, second]);
  assert.equal(withTrust.code, 0, withTrust.stderr);
});

test("a branch pointing at a tag object is refused: nodes read only commits", async () => {
  git(work.dir, ["tag", "-a", "-m", "a tag", "t1", fixed]);
  git(work.dir, ["push", "-q", repo, "refs/tags/t1"]);
  const tag = git(repo, ["rev-parse", "refs/tags/t1"]);
  const r = await runCli(["verify-push", "--repo", repo, fixed, tag]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /SOURCE_PROTOCOL: .* is a tag, not a commit/);
});

for (const c of [
  { name: "no revisions", args: (): string[] => [] },
  { name: "one revision", args: (): string[] => [root] },
  { name: "a deletion (NEW is zeros)", args: (): string[] => [root, ZERO] },
  { name: "a new branch without --trust", args: (): string[] => [ZERO, root] },
]) {
  test(`usage error (exit 2): ${c.name}`, async () => {
    const r = await runCli(["verify-push", "--repo", repo, ...c.args()]);
    assert.equal(r.code, 2, r.stderr);
  });
}

test("a revision that names nothing is SOURCE_NOT_FOUND (exit 1)", async () => {
  const r = await runCli(["verify-push", "--repo", repo, root, "no-such-branch"]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /SOURCE_NOT_FOUND/);
});
