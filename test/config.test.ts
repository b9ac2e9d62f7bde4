import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { loadConfig, parseConfig, type ConfigFileReader, type ConfigProblem } from "../agent/src/config.js";
import { StewardError } from "../agent/src/errors.js";
import type { SmallFile } from "../agent/src/read-small-file.js";
import { makeKey, makeTempDir, removeDir, writeAllowedSigners } from "./helpers/keys.js";

const FILE = "/usr/local/etc/steward/steward.yaml";
const GOOD = `node: alpha
state: /var/db/steward
branch: main
trust: allowed_signers
timeout: 20
remotes:
  - name: origin
    url: ssh://git@git.home.arpa:22/srv/git/cluster.git
    key: id_ed25519
    known_hosts: /usr/local/etc/steward/known_hosts
  - name: mirror
    url: /mnt/mirror/cluster.git
`;

let dir: string;
before(() => (dir = makeTempDir()));
after(() => removeDir(dir));

test("reads a full configuration, resolving relative paths against the file's directory", () => {
  const c = parseConfig(GOOD, FILE);
  assert.equal(c.node, "alpha");
  assert.equal(c.trust, "/usr/local/etc/steward/allowed_signers");
  assert.equal(c.timeout, 20);
  assert.deepEqual(c.remotes.map((r) => [r.name, r.target.kind, r.key]), [["origin", "ssh", "/usr/local/etc/steward/id_ed25519"], ["mirror", "local", undefined]]);
});

test("fills in the defaults", () => {
  const c = parseConfig("node: beta\ntrust: /etc/s\nremotes:\n  - name: origin\n    url: https://git.home.arpa/c.git\n", FILE);
  assert.deepEqual([c.state, c.branch, c.timeout], ["/var/db/steward", "main", 30]);
});

test("the node's key: signs status, and is the key of every ssh remote that names none; agent timings have defaults", () => {
  const c = parseConfig(GOOD.replace("    key: id_ed25519\n", "").replace("timeout: 20", "key: /usr/local/etc/steward/node_key\ntimeout: 20\ninterval: 120"), FILE);
  assert.equal(c.key, "/usr/local/etc/steward/node_key");
  assert.deepEqual(c.remotes.map((r) => r.key), ["/usr/local/etc/steward/node_key", undefined]);
  assert.deepEqual([c.interval, c.heartbeat, c.maxSourceAge], [120, 900, undefined]);
});

test("loads the file from disk and names it, reading relative paths from its folder", async () => {
  const file = join(dir, "steward.yaml");
  writeAllowedSigners(join(dir, "allowed_signers"), [{ principal: "admin@cluster", key: makeKey(join(dir, "keys"), "admin") }]);
  makeKey(dir, "id_ed25519");
  writeFileSync(join(dir, "known_hosts"), "");
  writeFileSync(file, GOOD.replace("/usr/local/etc/steward/known_hosts", "known_hosts"));
  const c = await loadConfig(file);
  assert.equal(c.file, file);
  assert.deepEqual([c.trust, c.remotes[0]?.key, c.remotes[0]?.knownHosts], [join(dir, "allowed_signers"), join(dir, "id_ed25519"), join(dir, "known_hosts")]);
});

test("a typo in the trust path is CONFIG_INVALID when the file is loaded, pointing at trust:", async () => {
  const file = join(dir, "typo.yaml");
  writeFileSync(file, GOOD.replace("trust: allowed_signers", "trust: alowed_signers"));
  await assert.rejects(loadConfig(file), (e: unknown) => e instanceof StewardError && e.code === "CONFIG_INVALID" && e.where?.line === 4 && e.where.file === file);
});

test("a missing file is CONFIG_INVALID", async () => {
  await assert.rejects(loadConfig(join(dir, "nope.yaml")), (e: unknown) => e instanceof StewardError && e.code === "CONFIG_INVALID");
});

