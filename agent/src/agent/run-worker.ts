/**
 * The worker thread the agent's runs happen in (run-isolated.ts starts it and sends it one run
 * at a time). For each it runs run.ts runOnce with the system's executor and posts back its
 * log records and its outcome, as plain data. Between runs it keeps what runs share: the
 * fetch worker (nested: fetch-isolated.ts) and the object cache; they go when the agent
 * stops this worker.
 */
import { parentPort } from "node:worker_threads";
import { systemExecutor } from "../exec.js";
import { recordLogger } from "../log.js";
import { FetchIsolate } from "../source/fetch-isolated.js";
import type { RunReply, RunRequest } from "./run-isolated.js";
import { runOnce, runOutcome } from "./run.js";

const port = parentPort;
if (port === null) throw new Error("run-worker.ts runs only as a worker thread");
const post = (reply: RunReply): void => port.postMessage(reply);

let current = 0;
let stop = new AbortController();
// Log records travel to the agent as objects; it logs them through its own logger.
const root = recordLogger((record) => post({ type: "log", id: current, record }));
const isolate = new FetchIsolate();
const cache = {};

// One run at a time: the agent sends the next only after the outcome.
port.on("message", (request: RunRequest) => {
  if (request.type === "stop") {
    if (request.id === current) stop.abort();
    return;
  }
  current = request.id;
  stop = new AbortController();
  if (request.stopped) stop.abort();
  const log = root.child({}, { level: request.logLevel });
  void runOnce({ config: request.config, executor: systemExecutor, log }, { isolate, cache, stop: stop.signal }).then((summary) => post({ type: "outcome", id: request.id, outcome: runOutcome(summary) }));
});
