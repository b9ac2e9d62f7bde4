import { test } from "node:test";
import assert from "node:assert/strict";
import { planDatasets } from "../../../agent/src/drivers/zfs/plan.js";
import type { AppliedRecord, ObservedDataset, ZfsObserved } from "../../../agent/src/drivers/zfs/types.js";
import type { DatasetSpec } from "../../../agent/src/manifest/types.js";
import type { ZfsAction as Action } from "../../../agent/src/drivers/zfs/types.js";
import { isStewardError } from "../../../agent/src/errors.js";
import { byDefault, containers, ds, have, inherited, observed } from "./build.js";

const P = "tank";
const MAIL = `${P}/steward/data/mail/mail`;
const SPOOL = `${P}/steward/data/mail/spool`;
const OLD = `${P}/steward/data/old`;
const C = containers(P);
const mailProps = { compression: "gzip", quota: "21474836480", mountpoint: "/jails/mail/var/mail", "org.example:backup": "daily" };
const mail = (props: Record<string, string> = mailProps, drift: "correct" | "report" = "correct"): DatasetSpec => ds(MAIL, props, drift);
const haveC: ObservedDataset[] = C.map((c) => have(c.name, { mountpoint: "none" }));
const haveMail = (props: Record<string, string> = mailProps, opts: Parameters<typeof have>[2] = {}): ObservedDataset => have(MAIL, props, opts);

interface Case {
  readonly name: string;
  readonly want: readonly DatasetSpec[];
  readonly have: readonly ObservedDataset[];
  readonly applied?: AppliedRecord["datasets"];
  readonly destroy?: readonly string[];
  /** Action ids, in order. */
  readonly actions: readonly string[];
  /** `kind dataset[:property|:because]` of each finding, in any order. */
  readonly findings?: readonly string[];
  /** Causes by action id. */
  readonly causes?: Readonly<Record<string, string>>;
}

function describeFinding(f: ReturnType<typeof planDatasets>["findings"][number]): string {
  if (f.kind === "drift-reported") return `${f.kind} ${f.dataset}:${f.property}`;
  if (f.kind === "destroy-refused") return `${f.kind} ${f.dataset}:${f.because}`;
  return `${f.kind} ${f.dataset}`;
}

