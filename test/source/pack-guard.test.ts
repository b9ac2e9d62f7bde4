/**
 * The pack guard, table by table: the answers of real servers pass (git upload-pack's own
 * output for first, incremental and no-op fetches, deltas included); every framing isomorphic-git
 * reads is read the same way (upper-case lengths, flushes and delims anywhere, packets after
 * the final flush, tiny packets); everything isomorphic-git would read differently or not at all
 * is refused with a reason (malformed lengths, band 3, ERR, stray protocol lines, no side-band,
 * packs that do not parse to their last byte, deltas that do not apply); limits on objects,
 * sizes and delta instructions are refused as `limit`. End to end over HTTP, ssh and a local
 * path: a refused answer is SOURCE_PROTOCOL, the tracking ref stays, no pack is left.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { deflateSync } from "node:zlib";
import { fetchRemote, resolveOrUndefined, trackingRef, type FetchOptions, type FetchOutcome } from "../../agent/src/source/fetch.js";
import { DEFAULT_PACK_LIMITS, inspectUploadPackResponse, type PackLimits, type PackVerdict } from "../../agent/src/source/pack-guard.js";
import { parseRemoteUrl, type RemoteSpec } from "../../agent/src/source/remotes.js";
import { prepareRepo } from "../../agent/src/source/repo.js";
import { startFakeUploadPack, type FakeUploadPack } from "../helpers/fake-upload-pack.js";
import { startGitHttpServer, type GitHttpServer } from "../helpers/git-http-server.js";
import { WorkRepo, git, makeBare, makeTempDir, removeDir } from "../helpers/keys.js";
import { DELIM, FLUSH, band, buildPack, copyOp, delta, objectHeader, pkt, upload, uploadPackResponse, withTrailer, type Framing } from "../helpers/pack-bytes.js";
import { startSshd, type Sshd } from "../helpers/sshd.js";

const MiB = 1024 * 1024;
let dir: string;
let bare: string;
let work: WorkRepo;
let http: GitHttpServer;
let sshd: Sshd;
let fake: FakeUploadPack;
/** A commit with one small file. */
let small: string;
/** small + a 4 MiB blob of zeros (a few KiB on the wire). */
let big: string;
/** big + commits that change a 30 KiB file line by line: upload-pack sends them as deltas. */
let edited: string;
let smallPack: Buffer;
let bigPack: Buffer;

before(async () => {
  dir = makeTempDir();
  bare = makeBare(join(dir, "srv", "cluster.git"));
  work = WorkRepo.create(join(dir, "work"));
  small = work.write("cluster.yaml", "domain: home.arpa\n").commit("small");
  big = work.write("files/zeros.bin", "\0".repeat(4 * MiB)).commit("big");
  const lines = Array.from({ length: 600 }, (_, i) => `key${i}: value ${i} of the nodes file\n`);
  for (let c = 0; c < 6; c++) {
    lines[c * 97] = `key${c * 97}: changed in commit ${c}\n`;
    edited = work.write("nodes/all.yaml", lines.join("")).commit(`edit ${c}`);
  }
  work.push(bare);
  smallPack = packOf(small);
  bigPack = packOf(big);
  http = await startGitHttpServer(join(dir, "srv"));
  sshd = await startSshd(join(dir, "sshd"));
  fake = await startFakeUploadPack({ tip: small, pack: smallPack });
});

after(async () => {
  await http?.close();
  await sshd?.close();
  await fake?.close();
  removeDir(dir);
});

/** packOf packs everything reachable from `tip` as upload-pack would (ofs-delta). */
function packOf(tip: string): Buffer {
  return execFileSync("git", ["-C", bare, "pack-objects", "--stdout", "-q", "--revs", "--delta-base-offset"], { input: `${tip}\n`, maxBuffer: 64 * MiB });
}

const limits = (l: Partial<PackLimits> = {}): PackLimits => ({ ...DEFAULT_PACK_LIMITS, ...l });
const tight = limits({ maxObjectBytes: MiB, maxTotalBytes: 8 * MiB });
const outcome = (v: PackVerdict): string => (v.ok ? "ok" : v.kind);

