/**
 * Structured logs (pino) to stderr, so stdout stays for the command's answer (text or --json).
 * Steps take a child logger: `log.child({ step: "apply", revision })`.
 *
 * Two formats of the same records: `json`, one pino JSON object per line, for log collectors
 * and for anything that is not a person (the default when stderr is not a terminal); and
 * `text`, one short line per record, `warn: remote behind the last applied revision
 * remote=mirror tip=…`, for a person at a terminal (the default when stderr is one). The level
 * comes from STEWARD_LOG (default `warn`), the format from --log-format or STEWARD_LOG_FORMAT.
 */
import { pino, type DestinationStream, type Logger } from "pino";

export type { Logger };

export const LOG_FORMATS = ["text", "json"] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** The levels STEWARD_LOG takes, most to least verbose. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export const DEFAULT_LOG_LEVEL = "warn";

export interface LogSettings {
  readonly level: string;
  readonly format: LogFormat;
}

/**
 * logSettings decides the level and format of the process logger from the environment
 * (STEWARD_LOG, STEWARD_LOG_FORMAT) and the --log-format option, which wins. Pure. Without
 * either, the format is text when stderr is a terminal and JSON when it is not. Returns a
 * sentence naming the bad setting and the good values for an unknown level or format.
 */
export function logSettings(env: Readonly<Record<string, string | undefined>>, option: string | undefined, stderrIsTTY: boolean): LogSettings | { problem: string } {
  const level = env["STEWARD_LOG"] === undefined || env["STEWARD_LOG"] === "" ? DEFAULT_LOG_LEVEL : env["STEWARD_LOG"];
  if (!(LOG_LEVELS as readonly string[]).includes(level)) return { problem: `STEWARD_LOG=${level} is not a log level; use one of ${LOG_LEVELS.join(", ")}` };
  const fromEnv = env["STEWARD_LOG_FORMAT"] === "" ? undefined : env["STEWARD_LOG_FORMAT"];
  const format = option ?? fromEnv ?? (stderrIsTTY ? "text" : "json");
  if (!(LOG_FORMATS as readonly string[]).includes(format)) {
    return { problem: `${option === undefined ? `STEWARD_LOG_FORMAT=${format}` : `--log-format ${format}`} is not a log format; use ${LOG_FORMATS.join(" or ")}` };
  }
  return { level, format: format as LogFormat };
}

/** createLogger makes the process logger, writing to stderr (fd 2) synchronously. */
export function createLogger(settings: LogSettings = { level: DEFAULT_LOG_LEVEL, format: "json" }): Logger {
  const stderr = pino.destination({ fd: 2, sync: true });
  if (settings.format === "json") return pino({ name: "steward", level: settings.level, base: { pid: process.pid } }, stderr);
  return pino({ level: settings.level, base: null, timestamp: false }, textDestination(stderr));
}

/** textDestination turns each JSON record pino writes into one formatLogLine line. */
function textDestination(out: DestinationStream): DestinationStream {
  return {
    write(json: string): void {
      let record: Record<string, unknown> | undefined;
      try {
        record = JSON.parse(json) as Record<string, unknown>;
      } catch {
        record = undefined;
      }
      out.write(record === undefined ? json : `${formatLogLine(record)}\n`);
    },
  };
}

/**
 * Fields a text line leaves out: what a person at the terminal already knows (which command
 * runs, its pid), what pino adds, and `data`, an error's structured detail, which the
 * command's own output explains and the JSON format keeps.
 */
const OMITTED_FIELDS = new Set(["level", "msg", "time", "pid", "hostname", "name", "command", "data"]);

/**
 * formatLogLine renders one pino record as `level: message key=value …`. Pure. A commit id is
 * shortened to 12 characters, as `git log --oneline` does; another string is printed bare when
 * it has no space, quote or `=`, else JSON-quoted; objects as compact JSON.
 */
export function formatLogLine(record: Readonly<Record<string, unknown>>): string {
  const level = typeof record["level"] === "number" ? (pino.levels.labels[record["level"]] ?? String(record["level"])) : String(record["level"] ?? "log");
  const fields = Object.entries(record)
    .filter(([k, v]) => !OMITTED_FIELDS.has(k) && v !== undefined)
    .map(([k, v]) => `${k}=${formatValue(v)}`);
  return [`${level}: ${String(record["msg"] ?? "")}`, ...fields].join(" ");
}

function formatValue(v: unknown): string {
  if (typeof v === "string") {
    if (/^[0-9a-f]{40}$/.test(v)) return v.slice(0, 12);
    return v !== "" && !/[\s"'=\\]/.test(v) ? v : JSON.stringify(v);
  }
  if (typeof v === "object" && v !== null) return JSON.stringify(v);
  return String(v);
}

/** silentLogger is for tests and library callers that do not want logs. */
export const silentLogger: Logger = pino({ level: "silent" });

/**
 * recordLogger is the logger of a worker thread (source/fetch-worker.ts, agent/run-worker.ts):
 * every record it writes goes, as an object, to `onRecord`, which posts it to the parent; the
 * parent writes it through its own logger with relayLog, which adds the time and pid. Its level
 * is trace: a child made with the parent's level filters.
 */
export function recordLogger(onRecord: (record: Record<string, unknown>) => void): Logger {
  return pino({ level: "trace", base: null, timestamp: false }, { write: (line: string) => onRecord(JSON.parse(line) as Record<string, unknown>) });
}

const LEVEL_NAMES: Readonly<Record<number, "trace" | "debug" | "info" | "warn" | "error" | "fatal">> = { 10: "trace", 20: "debug", 30: "info", 40: "warn", 50: "error", 60: "fatal" };

/** relayLog writes a record a worker's recordLogger sent through `log`, at the record's level. */
export function relayLog(log: Logger | undefined, record: Record<string, unknown>): void {
  if (log === undefined) return;
  const { level, msg, ...fields } = record;
  const name = typeof level === "number" ? LEVEL_NAMES[level] : undefined;
  if (name === undefined) return;
  log[name](fields, typeof msg === "string" ? msg : "");
}
