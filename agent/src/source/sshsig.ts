/**
 * SSH signatures (OpenSSH PROTOCOL.sshsig) checked in process with node:crypto. Pure: bytes in,
 * decisions out; no files, no processes (node:crypto only computes).
 *
 * What is accepted mirrors `ssh-keygen -Y check-novalidate` of OpenSSH 9.2 (sshsig.c
 * sshsig_verifyb, sshkey.c sshkey_from_blob, and the per-type verify functions of
 * ssh-ed25519.c, ssh-ecdsa.c, ssh-rsa.c, ssh-ed25519-sk.c, ssh-ecdsa-sk.c), for the key types
 * implemented here: ssh-ed25519, ecdsa-sha2-nistp256/384/521, ssh-rsa (signatures rsa-sha2-256
 * and rsa-sha2-512 only, as sshsig.c refuses SHA-1), sk-ssh-ed25519@openssh.com and
 * sk-ecdsa-sha2-nistp256@openssh.com. Everything else (certificates, ssh-dss, webauthn
 * signatures) is `unsupported`, and so is every case where node's OpenSSL might judge
 * differently from OpenSSH's own code: an Ed25519 scalar s >= L (OpenSSH's ref10 reduces it,
 * OpenSSL refuses it), a non-canonical Ed25519 public key, an RSA key with an unusual exponent.
 * The caller asks ssh-keygen whenever the answer is `unsupported`.
 *
 * Security keys: OpenSSH 9.2's sshsig does not look at the user-presence flag (only sshd's
 * authorized_keys does, see `no-touch-required`), so neither does this module.
 */
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from "node:crypto";

/** A public key of one of the implemented types, as OpenSSH compares keys (sshkey_equal). */
export type SshPublicKey =
  | { readonly type: "ssh-ed25519"; readonly pk: Uint8Array }
  | { readonly type: "sk-ssh-ed25519@openssh.com"; readonly pk: Uint8Array; readonly application: string }
  | { readonly type: EcdsaType; readonly point: Uint8Array }
  | { readonly type: "sk-ecdsa-sha2-nistp256@openssh.com"; readonly point: Uint8Array; readonly application: string }
  /** e and n without leading zero bytes: OpenSSH compares them as numbers. */
  | { readonly type: "ssh-rsa"; readonly e: Uint8Array; readonly n: Uint8Array };

export type EcdsaType = "ecdsa-sha2-nistp256" | "ecdsa-sha2-nistp384" | "ecdsa-sha2-nistp521";
export type SshKeyType = SshPublicKey["type"];

/**
 * The result of reading a public key blob as sshkey_from_blob does:
 * - `key`: a key of an implemented type;
 * - `invalid`: OpenSSH refuses the blob too;
 * - `key-length`: an RSA modulus under 1024 bits (SSH_ERR_KEY_LENGTH, which some callers skip);
 * - `other`: a type OpenSSH knows and this module does not implement (certificates, DSA, XMSS).
 */
export type KeyParse =
  | { readonly kind: "key"; readonly key: SshPublicKey }
  | { readonly kind: "invalid"; readonly reason: string }
  | { readonly kind: "key-length" }
  | { readonly kind: "other"; readonly type: string };

/** The verdict on one SSHSIG blob over one message, as `-Y check-novalidate` would give it. */
export type SshsigCheck =
  | { readonly kind: "valid"; readonly key: SshPublicKey }
  | { readonly kind: "invalid"; readonly reason: string }
  | { readonly kind: "unsupported"; readonly reason: string };

const MAGIC = "SSHSIG";
const MAX_VERSION = 1;
const ARMOR_BEGIN = "-----BEGIN SSH SIGNATURE-----\n";
const ARMOR_END = "\n-----END SSH SIGNATURE-----";
/** sshbuf.h: SSHBUF_SIZE_MAX, SSHBUF_MAX_BIGNUM, SSHBUF_MAX_ECPOINT. */
const SSHBUF_SIZE_MAX = 0x8000000;
const MAX_BIGNUM_BYTES = 16384 / 8;
const MAX_ECPOINT_BYTES = (528 * 2) / 8 + 1;
/** sshkey.h: SSH_RSA_MINIMUM_MODULUS_SIZE. */
const RSA_MIN_BITS = 1024;

