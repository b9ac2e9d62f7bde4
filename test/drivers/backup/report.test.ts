/**
 * How old backups are, pure: each dataset's newest snapshot and recorded copies against its
 * policy, the status document's `backups` and its BackupOverdue condition (a new snapshot is a
 * heartbeat, a copy becoming overdue is a change), and `steward backup status`'s table.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { renderBackupStatus } from "../../../agent/src/cli/backup.js";
import { snapshotName } from "../../../agent/src/drivers/backup/names.js";
import { backupReport, coldDisks, overdueCopies } from "../../../agent/src/drivers/backup/report.js";
import { buildStatus, isHeartbeatOnly, parseStatus, renderStatus, type StatusInputs } from "../../../agent/src/status/document.js";
import type { BackupState } from "../../../agent/src/drivers/backup/types.js";
import { at, dsBackup, local, snap } from "./build.js";

const P = "tank";
const MAIL = `${P}/steward/data/mail/mail`;
const q = (iso: string): string => snapshotName("frequent", at(iso));
const D = dsBackup(P, "mail", "mail", { frequent: 4, hourly: 24 }, { policy: "strict", replica: { node: "beta", endpoint: undefined, every: 3600 }, cold: { pool: "coldbackup", every: 604_800 } });

function report(nowIso: string, replicaAt?: string) {
  const targets: BackupState["targets"] = replicaAt === undefined ? {} : { [MAIL]: { "replica-beta": { snapshot: q(replicaAt), at: 0 } } };
  const state: BackupState = { version: 1, targets, failures: {} };
  return backupReport([D], { [MAIL]: local(MAIL, [snap(q("2026-12-07T07:45:00Z")), snap(q("2026-12-07T08:00:00Z"))]) }, state, at(nowIso));
}

test("ages against the policy: snapshots may be two slots old, a replica `every` more, a cold disk its `every`; none yet is overdue", () => {
  const r = report("2026-12-07T08:10:00Z", "2026-12-07T07:45:00Z");
  assert.deepEqual(r[0]?.copies, [
    { kind: "snapshot", target: "local", newest: q("2026-12-07T08:00:00Z"), at: "2026-12-07T08:00:00Z", ageSeconds: 600, maxAgeSeconds: 1800, overdue: false },
    { kind: "replica", target: "beta", newest: q("2026-12-07T07:45:00Z"), at: "2026-12-07T07:45:00Z", ageSeconds: 1500, maxAgeSeconds: 5400, overdue: false },
    { kind: "cold", target: "coldbackup", newest: null, at: null, ageSeconds: null, maxAgeSeconds: 604_800, overdue: true },
  ]);
  const late = report("2026-12-07T09:30:00Z", "2026-12-07T07:45:00Z");
  assert.deepEqual(overdueCopies(late), [`${MAIL}: newest snapshot 90m old (allowed 30m)`, `${MAIL}: replica on beta 105m old (allowed 90m)`, `${MAIL}: no cold on coldbackup yet`]);
});

test("the status report: backups listed, BackupOverdue a warning naming what; a newer snapshot is a heartbeat, an overdue copy a change", () => {
  const inputs = (nowIso: string, replicaAt: string): StatusInputs => ({ node: "alpha", agentVersion: "0", services: [], host: { architecture: "amd64", osVersion: "14.2", pools: [] }, backups: report(nowIso, replicaAt) });
  const first = buildStatus(undefined, inputs("2026-12-07T08:10:00Z", "2026-12-07T07:45:00Z"), at("2026-12-07T08:10:00Z"));
  const overdue = first.conditions.find((c) => c.type === "BackupOverdue");
  assert.deepEqual([overdue?.severity, overdue?.reason], ["Warning", "CopyOverdue"]);
  assert.match(overdue?.message ?? "", /cold on coldbackup missing/);
  assert.equal(first.conditions.find((c) => c.type === "Ready")?.status, "True", "a warning: the node is converged");
  assert.deepEqual(parseStatus(renderStatus(first)), first, "renders and reads back");

  const later = buildStatus(first, inputs("2026-12-07T08:20:00Z", "2026-12-07T08:00:00Z"), at("2026-12-07T08:20:00Z"));
  assert.ok(isHeartbeatOnly(first, later), "newer snapshots and copies are heartbeat fields");
  const worse = buildStatus(first, inputs("2026-12-07T09:40:00Z", "2026-12-07T08:00:00Z"), at("2026-12-07T09:40:00Z"));
  assert.ok(!isHeartbeatOnly(first, worse), "a copy becoming overdue is a change");
});

test("steward backup status prints one line per copy, OVERDUE where it is", () => {
  const text = renderBackupStatus(report("2026-12-07T08:10:00Z", "2026-12-07T07:45:00Z"));
  const lines = text.split("\n");
  assert.match(lines[0] ?? "", /^DATASET +POLICY +COPY +NEWEST +AGE +ALLOWED$/);
  assert.match(lines[1] ?? "", new RegExp(`^${MAIL} +strict +snapshot +2026-12-07T08:00:00Z +10m +30m +ok$`));
  assert.match(lines[2] ?? "", /^ +replica beta +2026-12-07T07:45:00Z +25m +90m +ok$/);
  assert.match(lines[3] ?? "", /^ +cold coldbackup +none yet +- +7d +OVERDUE$/);
  assert.equal(renderBackupStatus([]), "no dataset of this node has a backup policy");
});

test("cold disks: plugged in (do not unplug), exported by Steward (can be unplugged), or away; in the status report", () => {
  const state: BackupState = { version: 1, targets: {}, failures: {}, disks: { coldbackup: { exportedAt: at("2026-12-07T08:05:00Z") } } };
  assert.deepEqual(coldDisks([D], [], state), [{ pool: "coldbackup", imported: false, exportedAt: "2026-12-07T08:05:00Z", canUnplug: true }]);
  assert.deepEqual(coldDisks([D], ["coldbackup"], state)[0]?.canUnplug, false);
  assert.deepEqual(coldDisks([D], [], { ...state, disks: {} })[0], { pool: "coldbackup", imported: false, exportedAt: null, canUnplug: false });
  const doc = buildStatus(undefined, { node: "alpha", agentVersion: "0", services: [], host: { architecture: "amd64", osVersion: "14.2", pools: [] }, coldDisks: coldDisks([D], [], state) }, at("2026-12-07T09:00:00Z"));
  assert.deepEqual(parseStatus(renderStatus(doc))?.coldDisks, [{ pool: "coldbackup", imported: false, exportedAt: "2026-12-07T08:05:00Z", canUnplug: true }]);
});
