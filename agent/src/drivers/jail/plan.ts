/**
 * The jail part of the plan: each service's thin jail against what the host runs. Pure.
 *
 * Per jail (resource `jail:<name>`, needing its root and data datasets and the host's jail
 * setup), in this order:
 * - its jail.conf(5) file is written when it differs;
 * - a jail that is not running is created (its rc starts its enabled services; when the jail
 *   was set up before, each service's status is checked after);
 * - packages the manifest names are installed, those it dropped (and Steward installed) deleted;
 * - rc.conf variables are set and unset; files are written inside the jail (with the jail's own
 *   tools, so a path can never lead out of it) and given their owner;
 * - a running jail whose configuration changed is recreated, which restarts everything in it;
 * - otherwise each rc service whose file, rc variable or packages changed — or whose restart
 *   failed before — is restarted, and its status checked. A new jail's services are started.
 * Whether a difference is drift or a manifest change is read from the applied record; drift on
 * a `drift: report` service is a finding instead. A jail whose service left the manifest is
 * stopped and its conf file removed (teardown); its datasets are kept. A jail running under a
 * desired name without Steward's conf file is not taken over (blocking finding).
 */
import type { ActionCause, CommandStep } from "../../plan/types.js";
import {
  cloneUpArgv,
  fileWriteArgvs,
  hostSetArgv,
  JAIL_TIMEOUT_MS,
  PKG_TIMEOUT_MS,
  pkgDeleteArgv,
  pkgInstallArgv,
  rcSetArgv,
  rcUnsetArgv,
  recreateArgv,
  removeArgv,
  removeFileArgv,
  serviceArgv,
  startArgv,
  tempPath,
} from "./commands.js";
import type { JailAction, JailDesired, JailFinding, JailObserved, JailRecord, JailSpec, ObservedJail } from "./types.js";

export interface JailPlanPart {
  readonly actions: JailAction[];
  readonly findings: JailFinding[];
  readonly resources: string[];
}

/** The resource of a jail; the host's jail setup is `jail:host`. */
export function jailResource(name: string): string {
  return `jail:${name}`;
}
export const HOST_RESOURCE = "jail:host";

/** rcServicePrefix is how rc.conf variables of a service start: `milter-opendkim` → `milteropendkim_`. */
export function rcServicePrefix(service: string): string {
  return `${service.replaceAll(/[^A-Za-z0-9_]/g, "")}_`;
}

/**
 * planJails decides the jail actions and findings for one node (see the module comment).
 * Pure; never throws.
 */
export function planJails(desired: JailDesired, observed: JailObserved): JailPlanPart {
  const actions: JailAction[] = [];
  const findings: JailFinding[] = [];
  const host = planHost(desired, observed);
  if (host !== undefined) actions.push(host);
  for (const spec of desired.jails) {
    const obs = observed.jails[spec.name] ?? emptyObservation(spec.name);
    const part = planJail(spec, obs, observed.applied.jails[spec.name]);
    actions.push(...part.actions);
    findings.push(...part.findings);
  }
  const wanted = new Set(desired.jails.map((j) => j.name));
  for (const name of Object.keys(observed.jails).sort()) {
    if (wanted.has(name)) continue;
    const obs = observed.jails[name] as ObservedJail;
    // Only what Steward made: a conf file of its own, or a jail it recorded.
    if (!obs.confIsSteward && observed.applied.jails[name] === undefined) continue;
    const confPath = `${desired.confDir}/${name}.conf`;
    const steps: CommandStep[] = [];
    if (obs.running !== undefined) steps.push({ argv: removeArgv(confPath, name), timeoutMs: JAIL_TIMEOUT_MS });
    steps.push({ argv: removeFileArgv(confPath) });
    actions.push({
      kind: "jail.remove",
      id: `jail.remove:${name}`,
      driver: "jail",
      jail: name,
      resource: jailResource(name),
      needs: [],
      teardown: true,
      effect: "remove",
      steps,
      cause: "removed-from-manifest",
      reason: `service ${name} is no longer in the manifest: its jail is stopped and its configuration removed; its datasets are kept`,
      before: "configured",
      after: null,
    });
  }
  return { actions, findings, resources: [HOST_RESOURCE, ...desired.jails.map((j) => jailResource(j.name))] };
}

