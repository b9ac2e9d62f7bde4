/**
 * Reading one revision of the cluster repo straight from the object store, without a working
 * tree (docs/architecture.md, "The flow", step 2): the text of the manifest files and the list of every file path.
 */
import git from "isomorphic-git";
import { StewardError } from "../errors.js";
import { isManifestPath } from "../manifest/load.js";
import { MAX_FILE_BYTES, type RepoSnapshot } from "../manifest/types.js";
import { MAX_MANIFEST_BYTES } from "../manifest/yaml.js";
import { typedReadError } from "./git-errors.js";
import { frozenGitFs, gitFs, withRepoLock, type GitFs } from "./repo.js";

/** The largest manifest file read: the manifest step's own limit (yaml.ts). */
export const MAX_SNAPSHOT_BLOB_BYTES = MAX_MANIFEST_BYTES;
/** The most paths one revision may have; a cluster repo has dozens. */
export const MAX_SNAPSHOT_PATHS = 100_000;
const MAX_DEPTH = 32;

/**
 * readSnapshot reads the revision `oid` from the bare repository at `gitdir`: the text of every
 * manifest file (see isManifestPath) and the path of every file (blobs and symlinks; submodule
 * entries are skipped). Takes the repo lock. Uses `cache` for every object read (reuse one per
 * reconcile: reads are 25 times slower without it). Throws MANIFEST_INVALID when a manifest is
 * larger than MAX_SNAPSHOT_BLOB_BYTES or not UTF-8, or the tree is too large or deep,
 * SOURCE_NOT_FOUND when the revision is not in the repository, SOURCE_STATE when one of its
 * trees or blobs is missing or of the wrong type, and SOURCE_LOCKED when another process holds
 * the repository.
 */
export async function readSnapshot(gitdir: string, oid: string, cache: object): Promise<RepoSnapshot> {
  return withRepoLock(gitdir, async () => {
    try {
      // Under the lock nothing writes the repository.
      return await readSnapshotUnlocked(gitdir, oid, cache, frozenGitFs(), (fn) => withRepoLock(gitdir, fn));
    } catch (e) {
      throw typedReadError(e, "SOURCE_STATE", "the revision is incomplete in the local repository", { revision: oid, gitdir });
    }
  });
}

/**
 * readCloneSnapshot is readSnapshot for a repository Steward does not own (an admin's clone,
 * read by `steward status`): no lock file is created next to it, and objects are read as they
 * are. Throws as readSnapshot does, except SOURCE_LOCKED.
 */
export async function readCloneSnapshot(gitdir: string, oid: string, cache: object): Promise<RepoSnapshot> {
  try {
    return await readSnapshotUnlocked(gitdir, oid, cache, gitFs, (fn) => fn());
  } catch (e) {
    throw typedReadError(e, "SOURCE_STATE", "the revision is incomplete in the repository", { revision: oid, gitdir });
  }
}

/** `locked` runs a later read of a file's bytes: under the repo lock for Steward's own repository, as is for a clone. */
async function readSnapshotUnlocked(gitdir: string, oid: string, cache: object, gitFs: GitFs, locked: (fn: () => Promise<Uint8Array>) => Promise<Uint8Array>): Promise<RepoSnapshot> {
  {
    const manifests = new Map<string, string>();
    const paths = new Set<string>();
    const blobs: { path: string; oid: string }[] = [];
    const regular = new Map<string, string>();
    const walk = async (treeOid: string, prefix: string, depth: number): Promise<void> => {
      if (depth > MAX_DEPTH) throw invalid(prefix, "the tree is nested too deeply", "flatten the repository layout");
      const { tree } = await git.readTree({ fs: gitFs, gitdir, oid: treeOid, cache });
      for (const entry of tree) {
        const path = `${prefix}${entry.path}`;
        if (entry.type === "tree") {
          await walk(entry.oid, `${path}/`, depth + 1);
        } else if (entry.type === "blob") {
          paths.add(path);
          if (paths.size > MAX_SNAPSHOT_PATHS) throw invalid(path, `more than ${MAX_SNAPSHOT_PATHS} files`, "keep the cluster repo to configuration");
          if (entry.mode !== "120000") regular.set(path, entry.oid);
          if (entry.mode !== "120000" && isManifestPath(path)) blobs.push({ path, oid: entry.oid });
        }
      }
    };
    let commitTree: string;
    try {
      commitTree = (await git.readCommit({ fs: gitFs, gitdir, oid, cache })).commit.tree;
    } catch (e) {
      throw new StewardError("SOURCE_NOT_FOUND", "the revision is not in the local repository", { data: { revision: oid, gitdir }, hint: "fetch first; the state directory may have been cleaned", retry: "transient", cause: e });
    }
    await walk(commitTree, "", 0);
    const decoder = new TextDecoder("utf-8", { fatal: true });
    for (const b of blobs) {
      // isomorphic-git inflates a whole object to read it, even to learn its size (a packed
      // object has no cheaper path), so the read itself is bounded by the fetch step: no object
      // over DEFAULT_PACK_LIMITS.maxObjectBytes (4 MiB) enters this repository (pack-guard.ts).
      // The manifest limit is checked here, before the bytes are decoded or parsed.
      const { blob } = await git.readBlob({ fs: gitFs, gitdir, oid: b.oid, cache });
      if (blob.length > MAX_SNAPSHOT_BLOB_BYTES) throw invalid(b.path, `${blob.length} bytes, larger than the manifest limit of ${MAX_SNAPSHOT_BLOB_BYTES} bytes (1 MiB)`, "a manifest is a few KiB: move data into files/ and reference it with files.<path>.from", { size: blob.length, limit: MAX_SNAPSHOT_BLOB_BYTES });
      try {
        manifests.set(b.path, decoder.decode(blob));
      } catch {
        throw invalid(b.path, "not UTF-8 text", "save the file as UTF-8");
      }
    }
    const readFile = (path: string): Promise<Uint8Array> => {
      const blobOid = regular.get(path);
      if (blobOid === undefined) {
        return Promise.reject(new StewardError("MANIFEST_MISSING", `${path} is not a regular file of revision ${oid.slice(0, 12)}`, { data: { path }, where: { file: path, line: 1, column: 1 }, hint: "add the file (symlinks are not followed), or correct files.<path>.from" }));
      }
      return locked(async () => {
        // Bounded by the fetch step: no object over 4 MiB enters this repository (pack-guard.ts).
        const { blob } = await git.readBlob({ fs: gitFs, gitdir, oid: blobOid, cache });
        if (blob.length > MAX_FILE_BYTES) {
          throw invalid(path, `${blob.length} bytes, larger than the limit of ${MAX_FILE_BYTES} bytes for a file a service installs`, "a configuration file is a few KiB; keep large data out of the cluster repo", { size: blob.length, limit: MAX_FILE_BYTES });
        }
        return blob;
      });
    };
    return { manifests, paths, revision: oid, readFile };
  }
}

function invalid(file: string, message: string, hint: string, data: Readonly<Record<string, unknown>> = {}): StewardError {
  return new StewardError("MANIFEST_INVALID", `${file}: ${message}`, { data: { file, ...data }, where: { file, line: 1, column: 1 }, hint, retry: "stalled" });
}
