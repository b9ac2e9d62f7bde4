/**
 * Where the chain verification (verify.ts) reads git objects from. The node reads its own bare
 * repository through isomorphic-git; the git server's pre-receive hook reads the pushed
 * objects, which sit in git's quarantine directory (githooks(5), "pre-receive") where isomorphic-git cannot see
 * them (it reads no alternates), through native git (cat-file.ts). Both hand verify.ts the same
 * bytes, and verify.ts parses them with the same code, so a push is judged as a node judges it.
 */
import git from "isomorphic-git";
import type { CommitHeader } from "./payload.js";
import type { GitFs } from "./repo.js";

/** One object as git stores it: its type and the bytes git hashes after the `<type> <size>\0` prefix. */
export interface GitObject {
  readonly type: string;
  readonly content: Uint8Array;
}

/** Reads objects from one repository that nothing changes while it is read. */
export interface ObjectSource {
  /**
   * read returns the object `oid`. Throws an Error whose `code` is "NotFoundError" when the
   * repository lacks it (git-errors.ts turns that into a typed error).
   */
  read(oid: string): Promise<GitObject>;
  /**
   * The header of a commit that parseCommitHeader (payload.ts) cannot read, by a more lenient
   * parser; without one such a commit is refused as malformed.
   */
  readonly readCommitLeniently?: (oid: string) => Promise<CommitHeader>;
}

/**
 * isomorphicObjects reads the bare repository `gitdir` through isomorphic-git with its object
 * cache, through `fs` (frozenGitFs under the repo lock). Reads nothing until asked.
 */
export function isomorphicObjects(gitdir: string, cache: object, fs: GitFs): ObjectSource {
  return {
    async read(oid) {
      const r = await git.readObject({ fs, gitdir, oid, format: "content", cache });
      return { type: r.type, content: r.object as Uint8Array };
    },
    async readCommitLeniently(oid) {
      const { commit } = await git.readCommit({ fs, gitdir, oid, cache });
      return { tree: commit.tree, parents: commit.parent, committed: commit.committer.timestamp };
    },
  };
}

/** One entry of a tree object. */
export interface TreeEntry {
  /** "040000", "100644", "100755", "120000" or "160000". */
  readonly mode: string;
  readonly path: string;
  readonly oid: string;
  readonly type: "tree" | "blob" | "commit";
}

const TYPES: Readonly<Record<string, TreeEntry["type"]>> = { "040000": "tree", "100644": "blob", "100755": "blob", "120000": "blob", "160000": "commit" };

/**
 * parseTree reads a tree object's content (gitformat-tree: `<mode> SP <name> NUL <20-byte id>`
 * repeated) with isomorphic-git's rules (GitTree, parseBuffer in its index.js), so that the node
 * and the server read the same tree the same way: a mode other than the five git writes, and a
 * name git itself refuses to check out (verify_path: a slash or backslash, "." or "..", ".git"
 * and its NTFS and HFS+ aliases) make the whole tree unreadable. Pure; throws an Error (code
 * "ObjectTypeError") for such a tree.
 */
export function parseTree(content: Uint8Array): TreeEntry[] {
  const bytes = Buffer.from(content.buffer, content.byteOffset, content.byteLength);
  const entries: TreeEntry[] = [];
  let cursor = 0;
  while (cursor < bytes.length) {
    const space = bytes.indexOf(0x20, cursor);
    const nul = bytes.indexOf(0x00, cursor);
    if (space === -1 || nul === -1 || nul + 21 > bytes.length) throw unreadable(`the tree ends inside an entry at byte ${cursor}`);
    let mode = bytes.subarray(cursor, space).toString("utf8");
    if (mode === "40000") mode = "040000";
    const type = TYPES[mode];
    if (type === undefined) throw unreadable(`unexpected tree entry mode ${mode}`);
    const path = bytes.subarray(space + 1, nul).toString("utf8");
    if (isUnsafeName(path)) throw unreadable(`unsafe tree entry name ${JSON.stringify(path)}`);
    entries.push({ mode, path, oid: bytes.subarray(nul + 1, nul + 21).toString("hex"), type });
    cursor = nul + 21;
  }
  return entries;
}

/** isUnsafeName is isomorphic-git's check of a tree entry name (after git's verify_path, is_ntfs_dotgit, is_hfs_dotgit). */
function isUnsafeName(path: string): boolean {
  const hfsClean = path.replace(/[\u200C-\u200F\u202A-\u202E\u206A-\u206F\uFEFF]/g, "");
  const normalized = (hfsClean.split(":")[0] ?? "").toLowerCase().replace(/[. ]+$/, "");
  return path.includes("\\") || path.includes("/") || hfsClean === "." || hfsClean === ".." || normalized === ".git" || /^\.?git~[1-9]$/.test(normalized);
}

function unreadable(message: string): Error {
  return Object.assign(new Error(message), { code: "ObjectTypeError" });
}
