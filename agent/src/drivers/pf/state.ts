/**
 * The pf driver's files under the state directory, `<state>/pf/`: `applied.json`, the record
 * of the last confirmed load; `steward.conf`, that load's anchor file (what a revert loads
 * again); `steward.next.conf`, the file being loaded. Reading and writing only; what they say is
 * decided in plan.ts and record.ts.
 */
import { readFile, rename, stat } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../../atomic-write.js";
import { StewardError } from "../../errors.js";
import type { Logger } from "../../log.js";
import { canonicalize } from "../../plan/canonical.js";
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
  const path = recordPath(stateDir);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return EMPTY_PF_RECORD;
    throw new StewardError("OBSERVE_FAILED", "cannot read the pf record", { data: { path, error: String(e) }, retry: "transient", cause: e });
  }
  const parsed = parsePfRecord(text);
  if (parsed === undefined) {
    log.warn({ path }, "pf record unreadable, treating as empty");
    return EMPTY_PF_RECORD;
  }
  return parsed;
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
  const path = recordPath(stateDir);
  try {
    if (loaded !== undefined) await rename(loaded.from, loaded.to);
    await writeFileAtomic(path, `${JSON.stringify(canonicalize(record), null, 2)}\n`, 0o600);
  } catch (e) {
    throw new StewardError("APPLY_FAILED", "cannot write the pf record", { data: { path, error: String(e) }, retry: "transient", cause: e });
  }
}