interface Curve {
  readonly name: "nistp256" | "nistp384" | "nistp521";
  readonly jwk: "P-256" | "P-384" | "P-521";
  readonly hash: "sha256" | "sha384" | "sha512";
  /** Bytes of a field element (and of r, s in IEEE P1363 form). */
  readonly size: number;
  readonly p: bigint;
  readonly b: bigint;
  readonly n: bigint;
}

// Domain parameters of FIPS 186-4 (a = -3); checked against `openssl ecparam -param_enc explicit`.
const P256: Curve = {
  name: "nistp256", jwk: "P-256", hash: "sha256", size: 32,
  p: 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn,
  b: 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn,
  n: 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n,
};
const P384: Curve = {
  name: "nistp384", jwk: "P-384", hash: "sha384", size: 48,
  p: 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffeffffffff0000000000000000ffffffffn,
  b: 0xb3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013875ac656398d8a2ed19d2a85c8edd3ec2aefn,
  n: 0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973n,
};
const P521: Curve = {
  name: "nistp521", jwk: "P-521", hash: "sha512", size: 66,
  p: (1n << 521n) - 1n,
  b: 0x51953eb9618e1c9a1f929a21a0b68540eea2da725b99b315f3b8b489918ef109e156193951ec7e937b1652c0bd3bb1bf073573df883d2c34f1ef451fd46b503f00n,
  n: 0x1fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409n,
};
const CURVE_OF: Readonly<Record<EcdsaType | "sk-ecdsa-sha2-nistp256@openssh.com", Curve>> = {
  "ecdsa-sha2-nistp256": P256,
  "ecdsa-sha2-nistp384": P384,
  "ecdsa-sha2-nistp521": P521,
  "sk-ecdsa-sha2-nistp256@openssh.com": P256,
};

/**
 * The key type names sshkey_type_from_name maps to an implemented type, with the curve that
 * sshkey_ecdsa_nid_from_name gives them. The webauthn name is an alias OpenSSH accepts for
 * sk-ecdsa keys; rsa-sha2-* are aliases for ssh-rsa.
 */
const BLOB_TYPE_NAMES: ReadonlyMap<string, { readonly type: SshKeyType; readonly curve?: Curve }> = new Map<string, { type: SshKeyType; curve?: Curve }>([
  ["ssh-ed25519", { type: "ssh-ed25519" }],
  ["sk-ssh-ed25519@openssh.com", { type: "sk-ssh-ed25519@openssh.com" }],
  ["ecdsa-sha2-nistp256", { type: "ecdsa-sha2-nistp256", curve: P256 }],
  ["ecdsa-sha2-nistp384", { type: "ecdsa-sha2-nistp384", curve: P384 }],
  ["ecdsa-sha2-nistp521", { type: "ecdsa-sha2-nistp521", curve: P521 }],
  ["sk-ecdsa-sha2-nistp256@openssh.com", { type: "sk-ecdsa-sha2-nistp256@openssh.com", curve: P256 }],
  ["webauthn-sk-ecdsa-sha2-nistp256@openssh.com", { type: "sk-ecdsa-sha2-nistp256@openssh.com", curve: P256 }],
  ["ssh-rsa", { type: "ssh-rsa" }],
  ["rsa-sha2-256", { type: "ssh-rsa" }],
  ["rsa-sha2-512", { type: "ssh-rsa" }],
]);
/**
 * Short names sshkey_type_from_name also accepts, case-insensitively, for plain key types.
 * For "ecdsa" and "ecdsa-sk" the curve lookup by name then fails, so such blobs are invalid.
 */
const BLOB_SHORT_NAMES: ReadonlyMap<string, SshKeyType | "no-curve"> = new Map<string, SshKeyType | "no-curve">([
  ["ed25519", "ssh-ed25519"],
  ["ed25519-sk", "sk-ssh-ed25519@openssh.com"],
  ["rsa", "ssh-rsa"],
  ["ecdsa", "no-curve"],
  ["ecdsa-sk", "no-curve"],
]);

/**
 * The other key type names of OpenSSH 9.2's keyimpls[] (sshkey.c): types OpenSSH knows and this
 * module leaves to it. XMSS is listed although portable builds usually leave it out; then
 * ssh-keygen decides all the same.
 */