const cases: Case[] = [
  {
    name: "creates every dataset of an empty pool, parents first",
    want: [...C, mail()],
    have: [],
    actions: C.map((c) => `zfs.create:${c.name}`).concat(`zfs.create:${MAIL}`),
  },
  {
    name: "creates only the missing datasets",
    want: [...C, mail(), ds(SPOOL, { quota: "1073741824" })],
    have: [...haveC, haveMail()],
    actions: [`zfs.create:${SPOOL}`],
  },
  { name: "leaves a matching dataset alone", want: [...C, mail()], have: [...haveC, haveMail()], actions: [] },
  {
    name: "reads compression gzip-6 as the gzip zfs prints",
    want: [...C, mail({ ...mailProps, compression: "gzip-6" })],
    have: [...haveC, haveMail()],
    actions: [],
  },
  {
    name: "reads quota none as the 0 zfs prints",
    want: [...C, mail({ ...mailProps, quota: "none" })],
    have: [...haveC, have(MAIL, { ...mailProps, quota: byDefault("0") })],
    actions: [],
  },
  {
    name: "accepts a desired value that is inherited rather than local",
    want: [...C, mail({ ...mailProps, compression: "gzip" })],
    have: [...haveC, have(MAIL, { ...mailProps, compression: inherited("gzip", `${P}/steward`) })],
    actions: [],
  },
  {
    name: "changes a property that differs, one set per property",
    want: [...C, mail()],
    have: [...haveC, haveMail({ ...mailProps, quota: "10737418240", compression: "off" })],
    actions: [`zfs.set:${MAIL}:compression`, `zfs.set:${MAIL}:quota`],
    causes: { [`zfs.set:${MAIL}:quota`]: "unrecorded" },
  },
  {
    name: "sets a user property that is not set at all",
    want: [...C, mail()],
    have: [...haveC, have(MAIL, { ...mailProps, "org.example:backup": { value: "-", source: "none" } })],
    actions: [`zfs.set:${MAIL}:org.example:backup`],
  },
  {
    name: "reverts a local native property the manifest does not declare",
    want: [...C, mail()],
    have: [...haveC, haveMail({ ...mailProps, atime: "off", recordsize: "16384" })],
    actions: [`zfs.inherit:${MAIL}:atime`, `zfs.inherit:${MAIL}:recordsize`],
  },
  {
    name: "leaves inherited and default values of undeclared native properties alone",
    want: [...C, mail()],
    have: [...haveC, have(MAIL, { ...mailProps, atime: inherited("off", `${P}/steward`), recordsize: byDefault("131072") })],
    actions: [],
  },
  {
    name: "leaves a quota set to none by hand alone (zfs cannot inherit quota)",
    want: [...C, mail({ compression: "gzip" })],
    have: [...haveC, have(MAIL, { compression: "gzip", quota: "0" })],
    actions: [],
  },
  {
    name: "leaves undeclared user properties alone",
    want: [...C, mail()],
    have: [...haveC, haveMail({ ...mailProps, "org.other:owner": "bob" })],
    actions: [],
  },
  {
    name: "reports a wanted dataset without the marker as a conflict and changes nothing on it",
    want: [...C, mail()],
    have: [...haveC, haveMail({ ...mailProps, quota: "1" }, { managed: false })],
    actions: [],
    findings: [`unmanaged-conflict ${MAIL}`],
  },
  {
    name: "creates nothing below an unmanaged conflict",
    want: [...C, mail(), ds(`${MAIL}/sub`)],
    have: [...haveC.slice(0, 2), have(`${P}/steward/data/mail`, {}, { managed: false })],
    actions: [],
    findings: [`unmanaged-conflict ${P}/steward/data/mail`, `blocked-by-conflict ${MAIL}`, `blocked-by-conflict ${MAIL}/sub`],
  },
  {
    name: "keeps a managed dataset the manifest no longer names, as an orphan",
    want: [...C],
    have: [...haveC, haveMail()],
    actions: [],
    findings: [`orphan ${MAIL}`],
  },
  {
    name: "reports an unmarked dataset found under the root and leaves it",
    want: [...C],
    have: [...haveC, have(`${P}/steward/data/mail/byhand`, {}, { managed: false })],
    actions: [],
    findings: [`unmanaged-conflict ${P}/steward/data/mail/byhand`],
  },
  {
    name: "destroys a managed dataset only when the destroy list names it",
    want: [...C],
    have: [...haveC, haveMail(), have(`${P}/steward/data/mail/keep`)],
    destroy: [MAIL],
    actions: [`zfs.destroy:${MAIL}`],
    findings: [`orphan ${P}/steward/data/mail/keep`],
    causes: { [`zfs.destroy:${MAIL}`]: "listed-for-destroy" },
  },
  {
    name: "destroys children before parents, after every other action",
    want: [...C, ds(SPOOL)],
    have: [...haveC, have(OLD), have(`${OLD}/www`), have(`${OLD}/www/cache`)],
    destroy: [OLD, `${OLD}/www`, `${OLD}/www/cache`],
    actions: [`zfs.create:${SPOOL}`, `zfs.destroy:${OLD}/www/cache`, `zfs.destroy:${OLD}/www`, `zfs.destroy:${OLD}`],
  },
  {
    name: "refuses to destroy a dataset whose children stay",
    want: [...C],
    have: [...haveC, have(OLD), have(`${OLD}/www`)],
    destroy: [OLD],
    actions: [],
    findings: [`destroy-refused ${OLD}:has-children`, `orphan ${OLD}/www`],
  },
  {
    name: "refuses to destroy a dataset without the marker",
    want: [...C],
    have: [...haveC, have(OLD, {}, { managed: false })],
    destroy: [OLD],
    actions: [],
    findings: [`destroy-refused ${OLD}:unmanaged`],
  },
  {
    name: "refuses to destroy a dataset with snapshots",
    want: [...C],
    have: [...haveC, have(OLD, {}, { snapshots: 2 })],
    destroy: [OLD],
    actions: [],
    findings: [`destroy-refused ${OLD}:has-snapshots`],
  },
  {
    name: "refuses to destroy a dataset the manifest still wants",
    want: [...C, mail()],
    have: [...haveC, haveMail()],
    destroy: [MAIL],
    actions: [],
    findings: [`destroy-refused ${MAIL}:still-wanted`],
  },
  {
    name: "reports a destroy target that is not there",
    want: [...C],
    have: [...haveC],
    destroy: [OLD, "otherpool/data"],
    actions: [],
    findings: [`destroy-done ${OLD}`, "destroy-done otherpool/data"],
  },
  {
    name: "corrects a property changed by hand (the record equals the manifest)",
    want: [...C, mail()],
    have: [...haveC, haveMail({ ...mailProps, quota: "10737418240" })],
    applied: { [MAIL]: mailProps },
    actions: [`zfs.set:${MAIL}:quota`],
    causes: { [`zfs.set:${MAIL}:quota`]: "drift" },
  },
  {
    name: "only reports a property changed by hand when the dataset says drift: report",
    want: [...C, mail(mailProps, "report")],
    have: [...haveC, haveMail({ ...mailProps, quota: "10737418240" })],
    applied: { [MAIL]: mailProps },
    actions: [],
    findings: [`drift-reported ${MAIL}:quota`],
  },
  {
    name: "applies a manifest change even when the dataset says drift: report",
    want: [...C, mail(mailProps, "report")],
    have: [...haveC, haveMail({ ...mailProps, quota: "10737418240" })],
    applied: { [MAIL]: { ...mailProps, quota: "10737418240" } },
    actions: [`zfs.set:${MAIL}:quota`],
    causes: { [`zfs.set:${MAIL}:quota`]: "manifest-changed" },
  },
  {
    name: "acts on a difference nothing was recorded for, even with drift: report",
    want: [...C, mail(mailProps, "report")],
    have: [...haveC, haveMail({ ...mailProps, quota: "10737418240" })],
    actions: [`zfs.set:${MAIL}:quota`],
    causes: { [`zfs.set:${MAIL}:quota`]: "unrecorded" },
  },
  {
    name: "treats a property the manifest newly declares as a manifest change",
    want: [...C, mail({ ...mailProps, recordsize: "16384" }, "report")],
    have: [...haveC, have(MAIL, { ...mailProps, recordsize: byDefault("131072") })],
    applied: { [MAIL]: mailProps },
    actions: [`zfs.set:${MAIL}:recordsize`],
    causes: { [`zfs.set:${MAIL}:recordsize`]: "manifest-changed" },
  },
  {
    name: "only reports an undeclared native property set by hand when drift: report",
    want: [...C, mail(mailProps, "report")],
    have: [...haveC, haveMail({ ...mailProps, atime: "off" })],
    applied: { [MAIL]: mailProps },
    actions: [],
    findings: [`drift-reported ${MAIL}:atime`],
  },
  {
    name: "reverts an undeclared native property set by hand when drift: correct",
    want: [...C, mail()],
    have: [...haveC, haveMail({ ...mailProps, atime: "off" })],
    applied: { [MAIL]: mailProps },
    actions: [`zfs.inherit:${MAIL}:atime`],
    causes: { [`zfs.inherit:${MAIL}:atime`]: "drift" },
  },
  {
    name: "reverts a property the manifest stopped declaring, even with drift: report",
    want: [...C, mail(mailProps, "report")],
    have: [...haveC, haveMail({ ...mailProps, atime: "off" })],
    applied: { [MAIL]: { ...mailProps, atime: "off" } },
    actions: [`zfs.inherit:${MAIL}:atime`],
    causes: { [`zfs.inherit:${MAIL}:atime`]: "manifest-changed" },
  },
];

