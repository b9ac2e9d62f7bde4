import assert from "node:assert/strict";
import { test } from "node:test";
import { StewardError } from "../../agent/src/errors.js";
import { bridgeArgv, bridgeUrl, isBranchName, localReceivePackArgv, localUploadPackArgv, parseRemoteUrl, quoteForGitShell, sshReceivePackArgv, sshUploadPackArgv, type RemoteSpec } from "../../agent/src/source/remotes.js";

for (const c of [
  { name: "reads an https URL without its trailing slash", url: "https://git.home.arpa/cluster.git/", want: { kind: "http", url: "https://git.home.arpa/cluster.git" } },
  { name: "reads an http URL with a port", url: "http://127.0.0.1:8080/cluster.git", want: { kind: "http", url: "http://127.0.0.1:8080/cluster.git" } },
  { name: "reads an ssh URL with user and port", url: "ssh://git@git.home.arpa:2222/srv/git/cluster.git", want: { kind: "ssh", user: "git", host: "git.home.arpa", port: 2222, path: "/srv/git/cluster.git" } },
  { name: "reads an ssh URL without user or port", url: "ssh://git.home.arpa/srv/cluster.git", want: { kind: "ssh", user: undefined, host: "git.home.arpa", port: undefined, path: "/srv/cluster.git" } },
  { name: "reads an ssh URL with an IPv6 host", url: "ssh://git@[fd00::1]:22/c.git", want: { kind: "ssh", user: "git", host: "fd00::1", port: 22, path: "/c.git" } },
  { name: "reads the scp-like form with a relative path (gitolite)", url: "git@git.home.arpa:cluster.git", want: { kind: "ssh", user: "git", host: "git.home.arpa", port: undefined, path: "cluster.git" } },
  { name: "reads the scp-like form with an absolute path", url: "git.home.arpa:/srv/cluster.git", want: { kind: "ssh", user: undefined, host: "git.home.arpa", port: undefined, path: "/srv/cluster.git" } },
  { name: "reads an absolute local path", url: "/mnt/mirror/cluster.git/", want: { kind: "local", path: "/mnt/mirror/cluster.git" } },
  { name: "reads a file URL as a local path", url: "file:///mnt/mirror/cluster.git", want: { kind: "local", path: "/mnt/mirror/cluster.git" } },
]) {
  test(c.name, () => assert.deepEqual(parseRemoteUrl(c.url), c.want));
}

for (const c of [
  { name: "refuses credentials in an https URL", url: "https://user:secret@git.home.arpa/c.git" },
  { name: "refuses a user name in an https URL", url: "https://user@git.home.arpa/c.git" },
  { name: "refuses a query string", url: "https://git.home.arpa/c.git?x=1" },
  { name: "refuses a password in an ssh URL", url: "ssh://git:pw@host/c.git" },
  { name: "refuses a host that would be read as an ssh option", url: "ssh://-oProxyCommand=x/c.git" },
  { name: "refuses a scp-like host starting with a dash", url: "-oProxyCommand=x:c.git" },
  { name: "refuses a repository path starting with a dash", url: "git@host:-c.git" },
  { name: "refuses a user name with shell characters", url: "ssh://a;b@host/c.git" },
  { name: "refuses a path with a newline", url: "ssh://host/c\n.git" },
  { name: "refuses a relative local path", url: "mirror/cluster.git" },
  { name: "refuses a local path with ..", url: "/mnt/../etc" },
  { name: "refuses the git protocol", url: "git://host/c.git" },
  { name: "refuses an empty URL", url: "" },
]) {
  test(c.name, () => assert.throws(() => parseRemoteUrl(c.url), (e: unknown) => e instanceof StewardError && e.code === "CONFIG_INVALID"));
}

const ssh: RemoteSpec = { name: "origin", url: "ssh://git@h:2222/srv/it's.git", target: parseRemoteUrl("ssh://git@h:2222/srv/it's.git"), key: "/etc/steward/id_ed25519", knownHosts: "/etc/steward/known_hosts" };

test("quotes a path for git-shell, escaping single quotes", () => {
  assert.equal(quoteForGitShell("/srv/it's.git"), `'/srv/it'\\''s.git'`);
});