// ---------------------------------------------------------------------------------------------
// What real servers send.

test("git upload-pack's answers to first, incremental and no-op fetches pass, deltas included", () => {
  const first = inspectUploadPackResponse(upload(bare, edited));
  assert.ok(first.ok, JSON.stringify(first));
  assert.equal(first.objects, git(bare, ["rev-list", "--objects", edited]).split("\n").length);
  assert.ok(first.deltas > 0, "the edited file travels as deltas");
  assert.ok(first.inflatedBytes > 4 * MiB);

  const incremental = inspectUploadPackResponse(upload(bare, edited, big));
  assert.ok(incremental.ok, JSON.stringify(incremental));
  assert.ok(incremental.objects > 0 && incremental.objects < first.objects);

  // The client has everything: upload-pack still sends a pack, with no objects (32 bytes).
  const noop = inspectUploadPackResponse(upload(bare, edited, edited));
  assert.deepEqual(noop.ok && [noop.objects, noop.packBytes], [0, 32]);
});

// ---------------------------------------------------------------------------------------------
// Framing: what isomorphic-git reads, read the same way; the rest refused.

/** The first side-band packet's length field replaced by `field`. */
function withLengthField(field: string): Buffer {
  const r = uploadPackResponse(smallPack);
  const at = pkt("NAK\n").length;
  return Buffer.concat([r.subarray(0, at), Buffer.from(field, "latin1"), r.subarray(at + 4)]);
}

const frame = (f: Framing): (() => Buffer) => () => uploadPackResponse(smallPack, f);

for (const c of [
  { name: "a pack in side-band-64k packets after NAK passes", response: frame({}), want: "ok" },
  { name: "a pack in 1-byte side-band packets passes", response: frame({ chunk: 1 }), want: "ok" },
  { name: "upper-case length digits are read like lower-case ones", response: frame({ upper: true }), want: "ok" },
  { name: "keep-alive packets (empty band 1) and progress (band 2) are skipped", response: frame({ after: [band(1, ""), band(2, "Total 3\n")] }), want: "ok" },
  { name: "flushes and delims are skipped wherever they are", response: frame({ lines: ["ACK " + "a".repeat(40) + " common\n", "ACK " + "a".repeat(40) + "\n"], after: [FLUSH, DELIM, FLUSH] }), want: "ok" },
  { name: "ACK lines with a status before the final ACK pass", response: frame({ lines: [`ACK ${"b".repeat(40)} common\n`, `ACK ${"b".repeat(40)} ready\n`, `ACK ${"b".repeat(40)}\n`] }), want: "ok" },
  { name: "a pack without side-band is refused (isomorphic-git reads PACK as a length and fails)", response: frame({ raw: true }), want: "malformed" },
  { name: "the length field 0x1f is refused", response: () => withLengthField("0x1f"), want: "malformed" },
  { name: "the length field ' 1f ' is refused", response: () => withLengthField(" 1f "), want: "malformed" },
  { name: "the length field 1g00 is refused", response: () => withLengthField("1g00"), want: "malformed" },
  { name: "the length field +1ff is refused", response: () => withLengthField("+1ff"), want: "malformed" },
  { name: "the length field -001 is refused", response: () => withLengthField("-001"), want: "malformed" },
  { name: "the length 0002 is refused", response: frame({ after: [Buffer.from("0002")] }), want: "malformed" },
  { name: "the length 0003 is refused", response: frame({ after: [Buffer.from("0003")] }), want: "malformed" },
  { name: "an empty pkt-line (0004) is refused", response: frame({ lines: ["", "NAK\n"] }), want: "malformed" },
  { name: "a response that ends inside a length field is refused", response: frame({ trailing: Buffer.from("00") }), want: "malformed" },
  { name: "a pkt-line cut short is refused", response: () => uploadPackResponse(smallPack).subarray(0, -10), want: "malformed" },
  { name: "bytes after the final flush that are not pkt-lines are refused", response: frame({ trailing: Buffer.from("garbage!") }), want: "malformed" },
  { name: "a server error on band 3 after a complete pack is refused", response: frame({ after: [band(3, "fatal: the remote end hung up")] }), want: "remote-error" },
  { name: "an ERR line is refused", response: () => pkt("ERR access denied\n"), want: "remote-error" },
  { name: "a response without NAK or ACK is refused", response: frame({ lines: [] }), want: "malformed" },
  { name: "an ACK with a status and no final ACK is refused", response: frame({ lines: [`ACK ${"c".repeat(40)} common\n`] }), want: "malformed" },
  { name: "pack data before the NAK is refused", response: () => Buffer.concat([band(1, smallPack), pkt("NAK\n"), FLUSH]), want: "malformed" },
  { name: "a protocol line after the NAK is refused", response: frame({ after: [pkt(`ACK ${"d".repeat(40)}\n`)] }), want: "malformed" },
  { name: "shallow lines are refused", response: frame({ lines: [`shallow ${"e".repeat(40)}\n`, "NAK\n"] }), want: "malformed" },
  { name: "unshallow lines are refused", response: frame({ lines: [`unshallow ${"e".repeat(40)}\n`, "NAK\n"] }), want: "malformed" },
  { name: "an unknown protocol line is refused", response: frame({ lines: ["HELLO\n", "NAK\n"] }), want: "malformed" },
  { name: "a response without pack data is refused", response: () => Buffer.concat([pkt("NAK\n"), FLUSH]), want: "malformed" },
  { name: "an empty response is refused", response: () => Buffer.alloc(0), want: "malformed" },
  { name: "text that is not git is refused", response: () => Buffer.from("this is not git"), want: "malformed" },
]) {
  test(c.name, () => assert.equal(outcome(inspectUploadPackResponse(c.response())), c.want));
}