for (const c of cases) {
  test(c.name, () => {
    const o = observed(P, c.have, c.applied ?? {});
    const part = planDatasets({ pool: P, datasets: c.want, destroy: c.destroy ?? [] }, o["zfs"] as ZfsObserved);
    assert.deepEqual(
      part.actions.map((a) => a.id),
      c.actions,
    );
    assert.deepEqual(part.findings.map(describeFinding).sort(), [...(c.findings ?? [])].sort());
    for (const [id, cause] of Object.entries(c.causes ?? {})) assert.equal(part.actions.find((a) => a.id === id)?.cause, cause, id);
  });
}

function only<K extends Action["kind"]>(actions: readonly Action[], kind: K): Extract<Action, { kind: K }>[] {
  return actions.filter((a): a is Extract<Action, { kind: K }> => a.kind === kind);
}

test("a create passes the marker and every property as -o, in one command", () => {
  const part = planDatasets({ pool: P, datasets: [...C, mail()], destroy: [] }, observed(P, haveC)["zfs"] as ZfsObserved);
  const [create] = only(part.actions, "zfs.create");
  assert.deepEqual(create?.steps.map((s) => s.argv), [
    ["zfs", "create", "-p", "-o", "org.steward:managed=yes", "-o", "compression=gzip", "-o", "mountpoint=/jails/mail/var/mail", "-o", "org.example:backup=daily", "-o", "quota=21474836480", MAIL],
  ]);
  assert.deepEqual(create?.after, mailProps);
  assert.equal(create?.before, null);
});

