import { test } from "node:test";
import assert from "node:assert/strict";
import { nextAppliedRecord, parseAppliedRecord, renderAppliedRecord, type RecordOutcome } from "../../../agent/src/drivers/zfs/record.js";
import { planDatasets } from "../../../agent/src/drivers/zfs/plan.js";
import { zfsDriver } from "../../../agent/src/drivers/zfs/driver.js";
import type { ZfsObserved } from "../../../agent/src/drivers/zfs/types.js";
import type { DesiredState } from "../../../agent/src/manifest/types.js";
import type { ObservedState } from "../../../agent/src/plan/types.js";
import { containers, desiredState, ds, have, observed } from "./build.js";

const P = "tank";
const MAIL = `${P}/steward/data/mail/mail`;
const C = containers(P);
const props = { quota: "21474836480", compression: "gzip" };

/** The ZFS part of the plan, as the driver plans it. */
function plan(desired: DesiredState, o: ObservedState): ReturnType<typeof planDatasets> {
  return planDatasets(zfsDriver.slice(desired), o["zfs"] as ZfsObserved);
}

function outcomes(p: ReturnType<typeof plan>, status: (id: string) => RecordOutcome): Map<string, RecordOutcome> {
  return new Map(p.actions.map((a) => [a.id, status(a.id)]));
}

test("records the manifest's values for every converged dataset", () => {
  const desired = desiredState(P, [...C, ds(MAIL, props)]);
  const p = plan(desired, observed(P, []));
  const next = nextAppliedRecord({ version: 1, datasets: {} }, desired.datasets, p, outcomes(p, () => "applied"));
  assert.deepEqual(Object.keys(next.datasets), [...C.map((c) => c.name), MAIL].sort());
  assert.deepEqual(next.datasets[MAIL], props);
});

test("a failed create records nothing for that dataset", () => {
  const desired = desiredState(P, [...C, ds(MAIL, props)]);
  const p = plan(desired, observed(P, C.map((c) => have(c.name, { mountpoint: "none" }))));
  const next = nextAppliedRecord({ version: 1, datasets: {} }, desired.datasets, p, outcomes(p, () => "failed"));
  assert.equal(next.datasets[MAIL], undefined);
});

test("a failed set keeps the previous value, so the next plan still sees a manifest change", () => {
  const desired = desiredState(P, [...C, ds(MAIL, props)]);
  const before = { [MAIL]: { ...props, quota: "10737418240" } };
  const p = plan(desired, observed(P, [...C.map((c) => have(c.name, { mountpoint: "none" })), have(MAIL, { ...props, quota: "10737418240", compression: "off" })], before));
  const next = nextAppliedRecord({ version: 1, datasets: before }, desired.datasets, p, outcomes(p, (id) => (id.endsWith(":quota") ? "failed" : "applied")));
  assert.deepEqual(next.datasets[MAIL], { compression: "gzip", quota: "10737418240" });
});

test("conflicts and datasets the manifest dropped are not recorded", () => {
  const desired = desiredState(P, [...C, ds(MAIL, props)]);
  const p = plan(desired, observed(P, [...C.map((c) => have(c.name, { mountpoint: "none" })), have(MAIL, props, { managed: false })]));
  const next = nextAppliedRecord({ version: 1, datasets: { [`${P}/steward/data/old`]: {} } }, desired.datasets, p, new Map());
  assert.equal(next.datasets[MAIL], undefined);
  assert.equal(next.datasets[`${P}/steward/data/old`], undefined);
});

test("a record round-trips through its file text", () => {
  const r = { version: 1 as const, datasets: { [MAIL]: props } };
  assert.deepEqual(parseAppliedRecord(renderAppliedRecord(r)), { record: r, valid: true });
});

for (const [name, text] of [
  ["torn JSON", '{"version":1,"datas'],
  ["another version", '{"version":2,"datasets":{}}'],
  ["a non-string value", '{"version":1,"datasets":{"a":{"quota":1}}}'],
  ["an array", "[]"],
] as const) {
  test(`an unreadable record (${name}) reads as empty and invalid`, () => {
    assert.deepEqual(parseAppliedRecord(text), { record: { version: 1, datasets: {} }, valid: false });
  });
}