export const OTHER_KEY_TYPES: ReadonlySet<string> = new Set([
  "ssh-ed25519-cert-v01@openssh.com",
  "sk-ssh-ed25519-cert-v01@openssh.com",
  "ecdsa-sha2-nistp256-cert-v01@openssh.com",
  "ecdsa-sha2-nistp384-cert-v01@openssh.com",
  "ecdsa-sha2-nistp521-cert-v01@openssh.com",
  "sk-ecdsa-sha2-nistp256-cert-v01@openssh.com",
  "ssh-dss",
  "ssh-dss-cert-v01@openssh.com",
  "ssh-rsa-cert-v01@openssh.com",
  "rsa-sha2-256-cert-v01@openssh.com",
  "rsa-sha2-512-cert-v01@openssh.com",
  "ssh-xmss@openssh.com",
  "ssh-xmss-cert-v01@openssh.com",
]);
/** Short names of those other plain types, which sshkey_type_from_name also accepts in any case. */
const OTHER_SHORT_NAMES: ReadonlySet<string> = new Set(["dsa", "xmss"]);

/**
 * The key type names sshkey_read accepts at the start of a text key line (peek_type_nid: exact
 * names only) that denote an implemented type. Used by the allowed_signers and revocation
 * list readers.
 */
export const TEXT_KEY_TYPES: ReadonlyMap<string, SshKeyType> = new Map<string, SshKeyType>(
  [...BLOB_TYPE_NAMES].map(([name, t]) => [name, t.type]),
);

// ---------------------------------------------------------------------------------------------
// Wire format (RFC 4251 §5, as sshbuf-getput-basic.c reads it)

/** A cursor over SSH wire data. Every getter returns undefined when the data is short or malformed. */
class WireReader {
  private at = 0;
  constructor(private readonly bytes: Uint8Array) {}

  get remaining(): number {
    return this.bytes.length - this.at;
  }

  u8(): number | undefined {
    if (this.remaining < 1) return undefined;
    return this.bytes[this.at++];
  }

  u32(): number | undefined {
    if (this.remaining < 4) return undefined;
    const b = this.bytes;
    const v = ((b[this.at] as number) * 0x1000000) + (((b[this.at + 1] as number) << 16) | ((b[this.at + 2] as number) << 8) | (b[this.at + 3] as number));
    this.at += 4;
    return v;
  }

  /** sshbuf_get_string: a uint32 length and that many bytes. */
  string(): Uint8Array | undefined {
    const start = this.at;
    const len = this.u32();
    if (len === undefined || len > SSHBUF_SIZE_MAX - 4 || this.remaining < len) {
      this.at = start;
      return undefined;
    }
    const s = this.bytes.subarray(this.at, this.at + len);
    this.at += len;
    return s;
  }

  /** sshbuf_get_cstring: a string with no NUL except, optionally, as its last byte (then dropped). Bytes as latin1. */
  cstring(): string | undefined {
    const s = this.string();
    if (s === undefined) return undefined;
    const nul = s.indexOf(0);
    if (nul !== -1 && nul < s.length - 1) return undefined;
    return latin1(nul === -1 ? s : s.subarray(0, nul));
  }

  /**
   * sshbuf_get_bignum2_bytes_direct: an mpint that is not negative and not longer than
   * SSHBUF_MAX_BIGNUM (plus one leading zero), returned without its leading zero bytes.
   */
  mpint(): Uint8Array | undefined {
    const start = this.at;
    const d = this.string();
    if (d === undefined) return undefined;
    if ((d.length > 0 && ((d[0] as number) & 0x80) !== 0) || d.length > MAX_BIGNUM_BYTES + 1 || (d.length === MAX_BIGNUM_BYTES + 1 && d[0] !== 0)) {
      this.at = start;
      return undefined;
    }
    let i = 0;
    while (i < d.length && d[i] === 0) i++;
    return d.subarray(i);
  }
}

/** `bytes` as a string of code points 0–255 (latin1): text as C code sees it. */
export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("latin1");
}

/** The text of bytes held as latin1, decoded as UTF-8; undefined when they are not UTF-8. */
export function latin1ToUtf8(s: string): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(Buffer.from(s, "latin1"));
  } catch {
    return undefined;
  }
}

