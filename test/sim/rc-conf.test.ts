/** rc.conf(5) reading and sysrc-style editing: table-driven. */
import assert from "node:assert/strict";
import { test } from "node:test";
import { deleteFromText, describeFromText, evalRcConf, isYes, setInText } from "../../sim/rc-conf.js";

for (const c of [
  { name: "plain, double- and single-quoted values", text: "a=1\nb=\"two words\"\nc='$a'\n", want: { a: "1", b: "two words", c: "$a" } },
  { name: "several assignments on a line and after a semicolon", text: "a=1 b=2; c=3\n", want: { a: "1", b: "2", c: "3" } },
  { name: "earlier variables substitute, with ${x}, ${x:-default} and ${x-default}", text: 'a=x\nb="$a-${a}"\nc=${nope:-d}\nd=${e-f}\n', want: { a: "x", b: "x-x", c: "d", d: "f" } },
  { name: ": ${x:=default} sets a default only when unset", text: 'a=YES\n: ${a:="NO"}\n: ${b:="NO"}\n', want: { a: "YES", b: "NO" } },
  { name: "comments, blank lines and continued lines", text: "# c\n\na=1 # tail\nb=\"x\\\ny\"\n", want: { a: "1", b: "xy" } },
  { name: "commands, functions and substitutions are skipped", text: 'f() {\n  z=1\n}\nexport a\nb=$(date)\nc=`date`\nd=ok\n', want: { z: "1", d: "ok" } },
]) {
  test(`reading rc.conf: ${c.name}`, () => {
    const vars = new Map<string, string>();
    evalRcConf(c.text, vars);
    assert.deepEqual(Object.fromEntries(vars), c.want);
  });
}

for (const c of [
  { name: "a double-quoted value is replaced in place", text: 'a="1"\n', want: 'a="2"\n' },
  { name: "the last assignment is the one changed", text: 'a="1"\nb="x"\na="3"\n', want: 'a="1"\nb="x"\na="2"\n' },
  { name: "single quotes stay single", text: "a='1' # c\n", want: "a='2' # c\n" },
  { name: "a bare word gets double quotes, what follows is kept", text: "a=1 ; b=2\n", want: 'a="2" ; b=2\n' },
  { name: "an empty value gets double quotes", text: "a=\n", want: 'a="2"\n' },
  { name: "a value starting with $ is left alone and a new line appended", text: "a=$b\n", want: 'a=$b\na="2"\n' },
  { name: "a variable not there is appended, after a missing final newline", text: 'b="x"', want: 'b="x"\na="2"\n' },
  { name: "leading white space before the name still counts", text: '  a="1"\n', want: '  a="2"\n' },
]) {
  test(`sysrc editing: ${c.name}`, () => assert.equal(setInText(c.text, "a", "2"), c.want));
}

test("sysrc -x removes every assignment, and says when there was none", () => {
  assert.equal(deleteFromText('a="1"\nb="2"\na="3"\n', "a"), 'b="2"\n');
  assert.equal(deleteFromText('b="2"\n', "a"), undefined);
});

test("sysrc -d joins the comment after the assignment with continuation comment lines", () => {
  assert.equal(describeFromText('x="NO"\t# First part\n\t\t# second part.\ny=""\n', "x"), "First part second part.");
  assert.equal(describeFromText('y=""\n', "x"), undefined);
});

for (const [v, want] of [["YES", true], ["yes", true], ["On", true], ["1", true], ["NO", false], ["off", false], ["0", false], ["maybe", undefined], ["", undefined]] as const) {
  test(`checkyesno reads ${JSON.stringify(v)} as ${String(want)}`, () => assert.equal(isYes(v), want));
}
