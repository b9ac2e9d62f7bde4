/**
 * What an SSH commit signature covers. Pure: raw commit bytes in, payload and signature out.
 *
 * isomorphic-git's readCommit().payload cuts after a PGP end marker and is garbage for SSH
 * signatures (docs/decisions.md, "The signed payload, rebuilt with git's rule"), so the payload is rebuilt here with git's own rule
 * (parse_signed_commit): in the header block only, drop the `gpgsig ` line and its
 * continuation lines (one leading space); keep every other byte.
 */

/** A commit split into what was signed and the armored signature (ending in "\n"). */
export type SignedCommit =
  | { readonly kind: "unsigned" }
  | { readonly kind: "signed"; readonly payload: Uint8Array; readonly signature: string }
  /** More than one gpgsig header, or a signature that is not SSH armor. */
  | { readonly kind: "malformed"; readonly reason: string };

const NL = 0x0a;
const SPACE = 0x20;
const GPGSIG = new TextEncoder().encode("gpgsig ");
const SSH_ARMOR_BEGIN = "-----BEGIN SSH SIGNATURE-----\n";
const SSH_ARMOR_END = "-----END SSH SIGNATURE-----\n";

/**
 * splitSignedCommit separates a raw commit object (the bytes git hashes, without the
 * `commit <size>\0` prefix) into the signed payload and the signature. Returns `unsigned` when
 * the header block has no `gpgsig` header, `malformed` when it has several or the signature is
 * not an SSH signature. A `gpgsig` line in the message is content, not a header.
 * (`gpgsig-sha256` belongs to the other hash algorithm and stays in the payload, as in git.)
 */
export function splitSignedCommit(raw: Uint8Array): SignedCommit {
  const headerEnd = indexOfBlankLine(raw);
  const payload: Uint8Array[] = [];
  const signature: Uint8Array[] = [];
  let headers = 0;
  let inSignature = false;
  let pos = 0;
  while (pos < headerEnd) {
    const nl = raw.indexOf(NL, pos);
    const end = nl === -1 || nl >= headerEnd ? headerEnd : nl + 1;
    const line = raw.subarray(pos, end);
    if (startsWith(line, GPGSIG)) {
      headers += 1;
      inSignature = true;
      signature.push(line.subarray(GPGSIG.length));
    } else if (inSignature && line[0] === SPACE) {
      signature.push(line.subarray(1));
    } else {
      inSignature = false;
      payload.push(line);
    }
    pos = end;
  }
  if (headers === 0) return { kind: "unsigned" };
  if (headers > 1) return { kind: "malformed", reason: "more than one gpgsig header" };
  payload.push(raw.subarray(headerEnd));
  let armor = new TextDecoder("utf-8", { fatal: false }).decode(concat(signature));
  if (!armor.endsWith("\n")) armor += "\n";
  if (!armor.startsWith(SSH_ARMOR_BEGIN) || !armor.endsWith(SSH_ARMOR_END)) {
    return { kind: "malformed", reason: "the signature is not an SSH signature" };
  }
  return { kind: "signed", payload: concat(payload), signature: armor };
}

/** Offset just past the header block: the index of the "\n" that forms the empty line, or the end. */
function indexOfBlankLine(raw: Uint8Array): number {
  if (raw[0] === NL) return 0;
  for (let i = raw.indexOf(NL); i !== -1 && i + 1 < raw.length; i = raw.indexOf(NL, i + 1)) {
    if (raw[i + 1] === NL) return i + 1;
  }
  return raw.length;
}

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** What the chain verification needs from a commit's header. */
export interface CommitHeader {
  readonly tree: string;
  /** In order: the first is the first parent. */
  readonly parents: readonly string[];
  /** The committer date, Unix seconds. */
  readonly committed: number;
}

/**
 * parseCommitHeader reads `tree`, every `parent` and the committer date from a raw commit
 * object (gitformat-commit: header lines up to the first empty line; the committer line ends
 * with `<seconds> <zone>`). Returns undefined for anything that is not such a header, so the
 * caller can fall back to isomorphic-git's own reading and its errors.
 */
export function parseCommitHeader(raw: Uint8Array): CommitHeader | undefined {
  const end = indexOfBlankLine(raw);
  const text = new TextDecoder("latin1").decode(raw.subarray(0, end));
  let tree: string | undefined;
  const parents: string[] = [];
  let committed: number | undefined;
  for (const line of text.split("\n")) {
    if (line.startsWith("tree ")) tree = line.slice(5);
    else if (line.startsWith("parent ")) parents.push(line.slice(7));
    else if (line.startsWith("committer ")) {
      const m = / (\d{1,15}) [+-]\d{4}$/.exec(line);
      if (m === null) return undefined;
      committed = Number(m[1]);
    }
  }
  const oid = /^[0-9a-f]{40}$/;
  if (tree === undefined || !oid.test(tree) || committed === undefined || !parents.every((p) => oid.test(p))) return undefined;
  return { tree, parents, committed };
}
