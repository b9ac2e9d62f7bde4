/**
 * allowed-signers.ts, table-driven: pattern lists, validity times, options, the quirks of
 * ssh-keygen's line reader, find-principals and verify decisions (each also put to ssh-keygen
 * at the same instant), and revocation lists. The differential test
 * (sshsig-differential.test.ts) covers the same rules with random files.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import {
  findPrincipals,
  isAllowedSigner,
  isRevoked,
  matchPatternList,
  parseAbsoluteTime,
  parseAllowedSigners,
  parseRevokedKeys,
  parseSignerOptions,
  strdelimw,
  type LocalTime,
} from "../../agent/src/source/allowed-signers.js";
import { parseSshPublicKey, type SshPublicKey } from "../../agent/src/source/sshsig.js";
import { makeTempDir, removeDir } from "../helpers/keys.js";
import { craftEcdsa, craftEd25519, craftRsa, mpint, sshString, sshsigFor } from "../helpers/sshsig.js";

const text = (s: string): Buffer => Buffer.from(s, "latin1");

for (const c of [
  { s: "admin@c", p: "admin@c", r: 1 },
  { s: "admin@c", p: "*@c", r: 1 },
  { s: "admin@c", p: "a?min@c", r: 1 },
  { s: "admin@c", p: "a*n@*", r: 1 },
  { s: "admin@c", p: "Admin@c", r: 0 },
  { s: "admin@c", p: "ops@c,admin@c", r: 1 },
  { s: "admin@c", p: "!admin@c,*@c", r: -1 },
  { s: "admin@c", p: "*@c,!admin@c", r: -1 },
  { s: "ops@c", p: "!admin@c,*@c", r: 1 },
  { s: "admin@c", p: "!ops@c", r: 0 },
  { s: "admin@c", p: "", r: 0 },
  { s: "", p: "", r: 0 },
  { s: "", p: ",", r: 1 },
  { s: "admin@c", p: "admin@c,", r: 1 },
  { s: "admin@c", p: "**", r: 1 },
  { s: "admin@c", p: "admin@c?", r: 0 },
  { s: "git", p: `${"x".repeat(1023)},git`, r: 0 },
  { s: "git", p: `${"x".repeat(1022)},git`, r: 1 },
]) {
  test(`match_pattern_list(${JSON.stringify(c.s)}, ${JSON.stringify(c.p.length > 40 ? `${c.p.slice(0, 8)}…` : c.p)}) is ${c.r}`, () => assert.equal(matchPatternList(c.s, c.p), c.r));
}

// Answers recorded from ssh-keygen 9.2 -Overify-time (which uses the same parse_absolute_time).
for (const c of [
  { s: "20250101", utc: false, naive: Date.UTC(2025, 0, 1) / 1000 },
  { s: "20250101Z", utc: true, naive: Date.UTC(2025, 0, 1) / 1000 },
  { s: "20250101z", utc: true, naive: Date.UTC(2025, 0, 1) / 1000 },
  { s: "20250101UTC", utc: true, naive: Date.UTC(2025, 0, 1) / 1000 },
  { s: "20250101utc", utc: true, naive: Date.UTC(2025, 0, 1) / 1000 },
  { s: "202501011230", utc: false, naive: Date.UTC(2025, 0, 1, 12, 30) / 1000 },
  { s: "20250101123059Z", utc: true, naive: Date.UTC(2025, 0, 1, 12, 30, 59) / 1000 },
  { s: "20250101000061Z", utc: true, naive: Date.UTC(2025, 0, 1, 0, 1, 1) / 1000 },
  { s: "20250231", utc: false, naive: Date.UTC(2025, 2, 3) / 1000 },
  { s: "99991231Z", utc: true, naive: Date.UTC(9999, 11, 31) / 1000 },
  { s: "20250101000062Z", utc: true, naive: undefined },
  { s: "20250101240000Z", utc: true, naive: undefined },
  { s: "20250232", utc: false, naive: undefined },
  { s: "20251301", utc: false, naive: undefined },
  { s: "20250100", utc: false, naive: undefined },
  { s: "2025010100Z", utc: true, naive: undefined },
  { s: "2025010", utc: false, naive: undefined },
  { s: "Z", utc: true, naive: undefined },
]) {
  test(`parse_absolute_time(${JSON.stringify(c.s)})`, () => {
    const t = parseAbsoluteTime(c.s);
    if (c.naive === undefined) assert.equal(t, undefined);
    else assert.deepEqual(t, { kind: "time", utc: c.utc, naive: c.naive });
  });
}

test("parse_absolute_time leaves a time with blanks in it to ssh-keygen (strptime skips them)", () => assert.deepEqual(parseAbsoluteTime("2025 101Z"), { kind: "unknown" }));

for (const c of [
  { name: "no options", opts: "", ok: true },
  { name: "cert-authority in any case", opts: "Cert-Authority", ok: true, ca: true },
  { name: "namespaces, case-insensitive name", opts: 'NameSpaces="git,file"', ok: true, ns: "git,file" },
  { name: "an escaped quote in a value", opts: 'namespaces="a\\"b"', ok: true, ns: 'a"b' },
  { name: "all four", opts: 'cert-authority,namespaces="git",valid-after="20200101",valid-before="20300101Z"', ok: true, ca: true, ns: "git" },
  { name: "a leading empty option", opts: ',namespaces="git"', ok: true, ns: "git" },
  { name: "an unknown option", opts: "no-touch-required", ok: false },
  { name: "a flag with a suffix", opts: "cert-authorityx", ok: false },
  { name: "a trailing comma", opts: 'namespaces="git",', ok: false },
  { name: "a value without quotes", opts: "namespaces=git", ok: false },
  { name: "an unterminated quote", opts: 'namespaces="git', ok: false },
  { name: "namespaces twice", opts: 'namespaces="git",namespaces="file"', ok: false },
  { name: "valid-after twice", opts: 'valid-after="20200101",valid-after="20210101"', ok: false },
  { name: "a malformed time", opts: 'valid-after="2020"', ok: false },
  { name: "something after a quoted value", opts: 'namespaces="git"x', ok: false },
]) {
  test(`options: ${c.name}`, () => {
    const o = parseSignerOptions(c.opts);
    assert.equal(o !== undefined, c.ok);
    if (o === undefined) return;
    assert.equal(o.certAuthority, c.ca ?? false);
    assert.equal(o.namespaces, c.ns);
  });
}

for (const c of [
  { line: "a@c rest", token: "a@c", rest: "rest" },
  { line: "a@c \t  rest", token: "a@c", rest: "rest" },
  { line: '"a b@c" rest', token: "a b@c", rest: "rest" },
  { line: 'a"b c"d rest', token: "ab c", rest: "d rest" },
  { line: "a@c\n", token: "a@c", rest: "" },
  { line: "a@c", token: "a@c", rest: undefined },
]) {
  test(`strdelimw(${JSON.stringify(c.line)})`, () => {
    const r = strdelimw(c.line, 0);
    assert.ok(r !== undefined);
    assert.equal(r.token, c.token);
    assert.equal(r.rest === undefined ? undefined : c.line.slice(r.rest), c.rest);
  });
}

test("strdelimw fails on an unmatched quote", () => assert.equal(strdelimw('"a@c rest', 0), undefined));

const signer = craftEd25519();
const other = craftEd25519();
const keyOf = (blob: Buffer): SshPublicKey => {
  const r = parseSshPublicKey(blob);
  assert.equal(r.kind, "key");
  return (r as { key: SshPublicKey }).key;
};
const K = keyOf(signer.publicBlob);
const MESSAGE = Buffer.from("signed\n");
let dir: string;
let sigFile: string;
before(() => {
  dir = makeTempDir();
  sigFile = join(dir, "message.sig");
  writeFileSync(sigFile, sshsigFor(signer, MESSAGE));
});
after(() => removeDir(dir));
const NOW = Date.UTC(2026, 5, 1) / 1000;
const utcOnly: LocalTime = (naive) => naive;
const S = signer.publicLine;
const O = other.publicLine;

interface TrustCase {
  readonly name: string;
  readonly file: string;
  /** What find-principals prints (the whole field), or null for "No principal matched". */
  readonly found: string | null;
  /** Principals `-Y verify -I P -n git` accepts. */
  readonly allowed?: readonly string[];
  readonly refused?: readonly string[];
}

