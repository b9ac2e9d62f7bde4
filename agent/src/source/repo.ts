/**
 * The node's bare repository (`<state>/source/repo.git`) and the locks around it. Every
 * isomorphic-git call on a gitdir runs under `withRepoLock`: isomorphic-git's own locks are
 * per call, and a fetch interleaved with reads sees packs half-written (docs/decisions.md, "One lock around the local repository"). The lock
 * is an in-process mutex plus the flock(2) lock on `<state>/source/repo.lock` (file-lock.ts), so a
 * `steward fetch` and the agent never fetch into the same repository at once.
 */
import fs, { existsSync, statSync } from "node:fs";
import { access, mkdir, readFile, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import git from "isomorphic-git";
import { StewardError } from "../errors.js";
import { acquireFileLock } from "../file-lock.js";
import { silentLogger, type Logger } from "../log.js";
import { bridgeUrl, type RemoteSpec } from "./remotes.js";
import { writeFileAtomic } from "../atomic-write.js";

const PACK_FILE = /\/objects\/pack\/pack-[0-9a-f]{40}\.(?:pack|idx)$/;
/** How long a second process waits for the repository lock before holding. */
const REPO_LOCK_WAIT_MS = 2_000;

/**
 * isShallowFile tells whether `path` is a repository's `shallow` file (and not, say, a ref
 * named `refs/heads/shallow`): its directory holds `HEAD` and `objects/`.
 */
function isShallowFile(path: string): boolean {
  if (basename(path) !== "shallow") return false;
  const dir = dirname(path);
  try {
    return existsSync(join(dir, "HEAD")) && statSync(join(dir, "objects")).isDirectory();
  } catch {
    return false;
  }
}

function shallowRefused(path: string): StewardError {
  // We never fetch shallow (the rollback check needs history back to the last applied
  // revision); a server that sends `shallow` lines anyway would cut that history for good.
  return new StewardError("SOURCE_PROTOCOL", "the server declared commits shallow in a full fetch", { data: { path }, hint: "the server is broken or hostile; retried later", retry: "transient" });
}

/**
 * repoFsRecording is repoFs, and calls `onPackCreated` with the path of every pack or index
 * it creates (not those it finds already present): the files a failed fetch must remove.
 */
export function repoFsRecording(onPackCreated: (path: string) => void): typeof repoFs {
  return {
    promises: {
      ...repoFs.promises,
      async writeFile(path: string, data: string | Uint8Array, options?: unknown): Promise<void> {
        const created = PACK_FILE.test(path) && !existsSync(path);
        await repoFs.promises.writeFile(path, data, options);
        if (created) onPackCreated(path);
      },
    },
  };
}

/**
 * isomorphic-git wraps the `fs` it is given on every call, and each time probes whether it is
 * promise-based by calling `readFile()` with no argument: node throws an argument error for
 * that, which costs more than the object read itself. This readFile answers the probe with a
 * rejection made once and reads files as usual otherwise.
 */
const PROBE_ANSWER = Promise.reject(new Error("readFile() needs a path"));
PROBE_ANSWER.catch(() => undefined);
function quickReadFile(...args: Parameters<typeof fs.promises.readFile>): ReturnType<typeof fs.promises.readFile> {
  return args[0] === undefined ? (PROBE_ANSWER as ReturnType<typeof fs.promises.readFile>) : fs.promises.readFile(...args);
}

/** gitFs is the file system isomorphic-git reads the repository through (node's, probed cheaply). */
export const gitFs = { promises: { ...fs.promises, readFile: quickReadFile } };

export type GitFs = typeof gitFs;

const LOOSE_OBJECT = /\/objects\/[0-9a-f]{2}\/[0-9a-f]{38}$/;

/**
 * frozenGitFs is gitFs for a repository nothing writes while it is in use (the source step,
 * under the repo lock, once the fetch is done): it remembers directory listings, stat results
 * and loose objects found missing. isomorphic-git looks for every object loose first, lists
 * objects/pack and stats the gitdir on every read; this makes a read of a packed object cost
 * one inflate, which is what verifying a thousand commits spends its time on.
 */
export function frozenGitFs(): GitFs {
  const listings = new Map<string, Promise<string[]>>();
  const stats = new Map<string, ReturnType<typeof fs.promises.stat>>();
  const missing = new Map<string, Promise<never>>();
  const remember = <K, V extends Promise<unknown>>(map: Map<K, V>, key: K, make: () => V): V => {
    let hit = map.get(key);
    if (hit === undefined) {
      hit = make();
      hit.catch(() => undefined);
      map.set(key, hit);
    }
    return hit;
  };
  return {
    promises: {
      ...gitFs.promises,
      readdir: ((path: string) => remember(listings, path, () => fs.promises.readdir(path))) as typeof fs.promises.readdir,
      stat: ((path: string) => remember(stats, path, () => fs.promises.stat(path))) as typeof fs.promises.stat,
      readFile: ((...args: Parameters<typeof fs.promises.readFile>) => {
        const path = args[0];
        if (typeof path !== "string" || !LOOSE_OBJECT.test(path)) return quickReadFile(...args);
        const known = missing.get(path);
        if (known !== undefined) return known;
        const read = fs.promises.readFile(...args);
        read.catch((e: NodeJS.ErrnoException) => {
          if (e.code === "ENOENT") missing.set(path, read as Promise<never>);
        });
        return read;
      }) as typeof fs.promises.readFile,
    },
  };
}

/**
 * repoFs is the file system isomorphic-git writes the repository through: every file is
 * written atomically (temp file, fsync, rename), so a crash never leaves a torn ref or pack;
 * and a pack or index is never replaced by different bytes. isomorphic-git names a fetched
 * pack after its last 20 bytes without checking them (fetch.ts checks afterwards), so a
 * hostile server could otherwise overwrite a good pack by sending garbage ending in its name.
 * The `shallow` file is never written or removed (a write throws SOURCE_PROTOCOL): isomorphic-git
 * writes it when a server sends `shallow` lines, and then stops every history walk there.
 */
export const repoFs = {
  promises: {
    ...fs.promises,
    readFile: quickReadFile,
    async unlink(path: string): Promise<void> {
      if (isShallowFile(path)) {
        // isomorphic-git removes `shallow` after every fetch; absent is the normal case.
        if (!existsSync(path)) throw Object.assign(new Error(`ENOENT: ${path}`), { code: "ENOENT" });
        throw shallowRefused(path);
      }
      await fs.promises.unlink(path);
    },
    async rm(path: string, options?: fs.RmOptions): Promise<void> {
      if (isShallowFile(path) && existsSync(path)) throw shallowRefused(path);
      await fs.promises.rm(path, options);
    },
    async writeFile(path: string, data: string | Uint8Array, options?: unknown): Promise<void> {
      if (isShallowFile(path)) throw shallowRefused(path);
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

/** repoLockPath names the cross-process lock of a gitdir: `<state>/source/repo.lock` for `<state>/source/repo.git`. */
export function repoLockPath(gitdir: string): string {
  return join(dirname(gitdir), "repo.lock");
}

/**
 * withRepoLock runs `fn` when every earlier holder of this gitdir's lock in this process has
 * finished and it holds the lock (repoLockPath) against other processes, and returns its
 * result. Waits up to two seconds for another process; then throws SOURCE_LOCKED (transient)
 * without running `fn`; EXEC_FAILED/EXEC_TIMEOUT when the lock tool cannot run. A process that
 * dies holding the lock releases it as it dies (the kernel does). Not reentrant: code running
 * under the lock calls the unlocked helpers.
 */
export function withRepoLock<T>(gitdir: string, fn: () => Promise<T>, log: Logger = silentLogger): Promise<T> {
  const locked = async (): Promise<T> => {
    const lock = await acquireFileLock(repoLockPath(gitdir), {
      log,
      code: "SOURCE_LOCKED",
      what: "source repository",
      hint: "another Steward process is fetching or reading the repository; retried later (do not remove the lock file)",
      waitMs: REPO_LOCK_WAIT_MS,
    });
    try {
      return await fn();
    } finally {
      await lock.release();
    }
  };
  const before = tails.get(gitdir) ?? Promise.resolve();
  const run = before.then(locked, locked);
  const tail = run.catch(() => undefined);
  tails.set(gitdir, tail);
  void tail.then(() => {
    if (tails.get(gitdir) === tail) tails.delete(gitdir);
  });
  return run;
}

/**
 * prepareRepo makes sure the bare repository exists and has one remote per configured remote
 * (docs/decisions.md, "One lock around the local repository"): creates it on first use, sets core.ignorecase=false and gc.auto=0, and
 * (re)writes `remote.<name>.url` to the URL isomorphic-git must use, and removes a stray
 * `shallow` file (logged), which would stop every history walk at the commits it names. Call
 * under the lock. Throws SOURCE_STATE when the directory cannot be created or written.
 */
export async function prepareRepo(gitdir: string, remotes: readonly RemoteSpec[], branch: string, log: Logger = silentLogger): Promise<void> {
  try {
    const shallow = join(gitdir, "shallow");
    if (existsSync(shallow)) {
      log.warn({ path: shallow, oids: (await readFile(shallow, "utf8")).slice(0, 4096).split("\n").filter((l) => l !== "") }, "stray shallow file removed");
      await rm(shallow, { force: true });
    }
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
      if ((await git.getConfig({ fs: gitFs, gitdir, path })) !== value) await git.setConfig({ fs: repoFs, gitdir, path, value });
    }
    for (const remote of remotes) {
      const url = bridgeUrl(remote);
      const have = await git.getConfig({ fs: gitFs, gitdir, path: `remote.${remote.name}.url` });
      if (have !== url) await git.addRemote({ fs: repoFs, gitdir, remote: remote.name, url, force: true });
    }
  } catch (e) {
    throw new StewardError("SOURCE_STATE", "cannot prepare the local repository", { data: { gitdir, error: e instanceof Error ? e.message : String(e) }, hint: "check the state directory's permissions and free space", retry: "transient", cause: e });
  }
}

/** trackingRef names the local ref holding a remote's tip of the branch. */
export function trackingRef(remote: string, branch: string): string {
  return `refs/remotes/${remote}/${branch}`;
}

/** resolveOrUndefined returns the oid a ref points at, or undefined when it does not exist. */
export async function resolveOrUndefined(gitdir: string, ref: string): Promise<string | undefined> {
  try {
    return await git.resolveRef({ fs: gitFs, gitdir, ref });
  } catch {
    return undefined;
  }
}
