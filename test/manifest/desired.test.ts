import assert from "node:assert/strict";
import { test } from "node:test";
import { desiredStateFor, parseSize } from "../../agent/src/manifest/desired.js";
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