function emptyObservation(name: string): ObservedJail {
  return { name, running: undefined, confSha256: undefined, confIsSteward: false, packages: undefined, rc: undefined, files: {} };
}

/** planHost keeps the host's rc.conf starting Steward's jails at boot, in order, with their interface. */
function planHost(desired: JailDesired, observed: JailObserved): JailAction | undefined {
  if (desired.jails.length === 0 && Object.keys(observed.jails).length === 0) return undefined;
  const list = desired.jails.map((j) => j.name).join(" ");
  const have = observed.host;
  const before: Record<string, string> = {};
  const after: Record<string, string> = {};
  const steps: CommandStep[] = [];
  if (desired.jails.length > 0 && have.jailEnable?.toUpperCase() !== "YES") {
    before["jail_enable"] = have.jailEnable ?? "";
    after["jail_enable"] = "YES";
    steps.push({ argv: hostSetArgv("jail_enable", "YES") });
  }
  if (have.jailList.join(" ") !== list) {
    before["jail_list"] = have.jailList.join(" ");
    after["jail_list"] = list;
    steps.push({ argv: hostSetArgv("jail_list", list) });
  }
  if (desired.jails.length > 0 && !have.clonedInterfaces.includes(desired.jailInterface)) {
    const cloned = [...have.clonedInterfaces, desired.jailInterface].join(" ");
    before["cloned_interfaces"] = have.clonedInterfaces.join(" ");
    after["cloned_interfaces"] = cloned;
    steps.push({ argv: hostSetArgv("cloned_interfaces", cloned) }, { argv: cloneUpArgv() });
  }
  if (steps.length === 0) return undefined;
  return {
    kind: "jail.host",
    id: "jail.host",
    driver: "jail",
    jail: "host",
    resource: HOST_RESOURCE,
    needs: [],
    teardown: false,
    effect: "change",
    steps,
    cause: "missing",
    reason: `the host's rc.conf must start ${list === "" ? "no jails" : `jails ${list}`} at boot${after["cloned_interfaces"] === undefined ? "" : ` and clone ${desired.jailInterface}`}`,
    before,
    after,
  };
}

interface Part {
  readonly actions: JailAction[];
  readonly findings: JailFinding[];
}

