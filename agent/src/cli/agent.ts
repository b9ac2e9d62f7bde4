/**
 * `steward agent`: run the node's agent in the foreground (rc.d runs it under daemon(8)).
 */
import { DEFAULT_CONFIG_PATH, loadConfig } from "../config.js";
import { StewardError } from "../errors.js";
import { runAgent } from "../agent/agent.js";
import { EXIT_OK, EXIT_PROBLEM, type Command } from "./command.js";

export const agentCommand: Command = {
  name: "agent",
  usage: [
    "usage: steward agent [--config FILE] [--once] [--json]",
    "",
    "Keeps this node converged: every `interval:` seconds (default 60, up to 10% sooner), and at",
    "once on SIGHUP, on `steward kick`, or when a remote that is a local path moves, it runs the",
    "whole flow: fetch and verify (as `steward fetch`), validate, observe, plan, apply and record",
    "(as `steward apply`), then writes this run's status report as a commit on `status/<node>`",
    "signed with the node's `key:` and pushes it to every remote (queued while none takes it).",
    "A run with nothing to do writes nothing but a heartbeat every `heartbeat:` seconds (900).",
    "Transient failures (remotes down, a lock held, a failed command) are retried after 5 s, 10 s,",
    "20 s ... up to the interval; a refused signature or an invalid manifest waits for a new",
    "revision while the last applied one stays converged. SIGTERM lets the action in progress",
    "finish, queues the report and exits 0. One agent runs per state directory.",
    "",
    `  --config FILE  the agent configuration (default ${DEFAULT_CONFIG_PATH}); needs key:`,
    "  --once         one run, then exit (1 when it did not converge)",
    "  --json         with --once: print {ok, verdict, decision, revision, status} as JSON",
    "",
    "Logs: one line per action and per run that did something (STEWARD_LOG=debug for every run).",
    "Exit status: 0 stopped by SIGTERM/SIGINT (or --once converged), 1 another agent runs",
    "(AGENT_RUNNING), the configuration is invalid, or --once did not converge; 2 usage.",
  ].join("\n"),
  options: { config: { type: "string" }, once: { type: "boolean" } },
  allowPositionals: false,
  async run(values, _positionals, io) {
    const path = typeof values["config"] === "string" ? values["config"] : DEFAULT_CONFIG_PATH;
    const config = await loadConfig(path);
    const key = config.key;
    if (key === undefined) {
      throw new StewardError("CONFIG_INVALID", `${config.file}: the agent needs key: (the node's SSH key signs its status reports)`, {
        data: { file: config.file },
        where: { file: config.file, line: 1, column: 1 },
        hint: "add key: /usr/local/etc/steward/id_ed25519 (steward init creates it), and its public half as key: in nodes/<node>.yaml",
      });
    }
    const once = values["once"] === true;
    const log = process.env["STEWARD_LOG"] === undefined ? io.log.child({}, { level: "info" }) : io.log;
    const last = await runAgent({ config: { ...config, key }, log, once });
    const ok = last === undefined || last.verdict.kind === "converged";
    if (once && values["json"] === true) {
      io.out(
        JSON.stringify(
          {
            ok,
            verdict: last?.verdict ?? null,
            decision: last?.decision ?? null,
            revision: last?.revision ?? null,
            recorded: last?.recorded ?? null,
            error: last?.error ?? null,
            status: last?.status ?? null,
          },
          null,
          2,
        ),
      );
    } else if (once && last !== undefined) {
      io.out(`${ok ? "converged" : `not converged (${last.verdict.code})`}: ${last.decision ?? "no source"} ${last.revision ?? ""}`.trimEnd());
      io.out(`status: ${last.status.commit.action}; ${last.status.pushes.map((p) => `${p.remote} ${p.status}`).join(", ") || "not pushed"}`);
    }
    return once && !ok ? EXIT_PROBLEM : EXIT_OK;
  },
};
