/**
 * Test doubles for the Executor: record every argv, answer from a script or pass through to
 * another executor, and fail or "crash" on the N-th command.
 */
import type { Argv, Executor, PipeOptions, PipeResult, RunOptions, RunResult } from "../../agent/src/exec.js";

export type Reply = Partial<Omit<RunResult, "argv">>;

/** A scripted answer: the first rule whose `when` matches the argv answers it. */
export interface Rule {
  readonly when: (argv: Argv) => boolean;
  readonly reply: Reply;
}

export class RecordingExecutor implements Executor {
  readonly calls: Argv[] = [];
  /** The stdin of every call that had one, in order. */
  readonly inputs: (string | Uint8Array)[] = [];
  /** The timeout of every call that set one, in order. */
  readonly timeouts: number[] = [];
  /** Every file write, in order. */
  readonly writes: { path: string; data: Uint8Array; mode: number }[] = [];

  /** With `inner`, unmatched commands run there; without, they exit 0 with empty output. */
  constructor(
    private readonly rules: readonly Rule[] = [],
    private readonly inner?: Executor,
  ) {}

  /** writeFile records the write; with `inner`, it also happens there. */
  async writeFile(path: string, data: Uint8Array, mode: number): Promise<RunResult> {
    this.writes.push({ path, data, mode });
    if (this.inner !== undefined) return this.inner.writeFile(path, data, mode);
    return { argv: ["(write)", path], exitCode: 0, stdout: "", stderr: "", timedOut: false, durationMs: 0 };
  }

  /** Every pipeline, in order (its stages). */
  readonly pipes: (readonly Argv[])[] = [];

  /** pipe records the pipeline; with `inner`, it runs there; without, it succeeds with no output. */
  async pipe(stages: readonly Argv[], options?: PipeOptions): Promise<PipeResult> {
    this.pipes.push(stages);
    const rule = this.rules.find((r) => stages.some((s) => r.when(s)));
    if (rule === undefined && this.inner?.pipe !== undefined) return this.inner.pipe(stages, options);
    const argv = (stages[stages.length - 1] ?? ["(pipeline)"]) as Argv;
    return { argv, exitCode: 0, stdout: "", stderr: "", timedOut: false, durationMs: 0, stages: stages.map((s) => ({ argv: s, exitCode: 0, stderr: "" })), bytes: 0, ...(rule?.reply ?? {}) };
  }

  async run(argv: Argv, options?: RunOptions): Promise<RunResult> {
    this.calls.push(argv);
    if (options?.input !== undefined) this.inputs.push(options.input);
    if (options?.timeoutMs !== undefined) this.timeouts.push(options.timeoutMs);
    const rule = this.rules.find((r) => r.when(argv));
    if (rule === undefined && this.inner !== undefined) return this.inner.run(argv, options);
    return { argv, exitCode: 0, stdout: "", stderr: "", timedOut: false, durationMs: 0, ...(rule?.reply ?? {}) };
  }
}

/** startsWith matches an argv by its first words. */
export function startsWith(...words: string[]): (argv: Argv) => boolean {
  return (argv) => words.every((w, i) => argv[i] === w);
}

/**
 * failingNth runs commands on `inner`, except the n-th (counting from 1) of those `counts`
 * selects: that one is answered with `reply` (exit 1 unless the reply says otherwise) and not run.
 */
export function failingNth(inner: Executor, n: number, reply: Reply, counts: (argv: Argv) => boolean = () => true): Executor & { calls: Argv[] } {
  let seen = 0;
  const calls: Argv[] = [];
  return {
    calls,
    writeFile: (path, data, mode) => inner.writeFile(path, data, mode),
    async run(argv, options) {
      calls.push(argv);
      if (counts(argv)) {
        seen++;
        if (seen === n) return { argv, exitCode: 1, stdout: "", stderr: "", timedOut: false, durationMs: 0, ...reply };
      }
      return inner.run(argv, options);
    },
  };
}
