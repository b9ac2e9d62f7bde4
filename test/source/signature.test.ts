/**
 * verifyCommitSignature on commits signed by native git: decided in process without starting
 * ssh-keygen, handed to ssh-keygen (with the same verdict) for certificates, KRLs and unreadable
 * files, the trust file re-read when it changes, and `now` given to both paths.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { systemExecutor } from "../../agent/src/exec.js";
import { verifyCommitSignature, type SignatureOptions } from "../../agent/src/source/signature.js";
import { REASONS } from "../../agent/src/source/signature-verdict.js";
import { WorkRepo, makeKey, makeTempDir, removeDir, type SshKey } from "../helpers/keys.js";
import { RecordingExecutor } from "../helpers/recording-executor.js";
import { commitPayload, sshKeygenSign, withGpgsig } from "../helpers/sshsig.js";

let dir: string;
let key: SshKey;
let raw: Buffer;
let trust: string;
let tmpDir: string;

before(() => {
  dir = makeTempDir();
  tmpDir = join(dir, "tmp");
  key = makeKey(join(dir, "keys"), "admin");
  const work = WorkRepo.create(join(dir, "work"));
  const oid = work.write("a.txt", "one\n").commit("signed", { signer: key });
  raw = execFileSync("git", ["cat-file", "commit", oid], { cwd: work.dir });
  trust = join(dir, "allowed_signers");
  writeFileSync(trust, `admin@cluster namespaces="git" ${key.publicLine}\n`);
});
after(() => removeDir(dir));

/** verifyCommitSignature with an executor that records and a record of fallbacks. */
async function check(rawCommit: Uint8Array, trustFile: string, options: Partial<SignatureOptions> = {}): Promise<{ verdict: unknown; spawned: number; fallback?: string }> {
  const executor = new RecordingExecutor([], systemExecutor);
  let fallback: string | undefined;
  const verdict = await verifyCommitSignature(rawCommit, trustFile, { tmpDir, executor, onFallback: (r) => (fallback = r), ...options });
  return { verdict, spawned: executor.calls.length, ...(fallback === undefined ? {} : { fallback }) };
}

test("a commit signed by a listed key is good without starting ssh-keygen", async () => {
  assert.deepEqual(await check(raw, trust), { verdict: { ok: true, principal: "admin@cluster" }, spawned: 0 });
});

test("an unsigned commit and a tampered one are decided without ssh-keygen", async () => {
  const unsigned = Buffer.from("tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor a <a@c> 1 +0000\ncommitter a <a@c> 1 +0000\n\nx\n");
  assert.deepEqual((await check(unsigned, trust)).verdict, { ok: false, code: "SOURCE_UNSIGNED", reason: "the commit has no signature" });
  const tampered = Buffer.from(raw.toString("latin1").replace("signed", "signeD"), "latin1");
  assert.deepEqual(await check(tampered, trust), { verdict: { ok: false, code: "SOURCE_BAD_SIGNATURE", reason: REASONS.bad }, spawned: 0 });
});

test("the ssh-keygen path gives the same verdict", async () => {
  const r = await check(raw, trust, { sshKeygenOnly: true });
  assert.deepEqual(r.verdict, { ok: true, principal: "admin@cluster" });
  assert.ok(r.spawned >= 2);
});

test("a changed trust file at the same path is read again", async () => {
  const path = join(dir, "changing");
  writeFileSync(path, `admin@cluster ${key.publicLine}\n`);
  assert.deepEqual((await check(raw, path)).verdict, { ok: true, principal: "admin@cluster" });
  writeFileSync(path, `ops@cluster ${key.publicLine}\n`);
  assert.deepEqual((await check(raw, path)).verdict, { ok: true, principal: "ops@cluster" });
  writeFileSync(path, `ops@cluster namespaces="file" ${key.publicLine}\n`);
  assert.deepEqual((await check(raw, path)).verdict, { ok: false, code: "SOURCE_UNTRUSTED", reason: REASONS.notAdmitted });
});

test("`now` decides validity in process and is passed to ssh-keygen as -Overify-time", async () => {
  const path = join(dir, "dated");
  writeFileSync(path, `admin@cluster valid-before="20200101Z" ${key.publicLine}\n`);
  const before2020 = Date.UTC(2019, 5, 1);
  assert.deepEqual(await check(raw, path, { now: before2020 }), { verdict: { ok: true, principal: "admin@cluster" }, spawned: 0 });
  assert.deepEqual(await check(raw, path), { verdict: { ok: false, code: "SOURCE_UNTRUSTED", reason: REASONS.notListed }, spawned: 0 });
  const executor = new RecordingExecutor([], systemExecutor);
  const v = await verifyCommitSignature(raw, path, { tmpDir, executor, now: before2020, sshKeygenOnly: true });
  assert.deepEqual(v, { ok: true, principal: "admin@cluster" });
  assert.ok(executor.calls.every((argv) => argv[2] === "check-novalidate" || argv.includes("-Overify-time=20190601000000Z")), JSON.stringify(executor.calls));
});

test("a certificate signature is handed to ssh-keygen and gets its verdict", async () => {
  const keys = join(dir, "keys");
  const ca = makeKey(keys, "ca");
  const user = makeKey(keys, "user");
  execFileSync("ssh-keygen", ["-q", "-s", ca.private, "-I", "user", "-n", "admin@cluster", user.public], { stdio: "ignore" });
  const payload = commitPayload("certified\n");
  const signed = withGpgsig(payload, sshKeygenSign(`${user.private}-cert.pub`, payload));
  const caTrust = join(dir, "ca_signers");
  writeFileSync(caTrust, `*@cluster cert-authority ${ca.publicLine}\nadmin@cluster ${ca.publicLine}\n`);
  const r = await check(signed, caTrust);
  assert.deepEqual(r.verdict, { ok: true, principal: "admin@cluster" });
  assert.match(r.fallback ?? "", /cert/);
  assert.ok(r.spawned >= 2);
});

test("a KRL is handed to ssh-keygen, which refuses the revoked key", async () => {
  const krl = join(dir, "revoked.krl");
  execFileSync("ssh-keygen", ["-q", "-k", "-f", krl, key.public], { stdio: "ignore" });
  const r = await check(raw, trust, { revoked: krl });
  assert.deepEqual(r.verdict, { ok: false, code: "SOURCE_UNTRUSTED", reason: REASONS.notAdmitted });
  assert.match(r.fallback ?? "", /KRL/);
});

test("a revocation list of plain keys is read in process", async () => {
  const list = join(dir, "revoked_keys");
  writeFileSync(list, `# gone\n${key.publicLine} old laptop\n`);
  assert.deepEqual(await check(raw, trust, { revoked: list }), { verdict: { ok: false, code: "SOURCE_UNTRUSTED", reason: REASONS.notAdmitted }, spawned: 0 });
});

test("a trust file that cannot be read is handed to ssh-keygen", async () => {
  const r = await check(raw, join(dir, "missing"));
  assert.deepEqual(r.verdict, { ok: false, code: "SOURCE_UNTRUSTED", reason: REASONS.notListed });
  assert.match(r.fallback ?? "", /cannot be read/);
});
