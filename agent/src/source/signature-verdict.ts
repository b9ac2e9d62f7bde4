/**
 * The verdict on one commit signature, decided in process. Pure: the armored signature, the
 * signed payload, the parsed trust file and revocation list, and the time, in; a verdict out.
 *
 * The verdict is, by construction, the one signature.ts takes from ssh-keygen (ssh-keygen(1), -Y):
 * - ok with principal P iff `-Y find-principals` prints a principal that, trimmed, is P and
 *   holds no `*`, `?` or `!`, and `-Y verify -I P -n git` (with `-r` when there is a revocation
 *   list) exits 0; the first such P in the printed order;
 * - otherwise SOURCE_UNTRUSTED when `-Y check-novalidate -n git` accepts the signature, else
 *   SOURCE_BAD_SIGNATURE.
 * When a step depends on something only ssh-keygen can tell (see sshsig.ts and
 * allowed-signers.ts), the decision is `fallback` and the caller runs ssh-keygen.
 */
import { findPrincipals, isAllowedSigner, isRevoked, systemLocalTime, type AllowedSigners, type LocalTime, type RevokedKeys } from "./allowed-signers.js";
import { checkSshsig, dearmorSignature, latin1, latin1ToUtf8 } from "./sshsig.js";

export type SignatureVerdict =
  | { readonly ok: true; readonly principal: string }
  | { readonly ok: false; readonly code: "SOURCE_UNSIGNED" | "SOURCE_UNTRUSTED" | "SOURCE_BAD_SIGNATURE"; readonly reason: string };

export type SignatureDecision = { readonly kind: "verdict"; readonly verdict: SignatureVerdict } | { readonly kind: "fallback"; readonly reason: string };

export interface SignatureFacts {
  /** The armored SSH signature, as splitSignedCommit returns it. */
  readonly armor: string;
  /** The signed payload. */
  readonly payload: Uint8Array;
  readonly signers: AllowedSigners;
  /** The revocation list, when the agent has one. */
  readonly revoked?: RevokedKeys;
  /** Unix milliseconds: the time keys are checked at. */
  readonly now: number;
  readonly localTime?: LocalTime;
}

/** The namespace of commit signatures. */
export const GIT_NAMESPACE = "git";

/** Reasons given with each verdict; the ssh-keygen path gives the same ones. */
export const REASONS = {
  bad: "the signature does not match the commit",
  notListed: "the signing key is not in the trust file",
  wildcardsOnly: "the signing key matches only wildcard principals",
  notAdmitted: "the trust file does not admit this key for git signatures now",
} as const;

/**
 * decideSignature decides the verdict on a signed commit as described above. Returns
 * `fallback` with a reason (never throws) when ssh-keygen must decide: a key type or signature
 * this process does not check, a trust line whose validity time it cannot resolve, a principal
 * that is not UTF-8, a KRL or an unreadable revocation line.
 */
export function decideSignature(facts: SignatureFacts): SignatureDecision {
  const verdict = (v: SignatureVerdict): SignatureDecision => ({ kind: "verdict", verdict: v });
  const fallback = (reason: string): SignatureDecision => ({ kind: "fallback", reason });
  const untrusted = (reason: string): SignatureDecision => verdict({ ok: false, code: "SOURCE_UNTRUSTED", reason });
  const localTime = facts.localTime ?? systemLocalTime;
  const now = Math.floor(facts.now / 1000);

  // check-novalidate fails exactly when the signature itself is bad; then nothing else can pass.
  const blob = dearmorSignature(Buffer.from(facts.armor, "utf8"));
  if (blob === undefined) return verdict({ ok: false, code: "SOURCE_BAD_SIGNATURE", reason: REASONS.bad });
  const check = checkSshsig(blob, facts.payload, GIT_NAMESPACE);
  if (check.kind === "unsupported") return fallback(check.reason);
  if (check.kind === "invalid") return verdict({ ok: false, code: "SOURCE_BAD_SIGNATURE", reason: REASONS.bad });
  const key = check.key;

  const found = findPrincipals(facts.signers, key, now, localTime);
  if (found.kind === "uncertain") return fallback("a trust line's validity time is for ssh-keygen to resolve");
  if (found.kind === "none") return untrusted(REASONS.notListed);
  // find-principals prints the field's comma-separated parts up to the first empty one.
  const principals: string[] = [];
  for (const part of found.principals.split(",")) {
    if (part === "") break;
    const text = latin1ToUtf8(part);
    if (text === undefined) return fallback("a principal is not UTF-8");
    const p = text.trim();
    if (p !== "" && !/[*?!]/.test(p)) principals.push(p);
  }
  for (const p of principals) {
    const allowed = isAllowedSigner(facts.signers, key, latin1(Buffer.from(p, "utf8")), GIT_NAMESPACE, now, localTime);
    if (allowed === "uncertain") return fallback("a trust line's validity time is for ssh-keygen to resolve");
    if (!allowed) continue;
    if (facts.revoked === undefined) return verdict({ ok: true, principal: p });
    if (facts.revoked.kind !== "list") return fallback(facts.revoked.kind === "krl" ? "the revocation list is a KRL" : `line ${facts.revoked.line} of the revocation list is for ssh-keygen to read`);
    // A revoked key fails `-Y verify` for every principal.
    return isRevoked(facts.revoked, key) ? untrusted(REASONS.notAdmitted) : verdict({ ok: true, principal: p });
  }
  return untrusted(principals.length === 0 ? REASONS.wildcardsOnly : REASONS.notAdmitted);
}
