import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { checkPrivateKey, parseKnownHosts, sshHostName } from "../../agent/src/source/ssh-files.js";
import { makeKey, makeTempDir, removeDir, type SshKey } from "../helpers/keys.js";

let dir: string;
let ed: SshKey;
let rsa: SshKey;
before(() => {
  dir = makeTempDir();
  ed = makeKey(dir, "ed");
  rsa = makeKey(dir, "rsa", "rsa", 2048);
});
after(() => removeDir(dir));

function keygenL(file: string): string[] {
  return execFileSync("ssh-keygen", ["-lf", file], { encoding: "utf8" }).trim().split("\n").map((l) => l.split(" ")[1] as string);
}

test("reads known_hosts key lines with the fingerprints ssh-keygen -lf prints", () => {
  const file = join(dir, "known_hosts");
  writeFileSync(file, `# comment\n\ngit.home.arpa,10.0.0.2 ${ed.publicLine}\n[git.home.arpa]:2222 ${rsa.publicLine} a comment\n`);
  const hosts = parseKnownHosts(readFileSync(file, "utf8"));
  assert.deepEqual(hosts.map((h) => [h.line, h.hosts, h.type]), [[3, "git.home.arpa,10.0.0.2", "ssh-ed25519"], [4, "[git.home.arpa]:2222", "ssh-rsa"]]);
  assert.deepEqual(hosts.map((h) => h.fingerprint), keygenL(file));
});

test("reads markers and hashed host names", () => {
  const hosts = parseKnownHosts(`@revoked * ${ed.publicLine}\n|1|aGFzaA==|c2FsdA== ${ed.publicLine}\n@cert-authority *.home.arpa ${ed.publicLine}\nlonely-word\n`);
  assert.deepEqual(hosts.map((h) => [h.marker, h.hosts]), [["revoked", "*"], [undefined, undefined], ["cert-authority", "*.home.arpa"]]);
});

test("names hosts as ssh looks them up", () => {
  assert.deepEqual([sshHostName("h", undefined), sshHostName("h", 22), sshHostName("h", 2222)], ["h", "h", "[h]:2222"]);
});

const file = (path: string, mode = 0o600): { bytes: Uint8Array; mode: number; ownedByMe: boolean } => ({ bytes: readFileSync(path), mode, ownedByMe: true });

test("accepts an unencrypted private key of mode 0600 (OpenSSH and PEM)", () => {
  const pem = makeKey(dir, "pem", "rsa", 2048);
  execFileSync("ssh-keygen", ["-q", "-p", "-P", "", "-N", "", "-m", "PEM", "-f", pem.private]);
  for (const k of [ed.private, rsa.private, pem.private]) assert.equal(checkPrivateKey(k, file(k)), undefined, k);
});

for (const c of [
  { name: "refuses a public key", make: (): string => ed.public, want: /public key/ },
  { name: "refuses a file that is not a key", make: (): string => (writeFileSync(join(dir, "junk"), "hello\n"), join(dir, "junk")), want: /not an ssh private key/ },
  {
    name: "refuses a key with a passphrase (OpenSSH format)",
    make: (): string => {
      const k = makeKey(dir, "locked");
      execFileSync("ssh-keygen", ["-q", "-p", "-P", "", "-N", "secret", "-f", k.private]);
      return k.private;
    },
    want: /passphrase/,
  },
  {
    name: "refuses a key with a passphrase (PEM)",
    make: (): string => {
      const k = makeKey(dir, "lockedpem", "rsa", 2048);
      execFileSync("ssh-keygen", ["-q", "-p", "-P", "", "-N", "secret", "-m", "PEM", "-f", k.private]);
      return k.private;
    },
    want: /passphrase/,
  },
]) {
  test(c.name, () => {
    const path = c.make();
    assert.match(checkPrivateKey(path, file(path))?.message ?? "", c.want);
  });
}

test("refuses a key others may read only when this user owns it, as ssh does", () => {
  assert.match(checkPrivateKey(ed.private, file(ed.private, 0o644))?.hint ?? "", /chmod 600/);
  assert.equal(checkPrivateKey(ed.private, { ...file(ed.private, 0o644), ownedByMe: false }), undefined);
});
