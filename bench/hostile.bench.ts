/**
 * What the worst hostile pack found within Steward's limits costs a node (pack-guard.ts
 * DEFAULT_PACK_LIMITS: 15,000 tiny objects with fifteen 4 MiB blobs of zeros, 0.5 MB on the
 * wire): the peak RSS of a whole `steward fetch` process (fetch worker included) against native
 * `git fetch` of the same pack from the same fake server, in the same run. Steward refuses it
 * (unsigned); git stores it. Peak RSS from /proc VmHWM (peak-rss.ts) and GNU time's %M.
 * Prints `BENCH fetch-hostile-peak-rss steward=<MiB>MiB baseline=git-fetch:<MiB>MiB ratio=…`.
 */
import { execFile, execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DEFAULT_PACK_LIMITS } from "../agent/src/source/pack-guard.js";
import { startFakeUploadPack } from "../test/helpers/fake-upload-pack.js";
import { makeBare, makeKey, makeTempDir, removeDir, writeAllowedSigners } from "../test/helpers/keys.js";
import { bigBlobPack } from "../test/helpers/pack-bytes.js";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const CLI_MAIN = join(REPO_ROOT, "build/agent/src/cli/main.js");
const PEAK_RSS = join(REPO_ROOT, "build/test/helpers/peak-rss.js");

async function main(): Promise<void> {
  const dir = makeTempDir("steward-bench-hostile-");
  const server = await startFakeUploadPack(bigBlobPack(15, DEFAULT_PACK_LIMITS.maxObjectBytes - 1024, false, DEFAULT_PACK_LIMITS.maxObjects - 100));
  try {
    const trust = writeAllowedSigners(join(dir, "allowed_signers"), [{ principal: "admin@cluster", key: makeKey(join(dir, "keys"), "admin") }]);
    const config = join(dir, "steward.yaml");
    writeFileSync(config, ["node: alpha", `state: ${join(dir, "state")}`, `trust: ${trust}`, "timeout: 60", "remotes:", "  - name: origin", `    url: ${server.url}`, ""].join("\n"));
    const rssFile = join(dir, "steward.rss");
    // Asynchronous children: the fake server answers from this process.
    const steward = await run(process.execPath, ["--import", PEAK_RSS, CLI_MAIN, "fetch", "--config", config, "--json"], { STEWARD_TEST_RSS_FILE: rssFile });
    const decision = (JSON.parse(steward.stdout) as { decision: { kind: string } }).decision.kind;
    if (decision !== "hold") throw new Error(`steward did not refuse the pack: ${steward.stdout}`);
    const stewardMiB = Number(readFileSync(rssFile, "utf8")) / 1024;
    const native = makeBare(join(dir, "native.git"));
    const timeFile = join(dir, "git.time");
    await run("/usr/bin/time", ["-f", "%M", "-o", timeFile, "git", "-C", native, "fetch", "-q", server.url, "+refs/heads/main:refs/remotes/origin/main"], { GIT_CONFIG_NOSYSTEM: "1", HOME: dir });
    const gitMiB = Number(readFileSync(timeFile, "utf8").trim().split("\n").pop()) / 1024;
    if (execFileSync("git", ["-C", native, "rev-parse", "refs/remotes/origin/main"], { encoding: "utf8" }).trim() === "") throw new Error("git fetch stored nothing");
    console.log(`BENCH fetch-hostile-peak-rss steward=${stewardMiB.toFixed(0)}MiB baseline=git-fetch:${gitMiB.toFixed(0)}MiB ratio=${(gitMiB / stewardMiB).toFixed(2)}`);
  } finally {
    await server.close();
    removeDir(dir);
  }
}

function run(program: string, args: readonly string[], env: Record<string, string>): Promise<{ stdout: string }> {
  return new Promise((resolve, reject) => {
    execFile(program, [...args], { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (error, stdout) => {
      // steward fetch exits 1 when it holds: that is the expected answer here.
      if (error !== null && (error as { code?: unknown }).code !== 1) reject(error);
      else resolve({ stdout });
    });
  });
}
main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
