/**
 * What wakes the agent between runs (docs/agent.md, "The loop"): the timer, SIGHUP, `steward
 * kick` (which writes the kick file in the state directory), and a push to a remote that is a
 * local path (its branch refs change: a post-receive hook on the same host needs nothing
 * else). File changes come from chokidar, which uses the kernel's notifications (kqueue on
 * FreeBSD, inotify on Linux): nothing polls while the agent is idle.
 *
 * A wake that arrives while a run is in progress is kept, so the next wait returns at once:
 * a push during a run is never missed. Several wakes before the next wait count as one.
 */
import { watch, type FSWatcher } from "chokidar";
import { join } from "node:path";
import type { Logger } from "../log.js";

export type WakeReason = "timer" | "hup" | "kick" | "push" | "stop";

/** The file `steward kick` writes; its content means nothing. */
export function kickFile(stateDir: string): string {
  return join(stateDir, "kick");
}

/** The files of a local bare repository that change when `branch` moves (loose ref, packed refs). */
export function refPaths(gitdir: string, branch: string): string[] {
  return [join(gitdir, "refs", "heads", ...branch.split("/")), join(gitdir, "packed-refs")];
}

export interface WakerOptions {
  readonly log: Logger;
  /** The kick file (kickFile); it must exist. */
  readonly kick: string;
  /** Files whose change means a push (refPaths of each local remote). */
  readonly pushes: readonly string[];
}

/** The agent's alarm clock; see the module comment. */
export class Waker {
  private pending: WakeReason | undefined;
  private wakeNow: ((reason: WakeReason) => void) | undefined;
  private watcher: FSWatcher | undefined;
  private stopped = false;

  constructor(private readonly options: WakerOptions) {}

  /** start begins watching; resolves once the watches are in place. */
  async start(): Promise<void> {
    const { kick, pushes, log } = this.options;
    const watcher = watch([kick, ...pushes], { ignoreInitial: true, persistent: true, followSymlinks: false, depth: 0 });
    this.watcher = watcher;
    watcher.on("all", (_event, path) => this.wake(path === kick ? "kick" : "push"));
    watcher.on("error", (e) => log.warn({ error: String(e) }, "cannot watch for pushes and kicks; the interval still applies"));
    await new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
  }

  /** wake ends the current wait (or the next one, when none is in progress). `stop` sticks. */
  wake(reason: WakeReason): void {
    if (this.stopped) return;
    if (reason === "stop") this.stopped = true;
    if (this.wakeNow !== undefined) {
      const resolve = this.wakeNow;
      this.wakeNow = undefined;
      resolve(reason);
      return;
    }
    if (this.pending === undefined || reason === "stop") this.pending = reason;
  }

  /** wait resolves after `ms`, or at the first wake (at once when one is pending). */
  wait(ms: number): Promise<WakeReason> {
    if (this.stopped) return Promise.resolve("stop");
    const pending = this.pending;
    this.pending = undefined;
    if (pending !== undefined) return Promise.resolve(pending);
    return new Promise<WakeReason>((resolve) => {
      const timer = setTimeout(() => {
        this.wakeNow = undefined;
        resolve("timer");
      }, ms);
      this.wakeNow = (reason) => {
        clearTimeout(timer);
        resolve(reason);
      };
    });
  }

  /** close stops watching. */
  async close(): Promise<void> {
    await this.watcher?.close();
  }
}
