/**
 * Property tests of the pack guard against isomorphic-git itself. Valid upload-pack responses
 * (git upload-pack's own, for first, incremental and no-op fetches, with ofs- and ref-deltas)
 * are re-framed the ways a server may frame them (packet sizes, upper-case lengths, flushes,
 * delims, keep-alives, progress, ACK lines) and then mutated: bytes flipped, inserted, deleted,
 * cut, packets inserted, and pack bytes changed with the trailer made to match again.
 *
 * For every response: inspectUploadPackResponse never throws; and when it passes one,
 * isomorphic-git's fetch (through a stub `http` that serves the response) succeeds, writes the
 * very pack the guard inspected (same checksum, same length; none for an empty pack), indexes
 * exactly the objects the guard counted, and writes no `shallow` file. One exception, by
 * design: a ref-delta whose base is in neither the pack nor the repository. The guard does not
 * hash objects, so it cannot know; isomorphic-git indexes the pack without that object, and the
 * source step then refuses the fetch because a new commit's tree is incomplete (fetch.ts). The
 * property checks that this is the only way the counts differ: fewer objects indexed, and native
 * `git index-pack --strict` refusing the same pack for an unresolved delta.
 * Set FC_SEED to replay a failure that fast-check reported.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs, { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { after, before, test } from "node:test";
import fc from "fast-check";
import git, { type GitHttpRequest, type GitHttpResponse } from "isomorphic-git";
import { inspectUploadPackResponse, type PackVerdict } from "../../agent/src/source/pack-guard.js";
import { WorkRepo, makeBare, makeTempDir, removeDir } from "../helpers/keys.js";
import { DELIM, FLUSH, band, pkt, upload, uploadPackResponse, withTrailer } from "../helpers/pack-bytes.js";

const seed = process.env["FC_SEED"] === undefined ? {} : { seed: Number(process.env["FC_SEED"]) };
let dir: string;
let tip: string;
/** Valid responses: the protocol lines and the pack of each. */
let bases: { lines: string[]; pack: Buffer }[];
let runs = 0;

before(() => {
  dir = makeTempDir();
  const bare = makeBare(join(dir, "srv.git"));
  const work = WorkRepo.create(join(dir, "work"));
  const lines = Array.from({ length: 200 }, (_, i) => `key${i}: value ${i}\n`);
  const first = work.write("cluster.yaml", lines.join("")).write("README", "hello\n").commit("one");
  for (let c = 0; c < 3; c++) {
    lines[c * 50] = `key${c * 50}: changed ${c}\n`;
    tip = work.write("cluster.yaml", lines.join("")).commit(`edit ${c}`);
  }
  work.push(bare);
  const refDeltas = execFileSync("git", ["-C", bare, "pack-objects", "--stdout", "-q", "--revs"], { input: `${tip}\n` });
  bases = [
    ...[upload(bare, tip), upload(bare, tip, first), upload(bare, tip, tip)].map(split),
    { lines: ["NAK\n"], pack: refDeltas },
  ];
  for (const b of bases) assert.ok(inspectUploadPackResponse(uploadPackResponse(b.pack, { lines: b.lines })).ok);
});

after(() => removeDir(dir));

/** split takes a response apart into its protocol lines and its pack (a test-side demultiplexer). */
function split(response: Buffer): { lines: string[]; pack: Buffer } {
  const lines: string[] = [];
  const pack: Buffer[] = [];
  for (let at = 0; at < response.length; ) {
    const len = parseInt(response.toString("latin1", at, at + 4), 16);
    if (len < 4) {
      at += 4;
      continue;
    }
    const payload = response.subarray(at + 4, at + len);
    if (payload[0] === 1) pack.push(payload.subarray(1));
    else if (payload[0] !== 2) lines.push(payload.toString("latin1"));
    at += len;
  }
  return { lines, pack: Buffer.concat(pack) };
}

// ---------------------------------------------------------------------------------------------
// Responses: a valid one, re-framed, then mutated.

