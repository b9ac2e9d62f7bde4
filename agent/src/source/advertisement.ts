/**
 * The ref advertisement of git-upload-pack (gitprotocol-pack(5), "Reference Discovery", protocol
 * v0) reduced to the one branch Steward fetches. Pure: bytes in, bytes or a finding out.
 *
 * isomorphic-git's fetch resolves the remote's HEAD after it has received the pack, even with
 * `singleBranch` and an explicit `remoteRef`, and fails ("Could not find HEAD") when the server
 * advertises no HEAD. `git init --bare` on Debian points HEAD at `master`, so a server whose
 * only branch is `main` advertises none, and every fetch of `main` failed. Steward never
 * depends on the remote's HEAD: the http seam hands isomorphic-git the advertisement a server
 * whose HEAD is the tracked branch would send (that branch, HEAD at the same commit,
 * `symref=HEAD:refs/heads/<branch>`, the server's other capabilities unchanged), and says so
 * plainly when the branch is not there, naming the branches that are.
 */

/** What an advertisement says about the tracked branch. */
export type BranchAdvertisement =
  /** The branch is there; `body` is the advertisement to hand isomorphic-git. */
  | { readonly kind: "branch"; readonly oid: string; readonly body: Buffer }
  /** The repository has no refs at all (a fresh bare repository); `body` is unchanged. */
  | { readonly kind: "empty"; readonly body: Buffer }
  /** The branch is not there; `branches` are the branch names the remote has, sorted. */
  | { readonly kind: "missing"; readonly branches: readonly string[] }
  /** The server sent an `ERR` line instead of refs. */
  | { readonly kind: "error"; readonly message: string }
  | { readonly kind: "malformed"; readonly reason: string };

const OID = /^[0-9a-f]{40}$/;
const NO_REFS = "capabilities^{}";
const SERVICE = /^# service=/;

/**
 * narrowAdvertisement reads a protocol-v0 ref advertisement (with or without the smart-HTTP
 * `# service=` preamble, which is kept) and returns it reduced to `refs/heads/<branch>`, or why
 * it cannot be: the repository is empty, lacks the branch, sent an ERR line, or the bytes are
 * not an advertisement (a protocol v2 answer counts: Steward does not ask for v2). Never throws.
 */
export function narrowAdvertisement(body: Uint8Array, branch: string): BranchAdvertisement {
  const lines = readPktLines(Buffer.from(body.buffer, body.byteOffset, body.byteLength));
  if (typeof lines === "string") return { kind: "malformed", reason: lines };
  let at = 0;
  const preamble: Buffer[] = [];
  const first = lines[0];
  if (first !== undefined && first !== null && SERVICE.test(first.toString("latin1"))) {
    preamble.push(pktLine(first), FLUSH);
    at = 1;
    while (lines[at] === null) at++;
  }
  const refs = new Map<string, string>();
  let capabilities: string[] | undefined;
  for (; at < lines.length; at++) {
    const line = lines[at];
    if (line === null || line === undefined) break;
    const text = line.toString("utf8").replace(/\n$/, "");
    if (text.startsWith("ERR ")) return { kind: "error", message: printable(text.slice(4, 4 + 200)) };
    if (capabilities === undefined && /^version [0-9]+$/.test(text)) {
      if (text !== "version 1") return { kind: "malformed", reason: `the server answered with protocol ${text}, which was not asked for` };
      continue;
    }
    let refPart = text;
    if (capabilities === undefined) {
      const nul = text.indexOf("\u0000");
      if (nul === -1) return { kind: "malformed", reason: "the first ref line carries no capabilities" };
      refPart = text.slice(0, nul);
      capabilities = text.slice(nul + 1).split(" ").filter((c) => c !== "");
    }
    if (refPart.startsWith("shallow ")) continue;
    const space = refPart.indexOf(" ");
    const oid = refPart.slice(0, space);
    const name = refPart.slice(space + 1);
    if (space !== 40 || !OID.test(oid) || name === "") return { kind: "malformed", reason: "a ref line is not `<oid> <name>`" };
    if (name === NO_REFS && refs.size === 0) continue;
    refs.set(name, oid);
  }
  // Before git 2.41, upload-pack answers for a repository without refs with a flush alone.
  if (refs.size === 0) return { kind: "empty", body: Buffer.from(body) };
  if (capabilities === undefined) return { kind: "malformed", reason: "no ref advertisement" };
  const full = `refs/heads/${branch}`;
  const oid = refs.get(full);
  if (oid === undefined) {
    const branches = [...refs.keys()].filter((n) => n.startsWith("refs/heads/")).map((n) => printable(n.slice("refs/heads/".length))).sort();
    return { kind: "missing", branches };
  }
  const caps = [...capabilities.filter((c) => !c.startsWith("symref=")), `symref=HEAD:${full}`];
  const out = Buffer.concat([
    ...preamble,
    pktLine(Buffer.from(`${oid} HEAD\u0000${caps.join(" ")}\n`, "utf8")),
    pktLine(Buffer.from(`${oid} ${full}\n`, "utf8")),
    FLUSH,
  ]);
  return { kind: "branch", oid, body: out };
}

const FLUSH = Buffer.from("0000", "latin1");

/** The server's words reach a terminal: control characters are shown escaped, never sent. */
function printable(text: string): string {
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u001f\u007f-\u009f]/.test(text) ? JSON.stringify(text) : text;
}

/** Every pkt-line of `buf`: its payload, or null for a flush. A string says why it does not parse. */
function readPktLines(buf: Buffer): (Buffer | null)[] | string {
  const out: (Buffer | null)[] = [];
  let at = 0;
  while (at < buf.length) {
    if (buf.length - at < 4) return "the advertisement ends inside a pkt-line length";
    const hex = buf.subarray(at, at + 4).toString("latin1");
    if (!/^[0-9a-fA-F]{4}$/.test(hex)) return "the advertisement is not pkt-line data";
    const len = parseInt(hex, 16);
    if (len === 0) {
      out.push(null);
      at += 4;
      continue;
    }
    if (len < 4) return "the advertisement holds a pkt-line of protocol v2";
    if (buf.length - at < len) return "the advertisement ends inside a pkt-line";
    out.push(buf.subarray(at + 4, at + len));
    at += len;
  }
  return out;
}

function pktLine(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from((payload.length + 4).toString(16).padStart(4, "0"), "latin1"), payload]);
}
