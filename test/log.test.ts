/**
 * The log settings and the text format, as pure functions: which format a process gets, and
 * what one record looks like on a terminal.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { formatLogLine, logSettings } from "../agent/src/log.js";

for (const c of [
  { name: "a terminal gets text at warn", env: {}, option: undefined, tty: true, want: { level: "warn", format: "text" } },
  { name: "a pipe gets JSON", env: {}, option: undefined, tty: false, want: { level: "warn", format: "json" } },
  { name: "STEWARD_LOG_FORMAT chooses", env: { STEWARD_LOG_FORMAT: "text" }, option: undefined, tty: false, want: { level: "warn", format: "text" } },
  { name: "--log-format wins over the environment", env: { STEWARD_LOG_FORMAT: "text" }, option: "json", tty: true, want: { level: "warn", format: "json" } },
  { name: "an empty variable is unset", env: { STEWARD_LOG: "", STEWARD_LOG_FORMAT: "" }, option: undefined, tty: true, want: { level: "warn", format: "text" } },
  { name: "STEWARD_LOG sets the level", env: { STEWARD_LOG: "debug" }, option: undefined, tty: false, want: { level: "debug", format: "json" } },
  { name: "an unknown level is named", env: { STEWARD_LOG: "loud" }, option: undefined, tty: false, want: { problem: "STEWARD_LOG=loud is not a log level; use one of trace, debug, info, warn, error, fatal, silent" } },
  { name: "an unknown option value is named", env: {}, option: "xml", tty: false, want: { problem: "--log-format xml is not a log format; use text or json" } },
  { name: "an unknown variable value is named", env: { STEWARD_LOG_FORMAT: "xml" }, option: undefined, tty: false, want: { problem: "STEWARD_LOG_FORMAT=xml is not a log format; use text or json" } },
]) {
  test(`logSettings: ${c.name}`, () => assert.deepEqual(logSettings(c.env, c.option, c.tty), c.want));
}

for (const c of [
  { name: "level name, message, then the fields", record: { level: 40, time: 1, pid: 7, name: "steward", command: "fetch", step: "source", msg: "revision held", code: "SOURCE_UNSIGNED", data: { commit: "x" } }, want: "warn: revision held step=source code=SOURCE_UNSIGNED" },
  { name: "a commit id is shortened as git log --oneline does", record: { level: 30, msg: "revision chosen", revision: "9df322bdcfd95cdff2789ddb235942a002e18667", remote: "origin" }, want: "info: revision chosen revision=9df322bdcfd9 remote=origin" },
  { name: "strings with spaces, quotes or = are quoted", record: { level: 30, msg: "m", a: "two words", b: "x=y", c: "" }, want: 'info: m a="two words" b="x=y" c=""' },
  { name: "numbers, booleans, null and objects", record: { level: 50, msg: "m", n: 3, ok: false, none: null, outcome: { remote: "origin" }, list: [1, 2] }, want: 'error: m n=3 ok=false none=null outcome={"remote":"origin"} list=[1,2]' },
  { name: "a level pino does not name", record: { level: 35, msg: "m" }, want: "35: m" },
]) {
  test(`formatLogLine: ${c.name}`, () => assert.equal(formatLogLine(c.record), c.want));
}
