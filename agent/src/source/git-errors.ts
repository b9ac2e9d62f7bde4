/**
 * Turning isomorphic-git's read errors into StewardErrors: a missing object (NotFoundError) or
 * an object of the wrong type (ObjectTypeError) in the local repository is a fact about the
 * repository, not a bug, and must become a hold, never a crash.
 */
import { StewardError, type ErrorCode } from "../errors.js";

/** isGitReadError tells whether `e` is isomorphic-git's NotFoundError or ObjectTypeError. */
export function isGitReadError(e: unknown): boolean {
  if (typeof e !== "object" || e === null || e instanceof StewardError) return false;
  const code = (e as { code?: unknown }).code;
  return code === "NotFoundError" || code === "ObjectTypeError";
}

/**
 * typedReadError returns `e` as a StewardError with `code` (retry "transient") when it is an
 * isomorphic-git read error, and `e` unchanged otherwise. Pure.
 */
export function typedReadError(e: unknown, code: ErrorCode, message: string, data: Readonly<Record<string, unknown>>): unknown {
  if (!isGitReadError(e)) return e;
  const gitError = (e as { code: string }).code;
  return new StewardError(code, message, {
    data: { ...data, gitError, error: e instanceof Error ? e.message : String(e) },
    hint: "the local repository lacks an object or holds one of the wrong type; the next fetch checks completeness again. If it persists, remove <state>/source/repo.git and fetch again",
    retry: "transient",
    cause: e,
  });
}