function planJail(spec: JailSpec, obs: ObservedJail, record: JailRecord | undefined): Part {
  const actions: JailAction[] = [];
  const findings: JailFinding[] = [];
  const name = spec.name;
  const resource = jailResource(name);
  const needs = [HOST_RESOURCE, ...spec.datasets];
  const report = spec.drift === "report";
  const base = { driver: "jail" as const, jail: name, resource, teardown: false };
  const drifted = (what: string): void => {
    findings.push({ driver: "jail", kind: "drift-reported", jail: name, resource, subject: name, what, blocking: false, message: `${what}; drift: report, left as is` });
  };

  if (obs.running !== undefined && !obs.confIsSteward && record === undefined) {
    findings.push({ driver: "jail", kind: "unmanaged-jail", jail: name, resource, subject: name, blocking: true, message: `a jail named ${name} runs (jid ${obs.running.jid}) without Steward's configuration; Steward will not take it over: stop it, or rename the service` });
    return { actions, findings };
  }
  const isNew = record === undefined;
  const running = obs.running !== undefined;
  const conf = spec.confContent.sha256;

  // The conf file.
  let confChanged = false;
  if (obs.confSha256 !== conf) {
    const cause = causeOf(record?.confSha256, conf, obs.confSha256 === undefined);
    if (cause === "drift" && report) drifted(`${spec.confPath} was edited by hand`);
    else {
      confChanged = true;
      actions.push({
        ...base,
        kind: "jail.conf",
        id: `jail.conf:${name}`,
        needs,
        effect: obs.confSha256 === undefined ? "create" : "change",
        steps: [{ write: spec.confPath, input: spec.confContent, mode: 0o644 }],
        cause,
        reason: reasonFor(cause, `${spec.confPath}`, "its jail configuration"),
        before: obs.confSha256 ?? null,
        after: conf,
      });
    }
  }

  // The jail itself. The services of a jail set up before are checked once rc has started them.
  const checks = (services: readonly string[]): CommandStep[] => services.map((s) => ({ argv: serviceArgv(name, s, "status") }));
  let started = false;
  if (!running) {
    const cause: ActionCause = isNew ? "missing" : "drift";
    if (cause === "drift" && report) {
      drifted("the jail is not running");
      return { actions, findings };
    }
    started = true;
    actions.push({
      ...base,
      kind: "jail.start",
      id: `jail.start:${name}`,
      needs,
      effect: isNew ? "create" : "restart",
      steps: [{ argv: startArgv(spec.confPath, name), timeoutMs: JAIL_TIMEOUT_MS }, ...(isNew ? [] : checks(spec.services))],
      cause,
      reason: isNew ? "not running yet" : "drift: the jail was stopped by hand",
      before: null,
      after: "running",
    });
  }

  // Packages, on the running jail.
  const restartAll: string[] = [];
  // A jail that was not running could not be asked: trust the record of what Steward installed.
  const installed = obs.packages ?? record?.packages;
  const missing = spec.packages.filter((p) => installed === undefined || !installed.includes(p));
  if (missing.length > 0) {
    const byHand = record !== undefined && missing.every((p) => record.packages.includes(p)) && running;
    if (byHand && report) drifted(`packages removed by hand: ${missing.join(" ")}`);
    else {
      actions.push({
        ...base,
        kind: "jail.pkg-install",
        id: `jail.pkg-install:${name}`,
        needs,
        effect: "change",
        packages: missing,
        steps: [{ argv: pkgInstallArgv(name, missing), timeoutMs: PKG_TIMEOUT_MS }],
        cause: byHand ? "drift" : isNew ? "missing" : "manifest-changed",
        reason: `${byHand ? "drift: removed by hand: " : "to install: "}${missing.join(" ")}`,
        before: null,
        after: missing,
      });
      restartAll.push("packages changed");
    }
  }
  const dropped = (record?.packages ?? []).filter((p) => !spec.packages.includes(p) && (installed === undefined || installed.includes(p)));
  if (dropped.length > 0) {
    actions.push({
      ...base,
      kind: "jail.pkg-delete",
      id: `jail.pkg-delete:${name}`,
      needs,
      effect: "remove",
      packages: dropped,
      steps: [{ argv: pkgDeleteArgv(name, dropped), timeoutMs: PKG_TIMEOUT_MS }],
      cause: "manifest-changed",
      reason: `no longer in the manifest: ${dropped.join(" ")}`,
      before: dropped,
      after: null,
    });
    restartAll.push("packages changed");
  }

  // rc.conf, through sysrc in the jail.
  const rcNow = obs.rc ?? {};
  const toSet: Record<string, string> = {};
  const due = new Map<string, Set<string>>();
  const addDue = (service: string, why: string): void => {
    due.set(service, (due.get(service) ?? new Set()).add(why));
  };
  let rcDrift = false;
  for (const [k, v] of Object.entries(spec.rc)) {
    if (rcNow[k] === v) continue;
    const cause = causeOf(record?.rc[k], v, rcNow[k] === undefined);
    if (cause === "drift" && report) {
      drifted(`rc.conf ${k} changed by hand`);
      continue;
    }
    if (cause === "drift") rcDrift = true;
    toSet[k] = v;
  }
  const toUnset = Object.keys(record?.rc ?? {}).filter((k) => spec.rc[k] === undefined && rcNow[k] !== undefined);
  if (Object.keys(toSet).length > 0 || toUnset.length > 0) {
    const steps: CommandStep[] = [];
    if (Object.keys(toSet).length > 0) steps.push({ argv: rcSetArgv(name, toSet) });
    if (toUnset.length > 0) steps.push({ argv: rcUnsetArgv(name, toUnset) });
    actions.push({
      ...base,
      kind: "jail.rc",
      id: `jail.rc:${name}`,
      needs,
      effect: "change",
      steps,
      cause: isNew ? "missing" : rcDrift ? "drift" : "manifest-changed",
      reason: `rc.conf: ${[...Object.keys(toSet).map((k) => `${k}=${toSet[k] ?? ""}`), ...toUnset.map((k) => `unset ${k}`)].join(" ")}`,
      before: Object.fromEntries([...Object.keys(toSet), ...toUnset].map((k) => [k, rcNow[k] ?? ""])),
      after: { ...toSet, ...Object.fromEntries(toUnset.map((k) => [k, ""])) },
    });
    for (const k of [...Object.keys(toSet), ...toUnset]) {
      for (const s of spec.services) if (k.startsWith(rcServicePrefix(s))) addDue(s, `rc.conf ${k}`);
    }
  }

  // Files, written from inside the jail: a symlink a jail made can never lead the write out of it.
  for (const f of spec.files) {
    const have = obs.files[f.path];
    const inSync = have !== undefined && have.sha256 === f.content.sha256 && have.mode === f.mode;
    // An apply killed between writing the temporary file and renaming it left that file behind:
    // the file is written again (the same bytes: nothing to restart), which renames it away.
    const leftover = obs.temporaries?.includes(f.path) === true;
    if (inSync && !leftover) continue;
    const cause = inSync ? "drift" : causeOf(record?.files[f.path], f.content.sha256, have === undefined);
    if (cause === "drift" && report && !inSync) {
      drifted(`${f.path} changed by hand`);
      continue;
    }
    const argvs = fileWriteArgvs(name, f.path, f.mode, f.owner);
    const steps: CommandStep[] = [{ argv: argvs.mkdir }, { argv: argvs.write, input: f.content }, ...argvs.rest.map((argv) => ({ argv }))];
    actions.push({
      ...base,
      kind: "jail.file",
      id: `jail.file:${name}:${f.path}`,
      needs,
      effect: have === undefined ? "create" : "change",
      path: f.path,
      steps,
      cause,
      reason: inSync ? `${tempPath(f.path)} was left by an interrupted apply` : reasonFor(cause, f.path, "the file"),
      before: have?.sha256 ?? null,
      after: f.content.sha256,
    });
    if (!inSync) for (const s of f.restart) addDue(s, f.path);
  }

  // A running jail whose configuration changed is made again: that restarts everything in it.
  if (running && confChanged) {
    actions.push({
      ...base,
      kind: "jail.recreate",
      id: `jail.recreate:${name}`,
      needs,
      effect: "restart",
      steps: [{ argv: recreateArgv(spec.confPath, name), timeoutMs: JAIL_TIMEOUT_MS }, ...checks(spec.services)],
      cause: "manifest-changed",
      reason: "its jail configuration changed",
      before: obs.confSha256 ?? null,
      after: conf,
    });
    return { actions, findings };
  }
  if (started && !isNew) return { actions, findings };

  // Services: a new jail's are started; others restarted when something they depend on changed.
  for (const why of restartAll) for (const s of spec.services) addDue(s, why);
  for (const s of record?.pendingRestarts ?? []) if (spec.services.includes(s)) addDue(s, "an earlier restart did not succeed");
  // A new jail's services are started, unless some may run already: `start` of a running
  // service fails (rc.subr(8)), `restart` starts it either way. They may when the jail runs
  // without a record (an apply was interrupted after starting it) or its rc.conf already holds
  // the manifest's variables (its /etc/rc starts what they enable when the jail starts).
  const mayRun = running || Object.entries(spec.rc).some(([k, v]) => rcNow[k] === v);
  const verb = isNew && !mayRun ? "start" : "restart";
  for (const s of spec.services) {
    const whys = due.get(s);
    if (!isNew && whys === undefined) continue;
    actions.push({
      ...base,
      kind: "jail.service-restart",
      id: `jail.service-restart:${name}:${s}`,
      needs,
      effect: isNew ? "create" : "restart",
      service: s,
      because: [...(whys ?? [])].sort(),
      steps: [{ argv: ["service", "-j", name, s, verb] }, { argv: serviceArgv(name, s, "status") }],
      cause: isNew ? "missing" : "restart-due",
      reason: isNew ? (verb === "start" ? `start ${s}` : `start ${s} (by restart: it may run already)`) : `restart ${s}: ${[...(whys ?? [])].sort().join(", ")}`,
      before: null,
      after: "running",
    });
  }
  return { actions, findings };
}

/** causeOf decides why a value differs, from what was last applied (3-way, as for datasets). */
function causeOf(recorded: string | undefined, desired: string, absent: boolean): ActionCause {
  if (recorded === undefined) return absent ? "missing" : "unrecorded";
  return recorded === desired ? "drift" : "manifest-changed";
}

function reasonFor(cause: ActionCause, what: string, noun: string): string {
  switch (cause) {
    case "drift":
      return `drift: ${what} was changed by hand`;
    case "manifest-changed":
      return `the manifest changed ${noun}`;
    case "missing":
      return `${what} does not exist`;
    default:
      return `${what} differs from the manifest`;
  }
}
