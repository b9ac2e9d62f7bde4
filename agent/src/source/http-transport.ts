/**
 * The `http` object handed to isomorphic-git: the one seam through which every byte from a
 * remote arrives (docs/decisions.md, "isomorphic-git behind its http seam"). It routes by URL:
 * - `https://…` and `http://…` to isomorphic-git's node client, with redirects refused;
 * - `http://ssh.invalid/<remote>` to a pkt-line bridge running `ssh … "git-upload-pack '<path>'"`
 *   (or `git-receive-pack` for a push);
 * - `http://local.invalid/<remote>` to the same bridge running `git upload-pack <path>` (or `receive-pack`).
 *
 * Every ref advertisement is narrowed to the tracked branch before isomorphic-git reads it
 * (advertisement.ts), so a remote's HEAD never matters and a missing branch is named as such.
 *
 * isomorphic-git has no timeouts and no size limits, so both live here: one deadline for the
 * whole operation (created with the object; every wait races it and, when it passes, sockets
 * are destroyed and processes killed), and a cap on the bytes received. Failures are typed
 * StewardErrors (SOURCE_TIMEOUT, SOURCE_AUTH, SOURCE_HOST_KEY, SOURCE_NOT_FOUND,
 * SOURCE_PROTOCOL, SOURCE_FETCH_FAILED, and CONFIG_INVALID for an ssh key or known_hosts file
 * that cannot be used) which isomorphic-git passes through unchanged.
 */
import type { Readable } from "node:stream";
import type { GitHttpRequest, GitHttpResponse, HttpClient } from "isomorphic-git";
import nodeHttp from "isomorphic-git/http/node";
import { StewardError } from "../errors.js";
import { assertNever } from "../plan/assert-never.js";
import { startProcess, type RunningProcess } from "../exec.js";
import type { Logger } from "../log.js";
import { narrowAdvertisement } from "./advertisement.js";
import { DEFAULT_PACK_LIMITS, inspectUploadPackResponse, type PackLimits, type PackRefusal } from "./pack-guard.js";
import { readSmallFile } from "../read-small-file.js";
import { bridgeArgv, bridgeUrl, type GitService, type RemoteSpec } from "./remotes.js";
import { checkPrivateKey } from "./ssh-files.js";
import { readSshFailure, sshFailureError } from "./ssh-failure.js";

export interface GitHttpOptions {
  /**
   * The branch fetched: every upload-pack ref advertisement is narrowed to it
   * (advertisement.ts), so isomorphic-git never depends on the remote's HEAD. Absent: the
   * advertisement is passed whole (a push).
   */
  readonly branch?: string;
  /** Limit for the whole operation (both requests of a fetch), from the moment of creation. */
  readonly timeoutMs: number;
  /** Largest response accepted, in bytes (isomorphic-git holds a whole pack in memory). */
  readonly maxResponseBytes?: number;
  /** How far the objects of a fetched pack may inflate (pack-guard.ts). */
  readonly packLimits?: PackLimits;
  readonly log?: Logger;
}

/** An isomorphic-git http client for one operation, and the means to end it. */
export interface GitHttp {
  readonly http: HttpClient;
  /** Ends every bridge process and open request and stops the deadline. Idempotent; never throws. */
  close(): Promise<void>;
}

/**
 * The largest upload-pack response accepted. isomorphic-git holds a response about three
 * times over while it parses and indexes it, so this bounds the fetch's memory (a whole fetch
 * stays under 256 MB, see pack-guard.ts DEFAULT_PACK_LIMITS); a cluster repo of configuration
 * takes a few MiB even after years of history.
 */
export const DEFAULT_MAX_RESPONSE_BYTES = 16 * 1024 * 1024;
/** The largest ref advertisement accepted, over every transport. */
export const MAX_ADVERTISEMENT_BYTES = 4 * 1024 * 1024;
const CLOSE_GRACE_MS = 500;
const UPLOAD_PACK = "git-upload-pack";
const RECEIVE_PACK = "git-receive-pack";
const BRIDGE_SERVICES: readonly GitService[] = [UPLOAD_PACK, RECEIVE_PACK];

