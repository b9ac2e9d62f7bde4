/**
 * Turning errors of the local repository into StewardErrors: a missing object (NotFoundError)
 * or an object of the wrong type (ObjectTypeError) is a fact about the repository, and a full or
 * read-only disk a fact about the node; neither is a bug or the remote's fault, and each must
 * become a hold, never a crash.
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

/** Errors of the local file system: the node's disk, not the remote, is at fault. */
const LOCAL_FS_ERRORS = new Set(["ENOSPC", "EDQUOT", "EACCES", "EPERM", "EROFS", "EIO", "EMFILE", "ENFILE", "ENOTDIR", "EISDIR", "ELOOP", "ENAMETOOLONG", "EFBIG"]);

/**
 * localStateError returns SOURCE_STATE for an error of the local file system (it carries a
 * `syscall`, as node:fs errors do), naming the path and the errno, and undefined otherwise.
 */
export function localStateError(e: unknown, what: string): StewardError | undefined {
  if (typeof e !== "object" || e === null) return undefined;
  const { code, syscall, path } = e as { code?: unknown; syscall?: unknown; path?: unknown };
  if (typeof code !== "string" || typeof syscall !== "string" || !LOCAL_FS_ERRORS.has(code)) return undefined;
  const full = code === "ENOSPC" || code === "EDQUOT" || code === "EFBIG";
  return new StewardError("SOURCE_STATE", `cannot write the local repository while ${what}: ${code}`, {
    data: { errno: code, syscall, ...(typeof path === "string" ? { path } : {}) },
    hint: full
      ? "the state directory's file system is full: free space there (or move state: to a larger one); the fetch is retried"
      : "check the state directory's permissions, that its file system is mounted read-write, and the disk's health",
    retry: "transient",
    cause: e,
  });
}