const EXTRA_PACKETS = [FLUSH, DELIM, band(1, ""), band(2, "Counting objects\r"), band(3, "fatal"), pkt("NAK\n"), pkt(`ACK ${"a".repeat(40)}\n`), pkt(`shallow ${"a".repeat(40)}\n`), pkt(""), pkt("ERR no\n"), Buffer.from("0002"), Buffer.from("PACK")];

const framing = fc.record({
  base: fc.nat(),
  chunk: fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 65515 }), fc.constant(65515)),
  upper: fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
  acks: fc.boolean(),
  /** Harmless packets after the acknowledgement: flush, delim, keep-alive, progress. */
  harmless: fc.array(fc.record({ at: fc.nat(), which: fc.integer({ min: 0, max: 3 }) }), { maxLength: 4 }),
});

const mutation = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("case" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("packet" as const), at: fc.nat(), which: fc.nat({ max: EXTRA_PACKETS.length - 1 }) }),
);

const packMutation = fc.oneof(
  fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), length: fc.integer({ min: 1, max: 16 }) }),
);

type Framed = { response: Buffer; boundaries: number[]; hexLetters: number[] };

/** frame builds a response packet by packet, remembering where packets start and hex letters are. */
function frame(f: FramingChoice, pack: Buffer, lines: readonly string[]): Framed {
  const packets: Buffer[] = [];
  let n = 0;
  const upper = (): boolean => f.upper[n++ % f.upper.length] as boolean;
  const all = f.acks && lines.length === 1 && lines[0]?.startsWith("ACK ") ? [`${(lines[0] as string).trimEnd()} common\n`, ...lines] : lines;
  for (const l of all) packets.push(pkt(l, upper()));
  const data: Buffer[] = [];
  for (let i = 0; i < pack.length; i += f.chunk) data.push(band(1, pack.subarray(i, i + f.chunk), upper()));
  const harmless = [FLUSH, DELIM, band(1, ""), band(2, "Total 3\n")];
  for (const h of f.harmless) data.splice(h.at % (data.length + 1), 0, harmless[h.which] as Buffer);
  packets.push(...data, FLUSH);
  const boundaries: number[] = [];
  const hexLetters: number[] = [];
  let at = 0;
  for (const p of packets) {
    boundaries.push(at);
    for (let i = 0; i < 4; i++) if (/[a-fA-F]/.test(String.fromCharCode(p[i] as number))) hexLetters.push(at + i);
    at += p.length;
  }
  boundaries.push(at);
  return { response: Buffer.concat(packets), boundaries, hexLetters };
}

interface FramingChoice {
  readonly base: number;
  readonly chunk: number;
  readonly upper: readonly boolean[];
  readonly acks: boolean;
  readonly harmless: readonly { at: number; which: number }[];
}
type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;
type PackMutation = typeof packMutation extends fc.Arbitrary<infer T> ? T : never;

function mutatePack(pack: Buffer, ms: readonly PackMutation[]): Buffer {
  let body: Buffer = Buffer.from(pack.subarray(0, pack.length - 20));
  for (const m of ms) body = applyBytes(body, m);
  return withTrailer(body);
}

function applyBytes(b: Buffer, m: PackMutation | Mutation): Buffer {
  if (b.length === 0) return b;
  const at = m.at % b.length;
  switch (m.kind) {
    case "flip": {
      const c = Buffer.from(b);
      c[at] = m.value;
      return c;
    }
    case "insert":
      return Buffer.concat([b.subarray(0, at), Buffer.from(m.bytes), b.subarray(at)]);
    case "delete":
      return Buffer.concat([b.subarray(0, at), b.subarray(at + m.length)]);
    case "cut":
      return b.subarray(0, at);
    default:
      return b;
  }
}