/**
 * createGitHttp makes the http object for one operation against the given remotes and starts
 * its deadline. Side effects happen only when isomorphic-git calls `request`: an HTTP request,
 * or a bridge process (one per operation and remote; ended by `close`, which callers must
 * call in `finally`). Requests for a URL no remote owns are refused with SOURCE_PROTOCOL.
 */
export function createGitHttp(remotes: readonly RemoteSpec[], options: GitHttpOptions): GitHttp {
  const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const deadline = new AbortController();
  let current = remotes[0]?.name ?? "remote";
  const timeoutError = (): StewardError =>
    new StewardError("SOURCE_TIMEOUT", `remote ${current} did not answer within ${options.timeoutMs} ms`, {
      data: { remote: current, timeoutMs: options.timeoutMs },
      hint: "check that the server is up and reachable; the limit is `timeout:` in the agent configuration",
      retry: "transient",
    });
  const timer = setTimeout(() => deadline.abort(), options.timeoutMs);
  const expired = new Promise<never>((_, reject) => {
    deadline.signal.addEventListener("abort", () => reject(timeoutError()), { once: true });
  });
  expired.catch(() => {});
  const race = <T>(p: Promise<T>): Promise<T> => Promise.race([p, expired]);
  const sessions = new Map<string, BridgeSession>();
  const requests = new Set<AbortController>();
  deadline.signal.addEventListener("abort", () => {
    for (const s of sessions.values()) s.process.kill();
    for (const c of requests) c.abort();
  });

  const route = (url: string): { remote: RemoteSpec; rest: string } => {
    for (const remote of remotes) {
      const base = bridgeUrl(remote);
      if (url === base || url.startsWith(`${base}/`)) return { remote, rest: url.slice(base.length) };
    }
    throw new StewardError("SOURCE_PROTOCOL", "request for a URL no remote owns", { data: { url: redact(url) }, hint: "a server redirected or a bug built a wrong URL", retry: "stalled" });
  };

  // Every response is read whole, within the deadline and its cap, and a pack response is
  // inspected, before isomorphic-git sees a byte of it: its pkt-line reader turns an error
  // thrown mid-stream into a silent end of data (a ref advertisement cut at the cap would read
  // as a shorter one), so every refusal must reject `request` itself.
  const readWhole = async (body: AsyncIterable<Uint8Array> | undefined, remote: string, isPack: boolean, onEnd?: () => Promise<void>): Promise<Buffer> => {
    const limit = isPack ? maxBytes : MAX_ADVERTISEMENT_BYTES;
    const held: Uint8Array[] = [];
    if (body !== undefined) {
      const it = body[Symbol.asyncIterator]();
      let total = 0;
      try {
        for (;;) {
          const r = await race(it.next());
          if (r.done === true) break;
          total += r.value.byteLength;
          if (total > limit) throw tooLarge(remote, limit);
          held.push(r.value);
        }
      } finally {
        void it.return?.();
      }
    }
    if (onEnd !== undefined) await race(onEnd());
    const response = concat(held);
    held.length = 0;
    if (isPack) {
      const verdict = inspectUploadPackResponse(response, options.packLimits ?? DEFAULT_PACK_LIMITS);
      if (!verdict.ok) throw packRefused(remote, verdict);
      options.log?.debug({ objects: verdict.objects, deltas: verdict.deltas, inflatedBytes: verdict.inflatedBytes, packBytes: verdict.packBytes }, "pack inspected");
    }
    return response;
  };

  // Every ref advertisement, over every transport, reaches isomorphic-git narrowed to the
  // tracked branch (advertisement.ts): a remote whose HEAD names another branch, or nothing,
  // serves that branch all the same; a remote without it is told apart here.
  const narrow = (remote: RemoteSpec, body: Buffer): Buffer => {
    if (options.branch === undefined) return body;
    const ad = narrowAdvertisement(body, options.branch);
    switch (ad.kind) {
      case "branch":
      case "empty":
        return ad.body;
      case "missing":
        throw noSuchBranch(remote.name, options.branch, ad.branches);
      case "error":
        throw new StewardError("SOURCE_PROTOCOL", `remote ${remote.name} answered with an error: ${ad.message}`, { data: { remote: remote.name, error: ad.message }, hint: "see the server's message", retry: "transient" });
      case "malformed":
        throw new StewardError("SOURCE_PROTOCOL", `remote ${remote.name} sent a ref advertisement that does not parse: ${ad.reason}`, {
          data: { remote: remote.name, reason: ad.reason },
          hint: "the server did not speak git's smart protocol; check the URL and the server",
          retry: "transient",
        });
      default:
        return assertNever(ad);
    }
  };

  const httpRequest = async (remote: RemoteSpec, req: GitHttpRequest): Promise<GitHttpResponse> => {
    const controller = new AbortController();
    requests.add(controller);
    let res: GitHttpResponse;
    try {
      res = await race(nodeHttp.request({ ...req, signal: controller.signal, fetchOptions: { followRedirects: false } }));
    } catch (e) {
      if (e instanceof StewardError) throw e;
      throw networkError(remote.name, e);
    }
    if (res.statusCode !== 200) {
      void res.body?.return?.();
      controller.abort();
      throw statusError(remote.name, res.statusCode, res.headers?.["location"]);
    }
    const method = (req.method ?? "GET").toUpperCase();
    const url = new URL(req.url);
    const isPack = method === "POST" && url.pathname.endsWith(`/${UPLOAD_PACK}`);
    const isAdvertisement = method === "GET" && url.pathname.endsWith("/info/refs") && url.searchParams.get("service") === UPLOAD_PACK;
    const body = await readWhole(res.body, remote.name, isPack);
    return { ...res, body: once(isAdvertisement ? narrow(remote, body) : body) };
  };

  // A push (git-receive-pack) goes through the same session as a fetch: one process per
  // operation, the advertisement on GET, the request on POST, the same deadline and caps; only
  // its answer (report-status) is not a pack, so it is held to the advertisement's cap.
  const bridgeRequest = async (remote: RemoteSpec, rest: string, req: GitHttpRequest): Promise<GitHttpResponse> => {
    const method = (req.method ?? "GET").toUpperCase();
    const service = BRIDGE_SERVICES.find((s) => rest === (method === "GET" ? `/info/refs?service=${s}` : `/${s}`));
    if (method === "GET" && service !== undefined) {
      await sessions.get(remote.name)?.close();
      const timing = { timeoutSeconds: options.timeoutMs / 1000 };
      const argv = bridgeArgv(remote, service, timing);
      const knownHostsText = remote.target.kind === "ssh" ? readSshFiles(remote) : undefined;
      const session = new BridgeSession(remote, service, startProcess(argv, { timeoutMs: options.timeoutMs + 1_000 }), maxBytes, knownHostsText);
      sessions.set(remote.name, session);
      if (deadline.signal.aborted) session.process.kill();
      options.log?.debug({ program: argv[0] }, "bridge started");
      const advertisement = await race(session.readAdvertisement());
      // A fetch sees only the tracked branch; a push sees every ref it may update.
      const full = concat([pktLine(`# service=${service}\n`), Buffer.from("0000"), advertisement]);
      const body = service === UPLOAD_PACK ? narrow(remote, full) : full;
      return { url: req.url, method, statusCode: 200, statusMessage: "OK", headers: { "content-type": `application/x-${service}-advertisement` }, body: once(body) };
    }
    if (method === "POST" && service !== undefined) {
      const session = sessions.get(remote.name);
      if (session === undefined || session.posted || session.service !== service) {
        throw new StewardError("SOURCE_PROTOCOL", `${service} request without a fresh advertisement`, { data: { remote: remote.name }, retry: "internal" });
      }
      session.posted = true;
      await race(session.writeRequest(req.body));
      return { url: req.url, method, statusCode: 200, statusMessage: "OK", headers: { "content-type": `application/x-${service}-result` }, body: once(await readWhole(session.responseBody(), remote.name, service === UPLOAD_PACK, () => session.finish())) };
    }
    throw new StewardError("SOURCE_PROTOCOL", "the bridge serves only git-upload-pack and git-receive-pack", { data: { remote: remote.name, method, path: rest }, hint: "only fetching and pushing are supported over this remote", retry: "stalled" });
  };

  const http: HttpClient = {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      if (deadline.signal.aborted) throw timeoutError();
      const { remote, rest } = route(req.url);
      current = remote.name;
      return remote.target.kind === "http" ? httpRequest(remote, req) : bridgeRequest(remote, rest, req);
    },
  };

  let closed: Promise<void> | undefined;
  return {
    http,
    close(): Promise<void> {
      closed ??= (async () => {
        clearTimeout(timer);
        for (const c of requests) c.abort();
        await Promise.all([...sessions.values()].map((s) => s.close()));
      })();
      return closed;
    },
  };
}

