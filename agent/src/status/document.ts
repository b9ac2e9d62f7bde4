/**
 * The status document a node writes as `status/<node>.yaml` on its branch `status/<node>`
 * (README.md, "Status"): what the node runs, a fixed set of conditions, what each resource's
 * last action did, service health, where its source came from and how old it is, host facts
 * and timestamps. Pure: inputs and the previous document in, a document and its text out.
 *
 * Conditions (the fixed set, in this order):
 * - `Ready` (positive, always present): derived by deriveReady from the others, never set by a
 *   step. True when no other condition has severity Error.
 * - `FetchFailed`: a remote could not be fetched (Warning while another answered), or no
 *   remote answered / the source step could not run (Error).
 * - `VerificationFailed`: a tip was refused (unsigned, untrusted key, rollback, divergence,
 *   future-dated...). Error when it holds the node, Warning when only one remote was ignored.
 * - `ManifestInvalid`: the revision's manifest does not validate for this node (Error).
 * - `Drifted`: the host had drifted from the desired state: corrected (`DriftCorrected`) or
 *   left in place (`DriftRemains`). Always a Warning: a failed correction is ApplyFailed.
 * - `ApplyFailed`: an action failed, a resource is blocked, or the reconcile stopped (Error).
 * - `SourceStale`: the newest verified commit is older than the allowed age, so a remote may be
 *   withholding commits (Error); or a remote serves a tip behind the applied one (Warning).
 * - `BackupOverdue`: a dataset's newest snapshot, replica, cold or remote copy is older than
 *   its backup policy allows, or missing, or its last restore drill failed (Warning; `backups`
 *   says which).
 * Negative conditions appear only when true (status "True"). `reason` is a stable CamelCase
 * word (an error code such as SOURCE_TIMEOUT becomes `SourceTimeout`); `since` is carried over
 * from the previous document while the condition holds with the same status.
 *
 * Heartbeat fields: the fields that may change when nothing else did. They are exactly
 * `heartbeat`, `source.lastAnswerAt`, `source.newestCommit.ageSeconds`,
 * `host.pools[].freeBytes`, `backups[].copies[].{newest,at,ageSeconds}` and
 * `backups[].drill.{at,snapshot}` (a new snapshot
 * every 15 minutes is no change of substance; a copy becoming overdue is). Everything else is the document's substance; `changedAt` is the
 * time the substance last changed. Two documents of an unchanged node differ only in heartbeat
 * fields, and renderStatus writes everything in a fixed order, so their text differs only on
 * those lines (isHeartbeatOnly, substanceOf).
 */
import { parse, stringify } from "yaml";
import type { Diagnostic, ErrorCode } from "../errors.js";

export const STATUS_KIND = "NodeStatus";
export const STATUS_VERSION = 1;

export type NegativeConditionType = "FetchFailed" | "VerificationFailed" | "ManifestInvalid" | "Drifted" | "ApplyFailed" | "SourceStale" | "BackupOverdue";
export type ConditionType = "Ready" | NegativeConditionType;

/** Every condition type, in the order the document lists them. */
export const CONDITION_TYPES: readonly ConditionType[] = ["Ready", "FetchFailed", "VerificationFailed", "ManifestInvalid", "Drifted", "ApplyFailed", "SourceStale", "BackupOverdue"];
const NEGATIVE_TYPES = CONDITION_TYPES.filter((t): t is NegativeConditionType => t !== "Ready");

/** Error: the node is not where its desired state says (Ready is False). Warning: worth a look, Ready may be True. */
export type ConditionSeverity = "Error" | "Warning";

export interface Condition {
  readonly type: ConditionType;
  readonly status: "True" | "False";
  /** On negative conditions only. */
  readonly severity?: ConditionSeverity;
  readonly reason: string;
  readonly message: string;
  /** When the condition last took this status (ISO 8601, UTC). */
  readonly since: string;
}

/** What the last action on one resource did in this run (`blocked`: a finding kept it from being acted on). */
export interface ResourceStatus {
  readonly resource: string;
  readonly action: string | null;
  readonly outcome: "applied" | "unchanged" | "failed" | "skipped" | "blocked";
  /** The failure's error code (failed), or the action that blocked it (skipped). */
  readonly code?: string;
  readonly blockedBy?: string;
}

/** One supervised service in a jail; the jail driver supplies these. */
export interface ServiceReport {
  readonly jail: string;
  readonly service: string;
  readonly running: boolean;
}

