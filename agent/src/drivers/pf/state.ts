/**
 * The pf driver's files under the state directory, `<state>/pf/`: `applied.json`, the record
 * of the last confirmed load; `steward.conf`, that load's anchor file (what a revert loads
 * again); `steward.next.conf`, the file being loaded. Reading and writing only; what they say is
 * decided in plan.ts and record.ts.
 */
import { rename, stat } from "node:fs/promises";
import { join } from "node:path";
import type { Logger } from "../../log.js";
import { canonicalize } from "../../plan/canonical.js";
import { readRecord, writeRecord } from "../record-file.js";
import { EMPTY_PF_RECORD, type PfRecord } from "./types.js";

export function pfDir(stateDir: string): string {
  return join(stateDir, "pf");
}

function recordPath(stateDir: string): string {
  return join(pfDir(stateDir), "applied.json");
}

/** parsePfRecord reads the record's text; undefined for anything that is not a version-1 record. Pure. */
export function parsePfRecord(text: string): PfRecord | undefined {
  let d: unknown;
  try {
    d = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (d === null || typeof d !== "object" || (d as { version?: unknown }).version !== 1) return undefined;
  const r = d as Record<string, unknown>;
  const hash = (v: unknown): boolean => v === undefined || (typeof v === "string" && /^[0-9a-f]{64}$/.test(v));
  if (!hash(r["anchorSha256"]) || !hash(r["readbackSha256"])) return undefined;
  return { version: 1, ...(typeof r["anchorSha256"] === "string" ? { anchorSha256: r["anchorSha256"] } : {}), ...(typeof r["readbackSha256"] === "string" ? { readbackSha256: r["readbackSha256"] } : {}) };
}

/**
 * readPfRecord reads the record; a missing file is the empty record, an unreadable content the
 * empty record with a warning (the anchor is then loaded again). Throws OBSERVE_FAILED when
 * the file exists but cannot be read.
 */
export async function readPfRecord(stateDir: string, log: Logger): Promise<PfRecord> {
  return readRecord(recordPath(stateDir), "pf record", parsePfRecord, EMPTY_PF_RECORD, log);
}

/** isFile tells whether a path is a regular file. */
export async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * writePfRecord makes a confirmed load the one a later revert returns to: the loaded file
 * becomes `steward.conf` (renamed, so it is the very bytes pfctl loaded), then the record is
 * replaced atomically. Throws APPLY_FAILED when it cannot.
 */
export async function writePfRecord(stateDir: string, record: PfRecord, loaded?: { readonly from: string; readonly to: string }): Promise<void> {
  await writeRecord(recordPath(stateDir), "pf record", `${JSON.stringify(canonicalize(record), null, 2)}\n`, 0o600, loaded === undefined ? undefined : () => rename(loaded.from, loaded.to));
}
