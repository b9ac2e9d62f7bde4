import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { after, before, test } from "node:test";
import { checkAllowedSigners } from "../../agent/src/source/trust.js";
import { allowedSigners, makeKey, makeTempDir, removeDir } from "../helpers/keys.js";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFtlAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

for (const c of [
  { name: "counts plain entries and skips comments and blank lines", text: `# admins\n\nadmin@c ${KEY} laptop\n`, entries: 1, problems: 0 },
  { name: "accepts options, quoted and comma-separated", text: `admin@c,ops@c namespaces="git,file",valid-after="20250101" ${KEY}\n`, entries: 1, problems: 0 },
  { name: "accepts cert-authority", text: `*@c cert-authority ${KEY}\n`, entries: 1, problems: 0 },
  { name: "reports an unknown option", text: `admin@c nosuchoption ${KEY}\n`, entries: 0, problems: 1 },
  { name: "reports a line without a key", text: "admin@c ssh-ed25519\n", entries: 0, problems: 1 },
  { name: "reports a key that is not base64", text: "admin@c ssh-ed25519 not*base64\n", entries: 0, problems: 1 },
  { name: "reports an unbalanced quote", text: `admin@c namespaces="git ${KEY}\n`, entries: 0, problems: 1 },
  { name: "finds nobody in an empty file", text: "", entries: 0, problems: 0 },
]) {
  test(c.name, () => {
    const r = checkAllowedSigners(c.text);
    assert.equal(r.entries, c.entries);
    assert.equal(r.problems.length, c.problems);
  });
}

let dir: string;
before(() => (dir = makeTempDir()));
after(() => removeDir(dir));

test("lists each entry with its line, principals, key type and the fingerprint ssh-keygen -l prints", () => {
  const admin = makeKey(dir, "admin");
  const ops = makeKey(dir, "ops", "ecdsa");
  const r = checkAllowedSigners(`# admins\n${allowedSigners([{ principal: "admin@c", key: admin }])}"ops@c,*@ops" ${ops.publicLine}\n`);
  const fp = (file: string): string => execFileSync("ssh-keygen", ["-lf", file], { encoding: "utf8" }).split(" ")[1] as string;
  assert.deepEqual(r.signers, [
    { line: 2, principals: "admin@c", type: "ssh-ed25519", fingerprint: fp(admin.public) },
    { line: 3, principals: "ops@c,*@ops", type: "ecdsa-sha2-nistp256", fingerprint: fp(ops.public) },
  ]);
});
