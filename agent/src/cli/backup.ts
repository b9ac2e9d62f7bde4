/**
 * `steward backup status`: how old each dataset's backups are on this node — the newest hot
 * snapshot and the copy on each replica peer, cold disk and remote — against its policy
 * (drivers/backup/report.ts), read from the pool and the backup record; no peer is asked. And
 * the transfer in flight, from the progress file the running apply writes
 * (apply/progress-file.ts): a bar on a terminal, redrawn every second with --watch.
 */
import { humanBytes } from "../apply/progress.js";
import { readProgress } from "../apply/progress-file.js";
import { readBackupReport } from "../drivers/backup/observe.js";
import { backupDriver } from "../drivers/backup/driver.js";
import { humanSeconds, transfersReport, type ColdDiskReport, type DatasetBackupReport, type TransferReport } from "../drivers/backup/report.js";
import { systemExecutor } from "../exec.js";
import { EXIT_OK, EXIT_PROBLEM, usageError, type Command, type Io } from "./command.js";
import { reportInvalid, resolveTarget, TARGET_OPTIONS, TARGET_USAGE } from "./target.js";

export const backupCommand: Command = {
  name: "backup",
  usage: [
    "usage: steward backup status [--config FILE | --dir DIR] [--node NAME] [--state DIR]",
    "                             [--json | --watch]",
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
    "Then the transfer in flight, if an apply (or the agent) is sending a copy now: the dataset and",
    "target, the bytes sent of about how many (the newest snapshot's size for a whole send; on",
    "OpenZFS what was written since the base for an incremental; zfs-fuse cannot tell that), the",
    "rate and the time left; a bar on a terminal. Read from <state>/apply/progress.json.",
    "",
    TARGET_USAGE,
    "  --json         print {ok, backups: [{dataset, policy, copies: [{kind, target, newest, at,",
    "                 ageSeconds, maxAgeSeconds, overdue}]}], disks: [{pool, imported, exportedAt,",
    "                 canUnplug}], transfers: [{action, kind, dataset, target, bytes, estimateBytes,",
    "                 percent, bytesPerSecond, secondsLeft, startedAt, updatedAt}]}",
    "  --watch        then follow the transfer in flight: redrawn every second on a terminal (a",
    "                 new line each second otherwise) until it ends or ^C",
    "",
    "Exit status: 0 nothing overdue, 1 something is overdue or a drill failed (or the manifest is",
    "invalid), 2 usage.",
  ].join("\n"),
  options: { ...TARGET_OPTIONS, watch: { type: "boolean" } },
  allowPositionals: true,
  async run(values, positionals, io) {
    if (positionals[0] !== "status" || positionals.length !== 1) throw usageError("steward backup status: the one subcommand is `status`");
    const json = values["json"] === true;
    const watch = values["watch"] === true;
    if (json && watch) throw usageError("steward backup status: --watch follows a transfer for people; --json prints once");
    const target = await resolveTarget(values, io, false);
    const { desired } = target;
    if (desired === undefined) return reportInvalid(target, json, io);
    const slice = backupDriver.slice(desired);
    const backups = await readBackupReport(slice, { executor: systemExecutor, stateDir: target.stateDir, log: io.log.child({ step: "backup", node: target.node }) });
    const policies = slice.backups?.datasets ?? [];
    const inFlight = (): TransferReport[] => transfersReport(policies, readProgress(target.stateDir));
    const ok = !backups.datasets.some((d) => d.copies.some((c) => c.overdue) || d.drill?.ok === false);
    const transfers = inFlight();
    if (json) io.out(JSON.stringify({ ok, backups: backups.datasets, disks: backups.disks, transfers }, null, 2));
    else io.out([renderBackupStatus(backups.datasets), ...backups.disks.map(renderDisk)].join("\n"));
    if (watch) await watchTransfers(inFlight, io);
    else if (!json && transfers.length > 0) io.out(renderTransfers(transfers, io.isTTY === true).join("\n"));
    return ok ? EXIT_OK : EXIT_PROBLEM;
  },
};

/**
 * watchTransfers draws the transfers in flight every second until there is none or ^C: in place
 * on a terminal (the cursor moved up over the last drawing), a new block of lines otherwise.
 * Side effects: writes to `io`, a SIGINT listener while it runs.
 */
async function watchTransfers(read: () => TransferReport[], io: Io): Promise<void> {
  const stop = new AbortController();
  const interrupt = (): void => stop.abort();
  process.once("SIGINT", interrupt);
  try {
    const tty = io.isTTY === true;
    let drawn = 0;
    await followTransfers(read, (lines) => {
      io.out(frame(lines, drawn, tty));
      drawn = lines.length;
    }, tty, stop.signal);
  } finally {
    process.removeListener("SIGINT", interrupt);
  }
}

/**
 * frame is the text that draws `lines` after `previous` lines were drawn: on a terminal over
 * them (cursor up, erase to the end of the screen: ECMA-48 CUU and ED), else below. Pure.
 */
export function frame(lines: readonly string[], previous: number, tty: boolean): string {
  return `${tty && previous > 0 ? `\x1b[${previous}A\x1b[J` : ""}${lines.join("\n")}`;
}

/**
 * followTransfers reads and draws the transfers in flight every `everyMs` until none is left
 * (drawn as `no transfer in flight`) or `stop` is aborted. Side effects: `draw`'s, a timer.
 */
export async function followTransfers(read: () => readonly TransferReport[], draw: (lines: readonly string[]) => void, tty: boolean, stop: AbortSignal, everyMs = 1000): Promise<void> {
  for (;;) {
    const transfers = read();
    draw(transfers.length === 0 ? ["no transfer in flight"] : renderTransfers(transfers, tty));
    if (transfers.length === 0 || stop.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, everyMs);
      function done(): void {
        clearTimeout(timer);
        stop.removeEventListener("abort", done);
        resolve();
      }
      stop.addEventListener("abort", done);
    });
    if (stop.aborted) return;
  }
}

/** The width of a progress bar, in characters between its brackets. */
const BAR_WIDTH = 20;

/** progressBar draws `[########------------] 40%`. Pure. */
export function progressBar(percent: number): string {
  const filled = Math.max(0, Math.min(BAR_WIDTH, Math.floor((percent * BAR_WIDTH) / 100)));
  return `[${"#".repeat(filled)}${"-".repeat(BAR_WIDTH - filled)}] ${percent}%`;
}

/**
 * renderTransfers writes each transfer in flight on a line: what goes where, the bytes sent of
 * about how many, and the rate and time left; on a terminal the share as a bar. Pure.
 */
export function renderTransfers(transfers: readonly TransferReport[], tty: boolean): string[] {
  return transfers.map((t) => {
    const what = t.kind === "drill" ? `restore drill of ${t.dataset} from remote ${t.target}` : `sending ${t.dataset} to ${t.kind} ${t.target}`;
    const sent = t.estimateBytes === null ? `${humanBytes(t.bytes)} sent` : `${humanBytes(t.bytes)} of ~${humanBytes(t.estimateBytes)}`;
    const rate = `${humanBytes(t.bytesPerSecond)}/s`;
    const left = t.secondsLeft === null ? [] : [`about ${humanSeconds(t.secondsLeft)} left`];
    if (t.percent === null) return `${what}: ${[sent, rate, ...left].join(", ")}`;
    if (tty) return `${what}: ${sent}  ${progressBar(t.percent)}  ${[rate, ...left].join("  ")}`;
    return `${what}: ${[`${sent} (${t.percent}%)`, rate, ...left].join(", ")}`;
  });
}

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
