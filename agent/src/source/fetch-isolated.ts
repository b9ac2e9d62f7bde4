/**
 * Fetching in a worker thread, so that what a hostile remote can make expensive is bounded in
 * time and memory by construction (docs/architecture.md, "Hostile input"): isomorphic-git holds
 * the whole pack in memory and indexes it in JavaScript, work no timer in this thread could
 * interrupt. Each fetch gets a hard deadline — `timeoutMs` from its start, counting the
 * transfer, the inspection, the indexing and the completeness walk — and the worker a heap
 * limit. When either is passed the worker is terminated, the processes it started are killed,
 * and what it may have left in the repository is undone: the tracking ref goes back and every
 * file it created under objects/pack is removed. The next fetch starts a fresh worker.
 *
 * Starting a worker costs about as much as loading isomorphic-git once (0.1–0.2 s), so one
 * FetchIsolate serves every fetch of a run, and the agent keeps one across runs; it lets its
 * worker go after `idleMs` without work, so an idle agent holds no second heap.
 */
import { readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
import git from "isomorphic-git";
import { StewardError, type ErrorCode, type Retry } from "../errors.js";
import { relayLog } from "../log.js";
import type { FetchOptions, FetchOutcome } from "./fetch.js";
import type { RemoteSpec } from "./remotes.js";
import { repoFs, resolveOrUndefined, trackingRef } from "./repo.js";

/**
 * The heap a fetch worker may use, in MiB: room to index a pack of DEFAULT_PACK_LIMITS.maxObjects
 * objects (pack-guard.ts). A Raspberry Pi has 1 GiB for everything.
 */
export const FETCH_WORKER_HEAP_MIB = 48;
/** How long an unused worker is kept. */
const DEFAULT_IDLE_MS = 5_000;

/** What the parent sends: one fetch, as plain data. */
export interface WorkerRequest {
  readonly id: number;
  readonly remote: RemoteSpec;
  readonly options: Omit<FetchOptions, "cache" | "log">;
  readonly logLevel: string;
}

type WorkerError = { code: ErrorCode; message: string; data: Readonly<Record<string, unknown>>; hint: string | undefined; retry: Retry };

/** What the worker sends back, tagged with the request's id. */
export type WorkerReply =
  | { readonly type: "log"; readonly id: number; readonly record: Record<string, unknown> }
  | { readonly type: "process"; readonly id: number; readonly pid: number; readonly event: "start" | "end" }
  | { readonly type: "outcome"; readonly id: number; readonly ok: true; readonly tip: string; readonly previous: string | undefined; readonly packBytes: number }
  | { readonly type: "outcome"; readonly id: number; readonly ok: false; readonly error: WorkerError };

type Outcome = Extract<WorkerReply, { type: "outcome" }>;

export interface IsolateOptions {
  /** Heap limit of the worker (old generation), in MiB. */
  readonly heapMib?: number;
  /** How long an unused worker is kept before it is stopped. */
  readonly idleMs?: number;
}

/** A worker thread that runs fetches one at a time, started on demand. */
export class FetchIsolate {
  private worker: Worker | undefined;
  private idle: NodeJS.Timeout | undefined;
  private nextId = 1;
  private busy: Promise<unknown> = Promise.resolve();
  private readonly heapMib: number;
  private readonly idleMs: number;

  constructor(options: IsolateOptions = {}) {
    this.heapMib = options.heapMib ?? FETCH_WORKER_HEAP_MIB;
    this.idleMs = options.idleMs ?? DEFAULT_IDLE_MS;
  }

  /**
   * fetch is fetchRemote run in the worker under a hard deadline. Returns the worker's outcome,
   * or SOURCE_TIMEOUT when the deadline passed first, or SOURCE_PROTOCOL when the worker ran out
   * of heap (the remote sent more than a node indexes). Never throws for a remote's failure.
   * Side effects: those of fetchRemote; after a stopped worker, restores the tracking ref and
   * removes the files it created under objects/pack. Call under the repo lock.
   */
  fetch(remote: RemoteSpec, options: FetchOptions): Promise<FetchOutcome> {
    const run = this.busy.then(() => this.fetchNow(remote, options));
    this.busy = run.catch(() => undefined);
    return run;
  }

  /** close stops the worker now. Idempotent. */
  async close(): Promise<void> {
    clearTimeout(this.idle);
    const w = this.worker;
    this.worker = undefined;
    await w?.terminate();
  }

  private async fetchNow(remote: RemoteSpec, options: FetchOptions): Promise<FetchOutcome> {
    clearTimeout(this.idle);
    const started = performance.now();
    const log = options.log?.child({ remote: remote.name });
    const { gitdir } = options;
    const ref = trackingRef(remote.name, options.branch);
    const previous = await resolveOrUndefined(gitdir, ref);
    const packDir = join(gitdir, "objects", "pack");
    const before = new Set(await readdir(packDir).catch(() => [] as string[]));
    const { cache: _cache, log: _log, ...plain } = options;
    const id = this.nextId++;
    const worker = (this.worker ??= this.start());
    const processes = new Set<number>();
    const failed = (error: StewardError): FetchOutcome => ({ remote: remote.name, kind: remote.target.kind, ok: false, error, ms: performance.now() - started });

    const result = await new Promise<{ reply: Outcome } | { stopped: StewardError }>((resolve) => {
      const done = (value: { reply: Outcome } | { stopped: StewardError }): void => {
        clearTimeout(timer);
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
        resolve(value);
      };
      const timer = setTimeout(() => {
        done({
          stopped: new StewardError("SOURCE_TIMEOUT", `remote ${remote.name}: the fetch did not finish within ${options.timeoutMs} ms`, {
            data: { remote: remote.name, timeoutMs: options.timeoutMs },
            hint: "the server is slow, or sent more than the node can check in time; the limit is `timeout:` in the agent configuration",
            retry: "transient",
          }),
        });
      }, options.timeoutMs);
      const onMessage = (reply: WorkerReply): void => {
        if (reply.id !== id) return;
        if (reply.type === "log") relayLog(log, reply.record);
        else if (reply.type === "process") {
          if (reply.event === "start") processes.add(reply.pid);
          else processes.delete(reply.pid);
        } else done({ reply });
      };
      const onError = (e: Error & { code?: string }): void => {
        done({
          stopped:
            e.code === "ERR_WORKER_OUT_OF_MEMORY"
              ? new StewardError("SOURCE_PROTOCOL", `remote ${remote.name} sent more than the node can index in ${this.heapMib} MiB`, {
                  data: { remote: remote.name, heapMib: this.heapMib },
                  hint: "a hostile server or mirror, or a cluster repo with far too many objects; keep it to configuration",
                  retry: "stalled",
                })
              : new StewardError("INTERNAL", `the fetch worker failed: ${e.message}`, { data: { remote: remote.name }, retry: "internal", cause: e }),
        });
      };
      const onExit = (code: number): void => {
        done({ stopped: new StewardError("INTERNAL", `the fetch worker exited (${code}) without an answer`, { data: { remote: remote.name }, retry: "internal" }) });
      };
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", onExit);
      const request: WorkerRequest = { id, remote, options: plain, logLevel: log?.level ?? "silent" };
      worker.postMessage(request);
    });

    if ("reply" in result) {
      this.idle = setTimeout(() => void this.close(), this.idleMs);
      this.idle.unref();
      const r = result.reply;
      const ms = performance.now() - started;
      return r.ok
        ? { remote: remote.name, kind: remote.target.kind, ok: true, tip: r.tip, previous: r.previous, packBytes: r.packBytes, ms }
        : failed(new StewardError(r.error.code, r.error.message, { data: r.error.data, ...(r.error.hint === undefined ? {} : { hint: r.error.hint }), retry: r.error.retry }));
    }

    // Stopped mid-way: nothing the worker did may survive, and the next fetch gets a new one.
    this.worker = undefined;
    await worker.terminate();
    for (const pid of processes) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await undo(gitdir, ref, previous, packDir, before);
    log?.warn({ code: result.stopped.code, data: result.stopped.data, ms: Math.round(performance.now() - started) }, "remote fetch stopped");
    return failed(result.stopped);
  }

  private start(): Worker {
    const worker = new Worker(new URL("./fetch-worker.js", import.meta.url), {
      resourceLimits: { maxOldGenerationSizeMb: this.heapMib, maxYoungGenerationSizeMb: Math.max(4, Math.floor(this.heapMib / 8)) },
      stdout: false,
      stderr: false,
    });
    // A worker that ends between fetches (crash, out of memory) is simply replaced.
    worker.on("error", () => undefined);
    worker.on("exit", () => {
      if (this.worker === worker) this.worker = undefined;
    });
    return worker;
  }
}

/**
 * fetchAll fetches every remote, one after the other in priority order, each in its own worker
 * thread under the deadline and heap limit of fetch-isolated.ts, and returns one outcome per
 * remote. Never throws for a remote's failure: a dead remote is an outcome. Call under the
 * repo lock.
 */
export async function fetchAll(remotes: readonly RemoteSpec[], options: FetchOptions & { readonly isolate?: FetchIsolate }): Promise<FetchOutcome[]> {
  const complete = new Set(options.complete ?? []);
  for (const r of remotes) {
    const tip = await resolveOrUndefined(options.gitdir, trackingRef(r.name, options.branch));
    if (tip !== undefined) complete.add(tip);
  }
  const { isolate: given, ...rest } = options;
  const isolate = given ?? new FetchIsolate();
  const out: FetchOutcome[] = [];
  try {
    for (const remote of remotes) {
      const outcome = await isolate.fetch(remote, { ...rest, complete: [...complete] });
      if (outcome.ok) complete.add(outcome.tip);
      out.push(outcome);
    }
  } finally {
    if (given === undefined) await isolate.close();
  }
  return out;
}

/** undo puts the tracking ref back and removes what a stopped fetch created under objects/pack. */
async function undo(gitdir: string, ref: string, previous: string | undefined, packDir: string, before: ReadonlySet<string>): Promise<void> {
  try {
    if (previous === undefined) {
      if ((await resolveOrUndefined(gitdir, ref)) !== undefined) await git.deleteRef({ fs: repoFs, gitdir, ref });
    } else if ((await resolveOrUndefined(gitdir, ref)) !== previous) {
      await git.writeRef({ fs: repoFs, gitdir, ref, value: previous, force: true });
    }
  } catch {
    // The next fetch re-establishes the ref; the completeness check guards what it points at.
  }
  for (const f of await readdir(packDir).catch(() => [] as string[])) {
    if (!before.has(f)) await rm(join(packDir, f), { force: true });
  }
}
