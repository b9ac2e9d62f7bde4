/**
 * The backup driver's file under the state directory: `<state>/backup/state.json` (record.ts
 * decides its content).
 */
import { join } from "node:path";
import type { Logger } from "../../log.js";
import { readRecord, writeRecord } from "../record-file.js";
import { parseBackupState, renderBackupState } from "./record.js";
import { EMPTY_BACKUP_STATE, type BackupState } from "./types.js";

export function backupStatePath(stateDir: string): string {
  return join(stateDir, "backup", "state.json");
}

/**
 * readBackupState reads the record; a missing file is the empty record (every target is read
 * when a copy is due), an unreadable one the empty record with a warning. Throws
 * OBSERVE_FAILED when the file exists but cannot be read.
 */
export async function readBackupState(stateDir: string, log: Logger): Promise<BackupState> {
  return readRecord(backupStatePath(stateDir), "backup record", parseBackupState, EMPTY_BACKUP_STATE, log);
}

/** writeBackupState replaces the record atomically. Throws APPLY_FAILED when it cannot. */
export async function writeBackupState(stateDir: string, state: BackupState): Promise<void> {
  await writeRecord(backupStatePath(stateDir), "backup record", renderBackupState(state), 0o600);
}
