/**
 * Building upload-pack responses and packs byte by byte for tests (gitprotocol-common(5)
 * pkt-line, gitprotocol-pack(5), gitformat-pack(5)): the framings a server may send and the
 * objects a hostile one may craft. Pure, except `upload` which runs `git upload-pack`.
 */
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { deflateSync } from "node:zlib";

/** pkt encodes one pkt-line: 4 hex digits of length (lower case, or upper), then the payload. */
export function pkt(payload: string | Uint8Array, upper = false): Buffer {
  const b = typeof payload === "string" ? Buffer.from(payload) : Buffer.from(payload);
  const hex = (b.length + 4).toString(16).padStart(4, "0");
  return Buffer.concat([Buffer.from(upper ? hex.toUpperCase() : hex, "latin1"), b]);
}

export const FLUSH = Buffer.from("0000");
export const DELIM = Buffer.from("0001");

/** band wraps bytes in one side-band pkt-line (1 pack data, 2 progress, 3 error). */
export function band(n: 1 | 2 | 3, bytes: string | Uint8Array, upper = false): Buffer {
  return pkt(Buffer.concat([Buffer.from([n]), typeof bytes === "string" ? Buffer.from(bytes) : bytes]), upper);
}

export interface Framing {
  /** Protocol lines before the pack (default: NAK). */
  readonly lines?: readonly string[];
  /** Pack bytes per side-band packet (default 65515, side-band-64k's most). */
  readonly chunk?: number;
  /** Length digits in upper case. */
  readonly upper?: boolean;
  /** Send the pack raw after the lines, without side-band. */
  readonly raw?: boolean;
  /** Packets after the pack data, before the final flush (progress, errors, anything). */
  readonly after?: readonly Buffer[];
  /** Bytes after the final flush. */
  readonly trailing?: Buffer;
}

/** uploadPackResponse frames a pack as upload-pack answers a fetch (git upload-pack's framing by default). */
export function uploadPackResponse(pack: Buffer, framing: Framing = {}): Buffer {
  const upper = framing.upper ?? false;
  const parts = (framing.lines ?? ["NAK\n"]).map((l) => pkt(l, upper));
  if (framing.raw === true) parts.push(pack);
  else {
    const chunk = framing.chunk ?? 65515;
    for (let i = 0; i < pack.length; i += chunk) parts.push(band(1, pack.subarray(i, i + chunk), upper));
    parts.push(...(framing.after ?? []), FLUSH);
  }
  if (framing.trailing !== undefined) parts.push(framing.trailing);
  return Buffer.concat(parts);
}

/** One object of a hand-built pack; `data` is what is deflated (for a delta: its instructions). */
export type PackEntry =
  | { readonly type: "commit" | "tree" | "blob" | "tag"; readonly data: Buffer; readonly size?: number; readonly zlib?: Buffer }
  | { readonly type: "ofs-delta"; readonly base: number; readonly data: Buffer; readonly size?: number; readonly zlib?: Buffer }
  | { readonly type: "ref-delta"; readonly base: string; readonly data: Buffer; readonly size?: number; readonly zlib?: Buffer }
  | { readonly type: "raw"; readonly bytes: Buffer };

const TYPES = { commit: 1, tree: 2, blob: 3, tag: 4, "ofs-delta": 6, "ref-delta": 7 } as const;

export interface BuiltPack {
  readonly pack: Buffer;
  /** Offset of each entry. */
  readonly offsets: readonly number[];
}

/**
 * buildPack writes a version-2 pack of `entries` with a correct trailer. `size` overrides the
 * declared size, `zlib` the compressed bytes; an ofs-delta's `base` is an entry index; `raw`
 * bytes go in as they are. `count` overrides the object count in the header.
 */
export function buildPack(entries: readonly PackEntry[], options: { count?: number; version?: number; trailer?: Buffer } = {}): BuiltPack {
  const head = Buffer.alloc(12);
  head.write("PACK", 0, "latin1");
  head.writeUInt32BE(options.version ?? 2, 4);
  head.writeUInt32BE(options.count ?? entries.filter((e) => e.type !== "raw").length, 8);
  const parts: Buffer[] = [head];
  const offsets: number[] = [];
  let at = 12;
  for (const e of entries) {
    offsets.push(at);
    let bytes: Buffer;
    if (e.type === "raw") bytes = e.bytes;
    else {
      const header = objectHeader(TYPES[e.type], e.size ?? e.data.length);
      const extra = e.type === "ofs-delta" ? ofsDistance(at - (offsets[e.base] as number)) : e.type === "ref-delta" ? Buffer.from(e.base, "hex") : Buffer.alloc(0);
      bytes = Buffer.concat([header, extra, e.zlib ?? deflateSync(e.data)]);
    }
    parts.push(bytes);
    at += bytes.length;
  }
  const body = Buffer.concat(parts);
  return { pack: Buffer.concat([body, options.trailer ?? sha1(body)]), offsets };
}

/** withTrailer replaces a pack's trailer by the SHA-1 of the bytes before it. */
export function withTrailer(packWithoutTrailer: Buffer): Buffer {
  return Buffer.concat([packWithoutTrailer, sha1(packWithoutTrailer)]);
}

export function sha1(bytes: Buffer): Buffer {
  return createHash("sha1").update(bytes).digest();
}

/** objectHeader encodes type and size (gitformat-pack(5): 3 type bits, size in 4 + 7n bits). */
export function objectHeader(type: number, size: number): Buffer {
  const out: number[] = [];
  let c = (type << 4) | (size & 15);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    out.push(c | 0x80);
    c = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  out.push(c);
  return Buffer.from(out);
}

