/**
 * Host paths a node's jails and mounts must stay away from: the relation of two paths, the
 * `jails:` check of validation (placed on the value), and hostPathConflicts against paths only
 * a node knows (placed on `jails:` or on the dataset's `mount:`).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import type { AgentConfig } from "../../agent/src/config.js";
import { desiredStateFor } from "../../agent/src/manifest/desired.js";
import { loadModel } from "../../agent/src/manifest/load.js";
import { agentPaths, hostPathConflicts, PROTECTED_HOST_PATHS, relatePaths } from "../../agent/src/manifest/paths.js";
import type { ClusterModel } from "../../agent/src/manifest/types.js";
import { desiredState, ds } from "../drivers/zfs/build.js";
import { REPO_ROOT } from "../helpers/cli.js";
import { templateWith } from "../helpers/template.js";

const ALPHA = "nodes/alpha.yaml";
const GIT = "services/git.yaml";
const MAIL = "services/mail.yaml";

for (const c of [
  { a: "/var/db", b: "/var/db", want: "equal" },
  { a: "/var/db/", b: "/var//db", want: "equal" },
  { a: "/var/db/steward", b: "/var/db", want: "inside" },
  { a: "/var", b: "/var/db", want: "contains" },
  { a: "/", b: "/var/db", want: "contains" },
  { a: "/var/dbx", b: "/var/db", want: undefined },
  { a: "/var/d", b: "/var/db", want: undefined },
  { a: "/jails/mail", b: "/var/mail", want: undefined },
] as const) {
  test(`relatePaths: ${c.a} against ${c.b} is ${String(c.want)}`, () => assert.equal(relatePaths(c.a, c.b), c.want));
}

/** The template with `jails: <value>` added to nodes/alpha.yaml as its 6th line (column 8). */
const withJails = (value: string, extra: Readonly<Record<string, string>> = {}) => templateWith({ [ALPHA]: (t) => `${t}jails: ${value}\n`, ...extra });

for (const c of [
  { jails: "/var", why: "an ancestor of /var/db, /var/log and /var/db/steward" },
  { jails: "/usr", why: "an ancestor of /usr/bin and /usr/local/etc" },
  { jails: "/usr/local", why: "an ancestor of /usr/local/etc/steward" },
  { jails: "/usr/local/", why: "an ancestor, written with a trailing slash" },
  { jails: "/var/db", why: "a system tree itself" },
  { jails: "/var/db/steward", why: "Steward's own state directory" },
  { jails: "/usr/local/etc/steward", why: "Steward's own configuration directory" },
  { jails: "/usr/local/etc/jails", why: "inside /usr/local/etc" },
  { jails: "/var/db/jails", why: "inside /var/db" },
  { jails: "/etc/jails", why: "inside /etc" },
  { jails: "/boot", why: "a system tree" },
  { jails: "/tmp", why: "a scratch directory itself" },
  { jails: "/mnt", why: "where other file systems are mounted" },
  { jails: "/usr/src", why: "the source tree" },
]) {
  test(`jails: ${c.jails} is refused on the value (${c.why})`, async () => {
    const { model, diagnostics } = loadModel(await withJails(c.jails));
    assert.equal(model, undefined);
    assert.deepEqual(diagnostics.map((d) => [d.code, `${d.where.file}:${d.where.line}:${d.where.column}`]), [["MANIFEST_PATH", `${ALPHA}:6:8`]]);
    assert.match(diagnostics[0]?.hint ?? "", /\/jails/);
  });
}

test("jails: /var with a service mounting /steward (over /var/db/steward) is refused on jails:", async () => {
  const db = "node: alpha\njail:\n  ip: 10.17.0.50\ndatasets:\n  data: { mount: /steward }\n";
  const { model, diagnostics } = loadModel(await withJails("/var", { "services/db.yaml": db }));
  assert.equal(model, undefined);
  assert.deepEqual(diagnostics.map((d) => [d.code, `${d.where.file}:${d.where.line}:${d.where.column}`]), [["MANIFEST_PATH", `${ALPHA}:6:8`]]);
});

