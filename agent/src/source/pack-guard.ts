/**
 * Inspecting an upload-pack response before isomorphic-git sees it. Pure (zlib and SHA-1 are
 * arithmetic).
 *
 * isomorphic-git inflates every object of a pack into memory to index it, and a pack is tiny
 * next to what it costs to index: a 1 GiB blob of zeros travels as 1 MiB, 500,000 tiny blobs
 * as 7 MB. A hostile server or mirror could exhaust a Raspberry Pi's memory before a single
 * signature is checked. So the whole response is read first (it is capped in bytes already),
 * parsed here exactly as isomorphic-git 1.44 parses it, every object is inflated with a hard
 * output limit, and a response that is too large, or that does not parse to its last byte, is
 * refused. The caller hands isomorphic-git the very bytes inspected here.
 *
 * What isomorphic-git accepts, and what this module accepts of it (a subset: anything
 * isomorphic-git would read differently from a plain reading, or not at all, is refused):
 *
 * Framing (gitprotocol-common(5) pkt-line, gitprotocol-pack(5) "Packfile Data"). The whole
 * body is pkt-lines: 4 hex digits of length, upper or lower case (isomorphic-git matches
 * /^[0-9a-fA-F]{4}$/, so "0x1f", " 1f ", "+1ff" are errors), 0000 flush and 0001 delim are
 * skipped wherever they are (they do not end the response: pkt-lines after the last flush still
 * count), 0002 and 0003 are errors, and the body must end on a pkt-line boundary. isomorphic-git
 * always demultiplexes side-band (it asks for side-band-64k and has no other reader): a
 * payload starting with byte 1 is pack data wherever it appears, 2 is progress, 3 is a fatal
 * error, anything else is a protocol line. A pack sent without side-band fails in
 * isomorphic-git ("PACK" is not a length) and is refused here.
 *
 * Protocol lines (gitprotocol-pack(5) "Packfile Negotiation"): isomorphic-git stops reading
 * them at the first line that is not `shallow`, `unshallow` or `ACK <oid> <status>`, but keeps
 * collecting later ones while it already uses the result, so a `shallow` line after the NAK
 * may or may not reach .git/shallow. Accepted here: `ACK <oid> common|ready|continue` lines,
 * then exactly one `NAK` or `ACK <oid>`, before any side-band data, and no protocol line after
 * it. `shallow`/`unshallow` are refused (Steward never fetches shallow), and so are `ERR` lines
 * and band 3 (isomorphic-git turns both into a silent success with whatever pack data came
 * before them). A response without pack data is refused: git upload-pack always sends a
 * pack, empty (32 bytes, 0 objects) when the client has everything.
 *
 * Pack (gitformat-pack(5)): "PACK", version 2 (the only one isomorphic-git reads), object
 * count, the objects, and a trailer that must be the SHA-1 of everything before it
 * (isomorphic-git never checks it and names the pack file after it). Each object: a varint
 * header (type 1-4, 6 or 7 and inflated size), for OFS_DELTA a distance back to an earlier
 * object's first byte (isomorphic-git would read any offset, even one inside another object's
 * stored zlib block, and inflate what it finds there without a limit), for REF_DELTA a base
 * id, then a zlib stream that must inflate to exactly the declared size and end before the next
 * object. The objects must fill the pack exactly: isomorphic-git silently ignores a truncated
 * last object, missing or extra objects, and objects of type 0 or 5.
 *
 * Deltas (gitformat-pack(5) "Deltified representation"): isomorphic-git materialises the base
 * and the result, and while applying a delta keeps one Buffer view (about 110 bytes of heap)
 * per instruction before it compares the total with the declared size. So every delta is
 * read here to its end: base and result sizes within maxObjectBytes (an OFS_DELTA's base size
 * must be its base's actual size), copies inside the base, no reserved opcode 0, instructions
 * that produce exactly the result size, at most maxDeltaOps of them. The result size counts
 * towards maxTotalBytes. Chain depth needs no limit of its own: each link is an object of this
 * pack whose result is counted, and isomorphic-git keeps at most all of them.
 *
 * Sizes: isomorphic-git decodes varints with 32-bit shifts; every size accepted here is at
 * most maxObjectBytes (clamped below 2^31), where both readings agree.
 */
