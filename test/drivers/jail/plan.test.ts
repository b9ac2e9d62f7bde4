/**
 * The jail plan, pure: hand-made observations of the template's mail jail against its desired
 * state, one case per situation the driver must tell apart.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { sliceJails } from "../../../agent/src/drivers/jail/driver.js";
import { planJails } from "../../../agent/src/drivers/jail/plan.js";
import type { JailDesired, JailObserved, JailRecord, ObservedJail } from "../../../agent/src/drivers/jail/types.js";
import { desiredStateFor } from "../../../agent/src/manifest/desired.js";
import { loadModel } from "../../../agent/src/manifest/load.js";
import type { DesiredState } from "../../../agent/src/manifest/types.js";
import { templateWith } from "../../helpers/template.js";

const sha = (c: string): string => c.repeat(64);
const MAIN_CF = sha("a");
const DOVECOT = sha("b");

async function desired(edit: (d: DesiredState) => DesiredState = (d) => d): Promise<JailDesired> {
  const { model } = loadModel(await templateWith());
  assert.ok(model);
  const d = desiredStateFor(model, "alpha");
  // Contents as the manifest step would have read them.
  const withContent: DesiredState = {
    ...d,
    host: { jailConfDir: "/etc/jail.conf.d" },
    services: d.services.map((s) => ({ ...s, files: s.files.map((f) => ({ ...f, content: { sha256: f.from.endsWith("main.cf") ? MAIN_CF : f.from.endsWith("dovecot.conf") ? DOVECOT : sha("c"), bytes: 10 } })) })),
  };
  return sliceJails(edit(withContent));
}

/** converged says what a host looks like once `slice` was applied, with the record to match. */
function converged(slice: JailDesired): JailObserved {
  const jails: Record<string, ObservedJail> = {};
  const records: Record<string, JailRecord> = {};
  for (const j of slice.jails) {
    jails[j.name] = {
      name: j.name,
      running: { jid: "1", name: j.name, path: j.root, hostname: j.hostname, ip4: [j.ip] },
      confSha256: j.confContent.sha256,
      confIsSteward: true,
      packages: [...j.packages, "pkg"],
      rc: { ...j.rc, sendmail_enable: "NONE" },
      files: Object.fromEntries(j.files.map((f) => [f.path, { sha256: f.content.sha256, mode: f.mode }])),
    };
    records[j.name] = { confSha256: j.confContent.sha256, packages: [...j.packages], rc: { ...j.rc }, files: Object.fromEntries(j.files.map((f) => [f.path, f.content.sha256])), pendingRestarts: [] };
  }
  return { host: { jailEnable: "YES", jailList: slice.jails.map((j) => j.name), clonedInterfaces: ["lo1"] }, jails, applied: { version: 1, jails: records } };
}

function withJail(o: JailObserved, name: string, edit: (j: ObservedJail) => ObservedJail, record?: (r: JailRecord) => JailRecord | undefined): JailObserved {
  const jails = { ...o.jails, [name]: edit(o.jails[name] as ObservedJail) };
  const recs: Record<string, JailRecord> = { ...o.applied.jails };
  if (record !== undefined) {
    const r = record(recs[name] as JailRecord);
    if (r === undefined) delete recs[name];
    else recs[name] = r;
  }
  return { ...o, jails, applied: { version: 1, jails: recs } };
}

const ids = (p: ReturnType<typeof planJails>): string[] => p.actions.map((a) => a.id);

test("a converged node plans nothing", async () => {
  const s = await desired();
  const p = planJails(s, converged(s));
  assert.deepEqual([p.actions, p.findings], [[], []]);
  assert.deepEqual(p.resources, ["jail:host", "jail:git", "jail:mail"]);
});

