/**
 * A full or read-only state directory is the node's problem, not the remote's: the fetch
 * reports SOURCE_STATE with a free-space or permissions hint, never SOURCE_PROTOCOL, and the
 * node keeps its last applied revision. The state directory is a real tmpfs mounted small (or
 * read-only) for the test, so the errors are the kernel's own. Needs root (CI runs as root).
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { AgentConfig } from "../../agent/src/config.js";
import { silentLogger } from "../../agent/src/log.js";
import { parseRemoteUrl } from "../../agent/src/source/remotes.js";
import { runSource } from "../../agent/src/source/source.js";
import { WorkRepo, allowedSigners, makeBare, makeKey, makeTempDir, removeDir, writeAllowedSigners } from "../helpers/keys.js";

let dir: string;
let bare: string;
let trust: string;
const mounts: string[] = [];

/** mountTmpfs mounts a tmpfs of `kib` KiB at a fresh directory; fails (never skips) without root. */
function mountTmpfs(name: string, kib: number, readOnly = false): string {
  if (process.getuid?.() !== 0) throw new Error("this test mounts a tmpfs and needs root (CI runs as root): run it as root");
  const at = join(dir, name);
  mkdirSync(at, { recursive: true });
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${kib}k${readOnly ? ",ro" : ""}`, "tmpfs", at]);
  mounts.push(at);
  return at;
}

before(() => {
  dir = makeTempDir();
  const admin = makeKey(join(dir, "keys"), "admin");
  trust = writeAllowedSigners(join(dir, "etc", "allowed_signers"), [{ principal: "admin@cluster", key: admin }]);
  bare = makeBare(join(dir, "srv", "cluster.git"));
  const work = WorkRepo.create(join(dir, "work"));
  // About 1 MiB that does not compress: more than the small state file system holds.
  work.write("trust/allowed_signers", allowedSigners([{ principal: "admin@cluster", key: admin }])).write("files/blob.bin", randomBytes(1024 * 1024).toString("base64"));
  work.commit("A", { signer: admin });
  work.push(bare);
});

after(() => {
  for (const m of mounts.reverse()) execFileSync("umount", ["-l", m]);
  removeDir(dir);
});

function config(state: string): AgentConfig {
  return { file: join(dir, "steward.yaml"), node: "alpha", state, branch: "main", trust, timeout: 10, interval: 60, heartbeat: 900, remotes: [{ name: "mirror", url: bare, target: parseRemoteUrl(bare), key: undefined, knownHosts: undefined }] };
}

test("a full state file system is SOURCE_STATE with a free-space hint, not the remote's fault", async () => {
  const state = join(mountTmpfs("full", 512), "state");
  const r = await runSource(config(state), { log: silentLogger });
  assert.equal(r.decision.kind, "hold");
  assert.equal(r.remotes[0]?.error?.code, "SOURCE_STATE", JSON.stringify(r.remotes[0]?.error));
  assert.equal(r.remotes[0]?.error?.data["errno"], "ENOSPC");
  assert.match(r.remotes[0]?.error?.hint ?? "", /free space/);
});

test("a read-only state file system is SOURCE_STATE with a permissions hint", async () => {
  const state = join(mountTmpfs("readonly", 512, true), "state");
  const r = await runSource(config(state), { log: silentLogger });
  assert.equal(r.decision.kind, "hold");
  const reason = r.decision.kind === "hold" ? r.decision.reason : undefined;
  assert.equal(reason?.code, "SOURCE_STATE", JSON.stringify(reason));
  assert.match(reason?.hint ?? "", /permissions/);
});
