/**
 * The jail record (`<state>/jail/applied.json`): reading it, writing it, and deciding its next
 * content after an apply. Pure; the file I/O is in state.ts.
 */
import type { OutcomeStatus } from "../../apply/types.js";
import { canonicalize } from "../../plan/canonical.js";
import type { JailAction, JailAppliedRecord, JailDesired, JailObserved, JailRecord } from "./types.js";

/** parseJailRecord reads the record's text; undefined for anything that is not a version-1 record. */
export function parseJailRecord(text: string): JailAppliedRecord | undefined {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    return undefined;
  }
  const d = data as { version?: unknown; jails?: unknown } | null;
  if (d === null || typeof d !== "object" || d.version !== 1 || typeof d.jails !== "object" || d.jails === null || Array.isArray(d.jails)) return undefined;
  const jails: Record<string, JailRecord> = {};
  const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === "string") ? (v as string[]) : undefined);
  const map = (v: unknown): Record<string, string> | undefined =>
    typeof v === "object" && v !== null && !Array.isArray(v) && Object.values(v).every((x) => typeof x === "string") ? (v as Record<string, string>) : undefined;
  for (const [name, raw] of Object.entries(d.jails as Record<string, unknown>)) {
    const r = raw as Record<string, unknown>;
    const packages = strings(r["packages"]);
    const pending = strings(r["pendingRestarts"]);
    const rc = map(r["rc"]);
    const files = map(r["files"]);
    const conf = r["confSha256"];
    if (packages === undefined || pending === undefined || rc === undefined || files === undefined || (conf !== undefined && typeof conf !== "string")) return undefined;
    jails[name] = { confSha256: conf as string | undefined, packages, rc, files, pendingRestarts: pending };
  }
  return { version: 1, jails };
}

export function renderJailRecord(record: JailAppliedRecord): string {
  return `${JSON.stringify(canonicalize(record), null, 2)}\n`;
}

/**
 * nextJailRecord decides what the record says after an apply: for each desired jail, the
 * manifest's values of every aspect that is converged now (its action succeeded, or none was
 * needed) and the previous values of the others; the restarts that were due and did not
 * succeed, kept until they do; jails removed for good are dropped. Pure.
 */
export function nextJailRecord(previous: JailAppliedRecord, desired: JailDesired, observed: JailObserved, actions: readonly JailAction[], outcomes: ReadonlyMap<string, OutcomeStatus>): JailAppliedRecord {
  const ok = (id: string): boolean => {
    const o = outcomes.get(id);
    return o === "applied" || o === "unchanged";
  };
  const next: Record<string, JailRecord> = {};
  for (const spec of desired.jails) {
    const mine = actions.filter((a) => a.jail === spec.name);
    const find = <K extends JailAction["kind"]>(kind: K): Extract<JailAction, { kind: K }>[] => mine.filter((a): a is Extract<JailAction, { kind: K }> => a.kind === kind);
    const was = previous.jails[spec.name] ?? { confSha256: undefined, packages: [], rc: {}, files: {}, pendingRestarts: [] };
    const obs = observed.jails[spec.name];
    if (mine.length === 0 && obs?.running === undefined && was.confSha256 === undefined) continue;

    const conf = find("jail.conf")[0];
    const confSha256 = conf !== undefined ? (ok(conf.id) ? spec.confContent.sha256 : was.confSha256) : obs?.confSha256 === spec.confContent.sha256 ? spec.confContent.sha256 : was.confSha256;

    let packages = [...spec.packages];
    for (const a of find("jail.pkg-install")) if (!ok(a.id)) packages = packages.filter((p) => !a.packages.includes(p) || was.packages.includes(p));
    for (const a of find("jail.pkg-delete")) if (!ok(a.id)) packages.push(...a.packages);

    const rcAction = find("jail.rc")[0];
    const rc = rcAction === undefined || ok(rcAction.id) ? { ...spec.rc } : { ...was.rc };

    const files: Record<string, string> = {};
    for (const f of spec.files) {
      const a = find("jail.file").find((x) => x.path === f.path);
      const converged = a !== undefined ? ok(a.id) : obs?.files[f.path]?.sha256 === f.content.sha256;
      const old = was.files[f.path];
      if (converged) files[f.path] = f.content.sha256;
      else if (old !== undefined) files[f.path] = old;
    }

    const pending = new Set(was.pendingRestarts.filter((s) => spec.services.includes(s)));
    for (const a of find("jail.service-restart")) {
      if (ok(a.id)) pending.delete(a.service);
      else pending.add(a.service);
    }
    // A start or recreate that failed leaves every service to be started again.
    for (const a of [...find("jail.start"), ...find("jail.recreate")]) {
      if (ok(a.id)) for (const s of spec.services) pending.delete(s);
      else for (const s of spec.services) pending.add(s);
    }
    next[spec.name] = { confSha256, packages: [...new Set(packages)].sort(), rc, files, pendingRestarts: [...pending].sort() };
  }
  for (const [name, rec] of Object.entries(previous.jails)) {
    if (next[name] !== undefined || desired.jails.some((j) => j.name === name)) continue;
    const removal = actions.find((a) => a.kind === "jail.remove" && a.jail === name);
    if (removal !== undefined && !ok(removal.id)) next[name] = rec;
  }
  return canonicalize({ version: 1, jails: next });
}