export interface PoolFacts {
  readonly name: string;
  /** As `zpool list -H -o health` prints it: ONLINE, DEGRADED, FAULTED... */
  readonly health: string;
  /** A heartbeat field. */
  readonly freeBytes: number;
}

/** Facts about the host the caller supplies (uname, freebsd-version, zpool list). */
export interface HostFacts {
  readonly architecture: string;
  readonly osVersion: string;
  readonly pools: readonly PoolFacts[];
}

export type RemoteStanding = "failed" | "current" | "behind" | "verified" | "refused";

export interface RemoteStatus {
  readonly name: string;
  readonly standing: RemoteStanding;
  readonly tip?: string;
  /** Why it failed or was refused. */
  readonly code?: ErrorCode;
}

export interface SourceStatus {
  /** The first remote, in priority order, that answered in the last run; null when none did. */
  readonly answered: string | null;
  /** When any remote last answered (a heartbeat field); carried over while none answers. */
  readonly lastAnswerAt: string | null;
  /** The newest verified commit (the one in force or just applied) and its committer date. */
  readonly newestCommit: { readonly revision: string; readonly committedAt: string; readonly ageSeconds: number } | null;
  readonly remotes: readonly RemoteStatus[];
}

/** How old one kind of copy of a dataset is against its backup policy (the backup driver's report.ts). */
export interface BackupCopyStatus {
  readonly kind: "snapshot" | "replica" | "cold" | "remote";
  /** `local`, or the peer, pool or remote's name. */
  readonly target: string;
  /** Heartbeat fields: the newest snapshot there (null: none yet), when it was taken (ISO 8601, UTC), its age in seconds. */
  readonly newest: string | null;
  readonly at: string | null;
  readonly ageSeconds: number | null;
  readonly maxAgeSeconds: number;
  /** Older than allowed, or none yet while one is expected. */
  readonly overdue: boolean;
}

export interface BackupStatus {
  readonly dataset: string;
  readonly policy: string;
  readonly copies: readonly BackupCopyStatus[];
  /** The last restore drill of its remote copy. */
  readonly drill?: { readonly at: string; readonly ok: boolean; readonly snapshot: string };
}

/** A cold disk a backup policy names: plugged in, or exported by Steward and safe to unplug. */
export interface ColdDiskStatus {
  readonly pool: string;
  readonly imported: boolean;
  /** When Steward last exported it after its copies (ISO 8601, UTC); null: never. */
  readonly exportedAt: string | null;
  /** Not imported, and Steward exported it: it can be unplugged. */
  readonly canUnplug: boolean;
}

/**
 * What drivers add to the report besides services' health (Driver.report): the backup driver's
 * copy ages and cold disks. Absent fields are not written.
 */
export interface DriverReport {
  readonly backups?: readonly BackupStatus[];
  readonly coldDisks?: readonly ColdDiskStatus[];
}

export interface StatusDocument {
  readonly kind: typeof STATUS_KIND;
  readonly version: typeof STATUS_VERSION;
  readonly node: string;
  /** The agent's version, and how often it writes a report when nothing changes (`heartbeat:`). */
  readonly agent: { readonly version: string; readonly heartbeatSeconds?: number };
  /** When this document was made (a heartbeat field). */
  readonly heartbeat: string;
  /** When the substance last changed. */
  readonly changedAt: string;
  /** The revision the last reconcile tried to run (its manifest read, validated, applied). */
  readonly lastAttemptedRevision: string | null;
  /** The revision recorded as applied. */
  readonly lastAppliedRevision: string | null;
  readonly conditions: readonly Condition[];
  readonly source: SourceStatus;
  readonly resources: readonly ResourceStatus[];
  readonly services: readonly ServiceReport[];
  readonly host: HostFacts;
  /** Per dataset with a backup policy, how old its copies are; absent when none has one. */
  readonly backups?: readonly BackupStatus[];
  /** The cold disks the policies name; absent when none does. */
  readonly coldDisks?: readonly ColdDiskStatus[];
}

/** A failure in plain data: a StewardError's code and message. */
export interface Problem {
  readonly code: ErrorCode;
  readonly message: string;
}

/**
 * What the source step said, in the shape of source.ts's SourceResult (which satisfies it):
 * the decision, the last applied revision and each remote's standing.
 */
