/**
 * Copies to targets, pure: when a copy is due, what a target's listing says, which send brings
 * it up to date (whole, `-I` from the common snapshot, `-i` from a bookmark, `-t` resuming), how
 * the base is kept (a hold on zfs-fuse, a bookmark on OpenZFS), and the record after an apply.
 * The OpenZFS outputs are as OpenZFS 2.2 on FreeBSD 14 prints them through steward-receive.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { backupDriver } from "../../../agent/src/drivers/backup/driver.js";
import { observeArgv, sendArgv, sshArgv } from "../../../agent/src/drivers/backup/commands.js";
import { snapshotName } from "../../../agent/src/drivers/backup/names.js";
import { parseLocal } from "../../../agent/src/drivers/backup/parse.js";
import { parseTargetList } from "../../../agent/src/drivers/backup/parse-target.js";
import { nextBackupState, parseBackupState, renderBackupState } from "../../../agent/src/drivers/backup/record.js";
import { backoffMs, copyDue, planCopy, sendEstimate, targetsOf, type CopyInput, type CopyWay } from "../../../agent/src/drivers/backup/transfers.js";
import { EMPTY_BACKUP_STATE, type BackupAction, type BackupSendAction, type TargetRef } from "../../../agent/src/drivers/backup/types.js";
import type { Argv } from "../../../agent/src/exec.js";
import { at, dsBackup, local, observedAt, slice, snap } from "./build.js";

const P = "tank";
const MAIL = `${P}/steward/data/mail/mail`;
const h = (hh: string): string => snapshotName("hourly", at(`2026-12-07T${hh}:00:00Z`));
const BETA: TargetRef = { kind: "replica", name: "beta", tag: "replica-beta" };
const WAY: CopyWay = {
  receive: [["ssh", "beta", "receive mail/mail"]],
  prune: (names) => [{ argv: ["ssh", "beta", ["prune", "mail/mail", ...names].join(" ")] as unknown as Argv }],
};
const D = dsBackup(P, "mail", "mail", { hourly: 2 }, { replica: { node: "beta", endpoint: { user: "root", host: "beta.home.arpa", port: undefined }, every: 3600 } });

function input(over: Partial<CopyInput>): CopyInput {
  return { d: D, target: BETA, way: WAY, view: undefined, local: undefined, newest: h("09"), taken: [], features: "legacy", due: true, recorded: undefined, needs: ["backup:tank/steward/data/mail"], ...over };
}

const argvs = (a: BackupSendAction | undefined): unknown[] => (a?.steps ?? []).map((s) => ("pipeline" in s ? s.pipeline : "argv" in s ? s.argv : s.write));

test("a copy is due when the target lacks the newest snapshot and the recorded one is `every` old; failures back off", () => {
  const now = at("2026-12-07T09:30:00Z");
  assert.equal(copyDue(now, 3600, undefined, undefined, []), false, "nothing to send");
  assert.equal(copyDue(now, 3600, h("09"), undefined, []), true, "never sent");
  assert.equal(copyDue(now, 3600, h("09"), { snapshot: h("09") }, []), false, "holds it");
  assert.equal(copyDue(now, 3600, h("09"), { snapshot: h("08") }, []), true, "08:00 is 90 min old");
  assert.equal(copyDue(now, 7200, h("09"), { snapshot: h("08") }, []), false, "every 2 h");
  assert.equal(copyDue(now, 0, h("09"), undefined, [{ at: now - 60_000, count: 1 }]), false, "failed a minute ago");
  assert.equal(copyDue(now, 0, h("09"), undefined, [undefined, { at: now - 6 * 60_000, count: 1 }]), true, "5 min passed");
  assert.deepEqual([1, 2, 3, 10].map(backoffMs), [300_000, 600_000, 1_200_000, 6 * 3600_000]);
  assert.deepEqual(targetsOf(D).map((t) => t.tag), ["replica-beta"]);
});

test("the backup ssh command: pinned host keys, the backup key only, no forwarding, no user config, one request line", () => {
  const argv = sshArgv({ user: "root", host: "beta.home.arpa", port: 2222 }, { key: "/k", knownHosts: "/kh" }, ["receive", "mail/mail"]);
  assert.equal(argv[0], "ssh");
  for (const o of ["BatchMode=yes", "StrictHostKeyChecking=yes", "UserKnownHostsFile=/kh", "IdentitiesOnly=yes", "ClearAllForwardings=yes"]) assert.ok(argv.includes(o), o);
  assert.deepEqual(argv.slice(1, 3), ["-F", "/dev/null"]);
  assert.deepEqual(argv.slice(-9), ["-i", "/k", "-p", "2222", "-l", "root", "--", "beta.home.arpa", "receive mail/mail"]);
});

test("steward-receive's listing: features, datasets below the root with snapshots (by time) and resume tokens; containers left out", () => {
  const out = [
    "features openzfs",
    "mail\tguid\t11",
    "mail\treceive_resume_token\t-",
    "mail/mail\tguid\t12",
    "mail/mail\treceive_resume_token\t1-e604ea4bf-e0-789c63a2b8a4c",
    `mail/mail@${h("09")}\tguid\t900`,
    `mail/mail@${h("08")}\tguid\t800`,
    "caldav/collections\tguid\t13",
    "caldav/collections\treceive_resume_token\t-",
    "",
  ].join("\n");
  assert.deepEqual(parseTargetList(out), {
    features: "openzfs",
    datasets: {
      "caldav/collections": { snapshots: [] },
      "mail/mail": { snapshots: [{ name: h("08"), guid: "800" }, { name: h("09"), guid: "900" }], resumeToken: "1-e604ea4bf-e0-789c63a2b8a4c" },
    },
  });
  assert.deepEqual(parseTargetList("features legacy\n"), { features: "legacy", datasets: {} });
  assert.equal(parseTargetList("fatal: not a git repository\n"), undefined, "not steward-receive");
});

test("first copy: sent whole, the new base held (zfs-fuse), nothing pruned", () => {
  const p = planCopy(input({ local: local(MAIL, [snap(h("08")), snap(h("09"))]) }));
  const a = p.action;
  assert.ok(a?.kind === "backup.send");
  assert.deepEqual(argvs(a), [
    [["zfs", "send", `${MAIL}@${h("09")}`], ["ssh", "beta", "receive mail/mail"]],
    ["zfs", "hold", "steward-replica-beta", `${MAIL}@${h("09")}`],
  ]);
  assert.equal(a.from, undefined);
  assert.match(a.reason, /no copy yet/);
});

test("incremental (zfs-fuse): -I from the newest common snapshot (same guid), the base moved, the target pruned to the policy", () => {
  const view = { snapshots: [{ name: h("06"), guid: `g-${h("06")}` }, { name: h("07"), guid: `g-${h("07")}` }] };
  const l = local(MAIL, [snap(h("07"), 1), snap(h("08")), snap(h("09"))]);
  const p = planCopy(input({ view, local: l, recorded: h("07") }));
  const a = p.action;
  assert.ok(a?.kind === "backup.send");
  assert.deepEqual(argvs(a), [
    [["zfs", "send", "-I", `@${h("07")}`, `${MAIL}@${h("09")}`], ["ssh", "beta", "receive mail/mail"]],
    ["zfs", "hold", "steward-replica-beta", `${MAIL}@${h("09")}`],
    ["zfs", "release", "steward-replica-beta", `${MAIL}@${h("07")}`],
    // After the send the target holds 06..09; hourly 2 keeps 08 and 09.
    ["ssh", "beta", `prune mail/mail ${h("06")} ${h("07")}`],
  ]);
  assert.equal(p.base, h("07"), "the hot prune must not destroy the base first");
});

test("a snapshot of the same name but another guid is not a base: a copy with nothing in common is never overwritten", () => {
  const view = { snapshots: [{ name: h("07"), guid: "elsewhere" }] };
  const p = planCopy(input({ view, local: local(MAIL, [snap(h("07")), snap(h("09"))]) }));
  assert.equal(p.action, undefined);
  assert.equal(p.finding?.kind, "copy-diverged");
  assert.match(p.finding?.message ?? "", /never overwrites/);
});

test("the target holds snapshots after the newest this node has (an older copy swapped in by a restore): found, never sent over", () => {
  // The node restored 07:00 and swapped it in; beta still holds 08:00 and 09:00 of the data it replaced.
  const view = { snapshots: [h("07"), h("08"), h("09")].map((n) => ({ name: n, guid: `g-${n}` })) };
  const l = local(MAIL, [snap(h("07")), snap(h("10"))]);
  const p = planCopy(input({ view, local: l, newest: h("10") }));
  assert.equal(p.action, undefined);
  assert.equal(p.finding?.kind, "copy-ahead");
  assert.equal(p.finding?.blocking, false);
  assert.match(p.finding?.message ?? "", new RegExp(`holds ${h("08")}, ${h("09")} after ${h("07")}.*never overwrites.*sent from ${h("07")}`));
});

test("the target holds the newest already (an apply died after the receive): only the base moves, and the record", () => {
  const view = { snapshots: [{ name: h("09"), guid: `g-${h("09")}` }] };
  const l = local(MAIL, [snap(h("08"), 1), snap(h("09"))]);
  const p = planCopy(input({ view, local: l, recorded: h("08") }));
  assert.equal(p.action?.kind, "backup.rebase");
  assert.deepEqual(p.action?.steps.map((s) => ("argv" in s ? s.argv : [])), [
    ["zfs", "hold", "steward-replica-beta", `${MAIL}@${h("09")}`],
    ["zfs", "release", "steward-replica-beta", `${MAIL}@${h("08")}`],
  ]);
  assert.deepEqual(planCopy(input({ view, local: l, recorded: h("09") })), {}, "recorded: nothing to do");
});

// OpenZFS: `zfs get -rHp -o name,property,value,source guid,userrefs,org.steward:managed` as
// FreeBSD 14 prints it for a dataset with a Steward bookmark of the replica's base.
const OPENZFS_LOCAL = [
  `${MAIL}\tguid\t5551\t-`,
  `${MAIL}\tuserrefs\t-\t-`,
  `${MAIL}\torg.steward:managed\tyes\tlocal`,
  `${MAIL}@${h("09")}\tguid\t900\t-`,
  `${MAIL}@${h("09")}\tuserrefs\t0\t-`,
  `${MAIL}#${h("07")}.replica-beta\tguid\t700\t-`,
  "",
].join("\n");

test("OpenZFS: the base snapshot pruned, its bookmark is the base: -i from the bookmark, the new bookmark made and the old destroyed", () => {
  const l = parseLocal(OPENZFS_LOCAL)[MAIL];
  const view = parseTargetList(["features openzfs", "mail/mail\tguid\t12", "mail/mail\treceive_resume_token\t-", `mail/mail@${h("07")}\tguid\t700`, ""].join("\n"))?.datasets["mail/mail"];
  const a = planCopy(input({ view, local: l, features: "openzfs", recorded: h("07") })).action;
  assert.ok(a?.kind === "backup.send");
  assert.deepEqual(a.from, { bookmark: `${h("07")}.replica-beta` });
  assert.deepEqual(argvs(a), [
    [["zfs", "send", "-i", `${MAIL}#${h("07")}.replica-beta`, `${MAIL}@${h("09")}`], ["ssh", "beta", "receive mail/mail"]],
    ["zfs", "bookmark", `${MAIL}@${h("09")}`, `${MAIL}#${h("09")}.replica-beta`],
    ["zfs", "destroy", `${MAIL}#${h("07")}.replica-beta`],
  ]);
});

test("OpenZFS: the target's newest pruned here but bookmarked: the bookmark is the base, not an older snapshot in common", () => {
  const l = parseLocal(OPENZFS_LOCAL.replace(`${MAIL}#${h("07")}`, `${MAIL}#${h("08")}`).replace(/\tguid\t700\t/, "\tguid\t800\t") + `${MAIL}@${h("07")}\tguid\t700\t-\n`)[MAIL];
  const view = parseTargetList(["features openzfs", "mail/mail\tguid\t12", "mail/mail\treceive_resume_token\t-", `mail/mail@${h("07")}\tguid\t700`, `mail/mail@${h("08")}\tguid\t800`, ""].join("\n"))?.datasets["mail/mail"];
  const a = planCopy(input({ view, local: l, features: "openzfs", recorded: h("08") })).action;
  assert.ok(a?.kind === "backup.send", JSON.stringify(a));
  assert.deepEqual(a.from, { bookmark: `${h("08")}.replica-beta` });
});

test("OpenZFS: an interrupted receive left a token: the send resumes from it (zfs send -t), when due", () => {
  const l = parseLocal(OPENZFS_LOCAL)[MAIL];
  const listing = ["features openzfs", "mail/mail\tguid\t12", "mail/mail\treceive_resume_token\t1-10f5d4a2b4-f0-789c636064000310a500c4ec50360710e72765a526973030bca1", `mail/mail@${h("07")}\tguid\t700`, ""].join("\n");
  const view = parseTargetList(listing)?.datasets["mail/mail"];
  const a = planCopy(input({ view, local: l, features: "openzfs", recorded: h("07") })).action;
  assert.ok(a?.kind === "backup.send");
  assert.equal(a.resume, true);
  assert.deepEqual(argvs(a), [[["zfs", "send", "-t", "1-10f5d4a2b4-f0-789c636064000310a500c4ec50360710e72765a526973030bca1"], ["ssh", "beta", "receive mail/mail"]]]);
  assert.deepEqual(planCopy(input({ view, local: l, features: "openzfs", due: false })), {}, "not due: waits");

  // Twice failed to resume (the token's snapshot pruned, say): the partial state is dropped, the copy sent from the base.
  const way = { ...WAY, abort: () => ({ argv: ["ssh", "beta", "abort mail/mail"] as unknown as Argv, already: ["does not have any resumable receive state"] }) };
  const again = planCopy(input({ view, local: l, features: "openzfs", recorded: h("07"), way, failed: 2 })).action;
  assert.ok(again?.kind === "backup.send");
  assert.equal(again.resume, false);
  assert.deepEqual(argvs(again).slice(0, 2), [["ssh", "beta", "abort mail/mail"], [["zfs", "send", "-i", `${MAIL}#${h("07")}.replica-beta`, `${MAIL}@${h("09")}`], ["ssh", "beta", "receive mail/mail"]]]);
  assert.match(again.reason, /failed to resume 2 times/);
});

// zfs-fuse 0.7.0 (pool version 23): `zfs get -rHp -o name,property,value,source
// guid,userrefs,referenced,org.steward:managed` of a dataset with two snapshots, the older held.
const FUSE_SIZED = [
  `${MAIL}\tguid\t8187956848428648721\t-`,
  `${MAIL}\tuserrefs\t-\t-`,
  `${MAIL}\treferenced\t3276800\t-`,
  `${MAIL}\torg.steward:managed\tyes\tinherited from tank/steward/data/mail`,
  `${MAIL}@${h("08")}\tguid\t14064548756517957639\t-`,
  `${MAIL}@${h("08")}\tuserrefs\t1\t-`,
  `${MAIL}@${h("08")}\treferenced\t2220032\t-`,
  `${MAIL}@${h("08")}\torg.steward:managed\tyes\tinherited from tank/steward/data/mail`,
  `${MAIL}@${h("09")}\tguid\t15258914903531952891\t-`,
  `${MAIL}@${h("09")}\tuserrefs\t0\t-`,
  `${MAIL}@${h("09")}\treferenced\t3276800\t-`,
  `${MAIL}@${h("09")}\torg.steward:managed\tyes\tinherited from tank/steward/data/mail`,
  "",
].join("\n");

// OpenZFS, in the shape it prints `... guid,userrefs,referenced,written,org.steward:managed`: the
// replica's base 07 pruned (its bookmark kept), 08 and 09 since, 500 bytes written after 09.
const OPENZFS_SIZED = [
  `${MAIL}\tguid\t5551\t-`,
  `${MAIL}\tuserrefs\t-\t-`,
  `${MAIL}\treferenced\t9000000\t-`,
  `${MAIL}\twritten\t500\t-`,
  `${MAIL}\torg.steward:managed\tyes\tlocal`,
  `${MAIL}@${h("08")}\tguid\t800\t-`,
  `${MAIL}@${h("08")}\tuserrefs\t0\t-`,
  `${MAIL}@${h("08")}\treferenced\t8000000\t-`,
  `${MAIL}@${h("08")}\twritten\t2000\t-`,
  `${MAIL}@${h("08")}\torg.steward:managed\tyes\tinherited from ${MAIL}`,
  `${MAIL}@${h("09")}\tguid\t900\t-`,
  `${MAIL}@${h("09")}\tuserrefs\t0\t-`,
  `${MAIL}@${h("09")}\treferenced\t8999500\t-`,
  `${MAIL}@${h("09")}\twritten\t3000\t-`,
  `${MAIL}@${h("09")}\torg.steward:managed\tyes\tinherited from ${MAIL}`,
  `${MAIL}#${h("07")}.replica-beta\tguid\t700\t-`,
  `${MAIL}#${h("07")}.replica-beta\tuserrefs\t-\t-`,
  `${MAIL}#${h("07")}.replica-beta\treferenced\t-\t-`,
  `${MAIL}#${h("07")}.replica-beta\twritten\t-\t-`,
  "",
].join("\n");

const sendOf = (a: BackupAction | undefined): BackupSendAction | undefined => (a?.kind === "backup.send" ? a : undefined);
const estimateOf = (a: BackupAction | undefined): number | undefined => {
  const step = a?.steps.find((s) => "pipeline" in s);
  return step !== undefined && "pipeline" in step ? step.estimateBytes : undefined;
};

test("the one read of the tree asks for sizes: `referenced` everywhere, `written` on OpenZFS only (zfs-fuse refuses it)", () => {
  assert.deepEqual(observeArgv("tank/steward"), ["zfs", "get", "-rHp", "-o", "name,property,value,source", "guid,userrefs,referenced,org.steward:managed", "tank/steward"]);
  assert.deepEqual(observeArgv("tank/steward", "openzfs").at(-2), "guid,userrefs,referenced,written,org.steward:managed");
  const fuse = parseLocal(FUSE_SIZED)[MAIL];
  assert.deepEqual(fuse?.snapshots.map((s) => [s.name, s.userrefs, s.referenced, s.written]), [
    [h("08"), 1, 2220032, undefined],
    [h("09"), 0, 3276800, undefined],
  ]);
  assert.deepEqual([fuse?.referenced, fuse?.written], [3276800, undefined]);
  const open = parseLocal(OPENZFS_SIZED)[MAIL];
  assert.deepEqual(open?.snapshots.map((s) => [s.name, s.referenced, s.written]), [
    [h("08"), 8000000, 2000],
    [h("09"), 8999500, 3000],
  ]);
  assert.deepEqual([open?.referenced, open?.written], [9000000, 500]);
  assert.deepEqual(open?.bookmarks, [{ name: `${h("07")}.replica-beta`, guid: "700" }], "a bookmark's `-` sizes are none");
});

test("a send's estimate: whole, the snapshot's `referenced`; incremental on OpenZFS, the `written` of the snapshots sent; none for an incremental on zfs-fuse", async () => {
  const fuse = parseLocal(FUSE_SIZED)[MAIL];
  assert.equal(estimateOf(planCopy(input({ local: fuse })).action), 3276800, "whole: the newest snapshot's referenced");
  assert.equal(estimateOf(planCopy(input({ local: fuse, newest: h("10"), taken: [h("10")] })).action), 3276800, "taken this run: the filesystem's referenced stands for it");
  const view = { snapshots: [{ name: h("08"), guid: fuse?.snapshots[0]?.guid ?? "" }] };
  const incremental = sendOf(planCopy(input({ view, local: fuse, recorded: h("08") })).action);
  assert.deepEqual(incremental?.from, { snapshot: h("08") });
  assert.equal(estimateOf(incremental), undefined, "zfs-fuse has no written (and no zfs send -nP): no estimate");
  assert.ok(incremental?.steps.every((s) => !("estimateBytes" in s)), "no estimateBytes key at all");

  const open = parseLocal(OPENZFS_SIZED)[MAIL];
  const betaView = { snapshots: [{ name: h("07"), guid: "700" }] };
  const fromMark = sendOf(planCopy(input({ view: betaView, local: open, features: "openzfs", recorded: h("07") })).action);
  assert.deepEqual(fromMark?.from, { bookmark: `${h("07")}.replica-beta` });
  assert.equal(estimateOf(fromMark), 2000 + 3000, "from the bookmark's snapshot: 08 and 09 written");
  const taken = sendOf(planCopy(input({ view: betaView, local: open, features: "openzfs", recorded: h("07"), newest: h("10"), taken: [h("10")] })).action);
  assert.equal(estimateOf(taken), 2000 + 3000 + 500, "and what the filesystem wrote since 09, for the snapshot taken this run");
  const fromSnapshot = sendOf(planCopy(input({ view: { snapshots: [{ name: h("08"), guid: "800" }] }, local: open, features: "openzfs", recorded: h("08") })).action);
  assert.deepEqual([fromSnapshot?.from, estimateOf(fromSnapshot)], [{ snapshot: h("08") }, 3000]);
  assert.equal(sendEstimate(open, h("09"), { snapshot: h("09") }), undefined, "nothing after the base: no estimate (0 bytes is no guess)");
  assert.equal(sendEstimate(local(MAIL, [snap(h("09"))]), h("09"), undefined), undefined, "an observation without sizes (an older agent's report): none");

  const { planRemote } = await import("../../../agent/src/drivers/backup/remote.js");
  const OFF: TargetRef = { kind: "remote", name: "offsite", tag: "remote-offsite" };
  const remote = planRemote({ d: D, target: OFF, endpoint: { user: "s", host: "store", port: undefined }, files: { key: "/k", knownHosts: "/kh" }, recipients: ["age1x"], stored: [], local: fuse, newest: h("09"), recorded: undefined, features: "legacy", raw: false, needs: [] });
  assert.equal(estimateOf(remote.action), 3276800, "a remote copy's send too (the bytes leaving zfs send, before age)");

  const resumed = sendOf(planCopy(input({ view: { ...betaView, resumeToken: "1-abc" }, local: open, features: "openzfs", recorded: h("07") })).action);
  assert.equal([resumed?.kind, resumed?.resume, estimateOf(resumed)].join(), "backup.send,true,", "a resumed send: no estimate");
});

test("the live filesystem's sizes stay on the node; the snapshots' (fixed once taken) are reported", () => {
  const observed = { ...observedAt(P, at("2026-12-07T09:30:00Z"), []), datasets: parseLocal(OPENZFS_SIZED) };
  const reported = backupDriver.redact?.(slice(P, [D]), observed);
  const mail = reported?.datasets[MAIL];
  assert.deepEqual([mail?.referenced, mail?.written, "referenced" in (mail ?? {})], [undefined, undefined, false]);
  assert.deepEqual(mail?.snapshots, observed.datasets[MAIL]?.snapshots);
  assert.deepEqual(reported?.datasets[MAIL]?.bookmarks, observed.datasets[MAIL]?.bookmarks);
});

test("raw sends (OpenZFS -w) keep an encrypted dataset's key on the node", () => {
  assert.deepEqual(sendArgv(MAIL, h("09"), { snapshot: h("08") }, true), ["zfs", "send", "-w", "-I", `@${h("08")}`, `${MAIL}@${h("09")}`]);
});

test("the record: a copy applied records what the target holds; a failure counts up; a target read clears its failures; it reads back", () => {
  const s = slice(P, [D]);
  const observed = { ...observedAt(P, at("2026-12-07T09:30:00Z"), []), targets: { "replica-beta": { kind: "seen" as const, features: "legacy" as const, datasets: {} } } };
  const send = planCopy(input({ local: local(MAIL, [snap(h("09"))]) })).action;
  assert.ok(send !== undefined);
  const previous = { ...EMPTY_BACKUP_STATE, failures: { "replica-beta": { at: 1, count: 2 } } };
  const ok = nextBackupState(previous, s, observed, { actions: [send], findings: [] }, new Map([[send.id, "applied"]]));
  assert.deepEqual(ok, { version: 1, targets: { [MAIL]: { "replica-beta": { snapshot: h("09"), at: observed.nowMs } } }, failures: {} });
  const failed = nextBackupState(ok, s, observed, { actions: [send], findings: [] }, new Map([[send.id, "failed"]]));
  assert.deepEqual(failed.failures, { [`${MAIL} replica-beta`]: { at: observed.nowMs, count: 1 } });
  assert.deepEqual(failed.targets, ok.targets, "a failure keeps what the target held");
  assert.deepEqual(parseBackupState(renderBackupState(failed)), failed);
  assert.equal(parseBackupState("{"), undefined);
  assert.deepEqual(nextBackupState(failed, slice(P, []), observed, { actions: [], findings: [] }, new Map()).targets, {}, "a dataset without a policy is dropped");
});

test("the node's plan: the copy runs after the unit's snapshot, its base is kept from the prune; no known_hosts or no peer is a finding once per target", async () => {
  const { planBackups } = await import("../../../agent/src/drivers/backup/plan.js");
  const { backupDriver } = await import("../../../agent/src/drivers/backup/driver.js");
  const unit = `${P}/steward/data/mail`;
  const d = { ...D, keep: { hourly: 1 } };
  const spool = dsBackup(P, "mail", "spool", { hourly: 1 }, { replica: D.replica });
  const host = { key: "/k", knownHosts: "/kh", identity: undefined };
  const state = { version: 1 as const, targets: { [MAIL]: { "replica-beta": { snapshot: h("07"), at: 0 } } }, failures: {} };
  const observed = {
    ...observedAt(P, at("2026-12-07T09:10:00Z"), [local(unit, [snap(h("07")), snap(h("08"))]), local(MAIL, [snap(h("07"), 1), snap(h("08"))]), local(`${P}/steward/data/mail/spool`, [snap(h("07")), snap(h("08"))])]),
    state,
    targets: { "replica-beta": { kind: "seen" as const, features: "legacy" as const, datasets: { "mail/mail": { snapshots: [{ name: h("07"), guid: `g-${h("07")}` }] } } } },
  };
  const p = planBackups({ ...slice(P, [d, spool]), host }, observed);
  assert.deepEqual(p.actions.map((a) => a.id), [`backup.snapshot:${unit}`, `backup.prune:${unit}`, `backup.send:${MAIL}:replica-beta`, `backup.send:${P}/steward/data/mail/spool:replica-beta`]);
  const prune = p.actions[1];
  assert.ok(prune?.kind === "backup.prune");
  assert.deepEqual([prune.snapshots, prune.kept], [[h("08")], [h("07")]], "07 is the replica's base (held and recorded)");
  assert.deepEqual(p.actions[2]?.needs, [`backup:${unit}`]);
  assert.match(backupDriver.renderAction(p.actions[2] as never), /send +tank\/steward\/data\/mail\/mail -> beta/);
  assert.ok(p.resources.includes(`backup:${MAIL}#replica-beta`));

  const none = planBackups(slice(P, [d, spool]), observed);
  assert.deepEqual(none.findings.map((f) => [f.kind, f.subject]), [["target-unconfigured", "beta"]]);
  assert.match(none.findings[0]?.message ?? "", /backup_known_hosts/);
  assert.ok(!none.actions.some((a) => a.kind === "backup.send"));
});

test("remote chains: a full file, then increments from the recorded and held base; a new chain after CHAIN_LENGTH; older chains deleted; raw for encrypted datasets", async () => {
  const { CHAIN_LENGTH, parseStoreList, planRemote, remoteFileName, restoreChain } = await import("../../../agent/src/drivers/backup/remote.js");
  const OFF: TargetRef = { kind: "remote", name: "offsite", tag: "remote-offsite" };
  const base = { d: D, target: OFF, endpoint: { user: "s", host: "store", port: undefined }, files: { key: "/k", knownHosts: "/kh" }, recipients: ["age1x", "age1y"], features: "legacy" as const, raw: false, needs: [] };
  const hours = Array.from({ length: 20 }, (_, i) => snapshotName("hourly", at("2026-12-07T00:00:00Z") + i * 3600_000));
  const first = planRemote({ ...base, stored: [], local: local(MAIL, [snap(hours[0] as string)]), newest: hours[0] as string, recorded: undefined });
  assert.equal(first.base, undefined);
  const pipe = first.action.steps[0];
  assert.ok(pipe !== undefined && "pipeline" in pipe);
  assert.deepEqual(pipe.pipeline.slice(0, 2), [["zfs", "send", `${MAIL}@${hours[0]}`], ["age", "-r", "age1x", "-r", "age1y"]]);
  assert.deepEqual(pipe.pipeline[2]?.slice(-1), [`put mail/mail/${hours[0]}.full.age`]);
  assert.deepEqual(first.action.steps.map((s) => ("argv" in s ? s.argv.at(-1) : "pipeline")), ["pipeline", `commit mail/mail/${hours[0]}.full.age`, `${MAIL}@${hours[0]}`]);

  // A chain of a full file and CHAIN_LENGTH increments: the next copy starts a new chain.
  const names = [remoteFileName("mail/mail", hours[0] as string, undefined, false), ...hours.slice(1, CHAIN_LENGTH + 1).map((h, i) => remoteFileName("mail/mail", h, hours[i], false))];
  const stored = parseStoreList(names.join("\n"))["mail/mail"] ?? [];
  const last = hours[CHAIN_LENGTH] as string;
  const next = hours[CHAIN_LENGTH + 1] as string;
  const held = local(MAIL, [snap(last, 1), snap(next)]);
  const fresh = planRemote({ ...base, stored, local: held, newest: next, recorded: last });
  assert.equal(fresh.base, undefined, "a new chain");
  const mid = planRemote({ ...base, stored: stored.slice(0, 3), local: local(MAIL, [snap(hours[2] as string, 1), snap(next)]), newest: next, recorded: hours[2] });
  assert.equal(mid.base, hours[2], "an increment from the recorded, held base");
  assert.equal(planRemote({ ...base, stored: stored.slice(0, 3), local: local(MAIL, [snap(next)]), newest: next, recorded: hours[2] }).base, undefined, "the base gone here: whole");

  // Three chains after this one: the oldest is deleted.
  const two = [...names, remoteFileName("mail/mail", next, undefined, false), remoteFileName("mail/mail", hours[CHAIN_LENGTH + 2] as string, next, false)];
  const third = planRemote({ ...base, stored: parseStoreList(two.join("\n"))["mail/mail"] ?? [], local: local(MAIL, [snap(hours[19] as string)]), newest: hours[19] as string, recorded: hours[3] });
  const del = third.action.steps.at(-1);
  assert.ok(del !== undefined && "argv" in del);
  assert.deepEqual(String(del.argv.at(-1)).split(" ").slice(1), names);
  assert.deepEqual(restoreChain(stored, at("2026-12-07T02:30:00Z"))?.map((f) => f.to), hours.slice(0, 3), "a restore at a time: the chain up to it");

  const raw = planRemote({ ...base, raw: true, features: "openzfs", stored: [], local: local(MAIL, [snap(hours[0] as string)]), newest: hours[0] as string, recorded: undefined });
  const rawPipe = raw.action.steps[0];
  assert.ok(rawPipe !== undefined && "pipeline" in rawPipe);
  assert.deepEqual(rawPipe.pipeline.map((a) => a[0]), ["zfs", "ssh"], "no age: the blocks are encrypted already");
  assert.deepEqual(rawPipe.pipeline[0], ["zfs", "send", "-w", `${MAIL}@${hours[0]}`]);
  assert.match(raw.action.reason, /raw/);
});

test("restore plans: the newest snapshot at or before --at, from this node, the peer's replica (steward-receive send) or the plugged-in cold disk", async () => {
  const { pickSnapshot, planRestore, restoreName } = await import("../../../agent/src/drivers/backup/restore.js");
  const snaps = [h("07"), h("08"), h("09"), "by-hand"];
  assert.equal(pickSnapshot(snaps, undefined), h("09"));
  assert.equal(pickSnapshot(snaps, at("2026-12-07T08:30:00Z")), h("08"));
  assert.equal(pickSnapshot(snaps, at("2026-12-07T06:00:00Z")), undefined);
  const target = restoreName(P, D, at("2026-12-07T10:11:12Z"));
  assert.equal(target, `${P}/steward/restore/mail/mail-20261207T101112Z`);
  const ep = { user: "root", host: "beta", port: undefined };
  const fromPeer = planRestore(D, "alpha", { from: "replica", snapshots: snaps, endpoint: ep, files: { key: "/k", knownHosts: "/kh" } }, target, at("2026-12-07T08:30:00Z"));
  assert.ok(typeof fromPeer !== "string");
  assert.deepEqual(fromPeer.pipelines.map((p) => p.map((a) => a.at(-1))), [[`send mail/mail@${h("08")}`, target]]);
  const fromDisk = planRestore(D, "alpha", { from: "cold", pool: "coldbackup", node: "alpha", snapshots: snaps }, target, undefined);
  assert.ok(typeof fromDisk !== "string");
  assert.deepEqual(fromDisk.pipelines, [[["zfs", "send", `coldbackup/steward/alpha/mail/mail@${h("09")}`], ["zfs", "receive", target]]]);
  assert.match(String(planRestore(D, "alpha", { from: "snapshot", snapshots: [] }, target, undefined)), /holds no snapshot/);
});