test("jails: /usr with a service 'local' mounting /etc (over /usr/local/etc) is refused on jails:", async () => {
  const local = "node: alpha\njail:\n  ip: 10.17.0.51\ndatasets:\n  conf: { mount: /etc }\n";
  const { diagnostics } = loadModel(await withJails("/usr", { "services/local.yaml": local }));
  assert.deepEqual(diagnostics.map((d) => [d.code, `${d.where.file}:${d.where.line}:${d.where.column}`]), [["MANIFEST_PATH", `${ALPHA}:6:8`]]);
});

for (const jails of ["/jails", "/usr/jails", "/usr/local/jails", "/var/jails", "/zroot/jails", "/data/jails", "/var/dbx", "/jails/", "/mnt/jails", "/tmp/steward-test/jails"]) {
  test(`jails: ${jails} is a valid home for jails`, async () => {
    const { model, diagnostics } = loadModel(await withJails(jails));
    assert.deepEqual(diagnostics, []);
    assert.ok(model);
  });
}

test("no jail root or mountpoint of the template overlaps a protected host path", async () => {
  const model = await modelOf(withJails("/usr/local/jails"));
  for (const node of model.nodes) assert.deepEqual(hostPathConflicts(desiredStateFor(model, node.name), PROTECTED_HOST_PATHS), [], node.name);
});

async function modelOf(snapshot: ReturnType<typeof templateWith>): Promise<ClusterModel> {
  const { model, diagnostics } = loadModel(await snapshot);
  assert.ok(model, JSON.stringify(diagnostics));
  return model;
}

/** where finds `needle` in a template file as file:line:col. */
async function where(file: string, needle: string): Promise<string> {
  const text = (await templateWith()).manifests.get(file) ?? "";
  const lines = text.split("\n");
  const i = lines.findIndex((l) => l.includes(needle));
  assert.ok(i >= 0, `${needle} not in ${file}`);
  return `${file}:${i + 1}:${(lines[i] ?? "").indexOf(needle) + 1}`;
}

const at = (ds: readonly { code: string; where: { file: string; line: number; column: number } }[]) => ds.map((d) => [d.code, `${d.where.file}:${d.where.line}:${d.where.column}`]);

test("hostPathConflicts: a node whose state and config live elsewhere has no conflict", async () => {
  const model = await modelOf(withJails("/srv/jails"));
  assert.deepEqual(hostPathConflicts(desiredStateFor(model, "alpha"), ["/var/db/steward", "/usr/local/etc/steward"]), []);
  assert.deepEqual(hostPathConflicts(desiredStateFor(model, "alpha"), ["/srv/steward", "/srv/jailsx"]), []);
});

test("hostPathConflicts: a state directory that is a jail root is placed on jails:, and on the mounts inside it", async () => {
  const model = await modelOf(withJails("/srv/jails"));
  assert.deepEqual(at(hostPathConflicts(desiredStateFor(model, "alpha"), ["/srv/jails/mail"])), [
    ["MANIFEST_PATH", `${ALPHA}:6:8`],
    ["MANIFEST_PATH", await where(MAIL, "/var/mail")],
    ["MANIFEST_PATH", await where(MAIL, "/var/spool/postfix")],
  ]);
});

test("hostPathConflicts: with the default jails directory, a jail root conflict is placed at the node file's start", async () => {
  const model = await modelOf(templateWith());
  assert.deepEqual(at(hostPathConflicts(desiredStateFor(model, "alpha"), ["/jails/git/state"])), [["MANIFEST_PATH", `${ALPHA}:1:1`]]);
});

test("hostPathConflicts: a config directory inside a dataset's mountpoint is placed on jails: and on that mount:", async () => {
  // git's repos dataset is mounted at /srv/jails/git/home/git; the config lies inside it.
  const model = await modelOf(withJails("/srv/jails"));
  const found = hostPathConflicts(desiredStateFor(model, "alpha"), ["/srv/jails/git/home/git/steward"]);
  assert.deepEqual(at(found), [
    ["MANIFEST_PATH", `${ALPHA}:6:8`],
    ["MANIFEST_PATH", await where(GIT, "/home/git")],
  ]);
});