/**
 * One upload-pack or receive-pack process spoken to in stateful protocol v0 (gitprotocol-pack(5)): the
 * GET returns its advertisement, the POST writes the request and streams the rest of its stdout.
 */
class BridgeSession {
  posted = false;
  private readonly queue: ChunkQueue;
  private closing: Promise<void> | undefined;

  constructor(
    readonly remote: RemoteSpec,
    readonly service: GitService,
    readonly process: RunningProcess,
    maxBytes: number,
    /** The remote's known_hosts as read before ssh started (ssh remotes), for messages. */
    private readonly knownHostsText: string | undefined,
  ) {
    // Drain stdout from the start: a peer blocked on a full pipe while we write would deadlock.
    this.queue = new ChunkQueue(process.stdout, remote.name, maxBytes, () => process.kill());
  }

  /** Reads pkt-lines up to and including the first flush; throws the process's failure at EOF. */
  async readAdvertisement(): Promise<Buffer> {
    let buf = Buffer.alloc(0);
    let at = 0;
    for (;;) {
      while (buf.length - at >= 4) {
        const hex = buf.subarray(at, at + 4).toString("latin1");
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw this.garbage("the ref advertisement is not pkt-line data");
        const len = parseInt(hex, 16);
        if (len === 0) {
          this.queue.unshift(buf.subarray(at + 4));
          return buf.subarray(0, at + 4);
        }
        if (len < 4) throw this.garbage("invalid pkt-line length in the ref advertisement");
        if (buf.length - at < len) break;
        at += len;
      }
      if (buf.length > MAX_ADVERTISEMENT_BYTES) throw tooLarge(this.remote.name, MAX_ADVERTISEMENT_BYTES);
      const chunk = await this.queue.read();
      if (chunk === undefined) throw await this.failure(true);
      buf = Buffer.concat([buf, chunk]);
    }
  }

