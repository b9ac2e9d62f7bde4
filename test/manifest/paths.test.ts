/**
 * Host paths a node's jails and mounts must stay away from: the relation of two paths and the
 * `jails:` check of validation (placed on the value).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadModel } from "../../agent/src/manifest/load.js";
import { PROTECTED_HOST_PATHS, relatePaths } from "../../agent/src/manifest/paths.js";
import { REPO_ROOT } from "../helpers/cli.js";
import { templateWith } from "../helpers/template.js";

const ALPHA = "nodes/alpha.yaml";

for (const c of [
  { a: "/var/db", b: "/var/db", want: "equal" },
  { a: "/var/db/", b: "/var//db", want: "equal" },
  { a: "/var/db/steward", b: "/var/db", want: "inside" },
  { a: "/var", b: "/var/db", want: "contains" },
  { a: "/", b: "/var/db", want: "contains" },
  { a: "/var/dbx", b: "/var/db", want: undefined },
  { a: "/var/d", b: "/var/db", want: undefined },
  { a: "/jails/mail", b: "/var/mail", want: undefined },
] as const) {
  test(`relatePaths: ${c.a} against ${c.b} is ${String(c.want)}`, () => assert.equal(relatePaths(c.a, c.b), c.want));
}

/** The template with `jails: <value>` added to nodes/alpha.yaml as its 6th line (column 8). */
const withJails = (value: string, extra: Readonly<Record<string, string>> = {}) => templateWith({ [ALPHA]: (t) => `${t}jails: ${value}\n`, ...extra });

for (const c of [
  { jails: "/var", why: "an ancestor of /var/db, /var/log and /var/db/steward" },
  { jails: "/usr", why: "an ancestor of /usr/bin and /usr/local/etc" },
  { jails: "/usr/local", why: "an ancestor of /usr/local/etc/steward" },
  { jails: "/usr/local/", why: "an ancestor, written with a trailing slash" },
  { jails: "/var/db", why: "a system tree itself" },
  { jails: "/var/db/steward", why: "Steward's own state directory" },
  { jails: "/usr/local/etc/steward", why: "Steward's own configuration directory" },
  { jails: "/usr/local/etc/jails", why: "inside /usr/local/etc" },
  { jails: "/var/db/jails", why: "inside /var/db" },
  { jails: "/etc/jails", why: "inside /etc" },
  { jails: "/boot", why: "a system tree" },
  { jails: "/tmp/jails", why: "inside /tmp, cleared at boot" },
  { jails: "/usr/src", why: "the source tree" },
]) {
  test(`jails: ${c.jails} is refused on the value (${c.why})`, async () => {
    const { model, diagnostics } = loadModel(await withJails(c.jails));
    assert.equal(model, undefined);
    assert.deepEqual(diagnostics.map((d) => [d.code, `${d.where.file}:${d.where.line}:${d.where.column}`]), [["MANIFEST_PATH", `${ALPHA}:6:8`]]);
    assert.match(diagnostics[0]?.hint ?? "", /\/jails/);
  });
}

test("jails: /var with a service mounting /steward (over /var/db/steward) is refused on jails:", async () => {
  const db = "node: alpha\njail:\n  ip: 10.17.0.50\ndatasets:\n  data: { mount: /steward }\n";
  const { model, diagnostics } = loadModel(await withJails("/var", { "services/db.yaml": db }));
  assert.equal(model, undefined);
  assert.deepEqual(diagnostics.map((d) => [d.code, `${d.where.file}:${d.where.line}:${d.where.column}`]), [["MANIFEST_PATH", `${ALPHA}:6:8`]]);
});

test("jails: /usr with a service 'local' mounting /etc (over /usr/local/etc) is refused on jails:", async () => {
  const local = "node: alpha\njail:\n  ip: 10.17.0.51\ndatasets:\n  conf: { mount: /etc }\n";
  const { diagnostics } = loadModel(await withJails("/usr", { "services/local.yaml": local }));
  assert.deepEqual(diagnostics.map((d) => [d.code, `${d.where.file}:${d.where.line}:${d.where.column}`]), [["MANIFEST_PATH", `${ALPHA}:6:8`]]);
});

for (const jails of ["/jails", "/usr/jails", "/usr/local/jails", "/var/jails", "/zroot/jails", "/data/jails", "/var/dbx", "/jails/"]) {
  test(`jails: ${jails} is a valid home for jails`, async () => {
    const { model, diagnostics } = loadModel(await withJails(jails));
    assert.deepEqual(diagnostics, []);
    assert.ok(model);
  });
}

test("schema/README.md lists exactly the protected directories", () => {
  const readme = readFileSync(join(REPO_ROOT, "schema/README.md"), "utf8");
  const start = readme.indexOf("The protected directories are those of");
  const end = readme.indexOf("So `/`", start);
  assert.ok(start >= 0 && end > start, "the paragraph is where this test expects it");
  const listed = [...readme.slice(start, end).matchAll(/`([^`]+)`/g)].flatMap((m) =>
    (m[1] ?? "").split(/\s+/).flatMap((p) => {
      const brace = /^(.*)\{([^}]*)\}$/.exec(p);
      return brace === null ? [p] : (brace[2] ?? "").split(",").map((x) => `${brace[1] ?? ""}${x}`);
    }),
  );
  assert.deepEqual([...listed].sort(), [...PROTECTED_HOST_PATHS].sort());
});