test("a new jail: conf, start, packages, rc.conf, files, then each service started and checked", async () => {
  const s = await desired();
  const fresh: JailObserved = { host: { jailEnable: undefined, jailList: [], clonedInterfaces: [] }, jails: {}, applied: { version: 1, jails: {} } };
  const p = planJails(s, fresh);
  assert.deepEqual(ids(p).filter((id) => id.includes(":mail")), [
    "jail.conf:mail",
    "jail.start:mail",
    "jail.pkg-install:mail",
    "jail.rc:mail",
    "jail.file:mail:/usr/local/etc/postfix/main.cf",
    "jail.file:mail:/usr/local/etc/dovecot/local.conf",
    "jail.service-restart:mail:postfix",
    "jail.service-restart:mail:dovecot",
    "jail.service-restart:mail:milter-opendkim",
  ]);
  assert.equal(ids(p)[0], "jail.host");
  const start = p.actions.find((a) => a.id === "jail.start:mail");
  assert.deepEqual(start?.needs, ["jail:host", "zfs:zroot/steward/jails/mail", "zfs:zroot/steward/data/mail/mail", "zfs:zroot/steward/data/mail/spool"]);
  const svc = p.actions.find((a) => a.id === "jail.service-restart:mail:postfix");
  assert.deepEqual(svc?.steps.map((x) => ("argv" in x ? x.argv : [])), [["service", "-j", "mail", "postfix", "start"], ["service", "-j", "mail", "postfix", "status"]]);
});

test("files are written from inside the jail, content by hash only, and chowned with the jail's users", async () => {
  const s = await desired((d) => ({ ...d, services: d.services.map((x) => ({ ...x, files: x.files.map((f) => ({ ...f, owner: "postfix:postfix", mode: "0640" })) })) }));
  const o = withJail(converged(s), "mail", (j) => ({ ...j, files: {} }));
  const file = planJails(s, o).actions.find((a) => a.id === "jail.file:mail:/usr/local/etc/postfix/main.cf");
  assert.deepEqual(file?.steps, [
    { argv: ["jexec", "mail", "mkdir", "-p", "/usr/local/etc/postfix"] },
    { argv: ["jexec", "mail", "dd", "of=/usr/local/etc/postfix/main.cf.steward-new", "status=none"], input: { sha256: MAIN_CF, bytes: 10 } },
    { argv: ["jexec", "mail", "chmod", "0640", "/usr/local/etc/postfix/main.cf.steward-new"] },
    { argv: ["jexec", "mail", "chown", "postfix:postfix", "/usr/local/etc/postfix/main.cf.steward-new"] },
    { argv: ["jexec", "mail", "mv", "-f", "/usr/local/etc/postfix/main.cf.steward-new", "/usr/local/etc/postfix/main.cf"] },
  ]);
});

test("a changed file restarts only the services it names, in that jail only", async () => {
  const s = await desired();
  const before = converged(s);
  const o = withJail(before, "mail", (j) => ({ ...j, files: { ...j.files, "/usr/local/etc/postfix/main.cf": { sha256: sha("0"), mode: 0o644 } } }), (r) => ({ ...r, files: { ...r.files, "/usr/local/etc/postfix/main.cf": sha("0") } }));
  const p = planJails(s, o);
  assert.deepEqual(ids(p), ["jail.file:mail:/usr/local/etc/postfix/main.cf", "jail.service-restart:mail:postfix"]);
  assert.deepEqual(p.actions.map((a) => a.cause), ["manifest-changed", "restart-due"]);
});

test("a file edited by hand is drift: rewritten and its service restarted; with drift: report, only reported", async () => {
  const s = await desired();
  const o = withJail(converged(s), "mail", (j) => ({ ...j, files: { ...j.files, "/usr/local/etc/postfix/main.cf": { sha256: sha("9"), mode: 0o644 } } }));
  assert.deepEqual(planJails(s, o).actions.map((a) => [a.id, a.cause]), [["jail.file:mail:/usr/local/etc/postfix/main.cf", "drift"], ["jail.service-restart:mail:postfix", "restart-due"]]);
  const report = await desired((d) => ({ ...d, services: d.services.map((x) => ({ ...x, drift: "report" as const })) }));
  const r = planJails(report, withJail(converged(report), "mail", (j) => ({ ...j, files: { ...j.files, "/usr/local/etc/postfix/main.cf": { sha256: sha("9"), mode: 0o644 } } })));
  assert.deepEqual([r.actions, r.findings.map((f) => f.kind)], [[], ["drift-reported"]]);
});

