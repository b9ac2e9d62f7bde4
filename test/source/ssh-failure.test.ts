/**
 * What ssh's stderr says, read from recorded runs (test/fixtures/ssh), and the error an admin
 * is shown for each case.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { parseRemoteUrl, type RemoteSpec } from "../../agent/src/source/remotes.js";
import { readSshFailure, sshFailureError } from "../../agent/src/source/ssh-failure.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "../../../test/fixtures/ssh");

interface Recorded {
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly stderr: string;
  readonly knownHosts: string;
  readonly keygenL: string;
}

function recorded(name: string): { run: Recorded; remote: RemoteSpec } {
  const run = JSON.parse(readFileSync(join(FIXTURES, `${name}.json`), "utf8")) as Recorded;
  const opt = (flag: string): string => run.argv[run.argv.indexOf(flag) + 1] as string;
  const knownHosts = run.argv.find((a) => a.startsWith("UserKnownHostsFile="))?.slice("UserKnownHostsFile=".length);
  const host = run.argv[run.argv.indexOf("--") + 1] as string;
  const url = `ssh://${opt("-l")}@${host}:${opt("-p")}/tmp/ssh-fx/cluster.git`;
  return { run, remote: { name: "origin", url, target: parseRemoteUrl(url), key: opt("-i"), knownHosts } };
}

function errorFor(name: string): { code: string; data: Readonly<Record<string, unknown>>; message: string; hint: string } {
  const { run, remote } = recorded(name);
  const e = sshFailureError(remote, readSshFailure(run.stderr), { exitCode: run.exitCode, stderr: run.stderr, knownHostsText: run.knownHosts });
  return { code: e.code, data: e.data, message: e.message, hint: e.hint ?? "" };
}

for (const c of [
  { fixture: "host-key-changed", kind: "host-key-changed", code: "SOURCE_HOST_KEY", said: /^Host key for \[127\.0\.0\.1\]:\d+ has changed/ },
  { fixture: "host-key-changed-type", kind: "host-key-changed", code: "SOURCE_HOST_KEY", said: /has changed/ },
  { fixture: "host-key-unknown", kind: "host-key-unknown", code: "SOURCE_HOST_KEY", said: /^No ED25519 host key is known for/ },
  { fixture: "host-key-revoked", kind: "host-key-revoked", code: "SOURCE_HOST_KEY", said: /was revoked/ },
  { fixture: "key-refused", kind: "key-refused", code: "SOURCE_AUTH", said: /Permission denied \(publickey\)/ },
  { fixture: "key-missing", kind: "key-unusable", code: "CONFIG_INVALID", said: /not accessible: No such file or directory/ },
  { fixture: "key-bad-permissions", kind: "key-unusable", code: "CONFIG_INVALID", said: /bad permissions/ },
  { fixture: "key-invalid", kind: "key-unusable", code: "CONFIG_INVALID", said: /^Load key/ },
  { fixture: "connection-refused", kind: "unreachable", code: "SOURCE_FETCH_FAILED", said: /Connection refused/ },
  { fixture: "host-unresolved", kind: "unreachable", code: "SOURCE_FETCH_FAILED", said: /Could not resolve hostname/ },
]) {
  test(`${c.fixture}: ${c.kind}, ${c.code}, showing ssh's own line`, () => {
    const { run } = recorded(c.fixture);
    const failure = readSshFailure(run.stderr);
    assert.equal(failure.kind, c.kind);
    assert.match(failure.said, c.said);
    const e = errorFor(c.fixture);
    assert.equal(e.code, c.code);
    assert.equal(e.data["ssh"], failure.said);
  });
}

/** The fingerprint and type `ssh-keygen -lf` printed for the recorded known_hosts. */
function keygenFingerprint(run: Recorded): { fingerprint: string; type: string } {
  const [, fingerprint, , type] = /^\d+ (SHA256:\S+) (\S+) \((\S+)\)$/m.exec(run.keygenL) ?? [];
  return { fingerprint: fingerprint as string, type: type as string };
}

for (const fixture of ["host-key-changed", "host-key-changed-type"]) {
  test(`${fixture}: names the offered fingerprint from ssh and the pinned one as ssh-keygen -lf does`, () => {
    const { run } = recorded(fixture);
    const e = errorFor(fixture);
    const offered = /The fingerprint for the (\S+) key sent by the remote host is\s+(SHA256:[A-Za-z0-9+/]+)/.exec(run.stderr);
    assert.deepEqual(e.data["offered"], { type: offered?.[1], fingerprint: offered?.[2] });
    const pinned = e.data["pinned"] as { line: number; fingerprint: string }[];
    assert.equal(pinned.length, 1);
    assert.equal(pinned[0]?.fingerprint, keygenFingerprint(run).fingerprint);
    assert.equal(pinned[0]?.line, fixture === "host-key-changed-type" ? 2 : 1);
    assert.ok(e.message.includes(keygenFingerprint(run).fingerprint) && e.message.includes(offered?.[2] as string));
  });
}

test("an unpinned host: the hint says how to pin it with ssh-keyscan and to check the fingerprint", () => {
  const { remote } = recorded("host-key-unknown");
  const port = remote.target.kind === "ssh" ? remote.target.port : 0;
  const e = errorFor("host-key-unknown");
  assert.deepEqual(e.data["pinnedHosts"], []);
  assert.ok(e.hint.includes(`ssh-keyscan -p ${port} 127.0.0.1`) && e.hint.includes("ssh-keygen -lf"));
});

test("an unpinned host: names the hosts known_hosts does pin, and counts hashed ones", () => {
  const { run, remote } = recorded("host-key-unknown");
  const text = "# ours\ngit.home.arpa ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMxUsnBRDIusyZUM4PEmhX2dz7c0e8XHFuMXWIo8oLNg\n|1|aGFzaA==|c2FsdA== ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMxUsnBRDIusyZUM4PEmhX2dz7c0e8XHFuMXWIo8oLNg\n";
  const e = sshFailureError(remote, readSshFailure(run.stderr), { exitCode: 255, stderr: run.stderr, knownHostsText: text });
  assert.deepEqual(e.data["pinnedHosts"], ["git.home.arpa"]);
  assert.match(e.message, /git\.home\.arpa, 1 hashed entries/);
});

test("a refused key names the key and the user", () => {
  const { remote } = recorded("key-refused");
  const e = errorFor("key-refused");
  assert.deepEqual([e.data["key"], e.data["user"]], [remote.key, "root"]);
});
