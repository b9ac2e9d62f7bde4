import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { splitSignedCommit } from "../../agent/src/source/payload.js";
import { WorkRepo, makeKey, makeTempDir, removeDir, writeAllowedSigners, type SshKey } from "../helpers/keys.js";

let dir: string;
let key: SshKey;
let work: WorkRepo;

before(() => {
  dir = makeTempDir();
  key = makeKey(join(dir, "keys"), "admin");
  work = WorkRepo.create(join(dir, "work"));
});
after(() => removeDir(dir));

/** git's own split (docs/decisions.md, "The signed payload, rebuilt with git's rule"): `git cat-file commit` through awk. */
function referenceSplit(oid: string): { raw: Buffer; payload: Buffer; signature: Buffer } {
  const out = join(dir, oid);
  execFileSync("sh", ["-c", `git cat-file commit ${oid} > ${out}.raw && awk 'BEGIN{h=1} h&&/^$/{h=0} h&&/^gpgsig /{s=1; sub(/^gpgsig /,""); print > "${out}.sig"; next} h&&s&&/^ /{sub(/^ /,""); print > "${out}.sig"; next} {s=0; print > "${out}.payload"}' ${out}.raw`], { cwd: work.dir });
  return { raw: readFileSync(`${out}.raw`), payload: readFileSync(`${out}.payload`), signature: readFileSync(`${out}.sig`) };
}

function sshVerify(payload: Uint8Array, signature: string, signers: string): number {
  const sig = join(dir, "check.sig");
  writeFileSync(sig, signature);
  try {
    execFileSync("ssh-keygen", ["-Y", "verify", "-f", signers, "-I", "admin@cluster", "-n", "git", "-s", sig], { input: payload, stdio: ["pipe", "ignore", "ignore"] });
    return 0;
  } catch (e) {
    return (e as { status: number }).status;
  }
}

test("the payload and signature of a commit signed by git equal git's own split", () => {
  work.write("a.txt", "one\n");
  const oid = work.commit("signed commit\n\nwith a body", { signer: key });
  const ref = referenceSplit(oid);
  const split = splitSignedCommit(ref.raw);
  assert.equal(split.kind, "signed");
  if (split.kind !== "signed") return;
  assert.deepEqual(Buffer.from(split.payload), ref.payload);
  assert.equal(split.signature, ref.signature.toString("utf8"));
});

test("ssh-keygen verifies the extracted payload, and refuses it once altered", () => {
  const oid = work.commit("another", { signer: key });
  const split = splitSignedCommit(Buffer.from(execFileSync("git", ["cat-file", "commit", oid], { cwd: work.dir })));
  assert.equal(split.kind, "signed");
  if (split.kind !== "signed") return;
  const signers = writeAllowedSigners(join(dir, "allowed_signers"), [{ principal: "admin@cluster", key }]);
  assert.equal(sshVerify(split.payload, split.signature, signers), 0);
  const altered = Buffer.from(split.payload);
  altered.writeUInt8(altered.readUInt8(altered.length - 2) ^ 1, altered.length - 2);
  assert.equal(sshVerify(altered, split.signature, signers), 255);
});

test("a gpgsig line in the message is content, not a header", () => {
  const oid = work.commit("subject\n\ngpgsig -----BEGIN SSH SIGNATURE-----\n not a header", { signer: key });
  const ref = referenceSplit(oid);
  const split = splitSignedCommit(ref.raw);
  assert.equal(split.kind, "signed");
  if (split.kind === "signed") {
    assert.deepEqual(Buffer.from(split.payload), ref.payload);
    assert.ok(Buffer.from(split.payload).toString().includes("gpgsig -----BEGIN"));
  }
});

test("an unsigned commit has no signature", () => {
  const oid = work.commit("unsigned");
  assert.deepEqual(splitSignedCommit(execFileSync("git", ["cat-file", "commit", oid], { cwd: work.dir })), { kind: "unsigned" });
});

const SIG = "gpgsig -----BEGIN SSH SIGNATURE-----\n U1NIU0lH\n -----END SSH SIGNATURE-----\n";
const HEAD = "tree 7dd87f9b81b736724b2c9d85c4fa3017b25d1d95\nauthor A <a@c> 1700000000 +0000\ncommitter A <a@c> 1700000000 +0000\n";

for (const c of [
  {
    name: "keeps headers that follow the signature in the payload",
    raw: `${HEAD}${SIG}encoding ISO-8859-1\n\nmessage\n`,
    want: { kind: "signed", payload: `${HEAD}encoding ISO-8859-1\n\nmessage\n`, signature: "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n" },
  },
  { name: "keeps a gpgsig-sha256 header (the other hash's signature) in the payload", raw: `${HEAD}gpgsig-sha256 x\n\nm\n`, want: { kind: "unsigned" } },
  { name: "refuses two gpgsig headers", raw: `${HEAD}${SIG}${SIG}\nm\n`, want: { kind: "malformed" } },
  { name: "refuses a signature that is not SSH armor", raw: `${HEAD}gpgsig -----BEGIN PGP SIGNATURE-----\n x\n -----END PGP SIGNATURE-----\n\nm\n`, want: { kind: "malformed" } },
  { name: "handles a commit without a message", raw: `${HEAD}${SIG}`, want: { kind: "signed", payload: HEAD } },
]) {
  test(c.name, () => {
    const split = splitSignedCommit(Buffer.from(c.raw));
    assert.equal(split.kind, c.want.kind);
    if (split.kind === "signed" && "payload" in c.want) assert.equal(Buffer.from(split.payload).toString(), c.want.payload);
    if (split.kind === "signed" && "signature" in c.want) assert.equal(split.signature, c.want.signature);
  });
}
