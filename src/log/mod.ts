/**
 * Logging: LogTape loggers per area, one line format for the console and the rotating log
 * file, live re-configuration from the config snapshot, and secret redaction on every line.
 */

export { formatRecord } from "./format.ts";
export { formatJsonRecord } from "./json.ts";
export { log, logFindings, redactor } from "./logger.ts";
export { type Problem, RecentProblems } from "./recent.ts";
export { REDACTED, Redactor } from "./redact.ts";
export { RepeatedWarning, SUMMARY_INTERVAL_MS } from "./repeated.ts";
export { LogService, type LogSettings } from "./service.ts";
export { consoleLines, FILE_FLUSH_MS, flushConsole, type LineSink } from "./sinks.ts";
export type { Logger } from "@logtape/logtape";
