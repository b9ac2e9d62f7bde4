import assert from "node:assert/strict";
import { test } from "node:test";
import { loadModel } from "../../agent/src/manifest/load.js";
import { templateWith } from "../helpers/template.js";

const MAIL = "services/mail.yaml";
const mail = (body: string): string =>
  `node: alpha\njail:\n  ip: 10.17.0.25\n  services: [postfix]\n${body}`;

test("the template is valid: 3 nodes, 6 services, no diagnostics", async () => {
  const { model, diagnostics } = loadModel(await templateWith());
  assert.deepEqual(diagnostics, []);
  assert.ok(model);
  assert.deepEqual(model.nodes.map((n) => n.name).sort(), ["alpha", "beta", "pi"]);
  assert.equal(model.services.length, 6);
  assert.equal(model.nodes.find((n) => n.name === "pi")?.arch, "arm64");
});

test("defaults fill in: drift, release, dataset properties, routes expand", async () => {
  const { model } = loadModel(await templateWith());
  const m = model?.services.find((s) => s.name === "mail");
  assert.ok(m);
  assert.equal(m.drift, "correct");
  assert.equal(m.release, "14.2-RELEASE");
  assert.deepEqual(m.datasets.find((d) => d.name === "mail")?.properties, { compression: "lz4", atime: "off", quota: "20G" });
  assert.deepEqual(
    m.routes.map((r) => ({ to: r.to, port: r.port, proto: r.proto, text: r.text, at: `${r.where?.file}:${r.where?.line}:${r.where?.column}` })),
    [
      { to: "internet", port: 25, proto: "tcp", text: "internet:25/tcp", at: "services/mail.yaml:15:10" },
      { to: "internet", port: 53, proto: "udp", text: "dns", at: "services/mail.yaml:15:27" },
      { to: "internet", port: 53, proto: "tcp", text: "dns", at: "services/mail.yaml:15:27" },
    ],
  );
  assert.deepEqual(m.expose.map((p) => `${p.port}/${p.proto}@${p.where?.line}:${p.where?.column}`), ["25/tcp@14:10", "465/tcp@14:18", "587/tcp@14:27", "993/tcp@14:36"]);
  assert.equal(model?.nodes.find((n) => n.name === "alpha")?.ssh, 2222);
  assert.equal(model?.nodes.find((n) => n.name === "beta")?.ssh, 22);
});

test("a route to one host or network of the internet is kept with its network", async () => {
  const { model, diagnostics } = loadModel(await templateWith({ [MAIL]: mail("routes: [203.0.113.7:25/tcp, 198.51.100.0/24:443/tcp]\n") }));
  assert.deepEqual(diagnostics, []);
  const m = model?.services.find((s) => s.name === "mail");
  assert.deepEqual(m?.routes.map((r) => [r.to, r.net, r.port, r.proto]), [
    ["internet", "203.0.113.7/32", 25, "tcp"],
    ["internet", "198.51.100.0/24", 443, "tcp"],
  ]);
});

test("budgets: a service's own, else the cluster's default, in seconds; a node's key is kept as written", async () => {
  const key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMxUsnBRDIusyZUM4PEmhX2dz7c0e8XHFuMXWIo8oLNg alpha@steward";
  const { model, diagnostics } = loadModel(await templateWith({ "nodes/alpha.yaml": (t) => `${t}key: ${key}\n` }));
  assert.deepEqual(diagnostics, []);
  const budget = (name: string): number | undefined => model?.services.find((s) => s.name === name)?.budget;
  assert.deepEqual([budget("mail"), budget("xmpp"), budget("blog")], [3 * 86_400, 86_400, 7 * 86_400]);
  assert.equal(model?.nodes.find((n) => n.name === "alpha")?.key, key);
});

interface Case {
  readonly name: string;
  readonly edits: Readonly<Record<string, string | null | ((t: string) => string)>>;
  readonly extraPaths?: readonly string[];
  /** Expected [code, file, line] of every error, in order. */
  readonly want: readonly (readonly [string, string, number])[];
}