test("hostPathConflicts: a mountpoint inside a protected directory is placed on its mount: (and the jail root holding it on jails:)", async () => {
  const model = await modelOf(withJails("/srv/jails"));
  const found = hostPathConflicts(desiredStateFor(model, "alpha"), ["/srv/jails/mail/var/spool"]);
  assert.deepEqual(at(found), [
    ["MANIFEST_PATH", `${ALPHA}:6:8`],
    ["MANIFEST_PATH", await where(MAIL, "/var/spool/postfix")],
  ]);
  assert.match(found[1]?.message ?? "", /is inside the protected directory \/srv\/jails\/mail\/var\/spool/);
});

test("hostPathConflicts: a state directory above the jails directory conflicts with every jail root and mountpoint", async () => {
  const model = await modelOf(withJails("/srv/jails"));
  const found = hostPathConflicts(desiredStateFor(model, "alpha"), ["/srv"]);
  assert.deepEqual(at(found), [
    ["MANIFEST_PATH", `${ALPHA}:6:8`], // git's jail root
    ["MANIFEST_PATH", `${ALPHA}:6:8`], // mail's jail root
    ["MANIFEST_PATH", await where(GIT, "/home/git")],
    ["MANIFEST_PATH", await where(MAIL, "/var/mail")],
    ["MANIFEST_PATH", await where(MAIL, "/var/spool/postfix")],
  ]);
  for (const d of found) assert.ok(d.hint !== undefined && d.hint.includes("/srv"));
});

test("hostPathConflicts: a hand-made desired state is checked on its mountpoints, placed at the node file", () => {
  const desired = desiredState("tank", [ds("tank/steward/data/mail/mail", { mountpoint: "/var/db/steward/x" }), ds("tank/steward/data/mail/spool", { mountpoint: "none" })]);
  assert.deepEqual(at(hostPathConflicts(desired, ["/var/db/steward"])), [["MANIFEST_PATH", `${ALPHA}:1:1`]]);
});

test("agentPaths lists the configuration's directory and every file the agent reads", () => {
  const config: Pick<AgentConfig, "file" | "state" | "trust" | "revoked" | "remotes"> = {
    file: "/opt/steward/etc/steward.yaml",
    state: "/opt/steward/state",
    trust: "/opt/steward/etc/allowed_signers",
    revoked: "/opt/keys/revoked",
    remotes: [
      { name: "origin", url: "ssh://git@git.home.arpa/cluster.git", target: { kind: "ssh", user: "git", host: "git.home.arpa", port: undefined, path: "/cluster.git" }, key: "/opt/keys/id_ed25519", knownHosts: "/opt/keys/known_hosts" },
      { name: "mirror", url: "/mnt/mirror/cluster.git", target: { kind: "local", path: "/mnt/mirror/cluster.git" }, key: undefined, knownHosts: undefined },
    ],
  };
  assert.deepEqual(agentPaths(config), ["/opt/steward/etc", "/opt/steward/state", "/opt/steward/etc/allowed_signers", "/opt/keys/revoked", "/opt/keys/id_ed25519", "/opt/keys/known_hosts", "/mnt/mirror/cluster.git"]);
  assert.deepEqual(agentPaths({ ...config, file: "/steward.yaml", revoked: undefined, remotes: [] }), ["/steward.yaml", "/opt/steward/state", "/opt/steward/etc/allowed_signers"]);
});

test("schema/README.md lists exactly the protected directories", () => {
  const readme = readFileSync(join(REPO_ROOT, "schema/README.md"), "utf8");
  const start = readme.indexOf("The protected directories are those of");
  const end = readme.indexOf("So `/`", start);
  assert.ok(start >= 0 && end > start, "the paragraph is where this test expects it");
  const listed = [...readme.slice(start, end).matchAll(/`([^`]+)`/g)].flatMap((m) =>
    (m[1] ?? "").split(/\s+/).flatMap((p) => {
      const brace = /^(.*)\{([^}]*)\}$/.exec(p);
      return brace === null ? [p] : (brace[2] ?? "").split(",").map((x) => `${brace[1] ?? ""}${x}`);
    }),
  );
  assert.deepEqual([...listed].sort(), [...PROTECTED_HOST_PATHS].sort());
});
