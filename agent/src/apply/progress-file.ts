/**
 * The transfer in flight, for other processes to read (`steward backup status`):
 * `<state>/apply/progress.json`, written by apply while an action's pipelines move bytes (a
 * backup send), replaced atomically, removed when the action ends and when apply ends. It names
 * the apply's process, so that a reader can tell a file an apply left behind when it died.
 *
 * Progress is for people: a file that cannot be written is logged at debug and the send goes on.
 * The pipelines report at most once a second (exec.ts); while one stalls, the file is rewritten
 * every 30 seconds, so that a reader sees a stalled transfer, not a stale file.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { writeFileAtomic } from "../atomic-write.js";
import type { Logger } from "../log.js";
import type { ActionBase as Action } from "../plan/types.js";
import { readSmallFile } from "../read-small-file.js";
import type { ApplyObserver } from "./types.js";

export const PROGRESS_VERSION = 1;
/** A file not rewritten for this long is an apply's that is gone (or hung): readers ignore it. */
export const PROGRESS_STALE_MS = 120_000;
/** The largest progress file read: a few hundred bytes are written. */
const MAX_PROGRESS_BYTES = 64 * 1024;

/** What `<state>/apply/progress.json` holds: one action's transfer. Times are ISO 8601 UTC. */
export interface ProgressRecord {
  readonly version: typeof PROGRESS_VERSION;
  /** The process that runs the apply. */
  readonly pid: number;
  /** The action's id, driver and resource (plan/types.ts ActionBase). */
  readonly action: string;
  readonly driver: string;
  readonly resource: string;
  /** When the action started. */
  readonly startedAt: string;
  /** When the file was written. */
  readonly updatedAt: string;
  /** Bytes its pipelines moved so far. */
  readonly bytes: number;
  /** About how many they move, when the driver could tell (PipelineStep.estimateBytes). */
  readonly estimateBytes: number | null;
}

export function progressPath(stateDir: string): string {
  return join(stateDir, "apply", "progress.json");
}

const iso = (ms: number): string => new Date(ms).toISOString();

export interface ProgressFileOptions {
  /** The clock (Date.now by default). */
  readonly now?: () => number;
  /** Writes closer together than this are skipped (the pipelines report once a second already). */
  readonly minIntervalMs?: number;
  /** While no bytes come, the file is rewritten this often (30 s by default). */
  readonly heartbeatMs?: number;
}

/**
 * progressFileObserver writes the progress file of the running action (see the top of this
 * file). Side effects: `<state>/apply/progress.json` written and removed; a timer while a
 * transfer runs. Never throws: a failure is a debug log line.
 */
export function progressFileObserver(stateDir: string, log: Logger, options: ProgressFileOptions = {}): ApplyObserver {
  const now = options.now ?? Date.now;
  const minIntervalMs = options.minIntervalMs ?? 900;
  const heartbeatMs = options.heartbeatMs ?? 30_000;
  const path = progressPath(stateDir);
  let started: { id: string; at: number } | undefined;
  let current: { action: Action; startedAt: number; bytes: number; estimateBytes: number | undefined } | undefined;
  let lastWrite = 0;
  let writing: Promise<void> | undefined;
  let pending = false;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  // Whether a file may be on disk (written, or left by an earlier apply): only then is it removed.
  let onDisk = true;

  const write = (): void => {
    if (writing !== undefined) {
      pending = true;
      return;
    }
    writing = (async () => {
      do {
        pending = false;
        const c = current;
        if (c === undefined) break;
        const at = now();
        lastWrite = at;
        const record: ProgressRecord = { version: PROGRESS_VERSION, pid: process.pid, action: c.action.id, driver: c.action.driver, resource: c.action.resource, startedAt: iso(c.startedAt), updatedAt: iso(at), bytes: c.bytes, estimateBytes: c.estimateBytes ?? null };
        onDisk = true;
        try {
          await writeFileAtomic(path, `${JSON.stringify(record)}\n`, 0o644);
        } catch (e) {
          log.debug({ path, error: String(e) }, "progress file not written");
        }
      } while (pending && current !== undefined);
    })().finally(() => {
      writing = undefined;
    });
  };

  const finish = async (): Promise<void> => {
    current = undefined;
    if (heartbeat !== undefined) clearInterval(heartbeat);
    heartbeat = undefined;
    await writing;
    if (!onDisk) return;
    onDisk = false;
    await rm(path, { force: true }).catch((e: unknown) => log.debug({ path, error: String(e) }, "progress file not removed"));
  };

  return {
    async onApplyStart() {
      await finish();
    },
    onActionStart(action: Action) {
      started = { id: action.id, at: now() };
    },
    onActionProgress(action: Action, bytes: number, estimateBytes?: number) {
      if (current?.action.id !== action.id) {
        current = { action, startedAt: started?.id === action.id ? started.at : now(), bytes, estimateBytes };
        lastWrite = 0;
        if (heartbeat !== undefined) clearInterval(heartbeat);
        heartbeat = setInterval(() => {
          if (current !== undefined && now() - lastWrite >= heartbeatMs) write();
        }, heartbeatMs);
        heartbeat.unref();
      }
      current.bytes = bytes;
      current.estimateBytes = estimateBytes;
      if (now() - lastWrite < minIntervalMs) return;
      write();
    },
    async onActionEnd() {
      if (current !== undefined || writing !== undefined) await finish();
    },
    async onApplyEnd() {
      await finish();
    },
  };
}

/** parseProgress reads a progress file's text; undefined (never a throw) for anything else. Pure. */
export function parseProgress(text: string): ProgressRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null) return undefined;
  const r = v as Record<string, unknown>;
  const count = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
  const time = (x: unknown): x is string => typeof x === "string" && !Number.isNaN(Date.parse(x));
  if (r["version"] !== PROGRESS_VERSION || !count(r["pid"]) || !count(r["bytes"]) || !time(r["startedAt"]) || !time(r["updatedAt"])) return undefined;
  if (typeof r["action"] !== "string" || typeof r["driver"] !== "string" || typeof r["resource"] !== "string") return undefined;
  if (r["estimateBytes"] !== null && !count(r["estimateBytes"])) return undefined;
  return { version: PROGRESS_VERSION, pid: r["pid"], action: r["action"], driver: r["driver"], resource: r["resource"], startedAt: r["startedAt"], updatedAt: r["updatedAt"], bytes: r["bytes"], estimateBytes: r["estimateBytes"] as number | null };
}

/** pidAlive answers whether a process exists (kill(2) with signal 0; EPERM: it does, as another user's). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** isCurrent answers whether a record is a running apply's: its process lives and it was written in the last PROGRESS_STALE_MS. Pure but for `alive`. */
export function isCurrent(record: ProgressRecord, nowMs: number, alive: (pid: number) => boolean = pidAlive): boolean {
  return nowMs - Date.parse(record.updatedAt) <= PROGRESS_STALE_MS && alive(record.pid);
}

/**
 * readProgress reads the transfer in flight on this node: undefined when there is none, the
 * file cannot be read or parsed, its process is gone, or it is older than PROGRESS_STALE_MS.
 * Side effects: reads at most 64 KiB of `<state>/apply/progress.json`. Never throws.
 */
export function readProgress(stateDir: string, nowMs: number = Date.now(), alive: (pid: number) => boolean = pidAlive): ProgressRecord | undefined {
  const file = readSmallFile(progressPath(stateDir), MAX_PROGRESS_BYTES);
  if (!file.ok) return undefined;
  const record = parseProgress(Buffer.from(file.bytes).toString("utf8"));
  return record !== undefined && isCurrent(record, nowMs, alive) ? record : undefined;
}