import { createHash } from "node:crypto";
import { inflateSync } from "node:zlib";

export interface PackLimits {
  /** The most objects one pack may hold: read from the pack header before anything is inflated. */
  readonly maxObjects: number;
  /** The largest object, delta result, delta base or delta instruction stream accepted, in bytes. */
  readonly maxObjectBytes: number;
  /** The most bytes all objects of one pack may inflate to (deltas count with their result). */
  readonly maxTotalBytes: number;
  /** The most instructions one delta may have. */
  readonly maxDeltaOps: number;
}

const MiB = 1024 * 1024;

/**
 * maxObjects: indexing costs isomorphic-git about 1.8 KB of heap and 70-200 µs per object
 * (isomorphic-git 1.44.17, Node 20, x86-64; packs of tiny distinct blobs, the most objects a
 * server can send per byte: 50,000 peaked at 88-96 MB of heap and 220 MB max RSS and took
 * 3-10 s; 100,000 at 175 MB and 330 MB). A synthetic cluster repo of 40,000 commits, trees and
 * blobs peaked at 53 MB. bench/pack-index.bench.ts measures it again.
 * maxDeltaOps: applying a delta costs isomorphic-git about 113 bytes of heap per instruction
 * before it checks the result size (4 million one-byte copies, a 7.8 KB pack, took 456 MB).
 * The defaults keep a whole `steward fetch` under 256 MB of peak RSS for any pack a hostile
 * server can make within them and within the 16 MiB response cap (http-transport.ts):
 * test/source/hostile-bounds.test.ts measures the worst shapes found, about 230 MB for 15,000
 * tiny objects with fifteen 4 MiB blobs, or with 12 MiB of incompressible ones. The fetch
 * worker's heap is 48 MiB (fetch-isolated.ts), enough to index 15,000 objects (about 35 MB of
 * heap); inflated objects live outside the heap, in isomorphic-git's 32 MiB cache of delta
 * bases and in transient copies, so their size is bounded here. A cluster repo of configuration fits: its
 * first clone after years of history is a few thousand objects, and no configuration file is
 * 4 MiB.
 */
export const DEFAULT_PACK_LIMITS: PackLimits = { maxObjects: 15_000, maxObjectBytes: 4 * MiB, maxTotalBytes: 128 * MiB, maxDeltaOps: 200_000 };

/**
 * A refusal says why: `limit` (a legitimate but too large pack: needs a smaller history or
 * other limits), `malformed` (it does not parse to the end, or isomorphic-git would read it
 * differently), `remote-error` (the server reported an error instead of a pack).
 */
export type PackVerdict =
  | {
      readonly ok: true;
      /** Objects in the pack (0 for the empty pack of a no-op fetch). */
      readonly objects: number;
      /** Of those, deltas. */
      readonly deltas: number;
      /** What all objects inflate to, deltas counted with their result size. */
      readonly inflatedBytes: number;
      /** The pack's length: the side-band payloads joined, trailer included. */
      readonly packBytes: number;
      /** The trailer in hex: isomorphic-git names the pack file `pack-<checksum>.pack`. */
      readonly checksum: string;
    }
  | { readonly ok: false; readonly kind: "limit" | "malformed" | "remote-error"; readonly reason: string };

export type PackRefusal = Extract<PackVerdict, { ok: false }>;

const OFS_DELTA = 6;
const REF_DELTA = 7;
const BAND_DATA = 1;
const BAND_PROGRESS = 2;
const BAND_ERROR = 3;
const HEADER_BYTES = 12;
const TRAILER_BYTES = 20;
/** The shortest object: a 1-byte header and an 8-byte zlib stream of nothing. */
const MIN_OBJECT_BYTES = 9;
/** Sizes and offsets past this would wrap in isomorphic-git's 32-bit arithmetic. */
const MAX_SIZE = 0x7fff_ffff;

const ACK_CONTINUE = /^ACK [0-9a-f]{40} (?:common|ready|continue)\n?$/;
const FINAL = /^(?:NAK|ACK [0-9a-f]{40})\n?$/;