const trustCases: TrustCase[] = [
  { name: "a plain line", file: `admin@c ${S}\n`, found: "admin@c", allowed: ["admin@c"], refused: ["ops@c"] },
  { name: "a line with a comment and no final newline", file: `admin@c ${S} alice laptop`, found: "admin@c", allowed: ["admin@c"] },
  { name: "CRLF line ends", file: `# admins\r\n\r\nadmin@c ${S}\r\n`, found: "admin@c", allowed: ["admin@c"] },
  { name: "leading blanks and tabs", file: ` \t admin@c\t${S}\n`, found: "admin@c", allowed: ["admin@c"] },
  { name: "another key only", file: `admin@c ${O}\n`, found: null, refused: ["admin@c"] },
  { name: "the first matching line wins for find-principals", file: `ops@c ${O}\nadmin@c ${S}\nroot@c ${S}\n`, found: "admin@c", allowed: ["admin@c", "root@c"] },
  { name: "patterns are printed as written and match in verify", file: `admin@c,*@ops ${S}\n`, found: "admin@c,*@ops", allowed: ["admin@c", "x@ops"] },
  { name: "a negated principal", file: `!admin@c,*@c ${S}\n`, found: "!admin@c,*@c", allowed: ["ops@c"], refused: ["admin@c"] },
  { name: "a namespace restriction applies to verify only", file: `admin@c namespaces="file" ${S}\n`, found: "admin@c", refused: ["admin@c"] },
  { name: "namespace patterns", file: `admin@c namespaces="g?t" ${S}\nops@c namespaces="!git,*" ${S}\n`, found: "admin@c", allowed: ["admin@c"], refused: ["ops@c"] },
  { name: "an empty namespace list refuses", file: `admin@c namespaces="" ${S}\n`, found: "admin@c", refused: ["admin@c"] },
  { name: "an expired key is skipped by find-principals", file: `admin@c valid-before="20200101Z" ${S}\nops@c ${S}\n`, found: "ops@c", allowed: ["ops@c"], refused: ["admin@c"] },
  { name: "a key not yet valid", file: `admin@c valid-after="20300101Z" ${S}\n`, found: null, refused: ["admin@c"] },
  { name: "a validity window around now", file: `admin@c valid-after="20260101",valid-before="20270101" ${S}\n`, found: "admin@c", allowed: ["admin@c"] },
  { name: "valid-before equal to now still passes", file: `admin@c valid-before="20260601Z" ${S}\n`, found: "admin@c", allowed: ["admin@c"] },
  { name: "valid-before before valid-after makes the line unparsable", file: `admin@c valid-after="20270101",valid-before="20260101" ${S}\n`, found: null },
  { name: "valid-after at the epoch makes the line unparsable", file: `admin@c valid-after="19700101Z" ${S}\n`, found: null },
  { name: "cert-authority lines never match a plain key", file: `admin@c cert-authority ${S}\n`, found: null, refused: ["admin@c"] },
  { name: "an unknown option makes the line unparsable", file: `admin@c no-touch-required ${S}\nops@c ${S}\n`, found: "ops@c", refused: ["admin@c"] },
  { name: "a quoted principal with a blank", file: `"admin c" ${S}\n`, found: "admin c", allowed: ["admin c"] },
  { name: "a key type word that does not match the blob", file: `admin@c ssh-rsa ${S.split(" ")[1] as string}\n`, found: null },
  { name: "rsa-sha2-512 names an RSA key", file: `admin@c ${craftRsa(1024, "rsa-sha2-512").publicLine.replace("ssh-rsa", "rsa-sha2-512")}\nops@c ${S}\n`, found: "ops@c" },
  { name: "a base64 error skips the line", file: `admin@c ${S}*\nops@c ${S}\n`, found: "ops@c" },
  { name: "base64 split by a carriage return still reads", file: `admin@c ssh-ed25519 ${(S.split(" ")[1] as string).slice(0, 10)}\r${(S.split(" ")[1] as string).slice(10)}\n`, found: "admin@c" },
  { name: "a line cut at a NUL byte", file: `admin@c ${S}\0 trailing\n`, found: "admin@c" },
  { name: "a principal field alone", file: "admin@c\n", found: null },
  { name: "options without a key", file: 'admin@c namespaces="git"\n', found: null },
  { name: "an unmatched quote", file: `"admin@c ${S}\n`, found: null },
  { name: "an empty quoted principal", file: `"" ${S}\n`, found: "", refused: [""] },
];