function mutate(f: Framed, ms: readonly Mutation[]): Buffer {
  // Packets go in at packet boundaries and letters change case on the clean framing first.
  let r: Buffer = Buffer.from(f.response);
  const inserts: { at: number; packet: Buffer }[] = [];
  for (const m of ms) {
    if (m.kind === "case" && f.hexLetters.length > 0) {
      const at = f.hexLetters[m.at % f.hexLetters.length] as number;
      r[at] = (r[at] as number) ^ 0x20;
    } else if (m.kind === "packet") inserts.push({ at: f.boundaries[m.at % f.boundaries.length] as number, packet: EXTRA_PACKETS[m.which] as Buffer });
  }
  inserts.sort((a, b) => b.at - a.at);
  for (const i of inserts) r = Buffer.concat([r.subarray(0, i.at), i.packet, r.subarray(i.at)]);
  for (const m of ms) if (m.kind !== "case" && m.kind !== "packet") r = applyBytes(r, m);
  return r;
}

// ---------------------------------------------------------------------------------------------
// isomorphic-git's reading of a response: a fetch through a stub http into a fresh repository.

interface IsoReading {
  readonly ok: boolean;
  readonly error?: string;
  readonly packs: { name: string; bytes: number; objects: number }[];
  readonly shallow: boolean;
}

async function isomorphicReads(response: Buffer): Promise<IsoReading> {
  const gitdir = join(dir, "iso", String(runs++));
  mkdirSync(gitdir, { recursive: true });
  await git.init({ fs, dir: gitdir, bare: true, defaultBranch: "main" });
  await git.addRemote({ fs, gitdir, remote: "origin", url: "http://fuzz.invalid/repo" });
  const http = {
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const head = { url: req.url, statusCode: 200, statusMessage: "OK" };
      if ((req.method ?? "GET") === "GET") {
        const ad = Buffer.concat([pkt("# service=git-upload-pack\n"), FLUSH, pkt(`${tip} HEAD\0multi_ack_detailed no-done side-band-64k ofs-delta shallow symref=HEAD:refs/heads/main\n`), pkt(`${tip} refs/heads/main\n`), FLUSH]);
        return { ...head, method: "GET", headers: { "content-type": "application/x-git-upload-pack-advertisement" }, body: (async function* () { yield ad; })() };
      }
      for await (const _ of req.body ?? []) void _;
      return { ...head, method: "POST", headers: { "content-type": "application/x-git-upload-pack-result" }, body: (async function* () { yield response; })() };
    },
  };
  let error: string | undefined;
  try {
    await git.fetch({ fs, http, gitdir, cache: {}, remote: "origin", url: "http://fuzz.invalid/repo", singleBranch: true, ref: "refs/remotes/origin/main", remoteRef: "refs/heads/main", tags: false });
  } catch (e) {
    error = e instanceof Error ? `${(e as { code?: string }).code ?? ""} ${e.message}` : String(e);
  }
  const packDir = join(gitdir, "objects", "pack");
  const packs = readdirSync(packDir)
    .filter((f) => f.endsWith(".pack"))
    .map((f) => {
      const idx = join(packDir, f.replace(/\.pack$/, ".idx"));
      return { name: f, bytes: statSync(join(packDir, f)).size, objects: existsSync(idx) ? readFileSync(idx).readUInt32BE(8 + 255 * 4) : -1 };
    });
  const shallow = existsSync(join(gitdir, "shallow"));
  removeDir(gitdir);
  return { ok: error === undefined, ...(error === undefined ? {} : { error }), packs, shallow };
}

function assertSameReading(v: Extract<PackVerdict, { ok: true }>, iso: IsoReading, response: Buffer): void {
  assert.equal(iso.ok, true, `isomorphic-git failed on a response the guard passed: ${iso.error}`);
  assert.equal(iso.shallow, false, "isomorphic-git wrote a shallow file");
  const want = v.objects === 0 ? [] : [{ name: `pack-${v.checksum}.pack`, bytes: v.packBytes, objects: v.objects }];
  const stored = iso.packs[0];
  if (stored !== undefined && iso.packs.length === 1 && stored.objects < v.objects && unresolvedDelta(split(response).pack)) {
    assert.deepEqual(iso.packs, [{ ...want[0], objects: stored.objects }], "isomorphic-git stored another pack than the guard inspected");
    return;
  }
  assert.deepEqual(iso.packs, want, "isomorphic-git stored another pack than the guard inspected");
}