export interface SourceInput {
  readonly decision:
    | { readonly kind: "apply" | "unchanged"; readonly revision: string }
    | { readonly kind: "hold"; readonly revision: string | undefined; readonly reason: Problem };
  readonly lastApplied: string | undefined;
  readonly remotes: readonly {
    readonly name: string;
    readonly standing: RemoteStanding;
    readonly tip?: string;
    readonly error?: Problem;
    readonly refused?: Problem;
  }[];
}

/** The manifest read for the run, in the shape of reconcile.ts's SourceTarget. */
export interface TargetInput {
  readonly revision: string;
  readonly desired: unknown;
  readonly diagnostics: readonly Diagnostic[];
  readonly rejected?: { readonly revision: string; readonly diagnostics: readonly Diagnostic[] };
}

/** The plan and what apply did, in the shape of reconcile.ts's ApplyNodeResult. */
export interface RunInput {
  readonly plan: {
    readonly actions: readonly { readonly id: string; readonly resource: string; readonly cause: string }[];
    readonly findings: readonly { readonly resource: string; readonly kind: string; readonly message: string; readonly blocking: boolean }[];
    readonly blocked: readonly string[];
  };
  readonly result: {
    readonly ok: boolean;
    readonly outcomes: readonly (
      | { readonly action: string; readonly status: "applied" | "unchanged" }
      | { readonly action: string; readonly status: "failed"; readonly code: ErrorCode; readonly message: string }
      | { readonly action: string; readonly status: "skipped"; readonly blockedBy: string }
    )[];
  };
}

/** Everything one report is made of. The reconcile parts are absent when the step did not run. */
export interface StatusInputs {
  readonly node: string;
  readonly agentVersion: string;
  /** The agent's heartbeat interval, in seconds (recorded so that silence can be told from health). */
  readonly heartbeatSeconds?: number;
  readonly source?: SourceInput;
  readonly target?: TargetInput;
  readonly run?: RunInput;
  /** The revision this run recorded as applied. */
  readonly recorded?: string;
  /** What stopped the reconcile, when it threw (APPLY_LOCKED, OBSERVE_FAILED, a hold with nothing applied...). */
  readonly failure?: Problem;
  /** The newest verified commit's committer date (Unix seconds), read from the repository. */
  readonly newestCommit?: { readonly revision: string; readonly committedAt: number };
  /** A newest verified commit older than this makes SourceStale an Error; undefined: never. */
  readonly maxSourceAgeSeconds?: number;
  readonly services: readonly ServiceReport[];
  readonly host: HostFacts;
  /** The backup driver's report of this node's datasets (drivers/backup/report.ts). */
  readonly backups?: readonly BackupStatus[];
  /** And of the cold disks its policies name. */
  readonly coldDisks?: readonly ColdDiskStatus[];
}

const MAX_MESSAGE = 600;

/** The finding kind drivers use for a hand change left in place (`drift: report`). */
export const DRIFT_REPORTED_FINDING = "drift-reported";

const FETCH_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "SOURCE_FETCH_FAILED",
  "SOURCE_TIMEOUT",
  "SOURCE_AUTH",
  "SOURCE_PROTOCOL",
  "SOURCE_NO_REMOTE",
  "SOURCE_EMPTY",
  "SOURCE_NOT_FOUND",
  "SOURCE_STATE",
  "SOURCE_LOCKED",
]);

/**
 * conditionForCode names the condition a failure of this code belongs to: the source's
 * fetch and local-state codes are FetchFailed, its other codes VerificationFailed, MANIFEST_*
 * ManifestInvalid, everything else (apply, observe, exec, internal) ApplyFailed. Pure.
 */
export function conditionForCode(code: ErrorCode): NegativeConditionType {
  if (FETCH_CODES.has(code)) return "FetchFailed";
  if (code.startsWith("SOURCE_")) return "VerificationFailed";
  if (code.startsWith("MANIFEST_")) return "ManifestInvalid";
  return "ApplyFailed";
}

/** reasonFor turns an error code into a condition reason: SOURCE_TIMEOUT → SourceTimeout. Pure. */
export function reasonFor(code: string): string {
  return code
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== "")
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join("");
}

/** A negative condition found by buildStatus, before `since` is settled. */
export interface Finding {
  readonly type: NegativeConditionType;
  readonly severity: ConditionSeverity;
  readonly reason: string;
  readonly message: string;
}

/**
 * deriveReady is the one rule for Ready: False when any negative condition has severity Error
 * (reason: the first such condition's type, in document order; message: its message), else
 * True (`Converged`, naming the warnings if any). Pure.
 */
