/**
 * Copies of datasets on other targets: when one is due, which targets to read, and what to send
 * (schema/README.md, "Backups"). Pure.
 *
 * A copy is due when the dataset's newest snapshot (counting one taken this run) is not the one
 * the target is recorded to hold, the recorded one is at least `every` old, and no recent
 * failure asks to wait (backoffMs). Only then is the target read (observe.ts): a run with
 * nothing due talks to no peer.
 *
 * The base of an incremental send is the newest snapshot the target holds that this node holds
 * too, the same one (equal guids); on OpenZFS a bookmark of it will do once the snapshot is
 * pruned. After a send the new base is kept — a hold on zfs-fuse and legacy pools (they have no
 * bookmarks), a bookmark on OpenZFS — and the old one let go; an interrupted send is resumed from
 * the receiver's token on OpenZFS (`receive -s`), and sent again from the base elsewhere (a
 * receive that did not finish leaves nothing). A target holding a copy with nothing in common is
 * never overwritten.
 */
import type { Argv } from "../../exec.js";
import type { DatasetBackup } from "../../manifest/types.js";
import type { Step } from "../../plan/types.js";
import { bookmarkArgv, BOOKMARK_EXISTS, BOOKMARK_GONE, destroyBookmarkArgv, HOLD_EXISTS, HOLD_MISSING, holdArgv, releaseArgv, resumeSendArgv, SEND_TIMEOUT_MS, sendArgv, type SendBase } from "./commands.js";
import { bookmarkName, compareSnapshotNames, holdTag, isStewardSnapshot, parseBookmark, parseSnapshotName, targetTag, type TargetKind } from "./names.js";
import { copyKey } from "./record.js";
import type { BackupAction, BackupFinding, BackupRebaseAction, BackupSendAction, BackupState, LocalDataset, TargetDataset, TargetRef, ZfsFeatures } from "./types.js";
import { retainedSnapshots } from "./retention.js";

/** How long to wait after `count` failures in a row: 5 minutes, doubling, at most 6 hours. */
export function backoffMs(count: number): number {
  return Math.min(5 * 60_000 * 2 ** Math.max(0, count - 1), 6 * 3600_000);
}

/** The targets of one dataset's policy. */
export function targetsOf(d: DatasetBackup): TargetRef[] {
  const out: TargetRef[] = [];
  const add = (kind: TargetKind, name: string): void => void out.push({ kind, name, tag: targetTag(kind, name) });
  if (d.replica !== undefined) add("replica", d.replica.node);
  if (d.cold !== undefined) add("cold", d.cold.pool);
  if (d.remote !== undefined) add("remote", d.remote.name);
  return out;
}

/** everyOf is how often a dataset's copy to a target is due, in seconds. */
export function everyOf(d: DatasetBackup, t: TargetRef): number {
  return (t.kind === "replica" ? d.replica?.every : t.kind === "cold" ? 0 : d.remote?.every) ?? 0;
}

/**
 * copyDue decides whether a copy to a target is due at `nowMs`: there is a newest snapshot, the
 * target is not recorded holding it, the recorded one is at least `everySeconds` old, and
 * neither the copy nor the target failed recently. Pure.
 */
export function copyDue(nowMs: number, everySeconds: number, newest: string | undefined, record: { snapshot: string } | undefined, failures: readonly ({ at: number; count: number } | undefined)[]): boolean {
  if (newest === undefined) return false;
  for (const f of failures) if (f !== undefined && nowMs < f.at + backoffMs(f.count)) return false;
  if (record === undefined) return true;
  if (record.snapshot === newest) return false;
  const at = parseSnapshotName(record.snapshot)?.at;
  return at === undefined || nowMs - at >= everySeconds * 1000;
}

/** newestSnapshot is a dataset's newest Steward snapshot, counting `taken` (this run's). */
export function newestSnapshot(local: LocalDataset | undefined, taken: readonly string[]): string | undefined {
  const names = [...(local?.snapshots ?? []).map((s) => s.name).filter(isStewardSnapshot), ...taken].sort(compareSnapshotNames);
  return names[names.length - 1];
}