/**
 * inspectUploadPackResponse decides whether a complete upload-pack response (protocol v0/v1,
 * side-band-64k, as isomorphic-git requests it) may be handed to isomorphic-git: `ok` with
 * what the pack holds, or a refusal with its kind and reason. Pure; never throws.
 */
export function inspectUploadPackResponse(response: Uint8Array, limits: PackLimits = DEFAULT_PACK_LIMITS): PackVerdict {
  const buf = Buffer.from(response.buffer, response.byteOffset, response.byteLength);
  const framing = readFraming(buf);
  if ("kind" in framing) return framing;
  return inspectPack(joinParts(framing.parts, framing.bytes), limits);
}

/** readFraming walks the pkt-lines of a response and returns its side-band 1 payloads. */
function readFraming(buf: Buffer): { parts: Buffer[]; bytes: number } | PackRefusal {
  const parts: Buffer[] = [];
  let bytes = 0;
  let acknowledged = false;
  let pos = 0;
  let line = 0;
  while (pos < buf.length) {
    if (buf.length - pos < 4) return malformed(`the response ends inside a pkt-line length (${buf.length - pos} bytes left)`);
    const len = hex4(buf, pos);
    if (len < 0) return malformed(`pkt-line ${line} does not start with 4 hex digits: ${quote(buf.subarray(pos, pos + 4))}`);
    line++;
    // 0000 flush, 0001 delim: isomorphic-git skips both wherever they are.
    if (len === 0 || len === 1) {
      pos += 4;
      continue;
    }
    if (len < 4) return malformed(`pkt-line ${line - 1} has length ${len}`);
    if (pos + len > buf.length) return malformed(`pkt-line ${line - 1} is cut short (${len} bytes declared, ${buf.length - pos} left)`);
    const payload = buf.subarray(pos + 4, pos + len);
    pos += len;
    const band = payload[0];
    if (band === BAND_DATA || band === BAND_PROGRESS) {
      if (!acknowledged) return malformed("side-band data before the NAK or final ACK");
      if (band === BAND_DATA && payload.length > 1) {
        parts.push(payload.subarray(1));
        bytes += payload.length - 1;
      }
      continue;
    }
    if (band === BAND_ERROR) return { ok: false, kind: "remote-error", reason: `the server reported an error: ${quote(payload.subarray(1))}` };
    const text = payload.toString("latin1");
    if (text.startsWith("ERR ")) return { ok: false, kind: "remote-error", reason: `the server reported an error: ${quote(payload.subarray(4))}` };
    if (acknowledged) return malformed(`a protocol line after the acknowledgement: ${quote(payload)}`);
    if (text.startsWith("shallow ") || text.startsWith("unshallow ")) return malformed(`the server declared a shallow boundary in a full fetch: ${quote(payload)}`);
    if (FINAL.test(text)) acknowledged = true;
    else if (!ACK_CONTINUE.test(text)) return malformed(`an unexpected protocol line: ${quote(payload)}`);
  }
  if (!acknowledged) return malformed("the response has no NAK or final ACK");
  if (bytes === 0) return malformed("the response holds no pack");
  return { parts, bytes };
}

/** joinParts returns the pack as one buffer: the only part itself, or one copy of them all. */
function joinParts(parts: readonly Buffer[], bytes: number): Buffer {
  if (parts.length === 1) return parts[0] as Buffer;
  const pack = Buffer.allocUnsafe(bytes);
  let at = 0;
  for (const p of parts) at += p.copy(pack, at);
  return pack;
}

