/**
 * Property tests of loadModel on hostile input: it never throws, every diagnostic points inside
 * a file it was given, the result is deterministic, a returned model keeps the promises of
 * schema/README.md ("What steward validate checks", among them no jail root or mountpoint on a
 * system directory), and no input pollutes Object.prototype.
 *
 * Inputs: (a) random text, (b) YAML documents from a small grammar (schema keys, anchors,
 * aliases, tags, huge numbers, unicode, __proto__, deep nesting) and schema-shaped manifests
 * with edge-case values, placed in the template repo, (c) mutations of the template's files.
 * Set FC_SEED to replay a failure that fast-check reported.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import clusterSchema from "../../schema/cluster.schema.json" with { type: "json" };
import commonSchema from "../../schema/common.schema.json" with { type: "json" };
import nodeSchema from "../../schema/node.schema.json" with { type: "json" };
import serviceSchema from "../../schema/service.schema.json" with { type: "json" };
import type { Diagnostic } from "../../agent/src/errors.js";
import { desiredStateFor } from "../../agent/src/manifest/desired.js";
import { loadModel, type LoadResult } from "../../agent/src/manifest/load.js";
import { hostPathConflicts, PROTECTED_HOST_PATHS } from "../../agent/src/manifest/paths.js";
import type { ClusterModel, RepoSnapshot } from "../../agent/src/manifest/types.js";
import { readSnapshotFromDir } from "../../agent/src/source/dir.js";
import { REPO_ROOT } from "../helpers/cli.js";

const template = await readSnapshotFromDir(`${REPO_ROOT}/cluster-repo-template`);
const templateFiles = [...template.manifests.keys()].sort();
const seed = process.env["FC_SEED"] === undefined ? {} : { seed: Number(process.env["FC_SEED"]) };

const SEVERITIES = new Set(["error", "warning"]);

function insideText(text: string, line: number, column: number): boolean {
  const lines = text.split("\n");
  return line <= lines.length && column <= (lines[line - 1] ?? "").length + 1;
}


const prototypeNames = (): string => [Object.prototype, Array.prototype, Function.prototype].map((p) => Object.getOwnPropertyNames(p).sort().join(",")).join("|");
const PROTOTYPES_BEFORE = prototypeNames();

// ---------------------------------------------------------------------------------------------
// The invariants every run is checked against.

/** loadOnce runs loadModel and turns a throw into an assertion failure naming the error. */
function loadOnce(snapshot: RepoSnapshot): LoadResult {
  try {
    return loadModel(snapshot);
  } catch (e) {
    assert.fail(`loadModel threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  }
}

let loads = 0;

/** checkLoad loads a snapshot (now and then twice) and asserts every invariant on the outcome. */
function checkLoad(snapshot: RepoSnapshot): LoadResult {
  const result = loadOnce(snapshot);
  for (const d of result.diagnostics) checkDiagnostic(snapshot, d);
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (result.model === undefined) assert.ok(errors.length > 0, "no model, yet no error says why");
  else {
    assert.equal(errors.length, 0, "a model was returned along with errors");
    checkModel(snapshot, result.model);
  }
  for (let i = 1; i < result.diagnostics.length; i++) {
    const a = result.diagnostics[i - 1]?.where;
    const b = result.diagnostics[i]?.where;
    assert.ok(a !== undefined && b !== undefined);
    assert.ok(a.file < b.file || (a.file === b.file && (a.line < b.line || (a.line === b.line && a.column <= b.column))), "diagnostics are not sorted by position");
  }
  // Loading twice costs as much as the rest of the checks; every third run is plenty.
  if (++loads % 3 === 0) {
    const again = loadOnce({ manifests: new Map(snapshot.manifests), paths: new Set(snapshot.paths) });
    assert.deepEqual(comparable(again), comparable(result), "the same input gave a different result");
  }
  assertNoPollution();
  return result;
}

function checkDiagnostic(snapshot: RepoSnapshot, d: Diagnostic): void {
  const text = snapshot.manifests.get(d.where.file);
  assert.equal(typeof d.code, "string");
  assert.match(d.code, /^MANIFEST_[A-Z]+$/, `unexpected code ${d.code}`);
  assert.ok(SEVERITIES.has(d.severity), `severity ${d.severity}`);
  assert.equal(typeof d.message, "string");
  assert.ok(d.hint === undefined || typeof d.hint === "string", `${d.code} at ${d.where.file}:${d.where.line}:${d.where.column} has a ${typeof d.hint} hint`);
  const { file, line, column } = d.where;
  assert.ok(Number.isInteger(line) && line >= 1, `line ${line}`);
  assert.ok(Number.isInteger(column) && column >= 1, `column ${column}`);
  if (text === undefined) {
    // The one diagnostic about a file that was not given: the missing cluster.yaml.
    assert.ok(file === "cluster.yaml" && d.code === "MANIFEST_MISSING", `${d.code} points at ${file}, which is not an input file`);
    return;
  }
  assert.ok(insideText(text, line, column), `${d.code} at ${file}:${line}:${column} is outside the file`);
}

/** checkModel asserts what a valid repo guarantees (schema/README.md, "What steward validate checks"). */
function checkModel(snapshot: RepoSnapshot, model: ClusterModel): void {
  assert.doesNotThrow(() => JSON.stringify(model));
  const nodes = new Set(model.nodes.map((n) => n.name));
  const services = new Set(model.services.map((s) => s.name));
  assert.equal(nodes.size, model.nodes.length);
  assert.equal(services.size, model.services.length);
  const ips = new Set<string>();
  const exposed = new Set<string>();
  for (const s of model.services) {
    assert.ok(nodes.has(s.node), `service ${s.name} runs on missing node ${s.node}`);
    assert.ok(!ips.has(s.ip), `jail ip ${s.ip} used twice`);
    ips.add(s.ip);
    for (const p of s.expose) {
      assert.ok(Number.isInteger(p.port) && p.port >= 1 && p.port <= 65535, `expose port ${p.port}`);
      const key = `${s.node} ${p.port}/${p.proto}`;
      assert.ok(!exposed.has(key), `${key} exposed twice`);
      exposed.add(key);
    }
    for (const r of s.routes) {
      assert.ok(Number.isInteger(r.port) && r.port >= 1 && r.port <= 65535, `route port ${r.port}`);
      assert.ok(r.to === "internet" || (services.has(r.to) && r.to !== s.name), `route to ${r.to}`);
    }
    const jailServices = new Set(s.services);
    for (const f of s.files) {
      assert.ok(snapshot.paths.has(f.from), `files.from ${f.from} does not exist`);
      for (const r of f.restart) assert.ok(jailServices.has(r), `restart ${r}`);
      for (const p of [f.path, f.from]) assert.ok(!p.split("/").some((seg) => seg === "." || seg === ".."), `dot segment in ${p}`);
    }
    const mounts = s.datasets.flatMap((d) => (d.mount === undefined ? [] : [d.mount]));
    assert.equal(new Set(mounts).size, mounts.length, "a mount point is used twice");
    assert.ok(!mounts.includes("/"), "a dataset is mounted over the jail's root");
    for (const [k, v] of Object.entries(s.rc)) assert.equal(typeof v, "string", `rc.${k}`);
  }
  for (const n of model.nodes) assert.deepEqual(hostPathConflicts(desiredStateFor(model, n.name), PROTECTED_HOST_PATHS), [], `node ${n.name} has a jail root or mountpoint on a system directory`);
}

function comparable(r: LoadResult): unknown {
  return JSON.parse(JSON.stringify({ model: r.model ?? null, diagnostics: r.diagnostics.map((d) => ({ ...d, hint: typeof d.hint === "string" ? d.hint : typeof d.hint })) }));
}

function assertNoPollution(): void {
  const probe: Record<string, unknown> = {};
  assert.equal(probe["polluted"], undefined, "Object.prototype.polluted was set");
  assert.equal(([] as unknown as Record<string, unknown>)["polluted"], undefined, "Array.prototype.polluted was set");
  assert.equal(prototypeNames(), PROTOTYPES_BEFORE, "a built-in prototype gained or lost a property");
}

function run<Ts>(property: fc.IRawProperty<Ts>, numRuns: number): void {
  try {
    fc.assert(property, { numRuns, ...seed });
  } catch (e) {
    // fast-check keeps the failed assertion as the cause; show it next to the counterexample.
    if (e instanceof Error && e.cause instanceof Error) e.message = `${e.cause.message}\n${e.message}`;
    throw e;
  }
}

function withFile(base: RepoSnapshot, path: string, text: string): RepoSnapshot {
  return { manifests: new Map([...base.manifests, [path, text]]), paths: new Set([...base.paths, path]) };
}

// ---------------------------------------------------------------------------------------------
// (a) Random text.

const WEIRD_PATHS = [
  "cluster.yaml",
  "cluster.yml",
  "nodes/alpha.yaml",
  "nodes/pi.yaml",
  "nodes/constructor.yaml",
  "nodes/__proto__.yaml",
  "nodes/a/b.yaml",
  "nodes/.yaml",
  "nodes/Alpha.yaml",
  "services/mail.yaml",
  "services/internet.yaml",
  "services/x.yml",
  "services/hasownproperty.yaml",
  "services/constructor.yaml",
  "services/toString.yaml",
  "services/a-name-longer-than-twenty-four.yaml",
];
const yamlChars = fc.constantFrom(..." \n\n\t:-[]{},&*!|>'\"#%@`?~.0123456789abcxyz_/\u00e9\u{1F600}\r\\\u0000\u2028\ufeff".split(""), ": ", "- ", "key: ", "  ", "---", "...", "&a ", "*a", "!!str ", "__proto__: ");
const randomText = fc.oneof(fc.string({ unit: "binary", maxLength: 200 }), fc.string({ unit: yamlChars, maxLength: 120 }), fc.string({ maxLength: 200 }));
const randomRepo = fc
  .uniqueArray(fc.tuple(fc.constantFrom(...WEIRD_PATHS), randomText), { selector: ([p]) => p, maxLength: 5 })
  .map((files): RepoSnapshot => ({ manifests: new Map(files), paths: new Set([...files.map(([p]) => p), "files/mail/main.cf"]) }));

test("random text never makes loadModel throw or point outside its input", () => {
  run(fc.property(randomRepo, (snapshot) => void checkLoad(snapshot)), 1000);
});

test("random text in one file of the template", () => {
  run(fc.property(fc.constantFrom(...templateFiles, "services/fuzz.yaml"), randomText, (path, text) => void checkLoad(withFile(template, path, text))), 300);
});

// ---------------------------------------------------------------------------------------------
// (b) YAML from a grammar. A document is a tree of Y nodes rendered with random styles.

type Y = (
  | { readonly t: "scalar"; readonly text: string }
  | { readonly t: "block"; readonly style: "|" | ">" | "|-" | ">+"; readonly lines: readonly string[] }
  | { readonly t: "map"; readonly flow: boolean; readonly entries: readonly (readonly [string, Y])[] }
  | { readonly t: "seq"; readonly flow: boolean; readonly items: readonly Y[] }
  | { readonly t: "alias"; readonly name: string }
) & { readonly props?: string | undefined };

function collectKeys(schema: unknown, into: Set<string>): Set<string> {
  if (Array.isArray(schema)) for (const s of schema) collectKeys(s, into);
  else if (schema !== null && typeof schema === "object") {
    for (const [k, v] of Object.entries(schema)) {
      if ((k === "properties" || k === "$defs") && v !== null && typeof v === "object") for (const name of Object.keys(v)) into.add(name);
      collectKeys(v, into);
    }
  }
  return into;
}
const SCHEMA_KEYS = [...collectKeys([clusterSchema, commonSchema, nodeSchema, serviceSchema], new Set())].filter((k) => !/^(name|ipv4|cidr4|size|absolutePath|datasetProperties)$/.test(k)).sort();
const HOSTILE_KEYS = ["__proto__", "constructor", "prototype", "polluted", "toString", "hasOwnProperty", "valueOf", "<<", "postfix_enable", "org.steward:managed", "com.example:backup", "/usr/local/etc/x.conf", "mail", "alpha"];

const PLAIN_SCALARS = [
  "alpha", "beta", "pi", "ghost", "10.17.0.25", "10.17.0.0/24", "192.168.1.0/24", "192.168.1.7", "0.0.0.0/0", "25/tcp", "65536/tcp", "mail:25/tcp", "internet:443/tcp",
  "mail:99999/udp", "dns", "web", "ntp", "lz4", "off", "on", "20G", "none", "1.5T", "14.2-RELEASE", "correct", "report", "amd64", "arm64", "zroot", "em0", "/var/mail",
  "/", "/var/./mail", "files/mail/main.cf", "files/../etc/passwd", "YES", "yes", "no", "NO", "~", "null", "true", "false", ".nan", ".inf", "-.inf", "0x1F", "0o17", "1e400",
  "-1e400", "99999999999999999999999999999", "0.0000000000000000000000001", "-0", "1_000", "2001-12-14t21:59:43.10-05:00", "__proto__", "constructor", "é", "日本",
  "\u{1F600}", "a b", "postfix", "0640", "root:mail", "zroot/steward/data/mail/mail", "zroot/steward",
];
const TAGS = ["!!str", "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq", "!!binary", "!!set", "!!omap", "!!timestamp", "!custom", "!<tag:yaml.org,2002:str>", "!!python/object:os.system", "!"];
const ANCHORS = ["a", "b", "x1"];

const props = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 12 },
  { arbitrary: fc.constantFrom(...ANCHORS).map((a) => `&${a}`), weight: 1 },
  { arbitrary: fc.constantFrom(...TAGS), weight: 1 },
  { arbitrary: fc.tuple(fc.constantFrom(...ANCHORS), fc.constantFrom(...TAGS)).map(([a, t]) => `&${a} ${t}`), weight: 1 },
);
const stringValue = fc.oneof(fc.constantFrom(...PLAIN_SCALARS), fc.string({ maxLength: 20 }), fc.string({ unit: "binary", maxLength: 12 }));
type Style = "plain" | "double" | "single";
const style = fc.constantFrom<Style>("plain", "plain", "double", "single");
/** A string written in a style; plain only where YAML 1.2 reads it back as the same string. */
function token(v: string, s: Style): string {
  const plainSafe = /^[A-Za-z_/.é日本\u{1F600}][A-Za-z0-9_ /.:@+=é日本\u{1F600}-]*$/u.test(v) && !/[ :]$|: | #/.test(v) && !/^(true|false|null|~|\.(nan|inf))$/i.test(v);
  if (s === "double" || (s === "plain" && !plainSafe)) return JSON.stringify(v);
  return s === "single" ? `'${v.replaceAll("'", "''")}'` : v;
}
const scalarToken = (value: fc.Arbitrary<string>): fc.Arbitrary<string> => fc.tuple(value, style).map(([v, s]) => token(v, s));
const numberToken = fc.oneof(fc.integer().map(String), fc.bigInt({ min: -(10n ** 40n), max: 10n ** 40n }).map(String), fc.double().map((n) => (Number.isFinite(n) ? String(n) : ".nan")));
const scalarY: fc.Arbitrary<Y> = fc.record({ t: fc.constant("scalar" as const), text: fc.oneof(scalarToken(stringValue), numberToken), props });
const blockY: fc.Arbitrary<Y> = fc.record({ t: fc.constant("block" as const), style: fc.constantFrom("|" as const, ">" as const, "|-" as const, ">+" as const), lines: fc.array(fc.string({ maxLength: 15 }).map((s) => s.replace(/[\n\r]/g, "")), { maxLength: 3 }), props });
const aliasY: fc.Arbitrary<Y> = fc.constantFrom(...ANCHORS, "nowhere").map((name) => ({ t: "alias" as const, name }));
const keyToken = fc.oneof(
  { arbitrary: fc.constantFrom(...SCHEMA_KEYS), weight: 6 },
  { arbitrary: fc.constantFrom(...HOSTILE_KEYS).map((k) => (/^[A-Za-z_][A-Za-z0-9_.:]*$/.test(k) || k.startsWith("/") ? k : JSON.stringify(k))), weight: 2 },
  { arbitrary: scalarToken(fc.string({ maxLength: 8 })), weight: 1 },
  { arbitrary: fc.constantFrom("[a, b]", "{k: v}", "*a", "? x", "!!int 1", "\"\"", "''", "null", "1", "true"), weight: 1 },
);

const { anyY } = fc.letrec<{ anyY: Y; mapY: Y; seqY: Y }>((tie) => ({
  anyY: fc.oneof({ depthSize: "small", withCrossShrink: true }, scalarY, scalarY, tie("mapY"), tie("seqY"), aliasY, blockY),
  mapY: fc.record({ t: fc.constant("map" as const), flow: fc.boolean(), entries: fc.uniqueArray(fc.tuple(keyToken, tie("anyY")), { selector: ([k]) => k, maxLength: 5 }), props }),
  seqY: fc.record({ t: fc.constant("seq" as const), flow: fc.boolean(), items: fc.array(tie("anyY"), { maxLength: 4 }), props }),
}));

/** Deep nesting: a scalar wrapped in many maps or lists, flow or block. */
const deepY: fc.Arbitrary<Y> = fc.tuple(fc.integer({ min: 20, max: 400 }), fc.boolean(), fc.constantFrom("map", "seq"), scalarY).map(([depth, flow, kind, leaf]) => {
  let y: Y = leaf;
  for (let i = 0; i < depth; i++) y = kind === "map" ? { t: "map", flow, entries: [["jail", y]] } : { t: "seq", flow, items: [y] };
  return { t: "map", flow: false, entries: [["node", { t: "scalar", text: "alpha" }], ["jail", y]] };
});

function isBlockCollection(y: Y): boolean {
  return (y.t === "map" && !y.flow && y.entries.length > 0) || (y.t === "seq" && !y.flow && y.items.length > 0);
}

function inline(y: Y): string {
  const p = y.props === undefined ? "" : `${y.props} `;
  switch (y.t) {
    case "scalar":
      return p + y.text;
    case "alias":
      return `*${y.name}`;
    case "block":
      return p + JSON.stringify(y.lines.join("\n"));
    case "map":
      return `${p}{${y.entries.map(([k, v]) => `${k}: ${inline(v)}`).join(", ")}}`;
    case "seq":
      return `${p}[${y.items.map(inline).join(", ")}]`;
  }
}

/** The lines of y written at `indent`, after `lead` ("key:" or "-") on the first line. */
function blockLines(y: Y, indent: number, lead: string): string[] {
  const pad = " ".repeat(indent);
  const p = y.props === undefined ? "" : ` ${y.props}`;
  if (y.t === "block") return [`${lead} ${p.trim()} ${y.style}`.replace(/ +/g, " "), ...y.lines.map((l) => `${pad}  ${l}`)];
  if (!isBlockCollection(y)) return [`${lead} ${inline(y)}`];
  const head = lead === "" ? (y.props === undefined ? [] : [y.props]) : [`${lead}${p}`];
  const inner = lead === "" ? indent : indent + 2;
  const innerPad = " ".repeat(inner);
  const body =
    y.t === "map"
      ? y.entries.flatMap(([k, v]) => blockLines(v, inner, `${innerPad}${k}:`))
      : y.t === "seq"
        ? y.items.flatMap((v) => blockLines(v, inner, `${innerPad}-`))
        : [];
  return [...head, ...body];
}

const docWrapper = fc.tuple(
  fc.constantFrom("", "", "", "---\n", "%YAML 1.2\n---\n", "# a comment\n", "%YAML 1.1\n---\n", "%TAG !e! tag:example.com,2000:\n---\n", "\ufeff"),
  fc.constantFrom("", "", "", "...\n", "---\nnode: alpha\n", "# end\n", "\n\n"),
);
function renderDoc(y: Y, [before, after]: [string, string]): string {
  const body = isBlockCollection(y) ? blockLines(y, 0, "").join("\n") : inline(y);
  return `${before}${body}\n${after}`;
}

const topMapY: fc.Arbitrary<Y> = fc.record({
  t: fc.constant("map" as const),
  flow: fc.constant(false),
  entries: fc.uniqueArray(fc.tuple(keyToken, anyY), { selector: ([k]) => k, minLength: 1, maxLength: 7 }),
  props,
});
const grammarDoc = fc.tuple(fc.oneof({ arbitrary: topMapY, weight: 6 }, { arbitrary: anyY, weight: 1 }, { arbitrary: deepY, weight: 1 }), docWrapper).map(([y, w]) => renderDoc(y, w));
const GRAMMAR_PATHS = ["cluster.yaml", "nodes/alpha.yaml", "nodes/fuzz.yaml", "services/mail.yaml", "services/fuzz.yaml", "services/constructor.yaml"];

test("YAML documents from a grammar, in the template", () => {
  run(fc.property(fc.constantFrom(...GRAMMAR_PATHS), grammarDoc, (path, text) => void checkLoad(withFile(template, path, text))), 500);
});

// Schema-shaped manifests: the right keys with edge-case values, so that documents get past the
// schema and into the semantic checks and the model builder. Each value is the first (usable)
// one of its list most of the time, so that a good share of repos is valid.

/** chance(n) is 0 once in n draws (unbiased: fast-check otherwise favours 0, and fc.option's nil rate grows with depth). */
const chance = (n: number): fc.Arbitrary<number> => fc.noBias(fc.integer({ min: 0, max: n - 1 }));
/** rare(a, n) is a value of a once in n draws, else undefined. */
const rare = <T>(a: fc.Arbitrary<T>, n: number): fc.Arbitrary<T | undefined> => fc.tuple(chance(n), a).map(([k, v]) => (k === 0 ? v : undefined));
const opt = <T>(a: fc.Arbitrary<T>, freq = 3): fc.Arbitrary<T | undefined> => fc.tuple(chance(freq), a).map(([n, v]) => (n === 0 ? undefined : v));
const req = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => opt(a, 40);
const pick = (good: string, ...edge: string[]): fc.Arbitrary<string> =>
  edge.length === 0 ? fc.constant(good) : fc.tuple(chance(12), fc.constantFrom(...edge)).map(([n, e]) => (n === 0 ? e : good));
const scalar = (value: fc.Arbitrary<string>): fc.Arbitrary<Y> => scalarToken(value).map((text) => ({ t: "scalar" as const, text }));
const str = (good: string, ...edge: string[]): fc.Arbitrary<Y> => scalar(pick(good, ...edge));
/** A list of distinct values (now and then one repeated: uniqueItems is part of the schema). */
const list = (good: string, ...edge: string[]): fc.Arbitrary<Y> =>
  fc
    .tuple(fc.uniqueArray(fc.tuple(pick(good, ...edge), style), { selector: ([v]) => v, minLength: 1, maxLength: 3 }), chance(20), fc.boolean())
    .map(([items, n, flow]) => {
      const all = n === 0 ? [...items, ...items.slice(0, 1)] : items;
      return { t: "seq" as const, flow, items: all.map(([v, st]) => ({ t: "scalar" as const, text: token(v, st) })) };
    });
const polluter: Y = { t: "map", flow: true, entries: [["polluted", { t: "scalar", text: "yes" }]] };
const hostileKey = fc.tuple(chance(30), fc.constantFrom("__proto__", "constructor", "toString")).map(([n, k]) => (n === 0 ? k : undefined));
/** A map with the given optional fields, and now and then a hostile key. */
const fields = (spec: Record<string, fc.Arbitrary<Y | undefined>>): fc.Arbitrary<Y> =>
  fc.tuple(fc.tuple(...Object.entries(spec).map(([k, a]) => a.map((v) => [k, v] as const))), hostileKey, fc.boolean()).map(([entries, extra, flow]) => {
    const kept = entries.filter((e): e is readonly [string, Y] => e[1] !== undefined);
    return { t: "map" as const, flow: flow && kept.length < 3, entries: extra === undefined ? kept : [...kept, [extra, polluter] as const] };
  });
const dict = (key: fc.Arbitrary<string>, value: fc.Arbitrary<Y>, maxLength = 2): fc.Arbitrary<Y> =>
  fc.tuple(fc.uniqueArray(fc.tuple(key, value), { selector: ([k]) => k, maxLength }), fc.boolean()).map(([entries, flow]) => ({ t: "map" as const, flow, entries }));

const ip = scalar(
  fc.tuple(chance(12), fc.integer({ min: 100, max: 200 }), fc.constantFrom("10.17.0.25", "10.17.0.0", "10.17.0.255", "10.17.1.1", "192.168.1.5", "10.17.0.025", "256.1.1.1")).map(([n, host, edge]) => (n === 0 ? edge : `10.17.0.${host}`)),
);
const serviceDoc = fields({
  node: req(str("alpha", "beta", "pi", "ghost", "Alpha", "constructor")),
  drift: opt(str("correct", "report", "fix")),
  jail: req(
    fields({
      ip: req(ip),
      release: opt(str("14.2-RELEASE", "13.4-RELEASE-p3", "14.2")),
      packages: opt(list("postfix", "nginx", "py311-radicale", "bad name")),
      services: opt(list("postfix", "nginx", "dovecot", "constructor")),
      rc: opt(dict(pick("postfix_enable", "nginx_flags", "constructor", "toString", "__proto__", "valueOf", "hasOwnProperty"), fc.oneof(str("YES", "NO", "-a -b", "$(reboot)", "a\"b", ""), numberToken.map((text) => ({ t: "scalar" as const, text }))))),
    }),
  ),
  datasets: opt(
    dict(
      pick("mail", "spool", "constructor", "a.b", "__proto__", "Bad"),
      fields({
        mount: opt(str("/srv/data", "/var/mail", "/var/mail/", "/", "//", "/var/./x", "/a/../b")),
        quota: opt(str("20G", "none", "1.5T", "999999999999999P", "0", "12X")),
        recordsize: opt(str("128K", "512", "1M", "3K", "1000", "2M", "4096")),
        compression: opt(str("lz4", "zstd-19", "gzip-0")),
        atime: opt(str("off", "on", "true")),
        "org.steward:managed": rare(str("yes"), 12),
        "com.example:backup": opt(str("daily", "")),
      }),
    ),
  ),
  files: opt(
    dict(
      pick("/usr/local/etc/a.conf", "/usr/local/etc/b.conf", "/etc/./x", "/x/../y", "/constructor", "relative/path"),
      fields({
        from: req(str("files/mail/main.cf", "files/blog/nginx.conf", "files/nope", "files/../x", "./files/mail/main.cf", "files//mail/main.cf")),
        restart: rare(list("postfix", "nginx", "constructor"), 4),
        mode: opt(str("0640", "640", "0999", "rw")),
        owner: opt(str("root:mail", "www", "Root")),
      }),
    ),
  ),
  expose: opt(list("8080/tcp", "25/tcp", "65535/udp", "65536/tcp", "99999/tcp", "443/tcp", "0/tcp")),
  routes: opt(list("dns", "web", "ntp", "internet:25/tcp", "mail:25/tcp", "fuzz:80/tcp", "ghost:1/udp", "constructor:80/tcp", "blog:99999/tcp", "blog:80/tcp", "internet:65536/udp")),
});
const nodeDoc = fields({
  arch: req(str("amd64", "arm64", "i386")),
  pool: req(str("zroot", "tank", "constructor", "1pool")),
  interface: req(str("em0", "genet0", "lo")),
  address: opt(ip),
  release: opt(str("14.2-RELEASE")),
  jails: opt(str("/jails", "/jails/", "/", "jails", "/var", "/usr/local", "/var/db/steward", "/usr/local/jails", "/var/dbx")),
  destroy: opt(list("zroot/steward/data/old/www", "zroot/steward", "zroot/steward/data", "zroot/steward/data/mail", "zroot/steward/data/mail/mail", "tank/steward/data/x/y", "zroot/other")),
});
const clusterDoc = fields({
  domain: opt(str("home.arpa", "example.org", "-bad-")),
  network: req(
    fields({
      jails: req(str("10.17.0.0/24", "10.17.0.1/24", "0.0.0.0/0", "10.17.0.0/32", "10.17.0.0/31", "10.0.0.0/8")),
      protect: req(list("192.168.1.0/24", "10.17.0.0/16", "10.17.0.128/25", "0.0.0.0/0", "192.168.1.1/24")),
    }),
  ),
  defaults: opt(fields({ release: opt(str("14.2-RELEASE", "15")), drift: opt(str("correct", "report")), datasets: opt(fields({ compression: opt(str("lz4")), atime: opt(str("off")), quota: opt(str("1G")) })) })),
});
const shapedRepo = fc
  .tuple(
    fc.uniqueArray(fc.tuple(fc.constantFrom("services/fuzz.yaml", "services/mail.yaml", "services/blog.yaml", "services/constructor.yaml", "services/internet.yaml"), serviceDoc), { selector: ([p]) => p, minLength: 1, maxLength: 3 }),
    opt(fc.tuple(fc.constantFrom("nodes/alpha.yaml", "nodes/ghost.yaml", "nodes/pi.yaml"), nodeDoc)),
    opt(clusterDoc, 2),
  )
  .map(([services, node, cluster]) => {
    let snapshot: RepoSnapshot = template;
    for (const [path, y] of services) snapshot = withFile(snapshot, path, renderDoc(y, ["", ""]));
    if (node !== undefined) snapshot = withFile(snapshot, node[0], renderDoc(node[1], ["", ""]));
    if (cluster !== undefined) snapshot = withFile(snapshot, "cluster.yaml", renderDoc(cluster, ["", ""]));
    return snapshot;
  });

test("schema-shaped manifests with edge-case values keep the model's guarantees", (t) => {
  let models = 0;
  run(
    fc.property(shapedRepo, (snapshot) => {
      if (checkLoad(snapshot).model !== undefined) models++;
    }),
    500,
  );
  // The generator is only useful if some inputs are valid and reach the model builder.
  t.diagnostic(`${models} of 500 generated repos were valid`);
  assert.ok(models >= 10, `only ${models} generated repos were valid`);
});

// ---------------------------------------------------------------------------------------------
// (c) Mutations of the template's files.

type Mutation = readonly ["drop" | "dup" | "swap" | "truncate" | "insert" | "replace" | "indent" | "dedent", number, string];
const mutation: fc.Arbitrary<Mutation> = fc.tuple(
  fc.constantFrom("drop" as const, "dup" as const, "swap" as const, "truncate" as const, "insert" as const, "replace" as const, "indent" as const, "dedent" as const),
  fc.nat(),
  fc.constantFrom(":", "-", " ", "\n", "\t", "[", "]", "{", "}", "&", "*", "!", "#", "'", "\"", "|", ">", "a", "0", "é", "\u0000"),
);

function mutate(text: string, [kind, n, ch]: Mutation): string {
  const lines = text.split("\n");
  const li = n % lines.length;
  const ci = text.length === 0 ? 0 : n % text.length;
  switch (kind) {
    case "drop":
      return lines.filter((_, i) => i !== li).join("\n");
    case "dup":
      return lines.flatMap((l, i) => (i === li ? [l, l] : [l])).join("\n");
    case "swap":
      return ci + 1 < text.length ? text.slice(0, ci) + text.charAt(ci + 1) + text.charAt(ci) + text.slice(ci + 2) : text;
    case "truncate":
      return text.slice(0, ci);
    case "insert":
      return text.slice(0, ci) + ch + text.slice(ci);
    case "replace":
      return text.slice(0, ci) + ch + text.slice(ci + 1);
    case "indent":
      return lines.map((l, i) => (i === li ? `  ${l}` : l)).join("\n");
    case "dedent":
      return lines.map((l, i) => (i === li ? l.replace(/^ {1,2}/, "") : l)).join("\n");
  }
}

test("mutations of the template's files", () => {
  run(
    fc.property(fc.constantFrom(...templateFiles), fc.array(mutation, { minLength: 1, maxLength: 4 }), (path, mutations) => {
      const text = mutations.reduce(mutate, template.manifests.get(path) ?? "");
      checkLoad(withFile(template, path, text));
    }),
    600,
  );
});

test("the template itself loads, and __proto__ keys in every position leave Object.prototype alone", () => {
  assert.ok(checkLoad(template).model !== undefined);
  const hostile = [
    "__proto__: { polluted: yes }\nnetwork: { jails: 10.17.0.0/24, protect: [192.168.1.0/24] }\n",
    "network:\n  __proto__:\n    polluted: yes\n  jails: 10.17.0.0/24\n  protect: [192.168.1.0/24]\nconstructor: { prototype: { polluted: yes } }\n",
    "\"__proto__\": [1]\n",
  ];
  for (const text of hostile) checkLoad(withFile(template, "cluster.yaml", text));
  checkLoad(withFile(template, "services/mail.yaml", "node: alpha\njail:\n  ip: 10.17.0.99\n  rc: { __proto__: \"YES\", constructor: \"YES\" }\n"));
  assertNoPollution();
});

test("bugs this test once found stay fixed: prototype hints, positions after error recovery", () => {
  checkLoad(withFile(template, "services/mail.yaml", 'node: alpha\njail:\n  ip: 10.17.0.99\n  rc: { constructor: "$(x)", __proto__: "a\\"b" }\n'));
  checkLoad(withFile(template, "cluster.yaml", "*a: 0\naddress: !!str {}\n"));
});
