/**
 * Where a simulated tool's output goes. A tool never touches process.stdout itself: jail(8)
 * sends exec.start's output to exec.consolelog, rc.d/jail keeps jail(8)'s output in a temp file
 * and prints it only on failure, so the same code must write to a file, a buffer or the terminal.
 */
import { appendFileSync } from "node:fs";

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

/** processIo writes to this process's stdout and stderr (synchronous for files and, on Linux, pipes). */
export const processIo: Io = {
  out: (text) => {
    if (text !== "") process.stdout.write(text);
  },
  err: (text) => {
    if (text !== "") process.stderr.write(text);
  },
};

/** BufferIo keeps what a tool printed: each stream apart, and both in the order written (as `2>&1` into one file would). */
export class BufferIo implements Io {
  stdout = "";
  stderr = "";
  combined = "";
  out(text: string): void {
    this.stdout += text;
    this.combined += text;
  }
  err(text: string): void {
    this.stderr += text;
    this.combined += text;
  }
}

/** fileIo appends both streams to one file, as jail(8) does with exec.consolelog (open O_APPEND, dup2 onto 1 and 2). */
export function fileIo(path: string): Io {
  return {
    out: (text) => appendFileSync(path, text),
    err: (text) => appendFileSync(path, text),
  };
}

/** prefixedIo is `io` with both streams going to `io.out` (rc.d/jail runs jail(8) with `>> $_tmp 2>&1`). */
export function mergedIo(io: Io): Io {
  return { out: (t) => io.out(t), err: (t) => io.out(t) };
}