test("pkt-lines after the final flush still belong to the pack: a bomb split around a flush is seen whole", () => {
  const half = Math.floor(bigPack.length / 2);
  const r = Buffer.concat([pkt("NAK\n"), band(1, bigPack.subarray(0, half)), FLUSH, band(1, bigPack.subarray(half)), FLUSH]);
  assert.equal(outcome(inspectUploadPackResponse(r, limits())), "ok");
  assert.equal(outcome(inspectUploadPackResponse(r, tight)), "limit");
});

test("a bomb framed with upper-case lengths is refused like one with lower-case lengths", () => {
  assert.equal(outcome(inspectUploadPackResponse(uploadPackResponse(bigPack, { upper: true }), tight)), "limit");
});

// ---------------------------------------------------------------------------------------------
// The pack: it must parse to its last byte.

const body = (p: Buffer): Buffer => p.subarray(0, p.length - 20);
const blob = (text: string) => ({ type: "blob" as const, data: Buffer.from(text) });
const inPack = (p: Buffer): (() => Buffer) => () => uploadPackResponse(p);
/** A pack whose bytes were changed by `f`, with a trailer that matches again. */
const edit = (f: (b: Buffer) => Buffer): (() => Buffer) => () => uploadPackResponse(withTrailer(f(Buffer.from(body(smallPack)))));
const setCount = (delta: number) => (b: Buffer): Buffer => {
  b.writeUInt32BE(b.readUInt32BE(8) + delta, 8);
  return b;
};