/** Runs ssh-keygen at NOW in UTC: exit code and stdout lines. */
function sshKeygen(args: readonly string[], input?: Uint8Array): { code: number; lines: string[] } {
  const r = spawnSync("ssh-keygen", ["-Y", ...args, "-Overify-time=20260601000000Z"], { input, env: { ...process.env, TZ: "UTC" }, encoding: "latin1" });
  return { code: r.status ?? -1, lines: r.stdout.split("\n").filter((l) => l !== "") };
}

for (const c of trustCases) {
  test(`allowed_signers: ${c.name}`, () => {
    const signers = parseAllowedSigners(text(c.file));
    const found = findPrincipals(signers, K, NOW, utcOnly);
    assert.deepEqual(found, c.found === null ? { kind: "none" } : { kind: "found", principals: c.found });
    for (const p of c.allowed ?? []) assert.equal(isAllowedSigner(signers, K, p, "git", NOW, utcOnly), true, `verify -I ${p}`);
    for (const p of c.refused ?? []) assert.equal(isAllowedSigner(signers, K, p, "git", NOW, utcOnly), false, `verify -I ${p}`);
    // The same questions to ssh-keygen.
    const trust = join(dir, "allowed_signers");
    writeFileSync(trust, text(c.file));
    const f = sshKeygen(["find-principals", "-f", trust, "-s", sigFile]);
    if (c.found === null) assert.notEqual(f.code, 0, "ssh-keygen found principals");
    else {
      assert.equal(f.code, 0, "ssh-keygen found no principal");
      const printed: string[] = [];
      for (const part of c.found.split(",")) {
        if (part === "") break;
        printed.push(part);
      }
      assert.deepEqual(f.lines, printed);
    }
    for (const p of c.allowed ?? []) assert.equal(sshKeygen(["verify", "-f", trust, "-I", p, "-n", "git", "-s", sigFile], MESSAGE).code, 0, `ssh-keygen verify -I ${p}`);
    for (const p of c.refused ?? []) if (p !== "") assert.notEqual(sshKeygen(["verify", "-f", trust, "-I", p, "-n", "git", "-s", sigFile], MESSAGE).code, 0, `ssh-keygen verify -I ${p}`);
  });
}

