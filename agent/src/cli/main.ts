#!/usr/bin/env node
/**
 * The `steward` command: parses the subcommand name and hands the rest of argv to the file
 * that implements it (one file per subcommand, each exporting a `Command`).
 * Exit codes: 0 success, 1 the command ran and found a problem, 2 usage, 3 internal error.
 */
import type { Command } from "./command.js";
import { runCommand, usageText } from "./command.js";
import { fetchCommand } from "./fetch.js";
import { validateCommand } from "./validate.js";
import { planCommand } from "./plan.js";
import { applyCommand } from "./apply.js";

/** Subcommands in the order of the flow; `steward --help` lists them in this order. */
const COMMANDS: readonly Command[] = [fetchCommand, validateCommand, planCommand, applyCommand];

process.exitCode = await runCommand(COMMANDS, process.argv.slice(2), usageText(COMMANDS));