function u32be(n: number): Uint8Array {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function sshString(bytes: Uint8Array): Uint8Array {
  return Buffer.concat([u32be(bytes.length), bytes]);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

function toBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(`0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`);
}

function bitLength(v: bigint): number {
  return v === 0n ? 0 : v.toString(2).length;
}

// ---------------------------------------------------------------------------------------------
// Base64 and armor

const B64_VALUE: Int8Array = (() => {
  const t = new Int8Array(256).fill(-1);
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (let i = 0; i < alphabet.length; i++) t[alphabet.charCodeAt(i)] = i;
  return t;
})();

/** C isspace() in the C locale. */
function isCSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * decodeBase64Strict decodes base64 exactly as OpenSSH's b64_pton (openbsd-compat/base64.c) does:
 * white space is skipped anywhere, padding is required and must be canonical, and the unused
 * bits of the last character must be zero. Returns undefined where b64_pton fails. Pure.
 */
export function decodeBase64Strict(text: Uint8Array): Uint8Array | undefined {
  const out = new Uint8Array(Math.floor((text.length * 3) / 4) + 3);
  let state = 0;
  let n = 0;
  let i = 0;
  let ch = -1;
  for (; i < text.length; i++) {
    ch = text[i] as number;
    if (isCSpace(ch)) continue;
    if (ch === 0x3d) break;
    const v = B64_VALUE[ch] as number;
    if (v < 0) return undefined;
    switch (state) {
      case 0:
        out[n] = v << 2;
        state = 1;
        break;
      case 1:
        out[n] = (out[n] as number) | (v >> 4);
        out[n + 1] = (v & 0x0f) << 4;
        n++;
        state = 2;
        break;
      case 2:
        out[n] = (out[n] as number) | (v >> 2);
        out[n + 1] = (v & 0x03) << 6;
        n++;
        state = 3;
        break;
      default:
        out[n] = (out[n] as number) | v;
        n++;
        state = 0;
    }
  }
  if (i < text.length) {
    // Stopped at a pad character.
    if (state === 0 || state === 1) return undefined;
    i++;
    if (state === 2) {
      while (i < text.length && isCSpace(text[i] as number)) i++;
      if (i >= text.length || text[i] !== 0x3d) return undefined;
      i++;
    }
    for (; i < text.length; i++) if (!isCSpace(text[i] as number)) return undefined;
    // The bits after the last whole byte would be a subliminal channel.
    if (out[n] !== 0) return undefined;
  } else if (state !== 0) {
    return undefined;
  }
  return out.subarray(0, n);
}

/**
 * dearmorSignature extracts the SSHSIG blob from an armored signature as sshsig_dearmor does:
 * the text must start with the BEGIN line; it ends at the first "\n-----END SSH SIGNATURE-----"
 * (what follows is ignored); a NUL is allowed only as the last byte of the base64 body.
 * Returns undefined where ssh-keygen would fail. Pure.
 */
export function dearmorSignature(armor: Uint8Array): Uint8Array | undefined {
  const begin = Buffer.from(ARMOR_BEGIN, "latin1");
  const buf = Buffer.from(armor.buffer, armor.byteOffset, armor.byteLength);
  if (buf.length < begin.length || !buf.subarray(0, begin.length).equals(begin)) return undefined;
  const rest = buf.subarray(begin.length);
  const end = rest.indexOf(ARMOR_END, 0, "latin1");
  if (end === -1) return undefined;
  let body = rest.subarray(0, end);
  const nul = body.indexOf(0);
  if (nul !== -1) {
    if (nul !== body.length - 1) return undefined;
    body = body.subarray(0, nul);
  }
  return decodeBase64Strict(body);
}

// ---------------------------------------------------------------------------------------------
// Public keys

/**
 * parseSshPublicKey reads a public key blob as sshkey_from_blob does (type name, then the
 * type's fields, then no trailing bytes), for the implemented types. Certificates and the
 * other types OpenSSH knows are `other`; a name it does not know is `invalid`. Pure; never throws.
 */
export function parseSshPublicKey(blob: Uint8Array): KeyParse {
  const r = new WireReader(blob);
  const name = r.cstring();
  if (name === undefined) return invalid("the key has no type");
  let known = BLOB_TYPE_NAMES.get(name);
  if (known === undefined) {
    const short = BLOB_SHORT_NAMES.get(name.toLowerCase());
    if (short === "no-curve") return invalid("the key names no curve");
    if (short === undefined) {
      // sshkey_type_from_name knows no other names: SSH_ERR_KEY_TYPE_UNKNOWN.
      return OTHER_KEY_TYPES.has(name) || OTHER_SHORT_NAMES.has(name.toLowerCase()) ? { kind: "other", type: name } : invalid("unknown key type");
    }
    known = { type: short };
  }
  let key: SshPublicKey;
  switch (known.type) {
    case "ssh-ed25519":
    case "sk-ssh-ed25519@openssh.com": {
      const pk = r.string();
      if (pk === undefined || pk.length !== 32) return invalid("the Ed25519 key is not 32 bytes");
      if (known.type === "ssh-ed25519") key = { type: known.type, pk };
      else {
        const application = r.cstring();
        if (application === undefined) return invalid("the security key has no application");
        key = { type: known.type, pk, application };
      }
      break;
    }
    case "ecdsa-sha2-nistp256":
    case "ecdsa-sha2-nistp384":
    case "ecdsa-sha2-nistp521":
    case "sk-ecdsa-sha2-nistp256@openssh.com": {
      const curve = known.curve as Curve;
      const curveName = r.cstring();
      if (curveName !== curve.name) return invalid("the curve does not match the key type");
      const point = r.string();
      if (point === undefined) return invalid("the key has no point");
      const why = checkEcPoint(point, curve);
      if (why !== undefined) return invalid(why);
      if (known.type === "sk-ecdsa-sha2-nistp256@openssh.com") {
        const application = r.cstring();
        if (application === undefined) return invalid("the security key has no application");
        key = { type: known.type, point, application };
      } else key = { type: known.type, point };
      break;
    }
    case "ssh-rsa": {
      const e = r.mpint();
      const n = r.mpint();
      if (e === undefined || n === undefined) return invalid("the RSA key is malformed");
      // sshkey_check_rsa_length, before the trailing-bytes check.
      if (bitLength(toBigInt(n)) < RSA_MIN_BITS) return { kind: "key-length" };
      key = { type: "ssh-rsa", e, n };
      break;
    }
  }
  if (r.remaining !== 0) return invalid("the key blob has trailing bytes");
  return { kind: "key", key };
}

/**
 * checkEcPoint applies what sshbuf_get_eckey and sshkey_ec_validate_public require of a public
 * point: uncompressed form of the curve's length, coordinates below p, on the curve, both
 * coordinates longer than half the order's bits and below order - 1. Returns why not, or undefined.
 */
function checkEcPoint(point: Uint8Array, curve: Curve): string | undefined {
  if (point.length === 0 || point.length > MAX_ECPOINT_BYTES) return "the EC point has a bad length";
  if (point[0] !== 0x04) return "the EC point is not uncompressed";
  if (point.length !== 1 + 2 * curve.size) return "the EC point has a bad length";
  const x = toBigInt(point.subarray(1, 1 + curve.size));
  const y = toBigInt(point.subarray(1 + curve.size));
  const { p, b, n } = curve;
  if (x >= p || y >= p) return "an EC coordinate is not below p";
  if ((y * y - (x * x * x - 3n * x + b)) % p !== 0n) return "the EC point is not on the curve";
  const half = Math.floor(bitLength(n) / 2);
  if (bitLength(x) <= half || bitLength(y) <= half) return "an EC coordinate is too small";
  if (x >= n - 1n || y >= n - 1n) return "an EC coordinate is not below the order";
  return undefined;
}

/** sameSshKey says whether two keys are the same key, as sshkey_equal compares plain keys. Pure. */
export function sameSshKey(a: SshPublicKey, b: SshPublicKey): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case "ssh-ed25519":
      return equalBytes(a.pk, (b as typeof a).pk);
    case "sk-ssh-ed25519@openssh.com":
      return a.application === (b as typeof a).application && equalBytes(a.pk, (b as typeof a).pk);
    case "ecdsa-sha2-nistp256":
    case "ecdsa-sha2-nistp384":
    case "ecdsa-sha2-nistp521":
      return equalBytes(a.point, (b as typeof a).point);
    case "sk-ecdsa-sha2-nistp256@openssh.com":
      return a.application === (b as typeof a).application && equalBytes(a.point, (b as typeof a).point);
    case "ssh-rsa":
      return equalBytes(a.e, (b as typeof a).e) && equalBytes(a.n, (b as typeof a).n);
  }
}

