/**
 * The ZFS driver's file under the state directory: `<state>/zfs/applied.json`, the record of
 * what apply last converged each dataset to (see record.ts).
 */
import { join } from "node:path";
import { readRecordText, writeRecord } from "../record-file.js";
import { parseAppliedRecord, renderAppliedRecord } from "./record.js";
import { EMPTY_APPLIED_RECORD, type AppliedRecord } from "./types.js";

/** appliedRecordPath names the record file in a state directory. */
export function appliedRecordPath(stateDir: string): string {
  return join(stateDir, "zfs", "applied.json");
}

/**
 * readAppliedRecord reads the record. A missing file (first run, or a wiped state directory)
 * is the empty record with `exists: false`; an unreadable content is the empty record with
 * `valid: false` for the caller to report. Throws OBSERVE_FAILED when the file exists but
 * cannot be read (EACCES, EIO).
 */
export async function readAppliedRecord(stateDir: string): Promise<{ record: AppliedRecord; exists: boolean; valid: boolean }> {
  const text = await readRecordText(appliedRecordPath(stateDir), "applied record");
  return text === undefined ? { record: EMPTY_APPLIED_RECORD, exists: false, valid: true } : { ...parseAppliedRecord(text), exists: true };
}

/**
 * writeAppliedRecord replaces the record atomically (temp file, fsync, rename). Throws
 * APPLY_FAILED when the state directory cannot be written.
 */
export async function writeAppliedRecord(stateDir: string, record: AppliedRecord): Promise<void> {
  await writeRecord(appliedRecordPath(stateDir), "applied record", renderAppliedRecord(record), 0o644);
}