  /** Writes the upload request to stdin with backpressure, then closes stdin. */
  async writeRequest(body: GitHttpRequest["body"]): Promise<void> {
    const stdin = this.process.stdin;
    const chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array> = body ?? [];
    for await (const chunk of chunks) {
      if (!stdin.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = (): void => {
            stdin.off("drain", done);
            stdin.off("close", done);
            resolve();
          };
          stdin.on("drain", done);
          stdin.on("close", done);
        });
      }
    }
    stdin.end();
  }

  async *responseBody(): AsyncGenerator<Uint8Array, void, undefined> {
    for (;;) {
      const chunk = await this.queue.read();
      if (chunk === undefined) return;
      yield chunk;
    }
  }

  /** At EOF of the response: the exit status decides whether the bytes were the whole answer. */
  async finish(): Promise<void> {
    const r = await this.process.done;
    if (r.exitCode !== 0) throw await this.failure(false);
  }

  async close(): Promise<void> {
    this.closing ??= (async () => {
      if (!this.posted) {
        // A session that never got its request: tell upload-pack there is nothing to want, or
        // receive-pack there are no commands (a push refused on the client side).
        this.process.stdin.end("0000");
      }
      const timer = setTimeout(() => this.process.kill(), CLOSE_GRACE_MS);
      await this.process.done;
      clearTimeout(timer);
    })();
    return this.closing;
  }

  private garbage(message: string): StewardError {
    this.process.kill();
    return new StewardError("SOURCE_PROTOCOL", message, { data: { remote: this.remote.name }, hint: "the server did not speak the git protocol; check the URL and the server", retry: "transient" });
  }

  private async failure(early: boolean): Promise<StewardError> {
    if (this.queue.error !== undefined) return this.queue.error;
    const r = await this.process.done;
    return bridgeFailure(this.remote, r, early, this.knownHostsText);
  }
}