/** A public key as people compare keys: its type name and its `ssh-keygen -l` fingerprint. */
export interface KeyFingerprint {
  readonly type: string;
  /** `SHA256:` and the unpadded base64 of the SHA-256 of the key blob. */
  readonly fingerprint: string;
}

/** sshFingerprint is the fingerprint `ssh-keygen -l` (FingerprintHash sha256) prints for a public key blob. Pure. */
export function sshFingerprint(blob: Uint8Array): string {
  return `SHA256:${createHash("sha256").update(blob).digest("base64").replace(/=+$/, "")}`;
}

/**
 * keyFingerprint names a public key blob by its type (the blob's own type name) and
 * fingerprint; undefined when the blob does not even start with a type name. Pure.
 */
export function keyFingerprint(blob: Uint8Array): KeyFingerprint | undefined {
  const type = new WireReader(blob).cstring();
  if (type === undefined || type === "" || !/^[\x21-\x7e]{1,64}$/.test(type)) return undefined;
  return { type, fingerprint: sshFingerprint(blob) };
}

// ---------------------------------------------------------------------------------------------
// SSHSIG blobs

interface SshsigFields {
  readonly key: Uint8Array;
  readonly namespace: string;
  readonly hashAlg: string;
  readonly signature: Uint8Array;
}

