/**
 * `steward init` against a real sshd on loopback: the host key is pinned only when its
 * fingerprint is confirmed; the lines it prints are the ones that work (the authorized_keys
 * line is added to the server as printed, and the new node then fetches).
 */
import assert from "node:assert/strict";
import { appendFileSync, existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { runCli } from "../helpers/cli.js";
import { WorkRepo, makeBare, makeKey, makeTempDir, removeDir, writeAllowedSigners, type SshKey } from "../helpers/keys.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";
import { decodeBase64Strict, sshFingerprint } from "../../agent/src/source/sshsig.js";

let root: string;
let sshd: Sshd;
let admin: SshKey;
let trust: string;
let bare: string;
let fingerprint: string;

before(async () => {
  root = makeTempDir();
  sshd = await startSshd(join(root, "sshd"));
  admin = makeKey(join(root, "keys"), "admin");
  trust = writeAllowedSigners(join(root, "allowed_signers"), [{ principal: "admin@cluster", key: admin }]);
  bare = makeBare(join(root, "srv", "cluster.git"));
  const work = WorkRepo.create(join(root, "work"));
  work.write("README", "cluster\n");
  work.commit("first", { signer: admin });
  work.push(bare);
  const base64 = readFileSync(sshd.hostKey.public, "utf8").split(" ")[1] ?? "";
  fingerprint = sshFingerprint(decodeBase64Strict(Buffer.from(base64)) as Uint8Array);
});

after(async () => {
  await sshd?.close();
  removeDir(root);
});

const init = (etc: string, ...extra: string[]) =>
  runCli(["init", "--node", "alpha", "--remote", sshd.url(bare), "--remote", bare, "--trust", trust, "--etc", etc, "--state", join(root, "state"), ...extra]);

test("an unconfirmed host key is refused, showing the fingerprint to check, and nothing is written", async () => {
  const etc = join(root, "etc-unconfirmed");
  const r = await init(etc, "--fingerprint", "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
  assert.equal(r.code, 1);
  assert.match(r.stderr, /SOURCE_HOST_KEY/);
  assert.ok(r.stderr.includes(fingerprint), r.stderr);
  assert.equal(existsSync(etc), false);
  const none = await init(etc);
  assert.equal(none.code, 1, "no terminal, no --fingerprint: refused");
  assert.match(none.stderr, /--fingerprint/);
});

test("with the fingerprint confirmed: key, trust, known_hosts and a configuration that loads; the printed lines work", async () => {
  const etc = join(root, "etc");
  const r = await init(etc, "--fingerprint", fingerprint, "--json");
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { files: { key: string; config: string; keyState: string }; add: { manifest: string; authorizedKeys: string } };
  assert.equal(out.files.keyState, "created");
  assert.equal(statSync(out.files.key).mode & 0o077, 0, "the private key is the owner's only");
  assert.deepEqual(readdirSync(etc).sort(), ["allowed_signers", "id_ed25519", "id_ed25519.pub", "known_hosts", "steward.yaml"]);
  assert.match(out.add.manifest, /^key: ssh-ed25519 \S+ alpha@steward$/);
  assert.match(readFileSync(join(etc, "steward.yaml"), "utf8"), /^ {2}- name: mirror\n {4}url: \S+cluster\.git$/m);

  // Before the server knows the key, the node cannot log in; after the printed line is added, it fetches.
  const refused = await runCli(["fetch", "--config", out.files.config, "--json"]);
  assert.match(refused.stdout, /SOURCE_AUTH/);
  appendFileSync(join(root, "sshd", "authorized_keys"), `${out.add.authorizedKeys}\n`);
  const fetched = await runCli(["fetch", "--config", out.files.config, "--json"]);
  const json = JSON.parse(fetched.stdout) as { remotes: { name: string; ok: boolean }[] };
  assert.deepEqual(json.remotes.map((x) => [x.name, x.ok]), [["origin", true], ["mirror", true]], fetched.stdout);
});

test("an existing configuration is kept unless --force; the node's key is kept either way", async () => {
  const etc = join(root, "etc");
  const key = readFileSync(join(etc, "id_ed25519.pub"), "utf8");
  const again = await init(etc, "--fingerprint", fingerprint);
  assert.equal(again.code, 1);
  assert.match(again.stderr, /exists.*\n.*--force/);
  const forced = await init(etc, "--fingerprint", fingerprint, "--force");
  assert.equal(forced.code, 0, forced.stderr);
  assert.match(forced.stdout, /id_ed25519 \(kept\)/);
  assert.match(forced.stdout, /^ {5}command="env STEWARD_PUSHER=alpha@steward git-shell/m);
  assert.equal(readFileSync(join(etc, "id_ed25519.pub"), "utf8"), key);
});