const cases: readonly Case[] = [
  { name: "an unclosed bracket is a YAML error at its line", edits: { [MAIL]: mail("expose: [25/tcp,\nroutes: []\n") }, want: [["MANIFEST_YAML", MAIL, 6]] },
  { name: "a duplicate key is a YAML error on the second key", edits: { [MAIL]: mail("expose: [25/tcp]\nexpose: [26/tcp]\n") }, want: [["MANIFEST_YAML", MAIL, 6]] },
  { name: "anchors and aliases are refused", edits: { [MAIL]: mail("expose: &p [25/tcp]\nroutes: *p\n") }, want: [["MANIFEST_YAML", MAIL, 5], ["MANIFEST_YAML", MAIL, 6]] },
  { name: "explicit tags are refused", edits: { [MAIL]: mail("drift: !!binary aGk=\n") }, want: [["MANIFEST_YAML", MAIL, 5]] },
  { name: "tabs for indentation are refused", edits: { [MAIL]: "node: alpha\njail:\n\tip: 10.17.0.25\n" }, want: [["MANIFEST_YAML", MAIL, 3]] },
  { name: "two documents in one file are refused", edits: { [MAIL]: mail("---\nnode: beta\n") }, want: [["MANIFEST_YAML", MAIL, 5]] },
  { name: "a list as a key is refused", edits: { [MAIL]: mail("? [a, b]\n: 1\n") }, want: [["MANIFEST_YAML", MAIL, 5]] },
  { name: "an empty service file must be a map", edits: { [MAIL]: "" }, want: [["MANIFEST_SCHEMA", MAIL, 1]] },
  { name: "a missing required key points at the map that lacks it", edits: { [MAIL]: "node: alpha\n" }, want: [["MANIFEST_SCHEMA", MAIL, 1]] },
  { name: "an unknown key points at the key", edits: { [MAIL]: mail("exposed: [25/tcp]\n") }, want: [["MANIFEST_SCHEMA", MAIL, 5]] },
  { name: "an address with a prefix length is not an ipv4 address", edits: { [MAIL]: "node: alpha\njail:\n  ip: 10.17.0.25/24\n" }, want: [["MANIFEST_SCHEMA", MAIL, 3]] },
  { name: "a node key that is not a public key line is a schema error at key:", edits: { "nodes/alpha.yaml": (t) => `${t}key: /usr/local/etc/steward/id_ed25519.pub\n` }, want: [["MANIFEST_SCHEMA", "nodes/alpha.yaml", 6]] },
  { name: "a node key whose base64 is not a key is refused at key:", edits: { "nodes/alpha.yaml": (t) => `${t}key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA alpha\n` }, want: [["MANIFEST_INVALID", "nodes/alpha.yaml", 6]] },
  { name: "a node key whose type does not match its line is refused", edits: { "nodes/alpha.yaml": (t) => `${t}key: ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIMxUsnBRDIusyZUM4PEmhX2dz7c0e8XHFuMXWIo8oLNg\n` }, want: [["MANIFEST_INVALID", "nodes/alpha.yaml", 6]] },
  { name: "a budget must be a whole number of m, h, d or w", edits: { [MAIL]: mail("budget: 3 days\n") }, want: [["MANIFEST_SCHEMA", MAIL, 5]] },
  { name: "a package name with shell metacharacters is refused", edits: { [MAIL]: mail("  packages: [postfix, 'x; rm -rf /']\n") }, want: [["MANIFEST_SCHEMA", MAIL, 5]] },
  { name: "an rc value with command substitution is refused", edits: { [MAIL]: mail("  rc: { postfix_flags: \"$(reboot)\" }\n") }, want: [["MANIFEST_SCHEMA", MAIL, 5]] },
  { name: "an rc value written as a YAML boolean asks for quotes", edits: { [MAIL]: mail("  rc: { postfix_enable: true }\n") }, want: [["MANIFEST_SCHEMA", MAIL, 5]] },
  { name: "a dataset name with a slash is refused", edits: { [MAIL]: mail("datasets:\n  a/b: { mount: /x }\n") }, want: [["MANIFEST_SCHEMA", MAIL, 6]] },
  { name: "a dataset name starting with a dot is refused", edits: { [MAIL]: mail("datasets:\n  ..: { mount: /x }\n") }, want: [["MANIFEST_SCHEMA", MAIL, 6]] },
  { name: "a wrong enum value is refused", edits: { "cluster.yaml": (t) => t.replace("drift: correct", "drift: fix") }, want: [["MANIFEST_SCHEMA", "cluster.yaml", 8]] },
  { name: "an unknown node is a dangling reference", edits: { [MAIL]: (t) => t.replace("node: alpha", "node: alpah") }, want: [["MANIFEST_REFERENCE", MAIL, 2]] },
  { name: "a route to an unknown service is a dangling reference", edits: { [MAIL]: mail("routes: [ldap:389/tcp]\n") }, want: [["MANIFEST_REFERENCE", MAIL, 5]] },
  { name: "a route to itself is refused", edits: { [MAIL]: mail("routes: [mail:25/tcp]\n") }, want: [["MANIFEST_INVALID", MAIL, 5]] },
  { name: "a port out of range is refused", edits: { [MAIL]: mail("expose: [70000/tcp]\n") }, want: [["MANIFEST_INVALID", MAIL, 5]] },
  { name: "two jails with one address are refused", edits: { [MAIL]: (t) => t.replace("10.17.0.25", "10.17.0.22") }, want: [["MANIFEST_DUPLICATE", MAIL, 4]] },
  { name: "an address outside the jail network is refused", edits: { [MAIL]: (t) => t.replace("10.17.0.25", "10.18.0.25") }, want: [["MANIFEST_INVALID", MAIL, 4]] },
  { name: "the broadcast address is refused", edits: { [MAIL]: (t) => t.replace("10.17.0.25", "10.17.0.255") }, want: [["MANIFEST_INVALID", MAIL, 4]] },
  { name: "a jail on the home LAN is refused", edits: { "cluster.yaml": (t) => t.replace("jails: 10.17.0.0/24", "jails: 10.0.0.0/8").replace("[192.168.1.0/24]", "[10.17.0.0/24]") }, want: [["MANIFEST_CONFLICT", "cluster.yaml", 5], ["MANIFEST_CONFLICT", "services/blog.yaml", 4], ["MANIFEST_CONFLICT", "services/caldav.yaml", 4], ["MANIFEST_CONFLICT", "services/git.yaml", 4], ["MANIFEST_CONFLICT", MAIL, 4], ["MANIFEST_CONFLICT", "services/taskd.yaml", 4], ["MANIFEST_CONFLICT", "services/xmpp.yaml", 4]] },
  { name: "a jail network with host bits is refused", edits: { "cluster.yaml": (t) => t.replace("jails: 10.17.0.0/24", "jails: 10.17.0.1/24") }, want: [["MANIFEST_INVALID", "cluster.yaml", 4]] },
  { name: "a file source missing from the repo is refused", edits: { [MAIL]: mail("files:\n  /etc/x: { from: files/nope }\n") }, want: [["MANIFEST_MISSING", MAIL, 6]] },
  { name: "a file source escaping the repo is refused", edits: { [MAIL]: mail("files:\n  /etc/x: { from: ../../etc/shadow }\n") }, want: [["MANIFEST_PATH", MAIL, 6]] },
  { name: "a file destination with '..' is refused", edits: { [MAIL]: mail("files:\n  /etc/../root/.ssh/authorized_keys: { from: files/mail/main.cf }\n") }, want: [["MANIFEST_PATH", MAIL, 6]] },
  { name: "a restart of a service the jail does not run is refused", edits: { [MAIL]: mail("files:\n  /etc/x: { from: files/mail/main.cf, restart: [dovecot] }\n") }, want: [["MANIFEST_REFERENCE", MAIL, 6]] },
  { name: "two datasets on one mount are refused", edits: { [MAIL]: mail("datasets:\n  a: { mount: /var/db }\n  b: { mount: /var/db/ }\n") }, want: [["MANIFEST_DUPLICATE", MAIL, 7]] },
  { name: "a dataset mounted over the jail root is refused", edits: { [MAIL]: mail("datasets:\n  a: { mount: / }\n") }, want: [["MANIFEST_SCHEMA", MAIL, 6]] },
  { name: "a recordsize that is not a power of two is refused", edits: { [MAIL]: mail("datasets:\n  a: { recordsize: 3K }\n") }, want: [["MANIFEST_INVALID", MAIL, 6]] },
  { name: "Steward's own user properties cannot be set", edits: { [MAIL]: mail("datasets:\n  a: { 'org.steward:managed': 'no' }\n") }, want: [["MANIFEST_INVALID", MAIL, 6]] },
  { name: "a route into the home LAN is refused on the route", edits: { [MAIL]: mail("routes: [dns, 192.168.1.5:631/tcp]\n") }, want: [["MANIFEST_CONFLICT", MAIL, 5]] },
  { name: "a route to a network holding the home LAN is refused", edits: { [MAIL]: mail("routes: [192.168.0.0/16:443/tcp]\n") }, want: [["MANIFEST_CONFLICT", MAIL, 5]] },
  { name: "a route to everything (0.0.0.0/0) is refused: it holds the home LAN", edits: { [MAIL]: mail("routes: [0.0.0.0/0:443/tcp]\n") }, want: [["MANIFEST_CONFLICT", MAIL, 5]] },
  { name: "a route to a jail address is refused: routes name services", edits: { [MAIL]: mail("routes: [10.17.0.22:22/tcp]\n") }, want: [["MANIFEST_CONFLICT", MAIL, 5]] },
  { name: "a route to a network with host bits is refused", edits: { [MAIL]: mail("routes: [198.51.100.7/24:443/tcp]\n") }, want: [["MANIFEST_INVALID", MAIL, 5]] },
  { name: "a route to a host that is not an address is a schema error", edits: { [MAIL]: mail("routes: [192.168.1:631/tcp]\n") }, want: [["MANIFEST_SCHEMA", MAIL, 5]] },
  { name: "exposing the node's own ssh port is refused (it would lock the admins out)", edits: { [MAIL]: mail("expose: [2222/tcp]\n") }, want: [["MANIFEST_CONFLICT", MAIL, 5]] },
  { name: "exposing port 22 on a node whose sshd keeps port 22 is refused", edits: { "nodes/alpha.yaml": (t) => t.replace(/^ssh: .*\n/m, "") }, want: [["MANIFEST_CONFLICT", "services/git.yaml", 12]] },
  { name: "a route between nodes needs the address of both nodes", edits: { "nodes/pi.yaml": (t) => t.replace(/^address: .*\n/m, "") }, want: [["MANIFEST_MISSING", "services/blog.yaml", 13]] },
  { name: "one port exposed twice on a node is refused", edits: { [MAIL]: mail("expose: [22/tcp]\n") }, want: [["MANIFEST_CONFLICT", MAIL, 5]] },
  { name: "destroying a dataset the manifest wants is refused", edits: { "nodes/alpha.yaml": (t) => `${t}destroy: [zroot/steward/data/mail/mail]\n` }, want: [["MANIFEST_CONFLICT", "nodes/alpha.yaml", 6]] },
  { name: "destroying outside the node's pool is refused", edits: { "nodes/alpha.yaml": (t) => `${t}destroy: [tank/steward/data/x/y]\n` }, want: [["MANIFEST_INVALID", "nodes/alpha.yaml", 6]] },
  { name: "a jails directory with '..' is refused", edits: { "nodes/alpha.yaml": (t) => `${t}jails: /jails/../etc\n` }, want: [["MANIFEST_PATH", "nodes/alpha.yaml", 6]] },
  { name: "a quota Steward cannot represent exactly is refused", edits: { [MAIL]: mail("datasets:\n  a: { quota: 8P }\n") }, want: [["MANIFEST_INVALID", MAIL, 6]] },
  { name: "defaults.datasets is checked like a service dataset", edits: { "cluster.yaml": (t) => t.replace('atime: "off" }', 'atime: "off", recordsize: 100K }') }, want: [["MANIFEST_INVALID", "cluster.yaml", 9]] },
  { name: "nested mounts within a service are refused", edits: { [MAIL]: mail("datasets:\n  db: { mount: /var/db }\n  app: { mount: /var/db/app }\n") }, want: [["MANIFEST_CONFLICT", MAIL, 7]] },
  { name: "an empty user property value is refused", edits: { [MAIL]: mail("datasets:\n  a: { 'org.example:x': '' }\n") }, want: [["MANIFEST_SCHEMA", MAIL, 6]] },
  { name: "destroying a service's container is refused", edits: { "nodes/alpha.yaml": (t) => `${t}destroy: [zroot/steward/data/git]\n` }, want: [["MANIFEST_CONFLICT", "nodes/alpha.yaml", 6], ["MANIFEST_CONFLICT", "nodes/alpha.yaml", 6]] },
  { name: "a service file name that is not a valid name is refused", edits: { "services/Mail_2.yaml": "node: alpha\n" }, want: [["MANIFEST_NAME", "services/Mail_2.yaml", 1]] },
  { name: "a .yml file is refused rather than ignored", edits: { "services/extra.yml": "node: alpha\n" }, want: [["MANIFEST_NAME", "services/extra.yml", 1]] },
  { name: "a manifest in a sub-folder is refused rather than ignored", edits: { "nodes/old/gamma.yaml": "arch: amd64\n" }, want: [["MANIFEST_NAME", "nodes/old/gamma.yaml", 1]] },
  { name: "'internet' cannot be a service name", edits: { "services/internet.yaml": "node: alpha\njail:\n  ip: 10.17.0.99\n" }, want: [["MANIFEST_NAME", "services/internet.yaml", 1]] },
  { name: "a missing cluster.yaml is reported", edits: { "cluster.yaml": null }, want: [["MANIFEST_MISSING", "cluster.yaml", 1]] },
  { name: "a service naming a backup policy that does not exist is a dangling reference", edits: { [MAIL]: (t) => t.replace("backup: strict", "backup: strcit") }, want: [["MANIFEST_REFERENCE", MAIL, 17]] },
  { name: "a dataset naming a backup policy that does not exist is a dangling reference", edits: { [MAIL]: (t) => t.replace("quota: 20G }", "quota: 20G, backup: daily }") }, want: [["MANIFEST_REFERENCE", MAIL, 9]] },
  { name: "a backup policy replicating to an unknown node is a dangling reference", edits: { "cluster.yaml": (t) => t.replace("replica: [beta, alpha]   # the first", "replica: [gamma, alpha]   # the first") }, want: [["MANIFEST_REFERENCE", "cluster.yaml", 19]] },
  { name: "a backup policy sending to an unknown remote is a dangling reference", edits: { "cluster.yaml": (t) => t.replace("{ to: offsite, every: 6h }", "{ to: ofsite, every: 6h }") }, want: [["MANIFEST_REFERENCE", "cluster.yaml", 21]] },
  { name: "remote copies without recipients are refused at each policy's remote", edits: { "cluster.yaml": (t) => t.replace(/^  recipients: .*\n/m, "") }, want: [["MANIFEST_MISSING", "cluster.yaml", 20], ["MANIFEST_MISSING", "cluster.yaml", 24], ["MANIFEST_MISSING", "cluster.yaml", 27]] },
  { name: "a node's own pool cannot be a cold pool (it is exported after each copy)", edits: { "cluster.yaml": (t) => t.replace("cold: coldbackup", "cold: zroot") }, want: [["MANIFEST_CONFLICT", "cluster.yaml", 20]] },
  { name: "a policy that keeps no snapshot is refused", edits: { "cluster.yaml": (t) => t.replace("keep: { hourly: 24, daily: 7 }", "keep: { hourly: 0 }") }, want: [["MANIFEST_INVALID", "cluster.yaml", 27]] },
  { name: "a replica only on the service's own node is refused where the service gets the policy", edits: { "cluster.yaml": (t) => t.replace("    standard:\n      keep: { hourly: 24, daily: 14, weekly: 4 }\n      replica: [beta, alpha]", "    standard:\n      keep: { hourly: 24, daily: 14, weekly: 4 }\n      replica: [alpha]") }, want: [["MANIFEST_CONFLICT", "services/git.yaml", 9]] },
  { name: "a replica peer without receive: or address: is refused for each service that sends it one", edits: { "nodes/beta.yaml": (t) => t.replace(/^address: .*\n/m, "") }, want: [["MANIFEST_MISSING", "services/git.yaml", 9], ["MANIFEST_MISSING", MAIL, 17]] },
  { name: "a backup recipient that is not an age public key is refused", edits: { "cluster.yaml": (t) => t.replace(/recipients: \[age1[a-z0-9]+\]/, "recipients: [ssh-ed25519 AAAA]") }, want: [["MANIFEST_SCHEMA", "cluster.yaml", 13]] },
  { name: "a backup policy cannot be called none", edits: { "cluster.yaml": (t) => t.replace("    light: ", "    none:  ") }, want: [["MANIFEST_SCHEMA", "cluster.yaml", 26]] },
  { name: "a replica endpoint with a path is refused (the forced command decides where)", edits: { "nodes/beta.yaml": (t) => `${t}receive: ssh://root@192.168.1.11/tank\n` }, want: [["MANIFEST_SCHEMA", "nodes/beta.yaml", 6]] },
  { name: "a service still placed on a node marked down is refused at its node:", edits: { "nodes/alpha.yaml": (t) => `${t}down: true\n` }, want: [["MANIFEST_CONFLICT", "services/git.yaml", 2], ["MANIFEST_CONFLICT", MAIL, 2]] },
  { name: "down: is true or false, nothing else", edits: { "nodes/alpha.yaml": (t) => `${t}down: yes\n` }, want: [["MANIFEST_SCHEMA", "nodes/alpha.yaml", 6]] },
  { name: "a broken node is reported once, not again by its services", edits: { "nodes/alpha.yaml": "arch: sparc64\npool: zroot\ninterface: em0\n" }, want: [["MANIFEST_SCHEMA", "nodes/alpha.yaml", 1]] },
];