test("allowed_signers: a time this process cannot resolve makes the answer uncertain", () => {
  const signers = parseAllowedSigners(text(`admin@c valid-after="20200101" ${S}\n`));
  const dst: LocalTime = () => "uncertain";
  assert.deepEqual(findPrincipals(signers, K, NOW, dst), { kind: "uncertain" });
  assert.equal(isAllowedSigner(signers, K, "admin@c", "git", NOW, dst), "uncertain");
  // …but not for a line that does not apply anyway.
  assert.equal(isAllowedSigner(signers, K, "ops@c", "git", NOW, dst), false);
  assert.deepEqual(findPrincipals(signers, keyOf(other.publicBlob), NOW, dst), { kind: "none" });
});

test("allowed_signers: local times are applied through the zone", () => {
  const signers = parseAllowedSigners(text(`admin@c valid-after="20260601" ${S}\n`));
  const tokyo: LocalTime = (naive) => naive - 9 * 3600;
  assert.equal(findPrincipals(signers, K, NOW - 9 * 3600, tokyo).kind, "found");
  assert.equal(findPrincipals(signers, K, NOW - 9 * 3600 - 1, tokyo).kind, "none");
});

const rsaShort = craftRsa(768, "rsa-sha2-512");
for (const c of [
  { name: "an empty file revokes nothing", file: "", kind: "list", revoked: false },
  { name: "the signer's key", file: `# revoked\n\n${S} old laptop\n`, kind: "list", revoked: true },
  { name: "another key", file: `${O}\n`, kind: "list", revoked: false },
  { name: "a line that does not parse refuses every key", file: `${O}\nnot a key\n`, kind: "list", revoked: true },
  { name: "a lone word refuses every key", file: "garbage\n", kind: "list", revoked: true },
  { name: "a blank line with a carriage return refuses every key", file: `${O}\n\r\n`, kind: "list", revoked: true },
  { name: "an RSA key under 1024 bits is skipped", file: `${rsaShort.publicLine}\n${O}\n`, kind: "list", revoked: false },
  { name: "a KRL is for ssh-keygen", file: "SSHKRL\n\0\0\0\0\x01", kind: "krl" },
  { name: "a DSA key is for ssh-keygen", file: `ssh-dss ${Buffer.concat([sshString("ssh-dss"), mpint(Buffer.of(1))]).toString("base64")}\n`, kind: "unsupported" },
  { name: "a certificate is for ssh-keygen", file: `ssh-ed25519-cert-v01@openssh.com AAAA\n`, kind: "unsupported" },
]) {
  test(`revocation list: ${c.name}`, () => {
    const r = parseRevokedKeys(text(c.file));
    assert.equal(r.kind, c.kind);
    if (r.kind !== "list") return;
    assert.equal(isRevoked(r, K), c.revoked);
    const trust = join(dir, "trust");
    const revoked = join(dir, "revoked");
    writeFileSync(trust, `admin@c ${S}\n`);
    writeFileSync(revoked, text(c.file));
    assert.equal(sshKeygen(["verify", "-f", trust, "-I", "admin@c", "-n", "git", "-s", sigFile, "-r", revoked], MESSAGE).code === 0, !c.revoked, "ssh-keygen disagrees");
  });
}

test("revocation list: an ECDSA key revokes only itself", () => {
  const ec = craftEcdsa("nistp384");
  const r = parseRevokedKeys(text(`${ec.publicLine}\n`));
  assert.ok(r.kind === "list");
  assert.equal(isRevoked(r, keyOf(ec.publicBlob)), true);
  assert.equal(isRevoked(r, K), false);
});
