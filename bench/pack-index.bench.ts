/**
 * What isomorphic-git's pack indexing (GitPackIndex.fromPack and the .idx it writes, as a fetch
 * runs them) costs per object, the number behind pack-guard.ts's maxObjects: for packs of N
 * tiny distinct blobs (the most objects per byte on the wire a server can send), each indexed
 * with `git.indexPack` in a fresh child process, it prints time, the peak heap seen at
 * isomorphic-git's progress callbacks, and the child's max RSS, and what the guard takes to
 * inspect the same pack:
 *   BENCH pack-index-50000 ms=10278 us/object=206 peakHeapMB=92.7 heapB/object=1830 maxRssMB=224.8 guardMs=128
 * Run as `node build/bench/pack-index.bench.js [N…]` (default 10000 50000 100000).
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs, { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { deflateSync } from "node:zlib";
import git from "isomorphic-git";
import { inspectUploadPackResponse, DEFAULT_PACK_LIMITS } from "../agent/src/source/pack-guard.js";
import { uploadPackResponse, objectHeader } from "../test/helpers/pack-bytes.js";

/** tinyBlobPack builds a pack of `n` distinct blobs `blob <i>\n`. */
function tinyBlobPack(n: number): Buffer {
  const head = Buffer.alloc(12);
  head.write("PACK", 0, "latin1");
  head.writeUInt32BE(2, 4);
  head.writeUInt32BE(n, 8);
  const parts: Buffer[] = [head];
  for (let i = 0; i < n; i++) {
    const data = Buffer.from(`blob ${i}\n`);
    parts.push(objectHeader(3, data.length), deflateSync(data));
  }
  const body = Buffer.concat(parts);
  return Buffer.concat([body, createHash("sha1").update(body).digest()]);
}

/** A child: index one pack in a fresh bare repository and print what it cost as JSON. */
async function indexChild(packPath: string): Promise<void> {
  const gitdir = mkdtempSync(join(tmpdir(), "steward-index-"));
  try {
    await git.init({ fs, dir: gitdir, bare: true });
    fs.copyFileSync(packPath, join(gitdir, "objects", "pack", "bench.pack"));
    const base = process.memoryUsage().heapUsed;
    let peak = base;
    const sample = (): void => {
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    };
    const started = performance.now();
    const r = await git.indexPack({ fs, dir: gitdir, gitdir, filepath: "objects/pack/bench.pack", onProgress: sample });
    const ms = performance.now() - started;
    sample();
    process.stdout.write(JSON.stringify({ objects: r.oids.length, ms, baseHeap: base, peakHeap: peak, maxRssKiB: process.resourceUsage().maxRSS }));
  } finally {
    rmSync(gitdir, { recursive: true, force: true });
  }
}

/** A child: how long the guard takes to inspect the pack as an upload-pack response. */
function guardChild(packPath: string): void {
  const response = uploadPackResponse(fs.readFileSync(packPath));
  const started = performance.now();
  const verdict = inspectUploadPackResponse(response, { ...DEFAULT_PACK_LIMITS, maxObjects: Number.MAX_SAFE_INTEGER });
  const ms = performance.now() - started;
  if (!verdict.ok) throw new Error(`the guard refused the bench pack: ${verdict.reason}`);
  process.stdout.write(JSON.stringify({ ms }));
}

/**
 * Every step runs in its own process: Linux hands a child its parent's RSS high-water mark
 * at fork, so a parent that had built or inflated a pack would inflate the child's maxRSS.
 */
function step(...args: string[]): string {
  const out = spawnSync(process.execPath, [fileURLToPath(import.meta.url), ...args], { encoding: "utf8", maxBuffer: 1024 * 1024 });
  if (out.status !== 0) throw new Error(`${args.join(" ")} failed: ${out.stderr}`);
  return out.stdout;
}

function main(sizes: readonly number[]): void {
  const dir = mkdtempSync(join(tmpdir(), "steward-bench-"));
  try {
    for (const n of sizes) {
      const file = join(dir, `tiny-${n}.pack`);
      step("--write", String(n), file);
      const r = JSON.parse(step("--index", file)) as { objects: number; ms: number; baseHeap: number; peakHeap: number; maxRssKiB: number };
      const guard = JSON.parse(step("--guard", file)) as { ms: number };
      const MB = 1024 * 1024;
      process.stdout.write(
        `BENCH pack-index-${n} ms=${r.ms.toFixed(0)} us/object=${((r.ms * 1000) / r.objects).toFixed(0)} peakHeapMB=${(r.peakHeap / MB).toFixed(1)} heapB/object=${((r.peakHeap - r.baseHeap) / r.objects).toFixed(0)} maxRssMB=${(r.maxRssKiB / 1024).toFixed(1)} guardMs=${guard.ms.toFixed(0)}\n`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === "--write") writeFileSync(rest[1] as string, tinyBlobPack(Number(rest[0])));
else if (mode === "--index") await indexChild(rest[0] as string);
else if (mode === "--guard") guardChild(rest[0] as string);
else main(mode === undefined ? [10_000, 50_000, 100_000] : [mode, ...rest].map(Number));
