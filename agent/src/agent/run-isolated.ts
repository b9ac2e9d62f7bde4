/**
 * The agent's runs, each in a worker thread (run-worker.ts runs run.ts runOnce there), so that
 * an idle agent holds only what waiting needs (docs/agent.md, "The loop": its memory). A run loads the whole
 * flow (isomorphic-git, the schema validators, every driver) and allocates for it; in the
 * agent's own thread all of that would stay, and what of the heap V8 gives back, and when,
 * would be left to its heuristics. The worker is kept between runs that follow each other
 * closely and stopped after `idleMs` without a run: its heap, its modules and its caches go
 * with it, all at once.
 *
 * The worker posts the run's log records (written here through the agent's logger) and, at
 * the end, its outcome as plain data. SIGTERM reaches the worker as a stop message: the run
 * lets the action in progress finish and writes its report without pushing it, as in process.
 */
import { Worker } from "node:worker_threads";
import type { AgentConfig } from "../config.js";
import { StewardError } from "../errors.js";
import { relayLog, type Logger } from "../log.js";
import type { ReconcileResult } from "../reconcile.js";
import type { StatusReport } from "../status/status.js";
import type { CycleVerdict } from "./schedule.js";

/** How long the worker is kept after a run: a push right after a run does not start a new one. */
const DEFAULT_IDLE_MS = 5_000;

/** What the agent reads of a run (run.ts runOutcome), as `--once --json` prints it. */
export interface RunOutcome {
  readonly verdict: CycleVerdict;
  readonly decision: string | null;
  readonly revision: string | null;
  readonly recorded: ReconcileResult["recorded"] | null;
  readonly error: Record<string, unknown> | null;
  readonly status: Pick<StatusReport, "commit" | "pushes">;
}

/** What the agent sends: a run (`stopped`: the agent is already stopping), or stop the run `id`. */
export type RunRequest =
  | { readonly type: "run"; readonly id: number; readonly config: AgentConfig & { readonly key: string }; readonly logLevel: string; readonly stopped: boolean }
  | { readonly type: "stop"; readonly id: number };

/** What the worker sends back, tagged with the run's id. */
export type RunReply =
  | { readonly type: "log"; readonly id: number; readonly record: Record<string, unknown> }
  | { readonly type: "outcome"; readonly id: number; readonly outcome: RunOutcome };

/** A worker thread that runs the agent's runs one at a time, started on demand. */
export class RunIsolate {
  private worker: Worker | undefined;
  private idle: NodeJS.Timeout | undefined;
  private nextId = 1;
  private readonly idleMs: number;

  constructor(options: { readonly idleMs?: number } = {}) {
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
  }

  /**
   * run is one run of the agent in the worker, its log records written through `log`; `stop`
   * aborted stops it as SIGTERM does. Never throws: a worker that dies without an answer (out
   * of memory, a bug) is an INTERNAL failure, logged, retried as transient by the loop. Call
   * one at a time.
   */
  async run(config: AgentConfig & { readonly key: string }, log: Logger, stop: AbortSignal): Promise<RunOutcome> {
    clearTimeout(this.idle);
    const id = this.nextId++;
    const worker = (this.worker ??= this.start());
    const result = await new Promise<RunOutcome | Error>((resolve) => {
      const onStop = (): void => worker.postMessage({ type: "stop", id } satisfies RunRequest);
      const done = (value: RunOutcome | Error): void => {
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
        stop.removeEventListener("abort", onStop);
        resolve(value);
      };
      const onMessage = (reply: RunReply): void => {
        if (reply.id !== id) return;
        if (reply.type === "log") relayLog(log, reply.record);
        else done(reply.outcome);
      };
      const onError = (e: Error): void => done(e);
      const onExit = (code: number): void => done(new Error(`it exited (${code}) without an answer`));
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", onExit);
      stop.addEventListener("abort", onStop);
      worker.postMessage({ type: "run", id, config, logLevel: log.level, stopped: stop.aborted } satisfies RunRequest);
    });
    if (result instanceof Error) {
      this.worker = undefined;
      await worker.terminate();
      const error = new StewardError("INTERNAL", `the run worker failed: ${result.message}`, { retry: "internal", cause: result });
      log.error({ code: error.code, retry: error.retry }, error.message);
      const problem = { code: error.code, message: error.message, data: {}, retry: error.retry };
      return { verdict: { kind: "transient", code: "INTERNAL" }, decision: null, revision: null, recorded: null, error: error.toJSON(), status: { commit: { action: "failed", error: problem }, pushes: [] } };
    }
    this.idle = setTimeout(() => void this.close(), this.idleMs);
    this.idle.unref();
    return result;
  }

  /** close stops the worker now (not while a run is in progress). Idempotent. */
  async close(): Promise<void> {
    clearTimeout(this.idle);
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }

  private start(): Worker {
    const worker = new Worker(new URL("./run-worker.js", import.meta.url), { stdout: false, stderr: false });
    // A worker that ends between runs (a crash) is simply replaced.
    worker.on("error", () => undefined);
    worker.on("exit", () => {
      if (this.worker === worker) this.worker = undefined;
    });
    return worker;
  }
}