for (const c of [
  { name: "a hand-built pack of blobs passes", response: () => inPack(buildPack([blob("a\n"), blob("b\n")]).pack)(), want: "ok" },
  { name: "bytes between the last object and the trailer are refused", response: edit((b) => Buffer.concat([b, Buffer.from("junk")])), want: "malformed" },
  { name: "a truncated last object is refused", response: edit((b) => b.subarray(0, b.length - 6)), want: "malformed" },
  { name: "an object count larger than the objects is refused", response: edit(setCount(1)), want: "malformed" },
  { name: "an object count smaller than the objects is refused", response: edit(setCount(-1)), want: "malformed" },
  { name: "a trailer that is not the pack's SHA-1 is refused", response: () => uploadPackResponse(Buffer.concat([body(smallPack), Buffer.alloc(20, 0xab)])), want: "malformed" },
  { name: "pack version 3 is refused", response: () => uploadPackResponse(buildPack([blob("a\n")], { version: 3 }).pack), want: "malformed" },
  { name: "data that does not start with PACK is refused", response: edit((b) => Buffer.concat([Buffer.from("KCAP"), b.subarray(4)])), want: "malformed" },
  { name: "a pack of 12 bytes is refused", response: () => uploadPackResponse(body(buildPack([]).pack)), want: "malformed" },
  { name: "an empty pack with bytes after its header is refused", response: () => uploadPackResponse(buildPack([{ type: "raw", bytes: Buffer.from("hidden") }], { count: 0 }).pack), want: "malformed" },
  { name: "an object of type 5 is refused", response: () => uploadPackResponse(buildPack([{ type: "raw", bytes: Buffer.concat([objectHeader(5, 2), deflateSync("a\n")]) }]).pack), want: "malformed" },
  { name: "an object of type 0 is refused", response: () => uploadPackResponse(buildPack([{ type: "raw", bytes: Buffer.concat([objectHeader(0, 2), deflateSync("a\n")]) }]).pack), want: "malformed" },
  { name: "an object that inflates past its declared size is refused", response: () => uploadPackResponse(buildPack([{ ...blob("abc\n"), size: 3 }]).pack), want: "malformed" },
  { name: "an object that inflates short of its declared size is refused", response: () => uploadPackResponse(buildPack([{ ...blob("abc\n"), size: 5 }]).pack), want: "malformed" },
  { name: "a zlib stream with a wrong checksum is refused", response: () => {
    const z = deflateSync("abc\n");
    z[z.length - 1] = (z[z.length - 1] as number) ^ 1;
    return uploadPackResponse(buildPack([{ ...blob("abc\n"), zlib: z }]).pack);
  }, want: "malformed" },
  { name: "a size padded with empty groups is refused", response: () => uploadPackResponse(buildPack([{ type: "raw", bytes: Buffer.concat([Buffer.from([0xb2, 0x80, 0x80, 0x80, 0x80, 0x00]), deflateSync("a\n")]) }]).pack), want: "malformed" },
]) {
  test(c.name, () => assert.equal(outcome(inspectUploadPackResponse(c.response())), c.want));
}

// ---------------------------------------------------------------------------------------------
// Deltas: read to their end, against their base.

const BASE = Buffer.from("0123456789abcdef".repeat(64)); // 1 KiB
const base = { type: "blob" as const, data: BASE };
const ofs = (data: Buffer) => ({ type: "ofs-delta" as const, base: 0, data });
const deltaPack = (...entries: Parameters<typeof buildPack>[0]): Buffer => uploadPackResponse(buildPack([base, ...entries]).pack);
const insert = (text: string): Buffer => Buffer.concat([Buffer.from([text.length]), Buffer.from(text)]);
const raw = (bytes: Buffer) => ({ type: "raw" as const, bytes });

/**
 * A blob whose zlib stream is one stored block holding, byte for byte, another object: a
 * 4 MiB blob of zeros. A delta whose base offset points there makes isomorphic-git inflate
 * that hidden object (without any limit); the guard only knows objects that start where the
 * previous one ended.
 */
function hiddenBombPack(): Buffer {
  const hidden = Buffer.concat([objectHeader(3, 4 * MiB), deflateSync(Buffer.alloc(4 * MiB))]);
  const carrier = { type: "blob" as const, data: hidden, zlib: deflateSync(hidden, { level: 0 }) };
  const first = buildPack([carrier]);
  const hiddenAt = first.pack.indexOf(hidden);
  assert.ok(hiddenAt > 0);
  const d = delta(4 * MiB, 1, copyOp(0, 1));
  const deltaAt = body(first.pack).length;
  const rest = Buffer.concat([objectHeader(6, d.length), ofsBytes(deltaAt - hiddenAt), deflateSync(d)]);
  const all = Buffer.concat([body(first.pack), rest]);
  all.writeUInt32BE(2, 8);
  return withTrailer(all);
}

