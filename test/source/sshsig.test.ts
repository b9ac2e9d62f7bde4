/**
 * sshsig.ts: base64 and armor as OpenSSH reads them, public key blobs, and signature checks on
 * hand-made vectors. Every `valid` or `invalid` answer is also put to
 * `ssh-keygen -Y check-novalidate`, which must agree; `unsupported` ones are those ssh-keygen
 * decides for Steward.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { checkSshsig, dearmorSignature, decodeBase64Strict, parseSshPublicKey, sameSshKey, signatureSigner, type SshsigCheck } from "../../agent/src/source/sshsig.js";
import { makeTempDir, removeDir } from "../helpers/keys.js";
import { armor, craftEcdsa, craftEd25519, craftEd25519Sk, craftRsa, mpint, signedData, sshString, sshsigBlob, sshsigFor, u32, unarmor, type CraftedKey } from "../helpers/sshsig.js";

let dir: string;
before(() => {
  dir = makeTempDir();
});
after(() => removeDir(dir));

const bytes = (s: string): Buffer => Buffer.from(s, "latin1");

for (const c of [
  { name: "decodes an empty text to nothing", text: "", out: "" },
  { name: "decodes four characters to three bytes", text: "AAEC", out: "000102" },
  { name: "decodes one padded byte", text: "AQ==", out: "01" },
  { name: "decodes two padded bytes", text: "AAE=", out: "0001" },
  { name: "skips white space anywhere, padding included", text: " A\tQ\r\n= \f=\v", out: "01" },
  { name: "refuses non-zero bits after the last byte", text: "AR==", out: undefined },
  { name: "refuses a missing pad character", text: "AQ=", out: undefined },
  { name: "refuses unpadded partial input", text: "AQ", out: undefined },
  { name: "refuses a pad character in second position", text: "A===", out: undefined },
  { name: "refuses data after the padding", text: "AQ==AA", out: undefined },
  { name: "refuses a character outside the alphabet", text: "AA-A", out: undefined },
  { name: "refuses a byte above 0x7f", text: "AA\u00e9A", out: undefined },
]) {
  test(`base64: ${c.name}`, () => {
    const r = decodeBase64Strict(bytes(c.text));
    assert.equal(r === undefined ? undefined : Buffer.from(r).toString("hex"), c.out);
  });
}

const BODY = Buffer.from("hello").toString("base64");
for (const c of [
  { name: "reads a well-formed armor", text: `-----BEGIN SSH SIGNATURE-----\n${BODY}\n-----END SSH SIGNATURE-----\n`, ok: true },
  { name: "ignores what follows the END line", text: `-----BEGIN SSH SIGNATURE-----\n${BODY}\n-----END SSH SIGNATURE-----garbage`, ok: true },
  { name: "reads CRLF line ends", text: `-----BEGIN SSH SIGNATURE-----\n${BODY}\r\n-----END SSH SIGNATURE-----\r\n`, ok: true },
  { name: "accepts a NUL as the last byte of the body", text: `-----BEGIN SSH SIGNATURE-----\n${BODY}\0\n-----END SSH SIGNATURE-----\n`, ok: true },
  { name: "refuses a NUL inside the body", text: `-----BEGIN SSH SIGNATURE-----\n${BODY.slice(0, 2)}\0${BODY.slice(2)}\n-----END SSH SIGNATURE-----\n`, ok: false },
  { name: "refuses text before the BEGIN line", text: ` -----BEGIN SSH SIGNATURE-----\n${BODY}\n-----END SSH SIGNATURE-----\n`, ok: false },
  { name: "refuses a missing END line", text: `-----BEGIN SSH SIGNATURE-----\n${BODY}\n`, ok: false },
  { name: "refuses an END line not on its own line", text: `-----BEGIN SSH SIGNATURE-----\n${BODY}-----END SSH SIGNATURE-----\n`, ok: false },
  { name: "refuses a PGP armor", text: `-----BEGIN PGP SIGNATURE-----\n${BODY}\n-----END PGP SIGNATURE-----\n`, ok: false },
]) {
  test(`armor: ${c.name}`, () => {
    const r = dearmorSignature(bytes(c.text));
    assert.equal(r !== undefined, c.ok);
    if (r !== undefined) assert.equal(Buffer.from(r).toString(), "hello");
  });
}

const ed = craftEd25519();
const pk = ed.pk;
const P256 = craftEcdsa("nistp256");
const p256Point = (): Buffer => Buffer.from(splitStrings(P256.publicBlob)[2] as Buffer);

for (const c of [
  { name: "reads an Ed25519 key", blob: () => ed.publicBlob, kind: "key" },
  { name: "accepts the short name ED25519, as sshkey_type_from_name does", blob: () => Buffer.concat([sshString("ED25519"), sshString(pk)]), kind: "key" },
  { name: "accepts a type name ending in a NUL byte", blob: () => Buffer.concat([sshString("ssh-ed25519\0"), sshString(pk)]), kind: "key" },
  { name: "refuses a type name with a NUL inside", blob: () => Buffer.concat([sshString("ssh-ed\0ed25519"), sshString(pk)]), kind: "invalid" },
  { name: "refuses a 31-byte Ed25519 key", blob: () => Buffer.concat([sshString("ssh-ed25519"), sshString(pk.subarray(1))]), kind: "invalid" },
  { name: "refuses trailing bytes", blob: () => Buffer.concat([ed.publicBlob, Buffer.of(0)]), kind: "invalid" },
  { name: "refuses a truncated blob", blob: () => ed.publicBlob.subarray(0, ed.publicBlob.length - 1), kind: "invalid" },
  { name: "refuses an empty blob", blob: () => Buffer.alloc(0), kind: "invalid" },
  { name: "leaves certificates to ssh-keygen", blob: () => Buffer.concat([sshString("ssh-ed25519-cert-v01@openssh.com"), sshString("nonce"), sshString(pk)]), kind: "other" },
  { name: "leaves DSA keys to ssh-keygen", blob: () => Buffer.concat([sshString("ssh-dss"), mpint(Buffer.of(1))]), kind: "other" },
  { name: "refuses a type OpenSSH does not know", blob: () => Buffer.concat([sshString("ssh-foo"), sshString(pk)]), kind: "invalid" },
  { name: "leaves the short name DSA to ssh-keygen", blob: () => Buffer.concat([sshString("dsa"), mpint(Buffer.of(1))]), kind: "other" },
  { name: "reads a P-256 key", blob: () => P256.publicBlob, kind: "key" },
  { name: "refuses the short name ECDSA (no curve)", blob: () => Buffer.concat([sshString("ECDSA"), sshString("nistp256"), sshString(p256Point())]), kind: "invalid" },
  { name: "refuses a curve that does not match the type", blob: () => Buffer.concat([sshString("ecdsa-sha2-nistp384"), sshString("nistp256"), sshString(p256Point())]), kind: "invalid" },
  { name: "refuses a compressed point", blob: () => Buffer.concat([sshString("ecdsa-sha2-nistp256"), sshString("nistp256"), sshString(Buffer.concat([Buffer.of(2 + ((p256Point()[64] as number) & 1)), p256Point().subarray(1, 33)]))]), kind: "invalid" },
  { name: "refuses a point off the curve", blob: () => { const p = p256Point(); p[64] = (p[64] as number) ^ 1; return Buffer.concat([sshString("ecdsa-sha2-nistp256"), sshString("nistp256"), sshString(p)]); }, kind: "invalid" },
  { name: "reads an RSA key", blob: () => craftRsa(1024, "rsa-sha2-512").publicBlob, kind: "key" },
  { name: "calls a 768-bit RSA key too short", blob: () => craftRsa(768, "rsa-sha2-512").publicBlob, kind: "key-length" },
  { name: "refuses a negative RSA modulus", blob: () => Buffer.concat([sshString("ssh-rsa"), mpint(Buffer.of(1, 0, 1)), sshString(Buffer.alloc(129, 0xff))]), kind: "invalid" },
  { name: "reads a security key", blob: () => craftEd25519Sk().publicBlob, kind: "key" },
  { name: "refuses a security key without its application", blob: () => Buffer.concat([sshString("sk-ssh-ed25519@openssh.com"), sshString(pk)]), kind: "invalid" },
]) {
  test(`public key: ${c.name}`, () => assert.equal(parseSshPublicKey(c.blob()).kind, c.kind));
}

test("public key: RSA numbers with needless leading zeros are the same key", () => {
  const rsa = craftRsa(1024, "rsa-sha2-512");
  const a = parseSshPublicKey(rsa.publicBlob);
  const [, e, n] = splitStrings(rsa.publicBlob);
  const padded = parseSshPublicKey(Buffer.concat([sshString("ssh-rsa"), sshString(Buffer.concat([Buffer.alloc(3), e as Buffer])), sshString(Buffer.concat([Buffer.alloc(2), n as Buffer]))]));
  assert.ok(a.kind === "key" && padded.kind === "key" && sameSshKey(a.key, padded.key));
});

function splitStrings(blob: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < blob.length; ) {
    const len = blob.readUInt32BE(at);
    out.push(blob.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

const MESSAGE = Buffer.from("tree 0000\nauthor a <a@c> 1 +0000\n\nmessage\n");

interface SigCase {
  readonly name: string;
  readonly armor: () => string;
  readonly message?: Buffer;
  readonly namespace?: string;
  readonly expect: SshsigCheck["kind"];
}

const withParts = (key: CraftedKey, parts: Partial<Parameters<typeof sshsigBlob>[0]>, message = MESSAGE): string => {
  const namespace = parts.namespace ?? "git";
  const hashAlg = parts.hashAlg ?? "sha512";
  return armor(sshsigBlob({ publicKey: key.publicBlob, namespace, hashAlg, signature: key.sign(signedData(namespace, hashAlg === "sha256" ? "sha256" : "sha512", message)), ...parts }));
};

const keys = {
  ed25519: craftEd25519(),
  p256: craftEcdsa("nistp256"),
  p384: craftEcdsa("nistp384"),
  p521: craftEcdsa("nistp521"),
  p384padded: craftEcdsa("nistp384", { padMpints: true }),
  rsa256: craftRsa(2048, "rsa-sha2-256"),
  rsa512: craftRsa(3072, "rsa-sha2-512"),
  rsaSha1: craftRsa(2048, "ssh-rsa"),
  edSk: craftEd25519Sk(),
  ecSk: craftEcdsa("nistp256", { sk: "ssh:" }),
};

const sigCases: SigCase[] = [
  ...Object.entries(keys)
    .filter(([name]) => name !== "rsaSha1")
    .flatMap(([name, key]) => [
      { name: `${name}: a good signature`, armor: () => sshsigFor(key, MESSAGE), expect: "valid" as const },
      { name: `${name}: a good signature with sha256`, armor: () => sshsigFor(key, MESSAGE, { hashAlg: "sha256" }), expect: "valid" as const },
      { name: `${name}: another message`, armor: () => sshsigFor(key, MESSAGE), message: Buffer.concat([MESSAGE, Buffer.of(0x0a)]), expect: "invalid" as const },
      { name: `${name}: another namespace`, armor: () => sshsigFor(key, MESSAGE, { namespace: "file" }), expect: "invalid" as const },
    ]),
  { name: "a SHA-1 ssh-rsa signature is refused, as sshsig.c does", armor: () => sshsigFor(keys.rsaSha1, MESSAGE), expect: "invalid" },
  { name: "an RSA signature shorter than the modulus is padded", armor: () => withParts(craftRsa(1024, "rsa-sha2-512", { shortSignature: true }), {}), expect: "valid" },
  { name: "a security key signature without user presence passes, as in ssh-keygen 9.2", armor: () => sshsigFor(keys.edSk, MESSAGE, { sk: { flags: 0 } }), expect: "valid" },
  { name: "an ECDSA security key signature without user presence passes", armor: () => sshsigFor(keys.ecSk, MESSAGE, { sk: { flags: 0, counter: 0 } }), expect: "valid" },
  { name: "version 0 is accepted (only greater versions are refused)", armor: () => withParts(keys.ed25519, { version: 0 }), expect: "valid" },
  { name: "version 2 is refused", armor: () => withParts(keys.ed25519, { version: 2 }), expect: "invalid" },
  { name: "a wrong magic is refused", armor: () => withParts(keys.ed25519, { magic: "SSHSIH" }), expect: "invalid" },
  { name: "a namespace field ending in NUL reads as the namespace", armor: () => armor(sshsigBlob({ publicKey: keys.ed25519.publicBlob, namespace: "git\0", hashAlg: "sha512", signature: keys.ed25519.sign(signedData("git", "sha512", MESSAGE)) })), expect: "valid" },
  { name: "a non-empty reserved field is ignored", armor: () => withParts(keys.ed25519, { reserved: Buffer.from("tag") }), expect: "valid" },
  { name: "hash algorithm sha384 is refused", armor: () => withParts(keys.ed25519, { hashAlg: "sha384" }), expect: "invalid" },
  { name: "hash algorithm SHA512 in capitals is refused", armor: () => withParts(keys.ed25519, { hashAlg: "SHA512" }), expect: "invalid" },
  { name: "an empty signature field is refused", armor: () => withParts(keys.ed25519, { signature: Buffer.alloc(0) }), expect: "invalid" },
  { name: "trailing bytes after the blob are refused", armor: () => armor(Buffer.concat([unarmor(sshsigFor(keys.ed25519, MESSAGE)), Buffer.of(0)])), expect: "invalid" },
  { name: "a truncated blob is refused", armor: () => armor(unarmor(sshsigFor(keys.ed25519, MESSAGE)).subarray(0, 100)), expect: "invalid" },
  { name: "an Ed25519 signature under an ECDSA key is refused", armor: () => armor(sshsigBlob({ publicKey: keys.p256.publicBlob, namespace: "git", hashAlg: "sha512", signature: keys.ed25519.sign(signedData("git", "sha512", MESSAGE)) })), expect: "invalid" },
  { name: "a P-256 signature under a P-384 key is refused", armor: () => armor(sshsigBlob({ publicKey: keys.p384.publicBlob, namespace: "git", hashAlg: "sha512", signature: keys.p256.sign(signedData("git", "sha512", MESSAGE)) })), expect: "invalid" },
  { name: "a signature by another key of the same type is refused", armor: () => armor(sshsigBlob({ publicKey: craftEd25519().publicBlob, namespace: "git", hashAlg: "sha512", signature: keys.ed25519.sign(signedData("git", "sha512", MESSAGE)) })), expect: "invalid" },
  { name: "an Ed25519 signature with trailing bytes is refused", armor: () => withParts(keys.ed25519, { signature: Buffer.concat([keys.ed25519.sign(signedData("git", "sha512", MESSAGE)), Buffer.of(0)]) }), expect: "invalid" },
  { name: "an Ed25519 signature of 63 bytes is refused", armor: () => withParts(keys.ed25519, { signature: Buffer.concat([sshString("ssh-ed25519"), sshString(Buffer.alloc(63, 1))]) }), expect: "invalid" },
  { name: "an ECDSA signature with a negative r is refused", armor: () => withParts(keys.p256, { signature: Buffer.concat([sshString("ecdsa-sha2-nistp256"), sshString(Buffer.concat([sshString(Buffer.alloc(32, 0xff)), mpint(Buffer.of(1))]))]) }), expect: "invalid" },
  { name: "an Ed25519 signature with s + L is left to ssh-keygen (which reduces s)", armor: () => withParts(keys.ed25519, { signature: malleate(keys.ed25519.sign(signedData("git", "sha512", MESSAGE))) }), expect: "unsupported" },
  { name: "a webauthn signature is left to ssh-keygen", armor: () => withParts(keys.ecSk, { signature: Buffer.concat([sshString("webauthn-sk-ecdsa-sha2-nistp256@openssh.com"), sshString(""), Buffer.of(1), u32(1), sshString("https://x"), sshString("{}"), sshString("")]) }), expect: "unsupported" },
  { name: "an RSA key with a 66-bit exponent is left to ssh-keygen", armor: () => armor(sshsigBlob({ publicKey: Buffer.concat([sshString("ssh-rsa"), mpint(Buffer.of(2, 0, 0, 0, 0, 0, 0, 0, 1)), mpint(Buffer.alloc(128, 0x8f))]), namespace: "git", hashAlg: "sha512", signature: Buffer.concat([sshString("rsa-sha2-512"), sshString(Buffer.alloc(128, 1))]) })), expect: "unsupported" },
];

/** The same signature with s replaced by s + L (still below 2^256). */
function malleate(inner: Buffer): Buffer {
  const parts = splitStrings(inner);
  const sig = Buffer.from(parts[1] as Buffer);
  const L = (1n << 252n) + 27742317777372353535851937790883648493n;
  let s = 0n;
  for (let i = 63; i >= 32; i--) s = (s << 8n) | BigInt(sig[i] as number);
  s += L;
  for (let i = 32; i < 64; i++) {
    sig[i] = Number(s & 0xffn);
    s >>= 8n;
  }
  return Buffer.concat([sshString("ssh-ed25519"), sshString(sig)]);
}