for (const c of cases) {
  test(c.name, async () => {
    const { model, diagnostics } = loadModel(await templateWith(c.edits, c.extraPaths));
    assert.equal(model, undefined, "an invalid repo yields no model");
    assert.deepEqual(
      diagnostics.map((d) => [d.code, d.where.file, d.where.line]),
      c.want.map((w) => [...w]),
    );
    for (const d of diagnostics) {
      assert.ok(d.where.column >= 1);
      assert.ok(d.hint !== undefined && d.hint.length > 0, `${d.code} at ${d.where.file}:${d.where.line} has a hint`);
    }
  });
}

test("every problem is collected, not only the first", async () => {
  const { diagnostics } = loadModel(
    await templateWith({
      [MAIL]: (t) => t.replace("node: alpha", "node: nowhere").replace("10.17.0.25", "10.17.0.22"),
      "services/blog.yaml": (t) => t.replace("git:22/tcp", "gti:22/tcp"),
    }),
  );
  assert.deepEqual(diagnostics.map((d) => d.code).sort(), ["MANIFEST_DUPLICATE", "MANIFEST_REFERENCE", "MANIFEST_REFERENCE"]);
});

test("an unknown key gets a spelling suggestion", async () => {
  const { diagnostics } = loadModel(await templateWith({ [MAIL]: mail("datasets:\n  a: { compresion: lz4 }\n") }));
  assert.equal(diagnostics.length, 1);
  assert.match(diagnostics[0]?.hint ?? "", /compression/);
});