test("each create needs its parent dataset when the parent is a desired dataset", () => {
  const part = planDatasets({ pool: P, datasets: [...C, mail()], destroy: [] }, observed(P, [])["zfs"] as ZfsObserved);
  assert.deepEqual(
    part.actions.map((a) => a.needs),
    [[], [`zfs:${P}/steward`], [`zfs:${P}/steward/data`], [`zfs:${P}/steward/data/mail`]],
  );
  assert.deepEqual(part.resources, [`zfs:${P}/steward`, `zfs:${P}/steward/data`, `zfs:${P}/steward/data/mail`, `zfs:${MAIL}`]);
});

test("a set carries before, after and one pair in one zfs set", () => {
  const part = planDatasets({ pool: P, datasets: [...C, mail()], destroy: [] }, observed(P, [...haveC, haveMail({ ...mailProps, quota: "10737418240" })])["zfs"] as ZfsObserved);
  const [set] = only(part.actions, "zfs.set");
  assert.deepEqual(
    { before: set?.before, after: set?.after, argv: set?.steps.map((s) => s.argv), resource: set?.resource },
    { before: "10737418240", after: "21474836480", argv: [["zfs", "set", "quota=21474836480", MAIL]], resource: `zfs:${MAIL}` },
  );
});

test("reverting quota uses zfs set quota=none, other properties zfs inherit", () => {
  const part = planDatasets({ pool: P, datasets: [...C, mail({ compression: "gzip" })], destroy: [] }, observed(P, [...haveC, haveMail({ compression: "gzip", quota: "1073741824", atime: "off" })])["zfs"] as ZfsObserved);
  assert.deepEqual(
    only(part.actions, "zfs.inherit").map((a) => a.steps.map((s) => s.argv)),
    [[["zfs", "inherit", "atime", MAIL]], [["zfs", "set", "quota=none", MAIL]]],
  );
});

test("a destroy carries the observed guid as its precondition, is teardown, children first, and destroys without -r, -R or -f", () => {
  const part = planDatasets({ pool: P, datasets: [...C], destroy: [OLD, `${OLD}/www`] }, observed(P, [...haveC, have(OLD, {}, { guid: "42" }), have(`${OLD}/www`, {}, { guid: "43" })])["zfs"] as ZfsObserved);
  const destroys = only(part.actions, "zfs.destroy");
  assert.deepEqual(
    destroys.map((d) => [d.precondition, d.steps.map((s) => s.argv), d.teardown, d.effect]),
    [
      [{ kind: "zfs.guid", dataset: `${OLD}/www`, guid: "43" }, [["zfs", "destroy", `${OLD}/www`]], true, "destroy"],
      [{ kind: "zfs.guid", dataset: OLD, guid: "42" }, [["zfs", "destroy", OLD]], true, "destroy"],
    ],
  );
});

test("the plan does not depend on the order of the desired datasets", () => {
  const want = [...C, mail(), ds(SPOOL, { quota: "1073741824" })];
  const a = planDatasets({ pool: P, datasets: want, destroy: [] }, observed(P, [])["zfs"] as ZfsObserved);
  const b = planDatasets({ pool: P, datasets: [...want].reverse(), destroy: [] }, observed(P, [])["zfs"] as ZfsObserved);
  assert.deepEqual(a, b);
});

