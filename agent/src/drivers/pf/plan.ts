/**
 * The pf part of the plan: one action, `pf.load` of the anchor `steward` (resource
 * `pf:steward`), when what the anchor holds is not what the manifest wants. Pure.
 *
 * The anchor is in sync when the record says the wanted file was loaded and confirmed, and the
 * anchor reads back as it did right after (a reboot, `pfctl -F`, or a hand edit changes the
 * read-back: drift, corrected unless the cluster's drift policy is `report`). The load writes
 * the file, has pfctl parse it, loads it in one transaction, then verifies the anchor reads
 * back as parsed and, when configured, that the node still reaches a remote (postcondition;
 * verify.ts). Findings say what keeps the loaded anchor from being in force; none of them
 * stops the load, which never weakens what is in force.
 */
import type { ActionCause, Step } from "../../plan/types.js";
import { loadArgv, parseArgv, PFCTL_TIMEOUT_MS } from "./commands.js";
import type { PfAction, PfDesired, PfFinding, PfObserved } from "./types.js";

export interface PfPlanPart {
  readonly actions: PfAction[];
  readonly findings: PfFinding[];
  readonly resources: string[];
}

/** pfResource is the resource of the anchor. */
export function pfResource(anchor: string): string {
  return `pf:${anchor}`;
}

/** The files of the driver's directory. */
export function anchorFiles(dir: string, anchor: string): { current: string; next: string; empty: string } {
  return { current: `${dir}/${anchor}.conf`, next: `${dir}/${anchor}.next.conf`, empty: `${dir}/${anchor}.empty.conf` };
}

/** planPf decides the pf action and findings for one node (module comment). Pure; never throws. */
export function planPf(desired: PfDesired, observed: PfObserved): PfPlanPart {
  const resource = pfResource(desired.anchor);
  const findings: PfFinding[] = [];
  const finding = (kind: PfFinding["kind"], message: string): void => {
    findings.push({ driver: "pf", kind, resource, subject: `anchor ${desired.anchor}`, message, blocking: false });
  };
  if (!observed.looked) return { actions: [], findings, resources: [resource] };
  if (observed.unavailable !== undefined) {
    findings.push({ driver: "pf", kind: "unavailable", resource, subject: `anchor ${desired.anchor}`, message: `${observed.unavailable}: the jails of this node are not isolated; load pf (sysrc pf_enable=YES; service pf start, or kldload pf)`, blocking: true });
    return { actions: [], findings, resources: [resource] };
  }

  if (desired.counts.jails > 0) {
    const missing = [
      ...(observed.hooks.nat ? [] : [`nat-anchor "${desired.anchor}"`]),
      ...(observed.hooks.rdr ? [] : [`rdr-anchor "${desired.anchor}"`]),
      ...(observed.hooks.filter ? [] : [`anchor "${desired.anchor}"`]),
    ];
    if (missing.length > 0) finding("not-called", `/etc/pf.conf does not call the anchor (${missing.join(", ")} missing): its rules are loaded but not in force; add the lines to pf.conf (docs/network.md) and reload it`);
    if (!observed.running) finding("disabled", "pf is not enabled: no rule is in force; enable it (sysrc pf_enable=YES; service pf start)");
    if (observed.loopbackSkipped) finding("loopback-skipped", "pf.conf skips lo0 (set skip on lo0 or lo): jails of this node reach each other unfiltered; remove that set skip");
    for (const rule of observed.hooks.quickBefore) finding("quick-before", `pf.conf passes before the anchor is evaluated: ${rule}`);
  }

  const want = desired.content.sha256;
  const applied = observed.applied;
  const sameFile = applied.anchorSha256 === want;
  const sameReadback = applied.readbackSha256 === observed.readback.sha256;
  if (sameFile && sameReadback) return { actions: [], findings, resources: [resource] };

  let cause: ActionCause;
  let reason: string;
  if (applied.anchorSha256 === undefined) {
    cause = observed.readback.empty ? "missing" : "unrecorded";
    reason = observed.readback.empty ? "the anchor is not loaded" : "the anchor holds rules Steward did not record loading";
  } else if (sameFile) {
    cause = "drift";
    reason = observed.readback.empty ? "the anchor was emptied on the host (a reboot or pfctl -F)" : "the anchor was changed on the host";
    if (desired.drift === "report") {
      finding("drift-reported", `${reason}; drift is reported, not corrected`);
      return { actions: [], findings, resources: [resource] };
    }
  } else {
    cause = "manifest-changed";
    reason = "the manifest's routes, exposed ports or jails changed";
  }

  const files = anchorFiles(observed.dir, desired.anchor);
  const steps: Step[] = [
    { write: files.next, input: desired.content, mode: 0o600 },
    { argv: parseArgv(desired.anchor, files.next), timeoutMs: PFCTL_TIMEOUT_MS },
    { argv: loadArgv(desired.anchor, files.next), timeoutMs: PFCTL_TIMEOUT_MS },
  ];
  const action: PfAction = {
    kind: "pf.load",
    id: `pf.load:${desired.anchor}`,
    driver: "pf",
    anchor: desired.anchor,
    resource,
    needs: [],
    teardown: false,
    effect: applied.anchorSha256 === undefined && observed.readback.empty ? "create" : "change",
    steps,
    postcondition: {
      kind: "pf.loaded",
      anchor: desired.anchor,
      file: files.next,
      previous: observed.previousFile ? files.current : null,
      empty: files.empty,
      ...(desired.confirm === undefined ? {} : { confirm: desired.confirm }),
    },
    cause,
    reason,
    before: applied.anchorSha256 ?? null,
    after: want,
    counts: desired.counts,
  };
  return { actions: [action], findings, resources: [resource] };
}