test("builds the ssh argv as a vector: pinned host keys, batch mode, the key only, the command last", () => {
  const argv = sshUploadPackArgv(ssh, { timeoutSeconds: 30 });
  assert.equal(argv[0], "ssh");
  for (const o of ["BatchMode=yes", "StrictHostKeyChecking=yes", "UserKnownHostsFile=/etc/steward/known_hosts", "IdentitiesOnly=yes", "ConnectTimeout=10", "ServerAliveInterval=10"]) {
    assert.ok(argv.includes(o), o);
  }
  assert.deepEqual(argv.slice(-3), ["--", "h", `git-upload-pack '/srv/it'\\''s.git'`]);
  assert.deepEqual(argv.slice(argv.indexOf("-i"), argv.indexOf("-i") + 2), ["-i", "/etc/steward/id_ed25519"]);
  assert.deepEqual(argv.slice(argv.indexOf("-p"), argv.indexOf("-p") + 2), ["-p", "2222"]);
  assert.deepEqual(argv.slice(argv.indexOf("-l"), argv.indexOf("-l") + 2), ["-l", "git"]);
});

test("refuses an ssh remote without known_hosts", () => {
  assert.throws(() => sshUploadPackArgv({ ...ssh, knownHosts: undefined }, { timeoutSeconds: 5 }), (e: unknown) => e instanceof StewardError && e.code === "CONFIG_INVALID");
});

test("refuses a known_hosts path that ssh would expand or split", () => {
  for (const knownHosts of ["/etc/my hosts", "~/known_hosts", "/etc/%h", "relative/known_hosts"]) {
    assert.throws(() => sshUploadPackArgv({ ...ssh, knownHosts }, { timeoutSeconds: 5 }), (e: unknown) => e instanceof StewardError && e.code === "CONFIG_INVALID", knownHosts);
  }
});

test("builds the local upload-pack argv with the path as the last argument", () => {
  const local: RemoteSpec = { name: "mirror", url: "/mnt/m.git", target: parseRemoteUrl("/mnt/m.git"), key: undefined, knownHosts: undefined };
  assert.deepEqual(localUploadPackArgv(local, { timeoutSeconds: 2 }), ["git", "-c", "safe.directory=/mnt/m.git", "upload-pack", "--strict", "--timeout=2", "/mnt/m.git"]);
  assert.equal(bridgeUrl(local), "http://local.invalid/mirror");
  assert.equal(bridgeUrl(ssh), "http://ssh.invalid/origin");
});

for (const [name, ok] of [["main", true], ["release/2025", true], ["-x", false], ["a..b", false], ["a/.hidden", false], ["x.lock", false], ["a b", false], ["a//b", false], ["", false]] as const) {
  test(`${ok ? "accepts" : "refuses"} the branch name ${JSON.stringify(name)}`, () => assert.equal(isBranchName(name), ok));
}

test("builds the receive-pack argv for a push: the same ssh options, only the command differs", () => {
  const fetch = sshUploadPackArgv(ssh, { timeoutSeconds: 30 });
  const push = sshReceivePackArgv(ssh, { timeoutSeconds: 30 });
  assert.deepEqual(push.slice(0, -1), fetch.slice(0, -1));
  assert.equal(push.at(-1), `git-receive-pack '/srv/it'\\''s.git'`);
  assert.deepEqual(bridgeArgv(ssh, "git-receive-pack", { timeoutSeconds: 30 }), push);
  assert.deepEqual(bridgeArgv(ssh, "git-upload-pack", { timeoutSeconds: 30 }), fetch);
});

test("builds the local receive-pack argv with the path as the last argument", () => {
  const local: RemoteSpec = { name: "mirror", url: "/mnt/m.git", target: parseRemoteUrl("/mnt/m.git"), key: undefined, knownHosts: undefined };
  assert.deepEqual(localReceivePackArgv(local), ["git", "-c", "safe.directory=/mnt/m.git", "receive-pack", "/mnt/m.git"]);
  assert.deepEqual(bridgeArgv(local, "git-receive-pack", { timeoutSeconds: 2 }), localReceivePackArgv(local));
  assert.deepEqual(bridgeArgv(local, "git-upload-pack", { timeoutSeconds: 2 }), localUploadPackArgv(local, { timeoutSeconds: 2 }));
  assert.throws(() => localReceivePackArgv(ssh), (e: unknown) => e instanceof StewardError && e.code === "INTERNAL");
});