/** dueCopies lists, for each target tag, the datasets whose copy there is due (cold ones only while `imported`). Pure. */
export function dueCopies(datasets: readonly DatasetBackup[], local: Readonly<Record<string, LocalDataset>>, taken: ReadonlyMap<string, readonly string[]>, state: BackupState, nowMs: number, imported: readonly string[] = []): Map<string, DatasetBackup[]> {
  const out = new Map<string, DatasetBackup[]>();
  for (const d of datasets) {
    const newest = newestSnapshot(local[d.dataset], taken.get(d.unit) ?? []);
    for (const t of targetsOf(d)) {
      // A cold disk is written only while it is plugged in (its pool imported).
      if (t.kind === "cold" && !imported.includes(t.name)) continue;
      const due = copyDue(nowMs, everyOf(d, t), newest, state.targets[d.dataset]?.[t.tag], [state.failures[copyKey(d.dataset, t.tag)], state.failures[t.tag]]);
      if (due) out.set(t.tag, [...(out.get(t.tag) ?? []), d]);
    }
  }
  return out;
}

/** How a plan reaches one target for one dataset: the stages after `zfs send`, and the target's prune. */
export interface CopyWay {
  /** The stages the stream goes through after `zfs send` (ssh to the peer's steward-receive, …). */
  readonly receive: readonly Argv[];
  /** The steps that destroy these snapshots of the copy on the target. */
  prune(names: readonly string[]): readonly Step[];
  /** Steps that make the target's containers before its first copy (a cold disk's tree). */
  readonly prepare?: readonly Step[];
  /** The step that drops a partial resumable receive on the target (OpenZFS `receive -A`). */
  abort?(): Step;
}

/** How many failed resumes of one copy make the plan drop the partial receive and send afresh from the base. */
export const RESUME_ATTEMPTS = 2;

export interface CopyInput {
  readonly d: DatasetBackup;
  readonly target: TargetRef;
  readonly way: CopyWay;
  /** What the target holds of the dataset; undefined when it holds nothing yet. */
  readonly view: TargetDataset | undefined;
  readonly local: LocalDataset | undefined;
  /** The snapshot to bring the target to (the newest). */
  readonly newest: string;
  /** Snapshots of the dataset that this run's snapshot action takes. */
  readonly taken: readonly string[];
  readonly features: ZfsFeatures;
  /** Whether the send is due (else only a base to move is planned). */
  readonly due: boolean;
  /** The snapshot the record says the target holds. */
  readonly recorded: string | undefined;
  /** The resources this copy waits for (the unit's snapshot action). */
  readonly needs: readonly string[];
  /** Failed attempts at this copy in a row (the record's failures). */
  readonly failed?: number;
}

/** The plan for one copy: an action (or none), a finding (or none), and the local base it reads from. */
export interface CopyPlan {
  readonly action?: BackupAction;
  readonly finding?: BackupFinding;
  /** A local snapshot this run's send reads from: the prune must not destroy it first. */
  readonly base?: string;
}

/** copyResource is the resource of one dataset's copy on one target. */
export function copyResource(dataset: string, tag: string): string {
  return `backup:${dataset}#${tag}`;
}