test("a desired dataset outside <pool>/steward is a bug: INTERNAL", () => {
  assert.throws(
    () => planDatasets({ pool: P, datasets: [ds("tank/elsewhere")], destroy: [] }, observed(P, [])["zfs"] as ZfsObserved),
    (e: unknown) => isStewardError(e) && e.code === "INTERNAL",
  );
});

const BASE = `${P}/steward/base/14.2-RELEASE`;
const ROOT = `${P}/steward/jails/mail`;
const baseSpec = (): DatasetSpec => ({ ...ds(BASE, {}, "report", "steward"), role: "base", snapshot: "steward" });
const rootSpec = (): DatasetSpec => ({ ...ds(ROOT, { mountpoint: "/jails/mail" }), role: "clone", origin: `${BASE}@steward` });
const dataSpec = (): DatasetSpec => ds(MAIL, { mountpoint: "/jails/mail/var/mail" });
const jailContainers = [ds(`${P}/steward/base`, { mountpoint: "none" }, "correct", "steward"), ds(`${P}/steward/jails`, { mountpoint: "none" }, "correct", "steward")];

test("a missing base release is a blocking finding that says how to install it; nothing cloned from it", () => {
  const part = planDatasets({ pool: P, datasets: [...C, ...jailContainers, baseSpec(), rootSpec(), dataSpec()], destroy: [] }, observed(P, [])["zfs"] as ZfsObserved);
  const base = part.findings.find((f) => f.kind === "base-missing");
  assert.equal(base?.blocking, true);
  assert.match(base?.message ?? "", /zfs snapshot tank\/steward\/base\/14.2-RELEASE@steward/);
  const clone = part.actions.find((a) => a.kind === "zfs.clone");
  assert.deepEqual(clone?.needs.includes(`zfs:${BASE}`), true, "the clone needs the base, so it is skipped while the base is missing");
});

test("a base release without its snapshot is base-missing too; with it, nothing is planned for the base", () => {
  const noSnap = planDatasets({ pool: P, datasets: [baseSpec()], destroy: [] }, observed(P, [have(BASE, {}, { managed: false })])["zfs"] as ZfsObserved);
  assert.deepEqual(noSnap.findings.map((f) => f.kind), ["base-missing"]);
  const ok = planDatasets({ pool: P, datasets: [baseSpec()], destroy: [] }, observed(P, [{ ...have(BASE, {}, { managed: false }), snapshotNames: ["steward"] }])["zfs"] as ZfsObserved);
  assert.deepEqual([ok.actions, ok.findings], [[], []], "an admin-made base is neither a conflict nor changed");
});

test("a jail root is cloned from its release's snapshot with the marker, and the data mounted inside it waits for it", () => {
  const part = planDatasets(
    { pool: P, datasets: [...C, ...jailContainers, baseSpec(), rootSpec(), dataSpec()], destroy: [] },
    observed(P, [...haveC, have(`${P}/steward/base`, { mountpoint: "none" }), { ...have(BASE, {}, { managed: false }), snapshotNames: ["steward"] }])["zfs"] as ZfsObserved,
  );
  const clone = only(part.actions, "zfs.clone")[0];
  assert.deepEqual(clone?.steps.map((s) => s.argv), [["zfs", "clone", "-p", "-o", "org.steward:managed=yes", "-o", "mountpoint=/jails/mail", `${BASE}@steward`, ROOT]]);
  const data = part.actions.find((a) => a.id === `zfs.create:${MAIL}`);
  assert.ok(data?.needs.includes(`zfs:${ROOT}`), JSON.stringify(data?.needs));
});

test("a jail root cloned from another snapshot is reported, not recloned", () => {
  const part = planDatasets({ pool: P, datasets: [rootSpec()], destroy: [] }, observed(P, [have(ROOT, { mountpoint: "/jails/mail", origin: { value: `${P}/steward/base/13.2-RELEASE@steward`, source: "none" } })])["zfs"] as ZfsObserved);
  assert.deepEqual(part.actions, []);
  assert.deepEqual(part.findings.map((f) => [f.kind, f.blocking]), [["origin-differs", false]]);
});