/** The most of a known_hosts file read for messages (ssh itself reads it all). */
const MAX_KNOWN_HOSTS_BYTES = 1024 * 1024;
/** What is read of a private key: enough for its armor and cipher name, never the whole key. */
const KEY_HEAD_BYTES = 512;

/**
 * readSshFiles reads the known_hosts file and the start of the key file an ssh remote names,
 * before ssh runs: ssh in batch mode skips a key it cannot use and treats a missing known_hosts
 * as an empty one, so both would surface as a refusal that blames the server. Returns the
 * known_hosts text (for messages); throws CONFIG_INVALID naming the file and what is wrong.
 */
function readSshFiles(remote: RemoteSpec): string {
  const invalid = (field: string, path: string, message: string, hint: string): StewardError =>
    new StewardError("CONFIG_INVALID", `remote ${remote.name}: ${message}`, { data: { remote: remote.name, field, path }, hint, retry: "stalled" });
  let text = "";
  if (remote.knownHosts !== undefined) {
    const kh = readSmallFile(remote.knownHosts, MAX_KNOWN_HOSTS_BYTES);
    if (!kh.ok) throw invalid("known_hosts", remote.knownHosts, `known_hosts ${remote.knownHosts} ${kh.reason}`, "pin the server's host key in that file (ssh-keyscan, then check the fingerprint), or fix known_hosts: in the agent configuration");
    text = Buffer.from(kh.bytes).toString("utf8");
  }
  if (remote.key !== undefined) {
    const key = readSmallFile(remote.key, KEY_HEAD_BYTES);
    if (!key.ok) throw invalid("key", remote.key, `key ${remote.key} ${key.reason}`, "create the node's key (ssh-keygen -t ed25519 -N '' -f FILE) or fix key: in the agent configuration");
    const problem = checkPrivateKey(remote.key, key);
    if (problem !== undefined) throw invalid("key", remote.key, problem.message, problem.hint);
  }
  return text;
}

/**
 * bridgeFailure turns the end of a failed bridge process into a typed error. ssh exits 255
 * for its own failures (ssh(1), EXIT STATUS); its stderr tells the case (ssh-failure.ts: SOURCE_HOST_KEY,
 * SOURCE_AUTH, CONFIG_INVALID, SOURCE_TIMEOUT, SOURCE_FETCH_FAILED). Other exits come from
 * git-shell or upload-pack: a missing repository is SOURCE_NOT_FOUND, the rest SOURCE_PROTOCOL.
 */
