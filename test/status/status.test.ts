/**
 * reportStatus, the status step as the agent loop calls it: one report per run from the
 * reconcile's result or what it threw, written, signed and pushed; a node that lost its state
 * continuing the remotes' history; a report that cannot be written still letting the queue out.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import type { AgentConfig } from "../../agent/src/config.js";
import { StewardError } from "../../agent/src/errors.js";
import { silentLogger } from "../../agent/src/log.js";
import type { ReconcileResult } from "../../agent/src/reconcile.js";
import type { RemoteSpec } from "../../agent/src/source/remotes.js";
import { prepareRepo, resolveOrUndefined } from "../../agent/src/source/repo.js";
import { statusRef } from "../../agent/src/status/commit.js";
import { parseStatus } from "../../agent/src/status/document.js";
import { reportStatus, type ReportInput, type StatusContext } from "../../agent/src/status/status.js";
import { startGitHttpServer } from "../helpers/git-http-server.js";
import { WorkRepo, git, makeBare, makeKey, makeTempDir, removeDir, type SshKey } from "../helpers/keys.js";
import { MINUTE, T0, configureServerRepo, logOf, remote, verifyCommit } from "../helpers/status.js";

let dir: string;
let key: SshKey;
let cluster: WorkRepo;
let revision: string;
let n = 0;

before(() => {
  dir = makeTempDir();
  key = makeKey(dir, "alpha");
  cluster = WorkRepo.create(join(dir, "cluster"));
  revision = cluster.write("cluster.yaml", "domain: home.arpa\n").commit("the cluster", { date: "@1735689600 +0000" });
});

after(() => removeDir(dir));

function server(): string {
  const bare = makeBare(join(dir, `srv${n++}.git`));
  configureServerRepo(bare);
  cluster.push(bare);
  return bare;
}

function config(state: string, remotes: readonly RemoteSpec[]): AgentConfig {
  return { file: join(dir, "steward.yaml"), node: "alpha", state, branch: "main", trust: join(dir, "allowed_signers"), timeout: 10, interval: 60, heartbeat: 900, remotes };
}

function context(cfg: AgentConfig, at: () => number, over: Partial<StatusContext> = {}): StatusContext {
  return { config: cfg, signingKey: key.private, agentVersion: "0.1.0", log: silentLogger, now: at, heartbeatIntervalMs: 15 * MINUTE, ...over };
}

/** A reconcile that kept `revision` and ran one action, failed or not. */
function reconcile(cfg: AgentConfig, failed: boolean): ReconcileResult {
  const outcome = failed ? { action: "zfs.create:tank/a", status: "failed", code: "EXEC_FAILED", message: "zfs create failed", argv: ["zfs"], exitCode: 1, stderr: "", durationMs: 1 } : { action: "zfs.create:tank/a", status: "applied", durationMs: 1 };
  return {
    source: { decision: { kind: "unchanged", revision }, lastApplied: revision, remotes: cfg.remotes.map((r) => ({ name: r.name, kind: r.target.kind, location: r.url, ok: true, tip: revision, standing: "current", ms: 1 })), verifications: [], gitdir: "", cache: {} },
    target: { revision, desired: {}, diagnostics: [] },
    run: { plan: { actions: [{ id: "zfs.create:tank/a", resource: "zfs:tank/a", cause: "missing" }], findings: [], blocked: [] }, result: { ok: !failed, outcomes: [outcome] }, interrupted: undefined },
  } as unknown as ReconcileResult;
}

const host = { architecture: "amd64", osVersion: "14.1-RELEASE", pools: [{ name: "zroot", health: "ONLINE", freeBytes: 1 }] };
const input = (r: ReconcileResult | undefined, error?: unknown): ReportInput => ({ ...(r === undefined ? {} : { reconcile: r }), ...(error === undefined ? {} : { error }), services: [{ jail: "mail", service: "postfix", running: true }], host });