export function deriveReady(negatives: readonly Pick<Finding, "type" | "severity" | "message">[]): Pick<Condition, "status" | "reason" | "message"> {
  const ordered = NEGATIVE_TYPES.flatMap((t) => negatives.filter((c) => c.type === t));
  const error = ordered.find((c) => c.severity === "Error");
  if (error !== undefined) return { status: "False", reason: error.type, message: error.message };
  const warnings = ordered.map((c) => c.type);
  return { status: "True", reason: "Converged", message: warnings.length === 0 ? "every step succeeded" : `every step succeeded; warnings: ${warnings.join(", ")}` };
}

/**
 * settleConditions orders the conditions, adds Ready (deriveReady) and sets each `since`: the
 * previous document's when the same type held with the same status, else `now`. At most one
 * condition per type: of several findings of a type the Error ones come first, and the
 * messages are joined. Pure.
 */
export function settleConditions(findings: readonly Finding[], previous: readonly Condition[] | undefined, now: string): Condition[] {
  const merged: Finding[] = [];
  for (const type of NEGATIVE_TYPES) {
    const of = findings.filter((f) => f.type === type);
    if (of.length === 0) continue;
    const sorted = [...of.filter((f) => f.severity === "Error"), ...of.filter((f) => f.severity !== "Error")];
    const first = sorted[0] as Finding;
    merged.push({ type, severity: first.severity, reason: first.reason, message: clip([...new Set(sorted.map((f) => f.message))].join("; ")) });
  }
  const since = (type: ConditionType, status: Condition["status"]): string => {
    const before = previous?.find((c) => c.type === type);
    return before !== undefined && before.status === status ? before.since : now;
  };
  const ready = deriveReady(merged);
  return [
    { type: "Ready", ...ready, since: since("Ready", ready.status) },
    ...merged.map((f): Condition => ({ type: f.type, status: "True", severity: f.severity, reason: f.reason, message: f.message, since: since(f.type, "True") })),
  ];
}

/**
 * findConditions decides which negative conditions hold, from the inputs and the clock
 * (Unix ms). Pure; see the module comment for what each condition means.
 */
