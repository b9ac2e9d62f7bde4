/**
 * `steward backup status`: how old each dataset's backups are on this node — the newest hot
 * snapshot and the copy on each replica peer, cold disk and remote — against its policy
 * (drivers/backup/report.ts), read from the pool and the backup record; no peer is asked.
 */
import { readBackupReport } from "../drivers/backup/observe.js";
import { backupDriver } from "../drivers/backup/driver.js";
import { humanSeconds, type ColdDiskReport, type DatasetBackupReport } from "../drivers/backup/report.js";
import { systemExecutor } from "../exec.js";
import { EXIT_OK, EXIT_PROBLEM, usageError, type Command } from "./command.js";
import { reportInvalid, resolveTarget, TARGET_OPTIONS, TARGET_USAGE } from "./target.js";

export const backupCommand: Command = {
  name: "backup",
  usage: [
    "usage: steward backup status [--config FILE | --dir DIR] [--node NAME] [--state DIR] [--json]",
    "",
    "status: for every dataset with a backup policy, the newest hot snapshot and the snapshot each",
    "replica peer, cold disk and remote is recorded to hold, with its age against what the policy",
    "allows: two of its shortest snapshot kind for snapshots; a copy's `every` plus that for",
    "replicas and remotes; the cold disk's `every`. OVERDUE marks one older than allowed, or none",
    "yet. Then the last restore drill of each remote copy. Reads the pool and",
    "<state>/backup/state.json; asks no peer. Copies are sent, and drills run, by apply and the",
    "agent, as the policy says.",
    "",
    "Then each cold disk: plugged in (copies run, then it is exported: do not unplug it), exported",
    "(it can be unplugged), or not plugged in.",
    "",
    TARGET_USAGE,
    "  --json         print {ok, backups: [{dataset, policy, copies: [{kind, target, newest, at,",
    "                 ageSeconds, maxAgeSeconds, overdue}]}], disks: [{pool, imported, exportedAt,",
    "                 canUnplug}]}",
    "",
    "Exit status: 0 nothing overdue, 1 something is overdue or a drill failed (or the manifest is",
    "invalid), 2 usage.",
  ].join("\n"),
  options: TARGET_OPTIONS,
  allowPositionals: true,
  async run(values, positionals, io) {
    if (positionals[0] !== "status" || positionals.length !== 1) throw usageError("steward backup status: the one subcommand is `status`");
    const json = values["json"] === true;
    const target = await resolveTarget(values, io, false);
    const { desired } = target;
    if (desired === undefined) return reportInvalid(target, json, io);
    const backups = await readBackupReport(backupDriver.slice(desired), { executor: systemExecutor, stateDir: target.stateDir, log: io.log.child({ step: "backup", node: target.node }) });
    const ok = !backups.datasets.some((d) => d.copies.some((c) => c.overdue) || d.drill?.ok === false);
    if (json) io.out(JSON.stringify({ ok, backups: backups.datasets, disks: backups.disks }, null, 2));
    else io.out([renderBackupStatus(backups.datasets), ...backups.disks.map(renderDisk)].join("\n"));
    return ok ? EXIT_OK : EXIT_PROBLEM;
  },
};

/** renderDisk says where a cold disk stands: plugged in (do not unplug), exported (can be unplugged), or away. Pure. */
export function renderDisk(d: ColdDiskReport): string {
  if (d.imported) return `cold disk ${d.pool}: plugged in; copies are sent and then it is exported: do not unplug it yet`;
  if (d.canUnplug) return `cold disk ${d.pool}: exported at ${d.exportedAt ?? ""}: it can be unplugged`;
  return `cold disk ${d.pool}: not plugged in`;
}

/** renderBackupStatus writes the report as a table, one line per copy. Pure. */
export function renderBackupStatus(report: readonly DatasetBackupReport[]): string {
  if (report.length === 0) return "no dataset of this node has a backup policy";
  const rows = [["DATASET", "POLICY", "COPY", "NEWEST", "AGE", "ALLOWED", ""]];
  for (const d of report) {
    d.copies.forEach((c, i) => {
      rows.push([i === 0 ? d.dataset : "", i === 0 ? d.policy : "", c.kind === "snapshot" ? "snapshot" : `${c.kind} ${c.target}`, c.at ?? "none yet", c.ageSeconds === null ? "-" : humanSeconds(c.ageSeconds), c.maxAgeSeconds > 0 ? humanSeconds(c.maxAgeSeconds) : "-", c.overdue ? "OVERDUE" : "ok"]);
    });
    if (d.drill !== undefined) rows.push(["", "", "drill", d.drill.at, "", "", d.drill.ok ? `ok (${d.drill.snapshot})` : "FAILED"]);
  }
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join("  ").trimEnd()).join("\n");
}
