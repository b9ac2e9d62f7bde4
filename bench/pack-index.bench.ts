/**
 * What isomorphic-git's pack indexing (GitPackIndex.fromPack and the .idx it writes, as a fetch
 * runs them) costs per object, the number behind pack-guard.ts's maxObjects: for packs of N
 * tiny distinct blobs (the most objects per byte on the wire a server can send), each indexed
 * with `git.indexPack` in a fresh child process, it prints time, the peak heap seen at
 * isomorphic-git's progress callbacks, and the child's max RSS, and what the guard takes to
 * inspect the same pack, as the guard's cost against the indexing it protects:
 *   # pack-index-15000: 1.4 s, 160 us/object, peak heap 40.2 MB, 1830 B/object, max RSS 150.8 MB
 *   BENCH pack-guard-15000 steward=80ms baseline=isomorphic-git-indexPack:3100ms ratio=38.75
 * Run as `node build/bench/pack-index.bench.js [N…]` (default: the object limit, 15,000).
 */
import { spawnSync } from "node:child_process";
import fs, { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import git from "isomorphic-git";
import { inspectUploadPackResponse, DEFAULT_PACK_LIMITS } from "../agent/src/source/pack-guard.js";
import { tinyBlobPack, uploadPackResponse } from "../test/helpers/pack-bytes.js";

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
        `# pack-index-${n}: ${(r.ms / 1000).toFixed(1)} s, ${((r.ms * 1000) / r.objects).toFixed(0)} us/object, peak heap ${(r.peakHeap / MB).toFixed(1)} MB, ${((r.peakHeap - r.baseHeap) / r.objects).toFixed(0)} B/object, max RSS ${(r.maxRssKiB / 1024).toFixed(1)} MB\n`,
      );
      process.stdout.write(`BENCH pack-guard-${n} steward=${guard.ms.toFixed(0)}ms baseline=isomorphic-git-indexPack:${r.ms.toFixed(0)}ms ratio=${(r.ms / guard.ms).toFixed(2)}\n`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const [mode, ...rest] = process.argv.slice(2);
if (mode === "--write") writeFileSync(rest[1] as string, tinyBlobPack(Number(rest[0])).pack);
else if (mode === "--index") await indexChild(rest[0] as string);
else if (mode === "--guard") guardChild(rest[0] as string);
else main(mode === undefined ? [DEFAULT_PACK_LIMITS.maxObjects - 2] : [mode, ...rest].map(Number));