function documentOn(bare: string): ReturnType<typeof parseStatus> {
  return parseStatus(git(bare, ["show", "refs/heads/status/alpha:status/alpha.yaml"]));
}

test("one report per run: written, signed and pushed; since carried; heartbeats only when due", async () => {
  const bare = server();
  const cfg = config(join(dir, `state${n++}`), [remote("origin", bare)]);
  const gitdir = join(cfg.state, "source", "repo.git");
  // What the source step leaves behind: the repository, with the revision in force.
  await prepareRepo(gitdir, cfg.remotes, "main");
  git(gitdir, ["fetch", "-q", bare, "refs/heads/main:refs/remotes/origin/main"]);
  let now = T0;
  const ctx = context(cfg, () => now);

  const r1 = await reportStatus(ctx, input(reconcile(cfg, true)));
  assert.equal(r1.commit.action, "committed");
  assert.deepEqual(r1.pushes.map((p) => p.status), ["pushed"]);
  const d1 = documentOn(bare);
  assert.deepEqual(d1?.conditions.map((c) => `${c.type}:${c.status}:${c.reason}`), ["Ready:False:ApplyFailed", "ApplyFailed:True:ActionFailed"]);
  assert.equal(d1?.lastAppliedRevision, revision);

  now = T0 + 5 * MINUTE;
  const r2 = await reportStatus(ctx, input(reconcile(cfg, true)));
  assert.equal(r2.commit.action, "skipped");
  assert.deepEqual(r2.pushes.map((p) => p.status), ["up-to-date"]);

  now = T0 + 20 * MINUTE;
  const r3 = await reportStatus(ctx, input(reconcile(cfg, true)));
  assert.ok(r3.commit.action === "committed" && r3.commit.report === "heartbeat");
  const d3 = documentOn(bare);
  assert.equal(d3?.heartbeat, "2025-01-01T12:20:00Z");
  assert.deepEqual(d3?.conditions.map((c) => c.since), ["2025-01-01T12:00:00Z", "2025-01-01T12:00:00Z"]);
  assert.equal(d3?.changedAt, "2025-01-01T12:00:00Z");

  now = T0 + 21 * MINUTE;
  const r4 = await reportStatus(ctx, input(reconcile(cfg, false)));
  assert.ok(r4.commit.action === "committed" && r4.commit.report === "change");
  const d4 = documentOn(bare);
  assert.deepEqual(d4?.conditions.map((c) => `${c.type}:${c.status}:${c.since}`), ["Ready:True:2025-01-01T12:21:00Z"]);
  assert.deepEqual(d4?.source.newestCommit, { revision, committedAt: "2025-01-01T00:00:00Z", ageSeconds: 44_460 });
  assert.equal(logOf(bare, "refs/heads/status/alpha").length, 3);
  assert.equal(await resolveOrUndefined(gitdir, statusRef("alpha")), git(bare, ["rev-parse", "refs/heads/status/alpha"]));
  for (const oid of logOf(bare, "refs/heads/status/alpha")) assert.equal(verifyCommit(bare, oid, [{ principal: "alpha@steward", key }], dir).code, 0);
});

test("what the reconcile threw is the report: APPLY_LOCKED is ApplyFailed, the revisions kept", async () => {
  const bare = server();
  const cfg = config(join(dir, `state${n++}`), [remote("origin", bare)]);
  let now = T0;
  await reportStatus(context(cfg, () => now), input(reconcile(cfg, false)));
  now = T0 + MINUTE;
  const r = await reportStatus(context(cfg, () => now), input(undefined, new StewardError("APPLY_LOCKED", "another apply runs", { retry: "transient" })));
  assert.equal(r.commit.action, "committed");
  assert.deepEqual(r.document?.conditions.map((c) => `${c.type}:${c.reason}:${c.message}`), ["Ready:ApplyFailed:another apply runs", "ApplyFailed:ApplyLocked:another apply runs"]);
  assert.equal(r.document?.lastAppliedRevision, revision);
});

