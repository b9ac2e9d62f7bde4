/**
 * Checking one commit's SSH signature (ssh-keygen(1), -Y; docs/decisions.md, "Signatures checked in
 * process, ssh-keygen as the fallback"): in process first (signature-verdict.ts,
 * with node:crypto), and with ssh-keygen whenever the in-process check cannot be sure to answer
 * as ssh-keygen would (certificates, key types it does not implement, a KRL, …). Both give
 * the same verdict. The ssh-keygen path decides on exit codes only, never on its messages:
 * 1. `-Y find-principals -f TRUST -s SIG` names the principals bound to the signing key;
 * 2. `-Y verify -f TRUST -I PRINCIPAL -n git -s SIG < payload` for each principal printed
 *    (patterns such as `*@ops` are never passed back as an identity);
 * 3. only when 1 or 2 fails, `-Y check-novalidate -n git` tells a valid signature by a key the
 *    trust file does not admit (SOURCE_UNTRUSTED) from a broken one (SOURCE_BAD_SIGNATURE).
 * Keys are checked at the agent's clock (`now`), never at the committer date, which the
 * signer chooses.
 */
import { readFileSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { StewardError } from "../errors.js";
import { systemExecutor, type Executor, type RunResult } from "../exec.js";
import { parseAllowedSigners, parseRevokedKeys, type AllowedSigners, type RevokedKeys } from "./allowed-signers.js";
import { splitSignedCommit } from "./payload.js";
import { REASONS, decideSignature, type SignatureDecision, type SignatureVerdict } from "./signature-verdict.js";

export type { SignatureVerdict } from "./signature-verdict.js";

export interface SignatureOptions {
  /** A private directory for the signature file (ssh-keygen path only). */
  readonly tmpDir: string;
  /** A revocation list (public keys or a KRL) passed to `-Y verify -r`. */
  readonly revoked?: string;
  readonly executor?: Executor;
  readonly timeoutMs?: number;
  /**
   * Unix milliseconds at which keys are checked (valid-after, valid-before). Default: the
   * current time. When given, ssh-keygen gets the same instant as `-Overify-time`.
   */
  readonly now?: number;
  /** Ask ssh-keygen without trying the in-process check (benchmarks, differential tests). */
  readonly sshKeygenOnly?: boolean;
  /** Told why, when the in-process check hands a commit to ssh-keygen. */
  readonly onFallback?: (reason: string) => void;
}

/**
 * verifyCommitSignature checks that the raw commit object `raw` carries an SSH signature, in
 * namespace `git`, by a key bound to a principal in the allowed_signers file `trustFile`.
 * Returns a verdict; returns early with SOURCE_UNSIGNED (no gpgsig header) or
 * SOURCE_BAD_SIGNATURE (malformed header) without running anything. Reads `trustFile` and the
 * revocation list (each parsed once per path and content). Only when ssh-keygen must decide,
 * runs it and writes and removes one file in `tmpDir`; throws EXEC_FAILED / EXEC_TIMEOUT when
 * ssh-keygen cannot be run.
 */
export async function verifyCommitSignature(raw: Uint8Array, trustFile: string, options: SignatureOptions): Promise<SignatureVerdict> {
  const split = splitSignedCommit(raw);
  if (split.kind === "unsigned") return { ok: false, code: "SOURCE_UNSIGNED", reason: "the commit has no signature" };
  if (split.kind === "malformed") return { ok: false, code: "SOURCE_BAD_SIGNATURE", reason: split.reason };
  if (options.sshKeygenOnly !== true) {
    const decision = decideInProcess(split.signature, split.payload, trustFile, options);
    if (decision.kind === "verdict") return decision.verdict;
    options.onFallback?.(decision.reason);
  }
  return verifyWithSshKeygen(split.signature, split.payload, trustFile, options);
}

function decideInProcess(armor: string, payload: Uint8Array, trustFile: string, options: SignatureOptions): SignatureDecision {
  const signers = readParsed(TRUST_CACHE, trustFile, parseAllowedSigners);
  if (signers === undefined) return { kind: "fallback", reason: "the trust file cannot be read" };
  let revoked: RevokedKeys | undefined;
  if (options.revoked !== undefined) {
    revoked = readParsed(REVOKED_CACHE, options.revoked, parseRevokedKeys);
    if (revoked === undefined) return { kind: "fallback", reason: "the revocation list cannot be read" };
  }
  return decideSignature({ armor, payload, signers, ...(revoked === undefined ? {} : { revoked }), now: options.now ?? Date.now() });
}

interface Parsed<T> {
  readonly bytes: Buffer;
  readonly value: T;
}

// A chain of commits is checked against a handful of trust files: parse each once per content.
const TRUST_CACHE = new Map<string, Parsed<AllowedSigners>>();
const REVOKED_CACHE = new Map<string, Parsed<RevokedKeys>>();
const MAX_CACHED_FILES = 32;

/**
 * The parse of the file at `path`, reused while its bytes are unchanged; undefined when it
 * cannot be read. Reads synchronously: the files are small (verify.ts caps trust files at
 * MAX_TRUST_BYTES) and local, and a promise-based read per commit cost more than the
 * signature check itself.
 */
function readParsed<T>(cache: Map<string, Parsed<T>>, path: string, parse: (bytes: Uint8Array) => T): T | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return undefined;
  }
  const hit = cache.get(path);
  if (hit !== undefined && hit.bytes.equals(bytes)) return hit.value;
  const value = parse(bytes);
  if (cache.size >= MAX_CACHED_FILES) cache.clear();
  cache.set(path, { bytes, value });
  return value;
}