/** sshsig_parse_preamble: the magic and a version no greater than 1. */
function readPreamble(r: WireReader, blob: Uint8Array): boolean {
  if (blob.length < MAGIC.length || latin1(blob.subarray(0, MAGIC.length)) !== MAGIC) return false;
  for (let i = 0; i < MAGIC.length; i++) r.u8();
  const version = r.u32();
  return version !== undefined && version <= MAX_VERSION;
}

/** sshsig_peek_hashalg then sshsig_wrap_verify's parse: every field, no trailing bytes. */
function readSshsig(blob: Uint8Array): SshsigFields | undefined {
  const peek = new WireReader(blob);
  if (!readPreamble(peek, blob)) return undefined;
  if (peek.string() === undefined || peek.string() === undefined || peek.string() === undefined) return undefined;
  if (peek.cstring() === undefined || peek.string() === undefined) return undefined;
  const r = new WireReader(blob);
  readPreamble(r, blob);
  const key = r.string();
  const namespace = r.cstring();
  const reserved = r.string();
  const hashAlg = r.cstring();
  const signature = r.string();
  if (key === undefined || namespace === undefined || reserved === undefined || hashAlg === undefined || signature === undefined) return undefined;
  if (r.remaining !== 0) return undefined;
  return { key, namespace, hashAlg, signature };
}

/**
 * signatureSigner names the key an SSHSIG blob says made it (type and fingerprint), without
 * checking the signature; undefined when the blob does not parse. For messages: a bad or
 * untrusted signature is easier to trace by the key that claims it. Pure.
 */
export function signatureSigner(blob: Uint8Array): KeyFingerprint | undefined {
  const fields = readSshsig(blob);
  return fields === undefined ? undefined : keyFingerprint(fields.key);
}

/**
 * checkSshsig verifies the SSHSIG blob `blob` over `message` for `namespace`, as
 * `ssh-keygen -Y check-novalidate -n NAMESPACE` does: valid format, a hash algorithm of sha256
 * or sha512, the namespace, and the signature by the key the blob carries. No trust decision.
 * Returns `unsupported` for key types and edge cases this module leaves to ssh-keygen (see the
 * module comment). Pure; never throws.
 */
export function checkSshsig(blob: Uint8Array, message: Uint8Array, namespace: string): SshsigCheck {
  const fields = readSshsig(blob);
  if (fields === undefined) return bad("the signature is malformed");
  if (fields.hashAlg !== "sha256" && fields.hashAlg !== "sha512") return bad("unsupported hash algorithm");
  const parsed = parseSshPublicKey(fields.key);
  if (parsed.kind === "invalid" || parsed.kind === "key-length") return bad("the signature's public key is invalid");
  // Whatever OpenSSH makes of a key type it may know, these fail for every key.
  if (fields.namespace !== namespace) return bad("the namespace does not match");
  if (fields.signature.length === 0) return bad("the signature is empty");
  if (parsed.kind === "other") return { kind: "unsupported", reason: `key type ${JSON.stringify(parsed.type)} is checked by ssh-keygen` };
  const toVerify = Buffer.concat([
    Buffer.from(MAGIC, "latin1"),
    sshString(Buffer.from(namespace, "latin1")),
    sshString(new Uint8Array(0)),
    sshString(Buffer.from(fields.hashAlg, "latin1")),
    sshString(createHash(fields.hashAlg).update(message).digest()),
  ]);
  try {
    return verifyKeySignature(parsed.key, fields.signature, toVerify);
  } catch (e) {
    // node refused something OpenSSH might accept: let ssh-keygen decide.
    return { kind: "unsupported", reason: `node:crypto: ${e instanceof Error ? e.message : String(e)}` };
  }
}