for (const c of sigCases) {
  test(`signature: ${c.name}`, () => {
    const text = c.armor();
    const blob = dearmorSignature(bytes(text));
    assert.ok(blob !== undefined);
    const message = c.message ?? MESSAGE;
    const r = checkSshsig(blob, message, c.namespace ?? "git");
    assert.equal(r.kind, c.expect, JSON.stringify(r));
    const sig = join(dir, "check.sig");
    writeFileSync(sig, text, "latin1");
    let code = 0;
    try {
      execFileSync("ssh-keygen", ["-Y", "check-novalidate", "-n", c.namespace ?? "git", "-s", sig], { input: message, stdio: ["pipe", "ignore", "ignore"] });
    } catch (e) {
      code = (e as { status: number }).status;
    }
    // What ssh-keygen accepts; for `unsupported`, recorded so a change in OpenSSH shows up here.
    const sshKeygen = code === 0 ? "valid" : "invalid";
    if (c.expect !== "unsupported") assert.equal(sshKeygen, c.expect, "ssh-keygen disagrees");
  });
}

test("signature: s + L is accepted by ssh-keygen, which is why it is left to it", () => {
  const text = withParts(keys.ed25519, { signature: malleate(keys.ed25519.sign(signedData("git", "sha512", MESSAGE))) });
  const sig = join(dir, "malleated.sig");
  writeFileSync(sig, text, "latin1");
  execFileSync("ssh-keygen", ["-Y", "check-novalidate", "-n", "git", "-s", sig], { input: MESSAGE, stdio: ["pipe", "ignore", "ignore"] });
});

test("names the key a signature claims by the fingerprint ssh-keygen -l prints, without checking it", () => {
  for (const type of ["ed25519", "ecdsa", "rsa"] as const) {
    const key = join(dir, `signer-${type}`);
    execFileSync("ssh-keygen", ["-q", "-t", type, "-N", "", "-f", key], { stdio: "ignore" });
    const message = join(dir, `message-${type}`);
    writeFileSync(message, "payload\n");
    execFileSync("ssh-keygen", ["-q", "-Y", "sign", "-n", "git", "-f", key, message], { stdio: "ignore" });
    const blob = dearmorSignature(readFileSync(`${message}.sig`));
    const [bits, fingerprint] = execFileSync("ssh-keygen", ["-lf", `${key}.pub`], { encoding: "utf8" }).split(" ");
    assert.ok(bits !== undefined && blob !== undefined);
    assert.deepEqual(signatureSigner(blob), { type: readFileSync(`${key}.pub`, "utf8").split(" ")[0], fingerprint });
  }
  assert.equal(signatureSigner(Buffer.from("SSHSIG garbage")), undefined);
});
