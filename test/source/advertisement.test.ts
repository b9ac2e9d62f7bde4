import assert from "node:assert/strict";
import { test } from "node:test";
import { narrowAdvertisement } from "../../agent/src/source/advertisement.js";

const A = "a".repeat(40);
const B = "b".repeat(40);
const CAPS = "multi_ack thin-pack side-band side-band-64k ofs-delta shallow no-progress include-tag multi_ack_detailed symref=HEAD:refs/heads/master agent=git/2.39.5";

function pkt(text: string): string {
  return (Buffer.byteLength(text) + 4).toString(16).padStart(4, "0") + text;
}
function advert(lines: readonly string[], service = true): Buffer {
  const body = lines.map((l, i) => pkt(i === 0 ? l.replace(" CAPS", `\u0000${CAPS}`) : l)).join("");
  return Buffer.from(`${service ? `${pkt("# service=git-upload-pack\n")}0000` : ""}${body}0000`, "utf8");
}

for (const c of [
  { name: "keeps the branch, HEAD at it, and the capabilities with HEAD pointing at it (http)", service: true },
  { name: "keeps the branch, HEAD at it, and the capabilities with HEAD pointing at it (bridge)", service: false },
]) {
  test(c.name, () => {
    const ad = narrowAdvertisement(advert([`${B} refs/heads/dev CAPS\n`, `${A} refs/heads/main\n`, `${B} refs/tags/v1\n`], c.service), "main");
    assert.equal(ad.kind, "branch");
    if (ad.kind !== "branch") return;
    assert.equal(ad.oid, A);
    const caps = CAPS.replace("symref=HEAD:refs/heads/master ", "") + " symref=HEAD:refs/heads/main";
    assert.equal(ad.body.toString("utf8"), `${c.service ? `${pkt("# service=git-upload-pack\n")}0000` : ""}${pkt(`${A} HEAD\u0000${caps}\n`)}${pkt(`${A} refs/heads/main\n`)}0000`);
  });
}

for (const c of [
  { name: "a repository without the branch names the branches it has", lines: [`${B} HEAD CAPS\n`, `${B} refs/heads/master\n`, `${A} refs/heads/dev\n`, `${A} refs/tags/main\n`], want: { kind: "missing", branches: ["dev", "master"] } },
  { name: "branch names with control characters are shown escaped", lines: [`${B} refs/heads/\u001b[2Jx CAPS\n`], want: { kind: "missing", branches: [JSON.stringify("\u001b[2Jx")] } },
  { name: "a repository with only tags has no branches", lines: [`${B} refs/tags/v1 CAPS\n`], want: { kind: "missing", branches: [] } },
  { name: "an ERR line is the server's message", lines: ["ERR access denied\n"], want: { kind: "error", message: "access denied" } },
  { name: "a ref line without an oid does not parse", lines: [`xyz refs/heads/main CAPS\n`], want: { kind: "malformed" } },
  { name: "a first line without capabilities does not parse", lines: [`${A} refs/heads/main\n`], want: { kind: "malformed" } },
  { name: "a protocol v2 answer does not parse", lines: ["version 2\n"], want: { kind: "malformed" } },
]) {
  test(c.name, () => {
    const ad = narrowAdvertisement(advert(c.lines), "main");
    assert.equal(ad.kind, c.want.kind);
    if ("branches" in c.want && ad.kind === "missing") assert.deepEqual(ad.branches, c.want.branches);
    if ("message" in c.want && ad.kind === "error") assert.equal(ad.message, c.want.message);
  });
}

for (const [name, body] of [
  ["an empty repository (capabilities^{}, git 2.41 and later) is passed on unchanged", advert([`${"0".repeat(40)} capabilities^{} CAPS\n`])],
  ["an empty repository (a flush alone, before git 2.41) is passed on unchanged", advert([])],
] as const) {
  test(name, () => {
    const ad = narrowAdvertisement(body, "main");
    assert.equal(ad.kind, "empty");
    assert.ok(ad.kind === "empty" && ad.body.equals(body));
  });
}

test("bytes that are not pkt-lines do not parse", () => {
  assert.equal(narrowAdvertisement(Buffer.from("<html>not git</html>"), "main").kind, "malformed");
  assert.equal(narrowAdvertisement(Buffer.from("00"), "main").kind, "malformed");
});
