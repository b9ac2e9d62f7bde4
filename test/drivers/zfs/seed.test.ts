/**
 * Seeding an absent dataset from a replica here (docs/backups.md, "Failover and drain"): the
 * ZFS plan's choice between seeding, waiting and creating empty. Pure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { planDatasets } from "../../../agent/src/drivers/zfs/plan.js";
import { zfsDriver } from "../../../agent/src/drivers/zfs/driver.js";
import type { ObservedDataset, ZfsObserved, ZfsSeedAction } from "../../../agent/src/drivers/zfs/types.js";
import type { DatasetSpec, SeedCandidate } from "../../../agent/src/manifest/types.js";
import { finalSnapshotName, snapshotName } from "../../../agent/src/drivers/backup/names.js";
import { containers, ds, have } from "./build.js";

const P = "tank";
const MAIL = `${P}/steward/data/mail/mail`;
const FROM_ALPHA = `${P}/steward/replica/alpha/mail/mail`;
const FROM_GAMMA = `${P}/steward/replica/gamma/mail/mail`;
const NOW = Date.parse("2026-12-07T10:00:00Z");
const MIN = 60_000;
const C = containers(P);
const haveC: ObservedDataset[] = C.map((c) => have(c.name, { mountpoint: "none" }));

const seed = (alphaDown = false, gammaDown = false): SeedCandidate[] => [
  { dataset: FROM_ALPHA, node: "alpha", down: alphaDown },
  { dataset: FROM_GAMMA, node: "gamma", down: gammaDown },
];
const mail = (candidates: SeedCandidate[]): DatasetSpec => ({ ...ds(MAIL, { compression: "gzip", mountpoint: "/jails/mail/var/mail" }), seed: candidates });
/** A replica (no marker: steward-receive made it) holding these snapshots. */
const replica = (name: string, snapshots: string[]): ObservedDataset => ({ ...have(name, { mountpoint: { value: "none", source: "inherited", inheritedFrom: `${P}/steward/replica` } }, { managed: false, snapshots: snapshots.length }), snapshotNames: [...snapshots].sort() });
const replicaTree = (...nodes: string[]): ObservedDataset[] => [`${P}/steward/replica`, ...nodes.flatMap((n) => [`${P}/steward/replica/${n}`, `${P}/steward/replica/${n}/mail`])].map((n) => have(n, { mountpoint: "none" }, { managed: false }));
const zfs = (datasets: ObservedDataset[]): ZfsObserved => ({ root: `${P}/steward`, rootExists: true, datasets, applied: { version: 1, datasets: {} }, nowMs: NOW });

const hourly = (minutesAgo: number): string => snapshotName("hourly", NOW - minutesAgo * MIN);
const final = (minutesAgo: number): string => finalSnapshotName(NOW - minutesAgo * MIN);

test("no candidate replica here: created empty, as a new service", () => {
  const part = planDatasets({ pool: P, datasets: [...C, mail(seed())], destroy: [] }, zfs([...haveC]));
  assert.deepEqual(part.actions.map((a) => a.id), [`zfs.create:${MAIL}`]);
  assert.deepEqual(part.findings, []);
});

test("a candidate replica without a Steward snapshot (an interrupted first receive) does not count: created empty", () => {
  const part = planDatasets({ pool: P, datasets: [...C, mail(seed())], destroy: [] }, zfs([...haveC, ...replicaTree("alpha"), replica(FROM_ALPHA, [])]));
  assert.deepEqual(part.actions.map((a) => a.id), [`zfs.create:${MAIL}`]);
});

test("failover: alpha marked down, its replica seeds at once from its newest snapshot, whatever its age; marker and properties set, mountpoint last, then mounted", () => {
  const part = planDatasets({ pool: P, datasets: [...C, mail(seed(true))], destroy: [] }, zfs([...haveC, ...replicaTree("alpha"), replica(FROM_ALPHA, [hourly(100), hourly(40)])]));
  assert.deepEqual(part.findings, []);
  assert.deepEqual(part.actions.map((a) => a.id), [`zfs.seed:${MAIL}`]);
  const a = part.actions[0] as ZfsSeedAction;
  assert.deepEqual([a.source, a.from, a.snapshot, a.because, a.takenAt, a.effect, a.cause], [FROM_ALPHA, "alpha", hourly(40), "down", NOW - 40 * MIN, "create", "missing"]);
  assert.deepEqual(a.needs, [`zfs:${P}/steward/data/mail`]);
  assert.deepEqual(a.steps, [
    { pipeline: [["zfs", "send", `${FROM_ALPHA}@${hourly(40)}`], ["zfs", "receive", MAIL]], timeoutMs: 12 * 3600_000 },
    { argv: ["zfs", "set", "org.steward:managed=yes", MAIL] },
    { argv: ["zfs", "set", "compression=gzip", MAIL] },
    { argv: ["zfs", "set", "mountpoint=/jails/mail/var/mail", MAIL] },
    { argv: ["zfs", "mount", MAIL], already: ["filesystem already mounted"] },
  ]);
  assert.equal(a.reason, `does not exist: seeded from the replica of alpha's mail/mail kept here, snapshot ${hourly(40)}, taken 40m ago (alpha is marked down: what was written there after this snapshot is lost)`);
  assert.match(zfsDriver.renderAction(a), new RegExp(`^\\+ seed    ${MAIL} from ${FROM_ALPHA}@${hourly(40)} \\(compression=gzip mountpoint=/jails/mail/var/mail\\)  \\(does not exist: seeded`));
  assert.deepEqual(part.resources.includes(`zfs:${MAIL}`), true);
});

