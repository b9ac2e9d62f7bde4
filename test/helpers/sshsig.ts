/**
 * Hand-made SSH signatures for the signature tests: SSH wire encoding, SSHSIG blobs and armor
 * (OpenSSH PROTOCOL.sshsig), and keys made with node:crypto that sign as OpenSSH would,
 * including security keys (which ssh-keygen cannot make without the hardware) and signature
 * forms ssh-keygen never emits (rsa-sha2-256, SHA-1 ssh-rsa, padded mpints). Test code.
 */
import { createHash, generateKeyPairSync, sign, type KeyObject } from "node:crypto";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

export function sshString(bytes: Uint8Array | string): Buffer {
  const b = typeof bytes === "string" ? Buffer.from(bytes, "latin1") : Buffer.from(bytes);
  return Buffer.concat([u32(b.length), b]);
}

/** An SSH mpint of a big-endian unsigned magnitude: minimal, with a 0 byte when the top bit is set. */
export function mpint(magnitude: Uint8Array): Buffer {
  let i = 0;
  while (i < magnitude.length && magnitude[i] === 0) i++;
  const m = Buffer.from(magnitude.subarray(i));
  return sshString(m.length > 0 && ((m[0] as number) & 0x80) !== 0 ? Buffer.concat([Buffer.alloc(1), m]) : m);
}

/** The armor ssh-keygen writes: base64 wrapped at 70 columns. */
export function armor(blob: Uint8Array): string {
  const b64 = Buffer.from(blob).toString("base64");
  return `-----BEGIN SSH SIGNATURE-----\n${(b64.match(/.{1,70}/g) ?? []).join("\n")}\n-----END SSH SIGNATURE-----\n`;
}

/** The base64 body of an armored signature, decoded (lenient: for tests that take signatures apart). */
export function unarmor(text: string): Buffer {
  return Buffer.from(text.split("\n").filter((l) => !l.startsWith("-----")).join(""), "base64");
}

export interface SshsigParts {
  readonly publicKey: Uint8Array;
  readonly namespace: string;
  readonly reserved?: Uint8Array;
  readonly hashAlg: string;
  readonly signature: Uint8Array;
  readonly version?: number;
  readonly magic?: string;
}

export function sshsigBlob(p: SshsigParts): Buffer {
  return Buffer.concat([
    Buffer.from(p.magic ?? "SSHSIG", "latin1"),
    u32(p.version ?? 1),
    sshString(p.publicKey),
    sshString(p.namespace),
    sshString(p.reserved ?? new Uint8Array(0)),
    sshString(p.hashAlg),
    sshString(p.signature),
  ]);
}

/** What an SSHSIG signature signs (PROTOCOL.sshsig §3). */
export function signedData(namespace: string, hashAlg: "sha256" | "sha512", message: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from("SSHSIG"), sshString(namespace), sshString(""), sshString(hashAlg), sshString(createHash(hashAlg).update(message).digest())]);
}

export interface CraftedKey {
  /** The key type name of the public key. */
  readonly type: string;
  readonly publicBlob: Buffer;
  /** `type base64`, as in an allowed_signers line. */
  readonly publicLine: string;
  /** The inner signature blob (type name and signature) over `data`. */
  sign(data: Uint8Array, sk?: { flags?: number; counter?: number }): Buffer;
}

function b64u(s: string | undefined): Buffer {
  return Buffer.from(s ?? "", "base64url");
}

function line(type: string, blob: Buffer): string {
  return `${type} ${blob.toString("base64")}`;
}

function sha256(data: Uint8Array): Buffer {
  return createHash("sha256").update(data).digest();
}

export function craftEd25519(): CraftedKey & { readonly privateKey: KeyObject; readonly pk: Buffer } {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const pk = b64u(publicKey.export({ format: "jwk" }).x);
  const publicBlob = Buffer.concat([sshString("ssh-ed25519"), sshString(pk)]);
  return { type: "ssh-ed25519", publicBlob, publicLine: line("ssh-ed25519", publicBlob), privateKey, pk, sign: (data) => Buffer.concat([sshString("ssh-ed25519"), sshString(sign(null, data, privateKey))]) };
}

export function craftEd25519Sk(application = "ssh:"): CraftedKey {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const pk = b64u(publicKey.export({ format: "jwk" }).x);
  const type = "sk-ssh-ed25519@openssh.com";
  const publicBlob = Buffer.concat([sshString(type), sshString(pk), sshString(application)]);
  return {
    type,
    publicBlob,
    publicLine: line(type, publicBlob),
    sign: (data, sk = {}) => {
      const flags = sk.flags ?? 1;
      const counter = sk.counter ?? 7;
      const signed = Buffer.concat([sha256(Buffer.from(application, "latin1")), Buffer.of(flags), u32(counter), sha256(data)]);
      return Buffer.concat([sshString(type), sshString(sign(null, signed, privateKey)), Buffer.of(flags), u32(counter)]);
    },
  };
}

const CURVES = { nistp256: { node: "prime256v1", size: 32, hash: "sha256" }, nistp384: { node: "secp384r1", size: 48, hash: "sha384" }, nistp521: { node: "secp521r1", size: 66, hash: "sha512" } } as const;