function ofsBytes(n: number): Buffer {
  const out = [n & 0x7f];
  let rest = Math.floor(n / 128);
  while (rest > 0) {
    rest -= 1;
    out.unshift(0x80 | (rest & 0x7f));
    rest = Math.floor(rest / 128);
  }
  return Buffer.from(out);
}

for (const c of [
  { name: "an ofs-delta that copies and inserts passes", response: () => deltaPack(ofs(delta(1024, 20, copyOp(16, 10), insert("0123456789")))), want: "ok" },
  { name: "a chain of deltas passes", response: () => deltaPack(ofs(delta(1024, 10, copyOp(0, 10))), { type: "ofs-delta", base: 1, data: delta(10, 4, copyOp(2, 4)) }), want: "ok" },
  { name: "a ref-delta to a base outside the pack passes", response: () => uploadPackResponse(buildPack([{ type: "ref-delta", base: "f".repeat(40), data: delta(100, 3, copyOp(0, 3)) }]).pack), want: "ok" },
  { name: "a delta whose base offset points inside another object (a hidden bomb) is refused", response: () => uploadPackResponse(hiddenBombPack()), want: "malformed" },
  { name: "a delta that expects another base size than its base has is refused", response: () => deltaPack(ofs(delta(1000, 4, copyOp(0, 4)))), want: "malformed" },
  { name: "a delta that copies past its base is refused", response: () => deltaPack(ofs(delta(1024, 8, copyOp(1020, 8)))), want: "malformed" },
  { name: "a delta whose copy offset would be negative in 32 bits is refused", response: () => deltaPack(ofs(delta(1024, 4, copyOp(0x8000_0000, 4)))), want: "malformed" },
  { name: "a delta with the reserved opcode 0 is refused", response: () => deltaPack(ofs(delta(1024, 4, copyOp(0, 4), Buffer.from([0])))), want: "malformed" },
  { name: "a delta whose insert runs past its end is refused", response: () => deltaPack(ofs(delta(1024, 9, Buffer.from([9]), Buffer.from("abc")))), want: "malformed" },
  { name: "a delta that builds fewer bytes than it declares is refused", response: () => deltaPack(ofs(delta(1024, 9, copyOp(0, 4)))), want: "malformed" },
  { name: "a delta with instructions after its declared result is refused", response: () => deltaPack(ofs(delta(1024, 4, copyOp(0, 4), copyOp(0, 1)))), want: "malformed" },
  { name: "a delta cut inside its size header is refused", response: () => deltaPack(ofs(Buffer.from([0x80]))), want: "malformed" },
  { name: "a delta that is its own base is refused", response: () => deltaPack(raw(Buffer.concat([objectHeader(6, 3), Buffer.from([0]), deflateSync(delta(1, 1, insert("a")))]))), want: "malformed" },
  { name: "a delta whose base lies before the pack is refused", response: () => deltaPack(raw(Buffer.concat([objectHeader(6, 3), Buffer.from([0x7f]), deflateSync(delta(1, 1, insert("a")))]))), want: "malformed" },
]) {
  test(c.name, () => assert.equal(outcome(inspectUploadPackResponse(c.response())), c.want));
}

// ---------------------------------------------------------------------------------------------
// Limits.

const manyOps = (n: number): Buffer => delta(1024, n, ...Array.from({ length: n }, () => copyOp(0, 1)));

