/**
 * A cluster repo read from a directory (a checkout, an exported tree in a git hook, or the
 * template), for `steward validate DIR` and `plan/apply --dir`. Reads files; decides nothing.
 */
import { lstat, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { StewardError } from "../errors.js";
import { isManifestPath } from "../manifest/load.js";
import type { RepoSnapshot } from "../manifest/types.js";

/** Folders never part of the cluster's content. */
const SKIP = new Set([".git", "node_modules"]);

/** Manifests larger than this are not read whole; validation reports them. */
const READ_LIMIT = 1024 * 1024 + 1;

/**
 * readSnapshotFromDir lists every regular file below `dir` (symlinks are not followed, so a
 * link cannot pull content from outside the repo) and reads the manifest files.
 * Raises MANIFEST_MISSING when `dir` is not a readable directory.
 */
export async function readSnapshotFromDir(dir: string): Promise<RepoSnapshot> {
  const stat = await lstat(dir).catch(() => undefined);
  if (stat === undefined || !stat.isDirectory()) {
    throw new StewardError("MANIFEST_MISSING", `${dir} is not a directory`, { data: { dir }, hint: "name the folder holding cluster.yaml" });
  }
  const paths = new Set<string>();
  const manifests = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.isDirectory()) {
        if (!SKIP.has(e.name)) await walk(path);
      } else if (e.isFile()) {
        paths.add(path);
        if (isManifestPath(path)) manifests.set(path, await readHead(join(dir, path)));
      }
    }
  };
  await walk("");
  return { manifests, paths };
}

async function readHead(file: string): Promise<string> {
  const buf = await readFile(file);
  return buf.subarray(0, READ_LIMIT).toString("utf8");
}
