/**
 * The worker thread remotes are fetched in (fetch-isolated.ts starts it and sends it one fetch
 * at a time). For each it runs fetchRemote and posts back, as plain data: its log records, the
 * pids of the processes it starts and ends (so the parent can kill them if it terminates the
 * worker), and the outcome. Everything a remote can make expensive — receiving, inspecting,
 * indexing the pack, the completeness walk — happens here, where the parent's deadline and
 * heap limit reach.
 */
import { parentPort } from "node:worker_threads";
import { setProcessListener } from "../exec.js";
import { recordLogger } from "../log.js";
import { fetchRemote } from "./fetch.js";
import type { WorkerReply, WorkerRequest } from "./fetch-isolated.js";

const port = parentPort;
if (port === null) throw new Error("fetch-worker.ts runs only as a worker thread");
const post = (reply: WorkerReply): void => port.postMessage(reply);

let current = 0;
setProcessListener((pid, event) => post({ type: "process", id: current, pid, event }));

// Log records travel to the parent as objects; it logs them through its own logger.
const root = recordLogger((record) => post({ type: "log", id: current, record }));

// One fetch at a time: the parent sends the next request only after the outcome.
port.on("message", (request: WorkerRequest) => {
  current = request.id;
  const log = root.child({}, { level: request.logLevel });
  void fetchRemote(request.remote, { ...request.options, cache: {}, log }).then(
    (outcome) =>
      post(
        outcome.ok
          ? { type: "outcome", id: request.id, ok: true, tip: outcome.tip, previous: outcome.previous, packBytes: outcome.packBytes }
          : { type: "outcome", id: request.id, ok: false, error: { code: outcome.error.code, message: outcome.error.message, data: outcome.error.data, hint: outcome.error.hint, retry: outcome.error.retry } },
      ),
    (e: unknown) => post({ type: "outcome", id: request.id, ok: false, error: { code: "INTERNAL", message: e instanceof Error ? (e.stack ?? e.message) : String(e), data: {}, hint: undefined, retry: "internal" } }),
  );
});
