/**
 * Reading the small local files the configuration names (trust file, revocation list, ssh key,
 * known_hosts) for checks, with the reason in words when they cannot be read. Synchronous: the
 * files are small and local, and the configuration is read once per command.
 */
import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";

/** A file's first bytes and what ssh asks of its owner and mode, or why it cannot be read. */
export type SmallFile =
  | { readonly ok: true; readonly bytes: Uint8Array; readonly size: number; readonly mode: number; readonly ownedByMe: boolean }
  | { readonly ok: false; readonly errno: string | undefined; readonly reason: string };

const REASONS: Readonly<Record<string, string>> = {
  ENOENT: "does not exist",
  EACCES: "cannot be read: permission denied",
  EPERM: "cannot be read: permission denied",
  EISDIR: "is a directory",
  ENOTDIR: "does not exist (a parent is not a directory)",
  ELOOP: "is a symbolic link loop",
};

/**
 * readSmallFile returns at most `limit` bytes from the start of the regular file at `path`
 * (with its size, mode and whether this process's user owns it), or why it cannot: a missing
 * file, a directory, a device or FIFO (opened without blocking, never read), no permission.
 * Never throws.
 */
export function readSmallFile(path: string, limit: number): SmallFile {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    const st = fstatSync(fd);
    if (st.isDirectory()) return { ok: false, errno: "EISDIR", reason: REASONS["EISDIR"] as string };
    if (!st.isFile()) return { ok: false, errno: undefined, reason: "is not a regular file" };
    const buf = Buffer.alloc(Math.min(limit, st.size));
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    const uid = process.getuid?.();
    return { ok: true, bytes: buf.subarray(0, got), size: st.size, mode: st.mode & 0o7777, ownedByMe: uid !== undefined && st.uid === uid };
  } catch (e) {
    const errno = typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "string" ? (e as { code: string }).code : undefined;
    return { ok: false, errno, reason: (errno === undefined ? undefined : REASONS[errno]) ?? `cannot be read: ${e instanceof Error ? e.message : String(e)}` };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