test("drain: a replica whose newest snapshot is the old node's final copy seeds, though the node is alive", () => {
  const part = planDatasets({ pool: P, datasets: [...C, mail(seed())], destroy: [] }, zfs([...haveC, ...replicaTree("alpha"), replica(FROM_ALPHA, [hourly(70), final(2)])]));
  const a = part.actions[0] as ZfsSeedAction;
  assert.deepEqual([part.actions.length, a.kind, a.snapshot, a.because], [1, "zfs.seed", final(2), "final"]);
  assert.match(a.reason, /taken 2m ago \(alpha's final copy after its jail stopped: nothing lost\)$/);
});

test("drain not done yet: no dataset is made; a blocking finding says what it waits for and how to fail over instead", () => {
  const plan = planDatasets({ pool: P, datasets: [...C, mail(seed())], destroy: [] }, zfs([...haveC, ...replicaTree("alpha"), replica(FROM_ALPHA, [hourly(40)])]));
  assert.deepEqual(plan.actions, []);
  assert.equal(plan.findings.length, 1);
  const f = plan.findings[0];
  assert.ok(f?.kind === "seed-waiting");
  assert.deepEqual([f.resource, f.blocking, f.replicas], [`zfs:${MAIL}`, true, [{ dataset: FROM_ALPHA, node: "alpha", snapshot: hourly(40) }]]);
  assert.match(f.message, /^not created: alpha's replica of mail\/mail here .* taken 40m ago, but not its final copy\./);
  assert.match(f.message, /alpha's next run stops the jail and sends its final copy here/);
  assert.match(f.message, /mark it down \(nodes\/alpha\.yaml: down: true\)/);
});

test("an older final copy does not count when a newer periodic snapshot followed it (the service came back and left again)", () => {
  const plan = planDatasets({ pool: P, datasets: [...C, mail(seed())], destroy: [] }, zfs([...haveC, ...replicaTree("alpha"), replica(FROM_ALPHA, [final(600), hourly(40)])]));
  assert.deepEqual([plan.actions.length, plan.findings.map((f) => f.kind)], [0, ["seed-waiting"]]);
});

test("among the replicas allowed to seed, the newest snapshot wins; one not allowed is passed over, however new", () => {
  const datasets = [...haveC, ...replicaTree("alpha", "gamma"), replica(FROM_ALPHA, [hourly(300)]), replica(FROM_GAMMA, [hourly(30)])];
  const both = planDatasets({ pool: P, datasets: [...C, mail(seed(true, true))], destroy: [] }, zfs(datasets));
  assert.equal((both.actions[0] as ZfsSeedAction).source, FROM_GAMMA);
  const onlyAlpha = planDatasets({ pool: P, datasets: [...C, mail(seed(true, false))], destroy: [] }, zfs(datasets));
  assert.deepEqual([(onlyAlpha.actions[0] as ZfsSeedAction).source, onlyAlpha.findings], [FROM_ALPHA, []]);
});

test("an existing dataset is never seeded, whatever the replicas hold", () => {
  const plan = planDatasets({ pool: P, datasets: [...C, mail(seed(true))], destroy: [] }, zfs([...haveC, have(MAIL, { compression: "gzip", mountpoint: "/jails/mail/var/mail", mounted: "yes" }), ...replicaTree("alpha"), replica(FROM_ALPHA, [hourly(40)])]));
  assert.deepEqual([plan.actions, plan.findings], [[], []]);
});

test("without a clock (an observation made elsewhere) the reason says when the snapshot was taken", () => {
  const { nowMs: _, ...noClock } = zfs([...haveC, ...replicaTree("alpha"), replica(FROM_ALPHA, [hourly(40)])]);
  const plan = planDatasets({ pool: P, datasets: [...C, mail(seed(true))], destroy: [] }, noClock);
  assert.match((plan.actions[0] as ZfsSeedAction).reason, /taken at 2026-12-07T09:20:00Z/);
});

test("a dataset here whose newest snapshot is a drain's final copy (its service moved away and back) is never used as it is: handed-over, blocking", () => {
  const stale: ObservedDataset = { ...have(MAIL, { compression: "gzip", mountpoint: "/jails/mail/var/mail" }), snapshotNames: [hourly(200), final(180)] };
  const part = planDatasets({ pool: P, datasets: [...C, mail(seed())], destroy: [] }, zfs([...haveC, stale]));
  assert.deepEqual(part.actions, []);
  assert.deepEqual(part.findings.map((f) => [f.kind, f.blocking]), [["handed-over", true]]);
  assert.match(part.findings[0]?.message ?? "", new RegExp(`${final(180)}.*zfs rename ${MAIL} ${MAIL}-old`));
  const current: ObservedDataset = { ...stale, snapshotNames: [final(180), hourly(60)] };
  assert.deepEqual(planDatasets({ pool: P, datasets: [...C, mail(seed())], destroy: [] }, zfs([...haveC, current])).findings, [], "a periodic snapshot after it: the service ran here since");
});
