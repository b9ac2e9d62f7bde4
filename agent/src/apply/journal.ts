/**
 * The apply journal, `<state>/journal.jsonl`: one JSON line per event, appended and fsynced
 * before the next command runs. After a crash it tells which apply never finished and at which
 * action; convergence itself comes from observing again, not from replaying the journal.
 */
import { mkdir, open, readFile, rename, stat, type FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { randomUUID } from "node:crypto";
import type { ActionBase as Action, Plan } from "../plan/types.js";
import type { ActionOutcome, ApplyObserver, ApplyResult, ApplySummary, OutcomeStatus } from "./types.js";

export type JournalEntry =
  | { readonly type: "apply-start"; readonly run: string; readonly plan: string; readonly node: string; readonly actions: number; readonly pid: number; readonly at: string }
  | { readonly type: "action-start"; readonly run: string; readonly action: string; readonly at: string }
  | { readonly type: "action-end"; readonly run: string; readonly action: string; readonly status: OutcomeStatus; readonly at: string }
  | { readonly type: "apply-end"; readonly run: string; readonly ok: boolean; readonly summary: ApplySummary; readonly at: string }
  /** A later apply saw this run unfinished and reported it; it is not reported again. */
  | { readonly type: "interrupted-noted"; readonly run: string; readonly by: string; readonly at: string };

/** An apply that started and never wrote its end. */
export interface InterruptedApply {
  readonly run: string;
  readonly plan: string;
  readonly pid: number;
  readonly startedAt: string;
  /** The action that had started and not ended (the crash point), if any. */
  readonly inFlight: string | undefined;
  /** The last action that ended, if any. */
  readonly lastEnded: string | undefined;
  readonly actionsEnded: number;
}

/** Rotate to journal.jsonl.1 past this size; one old generation is kept. */
const ROTATE_BYTES = 1024 * 1024;

/** journalPath names the journal in a state directory. */
export function journalPath(stateDir: string): string {
  return join(stateDir, "journal.jsonl");
}

/**
 * parseJournal reads journal text into entries. Pure. A line that is not a JSON object with a
 * known `type` (the torn last line of a crash) is skipped.
 */
export function parseJournal(text: string): JournalEntry[] {
  const out: JournalEntry[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      const e = JSON.parse(line) as { type?: unknown; run?: unknown };
      if (typeof e === "object" && e !== null && typeof e.run === "string" && ["apply-start", "action-start", "action-end", "apply-end", "interrupted-noted"].includes(String(e.type))) out.push(e as JournalEntry);
    } catch {
      // torn line: the process died while writing it
    }
  }
  return out;
}

/**
 * findInterrupted decides whether the last apply in the journal never finished. Pure. Returns
 * undefined when it ended, or a later apply already noted it.
 */
export function findInterrupted(entries: readonly JournalEntry[]): InterruptedApply | undefined {
  let start: Extract<JournalEntry, { type: "apply-start" }> | undefined;
  for (const e of entries) if (e.type === "apply-start") start = e;
  if (start === undefined) return undefined;
  const run = start.run;
  let inFlight: string | undefined;
  let lastEnded: string | undefined;
  let ended = 0;
  for (const e of entries) {
    if (e.run !== run) continue;
    if (e.type === "apply-end" || e.type === "interrupted-noted") return undefined;
    if (e.type === "action-start") inFlight = e.action;
    if (e.type === "action-end") {
      lastEnded = e.action;
      ended++;
      if (inFlight === e.action) inFlight = undefined;
    }
  }
  return { run, plan: start.plan, pid: start.pid, startedAt: start.at, inFlight, lastEnded, actionsEnded: ended };
}

/**
 * The journal as an apply observer. Every entry is appended and fsynced before apply goes on.
 * Plans without actions write nothing: there is nothing to be interrupted.
 */
export class Journal implements ApplyObserver {
  readonly run: string;
  private active = false;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
  ) {
    this.run = randomUUID();
  }

  /**
   * open reads the journal, reports the interrupted apply it shows (and appends a note so it is
   * reported once), rotates it when large, and opens it for appending. Side effects: creates
   * the state directory and the file. Throws the fs error when the directory is not writable.
   */
  static async open(stateDir: string): Promise<{ journal: Journal; interrupted: InterruptedApply | undefined }> {
    await mkdir(stateDir, { recursive: true });
    const path = journalPath(stateDir);
    let text = "";
    try {
      text = await readFile(path, "utf8");
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    const interrupted = findInterrupted(parseJournal(text));
    try {
      if ((await stat(path)).size > ROTATE_BYTES) await rename(path, `${path}.1`);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
    const journal = new Journal(await open(path, "a", 0o644), path);
    if (interrupted !== undefined) await journal.append({ type: "interrupted-noted", run: interrupted.run, by: journal.run, at: new Date().toISOString() });
    return { journal, interrupted };
  }

  private async append(entry: JournalEntry): Promise<void> {
    await this.fh.appendFile(`${JSON.stringify(entry)}\n`, "utf8");
    await this.fh.sync();
  }

  async onApplyStart(plan: Plan): Promise<void> {
    this.active = plan.actions.length > 0;
    if (!this.active) return;
    await this.append({ type: "apply-start", run: this.run, plan: plan.id, node: plan.node, actions: plan.actions.length, pid: process.pid, at: new Date().toISOString() });
  }

  async onActionStart(action: Action): Promise<void> {
    if (this.active) await this.append({ type: "action-start", run: this.run, action: action.id, at: new Date().toISOString() });
  }

  async onActionEnd(action: Action, outcome: ActionOutcome): Promise<void> {
    if (this.active) await this.append({ type: "action-end", run: this.run, action: action.id, status: outcome.status, at: new Date().toISOString() });
  }

  async onApplyEnd(_plan: Plan, result: ApplyResult): Promise<void> {
    if (this.active) await this.append({ type: "apply-end", run: this.run, ok: result.ok, summary: result.summary, at: new Date().toISOString() });
  }

  /** close closes the file. Idempotent enough for a finally: errors are ignored. */
  async close(): Promise<void> {
    await this.fh.close().catch(() => {});
  }
}
