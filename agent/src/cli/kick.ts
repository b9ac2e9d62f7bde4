/**
 * `steward kick`: wake the running agent now (it watches `<state>/kick`).
 */
import { writeFile } from "node:fs/promises";
import { DEFAULT_CONFIG_PATH, loadConfig } from "../config.js";
import { StewardError } from "../errors.js";
import { kickFile } from "../agent/wake.js";
import { EXIT_OK, type Command } from "./command.js";

export const kickCommand: Command = {
  name: "kick",
  usage: [
    "usage: steward kick [--config FILE] [--json]",
    "",
    "Wakes the running agent so that it runs now instead of at the end of its interval: writes",
    "<state>/kick, which the agent watches (as SIGHUP does: `service steward reload`). A wake",
    "during a run starts another run right after it. Does nothing visible when no agent runs.",
    "",
    `  --config FILE  the agent configuration (default ${DEFAULT_CONFIG_PATH})`,
  ].join("\n"),
  options: { config: { type: "string" } },
  allowPositionals: false,
  async run(values, _positionals, io) {
    const config = await loadConfig(typeof values["config"] === "string" ? values["config"] : DEFAULT_CONFIG_PATH);
    const file = kickFile(config.state);
    try {
      await writeFile(file, `${new Date().toISOString()}\n`);
    } catch (e) {
      throw new StewardError("AGENT_KICK_FAILED", `cannot write ${file}: ${e instanceof Error ? e.message : String(e)}`, {
        retry: "stalled",
        data: { file },
        hint: "run as the agent's user (root), or send the agent SIGHUP (service steward reload)",
      });
    }
    if (values["json"] === true) io.out(JSON.stringify({ ok: true, kicked: file }));
    else io.out(`kicked: ${file}`);
    return EXIT_OK;
  },
};
