/**
 * Packs a hostile server sends, built byte by byte (gitformat-pack(5)): a commit with an empty
 * tree followed by many tiny distinct blobs nobody refers to — cheap on the wire, expensive for
 * isomorphic-git to index. Test code.
 */
import { createHash } from "node:crypto";

const EMPTY_TREE = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

/** A pack and the commit a server would advertise as its tip. */
export interface HostilePack {
  readonly tip: string;
  readonly pack: Buffer;
}

function objectHeader(type: number, size: number): Buffer {
  const bytes: number[] = [];
  let c = (type << 4) | (size & 15);
  let rest = Math.floor(size / 16);
  while (rest > 0) {
    bytes.push(c | 0x80);
    c = rest & 0x7f;
    rest = Math.floor(rest / 128);
  }
  bytes.push(c);
  return Buffer.from(bytes);
}

/**
 * zlibStored wraps `data` (under 64 KiB) in a zlib stream of one stored block (RFC 1950/1951):
 * built by hand, because a zlib context per object leaves native memory that only a garbage
 * collection frees, and 300,000 of them took gigabytes.
 */
function zlibStored(data: Buffer): Buffer {
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

function oidOf(type: string, body: Buffer): string {
  return createHash("sha1").update(`${type} ${body.length}\0`).update(body).digest("hex");
}

/** tinyBlobPack builds a commit (empty tree), the empty tree and `blobs` distinct small blobs. */
export function tinyBlobPack(blobs: number, seconds = Math.floor(Date.now() / 1000)): HostilePack {
  const commit = Buffer.from(`tree ${EMPTY_TREE}\nauthor Mallory <m@x> ${seconds} +0000\ncommitter Mallory <m@x> ${seconds} +0000\n\nmany objects\n`);
  const parts: Buffer[] = [];
  const header = Buffer.alloc(12);
  header.write("PACK", 0, "latin1");
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(blobs + 2, 8);
  parts.push(header, objectHeader(1, commit.length), zlibStored(commit), objectHeader(2, 0), zlibStored(Buffer.alloc(0)));
  for (let i = 0; i < blobs; i++) {
    const body = Buffer.from(`blob ${i}\n`);
    parts.push(objectHeader(3, body.length), zlibStored(body));
  }
  const body = Buffer.concat(parts);
  return { tip: oidOf("commit", commit), pack: Buffer.concat([body, createHash("sha1").update(body).digest()]) };
}
