/**
 * How old backups are, pure: each dataset's newest snapshot and recorded copies against its
 * policy, the status document's `backups` and its BackupOverdue condition (a new snapshot is a
 * heartbeat, a copy becoming overdue is a change), and `steward backup status`'s table; the
 * transfer in flight from the progress file, as a line (a bar on a terminal) and followed.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { followTransfers, frame, progressBar, renderBackupStatus, renderTransfers } from "../../../agent/src/cli/backup.js";
import { humanBytes } from "../../../agent/src/apply/progress.js";
import type { ProgressRecord } from "../../../agent/src/apply/progress-file.js";
import { snapshotName } from "../../../agent/src/drivers/backup/names.js";
import { backupReport, coldDisks, overdueCopies, transfersReport, type TransferReport } from "../../../agent/src/drivers/backup/report.js";
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

const MiB = 1024 * 1024;
function progress(over: Partial<ProgressRecord>): ProgressRecord {
  return { version: 1, pid: 1, action: `backup.send:${MAIL}:cold-coldbackup`, driver: "backup", resource: `backup:${MAIL}#cold-coldbackup`, startedAt: "2026-12-07T08:00:00.000Z", updatedAt: "2026-12-07T08:00:10.000Z", bytes: 40 * MiB, estimateBytes: 100 * MiB, ...over };
}

test("the transfer in flight: which copy, bytes of the estimate, percent (at most 99 while it runs), the mean rate and the time left", () => {
  assert.deepEqual(transfersReport([D], progress({})), [
    {
      action: `backup.send:${MAIL}:cold-coldbackup`,
      kind: "cold",
      dataset: MAIL,
      target: "coldbackup",
      bytes: 40 * MiB,
      estimateBytes: 100 * MiB,
      percent: 40,
      bytesPerSecond: 4 * MiB,
      secondsLeft: 15,
      startedAt: "2026-12-07T08:00:00.000Z",
      updatedAt: "2026-12-07T08:00:10.000Z",
    },
  ]);
  const past = transfersReport([D], progress({ bytes: 130 * MiB }))[0];
  assert.deepEqual([past?.percent, past?.secondsLeft], [99, null], "past the estimate (compression): 99%, no time left");
  const unknown = transfersReport([D], progress({ estimateBytes: null, resource: `backup:${MAIL}#replica-beta` }))[0];
  assert.deepEqual([unknown?.kind, unknown?.target, unknown?.percent, unknown?.secondsLeft, unknown?.bytesPerSecond], ["replica", "beta", null, null, 4 * MiB]);
  const drill = transfersReport([{ ...D, remote: { name: "offsite", endpoint: { user: "s", host: "store", port: undefined }, every: 86_400 } }], progress({ action: `backup.drill:${MAIL}`, resource: `backup:drill-${MAIL}`, estimateBytes: null }))[0];
  assert.deepEqual([drill?.kind, drill?.dataset, drill?.target], ["drill", MAIL, "offsite"]);
  assert.deepEqual(transfersReport([D], progress({ driver: "zfs", resource: `zfs:${MAIL}` })), [], "another driver's: not a backup transfer");
  assert.deepEqual(transfersReport([D], undefined), []);
});

test("a transfer as a line: a bar on a terminal, the percent in words otherwise, bytes and rate only without an estimate", () => {
  const t = transfersReport([D], progress({}));
  assert.deepEqual(renderTransfers(t, true), [`sending ${MAIL} to cold coldbackup: 40.0 MiB of ~100.0 MiB  [########------------] 40%  4.0 MiB/s  about 15s left`]);
  assert.deepEqual(renderTransfers(t, false), [`sending ${MAIL} to cold coldbackup: 40.0 MiB of ~100.0 MiB (40%), 4.0 MiB/s, about 15s left`]);
  const none = transfersReport([D], progress({ estimateBytes: null }));
  assert.deepEqual(renderTransfers(none, true), [`sending ${MAIL} to cold coldbackup: 40.0 MiB sent, 4.0 MiB/s`]);
  const past = transfersReport([D], progress({ bytes: 130 * MiB }));
  assert.match(renderTransfers(past, true)[0] ?? "", /\[###################-\] 99%  13\.0 MiB\/s$/);
  assert.deepEqual([progressBar(0), progressBar(99), progressBar(100)], ["[--------------------] 0%", "[###################-] 99%", "[####################] 100%"]);
  assert.deepEqual([humanBytes(0), humanBytes(512), humanBytes(1536), humanBytes(3 * 1024 * MiB)], ["0 B", "512 B", "1.5 KiB", "3.0 GiB"]);
});

test("--watch follows the transfer until it ends, or until ^C", async () => {
  const frames: (readonly string[])[] = [];
  const feed: TransferReport[][] = [transfersReport([D], progress({})), transfersReport([D], progress({ bytes: 80 * MiB, updatedAt: "2026-12-07T08:00:20.000Z" })), []];
  await followTransfers(() => feed.shift() ?? [], (lines) => void frames.push(lines), true, new AbortController().signal, 1);
  assert.equal(frames.length, 3);
  assert.match(frames[1]?.[0] ?? "", /80\.0 MiB of ~100\.0 MiB  \[################----\] 80%/);
  assert.deepEqual(frames[2], ["no transfer in flight"]);
  assert.equal(frame(["a", "b"], 0, true), "a\nb", "the first drawing");
  assert.equal(frame(["c"], 2, true), "\x1b[2A\x1b[Jc", "on a terminal, over the last one");
  assert.equal(frame(["c"], 2, false), "c", "elsewhere, below it");

  const stop = new AbortController();
  let reads = 0;
  const following = followTransfers(() => (reads++, transfersReport([D], progress({}))), () => {}, false, stop.signal, 60_000);
  setTimeout(() => stop.abort(), 20);
  await following;
  assert.equal(reads, 1, "^C ends the wait at once, not a minute later");
});
