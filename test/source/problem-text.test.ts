import assert from "node:assert/strict";
import { test } from "node:test";
import type { SourceProblem } from "../../agent/src/source/choose.js";
import { describeProblem } from "../../agent/src/source/problem-text.js";

const problem = (code: SourceProblem["code"], data: Record<string, unknown>, message = "m"): SourceProblem => ({ code, message, data, retry: "stalled" });
const C = "0123456789abcdef0123456789abcdef01234567";
const ADMIN = { line: 1, principals: "admin@c", type: "ssh-ed25519", fingerprint: "SHA256:admin" };

for (const c of [
  {
    name: "a repo trust file's bad lines, under the file and commit",
    p: problem("SOURCE_TRUST_INVALID", { origin: C, file: "trust/allowed_signers", problems: [{ line: 2, message: "unknown key type" }, { line: 5, message: "empty principal" }] }),
    want: ["in trust/allowed_signers at commit 0123456789ab:", "  line 2: unknown key type", "  line 5: empty principal"],
  },
  {
    name: "the bootstrap trust file's bad lines, under its path",
    p: problem("SOURCE_TRUST_INVALID", { origin: "bootstrap", file: "/etc/steward/allowed_signers", problems: [{ line: 3, message: "unbalanced quotes" }] }),
    want: ["in the bootstrap trust file /etc/steward/allowed_signers:", "  line 3: unbalanced quotes"],
  },
  {
    name: "a trust file that trusts nobody says it in its message alone",
    p: problem("SOURCE_TRUST_INVALID", { origin: "bootstrap", file: "/etc/a" }),
    want: [],
  },
  {
    name: "an untrusted signature: the signing key and the keys the trust file lists",
    p: problem("SOURCE_UNTRUSTED", { trust: C, trustFile: "trust/allowed_signers", signer: { type: "ssh-ed25519", fingerprint: "SHA256:stranger" }, trusted: [ADMIN, { ...ADMIN, line: 4, principals: "ops@c,*@ops" }], trustedCount: 12 }),
    want: ["signed with: ssh-ed25519 SHA256:stranger", "trust/allowed_signers at commit 0123456789ab lists:", "  admin@c      ssh-ed25519 SHA256:admin  (line 1)", "  ops@c,*@ops  ssh-ed25519 SHA256:admin  (line 4)", "  and 10 more"],
  },
  {
    name: "the signing key is not repeated when the message names it",
    p: problem("SOURCE_BAD_SIGNATURE", { trust: "bootstrap", trustFile: "/etc/a", signer: { type: "ssh-ed25519", fingerprint: "SHA256:x" }, trusted: [ADMIN] }, "commit c (signed with ssh-ed25519 SHA256:x): bad"),
    want: ["the bootstrap trust file /etc/a lists:", "  admin@c  ssh-ed25519 SHA256:admin  (line 1)"],
  },
  {
    name: "a signature whose key cannot be read says so",
    p: problem("SOURCE_BAD_SIGNATURE", { trust: "bootstrap", trustFile: "/etc/a", signer: null, trusted: [] }),
    want: ["signed with: a key the signature does not name readably", "the bootstrap trust file /etc/a lists no key"],
  },
  {
    name: "an ssh failure shows ssh's own line",
    p: problem("SOURCE_HOST_KEY", { ssh: "Host key for h has changed and you have requested strict checking." }),
    want: ["ssh: Host key for h has changed and you have requested strict checking."],
  },
  {
    name: "data of an unexpected shape is left out, never thrown on",
    p: problem("SOURCE_TRUST_INVALID", { problems: "nope", origin: 3 }),
    want: [],
  },
]) {
  test(c.name, () => assert.deepEqual(describeProblem(c.p), c.want));
}