for (const c of [
  { name: "a small pack passes tight limits", response: () => uploadPackResponse(smallPack), limits: tight, want: "ok" },
  { name: "a blob that inflates past the object limit is refused", response: () => uploadPackResponse(bigPack), limits: limits({ maxObjectBytes: MiB }), want: "limit" },
  { name: "a pack that inflates past the total limit is refused", response: () => uploadPackResponse(bigPack), limits: limits({ maxObjectBytes: 8 * MiB, maxTotalBytes: 2 * MiB }), want: "limit" },
  { name: "the same pack passes under limits that fit it", response: () => uploadPackResponse(bigPack), limits: limits({ maxObjectBytes: 8 * MiB, maxTotalBytes: 64 * MiB }), want: "ok" },
  { name: "a pack of as many objects as maxObjects passes", response: inPack(buildPack([blob("a\n"), blob("b\n")]).pack), limits: limits({ maxObjects: 2 }), want: "ok" },
  { name: "a pack with more objects than maxObjects is refused", response: inPack(buildPack([blob("a\n"), blob("b\n"), blob("c\n")]).pack), limits: limits({ maxObjects: 2 }), want: "limit" },
  { name: "a header count past maxObjects is refused before any object is read", response: () => uploadPackResponse(buildPack([{ type: "raw", bytes: Buffer.alloc(64, 0xff) }], { count: 3 }).pack), limits: limits({ maxObjects: 2 }), want: "limit" },
  { name: "a delta of exactly maxDeltaOps instructions passes", response: () => deltaPack(ofs(manyOps(1000))), limits: limits({ maxDeltaOps: 1000 }), want: "ok" },
  { name: "a delta of more than maxDeltaOps instructions is refused", response: () => deltaPack(ofs(manyOps(1001))), limits: limits({ maxDeltaOps: 1000 }), want: "limit" },
  // 4 million 2-byte copies of one byte: 8 MB of instructions, 450 MB of heap in isomorphic-git.
  { name: "an 8 KB pack whose delta has 4 million instructions is refused under the default limits", response: () => deltaPack(ofs(delta(1024, 4_000_000, Buffer.alloc(8_000_000, Buffer.from([0x90, 0x01]))))), limits: DEFAULT_PACK_LIMITS, want: "limit" },
  { name: "a delta whose result is past the object limit is refused", response: () => deltaPack(ofs(delta(1024, 2048, copyOp(0, 1024), copyOp(0, 1024)))), limits: limits({ maxObjectBytes: 2047 }), want: "limit" },
  { name: "a ref-delta whose declared base is past the object limit is refused", response: () => uploadPackResponse(buildPack([{ type: "ref-delta", base: "f".repeat(40), data: delta(4096, 3, copyOp(0, 3)) }]).pack), limits: limits({ maxObjectBytes: 4095 }), want: "limit" },
  { name: "delta results count towards the total", response: () => deltaPack(ofs(delta(1024, 4096, copyOp(0, 1024), copyOp(0, 1024), copyOp(0, 1024), copyOp(0, 1024)))), limits: limits({ maxTotalBytes: 1024 + 4095 }), want: "limit" },
]) {
  test(c.name, () => assert.equal(outcome(inspectUploadPackResponse(c.response(), c.limits)), c.want));
}

test("a 30 MiB pack of 20,120 objects is inspected whole: every object counted (its speed is in make bench)", () => {
  // 120 incompressible blobs of 256 KiB and 20,000 small text blobs.
  const entries = [
    ...Array.from({ length: 120 }, () => ({ type: "blob" as const, data: randomBytes(256 * 1024), zlib: undefined })),
    ...Array.from({ length: 20_000 }, (_, i) => blob(`name: service-${i}\nnode: alpha\nport: ${i}\n`)),
  ];
  const response = uploadPackResponse(buildPack(entries).pack);
  assert.ok(response.length > 30 * MiB);
  const v = inspectUploadPackResponse(response, { ...DEFAULT_PACK_LIMITS, maxObjects: 30_000 });
  assert.deepEqual(v.ok && v.objects, 20_120);
});

// ---------------------------------------------------------------------------------------------
// End to end: fetchRemote over real transports and a hostile server.

function remote(name: string, url: string, extra: Partial<RemoteSpec> = {}): RemoteSpec {
  return { name, url, target: parseRemoteUrl(url), key: undefined, knownHosts: undefined, ...extra };
}
const viaFake = (): RemoteSpec => remote("fake", fake.url);
const code = (o: FetchOutcome): string => (o.ok ? "ok" : o.error.code);
const packFiles = (gitdir: string): string[] => readdirSync(join(gitdir, "objects", "pack")).sort();

