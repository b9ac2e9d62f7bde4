/**
 * A separate process that takes a file lock, for the tests that need another holder:
 *   node build/test/helpers/lock-holder.js '{"path": "...", ...}'
 * Input: path; waitMs; clockOffsetMs, added to Date.now before anything runs (a clock that
 * ntpd will step). It takes the lock at once and prints one JSON line, {held: true, pid} or
 * {error: code}, then keeps the lock until its stdin ends (it releases and exits) or it is killed.
 * With `go: true` it takes turns instead, so that several processes can race round after
 * round: it prints {ready: true}, takes the lock on the next stdin line and prints the answer,
 * releases it on the line after, and starts over; at the end of stdin it releases and exits.
 */
import { createInterface } from "node:readline";
import { acquireFileLock, type FileLock } from "../../agent/src/file-lock.js";
import { isStewardError } from "../../agent/src/errors.js";
import { silentLogger } from "../../agent/src/log.js";

const input = JSON.parse(process.argv[2] as string) as { path: string; waitMs?: number; clockOffsetMs?: number; go?: boolean };
if (input.clockOffsetMs !== undefined) {
  const realNow = Date.now.bind(Date);
  const offset = input.clockOffsetMs;
  Date.now = () => realNow() + offset;
}
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const say = (o: object): void => void process.stdout.write(`${JSON.stringify(o)}\n`);

async function take(): Promise<FileLock | undefined> {
  try {
    const lock = await acquireFileLock(input.path, { log: silentLogger, code: "APPLY_LOCKED", what: "test", hint: "", ...(input.waitMs === undefined ? {} : { waitMs: input.waitMs }) });
    say({ held: true, pid: process.pid });
    return lock;
  } catch (e) {
    say({ error: isStewardError(e) ? e.code : String(e) });
    return undefined;
  }
}

if (input.go === true) {
  for (;;) {
    say({ ready: true });
    if ((await lines.next()).done === true) break;
    const lock = await take();
    const release = await lines.next();
    await lock?.release();
    if (release.done === true) break;
  }
} else {
  const lock = await take();
  if (lock === undefined) process.exitCode = 1;
  while ((await lines.next()).done !== true);
  await lock?.release();
}