test("a __proto__ key neither pollutes nor crashes", async () => {
  const { diagnostics } = loadModel(await templateWith({ [MAIL]: mail("  rc: { __proto__: { polluted: 'yes' } }\n") }));
  assert.equal(({} as Record<string, unknown>)["polluted"], undefined);
  assert.deepEqual(diagnostics.map((d) => d.code), ["MANIFEST_SCHEMA"]);
});

for (const path of ["services/extra.YAML", "nodes/gamma"]) {
  test(`${path} is refused rather than silently skipped`, async () => {
    const { diagnostics } = loadModel(await templateWith({}, [path]));
    assert.deepEqual(diagnostics.map((d) => [d.code, d.where.file]), [["MANIFEST_NAME", path]]);
  });
}

test("a README in services/ is not a manifest", async () => {
  const { model } = loadModel(await templateWith({}, ["services/README.md"]));
  assert.ok(model);
});

test("a schema error in one dataset key does not make its sibling keys unknown", async () => {
  const { diagnostics } = loadModel(await templateWith({ [MAIL]: mail("datasets:\n  d: { mount: /srv, quota: 20G, atime: 'yes', 'org.example:x': y }\n") }));
  assert.deepEqual(diagnostics.map((d) => [d.code, d.where.line, d.where.column]), [["MANIFEST_SCHEMA", 6, 40]]);
});