/** parseCopyResource reads a copyResource back: the dataset and the target; undefined for any other resource. Pure. */
export function parseCopyResource(resource: string): { readonly dataset: string; readonly kind: TargetKind; readonly name: string } | undefined {
  const m = /^backup:([^#]+)#(replica|cold|remote)-(.+)$/.exec(resource);
  return m === null ? undefined : { dataset: m[1] as string, kind: m[2] as TargetKind, name: m[3] as string };
}

/** planCopy decides how to bring one dataset's copy on one target up to date. Pure. */
export function planCopy(c: CopyInput): CopyPlan {
  const { d, target, view, local, newest } = c;
  const resource = copyResource(d.dataset, target.tag);
  const base = {
    driver: "backup" as const,
    resource,
    needs: [...c.needs],
    teardown: false,
    dataset: d.dataset,
    target,
  };
  // A token that failed to resume RESUME_ATTEMPTS times (its snapshot pruned, a corrupt
  // partial state) is dropped, and the copy sent afresh from the base.
  const abandon = view?.resumeToken !== undefined && (c.failed ?? 0) >= RESUME_ATTEMPTS && c.way.abort !== undefined ? c.way.abort() : undefined;
  if (view?.resumeToken !== undefined && abandon === undefined) {
    if (!c.due) return {};
    const action: BackupSendAction = {
      ...base,
      kind: "backup.send",
      id: `backup.send:${d.dataset}:${target.tag}`,
      effect: "create",
      steps: [{ pipeline: [resumeSendArgv(view.resumeToken), ...c.way.receive], timeoutMs: SEND_TIMEOUT_MS }],
      cause: "due",
      reason: `an interrupted send to ${target.name} is resumed where it stopped`,
      snapshot: undefined,
      from: undefined,
      resume: true,
    };
    return { action };
  }
  const guids = new Map((local?.snapshots ?? []).map((s) => [s.name, s.guid]));
  const newestCommon = view === undefined ? undefined : [...view.snapshots].reverse().find((s) => s.guid !== "" && guids.get(s.name) === s.guid);
  // An incremental receive needs the target's newest snapshot as its base (no `receive -F`).
  // Snapshots after the newest in common are ones this node no longer has: on OpenZFS a
  // bookmark of the target's newest may stand in; otherwise the copy is ahead of the node (a
  // restore swapped an older copy in), and only a person may drop what it holds.
  const ahead = newestCommon === undefined || view === undefined ? [] : view.snapshots.slice(view.snapshots.indexOf(newestCommon) + 1);
  const mark = (newestCommon === undefined || ahead.length > 0) && view !== undefined && c.features === "openzfs" ? bookmarkFor(local, view, target.tag, view.snapshots[view.snapshots.length - 1]?.guid) : undefined;
  if (ahead.length > 0 && mark === undefined) {
    return {
      finding: {
        driver: "backup",
        kind: "copy-ahead",
        resource,
        subject: `${d.dataset} on ${target.name}`,
        dataset: d.dataset,
        target: target.tag,
        blocking: false,
        message: `${target.name} holds ${ahead.map((s) => s.name).join(", ")} after ${newestCommon?.name ?? ""}, the newest snapshot this node still has (was an older copy swapped in by a restore?); Steward never overwrites a copy: destroy those snapshots there, or rename the copy, and the next copy is sent from ${newestCommon?.name ?? ""}`,
      },
    };
  }
  const common = mark === undefined ? newestCommon : undefined;
  if (view !== undefined && common === undefined && mark === undefined) {
    return {
      finding: {
        driver: "backup",
        kind: "copy-diverged",
        resource,
        subject: `${d.dataset} on ${target.name}`,
        dataset: d.dataset,
        target: target.tag,
        blocking: false,
        message: `${target.name} holds a copy with no snapshot in common with this node's (${view.snapshots.length} snapshot(s)); Steward never overwrites a copy: rename or destroy it there, and the next copy is sent whole`,
      },
    };
  }
  if (common !== undefined && common.name === newest) {
    if (c.recorded === newest) return {};
    const rebase: BackupRebaseAction = {
      ...base,
      kind: "backup.rebase",
      id: `backup.rebase:${d.dataset}:${target.tag}`,
      effect: "change",
      steps: keepBase(d.dataset, target.tag, newest, [c.recorded], local, c.features),
      cause: "due",
      reason: `${target.name} holds ${newest} already: it becomes the base kept for the next send`,
      snapshot: newest,
    };
    return { action: rebase };
  }
  if (!c.due) return common === undefined ? {} : { base: common.name };
  const from: SendBase | undefined = common !== undefined ? { snapshot: common.name } : mark !== undefined ? { bookmark: mark } : undefined;
  // What the target holds after the send: `-I` brings every snapshot between base and newest.
  const arriving = common === undefined ? [newest] : [...new Set([...(local?.snapshots ?? []).map((s) => s.name), ...c.taken])].filter((n) => isStewardSnapshot(n) && compareSnapshotNames(n, common.name) > 0 && compareSnapshotNames(n, newest) <= 0);
  const after = [...new Set([...(view?.snapshots ?? []).map((s) => s.name), ...arriving])].filter(isStewardSnapshot);
  const keep = retainedSnapshots(d.keep, after);
  const prune = after.filter((n) => !keep.has(n) && n !== newest).sort(compareSnapshotNames);
  const pruneSteps = prune.length > 0 ? c.way.prune(prune) : [];
  const action: BackupSendAction = {
    ...base,
    kind: "backup.send",
    id: `backup.send:${d.dataset}:${target.tag}`,
    effect: "create",
    steps: [
      ...(abandon === undefined ? [] : [abandon]),
      ...(view === undefined ? (c.way.prepare ?? []) : []),
      sendStep([sendArgv(d.dataset, newest, from), ...c.way.receive], sendEstimate(local, newest, from)),
      ...keepBase(d.dataset, target.tag, newest, [common?.name, c.recorded], local, c.features),
      ...pruneSteps,
    ],
    cause: "due",
    reason: abandon !== undefined ? `an interrupted send to ${target.name} failed to resume ${c.failed ?? 0} times: its partial state is dropped and the copy sent again` : from === undefined ? `${target.name} holds no copy yet: sent whole` : "snapshot" in from ? `${target.name} holds ${from.snapshot}: the snapshots since are sent` : `${target.name} holds the snapshot of bookmark ${from.bookmark}: sent from it`,
    snapshot: newest,
    from,
    resume: false,
  };
  return { action, ...(common === undefined ? {} : { base: common.name }) };
}

/** sendStep is a send's pipeline step, with its estimate when there is one. */
export function sendStep(pipeline: readonly Argv[], estimateBytes: number | undefined): Step {
  return { pipeline, timeoutMs: SEND_TIMEOUT_MS, ...(estimateBytes === undefined ? {} : { estimateBytes }) };
}

/**
 * sendEstimate is about how many bytes `zfs send` of `newest` writes (PipelineStep.estimateBytes,
 * for progress only): sent whole, the snapshot's `referenced`; from a base (a snapshot, or the
 * one a bookmark marks), the sum of the `written` of each Steward snapshot after the base up to
 * `newest` (OpenZFS). A snapshot this run takes is not there yet: the live filesystem's
 * `referenced`, or `written` since its newest snapshot, stand for it. Undefined when a size is
 * unknown (zfs-fuse and legacy pools have no `written`; a report of an older agent has no
 * sizes) or zero. Sizes on disk: a compressed dataset sends more than its estimate. Pure.
 */
export function sendEstimate(local: LocalDataset | undefined, newest: string, from: SendBase | undefined): number | undefined {
  if (local === undefined) return undefined;
  const held = local.snapshots.find((s) => s.name === newest);
  const positive = (n: number | undefined): number | undefined => (n !== undefined && n > 0 ? n : undefined);
  if (from === undefined) return positive(held === undefined ? local.referenced : held.referenced);
  const base = "snapshot" in from ? from.snapshot : parseBookmark(from.bookmark)?.snapshot;
  if (base === undefined) return undefined;
  let sum = held === undefined ? local.written : 0;
  for (const s of local.snapshots) {
    if (!isStewardSnapshot(s.name) || compareSnapshotNames(s.name, base) <= 0 || compareSnapshotNames(s.name, newest) > 0) continue;
    sum = sum === undefined || s.written === undefined ? undefined : sum + s.written;
  }
  return positive(sum);
}

/** bookmarkFor finds this target's bookmark of a snapshot the target holds (OpenZFS; only the one of guid `only` when given): its name after `#`. */
function bookmarkFor(local: LocalDataset | undefined, view: TargetDataset, tag: string, only?: string): string | undefined {
  const held = new Set(view.snapshots.map((s) => s.guid).filter((g) => only === undefined || g === only));
  const marks = (local?.bookmarks ?? []).filter((b) => parseBookmark(b.name)?.tag === tag && held.has(b.guid)).sort((a, b) => compareSnapshotNames(parseBookmark(a.name)?.snapshot ?? "", parseBookmark(b.name)?.snapshot ?? ""));
  return marks[marks.length - 1]?.name;
}

/**
 * keepBase are the steps that keep `snapshot` as the target's base and let the older ones go:
 * on OpenZFS a bookmark of it and the target's older bookmarks destroyed; elsewhere a hold on
 * it and the holds on `older` released. Each step succeeds when its work is already done, so an
 * action interrupted after it runs again.
 */
export function keepBase(dataset: string, tag: string, snapshot: string, older: readonly (string | undefined)[], local: LocalDataset | undefined, features: ZfsFeatures): Step[] {
  if (features === "openzfs") {
    const mark = bookmarkName(dataset, snapshot, tag).slice(dataset.length + 1);
    const stale = (local?.bookmarks ?? []).filter((b) => parseBookmark(b.name)?.tag === tag && b.name !== mark);
    return [{ argv: bookmarkArgv(dataset, snapshot, mark), already: BOOKMARK_EXISTS }, ...stale.map((b) => ({ argv: destroyBookmarkArgv(dataset, b.name), already: BOOKMARK_GONE }))];
  }
  const h = holdTag(tag);
  const release = [...new Set(older.filter((o): o is string => o !== undefined && o !== snapshot))].filter((o) => (local?.snapshots ?? []).some((s) => s.name === o));
  return [{ argv: holdArgv(h, dataset, snapshot), already: HOLD_EXISTS }, ...release.map((o) => ({ argv: releaseArgv(h, dataset, o), already: HOLD_MISSING }))];
}
