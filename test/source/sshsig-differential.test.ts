/**
 * Differential test: the in-process check (verifyCommitSignature, through signature-verdict.ts)
 * against ssh-keygen 9.2 running the sequence signature.ts has always run (find-principals,
 * verify -I for each principal printed, check-novalidate), on cases drawn with a seeded PRNG:
 * - signatures by every implemented key type: ed25519, ECDSA P-256/384/521 and RSA 1024/2048
 *   made by `ssh-keygen -Y sign`; rsa-sha2-256, SHA-1 ssh-rsa and both security-key types
 *   made here (ssh-keygen signs RSA with rsa-sha2-512 only, and security keys need hardware);
 *   and an ed25519 certificate, which is ssh-keygen's to judge;
 * - tampered payloads, tampered signature bytes and armor, other namespaces, sha256 and sha512;
 * - random allowed_signers files: principal patterns with wildcards, negations, quotes, UTF-8
 *   and a byte that is not UTF-8; namespace lists with patterns; valid-after/valid-before in
 *   the past and future, as dates, minutes and seconds, in UTC (Z, z, UTC) and local time;
 *   option names in any case; cert-authority; unknown options; keys under the wrong type word,
 *   corrupt, truncated, or under an alias; duplicate, comment, blank and garbage lines; CRLF;
 * - revocation lists: the signer's key or another, comments, garbage lines, KRLs.
 * Cases run in UTC, then in Asia/Tokyo (local times resolved in process) and Europe/Berlin
 * (local times near a DST change are ssh-keygen's). When the in-process check hands a case to
 * ssh-keygen, the reason must be one the case explains.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import fc from "fast-check";
import type { Argv, Executor, RunResult } from "../../agent/src/exec.js";
import { verifyCommitSignature, type SignatureVerdict } from "../../agent/src/source/signature.js";
import { makeKey, makeTempDir, removeDir, type SshKey } from "../helpers/keys.js";
import { armor, commitPayload, craftEcdsa, craftEd25519Sk, craftRsa, sshString, sshKeygenSign, sshsigFor, unarmor, withGpgsig, type CraftedKey } from "../helpers/sshsig.js";

const SEED = 20260607;
const CASES = { UTC: 800, "Asia/Tokyo": 120, "Europe/Berlin": 120 } as const;
const PARALLEL = 8;

interface Signer {
  readonly name: string;
  /** `type base64` */
  readonly publicLine: string;
  readonly publicFile: string;
  readonly cert: boolean;
  sign(message: Uint8Array, namespace: string, hashAlg: "sha256" | "sha512"): string;
}

interface PoolEntry {
  readonly signer: number;
  readonly payload: Buffer;
  readonly armor: string;
  readonly namespace: string;
}

let dir: string;
let tmpDir: string;
const signers: Signer[] = [];
/** Public lines that sign nothing in the pool: a CA, an unrelated key. */
const extraKeys: string[] = [];
const pool: PoolEntry[] = [];
const krls = new Map<number, string>();

