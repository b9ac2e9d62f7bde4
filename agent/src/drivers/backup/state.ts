/**
 * The backup driver's file under the state directory: `<state>/backup/state.json` (record.ts
 * decides its content).
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../atomic-write.js";
import { StewardError } from "../../errors.js";
import type { Logger } from "../../log.js";
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
  const path = backupStatePath(stateDir);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return EMPTY_BACKUP_STATE;
    throw new StewardError("OBSERVE_FAILED", "cannot read the backup record", { data: { path, error: String(e) }, retry: "transient", cause: e });
  }
  const parsed = parseBackupState(text);
  if (parsed === undefined) {
    log.warn({ path }, "backup record unreadable, treating as empty");
    return EMPTY_BACKUP_STATE;
  }
  return parsed;
}

/** writeBackupState replaces the record atomically. Throws APPLY_FAILED when it cannot. */
export async function writeBackupState(stateDir: string, state: BackupState): Promise<void> {
  const path = backupStatePath(stateDir);
  try {
    await writeFileAtomic(path, renderBackupState(state), 0o600);
  } catch (e) {
    throw new StewardError("APPLY_FAILED", "cannot write the backup record", { data: { path, error: String(e) }, retry: "transient", cause: e });
  }
}
