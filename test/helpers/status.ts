/**
 * Shared pieces of the status tests: a node's state directory with its bare repository, a
 * report's inputs, documents that differ (a change) or not (a heartbeat), and native git
 * checks of what a server received. Test code: runs git directly.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { join } from "node:path";
import { buildStatus, type StatusDocument, type StatusInputs } from "../../agent/src/status/document.js";
import { readStatusTip, writeStatus, type StatusRepo, type WriteResult } from "../../agent/src/status/commit.js";
import { prepareRepo } from "../../agent/src/source/repo.js";
import { parseRemoteUrl, type RemoteSpec } from "../../agent/src/source/remotes.js";
import type { Signer } from "../../agent/src/status/sign.js";
import { git, writeAllowedSigners, type SshKey } from "./keys.js";

export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
export const MINUTE = 60_000;

/** remote makes a RemoteSpec from a URL (ssh options when given). */
export function remote(name: string, url: string, extra: Partial<RemoteSpec> = {}): RemoteSpec {
  return { name, url, target: parseRemoteUrl(url), key: undefined, knownHosts: undefined, ...extra };
}

/** newRepo prepares `<state>/source/repo.git` as the source step would, and returns the node's StatusRepo. */
export async function newRepo(state: string, remotes: readonly RemoteSpec[], node = "alpha"): Promise<StatusRepo> {
  const gitdir = join(state, "source", "repo.git");
  await prepareRepo(gitdir, remotes, "main");
  return { gitdir, node, cache: {} };
}

/** The inputs of a report whose only variable part is the services that run. */
export function inputs(services: readonly string[] = ["postfix"], node = "alpha"): StatusInputs {
  return {
    node,
    agentVersion: "0.1.0",
    services: services.map((s) => ({ jail: "mail", service: s, running: true })),
    host: { architecture: "amd64", osVersion: "14.1-RELEASE", pools: [{ name: "zroot", health: "ONLINE", freeBytes: 5_000_000 }] },
  };
}

/**
 * report builds the next document on the local branch's tip and writes it: what the status
 * step does in one run, without pushing.
 */
export async function report(repo: StatusRepo, signer: Signer, at: number, services: readonly string[] = ["postfix"], heartbeatIntervalMs = 15 * MINUTE): Promise<{ doc: StatusDocument; write: WriteResult }> {
  const previous = (await readStatusTip(repo))?.document;
  const doc = buildStatus(previous, inputs(services, repo.node), at);
  return { doc, write: await writeStatus(repo, doc, { signer, nowMs: at, heartbeatIntervalMs }) };
}

/** commitsOn lists `ref` of a repository, newest first, as `oid subject` lines (first-parent). */
export function logOf(gitdir: string, ref: string, format = "%H"): string[] {
  const out = git(gitdir, ["log", "--first-parent", `--format=${format}`, ref]);
  return out === "" ? [] : out.split("\n");
}

/** heartbeatsOn reads the `heartbeat:` of every document on a branch, oldest first. */
export function heartbeatsOn(gitdir: string, node: string, ref = `refs/heads/status/${node}`): string[] {
  return logOf(gitdir, ref)
    .reverse()
    .flatMap((oid) => {
      const r = spawnSync("git", ["-C", gitdir, "show", `${oid}:status/${node}.yaml`], { encoding: "utf8" });
      const m = /^heartbeat: (.*)$/m.exec(r.stdout);
      return m === null ? [] : [m[1] as string];
    });
}

/**
 * verifyCommit runs native `git verify-commit` in `gitdir` with an allowed_signers file naming
 * `<node>@steward` for the key, and returns its exit code and output.
 */
export function verifyCommit(gitdir: string, oid: string, signers: readonly { principal: string; key: SshKey }[], dir: string): { code: number; output: string } {
  const file = writeAllowedSigners(join(dir, `allowed_signers-${signers.map((s) => s.principal).join("-")}`), signers);
  const r = spawnSync("git", ["-C", gitdir, "-c", "gpg.format=ssh", "-c", `gpg.ssh.allowedSignersFile=${file}`, "verify-commit", "-v", oid], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: dir, GIT_CONFIG_NOSYSTEM: "1" },
  });
  return { code: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

/** configureServerRepo makes a bare repository refuse rewrites and deletions, as a real server should. */
export function configureServerRepo(gitdir: string): void {
  for (const setting of ["receive.denyNonFastForwards", "receive.denyDeletes"]) execFileSync("git", ["-C", gitdir, "config", setting, "true"]);
}
