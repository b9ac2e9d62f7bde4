import { test } from "node:test";
import assert from "node:assert/strict";
import { plan } from "../../agent/src/plan/plan.js";
import { renderAction, renderPlanJson, renderPlanText, renderSummary } from "../../agent/src/plan/render.js";
import { formatSize, formatValue } from "../../agent/src/drivers/zfs/properties.js";
import { containers, desiredState, ds, have, observed } from "../drivers/zfs/build.js";

const P = "tank";
const MAIL = `${P}/steward/data/mail/mail`;
const C = containers(P);
const haveC = C.map((c) => have(c.name, { mountpoint: "none" }));

function sample(): ReturnType<typeof plan> {
  return plan(
    desiredState(P, [...C, ds(MAIL, { quota: "21474836480", compression: "gzip" }), ds(`${P}/steward/data/mail/new`, { recordsize: "16384" })], [`${P}/steward/data/gone`], "0123456789abcdef0123"),
    observed(P, [...haveC, have(MAIL, { quota: "10737418240", compression: "gzip", atime: "off" }), have(`${P}/steward/data/gone`, {}, { guid: "77" }), have(`${P}/steward/data/orphan`)]),
  );
}

test("the text has one line per action, in plan order, with the terraform-like markers", () => {
  const p = sample();
  const lines = renderPlanText(p).split("\n");
  const actionLines = lines.filter((l) => /^[+~-] /.test(l));
  assert.equal(actionLines.length, p.actions.length);
  assert.deepEqual(
    actionLines.map((l) => l.slice(0, 2)),
    p.actions.map((a) => (a.kind === "zfs.create" ? "+ " : a.kind === "zfs.destroy" ? "- " : "~ ")),
  );
});

test("the text ends with the summary line", () => {
  const p = sample();
  const lines = renderPlanText(p).trimEnd().split("\n");
  assert.equal(lines.at(-1), renderSummary(p.summary));
  assert.equal(renderSummary({ create: 2, change: 1, restart: 0, remove: 0, destroy: 0, findings: 1 }), "Plan: 2 to create, 1 to change, 0 to destroy; 1 finding.");
  assert.equal(renderSummary({ create: 0, change: 0, restart: 0, remove: 0, destroy: 0, findings: 0 }), "Plan: 0 to create, 0 to change, 0 to destroy; 0 findings.");
});

test("the text lists every finding after the actions", () => {
  const p = sample();
  const text = renderPlanText(p);
  const findingLines = text.split("\n").filter((l) => l.startsWith("! "));
  assert.equal(findingLines.length, p.findings.length);
  assert.ok(text.indexOf("! ") > text.lastIndexOf("\n- "));
});

test("sizes show with units in text, as bytes in JSON", () => {
  const p = sample();
  const set = p.actions.find((a) => a.kind === "zfs.set");
  assert.ok(set !== undefined);
  assert.ok(renderAction(set).includes("quota: 10G -> 20G"));
  assert.equal(JSON.parse(renderPlanJson(p)).actions.find((a: { id: string }) => a.id === set.id).after, "21474836480");
});

test("the JSON rendering parses back to the plan", () => {
  const p = sample();
  assert.deepEqual(JSON.parse(renderPlanJson(p)), JSON.parse(JSON.stringify(p)));
});

for (const [bytes, text] of [
  ["0", "0"],
  ["512", "512"],
  ["16384", "16K"],
  ["21474836480", "20G"],
  ["1610612736", "1536M"],
  ["1000", "1000"],
  ["none", "none"],
] as const) {
  test(`formats ${bytes} bytes as ${text}`, () => assert.equal(formatSize(bytes), text));
}

test("an unset quota reads none; other properties pass through", () => {
  assert.equal(formatValue("quota", "0"), "none");
  assert.equal(formatValue("compression", "gzip"), "gzip");
  assert.equal(formatValue("recordsize", "131072"), "128K");
});
