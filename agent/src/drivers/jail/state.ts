/**
 * The jail driver's file under the state directory: `<state>/jail/applied.json`, the record of
 * what apply last converged each jail to (record.ts decides its content).
 */
import { join } from "node:path";
import type { Logger } from "../../log.js";
import { readRecord, writeRecord } from "../record-file.js";
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
  return readRecord(jailRecordPath(stateDir), "jail record", parseJailRecord, EMPTY_JAIL_RECORD, log);
}

/** writeJailRecord replaces the record atomically. Throws APPLY_FAILED when it cannot. */
export async function writeJailRecord(stateDir: string, record: JailAppliedRecord): Promise<void> {
  await writeRecord(jailRecordPath(stateDir), "jail record", renderJailRecord(record), 0o644);
}
