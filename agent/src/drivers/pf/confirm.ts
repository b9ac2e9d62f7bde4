/**
 * Commit-confirmed pf loads (docs/network.md): after a new anchor is loaded the node must
 * reach one of its git remotes within the confirm window, or the driver loads the previous
 * anchor again by itself — so that a mistake cannot cut a remote node off its source of fixes.
 *
 * decideConfirm is the pure decision; confirmReachable the thin loop that probes (a TCP
 * connection to each remote's host and port: what pf decides on) until the decision is made.
 */
import { connect } from "node:net";
import type { ProbeTarget } from "./types.js";

export interface ProbeResult {
  readonly target: string;
  readonly ok: boolean;
  /** Why it failed (ECONNREFUSED, a timeout). */
  readonly error?: string;
}

/** How long to wait between two rounds of probes, and the most one probe may take. */
export const PROBE_INTERVAL_MS = 500;
export const PROBE_TIMEOUT_MS = 3_000;

/**
 * decideConfirm says what to do after `rounds` of probes, `elapsedMs` after the load:
 * `confirmed` as soon as one remote answered in the last round, `revert` when none did and
 * the window is over (or there is no time for another round), `retry` otherwise. Pure.
 */
export function decideConfirm(rounds: readonly (readonly ProbeResult[])[], elapsedMs: number, windowMs: number): "confirmed" | "retry" | "revert" {
  const last = rounds[rounds.length - 1];
  if (last?.some((r) => r.ok) === true) return "confirmed";
  return elapsedMs + PROBE_INTERVAL_MS >= windowMs ? "revert" : "retry";
}

/** probeTcp opens a TCP connection to a remote and closes it at once. Never throws. */
export function probeTcp(target: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host: target.host, port: target.port });
    const done = (r: ProbeResult): void => {
      socket.removeAllListeners();
      socket.on("error", () => {});
      socket.destroy();
      resolve(r);
    };
    socket.setTimeout(timeoutMs, () => done({ target: target.name, ok: false, error: `no answer within ${timeoutMs} ms` }));
    socket.once("connect", () => done({ target: target.name, ok: true }));
    socket.once("error", (e: NodeJS.ErrnoException) => done({ target: target.name, ok: false, error: e.code ?? e.message }));
  });
}

export interface ConfirmOutcome {
  readonly confirmed: boolean;
  readonly rounds: readonly (readonly ProbeResult[])[];
  readonly elapsedMs: number;
}

/**
 * confirmReachable probes every target, round after round, until one answers or the window
 * is over. Side effects: TCP connections. Never throws.
 */
export async function confirmReachable(targets: readonly ProbeTarget[], windowMs: number, probe: (t: ProbeTarget, timeoutMs: number) => Promise<ProbeResult> = probeTcp): Promise<ConfirmOutcome> {
  const started = performance.now();
  const rounds: ProbeResult[][] = [];
  for (;;) {
    const elapsed = performance.now() - started;
    const timeout = Math.max(100, Math.min(PROBE_TIMEOUT_MS, windowMs - elapsed));
    rounds.push(await Promise.all(targets.map((t) => probe(t, timeout))));
    const now = performance.now() - started;
    const decision = decideConfirm(rounds, now, windowMs);
    if (decision !== "retry") return { confirmed: decision === "confirmed", rounds, elapsedMs: now };
    await new Promise((r) => setTimeout(r, PROBE_INTERVAL_MS));
  }
}
