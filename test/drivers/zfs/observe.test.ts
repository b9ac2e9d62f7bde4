/**
 * observeZfs against a real pool (zfs-fuse): one command, absent root, managed vs hand-made.
 */
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { observeZfs } from "../../../agent/src/drivers/zfs/observe.js";
import { appliedRecordPath } from "../../../agent/src/drivers/zfs/state.js";
import { systemExecutor } from "../../../agent/src/exec.js";
import { isStewardError } from "../../../agent/src/errors.js";
import { silentLogger } from "../../../agent/src/log.js";
import { createTestPool, zfsOk, type TestPool } from "../../helpers/zfs-pool.js";
import { RecordingExecutor } from "../../helpers/recording-executor.js";
import { ds } from "./build.js";

let pool: TestPool;
let state: string;
before(async () => {
  pool = await createTestPool();
  state = await mkdtemp(join(tmpdir(), "steward-observe-"));
});
after(async () => {
  await pool?.destroy();
  if (state !== undefined) await rm(state, { recursive: true, force: true });
});

test("a pool without <pool>/steward observes as nothing, in exactly one command", async () => {
  const ex = new RecordingExecutor([], systemExecutor);
  const o = await observeZfs({ pool: pool.name, datasets: [] }, { executor: ex, stateDir: state, log: silentLogger });
  assert.deepEqual([o.root, o.rootExists, o.datasets.length], [`${pool.name}/steward`, false, 0]);
  assert.equal(ex.calls.length, 1);
});

test("managed and hand-made datasets, user properties and the applied record are observed", async () => {
  const root = `${pool.name}/steward`;
  await zfsOk(["zfs", "create", "-o", "org.steward:managed=yes", "-o", "mountpoint=none", root]);
  await zfsOk(["zfs", "create", "-o", "org.steward:managed=yes", "-o", "org.example:backup=daily", "-o", `mountpoint=${pool.dir}/a`, `${root}/a`]);
  await zfsOk(["zfs", "create", `${root}/byhand`]);
  await zfsOk(["zfs", "snapshot", `${root}/a@s1`]);
  await mkdir(join(state, "zfs"), { recursive: true });
  await writeFile(appliedRecordPath(state), JSON.stringify({ version: 1, datasets: { [`${root}/a`]: { "org.example:backup": "daily" } } }));

  const ex = new RecordingExecutor([], systemExecutor);
  const o = await observeZfs({ pool: pool.name, datasets: [ds(`${root}/a`, { "org.example:backup": "weekly" })] }, { executor: ex, stateDir: state, log: silentLogger });
  assert.equal(ex.calls.length, 1);
  assert.ok(ex.calls[0]?.includes("org.steward:managed,guid,mounted,origin,atime,compression,mountpoint,quota,recordsize,org.example:backup"));
  assert.deepEqual(
    o.datasets.map((d) => [d.name, d.managed, d.snapshots]),
    [
      [root, true, 0],
      [`${root}/a`, true, 1],
      [`${root}/byhand`, false, 0],
    ],
  );
  const a = o.datasets[1];
  assert.deepEqual(a?.properties["org.example:backup"], { value: "daily", source: "local" });
  assert.match(a?.guid ?? "", /^\d+$/);
  assert.deepEqual(o.applied.datasets[`${root}/a`], { "org.example:backup": "daily" });
});

test("a zfs failure other than a missing root is OBSERVE_FAILED", async () => {
  await assert.rejects(
    observeZfs({ pool: pool.name, datasets: [ds(`${pool.name}/steward/a`, { nosuchprop: "on" })] }, { executor: systemExecutor, stateDir: undefined, log: silentLogger }),
    (e: unknown) => isStewardError(e) && e.code === "OBSERVE_FAILED" && e.retry === "transient",
  );
});