let repos = 0;
async function fresh(r: RemoteSpec, packLimits: PackLimits = tight): Promise<FetchOptions> {
  const gitdir = join(dir, "state", `repo${repos++}.git`);
  await prepareRepo(gitdir, [r], "main");
  return { gitdir, cache: {}, branch: "main", timeoutMs: 5_000, packLimits };
}

test("a fetch whose pack would inflate too far fails with SOURCE_PROTOCOL over http, ssh and a local path", async () => {
  for (const r of [
    remote("origin", http.url("cluster.git")),
    remote("ssh", sshd.url(bare), { key: sshd.clientKey.private, knownHosts: sshd.knownHosts }),
    remote("mirror", bare),
  ]) {
    const options = await fresh(r);
    const o = await fetchRemote(r, options);
    assert.equal(code(o), "SOURCE_PROTOCOL", r.name);
    assert.equal(!o.ok && o.error.data?.["kind"], "limit", r.name);
    assert.equal(await resolveOrUndefined(options.gitdir, trackingRef(r.name, "main")), undefined, `${r.name}: the ref did not move`);
    assert.deepEqual(packFiles(options.gitdir), [], `${r.name}: no pack left`);
  }
});

test("first, incremental and no-op fetches with deltas pass the default limits over http, ssh and a local path", async () => {
  const steps = makeBare(join(dir, "srv", "steps.git"));
  for (const r of [
    remote("origin", http.url("steps.git")),
    remote("ssh", sshd.url(steps), { key: sshd.clientKey.private, knownHosts: sshd.knownHosts }),
    remote("mirror", steps),
  ]) {
    const options = await fresh(r, DEFAULT_PACK_LIMITS);
    // First: up to `big`; incremental: the edits, deltas of each other; no-op: nothing new.
    for (const tip of [big, edited, edited]) {
      git(work.dir, ["push", "-q", "-f", steps, `${tip}:refs/heads/main`]);
      const o = await fetchRemote(r, options);
      assert.equal(code(o), "ok", `${r.name} ${tip}: ${o.ok ? "" : JSON.stringify(o.error.data)}`);
      assert.equal(o.ok && o.tip, tip);
    }
  }
});

test("a bomb framed with upper-case pkt-line lengths over HTTP is SOURCE_PROTOCOL; the ref stays and no pack is left", async () => {
  const options = await fresh(viaFake());
  fake.set({ tip: small, pack: smallPack });
  assert.equal(code(await fetchRemote(viaFake(), options)), "ok");
  const packs = packFiles(options.gitdir);
  fake.set({ tip: big, pack: packOf(big), framing: { upper: true } });
  const o = await fetchRemote(viaFake(), options);
  assert.equal(code(o), "SOURCE_PROTOCOL");
  assert.equal(!o.ok && o.error.data?.["kind"], "limit");
  assert.equal(await resolveOrUndefined(options.gitdir, trackingRef("fake", "main")), small);
  assert.deepEqual(packFiles(options.gitdir), packs);
});

for (const c of [
  { name: "a complete pack followed by a band-3 error", framing: { after: [band(3, "fatal: out of memory")] } satisfies Framing, kind: "remote-error" },
  { name: "a pack sent without side-band", framing: { raw: true } satisfies Framing, kind: "malformed" },
  { name: "a pack whose trailer is not its checksum", framing: {} satisfies Framing, kind: "malformed", pack: () => Buffer.concat([body(packOf(big)), Buffer.alloc(20, 0xab)]) },
]) {
  test(`${c.name} over HTTP is SOURCE_PROTOCOL; the ref stays and no pack is left`, async () => {
    const options = await fresh(viaFake(), limits());
    fake.set({ tip: big, pack: c.pack?.() ?? packOf(big), framing: c.framing });
    const o = await fetchRemote(viaFake(), options);
    assert.equal(code(o), "SOURCE_PROTOCOL");
    assert.equal(!o.ok && o.error.data?.["kind"], c.kind);
    assert.equal(await resolveOrUndefined(options.gitdir, trackingRef("fake", "main")), undefined);
    assert.deepEqual(packFiles(options.gitdir), []);
  });
}