export function findConditions(inputs: StatusInputs, nowMs: number): Finding[] {
  const found: Finding[] = [];
  const add = (type: NegativeConditionType, severity: ConditionSeverity, reason: string, message: string): void => {
    found.push({ type, severity, reason, message: clip(oneLine(message)) });
  };
  const { source, target, run, failure } = inputs;

  if (source !== undefined) {
    const decision = source.decision;
    const failed = source.remotes.filter((r) => r.standing === "failed");
    const noneAnswered = source.remotes.length > 0 && failed.length === source.remotes.length;
    // When no remote answered, the hold's reason is the first remote's failure, listed below.
    if (decision.kind === "hold" && !(noneAnswered && FETCH_CODES.has(decision.reason.code))) {
      const type = FETCH_CODES.has(decision.reason.code) ? "FetchFailed" : "VerificationFailed";
      add(type, "Error", reasonFor(decision.reason.code), decision.reason.message);
    }
    for (const r of failed) {
      const code = r.error?.code ?? "SOURCE_FETCH_FAILED";
      add("FetchFailed", noneAnswered ? "Error" : "Warning", reasonFor(code), `${r.name}: ${r.error?.message ?? "fetch failed"}`);
    }
    for (const r of source.remotes) {
      if (r.standing === "refused" && r.refused !== undefined) add("VerificationFailed", "Warning", reasonFor(r.refused.code), r.refused.message.startsWith(`${r.name}`) ? r.refused.message : `${r.name}: ${r.refused.message}`);
      if (r.standing === "behind") add("SourceStale", "Warning", "RemoteBehind", `${r.name} serves ${short(r.tip)}, behind the last applied revision ${short(source.lastApplied)}`);
    }
  }

  if (target !== undefined) {
    if (target.desired === undefined) add("ManifestInvalid", "Error", manifestReason(target.diagnostics), `revision ${short(target.revision)}: ${describeDiagnostics(target.diagnostics)}`);
    if (target.rejected !== undefined) {
      add("ManifestInvalid", "Error", manifestReason(target.rejected.diagnostics), `revision ${short(target.rejected.revision)} was not applied (${short(target.revision)} still is): ${describeDiagnostics(target.rejected.diagnostics)}`);
    }
  }

  if (run !== undefined) {
    const outcome = new Map(run.result.outcomes.map((o) => [o.action, o]));
    const corrected: string[] = [];
    const remains: string[] = [];
    for (const a of run.plan.actions) {
      if (a.cause !== "drift") continue;
      const status = outcome.get(a.id)?.status;
      (status === "applied" || status === "unchanged" ? corrected : remains).push(a.resource);
    }
    for (const f of run.plan.findings) if (f.kind === DRIFT_REPORTED_FINDING) remains.push(f.resource);
    if (corrected.length + remains.length > 0) {
      const parts = [remains.length > 0 ? `left in place: ${list(remains)}` : "", corrected.length > 0 ? `corrected: ${list(corrected)}` : ""].filter((p) => p !== "");
      add("Drifted", "Warning", remains.length > 0 ? "DriftRemains" : "DriftCorrected", parts.join("; "));
    }
    const failures = run.result.outcomes.filter((o) => o.status === "failed");
    const skipped = run.result.outcomes.filter((o) => o.status === "skipped").length;
    if (failures.length > 0 || skipped > 0) {
      const first = failures[0];
      const head = `${failures.length} action${failures.length === 1 ? "" : "s"} failed, ${skipped} skipped`;
      add("ApplyFailed", "Error", "ActionFailed", first === undefined ? head : `${head}; first: ${first.action}: ${first.code}: ${first.message}`);
    }
    if (run.plan.blocked.length > 0) add("ApplyFailed", "Error", "ResourceBlocked", `blocked by a finding: ${list(run.plan.blocked)}`);
  }

  if (failure !== undefined) add(conditionForCode(failure.code), "Error", reasonFor(failure.code), failure.message);

  const overdue = (inputs.backups ?? []).flatMap((d) => d.copies.filter((c) => c.overdue).map((c) => ({ d, c })));
  if (overdue.length > 0) {
    const phrase = ({ d, c }: (typeof overdue)[number]): string => `${d.dataset}: ${c.kind === "snapshot" ? "newest snapshot" : `${c.kind} on ${c.target}`} ${c.ageSeconds === null ? "missing" : `${c.ageSeconds} s old (allowed ${c.maxAgeSeconds} s)`}`;
    add("BackupOverdue", "Warning", overdue.some(({ c }) => c.kind !== "snapshot") ? "CopyOverdue" : "SnapshotOverdue", overdue.map(phrase).join("; "));
  }
  const failedDrills = (inputs.backups ?? []).filter((d) => d.drill?.ok === false);
  if (failedDrills.length > 0) add("BackupOverdue", "Warning", "DrillFailed", `the restore drill of ${failedDrills.map((d) => `${d.dataset}@${d.drill?.snapshot ?? ""}`).join(", ")} failed: the remote copy did not decrypt and receive (see the log)`);

  const newest = inputs.newestCommit;
  if (newest !== undefined && inputs.maxSourceAgeSeconds !== undefined && nowMs / 1000 - newest.committedAt > inputs.maxSourceAgeSeconds) {
    add(
      "SourceStale",
      "Error",
      "NewestCommitTooOld",
      `the newest verified commit ${short(newest.revision)} was committed at ${iso(newest.committedAt * 1000)}, more than ${inputs.maxSourceAgeSeconds} s before this run: a remote may be withholding commits, or none was pushed`,
    );
  }
  return found;
}

/**
 * buildStatus makes the status document for this run from the inputs, the previous document
 * (for `since`, `changedAt`, and the facts a run that learnt nothing keeps: the revisions and
 * when a remote last answered) and the clock (Unix ms). Pure; never throws.
 */
