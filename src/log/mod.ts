/**
 * Logging: LogTape loggers per area, one line format for the console and the rotating log
 * file, live re-configuration from the config snapshot, and secret redaction on every line.
 */

export { formatJsonRecord } from "./json.ts";
export {
  consoleLines,
  FILE_FLUSH_MS,
  flushConsole,
  formatRecord,
  type LineSink,
  log,
  logFindings,
  LogService,
  type LogSettings,
  redactor,
} from "./logging.ts";
export { type Problem, RecentProblems } from "./recent.ts";
export { REDACTED, Redactor } from "./redact.ts";
export { RepeatedWarning, SUMMARY_INTERVAL_MS } from "./repeated.ts";
export type { Logger } from "@logtape/logtape";
