/**
 * Structured logs (pino) to stderr, so stdout stays for the command's answer (text or --json).
 * Steps take a child logger: `log.child({ step: "apply", revision })`.
 */
import { pino, type Logger } from "pino";

export type { Logger };

/** createLogger makes the process logger. Level from STEWARD_LOG (default "warn" for one-shot commands). */
export function createLogger(level: string = process.env["STEWARD_LOG"] ?? "warn"): Logger {
  return pino({ name: "steward", level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: true }));
}

/** silentLogger is for tests and library callers that do not want logs. */
export const silentLogger: Logger = pino({ level: "silent" });
