/**
 * decideSignature, table-driven on hand-made signatures: which verdict, which reason, and when
 * the decision is left to ssh-keygen. Pure: no process is started.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseAllowedSigners, parseRevokedKeys, type LocalTime } from "../../agent/src/source/allowed-signers.js";
import { REASONS, decideSignature, type SignatureDecision } from "../../agent/src/source/signature-verdict.js";
import { armor, commitPayload, craftEd25519, signedData, sshString, sshsigBlob, sshsigFor, unarmor } from "../helpers/sshsig.js";

const key = craftEd25519();
const other = craftEd25519();
const K = key.publicLine;
const PAYLOAD = commitPayload("change\n");
const GOOD = sshsigFor(key, PAYLOAD);
const NOW = Date.UTC(2026, 5, 1);
const latin1 = (s: string): Buffer => Buffer.from(s, "latin1");

const ok = (principal: string): SignatureDecision => ({ kind: "verdict", verdict: { ok: true, principal } });
const untrusted = (reason: string): SignatureDecision => ({ kind: "verdict", verdict: { ok: false, code: "SOURCE_UNTRUSTED", reason } });
const bad: SignatureDecision = { kind: "verdict", verdict: { ok: false, code: "SOURCE_BAD_SIGNATURE", reason: REASONS.bad } };

interface Case {
  readonly name: string;
  readonly trust: string;
  readonly armor?: string;
  readonly payload?: Buffer;
  readonly revoked?: string;
  readonly localTime?: LocalTime;
  readonly want: SignatureDecision | "fallback";
}

const cases: Case[] = [
  { name: "a listed key is good for its principal", trust: `admin@c ${K}\n`, want: ok("admin@c") },
  { name: "the first printed principal that verifies is the one reported", trust: `*@c,ops@c,admin@c ${K}\n`, want: ok("ops@c") },
  { name: "a key bound only to patterns is untrusted", trust: `*@c,!x@c ${K}\n`, want: untrusted(REASONS.wildcardsOnly) },
  { name: "a key that is not listed is untrusted", trust: `admin@c ${other.publicLine}\n`, want: untrusted(REASONS.notListed) },
  { name: "a key listed for another namespace is untrusted", trust: `admin@c namespaces="file" ${K}\n`, want: untrusted(REASONS.notAdmitted) },
  { name: "a printed principal is trimmed before verify, as signature.ts always did", trust: `" admin@c" ${K}\nadmin@c ${K}\n`, want: ok("admin@c") },
  { name: "a trimmed principal must still match a line for verify", trust: `" admin@c" ${K}\n`, want: untrusted(REASONS.notAdmitted) },
  { name: "find-principals stops at an empty principal", trust: `admin@c,,ops@c namespaces="file" ${K}\nops@c ${K}\n`, want: untrusted(REASONS.notAdmitted) },
  { name: "an expired line is passed over by find-principals", trust: `admin@c valid-before="20250101Z" ${K}\nops@c ${K}\n`, want: ok("ops@c") },
  { name: "a key not yet valid is not listed", trust: `admin@c valid-after="20270101Z" ${K}\n`, want: untrusted(REASONS.notListed) },
  { name: "a tampered payload is a bad signature, whatever the trust", trust: `admin@c ${K}\n`, payload: commitPayload("changed\n"), want: bad },
  { name: "a signature for another namespace is bad", trust: `admin@c ${K}\n`, armor: sshsigFor(key, PAYLOAD, { namespace: "file" }), want: bad },
  { name: "an armor that does not decode is bad", trust: `admin@c ${K}\n`, armor: GOOD.replace(/\n[A-Za-z0-9+/]/, "\n*"), want: bad },
  { name: "a revoked key is not admitted", trust: `admin@c ${K}\n`, revoked: `${K}\n`, want: untrusted(REASONS.notAdmitted) },
  { name: "another revoked key changes nothing", trust: `admin@c ${K}\n`, revoked: `# old\n${other.publicLine}\n`, want: ok("admin@c") },
  { name: "a revocation line that does not read refuses every key", trust: `admin@c ${K}\n`, revoked: "not a key\n", want: untrusted(REASONS.notAdmitted) },
  { name: "a KRL is left to ssh-keygen", trust: `admin@c ${K}\n`, revoked: "SSHKRL\n\0rest", want: "fallback" },
  { name: "a KRL is not needed when no principal verifies", trust: `admin@c ${other.publicLine}\n`, revoked: "SSHKRL\n\0rest", want: untrusted(REASONS.notListed) },
  { name: "a principal that is not UTF-8 is left to ssh-keygen", trust: `\xffadmin@c ${K}\n`, want: "fallback" },
  { name: "a validity time this process cannot resolve is left to ssh-keygen", trust: `admin@c valid-after="20200101" ${K}\n`, localTime: () => "uncertain", want: "fallback" },
  { name: "a certificate signature is left to ssh-keygen", trust: `admin@c cert-authority ${K}\n`, armor: armor(sshsigBlob({ publicKey: Buffer.concat([sshString("ssh-ed25519-cert-v01@openssh.com"), sshString("nonce"), sshString(key.pk)]), namespace: "git", hashAlg: "sha512", signature: key.sign(signedData("git", "sha512", PAYLOAD)) })), want: "fallback" },
  { name: "a broken certificate signature is bad without asking", trust: `admin@c ${K}\n`, armor: armor(unarmor(GOOD).subarray(0, 60)), want: bad },
];

for (const c of cases) {
  test(c.name, () => {
    const d = decideSignature({
      armor: c.armor ?? GOOD,
      payload: c.payload ?? PAYLOAD,
      signers: parseAllowedSigners(latin1(c.trust)),
      ...(c.revoked === undefined ? {} : { revoked: parseRevokedKeys(latin1(c.revoked)) }),
      now: NOW,
      localTime: c.localTime ?? ((naive) => naive),
    });
    if (c.want === "fallback") assert.equal(d.kind, "fallback", JSON.stringify(d));
    else assert.deepEqual(d, c.want);
  });
}