before(() => {
  dir = makeTempDir("steward-differential-");
  tmpDir = join(dir, "tmp");
  const keys = join(dir, "keys");
  mkdirSync(keys, { recursive: true });
  const fromKeygen = (k: SshKey): Signer => ({ name: k.name, publicLine: k.publicLine, publicFile: k.public, cert: false, sign: (m, ns, h) => sshKeygenSign(k.private, m, ns, h) });
  const crafted = (name: string, k: CraftedKey): Signer => {
    const publicFile = join(keys, `${name}.pub`);
    writeFileSync(publicFile, `${k.publicLine} ${name}\n`);
    return { name, publicLine: k.publicLine, publicFile, cert: false, sign: (m, ns, h) => sshsigFor(k, m, { namespace: ns, hashAlg: h }) };
  };
  signers.push(
    fromKeygen(makeKey(keys, "ed-a")),
    fromKeygen(makeKey(keys, "ed-b")),
    fromKeygen(makeKey(keys, "p256", "ecdsa", 256)),
    fromKeygen(makeKey(keys, "p384", "ecdsa", 384)),
    fromKeygen(makeKey(keys, "p521", "ecdsa", 521)),
    fromKeygen(makeKey(keys, "rsa2048", "rsa", 2048)),
    fromKeygen(makeKey(keys, "rsa1024", "rsa", 1024)),
    crafted("rsa-sha256", craftRsa(2048, "rsa-sha2-256")),
    crafted("rsa-sha1", craftRsa(2048, "ssh-rsa")),
    crafted("ed-sk", craftEd25519Sk()),
    crafted("ec-sk", craftEcdsa("nistp256", { sk: "ssh:" })),
  );
  // A user certificate signed by a CA: certificates are ssh-keygen's to judge.
  const ca = makeKey(keys, "ca");
  const user = makeKey(keys, "user");
  execFileSync("ssh-keygen", ["-q", "-s", ca.private, "-I", "user", "-n", "admin@c,ops@c", user.public], { stdio: "ignore" });
  const certFile = `${user.private}-cert.pub`;
  signers.push({ name: "cert", publicLine: user.publicLine, publicFile: user.public, cert: true, sign: (m, ns, h) => sshKeygenSign(certFile, m, ns, h) });
  extraKeys.push(ca.publicLine, makeKey(keys, "unrelated").publicLine);

  signers.forEach((s, i) => {
    const variants: [string, "sha256" | "sha512"][] = [["git", "sha512"], ["git", "sha256"], ["file", "sha512"]];
    for (const [ns, hash] of variants) {
      const payload = commitPayload(`${s.name} ${ns} ${hash}\n\nsigned body ${i}\n`);
      pool.push({ signer: i, payload, armor: s.sign(payload, ns, hash), namespace: ns });
    }
    const krl = join(keys, `${s.name}.krl`);
    execFileSync("ssh-keygen", ["-q", "-k", "-f", krl, s.publicFile], { stdio: "ignore" });
    krls.set(i, krl);
  });
});

after(() => removeDir(dir));

// ---------------------------------------------------------------------------------------------
// Case descriptions

const utf8 = (s: string): string => Buffer.from(s, "utf8").toString("latin1");
const PRINCIPALS = ["admin@c", "admin@c", "ops@c", "admin@c,ops@c", "*@c", "a?min@c", "!admin@c,*@c", "*", "admin@c,*@ops", '"admin c"', '" admin@c"', utf8("ädmin@c"), "\xff@c", ",admin@c", "admin@c,,ops@c", "Admin@c", "adm*", "!ops@c,admin@c", '"*@c"'];
const NAMESPACES = ["git", "git", "file", "git,file", "file,git", "g*", "!git,*", "gi?", "*", "", "GIT", "file,!git", "!file,git"];
const OFFSETS = [-3 * 365 * 86400, -40 * 86400, -3 * 86400, -5 * 3600, 5 * 3600, 3 * 86400, 40 * 86400, 3 * 365 * 86400];
const GARBAGE = ["this is not a key", "admin@c", 'admin@c namespaces="git"', "admin@c ssh-ed25519", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5", '"unterminated ssh-ed25519 AAAA', "admin@c\0ssh-ed25519 AAAA"];

const casing = fc.constantFrom("lower", "upper", "title");
const optionArb = fc.oneof(
  { weight: 4, arbitrary: fc.record({ o: fc.constant("namespaces" as const), v: fc.constantFrom(...NAMESPACES), name: casing }) },
  { weight: 4, arbitrary: fc.record({ o: fc.constantFrom("valid-after" as const, "valid-before" as const), offset: fc.constantFrom(...OFFSETS), form: fc.constantFrom("date", "minute", "second"), zone: fc.constantFrom("Z", "z", "UTC", "local", "local"), name: casing }) },
  { weight: 1, arbitrary: fc.record({ o: fc.constant("cert-authority" as const), name: casing }) },
  { weight: 1, arbitrary: fc.record({ o: fc.constant("raw" as const), v: fc.constantFrom("no-touch-required", "namespaces=git", 'namespaces="git', 'valid-after="2025"', 'valid-before="20251301"', "") }) },
);
type OptionSpec = typeof optionArb extends fc.Arbitrary<infer T> ? T : never;

const keyArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ k: "signer" as const }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant("pool" as const), i: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("wrong-word" as const), word: fc.constantFrom("ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "sk-ssh-ed25519@openssh.com") }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant("corrupt" as const), pos: fc.nat() }) },
  { weight: 1, arbitrary: fc.constant({ k: "truncated" as const }) },
  { weight: 2, arbitrary: fc.constant({ k: "alias" as const }) },
);

type KeySpec = typeof keyArb extends fc.Arbitrary<infer T> ? T : never;

