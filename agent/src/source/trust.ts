/**
 * The shape of an OpenSSH allowed_signers file (ssh-keygen(1), "ALLOWED SIGNERS"). Pure.
 *
 * ssh-keygen skips lines it cannot parse, so a typo in the repo's trust file would silently
 * drop an admin's key. Steward refuses a trust file with any unparsable line, and one that
 * trusts nobody (that would lock every admin out until the node is re-bootstrapped).
 */

import { sshFingerprint } from "./sshsig.js";

/** One problem in a trust file; lines count from 1. */
export interface TrustProblem {
  readonly line: number;
  readonly message: string;
}

/** One entry of a trust file, as people compare keys: its principals, key type and fingerprint. */
export interface TrustedSigner {
  readonly line: number;
  /** The principals field as written (a pattern list). */
  readonly principals: string;
  readonly type: string;
  /** As `ssh-keygen -l` prints it. */
  readonly fingerprint: string;
}

export interface TrustCheck {
  /** Number of signer entries. */
  readonly entries: number;
  /** The entries, in file order. */
  readonly signers: readonly TrustedSigner[];
  readonly problems: readonly TrustProblem[];
}

/** The largest trust file accepted. A few admins' keys take a few hundred bytes each. */
export const MAX_TRUST_BYTES = 256 * 1024;

const KEY_TYPE = /^(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)(?:-cert-v01@openssh\.com)?$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const OPTION = /^(?:cert-authority|namespaces="[^"]*"|valid-after="[0-9]{8,14}Z?"|valid-before="[0-9]{8,14}Z?")$/i;

/**
 * checkAllowedSigners parses an allowed_signers text and returns its entries (with their keys'
 * fingerprints) and every line that is not `principals [options] keytype base64-key [comment]`.
 * Never throws.
 */
export function checkAllowedSigners(text: string): TrustCheck {
  const problems: TrustProblem[] = [];
  const signers: TrustedSigner[] = [];
  let entries = 0;
  if (text.includes("\u0000")) return { entries: 0, signers, problems: [{ line: 1, message: "contains a NUL byte" }] };
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "").trim();
    if (line === "" || line.startsWith("#")) return;
    const fields = tokenize(line);
    if (fields === undefined) {
      problems.push({ line: i + 1, message: "unbalanced quotes" });
      return;
    }
    const [principals, second, third, fourth] = fields;
    if (principals === undefined || second === undefined) {
      problems.push({ line: i + 1, message: "expected principals, options, key type and key" });
      return;
    }
    let keyType = second;
    let key = third;
    if (!KEY_TYPE.test(second)) {
      const options = splitOptions(second);
      const bad = options.find((o) => !OPTION.test(o));
      if (bad !== undefined) {
        problems.push({ line: i + 1, message: `unknown or malformed option ${JSON.stringify(bad)}` });
        return;
      }
      keyType = third ?? "";
      key = fourth;
    }
    if (!KEY_TYPE.test(keyType)) {
      problems.push({ line: i + 1, message: `unknown key type ${JSON.stringify(keyType)}` });
      return;
    }
    if (key === undefined || !BASE64.test(key)) {
      problems.push({ line: i + 1, message: "the key is missing or not base64" });
      return;
    }
    if (principals.split(",").some((p) => p.length === 0)) {
      problems.push({ line: i + 1, message: "empty principal" });
      return;
    }
    entries += 1;
    signers.push({ line: i + 1, principals: principals.replaceAll('"', ""), type: keyType, fingerprint: sshFingerprint(Buffer.from(key, "base64")) });
  });
  return { entries, signers, problems };
}

/** Split on blanks outside double quotes; undefined when a quote is not closed. */
function tokenize(line: string): string[] | undefined {
  const out: string[] = [];
  let current = "";
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && (ch === " " || ch === "\t")) {
      if (current !== "") out.push(current);
      current = "";
    } else current += ch;
  }
  if (quoted) return undefined;
  if (current !== "") out.push(current);
  return out;
}

function splitOptions(field: string): string[] {
  const out: string[] = [];
  let current = "";
  let quoted = false;
  for (const ch of field) {
    if (ch === '"') quoted = !quoted;
    if (!quoted && ch === ",") {
      out.push(current);
      current = "";
    } else current += ch;
  }
  out.push(current);
  return out;
}
