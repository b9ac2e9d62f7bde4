/**
 * What the commands that read an admin's clone of the cluster repo share (`status`, `plan
 * --rev` on a clone, `log`): finding its git directory and naming revisions in it.
 */
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import git from "isomorphic-git";
import { StewardError } from "../errors.js";
import { systemExecutor, type Executor } from "../exec.js";
import { gitFs } from "../source/repo.js";
import { resolveBranch } from "../status/history.js";
import { usageError } from "./command.js";

/** findGitdir accepts a work tree with a .git directory, or a bare repository. */
export function findGitdir(dir: string): string {
  const dotGit = join(dir, ".git");
  if (existsSync(dotGit) && statSync(dotGit).isDirectory()) return dotGit;
  if (existsSync(join(dir, "HEAD")) && existsSync(join(dir, "objects"))) return dir;
  throw usageError(`${dir} is not a clone of the cluster repo (no .git directory, not a bare repository)`);
}

/** A revision of the clone: the name asked for, the ref it was found under (null for a commit id or an expression), the commit. */
export interface CloneRevision {
  readonly name: string;
  readonly ref: string | null;
  readonly oid: string;
}

const OID_PREFIX = /^[0-9a-f]{4,40}$/;

/**
 * resolveCloneRevision names a commit of the clone. `prefer: "remote"` (the tracked branch, as
 * the nodes see it) looks for `<remote>/<name>` before a local branch; `prefer: "local"` (the
 * change being reviewed, as edited) the other way round. Then tags and other refs (`HEAD`), a
 * commit id or its prefix, and last whatever `git rev-parse` makes of it (`HEAD~2`). Throws
 * SOURCE_NOT_FOUND when nothing matches or it is not a commit.
 */
export async function resolveCloneRevision(gitdir: string, name: string, remote: string, prefer: "remote" | "local", executor: Executor = systemExecutor): Promise<CloneRevision> {
  const cache = {};
  const isCommit = async (oid: string): Promise<boolean> =>
    git.readObject({ fs: gitFs, gitdir, oid, cache, format: "parsed" }).then(
      (o) => o.type === "commit",
      () => false,
    );
  const tryRef = async (ref: string): Promise<CloneRevision | undefined> => {
    try {
      const oid = await git.resolveRef({ fs: gitFs, gitdir, ref });
      const full = ref === "HEAD" || ref.startsWith("refs/") ? ref : await git.expandRef({ fs: gitFs, gitdir, ref });
      return (await isCommit(oid)) ? { name, ref: full, oid } : undefined;
    } catch {
      return undefined;
    }
  };
  if (!name.startsWith("-")) {
    const branch = prefer === "remote" ? await resolveBranch(gitdir, name, remote) : undefined;
    if (branch !== undefined && (await isCommit(branch.oid))) return { name, ref: branch.ref, oid: branch.oid };
    for (const ref of [`refs/heads/${name}`, `refs/remotes/${remote}/${name}`, name]) {
      const found = await tryRef(ref);
      if (found !== undefined) return found;
    }
    if (OID_PREFIX.test(name)) {
      const oid = await git.expandOid({ fs: gitFs, gitdir, oid: name, cache }).catch(() => undefined);
      if (oid !== undefined && (await isCommit(oid))) return { name, ref: null, oid };
    }
    const r = await executor.run(["git", `--git-dir=${gitdir}`, "rev-parse", "--verify", "-q", `${name}^{commit}`], { timeoutMs: 30_000 });
    const oid = r.stdout.trim();
    if (r.exitCode === 0 && /^[0-9a-f]{40}$/.test(oid)) return { name, ref: null, oid };
  }
  throw new StewardError("SOURCE_NOT_FOUND", `${name} names no commit in ${gitdir}`, { data: { gitdir, revision: name }, hint: "name a branch, a tag or a commit of the clone (run git fetch first for a branch of the remote)", retry: "stalled" });
}