const lineArb = fc.oneof(
  { weight: 10, arbitrary: fc.record({ l: fc.constant("entry" as const), principals: fc.constantFrom(...PRINCIPALS), options: fc.array(optionArb, { maxLength: 3 }), key: keyArb, comment: fc.boolean(), crlf: fc.boolean(), lead: fc.constantFrom("", "", " ", "\t") }) },
  { weight: 1, arbitrary: fc.constant({ l: "comment" as const }) },
  { weight: 1, arbitrary: fc.constant({ l: "blank" as const }) },
  { weight: 1, arbitrary: fc.record({ l: fc.constant("garbage" as const), text: fc.constantFrom(...GARBAGE) }) },
);
type LineSpec = typeof lineArb extends fc.Arbitrary<infer T> ? T : never;

const revokedArb = fc.oneof(
  { weight: 5, arbitrary: fc.constant({ r: "none" as const }) },
  { weight: 3, arbitrary: fc.record({ r: fc.constant("list" as const), lines: fc.array(fc.constantFrom("signer", "other", "comment", "blank", "garbage", "signer-crlf"), { maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ r: fc.constant("krl" as const), which: fc.constantFrom("signer", "other") }) },
);

const caseArb = fc.record({
  sig: fc.nat(),
  tamper: fc.oneof({ weight: 8, arbitrary: fc.constant({ t: "none" as const }) }, { weight: 1, arbitrary: fc.record({ t: fc.constantFrom("payload" as const, "sigbyte" as const, "armor" as const), pos: fc.nat(), bit: fc.nat({ max: 7 }) }) }),
  lines: fc.array(lineArb, { minLength: 1, maxLength: 6 }),
  revoked: revokedArb,
});
type CaseSpec = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

// ---------------------------------------------------------------------------------------------
// Building the files

function optionText(o: OptionSpec, nowSec: number): string {
  const name = (n: string, c: "lower" | "upper" | "title"): string => (c === "upper" ? n.toUpperCase() : c === "title" ? n.replace(/(^|-)([a-z])/g, (_, d: string, x: string) => d + x.toUpperCase()) : n);
  switch (o.o) {
    case "namespaces":
      return `${name("namespaces", o.name)}="${o.v}"`;
    case "cert-authority":
      return name("cert-authority", o.name);
    case "raw":
      return o.v;
    default: {
      const d = new Date((nowSec + o.offset) * 1000);
      const utc = o.zone !== "local";
      const pad = (n: number, w = 2): string => String(n).padStart(w, "0");
      const ymd = utc ? `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}` : `${pad(d.getFullYear(), 4)}${pad(d.getMonth() + 1)}${pad(d.getDate())}`;
      const hm = utc ? `${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}` : `${pad(d.getHours())}${pad(d.getMinutes())}`;
      const s = utc ? pad(d.getUTCSeconds()) : pad(d.getSeconds());
      const body = o.form === "date" ? ymd : o.form === "minute" ? ymd + hm : ymd + hm + s;
      return `${name(o.o, o.name)}="${body}${utc ? o.zone : ""}"`;
    }
  }
}

function splitBlob(blob: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at + 4 <= blob.length; ) {
    const len = blob.readUInt32BE(at);
    out.push(blob.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

/** The key field of a trust line for the case's signer `s`. */
function keyText(k: KeySpec, s: Signer): string {
  const [type, b64] = s.publicLine.split(" ") as [string, string];
  const everyKey = [...signers.map((x) => x.publicLine), ...extraKeys];
  switch (k.k) {
    case "signer":
      return s.publicLine;
    case "pool":
      return everyKey[k.i % everyKey.length] as string;
    case "wrong-word":
      return `${k.word} ${b64}`;
    case "corrupt": {
      const i = k.pos % b64.length;
      const c = b64[i] === "A" ? "B" : "A";
      return `${type} ${b64.slice(0, i)}${c}${b64.slice(i + 1)}`;
    }
    case "truncated":
      return `${type} ${b64.slice(0, -4)}`;
    case "alias": {
      // Other names ssh-keygen reads as the same key.
      if (type === "ssh-rsa") return `rsa-sha2-512 ${b64}`;
      if (type === "sk-ecdsa-sha2-nistp256@openssh.com") return `webauthn-sk-ecdsa-sha2-nistp256@openssh.com ${b64}`;
      if (type === "ssh-ed25519") {
        const parts = splitBlob(Buffer.from(b64, "base64"));
        return `ssh-ed25519 ${Buffer.concat([sshString("ED25519"), sshString(parts[1] as Buffer)]).toString("base64")}`;
      }
      return s.publicLine;
    }
  }
}

function trustText(lines: readonly LineSpec[], s: Signer, nowSec: number): string {
  return lines
    .map((l) => {
      switch (l.l) {
        case "comment":
          return "# admins of the cluster\n";
        case "blank":
          return "\n";
        case "garbage":
          return `${l.text}\n`;
        case "entry": {
          const opts = l.options.map((o) => optionText(o, nowSec)).join(",");
          return `${l.lead}${l.principals} ${opts === "" ? "" : `${opts} `}${keyText(l.key, s)}${l.comment ? " alice@laptop" : ""}${l.crlf ? "\r\n" : "\n"}`;
        }
      }
    })
    .join("");
}

function revokedText(spec: CaseSpec["revoked"], signer: number): string | undefined {
  if (spec.r !== "list") return undefined;
  const s = signers[signer] as Signer;
  const other = signers[(signer + 1) % signers.length] as Signer;
  return spec.lines
    .map((l) => {
      switch (l) {
        case "signer":
          return `${s.publicLine} revoked\n`;
        case "signer-crlf":
          return `${s.publicLine}\r\n`;
        case "other":
          return `${other.publicLine}\n`;
        case "comment":
          return "# revoked keys\n";
        case "blank":
          return "\n";
        case "garbage":
          return "not a key\n";
      }
    })
    .join("");
}

function rawCommit(spec: CaseSpec): { raw: Buffer; entry: PoolEntry } {
  const entry = pool[spec.sig % pool.length] as PoolEntry;
  let payload = entry.payload;
  let text = entry.armor;
  const t = spec.tamper;
  if (t.t === "payload") {
    payload = Buffer.from(payload);
    const body = payload.indexOf("\n\n") + 2;
    const i = body + (t.pos % (payload.length - body));
    payload[i] = (payload[i] as number) ^ (1 << t.bit);
  } else if (t.t === "sigbyte") {
    const blob = unarmor(text);
    blob[t.pos % blob.length] = (blob[t.pos % blob.length] as number) ^ (1 << t.bit);
    text = armor(blob);
  } else if (t.t === "armor") {
    const lines = text.split("\n");
    const body = lines.slice(1, -2);
    const li = t.pos % body.length;
    const line = body[li] as string;
    const ci = (t.pos >> 3) % line.length;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const replacement = alphabet[(alphabet.indexOf(line[ci] as string) + 1 + t.bit) % 64] as string;
    body[li] = line.slice(0, ci) + replacement + line.slice(ci + 1);
    text = [lines[0], ...body, ...lines.slice(-2)].join("\n");
  }
  return { raw: withGpgsig(payload, text), entry };
}

// ---------------------------------------------------------------------------------------------
// Running

class Spawned extends Error {}
/** The in-process run must not start ssh-keygen; a fallback is reported through onFallback first. */
const noSpawn: Executor = {
  run(argv: Argv): Promise<RunResult> {
    throw new Spawned(argv.join(" "));
  },
  writeFile(path: string): Promise<RunResult> {
    throw new Spawned(path);
  },
};

/** Whether the case explains why the in-process check handed it to ssh-keygen. */
function explains(spec: CaseSpec, reason: string, zone: string): boolean {
  const s = signers[pool[spec.sig % pool.length]?.signer as number] as Signer;
  const entries = spec.lines.flatMap((l) => (l.l === "entry" ? [l] : []));
  // A tampered type name can, however rarely, be another type OpenSSH knows.
  if (/key type/.test(reason)) return s.cert || spec.tamper.t === "sigbyte" || spec.tamper.t === "armor";
  if (/non-canonical Ed25519/.test(reason)) return spec.tamper.t === "sigbyte" || spec.tamper.t === "armor";
  if (/KRL/.test(reason)) return spec.revoked.r === "krl";
  if (/not UTF-8/.test(reason)) return entries.some((l) => l.principals === "\xff@c");
  if (/validity time/.test(reason)) return zone === "Europe/Berlin" && entries.some((l) => l.options.some((o) => (o.o === "valid-after" || o.o === "valid-before") && o.zone === "local"));
  return false;
}

interface Tally {
  cases: number;
  inProcess: number;
  fallbacks: Map<string, number>;
  verdicts: Map<string, number>;
  /** Signers with a good verdict decided in process. */
  okSigners: Set<string>;
  mismatches: string[];
}

async function runCase(spec: CaseSpec, slot: number, zone: string, tally: Tally): Promise<void> {
  const { raw, entry } = rawCommit(spec);
  const s = signers[entry.signer] as Signer;
  const nowSec = Math.floor(Date.now() / 1000);
  const trust = trustText(spec.lines, s, nowSec);
  // Paths are reused with new content, so the parse cache must notice changes.
  const trustFile = join(dir, `trust-${slot}`);
  writeFileSync(trustFile, trust, "latin1");
  let revokedFile: string | undefined;
  const listed = revokedText(spec.revoked, entry.signer);
  if (listed !== undefined) {
    revokedFile = join(dir, `revoked-${slot}`);
    writeFileSync(revokedFile, listed, "latin1");
  } else if (spec.revoked.r === "krl") {
    revokedFile = krls.get(spec.revoked.which === "signer" ? entry.signer : (entry.signer + 1) % signers.length);
  }
  const revoked = revokedFile === undefined ? {} : { revoked: revokedFile };
  const reference = await verifyCommitSignature(raw, trustFile, { tmpDir, sshKeygenOnly: true, ...revoked });
  let fallback: string | undefined;
  let ours: SignatureVerdict | undefined;
  try {
    ours = await verifyCommitSignature(raw, trustFile, { tmpDir, now: Date.now(), executor: noSpawn, onFallback: (r) => (fallback = r), ...revoked });
  } catch (e) {
    if (!(e instanceof Spawned)) throw e;
  }
  tally.cases++;
  const key = reference.ok ? "ok" : reference.code;
  tally.verdicts.set(key, (tally.verdicts.get(key) ?? 0) + 1);
  const describe = (): string => JSON.stringify({ zone, signer: s.name, namespace: entry.namespace, spec, trust, revoked: listed ?? revokedFile, reference, ours, fallback });
  if (fallback !== undefined) {
    const r = fallback.replace(/line \d+/, "line N");
    tally.fallbacks.set(r, (tally.fallbacks.get(r) ?? 0) + 1);
    if (!explains(spec, fallback, zone)) tally.mismatches.push(`unexplained fallback: ${describe()}`);
    return;
  }
  tally.inProcess++;
  if (ours?.ok === true) tally.okSigners.add(s.name);
  try {
    assert.deepEqual(ours, reference);
  } catch {
    tally.mismatches.push(`verdicts differ: ${describe()}`);
  }
}

for (const [zone, count] of Object.entries(CASES)) {
  test(`in-process verdicts equal ssh-keygen's on ${count} random cases in ${zone}`, async (t) => {
    const saved = process.env["TZ"];
    process.env["TZ"] = zone;
    try {
      const specs = fc.sample(caseArb, { seed: SEED + count + zone.length, numRuns: count });
      const tally: Tally = { cases: 0, inProcess: 0, fallbacks: new Map(), verdicts: new Map(), okSigners: new Set(), mismatches: [] };
      for (let i = 0; i < specs.length; i += PARALLEL) {
        await Promise.all(specs.slice(i, i + PARALLEL).map((spec, j) => runCase(spec, j, zone, tally)));
      }
      t.diagnostic(`${tally.cases} cases, ${tally.inProcess} decided in process; ssh-keygen verdicts ${JSON.stringify(Object.fromEntries(tally.verdicts))}; fallbacks ${JSON.stringify(Object.fromEntries(tally.fallbacks))}`);
      assert.deepEqual(tally.mismatches.slice(0, 3), []);
      // The cases must exercise every outcome, and most must be decided without ssh-keygen.
      for (const v of ["ok", "SOURCE_UNTRUSTED", "SOURCE_BAD_SIGNATURE"]) assert.ok((tally.verdicts.get(v) ?? 0) >= count / 20, `too few ${v}`);
      assert.ok(tally.inProcess >= count * 0.75, "too many fallbacks");
      // Every key type that can sign in process did, somewhere (SHA-1 RSA never verifies).
      if (zone === "UTC") assert.deepEqual([...tally.okSigners].sort(), signers.filter((x) => !x.cert && x.name !== "rsa-sha1").map((x) => x.name).sort());
    } finally {
      if (saved === undefined) delete process.env["TZ"];
      else process.env["TZ"] = saved;
    }
  });
}
