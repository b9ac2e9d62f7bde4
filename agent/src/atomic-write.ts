/**
 * Writing a state file so that a crash leaves either the old content or the new, never a torn
 * file: a fresh temp file next to it (O_EXCL), fsync, rename over the target, fsync the directory.
 * Every state file of the agent (applied revision, trust copy, records, git refs) goes through here.
 */
import { randomBytes } from "node:crypto";
import { constants as fsc } from "node:fs";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { dirname, join } from "node:path";

/**
 * writeFileAtomic replaces `path` with `data` (file mode `mode`), creating the directory
 * (`dirMode`, 0700 by default) if needed; `mode` is set explicitly, whatever the umask. Side
 * effects: a `.<random>.tmp` file that exists only during the call. Throws the fs error
 * (ENOSPC, EACCES) after removing the temp file.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600, dirMode = 0o700): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: dirMode });
  const tmp = join(dir, `.${randomBytes(6).toString("hex")}.tmp`);
  try {
    const fh = await open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, mode);
    try {
      await fh.writeFile(data);
      await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await syncDirectory(dir);
}

/** syncDirectory makes a rename in `dir` durable. Some file systems refuse fsync on a directory; that is not an error here. */
export async function syncDirectory(dir: string): Promise<void> {
  try {
    const fh = await open(dir, "r");
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // EISDIR/EINVAL/EPERM on some platforms: the rename is still atomic, only less durable.
  }
}
