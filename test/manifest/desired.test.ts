import assert from "node:assert/strict";
import { test } from "node:test";
import { desiredStateFor } from "../../agent/src/manifest/desired.js";
import { parseSize } from "../../agent/src/manifest/sizes.js";
import { loadModel } from "../../agent/src/manifest/load.js";
import { isStewardError } from "../../agent/src/errors.js";
import { templateWith } from "../helpers/template.js";

async function templateModel() {
  const { model } = loadModel(await templateWith());
  assert.ok(model);
  return model;
}

for (const c of [
  { text: "20G", bytes: 20 * 1024 ** 3 },
  { text: "512", bytes: 512 },
  { text: "1.5K", bytes: 1536 },
  { text: "128K", bytes: 131072 },
  { text: "none", bytes: 0 },
  { text: "20Q", bytes: undefined },
  { text: "99999999999999P", bytes: undefined },
]) {
  test(`parseSize reads ${c.text} as ${String(c.bytes)}`, () => assert.equal(parseSize(c.text), c.bytes));
}

test("alpha gets Steward's containers, its release's base, a jail root per service and their datasets, parents first", async () => {
  const desired = desiredStateFor(await templateModel(), "alpha");
  assert.deepEqual(
    desired.datasets.map((d) => [d.name, d.role ?? "managed"]),
    [
      ["zroot/steward", "managed"],
      ["zroot/steward/base", "managed"],
      ["zroot/steward/base/14.2-RELEASE", "base"],
      ["zroot/steward/data", "managed"],
      ["zroot/steward/data/git", "managed"],
      ["zroot/steward/data/git/repos", "managed"],
      ["zroot/steward/data/mail", "managed"],
      ["zroot/steward/data/mail/mail", "managed"],
      ["zroot/steward/data/mail/spool", "managed"],
      ["zroot/steward/jails", "managed"],
      ["zroot/steward/jails/git", "clone"],
      ["zroot/steward/jails/mail", "clone"],
    ],
  );
  const root = desired.datasets.find((d) => d.name === "zroot/steward/jails/mail");
  assert.deepEqual([root?.origin, root?.properties], ["zroot/steward/base/14.2-RELEASE@steward", { mountpoint: "/jails/mail" }]);
  assert.deepEqual(desired.services.map((s) => s.name), ["git", "mail"]);
});

test("dataset properties are in zfs get -Hp form: sizes in bytes, mountpoint under the jail root", async () => {
  const desired = desiredStateFor(await templateModel(), "alpha");
  assert.deepEqual(desired.datasets.find((d) => d.name === "zroot/steward/data/mail/mail")?.properties, {
    compression: "lz4",
    atime: "off",
    quota: String(20 * 1024 ** 3),
    mountpoint: "/jails/mail/var/mail",
  });
  assert.deepEqual(desired.datasets.find((d) => d.name === "zroot/steward/data/git/repos")?.properties, {
    compression: "lz4",
    atime: "off",
    recordsize: "131072",
    mountpoint: "/jails/git/home/git",
  });
  assert.deepEqual(desired.datasets.find((d) => d.name === "zroot/steward")?.properties, { mountpoint: "none" });
});

test("a node with no services gets only the top containers", async () => {
  const { model } = loadModel(await templateWith({ "nodes/gamma.yaml": "arch: amd64\npool: tank\ninterface: em1\n" }));
  assert.ok(model);
  assert.deepEqual(desiredStateFor(model, "gamma").datasets.map((d) => d.name), ["tank/steward", "tank/steward/base", "tank/steward/data", "tank/steward/jails"]);
});

test("a service's drift policy reaches its datasets", async () => {
  const { model } = loadModel(await templateWith({ "services/blog.yaml": (t) => `${t}drift: report\n` }));
  assert.ok(model);
  const d = desiredStateFor(model, "pi").datasets.find((x) => x.name === "zroot/steward/data/blog/www");
  assert.equal(d?.drift, "report");
  assert.equal(d?.owner, "blog");
});

test("an unknown node is a MANIFEST_REFERENCE error", async () => {
  const model = await templateModel();
  assert.throws(() => desiredStateFor(model, "omega"), (e) => isStewardError(e) && e.code === "MANIFEST_REFERENCE");
});

test("backups: a service with one policy is one snapshot unit (-r of its container); the replica goes to the first other node", async () => {
  const { model } = loadModel(await templateWith({ "services/mail.yaml": (t) => t.replace("quota: 2G }", "quota: 2G, backup: light }") }));
  assert.ok(model);
  const alpha = desiredStateFor(model, "alpha").backups;
  const beta = desiredStateFor(model, "beta").backups;
  const pick = (b: typeof alpha, name: string) => b?.datasets.find((d) => d.dataset === name);
  assert.deepEqual(
    alpha?.datasets.map((d) => [d.dataset, d.policy, d.unit, d.recursive]),
    [
      ["zroot/steward/data/git/repos", "standard", "zroot/steward/data/git", true],
      ["zroot/steward/data/mail/mail", "strict", "zroot/steward/data/mail/mail", false],
      ["zroot/steward/data/mail/spool", "light", "zroot/steward/data/mail/spool", false],
    ],
  );
  assert.deepEqual(pick(alpha, "zroot/steward/data/mail/mail")?.replica, { node: "beta", endpoint: { user: "root", host: "192.168.1.11", port: undefined }, every: 900 });
  assert.deepEqual(pick(alpha, "zroot/steward/data/mail/mail")?.cold, { pool: "coldbackup", every: 604_800 });
  assert.equal(pick(alpha, "zroot/steward/data/mail/spool")?.replica, undefined);
  assert.equal(pick(beta, "tank/steward/data/caldav/collections")?.replica?.node, "alpha", "beta's services replicate to alpha");
  assert.deepEqual(alpha?.recipients, ["age13uxl9eqy6y3guvycw37qneq4zvem5e2k96q8kjva97l45x0v3cgs7724ga"]);
});