test("a package added to the manifest is installed and restarts that jail's services", async () => {
  const s = await desired((d) => ({ ...d, services: d.services.map((x) => (x.name === "mail" ? { ...x, packages: [...x.packages, "spamassassin"] } : x)) }));
  const o = withJail(converged(s), "mail", (j) => ({ ...j, packages: (j.packages ?? []).filter((p) => p !== "spamassassin") }), (r) => ({ ...r, packages: r.packages.filter((p) => p !== "spamassassin") }));
  const p = planJails(s, o);
  assert.deepEqual(ids(p), ["jail.pkg-install:mail", "jail.service-restart:mail:postfix", "jail.service-restart:mail:dovecot", "jail.service-restart:mail:milter-opendkim"]);
  assert.deepEqual(p.actions[0]?.steps, [{ argv: ["pkg", "-j", "mail", "install", "-y", "spamassassin"], timeoutMs: 20 * 60_000 }]);
});

test("a package removed by hand is reinstalled (drift); one dropped from the manifest is deleted", async () => {
  const s = await desired();
  const removed = withJail(converged(s), "mail", (j) => ({ ...j, packages: (j.packages ?? []).filter((p) => p !== "dovecot") }));
  assert.deepEqual(planJails(s, removed).actions.map((a) => [a.id, a.cause]).slice(0, 1), [["jail.pkg-install:mail", "drift"]]);
  const dropped = await desired((d) => ({ ...d, services: d.services.map((x) => (x.name === "mail" ? { ...x, packages: x.packages.filter((p) => p !== "opendkim") } : x)) }));
  const o = withJail(converged(dropped), "mail", (j) => ({ ...j, packages: [...(j.packages ?? []), "opendkim"] }), (r) => ({ ...r, packages: [...r.packages, "opendkim"] }));
  assert.deepEqual(planJails(dropped, o).actions[0]?.steps, [{ argv: ["pkg", "-j", "mail", "delete", "-y", "opendkim"], timeoutMs: 20 * 60_000 }]);
});

test("an rc.conf variable change restarts the service it belongs to", async () => {
  const s = await desired((d) => ({ ...d, services: d.services.map((x) => (x.name === "mail" ? { ...x, rc: { ...x.rc, dovecot_flags: "-c /x" } } : x)) }));
  const o = withJail(converged(s), "mail", (j) => ({ ...j, rc: { ...(j.rc ?? {}), dovecot_flags: "" } }), (r) => ({ ...r, rc: { ...r.rc, dovecot_flags: "" } }));
  const p = planJails(s, o);
  assert.deepEqual(ids(p), ["jail.rc:mail", "jail.service-restart:mail:dovecot"]);
  assert.deepEqual(p.actions[0]?.steps, [{ argv: ["sysrc", "-j", "mail", "dovecot_flags=-c /x"] }]);
});

test("a changed jail configuration recreates only that jail (which restarts everything in it)", async () => {
  const s = await desired((d) => ({ ...d, services: d.services.map((x) => (x.name === "mail" ? { ...x, ip: "10.17.0.26" } : x)) }));
  const o = withJail(converged(s), "mail", (j) => ({ ...j, confSha256: sha("7") }), (r) => ({ ...r, confSha256: sha("7") }));
  const p = planJails(s, o);
  assert.deepEqual(ids(p), ["jail.conf:mail", "jail.recreate:mail"]);
  assert.deepEqual(p.actions[1]?.steps.map((x) => ("argv" in x ? x.argv.slice(0, 3) : [])), [["jail", "-f", "/etc/jail.conf.d/mail.conf"], ["service", "-j", "mail"], ["service", "-j", "mail"], ["service", "-j", "mail"]]);
});

test("a jail stopped by hand is started again and its services checked; with drift: report, only reported", async () => {
  const s = await desired();
  const o = withJail(converged(s), "git", (j) => ({ ...j, running: undefined, packages: undefined }));
  const p = planJails(s, o);
  assert.deepEqual(p.actions.map((a) => [a.id, a.cause]), [["jail.start:git", "drift"]]);
  const report = await desired((d) => ({ ...d, services: d.services.map((x) => ({ ...x, drift: "report" as const })) }));
  const r = planJails(report, withJail(converged(report), "git", (j) => ({ ...j, running: undefined })));
  assert.deepEqual([r.actions, r.findings.map((f) => f.kind)], [[], ["drift-reported"]]);
});

test("a restart that failed before is retried until it succeeds", async () => {
  const s = await desired();
  const o = withJail(converged(s), "mail", (j) => j, (r) => ({ ...r, pendingRestarts: ["dovecot"] }));
  assert.deepEqual(planJails(s, o).actions.map((a) => [a.id, a.cause]), [["jail.service-restart:mail:dovecot", "restart-due"]]);
});