function bridgeFailure(
  remote: RemoteSpec,
  r: { exitCode: number | null; stderr: string; timedOut: boolean; spawnError?: string },
  early: boolean,
  knownHostsText: string | undefined,
): StewardError {
  const stderr = tail(r.stderr);
  const data = { remote: remote.name, exitCode: r.exitCode, stderr };
  if (r.timedOut) {
    return new StewardError("SOURCE_TIMEOUT", `remote ${remote.name} did not answer in time`, { data, retry: "transient", hint: "check that the server is up and reachable" });
  }
  if (r.spawnError !== undefined) {
    const program = remote.target.kind === "ssh" ? "ssh" : "git";
    return new StewardError("SOURCE_FETCH_FAILED", `cannot start ${program}`, { data: { ...data, spawnError: r.spawnError }, hint: `install ${program} on this node`, retry: "stalled" });
  }
  if (remote.target.kind === "ssh" && r.exitCode === 255) {
    return sshFailureError(remote, readSshFailure(r.stderr), { exitCode: r.exitCode, stderr, knownHostsText });
  }
  if (/does not appear to be a git repository|repository .* not found|No such file or directory/i.test(r.stderr)) {
    return new StewardError("SOURCE_NOT_FOUND", `remote ${remote.name} has no such repository`, { data, hint: "check the repository path in the remote's url:", retry: "stalled" });
  }
  return new StewardError("SOURCE_PROTOCOL", early ? `remote ${remote.name} ended before its ref advertisement` : `remote ${remote.name} ended the transfer with an error`, {
    data,
    hint: "see stderr; the server may not be a git server or may refuse the command",
    retry: "transient",
  });
}

function statusError(remote: string, status: number, location: string | undefined): StewardError {
  const data = { remote, status };
  if (status === 401 || status === 403) return new StewardError("SOURCE_AUTH", `remote ${remote} refused access (HTTP ${status})`, { data, hint: "the server wants credentials Steward does not send; use an ssh remote with a key", retry: "stalled" });
  if (status === 404) return new StewardError("SOURCE_NOT_FOUND", `remote ${remote} has no such repository (HTTP 404)`, { data, hint: "check the remote's url:", retry: "stalled" });
  if (status >= 300 && status < 400) {
    return new StewardError("SOURCE_PROTOCOL", `remote ${remote} redirected (HTTP ${status})`, { data: { ...data, location: location === undefined ? undefined : redact(location) }, hint: "redirects are not followed; put the final URL in the configuration", retry: "stalled" });
  }
  if (status === 408 || status === 429 || status >= 500) return new StewardError("SOURCE_FETCH_FAILED", `remote ${remote} answered HTTP ${status}`, { data, hint: "the server is overloaded or failing; retried later", retry: "transient" });
  return new StewardError("SOURCE_PROTOCOL", `remote ${remote} answered HTTP ${status}`, { data, hint: "the server is not a git smart-HTTP server", retry: "transient" });
}

const TLS_CODES = /^(?:CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_|ERR_TLS_CERT|ERR_SSL_)/;

function networkError(remote: string, e: unknown): StewardError {
  const code = typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : undefined;
  const message = e instanceof Error ? e.message : String(e);
  if (code !== undefined && TLS_CODES.test(code)) {
    return new StewardError("SOURCE_AUTH", `remote ${remote}: TLS certificate not trusted`, { data: { remote, errno: code }, hint: "the server's certificate does not verify; fix it or use an ssh remote with a pinned host key", retry: "stalled", cause: e });
  }
  return new StewardError("SOURCE_FETCH_FAILED", `remote ${remote} is unreachable`, { data: { remote, errno: code, error: message }, hint: "the host is down or unreachable; retried later", retry: "transient", cause: e });
}

/**
 * packRefused turns the pack guard's refusal into SOURCE_PROTOCOL: a pack past the limits
 * needs a smaller history (stalled); a response that does not parse, or a server's error
 * message, may be a passing fault (transient).
 */