for (const c of [
  { name: "refuses a duplicate key, pointing at it", text: GOOD.replace("timeout: 20", "timeout: 20\nnode: beta"), line: 6 },
  { name: "refuses an unknown key, pointing at it", text: GOOD.replace("timeout: 20", "timeout: 20\nintervall: 5"), line: 6 },
  { name: "refuses an interval under 5 s", text: GOOD.replace("timeout: 20", "timeout: 20\ninterval: 1"), line: 6 },
  { name: "refuses an unknown key in a remote", text: GOOD.replace("    url: /mnt/mirror/cluster.git", "    url: /mnt/mirror/cluster.git\n    token: x"), line: 13 },
  { name: "refuses a missing node", text: GOOD.replace("node: alpha\n", ""), line: 1 },
  { name: "refuses a bad node name", text: GOOD.replace("node: alpha", "node: Alpha!"), line: 1 },
  { name: "refuses a bad remote name", text: GOOD.replace("name: mirror", "name: Mirror_1"), line: 11 },
  { name: "refuses a duplicate remote name", text: GOOD.replace("name: mirror", "name: origin"), line: 11 },
  { name: "refuses an ssh remote without known_hosts", text: GOOD.replace("    known_hosts: /usr/local/etc/steward/known_hosts\n", ""), line: 7 },
  { name: "refuses key on a local remote", text: GOOD.replace("    url: /mnt/mirror/cluster.git", "    url: /mnt/mirror/cluster.git\n    key: /k"), line: 13 },
  { name: "refuses credentials in a URL", text: GOOD.replace("/mnt/mirror/cluster.git", "https://u:p@h/c.git"), line: 12 },
  { name: "refuses a relative local URL", text: GOOD.replace("/mnt/mirror/cluster.git", "mirror.git"), line: 12 },
  { name: "refuses a zero timeout", text: GOOD.replace("timeout: 20", "timeout: 0"), line: 5 },
  { name: "refuses an invalid branch", text: GOOD.replace("branch: main", "branch: a..b"), line: 3 },
  { name: "refuses broken YAML", text: GOOD.replace("remotes:", "remotes: ["), line: 7 },
  { name: "refuses an empty remotes list", text: GOOD.replace(/remotes:[\s\S]*/, "remotes: []\n"), line: 6 },
]) {
  test(c.name, () => {
    assert.throws(
      () => parseConfig(c.text, FILE),
      (e: unknown) => e instanceof StewardError && e.code === "CONFIG_INVALID" && e.where?.file === FILE && e.where.line === c.line && typeof e.hint === "string" && e.hint.length > 0,
    );
  });
}

// The files the configuration names, as a table: path to contents (a missing path does not exist).
const ADMIN = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMxUsnBRDIusyZUM4PEmhX2dz7c0e8XHFuMXWIo8oLNg";
const OPENSSH_KEY = `-----BEGIN OPENSSH PRIVATE KEY-----\n${Buffer.concat([Buffer.from("openssh-key-v1\0", "latin1"), Buffer.from([0, 0, 0, 4]), Buffer.from("none"), Buffer.from([0, 0, 0, 4]), Buffer.from("none")]).toString("base64")}\n-----END OPENSSH PRIVATE KEY-----\n`;
const FILES: Readonly<Record<string, string>> = {
  "/usr/local/etc/steward/allowed_signers": `# admins\nadmin@cluster namespaces="git" ${ADMIN}\n`,
  "/usr/local/etc/steward/id_ed25519": OPENSSH_KEY,
  "/usr/local/etc/steward/known_hosts": `git.home.arpa ${ADMIN}\n`,
  "/usr/local/etc/steward/revoked_keys": "",
};

function reader(files: Readonly<Record<string, string>>): ConfigFileReader {
  return (path: string, limit: number): SmallFile => {
    const text = files[path];
    if (text === undefined) return { ok: false, errno: "ENOENT", reason: "does not exist" };
    const bytes = Buffer.from(text, "utf8");
    return { ok: true, bytes: bytes.subarray(0, limit), size: bytes.length, mode: 0o600, ownedByMe: true };
  };
}

function problems(text: string, files: Readonly<Record<string, string>>): ConfigProblem[] {
  try {
    parseConfig(text, FILE, reader(files));
  } catch (e) {
    if (e instanceof StewardError && e.code === "CONFIG_INVALID") return e.data["problems"] as ConfigProblem[];
    throw e;
  }
  return [];
}

test("checks the files it names: all present and well formed", () => {
  assert.deepEqual(problems(GOOD.replace("timeout: 20", "revoked: revoked_keys\ntimeout: 20"), FILES), []);
});

