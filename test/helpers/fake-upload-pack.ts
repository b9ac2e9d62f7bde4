/**
 * A hostile smart-HTTP git server on 127.0.0.1 for tests: it advertises a chosen tip for
 * `refs/heads/main` and answers every upload-pack request with a hand-built pack (made with
 * `git pack-objects` from an explicit object list, so objects can be left out), optionally
 * preceded by `shallow <oid>` lines the client never asked for, or with any other framing
 * (pack-bytes.ts), or any bytes at all. `onUploadPack` runs before the answer is sent (to play
 * a concurrent process). Bounded: request bodies over 1 MiB are cut off, and close() destroys
 * open sockets.
 */
import { execFileSync } from "node:child_process";
import { createServer } from "node:http";
import type { Socket } from "node:net";
import { join } from "node:path";
import { WorkRepo, allowedSigners, git, makeKey, writeAllowedSigners } from "./keys.js";
import { FLUSH, pkt, uploadPackResponse, type Framing } from "./pack-bytes.js";

export interface FakeAnswer {
  /** The oid advertised as refs/heads/main. */
  readonly tip: string;
  /** The pack bytes sent after NAK. */
  readonly pack: Buffer;
  /** Commits declared shallow before the NAK. */
  readonly shallow?: readonly string[];
  /** How the pack is framed (default: NAK, side-band-64k packets, flush, as git upload-pack). */
  readonly framing?: Framing;
  /** The whole upload-pack answer, sent as it is instead of the framed pack. */
  readonly response?: Buffer;
  /** The capabilities advertised (default: those of git upload-pack that isomorphic-git uses). */
  readonly capabilities?: string;
}

export interface FakeUploadPack {
  /** The URL to fetch (any path answers). */
  readonly url: string;
  set(answer: FakeAnswer): void;
  onUploadPack(fn: (() => void) | undefined): void;
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;
const CAPABILITIES = "multi_ack_detailed side-band-64k ofs-delta shallow";

/** packObjects builds a pack holding exactly `oids` (read from the repository at `gitDir`). */
export function packObjects(gitDir: string, oids: readonly string[]): Buffer {
  return execFileSync("git", ["-C", gitDir, "pack-objects", "-q", "--stdout"], { input: `${oids.join("\n")}\n`, maxBuffer: 64 * 1024 * 1024 });
}

/** objectsBetween lists the objects `git rev-list --objects <tip> ^<base>` names (base optional). */
export function objectsBetween(gitDir: string, tip: string, base?: string): string[] {
  const out = execFileSync("git", ["-C", gitDir, "rev-list", "--objects", tip, ...(base === undefined ? [] : [`^${base}`])], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => l.split(" ")[0] as string);
}

/** startFakeUploadPack listens on an ephemeral loopback port. */
export async function startFakeUploadPack(answer: FakeAnswer): Promise<FakeUploadPack> {
  let current = answer;
  let hook: (() => void) | undefined;
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    if (req.method === "GET") {
      req.resume();
      res.writeHead(200, { "content-type": "application/x-git-upload-pack-advertisement" });
      res.end(
        Buffer.concat([
          pkt("# service=git-upload-pack\n"),
          FLUSH,
          pkt(`${current.tip} HEAD\0${current.capabilities ?? CAPABILITIES} symref=HEAD:refs/heads/main\n`),
          pkt(`${current.tip} refs/heads/main\n`),
          FLUSH,
        ]),
      );
      return;
    }
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.socket.destroy();
    });
    req.on("end", () => {
      hook?.();
      res.writeHead(200, { "content-type": "application/x-git-upload-pack-result" });
      const lines = [...(current.shallow ?? []).map((s) => `shallow ${s}\n`), "NAK\n"];
      res.end(current.response ?? uploadPackResponse(current.pack, { lines, chunk: 65000, ...current.framing }));
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/repo.git`,
    set(a) {
      current = a;
    },
    onUploadPack(fn) {
      hook = fn;
    },
    close() {
      for (const s of sockets) s.destroy();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A signed history in which the repo has dropped a key that the node's bootstrap file still lists. */
export interface RemovedKeyHistory {
  readonly work: WorkRepo;
  /** The bootstrap allowed_signers file: admin and the removed key. */
  readonly bootstrap: string;
  /** L (signed by admin, repo trust lists admin only) <- C1 (admin) <- C2 (signed by the removed key). */
  readonly L: string;
  readonly C1: string;
  readonly C2: string;
  /** C2's objects beyond L, without C1's root tree: what a hostile mirror sends. */
  readonly packWithoutC1Tree: Buffer;
}

/** removedKeyHistory builds that history in `dir` with native git and signed commits. */
export function removedKeyHistory(dir: string): RemovedKeyHistory {
  const admin = makeKey(join(dir, "keys"), "admin");
  const revoked = makeKey(join(dir, "keys"), "revoked");
  const bootstrap = writeAllowedSigners(join(dir, "etc", "allowed_signers"), [
    { principal: "admin@x", key: admin },
    { principal: "old@x", key: revoked },
  ]);
  const work = WorkRepo.create(join(dir, "work"));
  work.write("trust/allowed_signers", allowedSigners([{ principal: "admin@x", key: admin }])).write("cluster.yaml", "domain: home.arpa\n");
  const L = work.commit("L", { signer: admin });
  const C1 = work.write("b.txt", "two\n").commit("C1", { signer: admin });
  const C2 = work.write("evil.txt", "evil\n").commit("C2", { signer: revoked });
  const gitDir = join(work.dir, ".git");
  const c1Tree = git(work.dir, ["rev-parse", `${C1}^{tree}`]);
  const packWithoutC1Tree = packObjects(gitDir, objectsBetween(gitDir, C2, L).filter((o) => o !== c1Tree));
  return { work, bootstrap, L, C1, C2, packWithoutC1Tree };
}