function packRefused(remote: string, verdict: PackRefusal): StewardError {
  const data = { remote, kind: verdict.kind, reason: verdict.reason };
  switch (verdict.kind) {
    case "limit":
      return new StewardError("SOURCE_PROTOCOL", `remote ${remote} sent a pack past the limits: ${verdict.reason}`, {
        data,
        hint: "a hostile server or mirror, or a huge file or history in the cluster repo; keep large binaries out of it",
        retry: "stalled",
      });
    case "malformed":
      return new StewardError("SOURCE_PROTOCOL", `remote ${remote} sent an upload-pack response that does not parse: ${verdict.reason}`, {
        data,
        hint: "the server or something between is broken or hostile; retried later",
        retry: "transient",
      });
    case "remote-error":
      return new StewardError("SOURCE_PROTOCOL", `remote ${remote} answered with an error: ${verdict.reason}`, {
        data,
        hint: "see the server's message; retried later",
        retry: "transient",
      });
    default:
      return assertNever(verdict.kind);
  }
}

/** How many of a remote's branches a SOURCE_NOT_FOUND names. */
const BRANCHES_NAMED = 5;

function noSuchBranch(remote: string, branch: string, branches: readonly string[]): StewardError {
  const named = branches.slice(0, BRANCHES_NAMED);
  const has = branches.length === 0 ? "it has no branches" : `it has ${named.join(", ")}${branches.length > named.length ? ` and ${branches.length - named.length} more` : ""}`;
  return new StewardError("SOURCE_NOT_FOUND", `remote ${remote} has no branch ${branch}; ${has}`, {
    data: { remote, branch, branches: named, branchCount: branches.length },
    hint: `push the cluster repo's ${branch} there (git push ${remote} HEAD:refs/heads/${branch}), or set branch: in the agent configuration to the branch you use`,
    retry: "stalled",
  });
}

function tooLarge(remote: string, limit: number): StewardError {
  return new StewardError("SOURCE_PROTOCOL", `remote ${remote} sent more than ${limit} bytes`, { data: { remote, limit }, hint: "the repository is larger than Steward accepts; keep large binaries out of the cluster repo", retry: "stalled" });
}

/** Buffers a process's stdout from the start, up to a byte cap. */
class ChunkQueue {
  error: StewardError | undefined;
  private readonly chunks: Buffer[] = [];
  private ended = false;
  private waiter: (() => void) | undefined;
  private total = 0;

  constructor(stream: Readable, remote: string, maxBytes: number, onOverflow: () => void) {
    stream.on("data", (chunk: Buffer) => {
      this.total += chunk.length;
      if (this.total > maxBytes && this.error === undefined) {
        this.error = tooLarge(remote, maxBytes);
        onOverflow();
      }
      this.chunks.push(chunk);
      this.wake();
    });
    const end = (): void => {
      this.ended = true;
      this.wake();
    };
    stream.on("end", end);
    stream.on("close", end);
    stream.on("error", end);
  }

  unshift(chunk: Buffer): void {
    if (chunk.length > 0) this.chunks.unshift(chunk);
  }

  /** The next chunk, or undefined at EOF. Throws the overflow error once the cap is passed. */
  async read(): Promise<Buffer | undefined> {
    for (;;) {
      if (this.error !== undefined) throw this.error;
      const next = this.chunks.shift();
      if (next !== undefined) return next;
      if (this.ended) return undefined;
      await new Promise<void>((resolve) => (this.waiter = resolve));
    }
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }
}

function pktLine(text: string): Buffer {
  const payload = Buffer.from(text, "utf8");
  return Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, "0"), "latin1"), payload]);
}

function concat(parts: readonly Uint8Array[]): Buffer {
  return Buffer.concat(parts.map((p) => Buffer.from(p.buffer, p.byteOffset, p.byteLength)));
}

async function* once(body: Uint8Array): AsyncGenerator<Uint8Array, void, undefined> {
  yield body;
}

function tail(text: string): string {
  const lines = text.replaceAll("\r", "").trim().split("\n").slice(-3).join("\n");
  return lines.length > 500 ? lines.slice(-500) : lines;
}

function redact(url: string): string {
  try {
    const u = new URL(url);
    u.username = "";
    u.password = "";
    return u.href;
  } catch {
    return "(unparsable URL)";
  }
}