for (const c of [
  { name: "a missing trust file is found at trust:", files: { ...FILES, "/usr/local/etc/steward/allowed_signers": undefined }, lines: [4], says: /allowed_signers does not exist/ },
  { name: "a trust file that trusts nobody is found at trust:", files: { ...FILES, "/usr/local/etc/steward/allowed_signers": "# nobody yet\n" }, lines: [4], says: /trusts no key/ },
  { name: "a missing revocation list is found at revoked:", text: GOOD.replace("timeout: 20", "revoked: revoked_kyes\ntimeout: 20"), files: FILES, lines: [5], says: /revoked_kyes does not exist/ },
  { name: "a missing key file is found at key:", files: { ...FILES, "/usr/local/etc/steward/id_ed25519": undefined }, lines: [9], says: /id_ed25519 does not exist/ },
  { name: "a public key named as key: is found at key:", files: { ...FILES, "/usr/local/etc/steward/id_ed25519": `${ADMIN} node\n` }, lines: [9], says: /is a public key/ },
  { name: "a missing node key is found at the top-level key:, once", text: GOOD.replace("    key: id_ed25519\n", "").replace("timeout: 20", "key: id_ed25519\ntimeout: 20"), files: { ...FILES, "/usr/local/etc/steward/id_ed25519": undefined }, lines: [5], says: /id_ed25519 does not exist/ },
  { name: "a missing known_hosts file is found at known_hosts:", files: { ...FILES, "/usr/local/etc/steward/known_hosts": undefined }, lines: [10], says: /known_hosts does not exist/ },
  { name: "a relative state directory is found at state:", text: GOOD.replace("state: /var/db/steward", "state: ../state"), files: FILES, lines: [2], says: /not an absolute path/ },
]) {
  test(c.name, () => {
    const found = problems(c.text ?? GOOD, Object.fromEntries(Object.entries(c.files).filter((e): e is [string, string] => e[1] !== undefined)));
    assert.deepEqual(found.map((p) => p.where.line), c.lines);
    assert.match(found[0]?.message ?? "", c.says);
    assert.ok(found.every((p) => p.where.file === FILE && p.hint.length > 0));
  });
}

test("each line of the trust file that does not parse is its own problem, naming the line", () => {
  const trust = `admin@cluster ${ADMIN}\nops@cluster ssh-ed2551 AAAA\n# fine\nlaptop@cluster\n`;
  const found = problems(GOOD, { ...FILES, "/usr/local/etc/steward/allowed_signers": trust });
  assert.deepEqual(found.map((p) => [p.where.line, /:(\d+): /.exec(p.message)?.[1]]), [[4, "2"], [4, "4"]]);
});

test("without a file reader nothing is read", () => {
  assert.doesNotThrow(() => parseConfig(GOOD, FILE));
});

test("backups: the key defaults to the node's key; known_hosts and the age identity are read from the file's folder", () => {
  const c = parseConfig(`${GOOD}key: node_key\nbackup_known_hosts: backup_known_hosts\nbackup_identity: /root/backup.age\n`, FILE);
  assert.deepEqual([c.backupKey, c.backupKnownHosts, c.backupIdentity], ["/usr/local/etc/steward/node_key", "/usr/local/etc/steward/backup_known_hosts", "/root/backup.age"]);
  const own = parseConfig(`${GOOD}backup_key: backup_key\n`, FILE);
  assert.deepEqual([own.backupKey, own.backupKnownHosts], ["/usr/local/etc/steward/backup_key", undefined]);
});

test("pf_confirm_window: 60 s by default, 0 turns the check off; the confirm targets are the network remotes", async () => {
  const { hostLayout } = await import("../agent/src/reconcile.js");
  const c = parseConfig(`${GOOD}  - name: web\n    url: https://git.example.org/cluster.git\n  - name: lan\n    url: http://192.168.1.5:8080/cluster.git\n`, FILE);
  assert.equal(c.pfConfirmWindow, 60);
  assert.deepEqual(hostLayout(c).pfConfirm, {
    windowMs: 60_000,
    targets: [
      { name: "origin", host: "git.home.arpa", port: 22 },
      { name: "web", host: "git.example.org", port: 443 },
      { name: "lan", host: "192.168.1.5", port: 8080 },
    ],
  });
  const off = parseConfig(GOOD.replace("timeout: 20\n", "timeout: 20\npf_confirm_window: 0\n"), FILE);
  assert.equal(hostLayout(off).pfConfirm, undefined);
  const local = parseConfig("node: beta\ntrust: /etc/s\nremotes:\n  - name: disk\n    url: /mnt/c.git\n", FILE);
  assert.equal(hostLayout(local).pfConfirm, undefined, "a local path is never cut by pf");
  assert.throws(() => parseConfig(GOOD.replace("timeout: 20\n", "timeout: 20\npf_confirm_window: -1\n"), FILE), (e: unknown) => e instanceof StewardError && e.code === "CONFIG_INVALID");
});