function bad(reason: string): SshsigCheck {
  return { kind: "invalid", reason };
}

function invalid(reason: string): KeyParse {
  return { kind: "invalid", reason };
}

/** The per-type verify function of OpenSSH (sshkey_verify with alg NULL) for `key`. May throw from node:crypto. */
function verifyKeySignature(key: SshPublicKey, sig: Uint8Array, data: Uint8Array): SshsigCheck {
  const r = new WireReader(sig);
  const sigType = r.cstring();
  if (sigType === undefined) return bad("the signature has no type");
  const valid: SshsigCheck = { kind: "valid", key };
  switch (key.type) {
    case "ssh-ed25519":
    case "sk-ssh-ed25519@openssh.com": {
      const blob = r.string();
      const sk = key.type === "sk-ssh-ed25519@openssh.com" ? readSkFields(r, key.application) : undefined;
      if (blob === undefined || sk === null) return bad("the signature is malformed");
      if (sigType !== key.type) return bad("the signature type does not match the key");
      if (r.remaining !== 0) return bad("the signature has trailing bytes");
      // crypto_sign_ed25519_open takes the first 64 bytes as the signature and then fails the
      // length check for anything shorter; longer is refused outright.
      if (blob.length !== 64) return bad("the Ed25519 signature is not 64 bytes");
      const edge = ed25519Edge(key.pk, blob);
      if (edge !== undefined) return { kind: "unsupported", reason: edge };
      const signed = sk === undefined ? data : Buffer.concat([sk, sha256(data)]);
      return cryptoVerify(null, signed, keyObject(key), blob) ? valid : bad("incorrect signature");
    }
    case "ecdsa-sha2-nistp256":
    case "ecdsa-sha2-nistp384":
    case "ecdsa-sha2-nistp521":
    case "sk-ecdsa-sha2-nistp256@openssh.com": {
      const isSk = key.type === "sk-ecdsa-sha2-nistp256@openssh.com";
      if (isSk && sigType === "webauthn-sk-ecdsa-sha2-nistp256@openssh.com") return { kind: "unsupported", reason: "webauthn signatures are checked by ssh-keygen" };
      const inner = r.string();
      const sk = key.type === "sk-ecdsa-sha2-nistp256@openssh.com" ? readSkFields(r, key.application) : undefined;
      if (inner === undefined || sk === null) return bad("the signature is malformed");
      if (sigType !== key.type) return bad("the signature type does not match the key");
      if (r.remaining !== 0) return bad("the signature has trailing bytes");
      const ri = new WireReader(inner);
      const sr = ri.mpint();
      const ss = ri.mpint();
      if (sr === undefined || ss === undefined) return bad("the ECDSA signature is malformed");
      if (ri.remaining !== 0) return bad("the ECDSA signature has trailing bytes");
      const curve = CURVE_OF[key.type];
      // r or s longer than the order's length is above the order: ECDSA_do_verify refuses it.
      if (sr.length > curve.size || ss.length > curve.size) return bad("incorrect signature");
      const p1363 = Buffer.alloc(2 * curve.size);
      p1363.set(sr, curve.size - sr.length);
      p1363.set(ss, 2 * curve.size - ss.length);
      // Security keys sign SHA-256 over application hash, flags, counter and message hash.
      const signed = sk === undefined ? data : Buffer.concat([sk, sha256(data)]);
      const hash = sk === undefined ? curve.hash : "sha256";
      return cryptoVerify(hash, signed, { key: keyObject(key), dsaEncoding: "ieee-p1363" }, p1363) ? valid : bad("incorrect signature");
    }
    case "ssh-rsa": {
      // sshsig.c allows only RSA_SIGN_ALLOWED, so never the SHA-1 "ssh-rsa" signature.
      if (sigType !== "rsa-sha2-256" && sigType !== "rsa-sha2-512") return bad("unsupported RSA signature algorithm");
      const blob = r.string();
      if (blob === undefined) return bad("the signature is malformed");
      if (r.remaining !== 0) return bad("the signature has trailing bytes");
      const edge = rsaEdge(key);
      if (edge !== undefined) return { kind: "unsupported", reason: edge };
      const modLen = key.n.length;
      if (blob.length > modLen) return bad("the RSA signature is longer than the modulus");
      // ssh_rsa_verify left-pads a short signature to RSA_size; OpenSSL's RSA_verify wants it exact.
      const padded = Buffer.alloc(modLen);
      padded.set(blob, modLen - blob.length);
      return cryptoVerify(sigType === "rsa-sha2-256" ? "sha256" : "sha512", data, keyObject(key), padded) ? valid : bad("incorrect signature");
    }
  }
}

