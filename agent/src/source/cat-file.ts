/**
 * Reading git objects through one long-running native `git cat-file --batch` (objects.ts).
 *
 * In a pre-receive hook the pushed objects are still in quarantine: git sets
 * GIT_OBJECT_DIRECTORY to the quarantine directory and GIT_ALTERNATE_OBJECT_DIRECTORIES to the
 * repository's own objects (githooks(5) "pre-receive"; docs/decisions.md, "Native git in the pre-receive hook"). isomorphic-git reads neither
 * variable nor objects/info/alternates, so it cannot see a push before it is accepted; native
 * git, started with the hook's environment, sees exactly what the hook sees: loose objects and
 * packs in quarantine and in the repository, alternates, multi-pack indexes.
 *
 * Protocol (git-cat-file(1), BATCH OUTPUT): for each `<oid>\n` written, git answers
 * `<oid> SP <type> SP <size>\n<content>\n`, or `<oid> SP missing\n`. Requests are answered in
 * order, so one queue of pending reads matches answers to requests.
 */
import { StewardError } from "../errors.js";
import { startProcess, type RunningProcess } from "../exec.js";
import type { GitObject, ObjectSource } from "./objects.js";

/** The largest object read: far above any commit, tree or trust file (MAX_TRUST_BYTES is 256 KiB). */
export const MAX_CAT_FILE_OBJECT_BYTES = 16 * 1024 * 1024;
const OID = /^[0-9a-f]{40}$/;

export interface CatFileOptions {
  /** The repository: passed as `git --git-dir`; by default git finds it from the environment and cwd (GIT_DIR in a hook). */
  readonly gitdir?: string;
  /** Hard limit on the process's whole life. Default 60 s. */
  readonly timeoutMs?: number;
  readonly maxObjectBytes?: number;
}

/** An ObjectSource over a running `git cat-file --batch`; `close` ends it. */
export interface CatFileSource extends ObjectSource {
  close(): Promise<void>;
}

interface Pending {
  readonly oid: string;
  readonly resolve: (o: GitObject) => void;
  readonly reject: (e: unknown) => void;
}

/**
 * openCatFile starts `git cat-file --batch` (with this process's environment) and returns a
 * source that reads through it. A missing object rejects with code NotFoundError, an object
 * over the size limit with ObjectTypeError (its bytes are skipped, the process goes on); when
 * the process fails or ends, every read rejects with EXEC_FAILED (or EXEC_TIMEOUT). Never
 * throws itself; call `close` when done.
 */
export function openCatFile(options: CatFileOptions = {}): CatFileSource {
  const maxObjectBytes = options.maxObjectBytes ?? MAX_CAT_FILE_OBJECT_BYTES;
  const argv = options.gitdir === undefined ? (["git", "cat-file", "--batch"] as const) : (["git", `--git-dir=${options.gitdir}`, "cat-file", "--batch"] as const);
  const child: RunningProcess = startProcess(argv, { timeoutMs: options.timeoutMs ?? 60_000 });
  const pending: Pending[] = [];
  let failure: StewardError | undefined;
  const parser = new BatchParser(maxObjectBytes);

  const failAll = (e: StewardError): void => {
    failure ??= e;
    for (const p of pending.splice(0)) p.reject(failure);
  };
  child.stdout.on("data", (chunk: Buffer) => {
    try {
      for (const answer of parser.push(chunk)) {
        const p = pending.shift();
        if (p === undefined) throw new Error("an answer nobody asked for");
        if (answer.oid !== p.oid) throw new Error(`asked for ${p.oid}, got an answer for ${answer.oid}`);
        if (answer.kind === "missing") p.reject(Object.assign(new Error(`object ${p.oid} is missing`), { code: "NotFoundError" }));
        else if (answer.kind === "too-large") p.reject(Object.assign(new Error(`object ${p.oid} is ${answer.size} bytes, more than ${maxObjectBytes}`), { code: "ObjectTypeError" }));
        else p.resolve({ type: answer.type, content: answer.content });
      }
    } catch (e) {
      failAll(new StewardError("EXEC_FAILED", "git cat-file answered something unexpected", { data: { error: e instanceof Error ? e.message : String(e) }, retry: "internal" }));
      child.kill();
    }
  });
  const done = child.done.then((r) => {
    const error = r.timedOut
      ? new StewardError("EXEC_TIMEOUT", "git cat-file did not finish in time", { retry: "transient" })
      : new StewardError("EXEC_FAILED", r.spawnError === undefined ? "git cat-file ended" : "cannot run git", {
          data: { exitCode: r.exitCode, stderr: r.stderr.slice(0, 2000), ...(r.spawnError === undefined ? {} : { error: r.spawnError }) },
          hint: "install git; in a hook, run steward from the repository git started the hook in",
          retry: "stalled",
        });
    failAll(error);
  });

  return {
    read(oid: string): Promise<GitObject> {
      // Anything but a full object id would be read by git as a revision expression.
      if (!OID.test(oid)) return Promise.reject(Object.assign(new Error(`not an object id: ${JSON.stringify(oid).slice(0, 80)}`), { code: "NotFoundError" }));
      if (failure !== undefined) return Promise.reject(failure);
      return new Promise<GitObject>((resolve, reject) => {
        pending.push({ oid, resolve, reject });
        child.stdin.write(`${oid}\n`);
      });
    },
    async close(): Promise<void> {
      child.stdin.end();
      await done;
    },
  };
}