test("hints never come from Object.prototype", async () => {
  const { diagnostics } = loadModel(await templateWith({ [MAIL]: mail("  rc: { constructor: '$x', toString: '`y`' }\n") }));
  assert.equal(diagnostics.length, 2);
  for (const d of diagnostics) assert.equal(typeof d.hint, "string");
});

test("YAML errors after error recovery are placed on their real line", async () => {
  const { diagnostics } = loadModel(await templateWith({ "cluster.yaml": "*a: 0\naddress: !!str {}\n" }));
  const tag = diagnostics.find((d) => d.code === "MANIFEST_YAML" && d.where.line === 2);
  assert.ok(tag, JSON.stringify(diagnostics.map((d) => d.where)));
});

test("backup policies resolve: a service's own, else the default; durations in seconds; kinds kept at 0 dropped", async () => {
  const { model, diagnostics } = loadModel(await templateWith({ [MAIL]: (t) => t.replace("quota: 2G }", "quota: 2G, backup: none }") }));
  assert.deepEqual(diagnostics, []);
  const policy = (service: string, dataset: string): string | undefined => model?.services.find((s) => s.name === service)?.datasets.find((d) => d.name === dataset)?.backup;
  assert.deepEqual([policy("mail", "mail"), policy("mail", "spool"), policy("git", "repos"), policy("blog", "www")], ["strict", undefined, "standard", "light"]);
  const strict = model?.cluster.backups?.policies["strict"];
  assert.deepEqual(strict, {
    name: "strict",
    keep: { frequent: 4, hourly: 48, daily: 30, weekly: 8, monthly: 12 },
    replica: { to: ["beta", "alpha"], every: undefined },
    cold: { pool: "coldbackup", every: 604_800 },
    remote: { to: "offsite", every: 21_600 },
  });
  assert.deepEqual(model?.cluster.backups?.remotes["offsite"], { user: "steward", host: "backup.example.net", port: undefined });
  assert.equal(model?.cluster.backups?.drill, 604_800);
});

test("a service on a node marked down: the error says which file marks it and where to move the service", async () => {
  const { diagnostics } = loadModel(await templateWith({ "nodes/pi.yaml": (t) => `${t}down: true\n` }));
  assert.deepEqual(
    diagnostics.map((d) => [d.message, d.hint]),
    [["node 'pi' is marked down (nodes/pi.yaml): service 'blog' cannot run there", "move it to a live node (node: alpha or beta); its datasets are seeded there from the newest replica pi sent"]],
  );
});
