/**
 * Signing status commits with the node's SSH key: isomorphic-git's `onSign` callback running
 * `ssh-keygen -Y sign -n git -f KEY` through the executor, the payload on stdin and the armored
 * signature read from stdout. Never a file argument: given a file, ssh-keygen writes FILE.sig
 * and, when that exists, asks whether to overwrite it, which without a terminal means it exits
 * 0 without signing. The result is what `git verify-commit` checks with `gpg.format=ssh`.
 */
import { readFile } from "node:fs/promises";
import type { SignCallback } from "isomorphic-git";
import { StewardError } from "../errors.js";
import { systemExecutor, type Executor } from "../exec.js";

/** How long one signature may take; ssh-keygen needs a few milliseconds. */
const SIGN_TIMEOUT_MS = 15_000;
const ARMOR = /^-----BEGIN SSH SIGNATURE-----\n[A-Za-z0-9+/=\n]+-----END SSH SIGNATURE-----\n?$/;

/** The key and the callback isomorphic-git's commit({signingKey, onSign}) takes. */
export interface Signer {
  /** The private key's path (passed to onSign as `secretKey`). */
  readonly key: string;
  readonly onSign: SignCallback;
}

/**
 * sshSigner makes the signer for a private key file. Each signature runs ssh-keygen once;
 * onSign throws STATUS_SIGN when it cannot start, fails (a key missing, unreadable, too open,
 * or protected by a passphrase) or prints no signature, STATUS_SIGN (transient) when it times out.
 */
export function sshSigner(key: string, executor: Executor = systemExecutor): Signer {
  return {
    key,
    async onSign({ payload, secretKey }) {
      const r = await executor.run(["ssh-keygen", "-Y", "sign", "-n", "git", "-f", secretKey], { input: payload, timeoutMs: SIGN_TIMEOUT_MS });
      const signature = r.stdout.replaceAll("\r", "");
      if (r.exitCode === 0 && ARMOR.test(signature)) return { signature };
      const stderr = r.stderr.trim().split("\n").slice(-3).join("\n").slice(-500);
      throw new StewardError("STATUS_SIGN", r.timedOut ? "ssh-keygen did not sign in time" : "ssh-keygen could not sign the status commit", {
        data: { key: secretKey, exitCode: r.exitCode, stderr, ...(r.spawnError === undefined ? {} : { spawnError: r.spawnError }) },
        hint: r.spawnError !== undefined ? "install OpenSSH's ssh-keygen on this node" : "check that the node's key exists, is readable only by the agent (chmod 600) and has no passphrase",
        retry: r.timedOut ? "transient" : "stalled",
      });
    },
  };
}

/**
 * checkSigningKey makes sure `key` is a private key ssh-keygen can use without asking for a
 * passphrase: the agent has no terminal, and ssh-keygen would otherwise wait for one (or read
 * the payload as the passphrase). Reads the file. Throws STATUS_SIGN when it cannot be read, is
 * not an OpenSSH or PEM private key, or is encrypted.
 */
export async function checkSigningKey(key: string): Promise<void> {
  let text: string;
  try {
    text = await readFile(key, "utf8");
  } catch (e) {
    throw new StewardError("STATUS_SIGN", `cannot read the node's signing key ${key}`, { data: { key, error: e instanceof Error ? e.message : String(e) }, hint: "create it with ssh-keygen -t ed25519 -N '' -f KEY, or fix the path", retry: "stalled", cause: e });
  }
  if (isEncrypted(text)) {
    throw new StewardError("STATUS_SIGN", `the node's signing key ${key} is protected by a passphrase`, { data: { key }, hint: "the agent signs unattended: use a key without a passphrase, readable only by the agent", retry: "stalled" });
  }
}

/** isEncrypted tells an encrypted private key from a plain one, for the two formats ssh-keygen writes. */
function isEncrypted(text: string): boolean {
  if (/Proc-Type:\s*4,ENCRYPTED|BEGIN ENCRYPTED PRIVATE KEY/.test(text)) return true;
  const m = /-----BEGIN OPENSSH PRIVATE KEY-----([\s\S]*?)-----END OPENSSH PRIVATE KEY-----/.exec(text);
  if (m === null) {
    if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) return false;
    throw new StewardError("STATUS_SIGN", "the node's signing key is not a private key", { hint: "name the private key file, not the .pub", retry: "stalled" });
  }
  // openssh-key-v1: the magic, then the cipher name as an SSH string ("none" when plain).
  const bytes = Buffer.from((m[1] ?? "").replace(/\s+/g, ""), "base64");
  const magic = Buffer.from("openssh-key-v1\0", "latin1");
  if (bytes.length < magic.length + 4 || !bytes.subarray(0, magic.length).equals(magic)) {
    throw new StewardError("STATUS_SIGN", "the node's signing key is not a valid OpenSSH private key", { hint: "create it with ssh-keygen -t ed25519 -N '' -f KEY", retry: "stalled" });
  }
  const len = bytes.readUInt32BE(magic.length);
  return bytes.subarray(magic.length + 4, magic.length + 4 + len).toString("latin1") !== "none";
}
