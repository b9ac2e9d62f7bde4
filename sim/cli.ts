/**
 * The process wrapper every simulated tool's entry point uses: builds the context, runs the
 * tool, records the call in `$STEWARD_SIM_ROOT/calls.jsonl` and exits with the tool's status.
 * A missing STEWARD_SIM_ROOT is a configuration error (exit 78, EX_CONFIG); a bug in the
 * simulator exits 70 (EX_SOFTWARE) with the stack, never a status a real tool could return
 * for a normal failure.
 */
import { appendFileSync } from "node:fs";
import { join } from "node:path";
import { currentJail, makeCtx, type Ctx } from "./context.js";
import { hangIfFaulted, loadFaults } from "./faults.js";
import { processIo } from "./io.js";
import { SimConfigError } from "./state.js";

export type Tool = (argv: readonly string[], ctx: Ctx) => number;

export function runMain(prog: string, tool: Tool): void {
  const argv = process.argv.slice(2);
  let ctx: Ctx;
  try {
    ctx = makeCtx(prog, processIo);
  } catch (e) {
    processIo.err(`${prog}: ${(e as Error).message}\n`);
    process.exitCode = 78;
    return;
  }
  let code: number;
  try {
    hangIfFaulted(ctx.sim, loadFaults(ctx.sim, ctx.env), currentJail(ctx)?.name, prog, argv);
    code = tool(argv, ctx);
  } catch (e) {
    if (e instanceof SimConfigError) {
      processIo.err(`${prog}: ${e.message}\n`);
      code = 78;
    } else {
      processIo.err(`${prog}: internal simulator error: ${(e as Error).stack ?? String(e)}\n`);
      code = 70;
    }
  }
  try {
    appendFileSync(join(ctx.sim, "calls.jsonl"), `${JSON.stringify({ time: new Date().toISOString(), tool: prog, argv, jid: ctx.jid, cwd: ctx.cwd, exit: code })}\n`);
  } catch {
    // the record is for tests' convenience; a full disk must not change the tool's answer
  }
  process.exitCode = code;
}
