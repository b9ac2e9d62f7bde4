/**
 * A separate process that runs applyNode, for the tests that need a second agent or a crash:
 *   node build/test/apply/apply-child.js INPUT.json
 * INPUT: {desired, stateDir, killAfter?, nowMs?, drivers?}. With killAfter = N, the process SIGKILLs itself right
 * before the (N+1)-th command that changes the host (a crash mid-apply: no finally runs).
 * nowMs is the clock the drivers read (backups: what is due); drivers names the registry's drivers
 * to run (default all). Pipelines run as they are.
 * Prints one JSON line: {ok, actions} or {error: code}.
 */
import { readFileSync } from "node:fs";
import { systemExecutor, type Executor } from "../../agent/src/exec.js";
import { isStewardError } from "../../agent/src/errors.js";
import { silentLogger } from "../../agent/src/log.js";
import type { DesiredState } from "../../agent/src/manifest/types.js";
import { applyNode } from "../../agent/src/reconcile.js";
import { DRIVERS } from "../../agent/src/drivers/registry.js";

const input = JSON.parse(readFileSync(process.argv[2] as string, "utf8")) as { desired: DesiredState; stateDir: string; killAfter?: number; nowMs?: number; drivers?: string[] };
let changes = 0;
const executor: Executor = {
  writeFile(path, data, mode) {
    if (input.killAfter !== undefined && changes === input.killAfter) process.kill(process.pid, "SIGKILL");
    changes++;
    return systemExecutor.writeFile(path, data, mode);
  },
  run(argv, options) {
    if (argv[1] !== "get") {
      if (input.killAfter !== undefined && changes === input.killAfter) process.kill(process.pid, "SIGKILL");
      changes++;
    }
    return systemExecutor.run(argv, options);
  },
  pipe: systemExecutor.pipe,
};
const nowMs = input.nowMs;
const names = input.drivers;
const drivers = names === undefined ? DRIVERS : DRIVERS.filter((d) => names.includes(d.name));

try {
  const run = await applyNode(input.desired, { executor, stateDir: input.stateDir, log: silentLogger, drivers, ...(nowMs === undefined ? {} : { now: () => nowMs }) });
  process.stdout.write(`${JSON.stringify({ ok: run.result.ok, actions: run.plan.actions.length })}\n`);
} catch (e) {
  process.stdout.write(`${JSON.stringify({ error: isStewardError(e) ? e.code : String(e) })}\n`);
  process.exitCode = 1;
}
