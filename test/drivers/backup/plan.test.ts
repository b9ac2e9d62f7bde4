import assert from "node:assert/strict";
import { test } from "node:test";
import { compareSnapshotNames, parseSnapshotName, periodIndex, snapshotName } from "../../../agent/src/drivers/backup/names.js";
import { dueKinds, planBackups } from "../../../agent/src/drivers/backup/plan.js";
import { retainedSnapshots } from "../../../agent/src/drivers/backup/retention.js";
import { planDatasets } from "../../../agent/src/drivers/zfs/plan.js";
import { at, dsBackup, local, observedAt, slice, snap } from "./build.js";

const P = "tank";
const UNIT = `${P}/steward/data/mail`;
const MAIL = `${UNIT}/mail`;
const SPOOL = `${UNIT}/spool`;
const name = (kind: Parameters<typeof snapshotName>[0], iso: string): string => snapshotName(kind, at(iso));

test("snapshot names carry the kind and the UTC time to the second, and read back", () => {
  const n = snapshotName("hourly", at("2026-12-07T08:00:00.750Z"));
  assert.equal(n, "steward_2026-12-07_08:00:00_hourly");
  assert.deepEqual(parseSnapshotName(n), { kind: "hourly", at: at("2026-12-07T08:00:00Z") });
  for (const other of ["autosnap_2026-12-07_08:00:00_hourly", "steward_2026-12-07_08:00:00_yearly", "steward", "steward_2026-13-07_08:00:00_daily"]) assert.equal(parseSnapshotName(other), undefined, other);
  assert.ok(compareSnapshotNames(name("daily", "2026-12-07T00:00:00Z"), name("frequent", "2026-12-07T00:15:00Z")) < 0);
});

test("windows: weeks start on Monday, months are calendar months", () => {
  assert.equal(periodIndex("weekly", at("2026-12-06T23:59:59Z")), periodIndex("weekly", at("2026-11-30T00:00:00Z")), "Sunday is in the week of the Monday before");
  assert.equal(periodIndex("weekly", at("2026-12-07T00:00:00Z")), periodIndex("weekly", at("2026-12-06T00:00:00Z")) + 1, "Monday starts a week");
  assert.equal(periodIndex("monthly", at("2026-12-31T23:59:59Z")) + 1, periodIndex("monthly", at("2027-01-01T00:00:00Z")));
  assert.equal(periodIndex("frequent", at("2026-12-07T08:14:59Z")) + 1, periodIndex("frequent", at("2026-12-07T08:15:00Z")));
});

for (const c of [
  { name: "a unit with no snapshot gets every kind its policy keeps", keep: { hourly: 24, daily: 7 }, names: [], now: "2026-12-07T08:20:00Z", want: ["hourly", "daily"] },
  { name: "a kind is not due again in the same window", keep: { hourly: 24, daily: 7 }, names: [name("hourly", "2026-12-07T08:00:00Z"), name("daily", "2026-12-07T00:00:00Z")], now: "2026-12-07T08:59:59Z", want: [] },
  { name: "the next window makes it due", keep: { hourly: 24, daily: 7 }, names: [name("hourly", "2026-12-07T08:00:00Z"), name("daily", "2026-12-07T00:00:00Z")], now: "2026-12-07T09:00:00Z", want: ["hourly"] },
  { name: "a kind kept 0 is never taken", keep: { frequent: 0, hourly: 2 }, names: [], now: "2026-12-07T09:00:00Z", want: ["hourly"] },
  { name: "a snapshot from a clock set back counts as present", keep: { hourly: 2 }, names: [name("hourly", "2026-12-08T09:00:00Z")], now: "2026-12-07T09:00:00Z", want: [] },
] as const) {
  test(`due: ${c.name}`, () => assert.deepEqual(dueKinds(c.keep, c.names, at(c.now)), c.want));
}

test("retention keeps the newest N of each kind, and nothing of a kind the policy does not keep", () => {
  const h = ["05", "06", "07", "08"].map((hh) => name("hourly", `2026-12-07T${hh}:00:00Z`));
  const d = name("daily", "2026-12-07T00:00:00Z");
  const f = name("frequent", "2026-12-07T08:15:00Z");
  assert.deepEqual([...retainedSnapshots({ hourly: 2, daily: 1 }, [...h, d, f])].sort(), [h[2], h[3], d].sort());
});

test("first run: one atomic snapshot per due kind of the service's container, after its datasets exist", () => {
  const s = slice(P, [dsBackup(P, "mail", "mail", { frequent: 4, hourly: 24, daily: 7 }), dsBackup(P, "mail", "spool", { frequent: 4, hourly: 24, daily: 7 })]);
  const p = planBackups(s, observedAt(P, at("2026-12-07T08:20:00Z"), []));
  assert.deepEqual(p.resources, [`backup:${UNIT}`]);
  assert.equal(p.actions.length, 1);
  const a = p.actions[0];
  assert.ok(a?.kind === "backup.snapshot");
  assert.deepEqual(a.needs, [`zfs:${UNIT}`, `zfs:${MAIL}`, `zfs:${SPOOL}`]);
  assert.deepEqual(
    a.steps.map((x) => ("argv" in x ? x.argv : [])),
    ["frequent", "hourly", "daily"].map((k) => ["zfs", "snapshot", "-r", `${UNIT}@steward_2026-12-07_08:20:00_${k}`]),
  );
  assert.equal(a.cause, "due");
});

