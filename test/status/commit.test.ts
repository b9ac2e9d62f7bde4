/**
 * Status commits in the node's bare repository: signed so that native `git verify-commit`
 * accepts them, the squash rule keeping history bounded, and a full disk or a key that cannot
 * sign leaving the branch where it was.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { StewardError } from "../../agent/src/errors.js";
import type { Executor } from "../../agent/src/exec.js";
import { repoFs, resolveOrUndefined } from "../../agent/src/source/repo.js";
import { pushedRef, readStatusCommit, readStatusTip, rebuildCommits, statusRef, writeStatus, type StatusRepo } from "../../agent/src/status/commit.js";
import { buildStatus, renderStatus } from "../../agent/src/status/document.js";
import { checkSigningKey, sshSigner } from "../../agent/src/status/sign.js";
import { git, makeKey, makeTempDir, removeDir, type SshKey } from "../helpers/keys.js";
import { MINUTE, T0, heartbeatsOn, inputs, logOf, newRepo, report, verifyCommit } from "../helpers/status.js";

let dir: string;
let key: SshKey;
let repos = 0;

before(() => {
  dir = makeTempDir();
  key = makeKey(dir, "alpha");
});

after(() => removeDir(dir));

const fresh = (): Promise<StatusRepo> => newRepo(join(dir, `state${repos++}`), []);

test("a status commit holds the rendered document, is the node's, and passes git verify-commit", async () => {
  const repo = await fresh();
  const { doc, write } = await report(repo, sshSigner(key.private), T0);
  assert.equal(write.action, "committed");
  assert.equal(await resolveOrUndefined(repo.gitdir, statusRef("alpha")), write.oid);
  const oid = write.oid as string;
  assert.equal(git(repo.gitdir, ["show", `${oid}:status/alpha.yaml`]), renderStatus(doc).trimEnd());
  assert.equal(git(repo.gitdir, ["ls-tree", "-r", "--name-only", oid]), "status/alpha.yaml");
  assert.equal(git(repo.gitdir, ["show", "-s", "--format=%an <%ae>|%cn <%ce>|%ct|%s", oid]), `alpha agent <alpha@steward>|alpha agent <alpha@steward>|${T0 / 1000}|status alpha: Ready=True at no revision`);
  const verified = verifyCommit(repo.gitdir, oid, [{ principal: "alpha@steward", key }], dir);
  assert.equal(verified.code, 0, verified.output);
  assert.match(verified.output, /Good "git" signature for alpha@steward/);
  // Another key listed for the node's principal does not make it verify.
  const other = makeKey(dir, "other");
  assert.notEqual(verifyCommit(repo.gitdir, oid, [{ principal: "alpha@steward", key: other }], dir).code, 0);
});

test("the observed state goes next to the report; the same bytes keep a heartbeat a heartbeat, other bytes make a change", async () => {
  const repo = await fresh();
  const signer = sshSigner(key.private);
  const write = async (at: number, observed: string | undefined) => {
    // A fresh cache each time: what the next run reads back from disk, not what it remembers.
    const again = { ...repo, cache: {} };
    const previous = (await readStatusTip(again))?.document;
    return writeStatus(again, buildStatus(previous, inputs(), at), { signer, nowMs: at, heartbeatIntervalMs: 15 * MINUTE, ...(observed === undefined ? {} : { observed }) });
  };
  const first = await write(T0, '{"a": 1}\n');
  assert.equal(first.action, "committed");
  assert.equal(git(repo.gitdir, ["ls-tree", "-r", "--name-only", first.oid as string]), "status/alpha.observed.json\nstatus/alpha.yaml");
  assert.equal(git(repo.gitdir, ["show", `${first.oid as string}:status/alpha.observed.json`]), '{"a": 1}');
  assert.equal((await readStatusTip({ ...repo, cache: {} }))?.observed, '{"a": 1}\n');
  assert.equal((await write(T0 + MINUTE, '{"a": 1}\n')).action, "skipped", "nothing changed, no heartbeat due");
  const changed = await write(T0 + 2 * MINUTE, '{"a": 2}\n');
  assert.deepEqual([changed.action, changed.report], ["committed", "change"]);
  const dropped = await write(T0 + 3 * MINUTE, undefined);
  assert.deepEqual([dropped.action, dropped.report], ["committed", "change"], "a run that could not observe says so by carrying none");
  assert.equal(git(repo.gitdir, ["ls-tree", "-r", "--name-only", dropped.oid as string]), "status/alpha.yaml");
  assert.equal(verifyCommit(repo.gitdir, changed.oid as string, [{ principal: "alpha@steward", key }], dir).code, 0);
});

test("1,000 no-change heartbeats while no remote takes them make two commits, the last heartbeat kept", async () => {
  const repo = await fresh();
  const signer = sshSigner(key.private);
  const actions = new Map<string, number>();
  let last = T0;
  for (let i = 0; i < 1000; i++) {
    last = T0 + i * MINUTE;
    const { write } = await report(repo, signer, last, ["postfix"], 60 * MINUTE);
    actions.set(write.action, (actions.get(write.action) ?? 0) + 1);
  }
  assert.deepEqual(Object.fromEntries(actions), { committed: 2, replaced: 15, skipped: 983 });
  const log = logOf(repo.gitdir, statusRef("alpha"), "%s|%(trailers:key=Steward-Report,valueonly)");
  assert.deepEqual(log.filter((l) => l.trim() !== ""), ["status alpha: Ready=True at no revision|heartbeat", "status alpha: Ready=True at no revision|change"]);
  // The heartbeat kept is the newest one written (at the last interval boundary).
  assert.deepEqual(heartbeatsOn(repo.gitdir, "alpha"), ["2025-01-01T12:00:00Z", "2025-01-02T04:00:00Z"]);
  const tip = await readStatusTip(repo);
  assert.equal(verifyCommit(repo.gitdir, tip?.commit.oid as string, [{ principal: "alpha@steward", key }], dir).code, 0);
});

test("a heartbeat a remote has accepted is never replaced: the next one is a new commit", async () => {
  const repo = await fresh();
  const signer = sshSigner(key.private);
  await report(repo, signer, T0);
  const hb = await report(repo, signer, T0 + 20 * MINUTE);
  assert.equal(hb.write.action, "committed");
  await repoFs.promises.writeFile(join(repo.gitdir, pushedRef("origin")), `${hb.write.oid}\n`);
  const next = await report(repo, signer, T0 + 40 * MINUTE);
  assert.equal(next.write.action, "committed");
  assert.deepEqual((await readStatusCommit(repo, next.write.oid as string)).parents, [hb.write.oid]);
  // Not yet delivered: the one after replaces it.
  const again = await report(repo, signer, T0 + 60 * MINUTE);
  assert.equal(again.write.action, "replaced");
  assert.equal(logOf(repo.gitdir, statusRef("alpha")).length, 3);
});

/** An fs whose writes fail with ENOSPC for the paths `full` matches. */
function fullDisk(full: RegExp): typeof repoFs {
  const enospc = (path: string): Error => Object.assign(new Error(`ENOSPC: no space left on device, open '${path}'`), { code: "ENOSPC", syscall: "open", path });
  return {
    promises: {
      ...repoFs.promises,
      async writeFile(path: string, data: string | Uint8Array, options?: unknown): Promise<void> {
        if (full.test(path)) throw enospc(path);
        await repoFs.promises.writeFile(path, data, options);
      },
    },
  };
}

