/**
 * One log line: `2026-11-26T02:47:11.123Z INFO  [channel] message`, redacted, on one physical
 * line; and the pieces of a LogTape record it is made of (docs/configuration.md §6).
 */

import type { LogRecord } from "@logtape/logtape";
import { redactor } from "./logger.ts";

const LEVEL_LABEL: Record<string, string> = {
  trace: "TRACE",
  debug: "DEBUG",
  info: "INFO ",
  warning: "WARN ",
  error: "ERROR",
  fatal: "FATAL",
};

/** A value of a log line as text: errors with their cause, the rest as JSON. */
export function render(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) {
    const cause = value.cause === undefined ? "" : ` (cause: ${render(value.cause)})`;
    return `${value.name}: ${value.message}${cause}`;
  }
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * `2026-11-26T02:47:11.123Z INFO  [channel] message`, redacted, one physical line: line
 * breaks inside a message are escaped so a log line is always one record.
 */
export function formatRecord(record: LogRecord): string {
  const message = messageOf(record);
  const area = areaOf(record);
  const line = `${new Date(record.timestamp).toISOString()} ${
    LEVEL_LABEL[record.level]
  } [${area}] ${message}`;
  return redactor.redact(line).replace(/\r?\n|\r/g, "\\n");
}

/** The message of a record with its values filled in, not yet redacted. */
export function messageOf(record: LogRecord): string {
  return record.message.map((part, i) => (i % 2 === 0 ? String(part) : render(part))).join("");
}

/** `channel` for the logger `pcs.channel`. */
export function areaOf(record: LogRecord): string {
  return record.category.slice(1).join(".") || record.category.join(".");
}
