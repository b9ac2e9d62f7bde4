import { test } from "node:test";
import assert from "node:assert/strict";
import { plan } from "../../agent/src/plan/plan.js";
import { containers, desiredState, ds, have, observed } from "../drivers/zfs/build.js";

const P = "tank";
const MAIL = `${P}/steward/data/mail/mail`;
const C = containers(P);

test("equal inputs give byte-identical plans and ids", () => {
  const a = plan(desiredState(P, [...C, ds(MAIL, { quota: "1024" })], [], "abc"), observed(P, []));
  const b = plan(desiredState(P, [...C, ds(MAIL, { quota: "1024" })].reverse(), [], "abc"), observed(P, []));
  assert.equal(JSON.stringify(a), JSON.stringify(b));
  assert.match(a.id, /^[0-9a-f]{16}$/);
});

test("a different plan has a different id", () => {
  const a = plan(desiredState(P, [...C, ds(MAIL, { quota: "1024" })]), observed(P, []));
  const b = plan(desiredState(P, [...C, ds(MAIL, { quota: "2048" })]), observed(P, []));
  assert.notEqual(a.id, b.id);
});

test("JSON keys are sorted at every depth", () => {
  const p = plan(desiredState(P, [...C, ds(MAIL, { quota: "1024", atime: "off" })]), observed(P, []));
  const check = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(check);
    else if (v !== null && typeof v === "object") {
      const keys = Object.keys(v);
      assert.deepEqual(keys, [...keys].sort());
      Object.values(v).forEach(check);
    }
  };
  check(JSON.parse(JSON.stringify(p)));
});

test("the summary counts creates, changes, destroys and findings", () => {
  const haveC = C.map((c) => have(c.name, { mountpoint: "none" }));
  const p = plan(
    desiredState(P, [...C, ds(MAIL, { quota: "2048" }), ds(`${P}/steward/data/mail/new`)], [`${P}/steward/data/gone`]),
    observed(P, [...haveC, have(MAIL, { quota: "1024", atime: "off" }), have(`${P}/steward/data/gone`), have(`${P}/steward/data/orphan`)]),
  );
  assert.deepEqual(p.summary, { create: 1, change: 2, restart: 0, remove: 0, destroy: 1, findings: 1 });
  assert.deepEqual(
    p.actions.map((a) => a.kind),
    ["zfs.set", "zfs.inherit", "zfs.create", "zfs.destroy"],
  );
});

test("a node whose datasets match has zero actions", () => {
  const p = plan(desiredState(P, [...C]), observed(P, C.map((c) => have(c.name, { mountpoint: "none" }))));
  assert.deepEqual([p.actions.length, p.findings.length], [0, 0]);
  assert.equal(p.revision, null);
});
