/**
 * Checking one commit's SSH signature with ssh-keygen (git.md §2.2). Decisions are taken on
 * exit codes only, never on ssh-keygen's messages:
 * 1. `-Y find-principals -f TRUST -s SIG` names the principals bound to the signing key;
 * 2. `-Y verify -f TRUST -I PRINCIPAL -n git -s SIG < payload` for each principal printed
 *    (patterns such as `*@ops` are never passed back as an identity);
 * 3. only when 1 or 2 fails, `-Y check-novalidate -n git` tells a valid signature by a key the
 *    trust file does not admit (SOURCE_UNTRUSTED) from a broken one (SOURCE_BAD_SIGNATURE).
 * No `-Overify-time`: the committer date is chosen by the signer, so keys are checked now.
 */
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { StewardError } from "../errors.js";
import { systemExecutor, type Executor, type RunResult } from "../exec.js";
import { splitSignedCommit } from "./payload.js";

export type SignatureVerdict =
  | { readonly ok: true; readonly principal: string }
  | { readonly ok: false; readonly code: "SOURCE_UNSIGNED" | "SOURCE_UNTRUSTED" | "SOURCE_BAD_SIGNATURE"; readonly reason: string };

export interface SignatureOptions {
  /** A private directory for the signature file. */
  readonly tmpDir: string;
  /** A revocation list (public keys or a KRL) passed to `-Y verify -r`. */
  readonly revoked?: string;
  readonly executor?: Executor;
  readonly timeoutMs?: number;
}

/**
 * verifyCommitSignature checks that the raw commit object `raw` carries an SSH signature, in
 * namespace `git`, by a key bound to a principal in the allowed_signers file `trustFile`.
 * Returns a verdict; returns early with SOURCE_UNSIGNED (no gpgsig header) or
 * SOURCE_BAD_SIGNATURE (malformed header) without running anything. Writes and removes one
 * file in `tmpDir`. Throws EXEC_FAILED / EXEC_TIMEOUT when ssh-keygen cannot be run.
 */
export async function verifyCommitSignature(raw: Uint8Array, trustFile: string, options: SignatureOptions): Promise<SignatureVerdict> {
  const split = splitSignedCommit(raw);
  if (split.kind === "unsigned") return { ok: false, code: "SOURCE_UNSIGNED", reason: "the commit has no signature" };
  if (split.kind === "malformed") return { ok: false, code: "SOURCE_BAD_SIGNATURE", reason: split.reason };
  const executor = options.executor ?? systemExecutor;
  const timeoutMs = options.timeoutMs ?? 10_000;
  await mkdir(options.tmpDir, { recursive: true, mode: 0o700 });
  const sigFile = join(options.tmpDir, `${randomBytes(8).toString("hex")}.sig`);
  await writeFile(sigFile, split.signature, { mode: 0o600 });
  try {
    const run = async (argv: readonly [string, ...string[]], input?: Uint8Array): Promise<RunResult> => {
      const r = await executor.run(argv, { timeoutMs, ...(input === undefined ? {} : { input }) });
      if (r.spawnError !== undefined) throw new StewardError("EXEC_FAILED", "cannot run ssh-keygen", { data: { error: r.spawnError }, hint: "install OpenSSH's ssh-keygen on this node", retry: "stalled" });
      if (r.timedOut) throw new StewardError("EXEC_TIMEOUT", "ssh-keygen did not finish", { data: { argv: argv.slice(0, 3) }, retry: "transient" });
      return r;
    };
    const untrustedOrBad = async (why: string): Promise<SignatureVerdict> => {
      const check = await run(["ssh-keygen", "-Y", "check-novalidate", "-n", "git", "-s", sigFile], split.payload);
      return check.exitCode === 0
        ? { ok: false, code: "SOURCE_UNTRUSTED", reason: why }
        : { ok: false, code: "SOURCE_BAD_SIGNATURE", reason: "the signature does not match the commit" };
    };
    const found = await run(["ssh-keygen", "-Y", "find-principals", "-f", trustFile, "-s", sigFile]);
    if (found.exitCode !== 0) return await untrustedOrBad("the signing key is not in the trust file");
    const principals = found.stdout
      .split("\n")
      .map((l) => l.trim())
      .filter((p) => p !== "" && !/[*?!]/.test(p));
    for (const principal of principals) {
      const revoke = options.revoked === undefined ? [] : ["-r", options.revoked];
      const v = await run(["ssh-keygen", "-Y", "verify", "-f", trustFile, "-I", principal, "-n", "git", "-s", sigFile, ...revoke], split.payload);
      if (v.exitCode === 0) return { ok: true, principal };
    }
    return await untrustedOrBad(principals.length === 0 ? "the signing key matches only wildcard principals" : "the trust file does not admit this key for git signatures now");
  } finally {
    await rm(sigFile, { force: true });
  }
}