test("prune: past retention destroyed with -r on the unit, counting what is taken now; held snapshots and the newest kept", () => {
  const hours = ["04", "05", "06", "07", "08"].map((hh) => name("hourly", `2026-12-07T${hh}:00:00Z`));
  const onUnit = hours.map((n, i) => snap(n, i === 1 ? 1 : 0));
  const s = slice(P, [dsBackup(P, "mail", "mail", { hourly: 3 })]);
  const p = planBackups(s, observedAt(P, at("2026-12-07T09:05:00Z"), [local(UNIT, onUnit), local(MAIL, hours.map((n) => snap(n)))]));
  assert.deepEqual(p.actions.map((a) => a.kind), ["backup.snapshot", "backup.prune"]);
  const prune = p.actions[1];
  assert.ok(prune?.kind === "backup.prune");
  // Retention with 09:00 taken now keeps 07, 08, 09; 05 is held: 04 and 06 go.
  assert.deepEqual(prune.snapshots, [hours[0], hours[2]]);
  assert.deepEqual(prune.kept, [hours[1]]);
  assert.deepEqual(prune.steps.map((x) => ("argv" in x ? x.argv : [])), [["zfs", "destroy", "-r", `${UNIT}@${hours[0]}`], ["zfs", "destroy", "-r", `${UNIT}@${hours[2]}`]]);
});

test("prune: the newest Steward snapshot stays even when its kind is no longer kept", () => {
  const d = name("daily", "2026-12-07T01:00:00Z");
  const s = slice(P, [dsBackup(P, "mail", "mail", { weekly: 4 }, { unit: MAIL, recursive: false })]);
  const p = planBackups(s, observedAt(P, at("2026-12-07T09:00:00Z"), [local(MAIL, [snap(name("weekly", "2026-12-07T00:00:00Z")), snap(d)])]));
  assert.deepEqual(p.actions, [], "the weekly of this week exists; the daily is the newest");
});

test("a dataset listed for destroy with only Steward snapshots: they are cleared first, as teardown, and the ZFS destroy goes ahead saying so", () => {
  const old = `${P}/steward/data/old/www`;
  const snaps = [snap(name("hourly", "2026-12-07T07:00:00Z")), snap(name("hourly", "2026-12-07T08:00:00Z"))];
  const p = planBackups(slice(P, [], [old]), observedAt(P, at("2026-12-07T09:00:00Z"), [local(old, snaps)]));
  assert.equal(p.actions.length, 1);
  const clear = p.actions[0];
  assert.ok(clear?.kind === "backup.clear");
  assert.deepEqual([clear.teardown, clear.effect, clear.cause], [true, "destroy", "listed-for-destroy"]);
  assert.deepEqual(clear.steps.map((x) => ("argv" in x ? x.argv : [])), snaps.map((s) => ["zfs", "destroy", `${old}@${s.name}`]));
  assert.deepEqual(p.findings, []);

  const zfs = planDatasets(
    { pool: P, datasets: [], destroy: [old] },
    { root: `${P}/steward`, rootExists: true, applied: { version: 1, datasets: {} }, datasets: [{ name: old, managed: true, guid: "7", snapshots: 2, snapshotNames: snaps.map((s) => s.name), properties: {} }] },
  );
  assert.deepEqual(zfs.actions.map((a) => a.kind), ["zfs.destroy"]);
  assert.match(zfs.actions[0]?.reason ?? "", /2 backup snapshots are destroyed first/);
});

test("a destroy is never blocked silently: another snapshot refuses it in the ZFS plan, and nothing of Steward's is cleared", () => {
  const old = `${P}/steward/data/old/www`;
  const names = [name("hourly", "2026-12-07T08:00:00Z"), "by-hand"];
  assert.deepEqual(planBackups(slice(P, [], [old]), observedAt(P, at("2026-12-07T09:00:00Z"), [local(old, names.map((n) => snap(n)))])).actions, []);
  const zfs = planDatasets(
    { pool: P, datasets: [], destroy: [old] },
    { root: `${P}/steward`, rootExists: true, applied: { version: 1, datasets: {} }, datasets: [{ name: old, managed: true, guid: "7", snapshots: 2, snapshotNames: names, properties: {} }] },
  );
  assert.deepEqual(zfs.actions, []);
  assert.deepEqual(zfs.findings.map((f) => [f.kind, "because" in f ? f.because : ""]), [["destroy-refused", "has-snapshots"]]);
  assert.match(zfs.findings[0]?.message ?? "", /@by-hand/);
});

test("a destroy is never blocked silently: a hold Steward did not place is a finding on the snapshot", () => {
  const old = `${P}/steward/data/old/www`;
  const held = name("hourly", "2026-12-07T08:00:00Z");
  const p = planBackups(slice(P, [], [old]), observedAt(P, at("2026-12-07T09:00:00Z"), [local(old, [snap(held, 1)])]));
  assert.deepEqual(p.findings.map((f) => [f.kind, f.subject]), [["hold-unknown", `${old}@${held}`]]);
  assert.match(p.findings[0]?.message ?? "", /zfs holds/);
});

test("the ZFS plan leaves the backup driver's trees alone (replicas from peers, drills, restores)", () => {
  const zfs = planDatasets(
    { pool: P, datasets: [], destroy: [] },
    { root: `${P}/steward`, rootExists: true, applied: { version: 1, datasets: {} }, datasets: [`${P}/steward/replica`, `${P}/steward/replica/beta/caldav/collections`, `${P}/steward/drill/mail/mail`].map((n) => ({ name: n, managed: false, guid: "1", snapshots: 0, properties: {} })) },
  );
  assert.deepEqual(zfs.findings, []);
});
