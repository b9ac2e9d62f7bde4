/**
 * A drain's final copy (drivers/backup/drain.ts; docs/backups.md, "Failover and drain"): when
 * the manifest moves a service to another live node, the node it leaves sends that node the
 * final copy of each replicated dataset, after the jail stopped. Pure.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { finalCopy } from "../../../agent/src/drivers/backup/drain.js";
import { finalSnapshotName, snapshotName } from "../../../agent/src/drivers/backup/names.js";
import { planBackups } from "../../../agent/src/drivers/backup/plan.js";
import { EMPTY_BACKUP_STATE, type BackupDesired, type BackupObserved } from "../../../agent/src/drivers/backup/types.js";
import { at, dsBackup, local, nodeBackups, observedAt, snap } from "./build.js";

const P = "tank";
const MAIL = `${P}/steward/data/mail/mail`;
const NOW = at("2026-12-07T10:00:30Z");
const h = (hh: string): string => snapshotName("hourly", at(`2026-12-07T${hh}:00:00Z`));
const FINAL = finalSnapshotName(NOW);
// mail moved to beta: alpha's dataset leaves, its replica going to beta.
const LEAVING = dsBackup(P, "mail", "mail", { hourly: 3 }, { unit: MAIL, recursive: false, replica: { node: "beta", endpoint: { user: "root", host: "beta.home.arpa", port: undefined }, every: 0 } });
const host = { key: "/k", knownHosts: "/kh", identity: undefined };

function slice(withHost = true): BackupDesired {
  return { node: "alpha", pool: P, backups: nodeBackups([], { leaving: [LEAVING] }), destroy: [], host: withHost ? host : undefined };
}

function observed(snapshots: string[], betaHolds: string[] | undefined, state = EMPTY_BACKUP_STATE): BackupObserved {
  const base = observedAt(P, NOW, [local(MAIL, snapshots.map((s) => snap(s)))]);
  return { ...base, state, targets: { "replica-beta": { kind: "seen", features: "legacy", datasets: betaHolds === undefined ? {} : { "mail/mail": { snapshots: betaHolds.map((s) => ({ name: s, guid: `g-${s}` })) } } } } };
}

test("the final copy a leaving dataset needs: a new one while its newest is periodic; the final one again while beta is not recorded to hold it; none once it is, while a failure backs off, or when the dataset is not here", () => {
  assert.deepEqual(finalCopy(LEAVING, local(MAIL, [snap(h("08")), snap(h("09"))]), EMPTY_BACKUP_STATE, NOW), { snapshot: FINAL, take: true });
  const sent = finalSnapshotName(at("2026-12-07T09:30:00Z"));
  assert.deepEqual(finalCopy(LEAVING, local(MAIL, [snap(h("09")), snap(sent)]), EMPTY_BACKUP_STATE, NOW), { snapshot: sent, take: false });
  const recorded = { ...EMPTY_BACKUP_STATE, targets: { [MAIL]: { "replica-beta": { snapshot: sent, at: NOW } } } };
  assert.equal(finalCopy(LEAVING, local(MAIL, [snap(h("09")), snap(sent)]), recorded, NOW), undefined, "done");
  const failing = { ...EMPTY_BACKUP_STATE, failures: { [`${MAIL} replica-beta`]: { at: NOW - 60_000, count: 1 } } };
  assert.equal(finalCopy(LEAVING, local(MAIL, [snap(h("09"))]), failing, NOW), undefined, "backs off five minutes");
  assert.equal(finalCopy(LEAVING, undefined, EMPTY_BACKUP_STATE, NOW), undefined);
  assert.equal(finalCopy(LEAVING, local(MAIL, [snap(h("09"))], false), EMPTY_BACKUP_STATE, NOW), undefined, "not Steward's");
});

test("a drain: after the jail stops, the final snapshot is taken and sent from the newest snapshot beta holds, as a teardown that needs the jail", () => {
  const p = planBackups(slice(), observed([h("08"), h("09")], [h("08"), h("09")]));
  assert.deepEqual(p.findings, []);
  const [a] = p.actions;
  assert.ok(a?.kind === "backup.send");
  assert.equal(a.teardown, true);
  assert.deepEqual(a.needs, ["jail:mail"]);
  assert.equal(a.snapshot, FINAL);
  assert.deepEqual(a.from, { snapshot: h("09") });
  const argvs = a.steps.map((s) => ("pipeline" in s ? s.pipeline.map((x) => (x[0] === "ssh" ? `ssh … ${x[x.length - 1] ?? ""}` : x.join(" "))) : "argv" in s ? s.argv.join(" ") : ""));
  assert.deepEqual(argvs.slice(0, 2), [`zfs snapshot ${MAIL}@${FINAL}`, [`zfs send -I @${h("09")} ${MAIL}@${FINAL}`, "ssh … receive mail/mail"]]);
  assert.match(a.reason, /mail now runs on beta: the final copy, taken here after its jail stopped, goes to beta/);
  assert.ok(p.resources.includes(a.resource));
});

test("beta holds no copy yet: the final copy is sent whole; no backup_known_hosts: a finding, nothing sent", () => {
  const whole = planBackups(slice(), observed([h("09")], undefined)).actions[0];
  assert.ok(whole?.kind === "backup.send");
  assert.equal(whole.from, undefined);
  const unconfigured = planBackups(slice(false), observed([h("09")], undefined));
  assert.deepEqual(unconfigured.actions, []);
  assert.deepEqual(unconfigured.findings.map((f) => f.kind), ["target-unconfigured"]);
  assert.match(unconfigured.findings[0]?.message ?? "", /final copy of .* cannot be sent there/);
});
