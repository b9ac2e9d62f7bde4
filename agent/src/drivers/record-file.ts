/**
 * A driver's record under the state directory (`<state>/<driver>/…json`): what apply last
 * converged, read at observe and replaced atomically after apply. The drivers decide the
 * content (their record.ts); this is how the file is read and written.
 */
import { readFile } from "node:fs/promises";
import { writeFileAtomic } from "../atomic-write.js";
import { StewardError } from "../errors.js";
import type { Logger } from "../log.js";

/**
 * readRecordText reads a record file's text; undefined when there is none (a first run, a
 * wiped state directory). Throws OBSERVE_FAILED (transient) when it exists but cannot be
 * read (EACCES, EIO). `what` names it in the messages ("jail record").
 */
export async function readRecordText(path: string, what: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new StewardError("OBSERVE_FAILED", `cannot read the ${what}`, { data: { path, error: String(e) }, retry: "transient", cause: e });
  }
}

/**
 * readRecord reads a record: a missing file is `empty`, content `parse` refuses is `empty`
 * with a warning (every difference then counts as unrecorded). Throws as readRecordText.
 */
export async function readRecord<T>(path: string, what: string, parse: (text: string) => T | undefined, empty: T, log: Logger): Promise<T> {
  const text = await readRecordText(path, what);
  if (text === undefined) return empty;
  const parsed = parse(text);
  if (parsed === undefined) {
    log.warn({ path }, `${what} unreadable, treating as empty`);
    return empty;
  }
  return parsed;
}

/** writeRecord replaces a record file atomically (temp file, fsync, rename). Throws APPLY_FAILED (transient) when it cannot. */
export async function writeRecord(path: string, what: string, text: string, mode: number, before?: () => Promise<void>): Promise<void> {
  try {
    await before?.();
    await writeFileAtomic(path, text, mode);
  } catch (e) {
    throw new StewardError("APPLY_FAILED", `cannot write the ${what}`, { data: { path, error: String(e) }, retry: "transient", cause: e });
  }
}