/**
 * What a security key signed before the message hash: SHA-256 of the key's application, the
 * flags byte and the counter (ssh-ed25519-sk.c, ssh-ecdsa-sk.c). null when the fields are short.
 */
function readSkFields(r: WireReader, application: string): Uint8Array | null {
  const flags = r.u8();
  const counter = r.u32();
  if (flags === undefined || counter === undefined) return null;
  return Buffer.concat([sha256(Buffer.from(application, "latin1")), Uint8Array.of(flags), u32be(counter)]);
}

function sha256(data: Uint8Array): Buffer {
  return createHash("sha256").update(data).digest();
}

const ED25519_P = (1n << 255n) - 19n;
const ED25519_L = (1n << 252n) + 27742317777372353535851937790883648493n;

function littleEndian(bytes: Uint8Array): bigint {
  return toBigInt(Buffer.from(bytes).reverse());
}

/**
 * Where OpenSSH's ref10 Ed25519 and OpenSSL may disagree: ref10 reduces s modulo L where
 * OpenSSL refuses s >= L, and the two decode non-canonical public keys (y >= p, or x = 0 with
 * the sign bit set) in their own ways. No key ssh-keygen makes is like that.
 */
function ed25519Edge(pk: Uint8Array, sig: Uint8Array): string | undefined {
  const s = littleEndian(sig.subarray(32, 64));
  if (s >= ED25519_L) return "a non-canonical Ed25519 signature is checked by ssh-keygen";
  const y = littleEndian(pk) & ((1n << 255n) - 1n);
  const sign = ((pk[31] as number) & 0x80) !== 0;
  if (y >= ED25519_P || (sign && (y === 1n || y === ED25519_P - 1n))) return "a non-canonical Ed25519 key is checked by ssh-keygen";
  return undefined;
}

/** RSA keys whose exponent or modulus is unusual are left to ssh-keygen. */
function rsaEdge(key: Extract<SshPublicKey, { type: "ssh-rsa" }>): string | undefined {
  const e = toBigInt(key.e);
  const n = toBigInt(key.n);
  if (e < 3n || (e & 1n) === 0n || bitLength(e) > 64 || (n & 1n) === 0n) return "an RSA key with an unusual exponent or modulus is checked by ssh-keygen";
  return undefined;
}

// node KeyObjects are costly to build compared with a verification; commits are signed by few keys.
const KEY_OBJECTS = new Map<string, KeyObject>();
const MAX_KEY_OBJECTS = 64;

function keyObject(key: SshPublicKey): KeyObject {
  const b64u = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64url");
  let jwk: Record<string, string>;
  switch (key.type) {
    case "ssh-ed25519":
    case "sk-ssh-ed25519@openssh.com":
      jwk = { kty: "OKP", crv: "Ed25519", x: b64u(key.pk) };
      break;
    case "ecdsa-sha2-nistp256":
    case "ecdsa-sha2-nistp384":
    case "ecdsa-sha2-nistp521":
    case "sk-ecdsa-sha2-nistp256@openssh.com": {
      const curve = CURVE_OF[key.type];
      jwk = { kty: "EC", crv: curve.jwk, x: b64u(key.point.subarray(1, 1 + curve.size)), y: b64u(key.point.subarray(1 + curve.size)) };
      break;
    }
    case "ssh-rsa":
      jwk = { kty: "RSA", n: b64u(key.n), e: b64u(key.e) };
      break;
  }
  const id = JSON.stringify(jwk);
  let obj = KEY_OBJECTS.get(id);
  if (obj === undefined) {
    obj = createPublicKey({ key: jwk, format: "jwk" });
    if (KEY_OBJECTS.size >= MAX_KEY_OBJECTS) KEY_OBJECTS.clear();
    KEY_OBJECTS.set(id, obj);
  }
  return obj;
}
