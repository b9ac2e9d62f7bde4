/** jail.conf(5) reading: table-driven cases for the parser, the merge of wildcard sections and variable substitution. */
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { equalopts, loadJailConf, parseJailConf, resolveJails, wildJailMatch, wildJailName } from "../../sim/jail-conf.js";

/** resolved returns each jail's parameters as name → values, plus its errors. */
function resolved(src: string): Record<string, { params: Record<string, string[]>; errors: string[] }> {
  const p = parseJailConf(src, "t.conf");
  assert.ok(p.ok, p.ok ? "" : p.errors.join("; "));
  return Object.fromEntries(resolveJails(p.jails).map((j) => [j.key, { params: Object.fromEntries(j.params.map((x) => [x.name, x.values])), errors: j.errors }]));
}

for (const c of [
  {
    name: "= sets, += appends, a bare name is a boolean, commas make lists, name comes from the section",
    src: 'web {\n  persist;\n  ip4.addr = 10.0.0.1, 10.0.0.2;\n  ip4.addr += 10.0.0.3;\n  path = "/j/web";\n}\n',
    want: { web: { name: ["web"], persist: [], "ip4.addr": ["10.0.0.1", "10.0.0.2", "10.0.0.3"], path: ["/j/web"] } },
  },
  {
    name: "parameters outside any section apply to every jail; the section's own win when they come later",
    src: 'path = "/j/$name";\nexec.start = "/bin/sh /etc/rc";\na { exec.start = ""; }\nb { }\n',
    want: { a: { name: ["a"], path: ["/j/a"], "exec.start": [""] }, b: { name: ["b"], path: ["/j/b"], "exec.start": ["/bin/sh /etc/rc"] } },
  },
  {
    name: "a wildcard section after the jails overrides them; variables substitute per jail",
    src: "a { host.hostname = x; }\n* { host.hostname = \"$name.example\"; }\n",
    want: { a: { name: ["a"], "host.hostname": ["a.example"] } },
  },
  {
    name: "$var and ${var} substitute in bare and double-quoted strings, never in single quotes",
    src: "$base = /jails;\nw { path = $base/$name; host.hostname = \"${name}.lan\"; exec.start = '$base'; }\n",
    want: { w: { name: ["w"], path: ["/jails/w"], "host.hostname": ["w.lan"], "exec.start": ["$base"] } },
  },
  {
    name: "${x.y} refers to a dotted parameter; $x.y is $x followed by .y",
    src: "w { host.hostname = h; path = \"/j/${host.hostname}\"; $host = H; exec.start = $host.hostname; }\n",
    want: { w: { name: ["w"], "host.hostname": ["h"], path: ["/j/h"], "exec.start": ["H.hostname"] } },
  },
  {
    name: "a variable holding a list substitutes as the whole value",
    src: "$ips = 10.0.0.1, 10.0.0.2;\nw { ip4.addr = $ips; }\n",
    want: { w: { name: ["w"], "ip4.addr": ["10.0.0.1", "10.0.0.2"] } },
  },
  {
    name: "backslash escapes: C codes, octal, hex, and a newline continues the string",
    src: 'w { exec.start = "a\\tb\\101\\x42\\\n c"; }\n',
    want: { w: { name: ["w"], "exec.start": ["a\tbAB c"] } },
  },
  {
    name: "comments in the three styles are white space",
    src: "# shell\n// c++\n/* c\n   spanning */ w /* inline */ { persist; # end\n}\n",
    want: { w: { name: ["w"], persist: [] } },
  },
  {
    name: "a numbered section gives the jid and, unless set, the name",
    src: '5 { persist; }\n6 { name = six; host.hostname = "$name"; }\n',
    want: { "5": { jid: ["5"], name: ["5"], persist: [] }, "6": { jid: ["6"], name: ["six"], "host.hostname": ["six"] } },
  },
]) {
  test(c.name, () => {
    const r = resolved(c.src);
    assert.deepEqual(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.params])), c.want);
    for (const v of Object.values(r)) assert.deepEqual(v.errors, []);
  });
}

