/**
 * What every subcommand shares: the Command shape, option parsing with node:util parseArgs,
 * typed usage errors, and the mapping of outcomes to exit codes.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { StewardError, isStewardError, renderDiagnostic, type Diagnostic, type Where } from "../errors.js";
import { createLogger, logSettings, LOG_LEVELS, type Logger } from "../log.js";
import { STEWARD_VERSION } from "../version.js";

export const EXIT_OK = 0;
export const EXIT_PROBLEM = 1;
export const EXIT_USAGE = 2;
export const EXIT_INTERNAL = 3;

export type Options = NonNullable<ParseArgsConfig["options"]>;

/** Options every command takes. */
const GLOBAL_OPTIONS: Options = {
  json: { type: "boolean" },
  "log-format": { type: "string" },
};

export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly log: Logger;
  /** stdout is a terminal: a command may draw for people there (a progress bar). Absent: no. */
  readonly isTTY?: boolean;
}

export interface Command {
  readonly name: string;
  /** Full usage for `steward NAME --help`. */
  readonly usage: string;
  readonly options: Options;
  readonly allowPositionals: boolean;
  run(values: Record<string, unknown>, positionals: string[], io: Io): Promise<number>;
}

/**
 * A subcommand as `steward --help` lists it. The module is loaded only when the command runs,
 * so that `steward validate` does not pay for isomorphic-git or the drivers.
 */
export interface CommandEntry {
  readonly name: string;
  /** One line for `steward --help`. */
  readonly summary: string;
  readonly load: () => Promise<Command>;
}

export function usageText(commands: readonly CommandEntry[]): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    "usage: steward <command> [options]",
    "",
    "Steward keeps this node's ZFS datasets, jails, pf rules and backups as the signed cluster repo says.",
    "",
    "commands:",
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    "",
    "Every command takes --json for machine-readable output and --help for its options",
    "(`steward help <command>` says the same).",
    "Exit status: 0 ok, 1 a problem was found (printed), 2 usage error, 3 internal error.",
    "",
    "Logs go to stderr, never to stdout: short lines (`warn: message key=value`) when stderr is",
    "a terminal, JSON lines (pino) when it is not. --log-format text|json (or STEWARD_LOG_FORMAT)",
    `chooses; STEWARD_LOG sets the level (${LOG_LEVELS.join(", ")}; default warn).`,
  ].join("\n");
}

/** usageError is thrown by commands for bad arguments; runCommand turns it into exit 2. */
export function usageError(message: string): StewardError {
  return new StewardError("USAGE", message, { hint: "see steward --help" });
}

/**
 * runCommand dispatches argv to a command and returns the exit code. It prints usage errors
 * and typed errors itself (text, or JSON with --json); an untyped exception is an internal error.
 */
export async function runCommand(commands: readonly CommandEntry[], argv: readonly string[]): Promise<number> {
  const usage = usageText(commands);
  const out = (t: string): void => void process.stdout.write(t.endsWith("\n") ? t : `${t}\n`);
  const err = (t: string): void => void process.stderr.write(t.endsWith("\n") ? t : `${t}\n`);
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || (name === "help" && rest.length === 0)) {
    (name === undefined ? err : out)(usage);
    return name === undefined ? EXIT_USAGE : EXIT_OK;
  }
  if (name === "help") {
    // `steward help X` is `steward X --help`.
    const topic = commands.find((c) => c.name === rest[0]);
    if (topic === undefined || rest.length > 1) {
      err(`steward help: ${rest.length > 1 ? "one command at a time" : `unknown command '${rest[0] ?? ""}'`}; the commands are ${commands.map((c) => c.name).join(", ")}`);
      return EXIT_USAGE;
    }
    out((await topic.load()).usage);
    return EXIT_OK;
  }
  if (name === "--version") {
    out(STEWARD_VERSION);
    return EXIT_OK;
  }
  const entry = commands.find((c) => c.name === name);
  if (entry === undefined) {
    err(`steward: unknown command '${name}'\n\n${usage}`);
    return EXIT_USAGE;
  }
  const json = rest.includes("--json");
  const command = await entry.load();
  try {
    if (rest.includes("--help") || rest.includes("-h")) {
      out(command.usage);
      return EXIT_OK;
    }
    let parsed;
    try {
      parsed = parseArgs({
        args: [...rest],
        options: { ...GLOBAL_OPTIONS, ...command.options },
        allowPositionals: command.allowPositionals,
        strict: true,
      });
    } catch (e) {
      throw usageError(e instanceof Error ? e.message : String(e));
    }
    const logFormat = parsed.values["log-format"];
    const settings = logSettings(process.env, typeof logFormat === "string" ? logFormat : undefined, process.stderr.isTTY === true);
    if ("problem" in settings) throw usageError(settings.problem);
    const log = createLogger(settings).child({ command: name });
    return await command.run(parsed.values, parsed.positionals, { out, err, log, isTTY: process.stdout.isTTY === true });
  } catch (e) {
    const se = isStewardError(e) ? e : new StewardError("INTERNAL", e instanceof Error ? (e.stack ?? e.message) : String(e), { retry: "internal" });
    if (json) out(JSON.stringify({ ok: false, error: se.toJSON() }, null, 2));
    else {
      const diagnostics = configDiagnostics(se);
      if (diagnostics.length > 0) for (const d of diagnostics) err(renderDiagnostic(d));
      else {
        err(`steward ${name}: ${se.code}: ${se.message}`);
        if (se.hint !== undefined) err(`  hint: ${se.hint}`);
        if (se.code === "USAGE") err(command.usage);
      }
    }
    return se.code === "USAGE" ? EXIT_USAGE : se.code === "INTERNAL" ? EXIT_INTERNAL : EXIT_PROBLEM;
  }
}

/**
 * configDiagnostics is every problem of an invalid agent configuration (CONFIG_INVALID carries
 * them all in `data.problems`, config.ts), as diagnostics to print one by one, as validate
 * prints a manifest's; empty for any other error.
 */
function configDiagnostics(e: StewardError): Diagnostic[] {
  const problems = e.code === "CONFIG_INVALID" ? e.data["problems"] : undefined;
  if (!Array.isArray(problems)) return [];
  return (problems as { message: string; where: Where; hint: string }[]).map((p) => ({ code: "CONFIG_INVALID", severity: "error", message: p.message, where: p.where, ...(p.hint === "" ? {} : { hint: p.hint }) }));
}