/** ofsDistance encodes an OFS_DELTA's distance back to its base. */
export function ofsDistance(n: number): Buffer {
  const out = [n & 0x7f];
  let rest = Math.floor(n / 128);
  while (rest > 0) {
    rest -= 1;
    out.unshift(0x80 | (rest & 0x7f));
    rest = Math.floor(rest / 128);
  }
  return Buffer.from(out);
}

/** deltaSize encodes a delta header size (7 bits per byte, least significant first). */
export function deltaSize(n: number): Buffer {
  const out: number[] = [];
  do {
    let c = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) c |= 0x80;
    out.push(c);
  } while (n > 0);
  return Buffer.from(out);
}

/** copyOp encodes "copy `size` bytes at `offset` of the base" with every byte present. */
export function copyOp(offset: number, size: number): Buffer {
  return Buffer.from([0xff, offset & 0xff, (offset >> 8) & 0xff, (offset >> 16) & 0xff, (offset >>> 24) & 0xff, size & 0xff, (size >> 8) & 0xff, (size >> 16) & 0xff]);
}

/** delta builds a delta's instruction stream: header sizes, then the instructions. */
export function delta(baseSize: number, resultSize: number, ...ops: Buffer[]): Buffer {
  return Buffer.concat([deltaSize(baseSize), deltaSize(resultSize), ...ops]);
}

/**
 * upload answers a fetch of `want` (having `have`) with `git upload-pack --stateless-rpc` on
 * the bare repository `gitDir`, asking what isomorphic-git 1.44 asks in its fetch: the response
 * exactly as a server sends it.
 */
export function upload(gitDir: string, want: string, have?: string): Buffer {
  const request = Buffer.concat([
    pkt(`want ${want} multi_ack_detailed no-done side-band-64k ofs-delta agent=git/isomorphic-git@1.44.17\n`),
    FLUSH,
    ...(have === undefined ? [] : [pkt(`have ${have}\n`)]),
    pkt("done\n"),
  ]);
  return execFileSync("git", ["upload-pack", "--stateless-rpc", gitDir], { input: request, maxBuffer: 512 * 1024 * 1024 });
}

/**
 * zlibStored wraps `data` (under 64 KiB) in a zlib stream of one stored block (RFC 1950/1951),
 * built by hand: a zlib context per object leaves native memory that only a garbage
 * collection frees, and hundreds of thousands of them took gigabytes.
 */
export function zlibStored(data: Buffer): Buffer {
  const out = Buffer.alloc(2 + 5 + data.length + 4);
  out[0] = 0x78;
  out[1] = 0x01;
  out[2] = 0x01; // BFINAL, stored
  out.writeUInt16LE(data.length, 3);
  out.writeUInt16LE(~data.length & 0xffff, 5);
  data.copy(out, 7);
  let a = 1;
  let b = 0;
  for (const byte of data) {
    a = (a + byte) % 65521;
    b = (b + a) % 65521;
  }
  out.writeUInt32BE(((b << 16) | a) >>> 0, 7 + data.length);
  return out;
}

/** The empty tree's object id. */
export const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/**
 * tinyBlobPack is what a hostile server sends to make indexing expensive: a commit (the tip
 * to advertise) with the empty tree, the empty tree, and `blobs` distinct tiny blobs nobody
 * refers to — cheap on the wire, costly for isomorphic-git to index.
 */
export function tinyBlobPack(blobs: number, seconds = Math.floor(Date.now() / 1000)): { tip: string; pack: Buffer } {
  const commit = Buffer.from(`tree ${EMPTY_TREE}\nauthor Mallory <m@x> ${seconds} +0000\ncommitter Mallory <m@x> ${seconds} +0000\n\nmany objects\n`);
  const entries: PackEntry[] = [
    { type: "commit", data: commit, zlib: zlibStored(commit) },
    { type: "tree", data: Buffer.alloc(0), zlib: zlibStored(Buffer.alloc(0)) },
  ];
  for (let i = 0; i < blobs; i++) {
    const data = Buffer.from(`blob ${i}\n`);
    entries.push({ type: "blob", data, zlib: zlibStored(data) });
  }
  const tip = createHash("sha1").update(`commit ${commit.length}\0`).update(commit).digest("hex");
  return { tip, pack: buildPack(entries).pack };
}

/** A pack of `n` blobs of `size` bytes (zeros, or random bytes that do not compress) plus `tiny` tiny ones. */
export function bigBlobPack(n: number, size: number, random: boolean, tiny = 0): { tip: string; pack: Buffer } {
  const seconds = Math.floor(Date.now() / 1000);
  const commit = Buffer.from(`tree ${EMPTY_TREE}\nauthor Mallory <m@x> ${seconds} +0000\ncommitter Mallory <m@x> ${seconds} +0000\n\nbig\n`);
  const entries: PackEntry[] = [{ type: "commit", data: commit }, { type: "tree", data: Buffer.alloc(0) }];
  for (let i = 0; i < n; i++) {
    const data = random ? randomBytes(size) : Buffer.alloc(size);
    data.writeUInt32BE(i, 0);
    entries.push({ type: "blob", data });
  }
  for (let i = 0; i < tiny; i++) {
    const data = Buffer.from(`tiny ${i}\n`);
    entries.push({ type: "blob", data, zlib: zlibStored(data) });
  }
  return { tip: createHash("sha1").update(`commit ${commit.length}\0`).update(commit).digest("hex"), pack: buildPack(entries).pack };
}
