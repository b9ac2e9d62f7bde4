/**
 * Steward's one error type and the diagnostics that validation collects.
 *
 * Every failure that reaches an admin carries a stable `code` (tests and scripts match on it,
 * never on message text), the facts in `data`, a `hint` saying what to do, and `retry`:
 * - "stalled":   the input is wrong; retrying without a new commit or a config change is pointless.
 * - "transient": the world was unhelpful (a remote down, a lock held); retry with backoff.
 * - "internal":  a bug in Steward; say so.
 */

export type ErrorCode =
  // usage and configuration
  | "USAGE"
  | "CONFIG_INVALID"
  // manifest (validate/check)
  | "MANIFEST_YAML"
  | "MANIFEST_SCHEMA"
  | "MANIFEST_REFERENCE"
  | "MANIFEST_DUPLICATE"
  | "MANIFEST_NAME"
  | "MANIFEST_PATH"
  | "MANIFEST_CONFLICT"
  | "MANIFEST_MISSING"
  | "MANIFEST_INVALID"
  // network policy (steward check): the compiled pf rules against what the manifest declares
  | "POLICY_LEAK"
  | "POLICY_UNREACHABLE"
  // source (fetch, trust, revision choice)
  | "SOURCE_FETCH_FAILED"
  | "SOURCE_TIMEOUT"
  | "SOURCE_AUTH"
  | "SOURCE_HOST_KEY"
  | "SOURCE_PROTOCOL"
  | "SOURCE_NO_REMOTE"
  | "SOURCE_EMPTY"
  | "SOURCE_UNSIGNED"
  | "SOURCE_UNTRUSTED"
  | "SOURCE_BAD_SIGNATURE"
  | "SOURCE_ROLLBACK"
  | "SOURCE_DIVERGED"
  | "SOURCE_FUTURE_COMMIT"
  | "SOURCE_BACKDATED_COMMIT"
  | "SOURCE_TRUST_INVALID"
  | "SOURCE_NOT_FOUND"
  | "SOURCE_STATE"
  | "SOURCE_LOCKED"
  // reconcile
  | "OBSERVE_FAILED"
  | "APPLY_LOCKED"
  | "APPLY_FAILED"
  | "EXEC_FAILED"
  | "EXEC_TIMEOUT"
  | "APPLY_PRECONDITION"
  | "APPLY_VERIFY_FAILED"
  | "APPLY_REVERTED"
  // backups (steward restore)
  | "RESTORE_SOURCE"
  | "RESTORE_NO_COPY"
  | "RESTORE_FAILED"
  | "RESTORE_SWAP_REFUSED"
  | "RESTORE_SWAP_FAILED"
  // status (the signed report on status/<node>)
  | "STATUS_STATE"
  | "STATUS_SIGN"
  | "STATUS_PUSH"
  | "STATUS_PUSH_DENIED"
  | "STATUS_UNVERIFIED"
  // the agent
  | "AGENT_RUNNING"
  | "AGENT_KICK_FAILED"
  | "INTERNAL";

export type Retry = "stalled" | "transient" | "internal";

/** A place in a file of the cluster repo. Lines and columns count from 1. */
export interface Where {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export interface StewardErrorOptions {
  readonly data?: Readonly<Record<string, unknown>>;
  readonly hint?: string;
  readonly where?: Where;
  readonly retry?: Retry;
  readonly cause?: unknown;
}

export class StewardError extends Error {
  readonly code: ErrorCode;
  readonly data: Readonly<Record<string, unknown>>;
  readonly hint: string | undefined;
  readonly where: Where | undefined;
  readonly retry: Retry;

  constructor(code: ErrorCode, message: string, options: StewardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "StewardError";
    this.code = code;
    this.data = options.data ?? {};
    this.hint = options.hint;
    this.where = options.where;
    this.retry = options.retry ?? "stalled";
  }

  toJSON(): Record<string, unknown> {
    return {
      code: this.code,
      message: this.message,
      ...(this.hint === undefined ? {} : { hint: this.hint }),
      ...(this.where === undefined ? {} : { where: this.where }),
      retry: this.retry,
      data: this.data,
    };
  }
}

/** isStewardError tells a typed Steward failure from anything else thrown. */
export function isStewardError(e: unknown): e is StewardError {
  return e instanceof StewardError;
}

/**
 * asStewardError wraps anything thrown into a StewardError, keeping typed ones as they are.
 * Unknown throwables become INTERNAL: they are bugs until proven otherwise.
 */
export function asStewardError(e: unknown, code: ErrorCode = "INTERNAL"): StewardError {
  if (e instanceof StewardError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new StewardError(code, message, { retry: code === "INTERNAL" ? "internal" : "transient", cause: e });
}

export type Severity = "error" | "warning";

/** One problem found by validation. Validation returns every one of them, it never throws. */
export interface Diagnostic {
  readonly code: ErrorCode;
  readonly severity: Severity;
  readonly message: string;
  readonly where: Where;
  readonly hint?: string;
}

/** renderDiagnostic formats one diagnostic the way compilers do: `file:line:col  CODE  message`. */
export function renderDiagnostic(d: Diagnostic): string {
  const head = `${d.where.file}:${d.where.line}:${d.where.column}  ${d.code}  ${d.message}`;
  return d.hint === undefined ? head : `${head}\n  hint: ${d.hint}`;
}
