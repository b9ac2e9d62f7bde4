/**
 * The node's bare repository (`<state>/source/repo.git`) and the mutex around it. Every
 * isomorphic-git call on a gitdir runs under `withRepoLock`: isomorphic-git's own locks are
 * per call, and a fetch interleaved with reads sees packs half-written (git.md §1.8).
 */
import fs from "node:fs";
import { access, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import git from "isomorphic-git";
import { StewardError } from "../errors.js";
import { bridgeUrl, type RemoteSpec } from "./remotes.js";
import { writeFileAtomic } from "../atomic-write.js";

const PACK_FILE = /\/objects\/pack\/pack-[0-9a-f]{40}\.(?:pack|idx)$/;

/**
 * repoFs is the file system isomorphic-git writes the repository through: every file is
 * written atomically (temp file, fsync, rename), so a crash never leaves a torn ref or pack;
 * and a pack or index is never replaced by different bytes. isomorphic-git names a fetched
 * pack after its last 20 bytes without checking them (fetch.ts checks afterwards), so a
 * hostile server could otherwise overwrite a good pack by sending garbage ending in its name.
 */
export const repoFs = {
  promises: {
    ...fs.promises,
    async writeFile(path: string, data: string | Uint8Array, options?: unknown): Promise<void> {
      const bytes = typeof data === "string" ? Buffer.from(data, typeof options === "string" ? (options as BufferEncoding) : "utf8") : data;
      if (PACK_FILE.test(path)) {
        let existing: Buffer | undefined;
        try {
          existing = await readFile(path);
        } catch {
          existing = undefined;
        }
        if (existing !== undefined) {
          if (existing.equals(bytes)) return;
          throw new StewardError("SOURCE_PROTOCOL", "the server sent a pack named like an existing one with other contents", { data: { path }, hint: "the server is broken or hostile", retry: "stalled" });
        }
      }
      await writeFileAtomic(path, bytes, 0o644);
    },
  },
};

const tails = new Map<string, Promise<unknown>>();

/**
 * withRepoLock runs `fn` when every earlier holder of this gitdir's lock has finished, and
 * returns its result. Not reentrant: code running under the lock calls the unlocked helpers.
 */
export function withRepoLock<T>(gitdir: string, fn: () => Promise<T>): Promise<T> {
  const before = tails.get(gitdir) ?? Promise.resolve();
  const run = before.then(fn, fn);
  const tail = run.catch(() => undefined);
  tails.set(gitdir, tail);
  void tail.then(() => {
    if (tails.get(gitdir) === tail) tails.delete(gitdir);
  });
  return run;
}

/**
 * prepareRepo makes sure the bare repository exists and has one remote per configured remote
 * (git.md §1.1): creates it on first use, sets core.ignorecase=false and gc.auto=0, and
 * (re)writes `remote.<name>.url` to the URL isomorphic-git must use. Call under the lock.
 * Throws SOURCE_STATE when the directory cannot be created or written.
 */
export async function prepareRepo(gitdir: string, remotes: readonly RemoteSpec[], branch: string): Promise<void> {
  try {
    let exists = true;
    try {
      await access(join(gitdir, "HEAD"));
    } catch {
      exists = false;
    }
    if (!exists) {
      await mkdir(gitdir, { recursive: true, mode: 0o700 });
      await git.init({ fs: repoFs, bare: true, dir: gitdir, defaultBranch: branch });
    }
    for (const [path, value] of [["core.ignorecase", false], ["gc.auto", 0], ["core.filemode", true], ["core.symlinks", true]] as const) {
      if ((await git.getConfig({ fs, gitdir, path })) !== value) await git.setConfig({ fs: repoFs, gitdir, path, value });
    }
    for (const remote of remotes) {
      const url = bridgeUrl(remote);
      const have = await git.getConfig({ fs, gitdir, path: `remote.${remote.name}.url` });
      if (have !== url) await git.addRemote({ fs: repoFs, gitdir, remote: remote.name, url, force: true });
    }
  } catch (e) {
    throw new StewardError("SOURCE_STATE", "cannot prepare the local repository", { data: { gitdir, error: e instanceof Error ? e.message : String(e) }, hint: "check the state directory's permissions and free space", retry: "transient", cause: e });
  }
}
