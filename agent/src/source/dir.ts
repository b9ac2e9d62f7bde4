/**
 * A cluster repo read from a directory (a checkout, an exported tree in a git hook, or the
 * template), for `steward validate DIR` and `plan/apply --dir`. Reads files; decides nothing.
 */
import { constants } from "node:fs";
import { lstat, open, readdir } from "node:fs/promises";
import { join } from "node:path";
import { StewardError } from "../errors.js";
import { isManifestPath } from "../manifest/load.js";
import { MAX_FILE_BYTES, type RepoSnapshot } from "../manifest/types.js";
import { MAX_MANIFEST_BYTES } from "../manifest/yaml.js";

/** Folders never part of the cluster's content. */
const SKIP = new Set([".git", "node_modules"]);

/**
 * readSnapshotFromDir lists every regular file below `dir` (symlinks are not followed, so a
 * link cannot pull content from outside the repo) and reads the manifest files. A manifest
 * larger than MAX_MANIFEST_BYTES is not read at all (its size goes to `oversized`, and
 * validation reports it): memory stays bounded whatever the directory holds.
 * Raises MANIFEST_MISSING when `dir` is not a readable directory, MANIFEST_INVALID
 * (transient) when a manifest file cannot be opened (permissions) or is replaced by something
 * other than a regular file while the directory is read.
 */
export async function readSnapshotFromDir(dir: string): Promise<RepoSnapshot> {
  const stat = await lstat(dir).catch(() => undefined);
  if (stat === undefined || !stat.isDirectory()) {
    throw new StewardError("MANIFEST_MISSING", `${dir} is not a directory`, { data: { dir }, hint: "name the folder holding cluster.yaml" });
  }
  const paths = new Set<string>();
  const manifests = new Map<string, string>();
  const oversized = new Map<string, number>();
  // One buffer for every manifest: the walk reads one file at a time.
  const scratch = Buffer.allocUnsafe(MAX_MANIFEST_BYTES + 1);
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (!SKIP.has(e.name)) await walk(path);
      } else if (e.isFile()) {
        paths.add(path);
        if (!isManifestPath(path)) continue;
        const read = await readManifest(join(dir, path), path, scratch);
        if (typeof read === "string") manifests.set(path, read);
        else oversized.set(path, read.size);
      }
    }
  };
  await walk("");
  const readFile = async (path: string): Promise<Uint8Array> => {
    if (!paths.has(path)) throw new StewardError("MANIFEST_MISSING", `${path} is not a regular file of the repo`, { data: { path }, where: { file: path, line: 1, column: 1 }, hint: "add the file, or correct files.<path>.from" });
    return readBounded(join(dir, path), path);
  };
  return { manifests, paths, oversized, readFile };
}

/**
 * readBounded reads a file the repo lists, at most MAX_FILE_BYTES (checked on the open file
 * before reading, as readManifest does). Throws MANIFEST_INVALID beyond that or when it cannot
 * be read.
 */
async function readBounded(file: string, path: string): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    throw unreadable(path, e);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw unreadable(path, "it is no longer a regular file");
    if (st.size > MAX_FILE_BYTES) throw tooLarge(path, st.size);
    const buf = Buffer.alloc(st.size + 1);
    let total = 0;
    while (total < buf.length) {
      const { bytesRead } = await handle.read(buf, total, buf.length - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    if (total > MAX_FILE_BYTES) throw tooLarge(path, total);
    return buf.subarray(0, total);
  } finally {
    await handle.close();
  }
}

function tooLarge(path: string, size: number): StewardError {
  return new StewardError("MANIFEST_INVALID", `${path}: ${size} bytes, larger than the limit of ${MAX_FILE_BYTES} bytes for a file a service installs`, {
    data: { file: path, size, limit: MAX_FILE_BYTES },
    where: { file: path, line: 1, column: 1 },
    hint: "a configuration file is a few KiB; keep large data out of the cluster repo",
    retry: "stalled",
  });
}

/**
 * readManifest reads one manifest file into `scratch` (MAX_MANIFEST_BYTES + 1 long), never more:
 * the size is checked on the open file before reading, and reading stops one byte past the
 * limit, should the file grow in between. Returns the text, or the size when over the limit.
 */
async function readManifest(file: string, path: string, scratch: Buffer): Promise<string | { size: number }> {
  let handle;
  try {
    // The entry was a regular file when listed; O_NOFOLLOW and O_NONBLOCK keep a symlink or a
    // FIFO put in its place since from being followed or blocking open(2).
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    throw unreadable(path, e);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw unreadable(path, "it is no longer a regular file");
    if (st.size > MAX_MANIFEST_BYTES) return { size: st.size };
    let total = 0;
    while (total < scratch.length) {
      const { bytesRead } = await handle.read(scratch, total, scratch.length - total, total);
      if (bytesRead === 0) break;
      total += bytesRead;
    }
    if (total > MAX_MANIFEST_BYTES) return { size: Math.max(st.size, total) };
    return scratch.toString("utf8", 0, total);
  } finally {
    await handle.close();
  }
}

function unreadable(path: string, cause: unknown): StewardError {
  const error = cause instanceof Error ? cause.message : String(cause);
  return new StewardError("MANIFEST_INVALID", `${path} cannot be read: ${error}`, {
    data: { file: path, error },
    where: { file: path, line: 1, column: 1 },
    hint: "make it a readable regular file; if something was changing the directory, run again",
    retry: "transient",
    cause,
  });
}
