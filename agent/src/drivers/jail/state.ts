/**
 * The jail driver's file under the state directory: `<state>/jail/applied.json`, the record of
 * what apply last converged each jail to (record.ts decides its content).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../atomic-write.js";
import { StewardError } from "../../errors.js";
import type { Logger } from "../../log.js";
import { parseJailRecord, renderJailRecord } from "./record.js";
import { EMPTY_JAIL_RECORD, type JailAppliedRecord } from "./types.js";

export function jailRecordPath(stateDir: string): string {
  return join(stateDir, "jail", "applied.json");
}

/**
 * readJailRecord reads the record; a missing file is the empty record, an unreadable content
 * the empty record with a warning (every difference then counts as unrecorded and is
 * corrected). Throws OBSERVE_FAILED when the file exists but cannot be read.
 */
export async function readJailRecord(stateDir: string, log: Logger): Promise<JailAppliedRecord> {
  const path = jailRecordPath(stateDir);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return EMPTY_JAIL_RECORD;
    throw new StewardError("OBSERVE_FAILED", "cannot read the jail record", { data: { path, error: String(e) }, retry: "transient", cause: e });
  }
  const parsed = parseJailRecord(text);
  if (parsed === undefined) {
    log.warn({ path }, "jail record unreadable, treating as empty");
    return EMPTY_JAIL_RECORD;
  }
  return parsed;
}

/** writeJailRecord replaces the record atomically. Throws APPLY_FAILED when it cannot. */
export async function writeJailRecord(stateDir: string, record: JailAppliedRecord): Promise<void> {
  const path = jailRecordPath(stateDir);
  try {
    await writeFileAtomic(path, renderJailRecord(record), 0o644);
  } catch (e) {
    throw new StewardError("APPLY_FAILED", "cannot write the jail record", { data: { path, error: String(e) }, retry: "transient", cause: e });
  }
}