test("a node that lost its state continues the history its remotes have, by fast-forward", async () => {
  const bare = server();
  let now = T0;
  const before = config(join(dir, `state${n++}`), [remote("origin", bare)]);
  await reportStatus(context(before, () => now), input(reconcile(before, false)));
  const old = git(bare, ["rev-parse", "refs/heads/status/alpha"]);
  // A new state directory: no local branch, no markers.
  const after = config(join(dir, `state${n++}`), [remote("origin", bare)]);
  now = T0 + MINUTE;
  const r = await reportStatus(context(after, () => now), input(reconcile(after, true)));
  assert.ok(r.commit.action === "committed" && r.commit.previous === old, JSON.stringify(r.commit));
  assert.ok(r.pushes[0]?.status === "pushed" && !r.pushes[0].rebuilt && r.pushes[0].commits === 1, JSON.stringify(r.pushes));
  assert.deepEqual(logOf(bare, "refs/heads/status/alpha").slice(1), [old]);
  // The previous report's conditions were read from the remote's branch: Ready's since is new, the doc continues.
  assert.equal(r.document?.conditions[0]?.since, "2025-01-01T12:01:00Z");
});

test("a report that cannot be written is a result, and the reports already queued still go out", async () => {
  const bare = server();
  const http = await startGitHttpServer(dir, { remoteUser: "alpha" });
  try {
    const cfg = config(join(dir, `state${n++}`), [remote("origin", http.url(bare.slice(dir.length + 1)))]);
    let now = T0;
    http.setFault("down");
    const r1 = await reportStatus(context(cfg, () => now), input(reconcile(cfg, true)));
    now = T0 + MINUTE;
    const r2 = await reportStatus(context(cfg, () => now), input(reconcile(cfg, false)));
    for (const r of [r1, r2]) assert.ok(r.commit.action === "committed" && r.pushes[0]?.status === "failed" && r.pushes[0].error.code === "STATUS_PUSH", JSON.stringify(r));
    http.setFault("none");
    now = T0 + 2 * MINUTE;
    const r3 = await reportStatus(context(cfg, () => now, { signingKey: join(dir, "no-such-key") }), input(reconcile(cfg, true)));
    assert.ok(r3.commit.action === "failed" && r3.commit.error.code === "STATUS_SIGN", JSON.stringify(r3.commit));
    assert.ok(r3.pushes[0]?.status === "pushed" && r3.pushes[0].commits === 2, JSON.stringify(r3.pushes));
    assert.deepEqual(documentOn(bare)?.conditions.map((c) => c.type), ["Ready"]);
  } finally {
    await http.close();
  }
});

test("an admin's note on top of the branch: a node without state continues the report below it", async () => {
  const bare = server();
  let now = T0;
  const first = config(join(dir, `state${n++}`), [remote("origin", bare)]);
  await reportStatus(context(first, () => now), input(reconcile(first, true)));
  const work = WorkRepo.create(join(dir, `note${n++}`));
  git(work.dir, ["fetch", "-q", bare, "refs/heads/status/alpha"]);
  work.checkout(["-q", "FETCH_HEAD"]).write("NOTE", "disk replaced\n");
  const note = work.commit("note from an admin");
  work.push(bare, { branch: "status/alpha" });
  const second = config(join(dir, `state${n++}`), [remote("origin", bare)]);
  now = T0 + 30 * MINUTE;
  const r = await reportStatus(context(second, () => now), input(reconcile(second, true)));
  assert.ok(r.commit.action === "committed" && r.commit.previous === note && r.commit.report === "change", JSON.stringify(r.commit));
  assert.deepEqual(r.document?.conditions.map((c) => c.since), ["2025-01-01T12:00:00Z", "2025-01-01T12:00:00Z"]);
  assert.ok(r.pushes[0]?.status === "pushed" && !r.pushes[0].rebuilt, JSON.stringify(r.pushes));
});