/** unresolvedDelta says whether native git refuses `pack` for a delta whose base it lacks. */
function unresolvedDelta(pack: Buffer): boolean {
  const gitdir = join(dir, "native", String(runs++));
  mkdirSync(gitdir, { recursive: true });
  execFileSync("git", ["init", "-q", "--bare", gitdir]);
  const r = spawnSync("git", ["-C", gitdir, "index-pack", "--stdin", "--strict"], { input: pack, encoding: "utf8" });
  removeDir(gitdir);
  return r.status !== 0 && /unresolved delta/.test(r.stderr);
}

/** fast-check keeps the failed assertion as the cause; show it next to the counterexample. */
function withCause(e: unknown): never {
  if (e instanceof Error && e.cause instanceof Error) e.message = `${e.cause.message}\n${e.message}`;
  throw e;
}

function run<Ts>(property: fc.IPropertyWithHooks<Ts>, numRuns: number): void {
  try {
    fc.assert(property, { numRuns, ...seed });
  } catch (e) {
    withCause(e);
  }
}

async function runAsync<Ts>(property: fc.IAsyncPropertyWithHooks<Ts>, numRuns: number): Promise<void> {
  try {
    await fc.assert(property, { numRuns, ...seed });
  } catch (e) {
    withCause(e);
  }
}

// ---------------------------------------------------------------------------------------------

test("the guard never throws, on mutated responses and on random bytes", () => {
  run(
    fc.property(framing, fc.array(mutation, { maxLength: 4 }), fc.array(packMutation, { maxLength: 2 }), (f, ms, pms) => {
      const b = bases[f.base % bases.length] as { lines: string[]; pack: Buffer };
      inspectUploadPackResponse(mutate(frame(f, pms.length > 0 ? mutatePack(b.pack, pms) : b.pack, b.lines), ms));
    }),
    1500,
  );
  run(
    fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      inspectUploadPackResponse(bytes);
      inspectUploadPackResponse(Buffer.concat([pkt("NAK\n"), band(1, Buffer.from("PACK")), Buffer.from(bytes)]));
    }),
    1500,
  );
});

/** What is done to a valid response: packets and letter case only (as a server may vary), any bytes, or pack bytes. */
const damage = fc.oneof(
  { weight: 3, arbitrary: fc.record({ frame: fc.array(fc.oneof(fc.record({ kind: fc.constant("case" as const), at: fc.nat() }), fc.record({ kind: fc.constant("packet" as const), at: fc.nat(), which: fc.nat({ max: EXTRA_PACKETS.length - 1 }) })), { minLength: 1, maxLength: 3 }), pack: fc.constant([] as PackMutation[]) }) },
  { weight: 1, arbitrary: fc.record({ frame: fc.array(mutation, { minLength: 1, maxLength: 3 }), pack: fc.constant([] as PackMutation[]) }) },
  { weight: 1, arbitrary: fc.record({ frame: fc.constant([] as Mutation[]), pack: fc.array(packMutation, { minLength: 1, maxLength: 2 }) }) },
);

test("every response the guard passes, isomorphic-git reads the same way", async () => {
  let passed = 0;
  let refused = 0;
  await runAsync(
    fc.asyncProperty(framing, damage, async (f, d) => {
      const b = bases[f.base % bases.length] as { lines: string[]; pack: Buffer };
      const response = mutate(frame(f, d.pack.length > 0 ? mutatePack(b.pack, d.pack) : b.pack, b.lines), d.frame);
      const v = inspectUploadPackResponse(response);
      if (!v.ok) {
        refused++;
        return;
      }
      passed++;
      assertSameReading(v, await isomorphicReads(response), response);
    }),
    400,
  );
  // Both sides of the property were exercised.
  assert.ok(passed >= 50, `only ${passed} responses passed`);
  assert.ok(refused >= 50, `only ${refused} responses were refused`);
});
