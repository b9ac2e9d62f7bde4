/**
 * The pure parts of a revision's review: the observed record's text and what it can tell apart,
 * what a plan of another slice lacks, the highlights, and the reachability diff. Real plans
 * against a real host are in test/cli/plan-review.test.ts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { test } from "node:test";
import { sliceJails } from "../../agent/src/drivers/jail/driver.js";
import { DRIVERS } from "../../agent/src/drivers/registry.js";
import type { ClusterModel, DesiredState } from "../../agent/src/manifest/types.js";
import { renderReviewMarkdown } from "../../agent/src/review/markdown.js";
import { highlights, unobservedFor, withRecordHost, type RevisionReview } from "../../agent/src/review/offline-plan.js";
import { diffFlows, reviewReachability, type Flow, type ReachabilityProvider } from "../../agent/src/review/reachability.js";
import { makeObservedRecord, parseObserved, renderObserved } from "../../agent/src/status/observed.js";
import { plan as makePlan } from "../../agent/src/plan/plan.js";
import type { ActionBase } from "../../agent/src/plan/types.js";
import { desiredFromDir } from "../../agent/src/reconcile.js";
import { REPO_ROOT } from "../helpers/cli.js";
import { loadModel } from "../../agent/src/manifest/load.js";
import { readSnapshotFromDir } from "../../agent/src/source/dir.js";

const where = { file: "x", line: 1, column: 1 };
const desired = (properties: Record<string, string>, files: string[] = []): DesiredState =>
  ({
    revision: "r".repeat(40),
    node: { name: "alpha", arch: "amd64", pool: "tank", interface: "em0", address: undefined, release: "14.2-RELEASE", jails: "/jails", destroy: [], where },
    cluster: { domain: "home.arpa" },
    services: [{ name: "mail", ip: "10.17.0.25", packages: [], services: [], rc: {}, files: files.map((path) => ({ path, from: "files/x", restart: [], content: { sha256: "0".repeat(64), bytes: 1 } })), drift: "correct", datasets: [], where }],
    datasets: [{ name: "tank/steward/data/mail/mail", properties, drift: "correct", owner: "mail" }],
    destroy: [],
    host: { jailConfDir: "/etc/jail.conf.d" },
  }) as unknown as DesiredState;

test("the observed record is canonical JSON: key order never changes its bytes, and it reads back", () => {
  const a = makeObservedRecord(desired({ quota: "1" }), { zfs: { b: 1, a: [2, 1] }, jail: { x: null, jails: {}, applied: { jails: {} } } }, ["/var/db/steward", "/usr/local/etc/steward"]);
  const b = makeObservedRecord(desired({ quota: "1" }), { jail: { applied: { jails: {} }, jails: {}, x: null }, zfs: { a: [2, 1], b: 1 } }, ["/usr/local/etc/steward", "/var/db/steward"]);
  assert.equal(renderObserved(a), renderObserved(b));
  assert.deepEqual(parseObserved(renderObserved(a)), JSON.parse(renderObserved(a)));
  assert.deepEqual(a.protectedPaths, ["/usr/local/etc/steward", "/var/db/steward"]);
  assert.ok(a.scope["zfs"]?.includes("property quota") && a.scope["jail"]?.some((s) => s.startsWith("jail mail at /jails/mail")), JSON.stringify(a.scope));
  for (const bad of ["", "[]", "{}", renderObserved(a).replace('"version": 1', '"version": 2'), renderObserved(a).replace('"protectedPaths": [', '"protectedPaths": [1, ')]) assert.equal(parseObserved(bad), undefined, bad);
});

test("what another revision makes a driver look at, and the node did not, is listed; the host comes from the record", () => {
  const record = makeObservedRecord(desired({ quota: "1" }, ["/etc/a"]), { zfs: {}, jail: { jails: {}, applied: { jails: {} } } }, []);
  assert.deepEqual(unobservedFor(desired({ quota: "2" }, ["/etc/a"]), record), []);
  assert.deepEqual(unobservedFor(desired({ quota: "2", "org.example:tier": "gold" }, ["/etc/a", "/etc/b"]), record), ["jail: file /jails/mail/etc/b", "zfs: property org.example:tier"]);
  assert.deepEqual(unobservedFor(desired({}), { ...record, scope: {} }).length > 0, true, "a record without a driver's scope looked at nothing of it");
  const noHost = { ...desired({}), host: undefined } as DesiredState;
  assert.deepEqual(withRecordHost(noHost, record).host, { jailConfDir: "/etc/jail.conf.d" });
  assert.equal("host" in withRecordHost(desired({}), { ...record, host: null }), false);
});

test("highlights: destroys lose data; restarts and removals interrupt a service; the rest is neither", () => {
  const a = (id: string, effect: ActionBase["effect"]): ActionBase => ({ id, effect }) as ActionBase;
  assert.deepEqual(highlights([a("c", "create"), a("d", "destroy"), a("r", "restart"), a("x", "change"), a("m", "remove")]), { destroys: ["d"], interrupts: ["r", "m"] });
});

const flow = (from: string, to: string, port: number): Flow => ({ from, to, proto: "tcp", port });

test("the reachability diff: flows opened and closed, and only the undeclared ones the change adds", () => {
  const before = [flow("git", "mail", 587), flow("outside", "mail", 25)];
  const after = [flow("outside", "mail", 25), flow("blog", "mail", 25), flow("blog", "mail", 25)];
  assert.deepEqual(diffFlows(before, after), { opened: [flow("blog", "mail", 25)], closed: [flow("git", "mail", 587)] });
  const old = { revision: "old" } as ClusterModel;
  const now = { revision: "new" } as ClusterModel;
  const provider: ReachabilityProvider = {
    matrix: (m) => (m === old ? before : after),
    undeclared: (m) => (m === old ? [{ ...flow("outside", "mail", 25), message: "known" }] : [{ ...flow("outside", "mail", 25), message: "known" }, { ...flow("blog", "mail", 25), message: "blog reaches mail on 25/tcp" }]),
  };
  const r = reviewReachability(old, now, provider);
  assert.ok(r.available);
  assert.deepEqual(r.undeclared.map((f) => f.message), ["blog reaches mail on 25/tcp"]);
});

test("the reachability diff of the template and a route more: the route's flow is opened, nothing else moves, nothing undeclared", async () => {
  const template = join(REPO_ROOT, "cluster-repo-template");
  const before = loadModel(await readSnapshotFromDir(template)).model;
  const snapshot = await readSnapshotFromDir(template);
  const blog = snapshot.manifests.get("services/blog.yaml");
  assert.ok(before !== undefined && blog !== undefined);
  const manifests = new Map(snapshot.manifests);
  manifests.set("services/blog.yaml", blog.replace("routes: [dns, git:22/tcp]", "routes: [dns, git:22/tcp, mail:587/tcp]"));
  const after = loadModel({ ...snapshot, manifests }).model;
  assert.ok(after !== undefined);
  const r = reviewReachability(before, after);
  assert.ok(r.available);
  assert.deepEqual(r.opened.map((f) => `${f.from} ${f.to} ${f.port}/${f.proto}`), ["blog mail 587/tcp"]);
  assert.deepEqual([r.closed, r.undeclared], [[], []]);
  const back = reviewReachability(after, before);
  assert.ok(back.available);
  assert.deepEqual(back.closed, r.opened);
});

test("Markdown: names and messages from the repo or a node cannot break the table, open HTML or end a code span", () => {
  const review: RevisionReview = {
    ok: false,
    revision: { name: "a`b|c", ref: null, oid: "1".repeat(40) },
    against: { name: "main", ref: "refs/heads/main", oid: "2".repeat(40) },
    diagnostics: [],
    nodes: [
      { node: "alpha", state: "unknown", reason: "no | way <details> *here*\nnext" },
      { node: "beta", state: "invalid", diagnostics: [{ code: "MANIFEST_PATH", severity: "error", message: "```x|y", where }] },
    ],
    reachability: { available: false, reason: "none" },
  };
  const md = renderReviewMarkdown(review);
  assert.match(md, /^### steward plan: `` a`b\|c `` \(111111111111\) against `main` \(222222222222\)$/m);
  const rows = md.split("\n").filter((l) => l.startsWith("| alpha") || l.startsWith("| beta"));
  assert.equal(rows.length, 2);
  for (const r of rows) assert.equal(r.replaceAll("\\|", "").split("|").length, 7, r);
  assert.ok(!md.includes("<details> *here*") && md.includes("&lt;details&gt; \\*here\\* next"), md);
  // The invalid node's diagnostics sit in a fence longer than any run of backticks in them.
  assert.match(md, /^````text\nx:1:1  MANIFEST_PATH  ```x\|y$/m);
});

test("the reported observation keeps what the plan reads and nothing a jail's admin set by hand; the plan is the same, after the round trip too", async () => {
  const { desired } = await desiredFromDir(join(REPO_ROOT, "cluster-repo-template"), "alpha");
  assert.ok(desired !== undefined);
  const jails = sliceJails(desired).jails;
  const mail = jails.find((j) => Object.keys(j.rc).length > 0);
  assert.ok(mail !== undefined, "the template has a jail with rc.conf variables");
  const observed = {
    zfs: { root: `${desired.node.pool}/steward`, rootExists: false, datasets: [], applied: { version: 1, datasets: {} } },
    jail: {
      host: { jailEnable: undefined, jailList: [], clonedInterfaces: [] },
      jails: { [mail.name]: { name: mail.name, running: undefined, confSha256: undefined, confIsSteward: true, packages: undefined, rc: { ...mail.rc, old_enable: "YES", db_password: "hunter2" }, files: {} } },
      applied: { version: 1, jails: { [mail.name]: { confSha256: undefined, packages: [], rc: { old_enable: "YES" }, files: {}, pendingRestarts: [] } } },
    },
  };
  // The ZFS and jail drivers: what the pf and backup drivers observe is not what this test is about.
  const drivers = DRIVERS.filter((d) => d.name !== "pf" && d.name !== "backup");
  const record = makeObservedRecord(desired, observed, [], drivers);
  const text = renderObserved(record);
  assert.ok(!text.includes("hunter2") && !text.includes("db_password"), "a variable the plan does not read stays on the node");
  assert.match(text, /"old_enable": "YES"/, "one Steward set before is kept: the plan unsets it");
  const full = makePlan(desired, observed, drivers);
  assert.ok(full.actions.some((a) => a.kind === "jail.rc"), "the plan touches rc.conf");
  assert.deepEqual(makePlan(desired, record.drivers, drivers), full);
  assert.deepEqual(makePlan(desired, parseObserved(text)?.drivers ?? {}, drivers), full);
});
