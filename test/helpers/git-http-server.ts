/**
 * A git smart-HTTP server on 127.0.0.1 for tests: node's http server running `git
 * http-backend` per request as a CGI (git-http-backend(1)), with fault modes to play a broken server:
 * - `down`:      every connection is reset at once;
 * - `garbage`:   200 with random bytes;
 * - `truncated`: the upload-pack answer is cut in the middle of a pkt-line (the response ends cleanly);
 * - `cut-pack`:  the upload-pack answer is cut at a pkt-line boundary inside the pack data, so
 *                the protocol framing looks complete and only the pack is short;
 * - `hang`:      requests are accepted and never answered;
 * - `401`:       every request is refused with 401.
 * With `remoteUser`, every request runs as that authenticated user (REMOTE_USER), which is what
 * makes http-backend accept pushes (git-receive-pack) and what the server's hooks see; given as
 * a function of the client's address, it plays a server that knows its clients by address (a
 * test network where each host has its own, test/helpers/netns.ts).
 * Test code: uses node:child_process directly.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";

export type Fault = "none" | "down" | "garbage" | "truncated" | "cut-pack" | "hang" | "401";

export interface GitHttpServer {
  readonly port: number;
  /** The URL of the repository `<root>/<name>`. */
  url(name: string): string;
  setFault(fault: Fault): void;
  /** Requests received so far (including faulted ones). */
  readonly requests: number;
  close(): Promise<void>;
}

export interface GitHttpServerOptions {
  /**
   * Set REMOTE_USER on every request (or on those whose client address the function names a
   * user for): http-backend then serves git-receive-pack too.
   */
  readonly remoteUser?: string | ((clientAddress: string) => string | undefined);
  /** The address to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** The port (default: an ephemeral one). */
  readonly port?: number;
}

/** startGitHttpServer serves the bare repositories under `root` (on an ephemeral loopback port unless told). */
export async function startGitHttpServer(root: string, options: GitHttpServerOptions = {}): Promise<GitHttpServer> {
  let fault: Fault = "none";
  let requests = 0;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    requests += 1;
    switch (fault) {
      case "down":
        req.socket.destroy();
        return;
      case "hang":
        return;
      case "401":
        res.writeHead(401, { "WWW-Authenticate": 'Basic realm="git"', "Content-Type": "text/plain" });
        res.end("authentication required\n");
        return;
      case "garbage": {
        const ct = req.method === "GET" ? "application/x-git-upload-pack-advertisement" : "application/x-git-upload-pack-result";
        req.resume();
        res.writeHead(200, { "Content-Type": ct });
        res.end(randomBytes(4096));
        return;
      }
      default:
        cgi(root, req, res, req.method === "POST" && (fault === "truncated" || fault === "cut-pack") ? fault : undefined, options.remoteUser);
    }
  });
  server.on("connection", (socket) => {
    if (fault === "down") {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no address");
  const port = address.port;
  return {
    port,
    url: (name) => `http://${host}:${port}/${name}`,
    setFault: (f) => {
      fault = f;
      // Clients keep connections alive: a server that goes down drops them too.
      if (f === "down") for (const s of sockets) s.destroy();
    },
    get requests() {
      return requests;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function cgi(root: string, req: IncomingMessage, res: ServerResponse, cut: "truncated" | "cut-pack" | undefined, users: GitHttpServerOptions["remoteUser"]): void {
  const url = new URL(req.url ?? "/", "http://127.0.0.1");
  const client = (req.socket.remoteAddress ?? "127.0.0.1").replace(/^::ffff:/, "");
  const remoteUser = typeof users === "function" ? users(client) : users;
  const env: Record<string, string> = {
    PATH: process.env["PATH"] ?? "/usr/bin:/bin",
    HOME: root,
    GIT_CONFIG_NOSYSTEM: "1",
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: "1",
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.replace(/^\?/, ""),
    REQUEST_METHOD: req.method ?? "GET",
    REMOTE_ADDR: client,
    ...(remoteUser === undefined ? {} : { REMOTE_USER: remoteUser }),
  };
  const header = (name: string): string | undefined => {
    const v = req.headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  for (const [cgiName, name] of [["CONTENT_TYPE", "content-type"], ["CONTENT_LENGTH", "content-length"], ["HTTP_CONTENT_ENCODING", "content-encoding"], ["HTTP_GIT_PROTOCOL", "git-protocol"]] as const) {
    const v = header(name);
    if (v !== undefined) env[cgiName] = v;
  }
  const child = spawn("git", ["http-backend"], { env, stdio: ["pipe", "pipe", "ignore"] });
  req.pipe(child.stdin);
  child.stdin.on("error", () => {});
  const chunks: Buffer[] = [];
  child.stdout.on("data", (c: Buffer) => chunks.push(c));
  child.on("error", () => {
    if (!res.headersSent) res.writeHead(500).end();
  });
  child.on("close", () => {
    const out = Buffer.concat(chunks);
    let split = out.indexOf("\r\n\r\n");
    let sep = 4;
    if (split === -1) {
      split = out.indexOf("\n\n");
      sep = 2;
    }
    if (split === -1) {
      res.writeHead(502).end();
      return;
    }
    let status = 200;
    const headers: Record<string, string> = {};
    for (const line of out.subarray(0, split).toString("latin1").split(/\r?\n/)) {
      const i = line.indexOf(":");
      if (i <= 0) continue;
      const name = line.slice(0, i).trim();
      const value = line.slice(i + 1).trim();
      if (name.toLowerCase() === "status") status = Number.parseInt(value, 10);
      else headers[name] = value;
    }
    let body = out.subarray(split + sep);
    if (cut === "truncated") body = body.subarray(0, Math.floor(body.length * 0.6));
    if (cut === "cut-pack") body = body.subarray(0, pktBoundaryNear(body, 0.6));
    res.writeHead(status, headers);
    res.end(body);
  });
}

/** The offset of the first pkt-line boundary at or after `fraction` of the body. */
function pktBoundaryNear(body: Buffer, fraction: number): number {
  let at = 0;
  while (at + 4 <= body.length) {
    const len = Number.parseInt(body.subarray(at, at + 4).toString("latin1"), 16);
    const next = at + (len === 0 ? 4 : len);
    if (!Number.isFinite(len) || next > body.length) return at;
    at = next;
    if (at >= body.length * fraction) return at;
  }
  return at;
}