for (const c of [
  { name: "an unknown variable", src: 'w { path = "$nope/x"; }\n', errors: ['path: variable "nope" not found'] },
  { name: "a variable loop", src: "$a = $b;\n$b = $a;\nw { path = $a; }\n", errors: ["a: variable loop"] },
  { name: "a list substituted inside a string", src: "$ips = a, b;\nw { path = \"/x/$ips\"; }\n", errors: ["path: array cannot be substituted inline"] },
  { name: "redefining the name", src: "w { name = other; }\n", errors: ['cannot redefine parameter "name".'] },
  { name: "a variable named like one of jail(8)'s parameters", src: "w { $persist = 1; }\n", errors: [] },
  { name: "a variable named like a parameter already set", src: "w { persist; $persist = 1; }\n", errors: ['variable "$persist" cannot have the same name as a parameter.'] },
]) {
  test(`the jail is refused for ${c.name}`, () => {
    assert.deepEqual(Object.values(resolved(c.src))[0]?.errors, c.errors);
  });
}

for (const c of [
  { name: "a missing semicolon", src: "w {\n  path = /x\n}\n", error: "t.conf line 3: }: syntax error" },
  { name: "a missing closing brace", src: "w {\n  persist;\n", error: "t.conf: unexpected EOF" },
  { name: "an unterminated string", src: 'w {\n  path = "/x;\n}\n', error: "t.conf line 2: unterminated string" },
  { name: "an unterminated comment", src: "/* w { }\n", error: "t.conf line 1: unterminated comment" },
  { name: "a token out of place", src: "w { path = /x; }\n= x;\n", error: "t.conf line 2: =: syntax error" },
  { name: "a name with no semicolon at the end", src: "w { path = /x; }\n@\n", error: "t.conf: unexpected EOF" },
]) {
  test(`a syntax error is reported with file and line: ${c.name}`, () => {
    const p = parseJailConf(c.src, "t.conf");
    assert.equal(p.ok, false);
    assert.equal(p.ok ? "" : p.errors[0], c.error);
  });
}

test(".include reads the files its glob names, in order, in place", () => {
  const dir = mkdtempSync(join(tmpdir(), "steward-jc-"));
  try {
    mkdirSync(join(dir, "d"));
    writeFileSync(join(dir, "d", "b.conf"), "b { persist; }\n");
    writeFileSync(join(dir, "d", "a.conf"), "a { persist; }\n");
    writeFileSync(join(dir, "d", "a.conf.bak"), "zzz { }\n");
    writeFileSync(join(dir, "main.conf"), `path = /;\n.include "${dir}/d/*.conf";\n`);
    const p = loadJailConf(join(dir, "main.conf"), "main.conf");
    assert.ok(p.ok);
    assert.deepEqual(resolveJails(p.jails).map((j) => [j.key, j.params.map((x) => x.name)]), [
      ["a", ["name", "path", "persist"]],
      ["b", ["name", "path", "persist"]],
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const [a, b, same] of [
  ["persist", "nopersist", true],
  ["allow.mount", "allow.nomount", true],
  ["allow.mount.zfs", "allow.mount.nozfs", true],
  ["mount.devfs", "mount.nodevfs", true],
  ["persist", "exec.persist", false],
  ["allow.mount", "allow.mount.zfs", false],
] as const) {
  test(`equalopts: ${a} and ${b} are ${same ? "" : "not "}the same parameter`, () => assert.equal(equalopts(a, b), same));
}

for (const [jail, wild, m] of [
  ["web", "*", true],
  ["foo.bar", "foo.*", true],
  ["foo.bar.baz", "foo.*", true],
  ["foo", "foo.*", false],
  ["bar.x", "foo.*", false],
] as const) {
  test(`wildcard ${wild} ${m ? "matches" : "does not match"} ${jail}`, () => {
    assert.equal(wildJailName(wild), true);
    assert.equal(wildJailMatch(jail, wild), m);
  });
}