test("a full disk is STATUS_STATE and leaves the branch and the previous report intact", async () => {
  const repo = await fresh();
  const signer = sshSigner(key.private);
  const first = await report(repo, signer, T0);
  for (const full of [/\/objects\//, /\/refs\/heads\//]) {
    const broken = { ...repo, fs: fullDisk(full) };
    await assert.rejects(
      report(broken, signer, T0 + MINUTE, ["postfix", "dovecot"]),
      (e: unknown) => e instanceof StewardError && e.code === "STATUS_STATE" && e.retry === "transient" && e.data["errno"] === "ENOSPC" && /full/.test(e.hint ?? ""),
    );
    assert.equal(await resolveOrUndefined(repo.gitdir, statusRef("alpha")), first.write.oid, String(full));
  }
  // Space again: the next run writes the report on the same tip.
  const next = await report(repo, signer, T0 + 2 * MINUTE, ["postfix", "dovecot"]);
  assert.deepEqual((await readStatusCommit(repo, next.write.oid as string)).parents, [first.write.oid]);
});

test("a key that cannot sign is STATUS_SIGN and writes no ref", async () => {
  const repo = await fresh();
  await assert.rejects(report(repo, sshSigner(join(dir, "no-such-key")), T0), (e: unknown) => e instanceof StewardError && e.code === "STATUS_SIGN");
  const broken: Executor = {
    run: async (argv) => ({ argv, exitCode: null, stdout: "", stderr: "", timedOut: false, spawnError: "spawn ssh-keygen ENOENT", durationMs: 0 }),
    writeFile: async (path) => ({ argv: ["(write)", path], exitCode: 1, stdout: "", stderr: "not expected", timedOut: false, durationMs: 0 }),
  };
  await assert.rejects(report(repo, sshSigner(key.private, broken), T0), (e: unknown) => e instanceof StewardError && e.code === "STATUS_SIGN" && /install/.test(e.hint ?? ""));
  assert.equal(await resolveOrUndefined(repo.gitdir, statusRef("alpha")), undefined);
});

test("checkSigningKey refuses a missing key, a public key and a passphrase-protected key", async () => {
  await checkSigningKey(key.private);
  const locked = makeKey(dir, "locked");
  execFileSync("ssh-keygen", ["-q", "-p", "-P", "", "-N", "secret", "-f", locked.private], { stdio: "ignore" });
  const pub = join(dir, "pub-only");
  writeFileSync(pub, `${key.publicLine}\n`);
  chmodSync(pub, 0o600);
  for (const path of [join(dir, "missing"), pub, locked.private]) {
    await assert.rejects(checkSigningKey(path), (e: unknown) => e instanceof StewardError && e.code === "STATUS_SIGN", path);
  }
});

test("rebuilt commits keep tree, message and dates, are signed again, and verify", async () => {
  const repo = await fresh();
  const signer = sshSigner(key.private);
  const a = await report(repo, signer, T0, ["a"]);
  const b = await report(repo, signer, T0 + MINUTE, ["b"]);
  const other = await newRepo(join(dir, `state${repos++}`), []);
  const base = (await report(other, signer, T0 - MINUTE, ["x"])).write.oid as string;
  // Bring the other line's commit into this repository, as a fetch would.
  git(repo.gitdir, ["fetch", "-q", other.gitdir, `${statusRef("alpha")}:refs/test/other`]);
  const commits = [await readStatusCommit(repo, a.write.oid as string), await readStatusCommit(repo, b.write.oid as string)];
  const tip = (await rebuildCommits(repo, commits, base, signer)) as string;
  const [bNew, aNew, below] = logOf(repo.gitdir, tip, "%H|%T|%s|%ct|%P").map((l) => l.split("|"));
  const same = (oid: string): string => git(repo.gitdir, ["show", "-s", "--format=%T|%s|%ct", oid]);
  assert.equal(bNew?.slice(1, 4).join("|"), same(b.write.oid as string));
  assert.equal(aNew?.slice(1, 4).join("|"), same(a.write.oid as string));
  assert.deepEqual([bNew?.[4], aNew?.[4], below?.[0]], [aNew?.[0], base, base]);
  for (const oid of logOf(repo.gitdir, tip)) assert.equal(verifyCommit(repo.gitdir, oid, [{ principal: "alpha@steward", key }], dir).code, 0);
  // Rebuilding the same commits on the same parent gives the same commits (ed25519 signs deterministically).
  assert.equal(await rebuildCommits(repo, commits, base, signer), tip);
});