export function buildStatus(previous: StatusDocument | undefined, inputs: StatusInputs, nowMs: number): StatusDocument {
  const now = iso(nowMs);
  const { source, target, run } = inputs;
  const prev = previous?.node === inputs.node ? previous : undefined;

  const conditions = settleConditions(findConditions(inputs, nowMs), prev?.conditions, now);
  const lastAttemptedRevision = target !== undefined ? (target.rejected?.revision ?? target.revision) : (prev?.lastAttemptedRevision ?? null);
  const lastAppliedRevision = inputs.recorded ?? (source !== undefined ? (source.lastApplied ?? null) : (prev?.lastAppliedRevision ?? null));

  const answered = source?.remotes.find((r) => r.standing !== "failed")?.name ?? null;
  const newest = inputs.newestCommit;
  const sourceStatus: SourceStatus = {
    answered,
    lastAnswerAt: answered !== null ? now : (prev?.source.lastAnswerAt ?? null),
    newestCommit: newest === undefined ? null : { revision: newest.revision, committedAt: iso(newest.committedAt * 1000), ageSeconds: Math.max(0, Math.floor(nowMs / 1000 - newest.committedAt)) },
    remotes: (source?.remotes ?? []).map((r): RemoteStatus => {
      const code = r.standing === "failed" ? r.error?.code : r.standing === "refused" ? r.refused?.code : undefined;
      return { name: r.name, standing: r.standing, ...(r.tip === undefined ? {} : { tip: r.tip }), ...(code === undefined ? {} : { code }) };
    }),
  };

  const draft: StatusDocument = {
    kind: STATUS_KIND,
    version: STATUS_VERSION,
    node: inputs.node,
    agent: { version: inputs.agentVersion, ...(inputs.heartbeatSeconds === undefined ? {} : { heartbeatSeconds: inputs.heartbeatSeconds }) },
    heartbeat: now,
    changedAt: now,
    lastAttemptedRevision,
    lastAppliedRevision,
    conditions,
    source: sourceStatus,
    resources: run === undefined ? [] : resourceStatuses(run),
    services: [...inputs.services].map((s) => ({ jail: s.jail, service: s.service, running: s.running })).sort((a, b) => compare(a.jail, b.jail) || compare(a.service, b.service)),
    host: {
      architecture: inputs.host.architecture,
      osVersion: inputs.host.osVersion,
      pools: [...inputs.host.pools].map((p) => ({ name: p.name, health: p.health, freeBytes: p.freeBytes })).sort((a, b) => compare(a.name, b.name)),
    },
    ...(inputs.backups === undefined || inputs.backups.length === 0
      ? {}
      : {
          backups: [...inputs.backups]
            .sort((a, b) => compare(a.dataset, b.dataset))
            .map((d) => ({ dataset: d.dataset, policy: d.policy, copies: d.copies.map((c) => ({ kind: c.kind, target: c.target, newest: c.newest, at: c.at, ageSeconds: c.ageSeconds, maxAgeSeconds: c.maxAgeSeconds, overdue: c.overdue })), ...(d.drill === undefined ? {} : { drill: { at: d.drill.at, ok: d.drill.ok, snapshot: d.drill.snapshot } }) })),
        }),
    ...(inputs.coldDisks === undefined || inputs.coldDisks.length === 0 ? {} : { coldDisks: [...inputs.coldDisks].sort((a, b) => compare(a.pool, b.pool)).map((c) => ({ pool: c.pool, imported: c.imported, exportedAt: c.exportedAt, canUnplug: c.canUnplug })) }),
  };
  return prev !== undefined && isHeartbeatOnly(prev, draft) ? { ...draft, changedAt: prev.changedAt } : draft;
}

/** The last action's outcome for every resource the plan acted on, and the blocked resources; sorted by resource. */
function resourceStatuses(run: RunInput): ResourceStatus[] {
  const outcome = new Map(run.result.outcomes.map((o) => [o.action, o]));
  const last = new Map<string, ResourceStatus>();
  for (const a of run.plan.actions) {
    const o = outcome.get(a.id);
    if (o === undefined) continue;
    const entry: ResourceStatus =
      o.status === "failed"
        ? { resource: a.resource, action: a.id, outcome: "failed", code: o.code }
        : o.status === "skipped"
          ? { resource: a.resource, action: a.id, outcome: "skipped", blockedBy: o.blockedBy }
          : { resource: a.resource, action: a.id, outcome: o.status };
    last.set(a.resource, entry);
  }
  for (const r of run.plan.blocked) if (!last.has(r)) last.set(r, { resource: r, action: null, outcome: "blocked" });
  return [...last.values()].sort((a, b) => compare(a.resource, b.resource));
}

/**
 * substanceOf is the document without its heartbeat fields and `changedAt`: what must differ
 * for a report to be a change rather than a heartbeat. Pure.
 */
export function substanceOf(doc: StatusDocument): unknown {
  return {
    ...doc,
    heartbeat: null,
    changedAt: null,
    source: { ...doc.source, lastAnswerAt: null, newestCommit: doc.source.newestCommit === null ? null : { ...doc.source.newestCommit, ageSeconds: null } },
    host: { ...doc.host, pools: doc.host.pools.map((p) => ({ ...p, freeBytes: null })) },
    ...(doc.backups === undefined ? {} : { backups: doc.backups.map((d) => ({ ...d, copies: d.copies.map((c) => ({ ...c, newest: null, at: null, ageSeconds: null })), ...(d.drill === undefined ? {} : { drill: { ...d.drill, at: null, snapshot: null } }) })) }),
  };
}