test("backups: a node whose datasets have no policy gets none", async () => {
  const { model } = loadModel(await templateWith({ "cluster.yaml": (t) => t.replace("  backup: standard ", "  backup: none ") }));
  assert.ok(model);
  assert.equal(desiredStateFor(model, "pi").backups?.datasets.length, 1, "the blog names light itself");
  const noBlog = loadModel(await templateWith({ "cluster.yaml": (t) => t.replace("  backup: standard ", "  backup: none "), "services/blog.yaml": (t) => t.replace("backup: light", "backup: none") })).model;
  assert.ok(noBlog);
  const pi = desiredStateFor(noBlog, "pi").backups;
  assert.deepEqual(pi?.datasets, []);
  // What pi would drain, had it the datasets of services the manifest places elsewhere.
  assert.ok((pi?.leaving ?? []).every((d) => d.dataset.startsWith("zroot/steward/data/") && d.replica !== undefined && d.replica.node !== "pi"));
  assert.ok((pi?.leaving.length ?? 0) > 0);
});

test("drain: a node lists, as leaving, the replicated datasets of services placed on other live nodes (by its own names), their replica going to that node; a down node none", async () => {
  const model = await templateModel();
  const alpha = desiredStateFor(model, "alpha");
  const mail = alpha.backups?.leaving.find((d) => d.service === "caldav");
  assert.equal(mail?.replica?.node, "beta");
  assert.equal(mail?.dataset.startsWith(`${alpha.node.pool}/steward/data/caldav/`), true);
  assert.ok(alpha.backups?.leaving.every((d) => model.services.find((s) => s.name === d.service)?.node !== "alpha"));
  const toAlpha = (t: string): string => t.replace(/^node: beta$/m, "node: alpha");
  const down = loadModel(await templateWith({ "nodes/beta.yaml": (t) => `${t}down: true\n`, "services/caldav.yaml": toAlpha, "services/taskd.yaml": toAlpha, "services/xmpp.yaml": toAlpha })).model;
  assert.ok(down);
  assert.deepEqual(desiredStateFor(down, "beta").backups?.leaving ?? [], [], "a down node sends nothing: its services were failed over");
});

test("seed: a service's data datasets name the replica every other node would have sent here; containers and jail roots name none", async () => {
  const desired = desiredStateFor(await templateModel(), "beta");
  const caldav = desired.datasets.find((d) => d.name === "tank/steward/data/caldav/collections");
  assert.deepEqual(caldav?.seed, [
    { dataset: "tank/steward/replica/alpha/caldav/collections", node: "alpha", down: false },
    { dataset: "tank/steward/replica/pi/caldav/collections", node: "pi", down: false },
  ]);
  assert.deepEqual(desired.datasets.filter((d) => d.seed !== undefined && !d.name.startsWith("tank/steward/data/caldav/") && !d.name.startsWith("tank/steward/data/taskd/") && !d.name.startsWith("tank/steward/data/xmpp/")).map((d) => d.name), []);
});

test("seed: mail moved to beta off alpha marked down: the candidate from alpha may seed at once; alpha's policies no longer replicate to it", async () => {
  const { model, diagnostics } = loadModel(
    await templateWith({
      "nodes/alpha.yaml": (t) => `${t}down: true\n`,
      "services/mail.yaml": (t) => t.replace("node: alpha", "node: beta"),
      "services/git.yaml": (t) => t.replace("node: alpha", "node: beta").replace("expose: [22/tcp]", "expose: [2223/tcp]"),
    }),
  );
  assert.deepEqual(diagnostics.map((d) => `${d.where.file}:${d.where.line} ${d.message}`), []);
  assert.ok(model);
  const desired = desiredStateFor(model, "beta");
  assert.deepEqual(desired.datasets.find((d) => d.name === "tank/steward/data/mail/mail")?.seed, [
    { dataset: "tank/steward/replica/alpha/mail/mail", node: "alpha", down: true },
    { dataset: "tank/steward/replica/pi/mail/mail", node: "pi", down: false },
  ]);
  assert.equal(desired.backups?.datasets.find((d) => d.dataset === "tank/steward/data/caldav/collections")?.replica, undefined, "its policy's replica list is [beta, alpha]: alpha is down");
  assert.deepEqual(desiredStateFor(model, "alpha").services, [], "a down node runs nothing");
});
