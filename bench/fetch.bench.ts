/**
 * Fetch cost: Steward's fetch (isomorphic-git through the http seam, in the agent's fetch
 * worker thread, warm: a one-shot CLI also pays the worker's start, about 0.15 s, once) against
 * native `git fetch` (a process per fetch, as an operator would run it) from the same loopback
 * server in the same run, over HTTP (git http-backend) and SSH (sshd + git-shell).
 * Prints one line per case, median of RUNS:
 *   BENCH fetch-noop-http steward=12.3ms baseline=git-fetch:30.1ms ratio=2.45
 * ratio = baseline / steward (above 1: Steward is faster).
 */
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import type { FetchOptions } from "../agent/src/source/fetch.js";
import { FetchIsolate } from "../agent/src/source/fetch-isolated.js";
import { parseRemoteUrl, type RemoteSpec } from "../agent/src/source/remotes.js";
import { prepareRepo } from "../agent/src/source/repo.js";
import { startGitHttpServer } from "../test/helpers/git-http-server.js";
import { WorkRepo, git, makeBare, makeTempDir, removeDir } from "../test/helpers/keys.js";
import { startSshd, type Sshd } from "../test/helpers/sshd.js";

const RUNS = 7;
const run = promisify(execFile);
const HISTORY = 40;

interface Transport {
  readonly name: "http" | "ssh";
  readonly remote: RemoteSpec;
  /** URL and environment for native git. */
  readonly nativeUrl: string;
  readonly nativeEnv: Record<string, string>;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function line(name: string, steward: number, baseline: number): string {
  return `BENCH ${name} steward=${steward.toFixed(1)}ms baseline=git-fetch:${baseline.toFixed(1)}ms ratio=${(baseline / steward).toFixed(2)}`;
}

async function main(): Promise<void> {
  const dir = makeTempDir("steward-bench-");
  const srv = join(dir, "srv");
  const bare = makeBare(join(srv, "cluster.git"));
  const work = WorkRepo.create(join(dir, "work"));
  for (let i = 0; i < HISTORY; i++) {
    work.write(`services/s${i % 8}.yaml`, `node: alpha\nrevision: ${i}\n`).write("cluster.yaml", `domain: home.arpa\nserial: ${i}\n`).commit(`change ${i}`);
  }
  work.push(bare);
  const http = await startGitHttpServer(srv);
  let sshd: Sshd | undefined;
  try {
    sshd = await startSshd(join(dir, "sshd"));
  } catch (e) {
    process.stderr.write(`bench: ssh cases not run: ${e instanceof Error ? e.message : String(e)}\n`);
  }
  const transports: Transport[] = [
    { name: "http", remote: spec("origin", http.url("cluster.git")), nativeUrl: http.url("cluster.git"), nativeEnv: {} },
  ];
  if (sshd !== undefined) {
    const sshCommand = `ssh -F /dev/null -i ${sshd.clientKey.private} -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes -o UserKnownHostsFile=${sshd.knownHosts} -o LogLevel=ERROR`;
    transports.push({
      name: "ssh",
      remote: spec("origin", sshd.url(bare), { key: sshd.clientKey.private, knownHosts: sshd.knownHosts }),
      nativeUrl: sshd.url(bare),
      nativeEnv: { GIT_SSH_COMMAND: sshCommand },
    });
  }
  const lines: string[] = [];
  // As the agent does: one worker serves every fetch (the idle limit is longer than a run here).
  const isolate = new FetchIsolate({ idleMs: 60_000 });
  try {
    for (const t of transports) {
      const gitdir = join(dir, `steward-${t.name}.git`);
      await prepareRepo(gitdir, [t.remote], "main");
      const options: FetchOptions = { gitdir, cache: {}, branch: "main", timeoutMs: 30_000 };
      const native = makeBare(join(dir, `native-${t.name}.git`));
      // Asynchronous: the HTTP server runs in this process and must keep answering.
      const nativeFetch = async (): Promise<number> => {
        const started = performance.now();
        await run("git", ["-c", "gc.auto=0", "fetch", "-q", "--no-tags", t.nativeUrl, "+refs/heads/main:refs/remotes/origin/main"], {
          cwd: native,
          env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: native, GIT_CONFIG_NOSYSTEM: "1", ...t.nativeEnv },
          timeout: 30_000,
        });
        return performance.now() - started;
      };
      const stewardFetch = async (): Promise<number> => {
        const started = performance.now();
        const o = await isolate.fetch(t.remote, options);
        const ms = performance.now() - started;
        if (!o.ok) throw new Error(`steward fetch over ${t.name} failed: ${o.error.code} ${o.error.message}`);
        return ms;
      };
      // Initial clone for both, untimed.
      await stewardFetch();
      await nativeFetch();
      const noop = { steward: [] as number[], native: [] as number[] };
      for (let i = 0; i < RUNS; i++) {
        noop.steward.push(await stewardFetch());
        noop.native.push(await nativeFetch());
      }
      const incremental = { steward: [] as number[], native: [] as number[] };
      for (let i = 0; i < RUNS; i++) {
        work.write("cluster.yaml", `domain: home.arpa\nbench: ${t.name}-${i}\n`).commit(`bench ${t.name} ${i}`);
        work.push(bare);
        incremental.steward.push(await stewardFetch());
        incremental.native.push(await nativeFetch());
      }
      if (git(native, ["rev-parse", "refs/remotes/origin/main"]) !== work.head()) throw new Error("native fetch did not reach the tip");
      lines.push(line(`fetch-noop-${t.name}`, median(noop.steward), median(noop.native)));
      lines.push(line(`fetch-incremental-${t.name}`, median(incremental.steward), median(incremental.native)));
    }
  } finally {
    await isolate.close();
    await http.close();
    await sshd?.close();
    removeDir(dir);
  }
  for (const l of lines) process.stdout.write(`${l}\n`);
}

function spec(name: string, url: string, extra: Partial<RemoteSpec> = {}): RemoteSpec {
  return { name, url, target: parseRemoteUrl(url), key: undefined, knownHosts: undefined, ...extra };
}

await main();