/** isHeartbeatOnly answers whether two documents differ at most in their heartbeat fields. Pure. */
export function isHeartbeatOnly(a: StatusDocument, b: StatusDocument): boolean {
  return JSON.stringify(canonical(substanceOf(a))) === JSON.stringify(canonical(substanceOf(b)));
}

const HEADER = " Written by the Steward agent; signed with the node's key. Do not edit.";

/**
 * renderStatus writes the document as YAML: keys in the fixed order of StatusDocument, lists
 * already sorted by buildStatus, no line folding. Equal documents render to equal bytes. Pure.
 */
export function renderStatus(doc: StatusDocument): string {
  const ordered = {
    kind: doc.kind,
    version: doc.version,
    node: doc.node,
    agent: { version: doc.agent.version, ...(doc.agent.heartbeatSeconds === undefined ? {} : { heartbeatSeconds: doc.agent.heartbeatSeconds }) },
    heartbeat: doc.heartbeat,
    changedAt: doc.changedAt,
    lastAttemptedRevision: doc.lastAttemptedRevision,
    lastAppliedRevision: doc.lastAppliedRevision,
    conditions: doc.conditions.map((c) => ({ type: c.type, status: c.status, ...(c.severity === undefined ? {} : { severity: c.severity }), reason: c.reason, message: c.message, since: c.since })),
    source: {
      answered: doc.source.answered,
      lastAnswerAt: doc.source.lastAnswerAt,
      newestCommit: doc.source.newestCommit === null ? null : { revision: doc.source.newestCommit.revision, committedAt: doc.source.newestCommit.committedAt, ageSeconds: doc.source.newestCommit.ageSeconds },
      remotes: doc.source.remotes.map((r) => ({ name: r.name, standing: r.standing, ...(r.tip === undefined ? {} : { tip: r.tip }), ...(r.code === undefined ? {} : { code: r.code }) })),
    },
    resources: doc.resources.map((r) => ({ resource: r.resource, action: r.action, outcome: r.outcome, ...(r.code === undefined ? {} : { code: r.code }), ...(r.blockedBy === undefined ? {} : { blockedBy: r.blockedBy }) })),
    services: doc.services.map((s) => ({ jail: s.jail, service: s.service, running: s.running })),
    host: { architecture: doc.host.architecture, osVersion: doc.host.osVersion, pools: doc.host.pools.map((p) => ({ name: p.name, health: p.health, freeBytes: p.freeBytes })) },
    ...(doc.backups === undefined
      ? {}
      : { backups: doc.backups.map((d) => ({ dataset: d.dataset, policy: d.policy, copies: d.copies.map((c) => ({ kind: c.kind, target: c.target, newest: c.newest, at: c.at, ageSeconds: c.ageSeconds, maxAgeSeconds: c.maxAgeSeconds, overdue: c.overdue })), ...(d.drill === undefined ? {} : { drill: { at: d.drill.at, ok: d.drill.ok, snapshot: d.drill.snapshot } }) })) }),
    ...(doc.coldDisks === undefined ? {} : { coldDisks: doc.coldDisks.map((c) => ({ pool: c.pool, imported: c.imported, exportedAt: c.exportedAt, canUnplug: c.canUnplug })) }),
  };
  return `#${HEADER}\n${stringify(ordered, { lineWidth: 0, minContentWidth: 0, indentSeq: true, aliasDuplicateObjects: false })}`;
}

/**
 * parseStatus reads a document renderStatus wrote. Returns undefined (never throws) for text
 * that is not one: not YAML, another kind or version, or fields of the wrong type; a report
 * then starts afresh (every `since` is now).
 */