type Answer =
  | { readonly kind: "object"; readonly oid: string; readonly type: string; readonly content: Uint8Array }
  | { readonly kind: "missing"; readonly oid: string }
  | { readonly kind: "too-large"; readonly oid: string; readonly size: number };

/**
 * BatchParser cuts `git cat-file --batch` output into answers as the bytes arrive. An object
 * larger than the limit is skipped as it streams past, never held. Throws on output that is
 * not the batch format.
 */
export class BatchParser {
  /** Output not yet consumed, in the chunks it came in: joined only when an answer is complete. */
  private parts: Buffer[] = [];
  private have = 0;
  /** The object being read: its header, and for one over the limit, how many bytes remain to skip. */
  private current: { oid: string; type: string; size: number; skip?: number } | undefined;

  constructor(private readonly maxObjectBytes: number) {}

  /** push takes the next chunk of output and returns every answer it completes, in order. */
  push(chunk: Buffer): Answer[] {
    this.parts.push(chunk);
    this.have += chunk.length;
    const answers: Answer[] = [];
    for (;;) {
      const c = this.current;
      if (c === undefined) {
        const b = this.joined();
        const nl = b.indexOf(0x0a);
        if (nl === -1) {
          if (b.length > 200) throw new Error("a header line longer than 200 bytes");
          return answers;
        }
        const line = b.subarray(0, nl).toString("latin1");
        this.consume(nl + 1);
        const missing = /^([0-9a-f]{40}) missing$/.exec(line);
        if (missing !== null) {
          answers.push({ kind: "missing", oid: missing[1] as string });
          continue;
        }
        const header = /^([0-9a-f]{40}) (commit|tree|blob|tag) (\d{1,15})$/.exec(line);
        if (header === null) throw new Error(`unexpected line ${JSON.stringify(line.slice(0, 100))}`);
        const size = Number(header[3]);
        this.current = { oid: header[1] as string, type: header[2] as string, size, ...(size > this.maxObjectBytes ? { skip: size + 1 } : {}) };
        continue;
      }
      if (c.skip !== undefined) {
        const n = Math.min(c.skip, this.have);
        this.consume(n);
        c.skip -= n;
        if (c.skip > 0) return answers;
        answers.push({ kind: "too-large", oid: c.oid, size: c.size });
        this.current = undefined;
        continue;
      }
      if (this.have < c.size + 1) return answers;
      const b = this.joined();
      if (b[c.size] !== 0x0a) throw new Error(`object ${c.oid} is not followed by a newline`);
      // A copy: the buffer the content sits in also holds the next answers.
      const content = new Uint8Array(b.subarray(0, c.size));
      this.consume(c.size + 1);
      answers.push({ kind: "object", oid: c.oid, type: c.type, content });
      this.current = undefined;
    }
  }

  private joined(): Buffer {
    if (this.parts.length > 1) this.parts = [Buffer.concat(this.parts)];
    return this.parts[0] ?? Buffer.alloc(0);
  }

  private consume(n: number): void {
    if (n === 0) return;
    const b = this.joined();
    this.parts = n < b.length ? [b.subarray(n)] : [];
    this.have -= n;
  }
}