export function craftEcdsa(curve: keyof typeof CURVES, options: { sk?: string; padMpints?: boolean } = {}): CraftedKey {
  const c = CURVES[curve];
  const { publicKey, privateKey } = generateKeyPairSync("ec", { namedCurve: c.node });
  const jwk = publicKey.export({ format: "jwk" });
  const point = Buffer.concat([Buffer.of(4), b64u(jwk.x), b64u(jwk.y)]);
  const type = options.sk === undefined ? `ecdsa-sha2-${curve}` : "sk-ecdsa-sha2-nistp256@openssh.com";
  const publicBlob = Buffer.concat([sshString(type), sshString(curve), sshString(point), ...(options.sk === undefined ? [] : [sshString(options.sk)])]);
  const encode = (p1363: Buffer): Buffer => {
    const r = p1363.subarray(0, c.size);
    const s = p1363.subarray(c.size);
    // OpenSSH accepts (and trims) needless leading zero bytes in an mpint.
    if (options.padMpints === true) return Buffer.concat([sshString(Buffer.concat([Buffer.alloc(2), r])), sshString(Buffer.concat([Buffer.alloc(3), s]))]);
    return Buffer.concat([mpint(r), mpint(s)]);
  };
  return {
    type,
    publicBlob,
    publicLine: line(type, publicBlob),
    sign: (data, sk = {}) => {
      if (options.sk === undefined) return Buffer.concat([sshString(type), sshString(encode(sign(c.hash, data, { key: privateKey, dsaEncoding: "ieee-p1363" })))]);
      const flags = sk.flags ?? 1;
      const counter = sk.counter ?? 7;
      const signed = Buffer.concat([sha256(Buffer.from(options.sk, "latin1")), Buffer.of(flags), u32(counter), sha256(data)]);
      return Buffer.concat([sshString(type), sshString(encode(sign("sha256", signed, { key: privateKey, dsaEncoding: "ieee-p1363" }))), Buffer.of(flags), u32(counter)]);
    },
  };
}

export function craftRsa(bits: number, sigType: "rsa-sha2-256" | "rsa-sha2-512" | "ssh-rsa", options: { shortSignature?: boolean } = {}): CraftedKey {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: bits });
  const jwk = publicKey.export({ format: "jwk" });
  const publicBlob = Buffer.concat([sshString("ssh-rsa"), mpint(b64u(jwk.e)), mpint(b64u(jwk.n))]);
  const hash = sigType === "rsa-sha2-256" ? "sha256" : sigType === "rsa-sha2-512" ? "sha512" : "sha1";
  return {
    type: "ssh-rsa",
    publicBlob,
    publicLine: line("ssh-rsa", publicBlob),
    sign: (data) => {
      let s = sign(hash, data, privateKey);
      // ssh_rsa_verify left-pads signatures shorter than the modulus.
      if (options.shortSignature === true) {
        let i = 0;
        while (i < s.length - 1 && s[i] === 0) i++;
        s = s.subarray(i);
      }
      return Buffer.concat([sshString(sigType), sshString(s)]);
    },
  };
}

/** sshsigFor signs `message` with a crafted key and returns the armored signature. */
export function sshsigFor(key: CraftedKey, message: Uint8Array, options: { namespace?: string; hashAlg?: "sha256" | "sha512"; sk?: { flags?: number; counter?: number } } = {}): string {
  const namespace = options.namespace ?? "git";
  const hashAlg = options.hashAlg ?? "sha512";
  return armor(sshsigBlob({ publicKey: key.publicBlob, namespace, hashAlg, signature: key.sign(signedData(namespace, hashAlg, message), options.sk) }));
}

/** sshKeygenSign signs `message` with `ssh-keygen -Y sign` and returns the armored signature. */
export function sshKeygenSign(privateKey: string, message: Uint8Array, namespace = "git", hashAlg?: "sha256" | "sha512"): string {
  return execFileSync("ssh-keygen", ["-Y", "sign", "-n", namespace, "-f", privateKey, ...(hashAlg === undefined ? [] : ["-O", `hashalg=${hashAlg}`])], { input: message, stdio: ["pipe", "pipe", "ignore"] }).toString("latin1");
}

/** The `type base64` of an OpenSSH public key file. */
export function publicLineOf(publicFile: string): string {
  return readFileSync(publicFile, "latin1").trim().split(" ").slice(0, 2).join(" ");
}

/** A commit payload (the object without a signature) with `message`. */
export function commitPayload(message: string, tree = "4b825dc642cb6eb9a060e54bf8d69288fbee4904"): Buffer {
  return Buffer.from(`tree ${tree}\nauthor Admin <admin@cluster> 1700000000 +0000\ncommitter Admin <admin@cluster> 1700000000 +0000\n\n${message}`, "latin1");
}

/** The raw commit object git writes for `payload` signed with `armored`: a gpgsig header after the others. */
export function withGpgsig(payload: Uint8Array, armored: string): Buffer {
  const p = Buffer.from(payload);
  const blank = p.indexOf("\n\n");
  const header = `gpgsig ${armored.replace(/\n$/, "").split("\n").join("\n ")}\n`;
  return Buffer.concat([p.subarray(0, blank + 1), Buffer.from(header, "latin1"), p.subarray(blank + 1)]);
}
