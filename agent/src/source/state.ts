/**
 * What the source step keeps on disk under `<state>/source/`:
 * - `applied.json`: the last applied revision, written atomically (temp file, fsync, rename,
 *   fsync of the directory), so a crash leaves the old or the new record, never a torn one;
 * - `trust/<blob-oid>`: trust files taken from the repo, content-addressed, for ssh-keygen;
 * - `tmp/`: signature files while they are checked;
 * - `repo.git`: the bare repository (repo.ts).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import git from "isomorphic-git";
import { gitFs } from "./repo.js";
import { writeFileAtomic } from "../atomic-write.js";
import { StewardError } from "../errors.js";

export interface SourcePaths {
  readonly dir: string;
  readonly gitdir: string;
  readonly applied: string;
  readonly trustDir: string;
  readonly tmpDir: string;
}

/** The record of the last applied revision. */
export interface AppliedRecord {
  readonly revision: string;
  readonly recordedAt: string;
}

const OID = /^[0-9a-f]{40}$/;

/** sourcePaths names the files of the source step under a state directory. Pure. */
export function sourcePaths(stateDir: string): SourcePaths {
  const dir = join(stateDir, "source");
  return { dir, gitdir: join(dir, "repo.git"), applied: join(dir, "applied.json"), trustDir: join(dir, "trust"), tmpDir: join(dir, "tmp") };
}

/**
 * readApplied returns the last applied revision, or undefined when none was ever recorded
 * (the file does not exist). Throws SOURCE_STATE when the record exists but cannot be read or
 * is not a valid record: the caller must hold, never treat it as a first run (which would
 * accept any validly signed tip and defeat the rollback check).
 */
export async function readApplied(stateDir: string): Promise<AppliedRecord | undefined> {
  const file = sourcePaths(stateDir).applied;
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    if (isErrno(e, "ENOENT")) return undefined;
    throw new StewardError("SOURCE_STATE", "cannot read the last applied revision", { data: { file, error: String(e) }, hint: "check the state directory's permissions", retry: "transient", cause: e });
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw corrupt(file, e);
  }
  if (typeof value !== "object" || value === null) throw corrupt(file, "not an object");
  const { revision, recordedAt } = value as Record<string, unknown>;
  if (typeof revision !== "string" || !OID.test(revision) || typeof recordedAt !== "string") throw corrupt(file, "missing or invalid fields");
  return { revision, recordedAt };
}

/**
 * recordApplied persists `revision` as the last applied one, atomically. Called by the apply
 * step once a revision has been applied, under the apply lock (and by `steward fetch
 * --record`). The record only moves forward: a revision that neither is the recorded one nor
 * descends from it (in the state directory's repository) is refused with SOURCE_ROLLBACK, so
 * that two processes that chose revisions at different times cannot record an older one over
 * a newer one. Throws SOURCE_STATE when the revision is not an object id, the record is
 * corrupt, the ancestry cannot be read, or the file cannot be written.
 */
export async function recordApplied(stateDir: string, revision: string, now: Date = new Date(), cache: object = {}): Promise<AppliedRecord> {
  if (!OID.test(revision)) throw new StewardError("SOURCE_STATE", "not a commit id", { data: { revision }, retry: "internal" });
  const before = (await readApplied(stateDir))?.revision;
  if (before !== undefined && before !== revision) {
    const gitdir = sourcePaths(stateDir).gitdir;
    let forward: boolean;
    try {
      forward = await git.isDescendent({ fs: gitFs, gitdir, oid: revision, ancestor: before, depth: -1, cache });
    } catch (e) {
      throw new StewardError("SOURCE_STATE", "cannot tell whether the revision descends from the recorded one", { data: { revision, recorded: before, error: String(e) }, hint: "the local repository lacks history; fetch again", retry: "transient", cause: e });
    }
    if (!forward) {
      throw new StewardError("SOURCE_ROLLBACK", `refusing to record ${revision.slice(0, 12)} as applied: it does not descend from the recorded ${before.slice(0, 12)}`, {
        data: { revision, recorded: before },
        hint: "another apply recorded a newer revision meanwhile; the next reconcile converges that one",
        retry: "transient",
      });
    }
  }
  const record: AppliedRecord = { revision, recordedAt: now.toISOString() };
  try {
    await writeFileAtomic(sourcePaths(stateDir).applied, `${JSON.stringify(record, null, 2)}\n`);
  } catch (e) {
    throw new StewardError("SOURCE_STATE", "cannot record the applied revision", { data: { stateDir, error: String(e) }, hint: "check the state directory's permissions and free space", retry: "transient", cause: e });
  }
  return record;
}

/**
 * writeTrustFile stores a trust file taken from the repo under its blob id and returns the
 * path. Content-addressed: an existing file with that name already has these bytes.
 */
export async function writeTrustFile(stateDir: string, blobOid: string, bytes: Uint8Array): Promise<string> {
  if (!OID.test(blobOid)) throw new StewardError("INTERNAL", "not a blob id", { data: { blobOid }, retry: "internal" });
  const path = join(sourcePaths(stateDir).trustDir, blobOid);
  try {
    await readFile(path);
    return path;
  } catch (e) {
    if (!isErrno(e, "ENOENT")) throw e;
  }
  await writeFileAtomic(path, bytes, 0o644);
  return path;
}

function corrupt(file: string, e: unknown): StewardError {
  return new StewardError("SOURCE_STATE", "the last applied revision record is corrupt", {
    data: { file, error: String(e) },
    hint: "inspect the file; to re-establish it, run `steward fetch --record` once the right revision is verified",
    retry: "stalled",
  });
}

function isErrno(e: unknown, code: string): boolean {
  return typeof e === "object" && e !== null && (e as { code?: unknown }).code === code;
}