test("a service removed from the manifest: its jail is stopped and its conf removed, as teardown", async () => {
  const s = await desired();
  const withOld = converged(s);
  const o: JailObserved = { ...withOld, jails: { ...withOld.jails, old: { name: "old", running: { jid: "9", name: "old", path: "/jails/old", hostname: "old", ip4: [] }, confSha256: sha("5"), confIsSteward: true, packages: undefined, rc: undefined, files: {} } } };
  const p = planJails(s, o);
  assert.deepEqual(p.actions.map((a) => [a.id, a.teardown, a.effect]), [["jail.remove:old", true, "remove"]]);
  assert.deepEqual(p.actions[0]?.steps, [{ argv: ["jail", "-f", "/etc/jail.conf.d/old.conf", "-r", "old"], timeoutMs: 5 * 60_000 }, { argv: ["rm", "-f", "/etc/jail.conf.d/old.conf"] }]);
});

test("a jail running under a service's name without Steward's conf is not taken over", async () => {
  const s = await desired();
  const o = withJail(converged(s), "mail", (j) => ({ ...j, confSha256: undefined, confIsSteward: false }), () => undefined);
  const p = planJails(s, o);
  assert.deepEqual(p.actions.filter((a) => a.jail === "mail"), []);
  assert.deepEqual(p.findings.map((f) => [f.kind, f.blocking]), [["unmanaged-jail", true]]);
});

test("the host's rc.conf lists Steward's jails in order, enables them and clones their interface", async () => {
  const s = await desired();
  const o = { ...converged(s), host: { jailEnable: "NO", jailList: ["mail"], clonedInterfaces: [] } };
  const host = planJails(s, o).actions.find((a) => a.kind === "jail.host");
  assert.deepEqual(host?.steps, [
    { argv: ["sysrc", "jail_enable=YES"] },
    { argv: ["sysrc", "jail_list=git mail"] },
    { argv: ["sysrc", "cloned_interfaces=lo1"] },
    { argv: ["service", "netif", "cloneup"] },
  ]);
});

test("a jail that runs without a record (an apply killed after starting it) has its services restarted: start would fail on a running one", async () => {
  const s = await desired();
  const o = withJail(converged(s), "mail", (j) => j, () => undefined);
  const first = (a: { steps: readonly unknown[] }): string => (a.steps[0] as { argv: readonly string[] }).argv.join(" ");
  assert.deepEqual(planJails(s, o).actions.filter((a) => a.jail === "mail").map(first), ["service -j mail postfix restart", "service -j mail dovecot restart", "service -j mail milter-opendkim restart"]);
  // Not running, but its rc.conf already enables them: the jail's /etc/rc starts them first.
  const stopped = withJail(converged(s), "mail", (j) => ({ ...j, running: undefined, packages: undefined }), () => undefined);
  assert.deepEqual(planJails(s, stopped).actions.filter((a) => a.kind === "jail.service-restart" && a.jail === "mail").map(first), ["service -j mail postfix restart", "service -j mail dovecot restart", "service -j mail milter-opendkim restart"]);
});

test("a temporary file an interrupted apply left is written again, so renamed away, and nothing restarts", async () => {
  const s = await desired();
  const o = withJail(converged(s), "mail", (j) => ({ ...j, temporaries: ["/usr/local/etc/postfix/main.cf"] }));
  const p = planJails(s, o);
  assert.deepEqual(p.actions.map((a) => [a.id, a.cause, a.reason]), [["jail.file:mail:/usr/local/etc/postfix/main.cf", "drift", "/usr/local/etc/postfix/main.cf.steward-new was left by an interrupted apply"]]);
  assert.deepEqual(p.actions[0]?.steps.at(-1), { argv: ["jexec", "mail", "mv", "-f", "/usr/local/etc/postfix/main.cf.steward-new", "/usr/local/etc/postfix/main.cf"] });
  // Steward's own leftover is not drift an admin made: it goes even with drift: report.
  const report = await desired((d) => ({ ...d, services: d.services.map((x) => ({ ...x, drift: "report" as const })) }));
  const r = planJails(report, withJail(converged(report), "mail", (j) => ({ ...j, temporaries: ["/usr/local/etc/postfix/main.cf"] })));
  assert.deepEqual(r.actions.map((a) => a.id), ["jail.file:mail:/usr/local/etc/postfix/main.cf"]);
});
