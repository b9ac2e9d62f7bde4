/** `steward --version` and the status reports' agent version say what package.json says. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { STEWARD_VERSION } from "../agent/src/version.js";
import { REPO_ROOT, runCli } from "./helpers/cli.js";

test("the version is package.json's", async () => {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as { version: string };
  assert.equal(STEWARD_VERSION, pkg.version);
  assert.equal((await runCli(["--version"])).stdout.trim(), pkg.version);
});