export function parseStatus(text: string): StatusDocument | undefined {
  let value: unknown;
  try {
    value = parse(text, { maxAliasCount: 0, uniqueKeys: true });
  } catch {
    return undefined;
  }
  if (!isRecord(value) || value["kind"] !== STATUS_KIND || value["version"] !== STATUS_VERSION) return undefined;
  const str = (v: unknown): v is string => typeof v === "string";
  const strOrNull = (v: unknown): boolean => v === null || typeof v === "string";
  const { node, agent, heartbeat, changedAt, conditions, source, resources, services, host } = value;
  if (!str(node) || !isRecord(agent) || !str(agent["version"]) || !str(heartbeat) || !str(changedAt)) return undefined;
  if (agent["heartbeatSeconds"] !== undefined && !(typeof agent["heartbeatSeconds"] === "number" && agent["heartbeatSeconds"] > 0)) return undefined;
  if (!strOrNull(value["lastAttemptedRevision"]) || !strOrNull(value["lastAppliedRevision"])) return undefined;
  if (!Array.isArray(conditions) || !conditions.every((c) => isRecord(c) && CONDITION_TYPES.includes(c["type"] as ConditionType) && (c["status"] === "True" || c["status"] === "False") && str(c["reason"]) && str(c["message"]) && str(c["since"]))) return undefined;
  if (!isRecord(source) || !strOrNull(source["answered"]) || !strOrNull(source["lastAnswerAt"]) || !Array.isArray(source["remotes"])) return undefined;
  const newest = source["newestCommit"];
  if (newest !== null && !(isRecord(newest) && str(newest["revision"]) && str(newest["committedAt"]) && typeof newest["ageSeconds"] === "number")) return undefined;
  if (!Array.isArray(resources) || !Array.isArray(services) || !isRecord(host) || !str(host["architecture"]) || !str(host["osVersion"]) || !Array.isArray(host["pools"])) return undefined;
  const disks = value["coldDisks"];
  if (disks !== undefined && !(Array.isArray(disks) && disks.every((c) => isRecord(c) && str(c["pool"]) && typeof c["imported"] === "boolean" && typeof c["canUnplug"] === "boolean" && strOrNull(c["exportedAt"])))) return undefined;
  const backups = value["backups"];
  if (backups !== undefined && !(Array.isArray(backups) && backups.every((d) => isRecord(d) && str(d["dataset"]) && str(d["policy"]) && Array.isArray(d["copies"]) && d["copies"].every((c) => isRecord(c) && str(c["kind"]) && str(c["target"]) && typeof c["overdue"] === "boolean")))) return undefined;
  return value as unknown as StatusDocument;
}

/**
 * summaryLine is the first line of a status commit's message: node, Ready and the revision
 * applied, e.g. `status alpha: Ready=False (ApplyFailed) at 1a2b3c4`. Pure.
 */
export function summaryLine(doc: StatusDocument): string {
  const ready = doc.conditions.find((c) => c.type === "Ready");
  const state = ready === undefined ? "Ready=Unknown" : ready.status === "True" ? "Ready=True" : `Ready=False (${ready.reason})`;
  return `status ${doc.node}: ${state} at ${doc.lastAppliedRevision === null ? "no revision" : short(doc.lastAppliedRevision)}`;
}

function manifestReason(diagnostics: readonly Diagnostic[]): string {
  const first = diagnostics.find((d) => d.severity === "error") ?? diagnostics[0];
  return first === undefined ? "ManifestInvalid" : reasonFor(first.code);
}

function describeDiagnostics(diagnostics: readonly Diagnostic[]): string {
  const errors = diagnostics.filter((d) => d.severity === "error");
  const first = errors[0] ?? diagnostics[0];
  if (first === undefined) return "the manifest is invalid for this node";
  const n = errors.length === 0 ? diagnostics.length : errors.length;
  return `${n} problem${n === 1 ? "" : "s"}; first: ${first.where.file}:${first.where.line}:${first.where.column} ${first.code} ${first.message}`;
}

function list(items: readonly string[]): string {
  const unique = [...new Set(items)].sort(compare);
  return unique.length <= 10 ? unique.join(", ") : `${unique.slice(0, 10).join(", ")} and ${unique.length - 10} more`;
}

function short(oid: string | undefined): string {
  return oid === undefined ? "(none)" : oid.slice(0, 12);
}

/** ISO 8601 in UTC to the second: sub-second precision would only make documents differ. */
export function iso(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(".000Z", "Z");
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

function clip(s: string): string {
  return s.length <= MAX_MESSAGE ? s : `${s.slice(0, MAX_MESSAGE - 1)}…`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Keys sorted at every level, so that comparison does not depend on key order. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (!isRecord(v)) return v;
  return Object.fromEntries(
    Object.keys(v)
      .filter((k) => v[k] !== undefined)
      .sort()
      .map((k) => [k, canonical(v[k])]),
  );
}