/** `now` (Unix ms) as an `-Overify-time` value, in UTC (parse_absolute_time reads the "Z"). */
function verifyTime(now: number): string {
  const d = new Date(now);
  const two = (n: number): string => String(n).padStart(2, "0");
  return `${String(d.getUTCFullYear()).padStart(4, "0")}${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`;
}

async function verifyWithSshKeygen(signature: string, payload: Uint8Array, trustFile: string, options: SignatureOptions): Promise<SignatureVerdict> {
  const executor = options.executor ?? systemExecutor;
  const timeoutMs = options.timeoutMs ?? 10_000;
  await mkdir(options.tmpDir, { recursive: true, mode: 0o700 });
  const sigFile = join(options.tmpDir, `${randomBytes(8).toString("hex")}.sig`);
  await writeFile(sigFile, signature, { mode: 0o600 });
  const at = options.now === undefined ? [] : [`-Overify-time=${verifyTime(options.now)}`];
  try {
    const run = async (argv: readonly [string, ...string[]], input?: Uint8Array): Promise<RunResult> => {
      const r = await executor.run(argv, { timeoutMs, ...(input === undefined ? {} : { input }) });
      if (r.spawnError !== undefined) throw new StewardError("EXEC_FAILED", "cannot run ssh-keygen", { data: { error: r.spawnError }, hint: "install OpenSSH's ssh-keygen on this node", retry: "stalled" });
      if (r.timedOut) throw new StewardError("EXEC_TIMEOUT", "ssh-keygen did not finish", { data: { argv: argv.slice(0, 3) }, retry: "transient" });
      return r;
    };
    const untrustedOrBad = async (why: string): Promise<SignatureVerdict> => {
      const check = await run(["ssh-keygen", "-Y", "check-novalidate", "-n", "git", "-s", sigFile], payload);
      return check.exitCode === 0
        ? { ok: false, code: "SOURCE_UNTRUSTED", reason: why }
        : { ok: false, code: "SOURCE_BAD_SIGNATURE", reason: REASONS.bad };
    };
    const found = await run(["ssh-keygen", "-Y", "find-principals", "-f", trustFile, "-s", sigFile, ...at]);
    if (found.exitCode !== 0) return await untrustedOrBad(REASONS.notListed);
    const principals = found.stdout
      .split("\n")
      .map((l) => l.trim())
      .filter((p) => p !== "" && !/[*?!]/.test(p));
    for (const principal of principals) {
      const revoke = options.revoked === undefined ? [] : ["-r", options.revoked];
      const v = await run(["ssh-keygen", "-Y", "verify", "-f", trustFile, "-I", principal, "-n", "git", "-s", sigFile, ...revoke, ...at], payload);
      if (v.exitCode === 0) return { ok: true, principal };
    }
    return await untrustedOrBad(principals.length === 0 ? REASONS.wildcardsOnly : REASONS.notAdmitted);
  } finally {
    await rm(sigFile, { force: true });
  }
}
