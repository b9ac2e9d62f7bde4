/**
 * Writing a state file so that a crash leaves either the old content or the new, never a torn
 * file: write a temp file next to it, fsync it, rename it over, fsync the directory.
 */
import { mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * writeFileAtomic replaces `path` with `text`. Creates the directory if needed. Side effects:
 * a `.<name>.<pid>.tmp` file that exists only during the call. Throws the fs error (ENOSPC,
 * EACCES) after removing the temp file.
 */
export async function writeFileAtomic(path: string, text: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  try {
    const fh = await open(tmp, "w", 0o644);
    try {
      await fh.writeFile(text, "utf8");
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
