/**
 * JSON Lines log records (`logFormat = json`, docs/configuration.md §6): LogTape's own JSON
 * Lines formatter, fed a copy of the record whose values are made plain and redacted first.
 * Redacting before the formatter matters: a secret holding a quote or a backslash no longer
 * reads the same once JSON escapes it, so redacting the finished line alone could miss it.
 */

import { getJsonLinesFormatter, type LogRecord } from "@logtape/logtape";

const jsonLines = getJsonLinesFormatter({
  categorySeparator: ".",
  message: "rendered",
  properties: "nest:properties",
});

/** A value as it can go into JSON: strings redacted, errors as `Name: message (cause: …)`. */
function plain(value: unknown, redact: (text: string) => string, depth = 0): unknown {
  if (typeof value === "string") return redact(value);
  if (value instanceof Error) {
    const cause = value.cause === undefined ? "" : ` (cause: ${plain(value.cause, redact, 9)})`;
    return redact(`${value.name}: ${value.message}${cause}`);
  }
  if (typeof value === "bigint") return value.toString();
  if (value === null || typeof value !== "object") return value;
  if (depth >= 8) return "[nested too deep]";
  if (Array.isArray(value)) return value.map((v) => plain(v, redact, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = plain(v, redact, depth + 1);
  return out;
}

/**
 * One record as one JSON line, without the line end. `message` is the record's message as the
 * text format writes it (values in place, strings unquoted); `redact` hides secrets.
 */
export function formatJsonRecord(
  record: LogRecord,
  message: string,
  redact: (text: string) => string,
): string {
  const clean: LogRecord = {
    ...record,
    message: [redact(message)],
    properties: plain(record.properties, redact) as Record<string, unknown>,
  };
  return redact(jsonLines(clean).replace(/\r?\n$/, ""));
}