/** inspectPack reads a whole pack: header, every object (inflated), trailer. */
function inspectPack(pack: Buffer, limits: PackLimits): PackVerdict {
  const maxObjectBytes = Math.min(limits.maxObjectBytes, MAX_SIZE);
  if (pack.length < HEADER_BYTES + TRAILER_BYTES) return malformed(`the pack is ${pack.length} bytes, too short for a header and a trailer`);
  // isomorphic-git's index holds 32-bit offsets and its varints wrap at 2^31.
  if (pack.length > MAX_SIZE) return limit(`the pack is ${pack.length} bytes; isomorphic-git indexes packs below 2 GiB`);
  if (pack.toString("latin1", 0, 4) !== "PACK") return malformed(`the pack does not start with PACK: ${quote(pack.subarray(0, 4))}`);
  const version = pack.readUInt32BE(4);
  if (version !== 2) return malformed(`pack version ${version} (isomorphic-git reads only version 2)`);
  const count = pack.readUInt32BE(8);
  if (count > limits.maxObjects) return limit(`the pack holds ${count} objects (limit ${limits.maxObjects})`);
  const end = pack.length - TRAILER_BYTES;
  if (count * MIN_OBJECT_BYTES > end - HEADER_BYTES) return malformed(`the pack declares ${count} objects but has room for at most ${Math.floor((end - HEADER_BYTES) / MIN_OBJECT_BYTES)}`);
  const checksum = pack.subarray(end);
  if (!createHash("sha1").update(pack.subarray(0, end)).digest().equals(checksum)) return malformed("the pack's trailer is not the SHA-1 of its contents");

  // Object starts and result sizes, in pack order: an OFS_DELTA finds its base by binary search.
  const starts = new Float64Array(count);
  const sizes = new Float64Array(count);
  let off = HEADER_BYTES;
  let total = 0;
  let deltas = 0;
  for (let i = 0; i < count; i++) {
    if (off >= end) return malformed(`the pack declares ${count} objects but holds ${i}`);
    const start = off;
    let c = pack[off++] as number;
    const type = (c >> 4) & 7;
    let size = c & 15;
    let scale = 16;
    while ((c & 0x80) !== 0) {
      if (off >= end) return malformed(`object ${i}'s header runs into the trailer`);
      // 4 + 4 × 7 bits hold every size below 2^31; git never pads a size with zero groups.
      if (off - start >= 5) return malformed(`object ${i}'s size takes more than 5 bytes`);
      c = pack[off++] as number;
      size += (c & 0x7f) * scale;
      scale *= 128;
    }
    if (type === 0 || type === 5) return malformed(`object ${i} has the invalid type ${type}`);
    if (size > maxObjectBytes) return limit(`object ${i} declares ${size} bytes (limit ${maxObjectBytes})`);
    let baseSize: number | undefined;
    if (type === OFS_DELTA) {
      // The distance back to the base: 7 bits a byte, most significant first, and one added
      // before each shift (gitformat-pack(5), "offset encoding"). isomorphic-git computes
      // ((d + 1) << 7) | c in 32 bits, the same for every distance inside a pack below 2 GiB.
      let distance = -1;
      do {
        if (off >= end) return malformed(`object ${i}'s base offset runs into the trailer`);
        c = pack[off++] as number;
        distance = (distance + 1) * 128 + (c & 0x7f);
        if (distance > start - HEADER_BYTES) return malformed(`object ${i}'s base lies before the start of the pack`);
      } while ((c & 0x80) !== 0);
      if (distance === 0) return malformed(`object ${i} is its own base`);
      const base = find(starts, i, start - distance);
      if (base < 0) return malformed(`object ${i}'s base offset ${start - distance} is not the start of an object`);
      baseSize = sizes[base] as number;
    } else if (type === REF_DELTA) {
      if (off + 20 >= end) return malformed(`object ${i}'s base id runs into the trailer`);
      off += 20;
    }
    let data: Buffer;
    let consumed: number;
    try {
      const r = inflateSync(pack.subarray(off, end), { info: true, maxOutputLength: Math.max(size, 1) }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
      data = r.buffer;
      consumed = r.engine.bytesWritten;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") return malformed(`object ${i} inflates past its declared ${size} bytes`);
      return malformed(`object ${i}'s zlib stream does not parse: ${(e as Error).message}`);
    }
    if (data.length !== size) return malformed(`object ${i} inflates to ${data.length} bytes, not the declared ${size}`);
    off += consumed;
    let result = size;
    if (type === OFS_DELTA || type === REF_DELTA) {
      deltas++;
      const d = readDelta(data, baseSize, maxObjectBytes, limits.maxDeltaOps);
      if (typeof d === "string") return d.startsWith("limit:") ? limit(`delta ${i}: ${d.slice(6)}`) : malformed(`delta ${i}: ${d}`);
      result = d;
    }
    starts[i] = start;
    sizes[i] = result;
    total += result;
    if (total > limits.maxTotalBytes) return limit(`the pack inflates past ${limits.maxTotalBytes} bytes`);
  }
  if (off !== end) return malformed(`${end - off} bytes between the last object and the trailer`);
  return { ok: true, objects: count, deltas, inflatedBytes: total, packBytes: pack.length, checksum: checksum.toString("hex") };
}

/**
 * readDelta reads a delta's instructions to the end and returns the size of the object it
 * builds, or why it is refused ("limit:" first when a limit was passed). `baseSize` is the
 * base's actual size when known (OFS_DELTA).
 */
function readDelta(delta: Buffer, baseSize: number | undefined, maxObjectBytes: number, maxOps: number): number | string {
  let pos = 0;
  // -1: cut short or longer than 5 bytes (5 × 7 bits hold every size below 2^31); Infinity: too large.
  const varint = (): number => {
    let n = 0;
    let scale = 1;
    for (let bytes = 1; bytes <= 5; bytes++) {
      if (pos >= delta.length) return -1;
      const c = delta[pos++] as number;
      n += (c & 0x7f) * scale;
      if ((c & 0x80) === 0) return n > maxObjectBytes ? Infinity : n;
      scale *= 128;
    }
    return -1;
  };
  const declaredBase = varint();
  const resultSize = varint();
  if (declaredBase < 0 || resultSize < 0) return "its size header is cut short or padded";
  if (declaredBase === Infinity) return `limit:its base is larger than ${maxObjectBytes} bytes`;
  if (resultSize === Infinity) return `limit:it builds an object larger than ${maxObjectBytes} bytes`;
  if (baseSize !== undefined && declaredBase !== baseSize) return `it expects a base of ${declaredBase} bytes, its base has ${baseSize}`;
  let built = 0;
  let ops = 0;
  while (pos < delta.length) {
    if (++ops > maxOps) return `limit:more than ${maxOps} instructions`;
    const op = delta[pos++] as number;
    if ((op & 0x80) !== 0) {
      // Copy: bits 0-3 say which offset bytes follow, bits 4-6 which size bytes; size 0 is 64 KiB.
      let offset = 0;
      let size = 0;
      for (let b = 0; b < 7; b++) {
        if ((op & (1 << b)) === 0) continue;
        if (pos >= delta.length) return "a copy instruction is cut short";
        const v = delta[pos++] as number;
        if (b < 4) offset += v * 2 ** (8 * b);
        else size += v * 2 ** (8 * (b - 4));
      }
      if (size === 0) size = 0x10000;
      if (offset + size > declaredBase) return `a copy reaches past the ${declaredBase}-byte base`;
      built += size;
    } else if (op === 0) {
      return "opcode 0 is reserved";
    } else {
      if (pos + op > delta.length) return "an insert instruction is cut short";
      pos += op;
      built += op;
    }
    if (built > resultSize) return `it builds more than the declared ${resultSize} bytes`;
  }
  if (built !== resultSize) return `it builds ${built} bytes, not the declared ${resultSize}`;
  return resultSize;
}

/** find returns the index among the first `n` (ascending) starts that equals `offset`, or -1. */
function find(starts: Float64Array, n: number, offset: number): number {
  let lo = 0;
  let hi = n - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const v = starts[mid] as number;
    if (v === offset) return mid;
    if (v < offset) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** hex4 reads 4 ASCII hex digits (either case) as a number, or -1. */
function hex4(buf: Buffer, at: number): number {
  let n = 0;
  for (let i = at; i < at + 4; i++) {
    const c = buf[i] as number;
    const d = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (d < 0) return -1;
    n = n * 16 + d;
  }
  return n;
}

/** quote shows at most 120 bytes of what the server sent, escaped, for a reason. */
function quote(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const s = JSON.stringify(b.toString("latin1", 0, Math.min(b.length, 120)).replace(/\n$/, ""));
  return b.length > 120 ? `${s}…` : s;
}

function malformed(reason: string): PackRefusal {
  return { ok: false, kind: "malformed", reason };
}

function limit(reason: string): PackRefusal {
  return { ok: false, kind: "limit", reason };
}
