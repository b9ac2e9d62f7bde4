/**
 * Inspecting an upload-pack response before isomorphic-git sees it. Pure (zlib is arithmetic).
 *
 * isomorphic-git inflates every object of a pack into memory to index it, and a pack is
 * tiny next to what it inflates to: a 1 GiB blob of zeros travels as 1 MiB. A hostile server
 * or mirror could exhaust a Raspberry Pi's memory before a single signature is checked. So
 * the whole response is read first (it is capped in bytes already), every object is inflated
 * here with a hard output limit, and a pack whose objects are too large is refused.
 *
 * Response framing (gitprotocol-pack): pkt-lines (4 hex digits of length, 0000 = flush) with
 * ACK/NAK/shallow text lines, then the pack in side-band pkt-lines whose first byte is the
 * band (1 data, 2 progress, 3 error). Pack (gitformat-pack): "PACK", version, object count,
 * then per object a varint header (type, inflated size), for OFS_DELTA an offset varint, for
 * REF_DELTA a 20-byte base id, then a zlib stream; a delta's data starts with the base and
 * result sizes as varints.
 */
import { inflateSync } from "node:zlib";

export interface PackLimits {
  /** The largest object (or delta result) accepted, in bytes. */
  readonly maxObjectBytes: number;
  /** The most bytes all objects of one pack may inflate to. */
  readonly maxTotalBytes: number;
}

export const DEFAULT_PACK_LIMITS: PackLimits = { maxObjectBytes: 32 * 1024 * 1024, maxTotalBytes: 256 * 1024 * 1024 };

export type PackVerdict = { readonly ok: true; readonly objects: number; readonly inflatedBytes: number } | { readonly ok: false; readonly reason: string };

const OFS_DELTA = 6;
const REF_DELTA = 7;

/**
 * inspectUploadPackResponse decides whether a complete upload-pack response may be handed to
 * isomorphic-git. A malformed or truncated response is passed (`ok`) for isomorphic-git to
 * reject in its own words; only what would inflate past the limits is refused here.
 */
export function inspectUploadPackResponse(response: Uint8Array, limits: PackLimits = DEFAULT_PACK_LIMITS): PackVerdict {
  const pack = extractPack(Buffer.from(response.buffer, response.byteOffset, response.byteLength));
  if (pack === undefined) return { ok: true, objects: 0, inflatedBytes: 0 };
  return inspectPack(pack, limits);
}

/** extractPack returns the pack bytes of a response: side-band band 1, or raw after the text lines. */
function extractPack(buf: Buffer): Buffer | undefined {
  const parts: Buffer[] = [];
  let pos = 0;
  while (pos + 4 <= buf.length) {
    const head = buf.toString("latin1", pos, pos + 4);
    if (!/^[0-9a-f]{4}$/.test(head)) {
      // No side-band: the raw pack follows the text lines.
      return head === "PACK" ? buf.subarray(pos) : parts.length > 0 ? Buffer.concat(parts) : undefined;
    }
    const len = parseInt(head, 16);
    if (len < 4) {
      pos += 4; // flush (0000) or delimiter
      continue;
    }
    if (pos + len > buf.length) break; // truncated: isomorphic-git will say so
    if (buf[pos + 4] === 1) parts.push(buf.subarray(pos + 5, pos + len));
    pos += len;
  }
  return parts.length > 0 ? Buffer.concat(parts) : undefined;
}

function inspectPack(pack: Buffer, limits: PackLimits): PackVerdict {
  if (pack.length < 12 || pack.toString("latin1", 0, 4) !== "PACK") return { ok: true, objects: 0, inflatedBytes: 0 };
  const count = pack.readUInt32BE(8);
  let off = 12;
  let total = 0;
  for (let i = 0; i < count; i++) {
    if (off >= pack.length) break;
    let c = pack[off++] ?? 0;
    const type = (c >> 4) & 7;
    let size = c & 15;
    let scale = 16;
    while ((c & 0x80) !== 0 && off < pack.length) {
      c = pack[off++] ?? 0;
      size += (c & 0x7f) * scale;
      scale *= 128;
    }
    if (type === OFS_DELTA) {
      do c = pack[off++] ?? 0;
      while ((c & 0x80) !== 0 && off < pack.length);
    } else if (type === REF_DELTA) {
      off += 20;
    }
    if (size > limits.maxObjectBytes) return { ok: false, reason: `object ${i} declares ${size} bytes (limit ${limits.maxObjectBytes})` };
    let inflated: { buffer: Buffer; engine: { bytesWritten: number } };
    try {
      inflated = inflateSync(pack.subarray(off), { info: true, maxOutputLength: limits.maxObjectBytes }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") return { ok: false, reason: `object ${i} inflates past ${limits.maxObjectBytes} bytes` };
      return { ok: true, objects: i, inflatedBytes: total }; // corrupt: isomorphic-git will refuse it
    }
    const result = type === OFS_DELTA || type === REF_DELTA ? deltaResultSize(inflated.buffer) : inflated.buffer.length;
    if (result > limits.maxObjectBytes) return { ok: false, reason: `delta ${i} builds an object of ${result} bytes (limit ${limits.maxObjectBytes})` };
    total += result;
    if (total > limits.maxTotalBytes) return { ok: false, reason: `the pack inflates past ${limits.maxTotalBytes} bytes` };
    off += inflated.engine.bytesWritten;
  }
  return { ok: true, objects: count, inflatedBytes: total };
}

/** deltaResultSize reads the second varint of a delta (the size of the object it builds). */
function deltaResultSize(delta: Buffer): number {
  let pos = 0;
  const varint = (): number => {
    let n = 0;
    let scale = 1;
    let c: number;
    do {
      c = delta[pos++] ?? 0;
      n += (c & 0x7f) * scale;
      scale *= 128;
    } while ((c & 0x80) !== 0 && pos < delta.length);
    return n;
  };
  varint(); // base size
  return varint();
}
