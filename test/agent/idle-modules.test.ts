/**
 * What the waiting agent loads (run-isolated.ts, docs/agent.md "Memory"): the loop holds the
 * lock, the timer, the watches and the logger; the flow — isomorphic-git, reconcile, the
 * drivers, the status writer — is loaded only by the run worker, and goes with it.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { test } from "node:test";
import { REPO_ROOT } from "../helpers/cli.js";
import { makeTempDir, removeDir } from "../helpers/keys.js";

/** loadedBy imports `modules` in a fresh node and returns every module URL that loaded (a module.register resolve hook lists them). */
async function loadedBy(modules: readonly string[]): Promise<string[]> {
  const dir = makeTempDir("steward-idle-modules-");
  try {
    const list = join(dir, "loaded.txt");
    const hooks = join(dir, "hooks.mjs");
    writeFileSync(hooks, `import { appendFileSync } from "node:fs";\nexport async function resolve(specifier, context, next) {\n  const r = await next(specifier, context);\n  appendFileSync(${JSON.stringify(list)}, r.url + "\\n");\n  return r;\n}\n`);
    const register = join(dir, "register.mjs");
    writeFileSync(register, `import { register } from "node:module";\nregister(${JSON.stringify(pathToFileURL(hooks).href)});\n`);
    writeFileSync(list, "");
    const script = modules.map((m) => `await import(${JSON.stringify(pathToFileURL(join(REPO_ROOT, m)).href)});`).join("\n");
    await promisify(execFile)(process.execPath, ["--import", pathToFileURL(register).href, "--input-type=module", "-e", script], { cwd: REPO_ROOT });
    return readFileSync(list, "utf8").split("\n").filter((l) => l !== "");
  } finally {
    removeDir(dir);
  }
}

test("the agent's loop does not load the flow: the run worker does", async () => {
  const loop = await loadedBy(["build/agent/src/cli/agent.js"]);
  assert.ok(loop.some((u) => u.endsWith("/agent/src/agent/run-isolated.js")), "the loop loads the run worker's handle");
  for (const heavy of ["/node_modules/isomorphic-git/", "/agent/src/reconcile.js", "/agent/src/agent/run.js", "/agent/src/status/status.js", "/agent/src/drivers/", "/agent/src/source/fetch-isolated.js"]) {
    assert.deepEqual(loop.filter((u) => u.includes(heavy)), [], `the loop loads ${heavy}`);
  }
  // The probe sees what a run loads: the worker's entry loads all of it.
  const run = await loadedBy(["build/agent/src/agent/run.js"]);
  for (const heavy of ["/node_modules/isomorphic-git/", "/agent/src/reconcile.js", "/agent/src/status/status.js"]) assert.ok(run.some((u) => u.includes(heavy)), `a run loads ${heavy}`);
});
