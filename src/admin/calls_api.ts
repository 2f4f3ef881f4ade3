/**
 * The journal's API (docs/call-journal.md §4, §5): `/api/calls` as JSON and `/api/calls.csv`,
 * their query parameters checked here into a {@link CallQuery} (anything wrong is a 400 with
 * a sentence saying what), the opaque paging cursor, and the one shape a call has in both.
 */

import type {
  CallCursor,
  CallJournalReader,
  CallOutcome,
  CallQuery,
  CallRow,
} from "../contract.ts";
import { errorText } from "../text.ts";
// Every outcome is a key of the words the page shows, so the parameter is checked against
// the full list.
import { OUTCOME_WORDS } from "./page.ts";

/** The query parameters the API knows. */
const PARAMETERS = ["device", "since", "until", "outcome", "number", "limit", "cursor"];

/** Rows per page: JSON by default and at most; CSV, an export, allows more. */
export const LIMITS = {
  json: { default: 100, max: 1000 },
  csv: { default: 10_000, max: 100_000 },
} as const;

/** A date, or a date and time with a zone (docs/call-journal.md §4). */
const ISO_TIME =
  /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** An ISO 8601 time as epoch milliseconds, or undefined when it is not one we accept. */
export function parseTime(given: string): number | undefined {
  // An unencoded `+` of a zone arrives as a space (form encoding): read it as the `+` meant.
  const text = given.replace(/ (\d{2}:\d{2})$/, "+$1");
  const m = ISO_TIME.exec(text);
  if (!m) return undefined;
  const ms = Date.parse(m[4] === undefined ? `${text}T00:00:00Z` : text);
  if (Number.isNaN(ms)) return undefined;
  // Date.parse rolls 2026-02-30 over to March: such a date is refused instead.
  const [, y, mo, d] = m.map(Number);
  const probe = new Date(Date.UTC(y, mo - 1, d));
  if (probe.getUTCMonth() !== mo - 1 || probe.getUTCDate() !== d) return undefined;
  return ms;
}

/** The cursor of the page after `c`: opaque to clients, base64url of the last call's key. */
export function encodeCursor(c: CallCursor): string {
  return btoa(JSON.stringify([c.startedAt, c.id])).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** A cursor this server gave, or undefined. */
export function decodeCursor(text: string): CallCursor | undefined {
  if (!/^[A-Za-z0-9_-]{1,200}$/.test(text)) return undefined;
  try {
    const value = JSON.parse(atob(text.replace(/-/g, "+").replace(/_/g, "/")));
    if (
      Array.isArray(value) && value.length === 2 && value.every((n) => Number.isSafeInteger(n))
    ) {
      return { startedAt: value[0], id: value[1] };
    }
  } catch {
    // Not base64 or not JSON: refused below.
  }
  return undefined;
}

/** The query of a request, or the sentence that says what is wrong with it. */
export function parseCallQuery(
  params: URLSearchParams,
  format: keyof typeof LIMITS,
): { ok: true; query: CallQuery } | { ok: false; error: string } {
  const fail = (error: string) => ({ ok: false as const, error });
  for (const name of new Set(params.keys())) {
    if (!PARAMETERS.includes(name)) {
      return fail(`unknown parameter '${clip(name)}'; the parameters are ${PARAMETERS.join(", ")}`);
    }
    if (params.getAll(name).length > 1) return fail(`parameter '${name}' is given twice`);
  }
  const get = (name: string) => {
    const v = params.get(name);
    return v === null || v === "" ? undefined : v;
  };
  const limits = LIMITS[format];
  const query: {
    -readonly [K in keyof CallQuery]: CallQuery[K];
  } = { limit: limits.default };

  const device = get("device");
  if (device !== undefined) {
    if (device.length > 64) return fail("device must be an extension of at most 64 characters");
    query.device = device;
  }
  for (const name of ["since", "until"] as const) {
    const text = get(name);
    if (text === undefined) continue;
    const ms = parseTime(text);
    if (ms === undefined) {
      return fail(
        `${name} must be an ISO 8601 date (2026-03-01) or date and time with a zone ` +
          `(2026-03-01T08:00:00Z, 2026-03-01T09:00:00+01:00), got '${clip(text)}'`,
      );
    }
    query[name] = ms;
  }
  if (query.since !== undefined && query.until !== undefined && query.since >= query.until) {
    return fail("since must be before until");
  }
  const outcome = get("outcome");
  if (outcome !== undefined) {
    if (!Object.hasOwn(OUTCOME_WORDS, outcome)) {
      return fail(
        `outcome must be one of ${Object.keys(OUTCOME_WORDS).join(", ")}, got '${clip(outcome)}'`,
      );
    }
    query.outcome = outcome as CallOutcome;
  }
  const number = get("number");
  if (number !== undefined) {
    if (number.length > 40 || !/[1-9]/.test(number)) {
      return fail(
        `number must hold the end of a phone number (digits, at most 40 characters), ` +
          `got '${clip(number)}'`,
      );
    }
    query.number = number;
  }
  const limit = get("limit");
  if (limit !== undefined) {
    const n = /^\d{1,7}$/.test(limit) ? Number(limit) : NaN;
    if (!(n >= 1 && n <= limits.max)) {
      return fail(`limit must be a whole number 1-${limits.max}, got '${clip(limit)}'`);
    }
    query.limit = n;
  }
  const cursor = get("cursor");
  if (cursor !== undefined) {
    const after = decodeCursor(cursor);
    if (!after) return fail("cursor is not one this server gave (use the 'next' of a page)");
    query.after = after;
  }
  return { ok: true, query };
}

function clip(text: string): string {
  return text.length > 60 ? text.slice(0, 60) + "…" : text;
}

/** An epoch time as ISO 8601 UTC, or null. */
function iso(ms: number | undefined): string | null {
  return ms === undefined ? null : new Date(ms).toISOString();
}

/**
 * One call as the API gives it: every field always present (null when unknown), so a
 * FileMaker script can read any of them (docs/call-journal.md §4).
 */
export function callJson(c: CallRow): Record<string, string | number | null> {
  return {
    id: c.id,
    device: c.device,
    direction: c.direction,
    number: c.number,
    name: c.name,
    startedAt: iso(c.startedAt),
    answeredAt: iso(c.answeredAt),
    endedAt: iso(c.endedAt),
    ringSeconds: Math.round(((c.answeredAt ?? c.endedAt) - c.startedAt) / 1000),
    talkSeconds: c.answeredAt === undefined ? 0 : Math.round((c.endedAt - c.answeredAt) / 1000),
    outcome: c.outcome,
    transferredTo: c.transferredTo ?? null,
    callRef: c.callRef,
  };
}

/** The CSV columns, in order: the JSON fields. */
const CSV_COLUMNS = [
  "id",
  "device",
  "direction",
  "number",
  "name",
  "startedAt",
  "answeredAt",
  "endedAt",
  "ringSeconds",
  "talkSeconds",
  "outcome",
  "transferredTo",
  "callRef",
];

/** One CSV field (RFC 4180): quoted when it holds a quote, comma or line break. */
export function csvField(value: string | number | null): string {
  const text = value === null ? "" : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Calls as CSV: a header row, then one row per call, each line ending in CRLF. */
export function callsCsv(calls: readonly CallRow[]): string {
  const lines = [CSV_COLUMNS.join(",")];
  for (const c of calls) {
    const json = callJson(c);
    lines.push(CSV_COLUMNS.map((k) => csvField(json[k])).join(","));
  }
  return lines.join("\r\n") + "\r\n";
}

/** What an API request comes to: a status and a body. */
export type ApiAnswer =
  | { readonly status: 200; readonly page: ReturnType<CallJournalReader["query"]> }
  | { readonly status: 400 | 500 | 503; readonly error: string };

/** Runs a request's query against the journal. */
export function answerCalls(
  reader: CallJournalReader | undefined,
  params: URLSearchParams,
  format: keyof typeof LIMITS,
): ApiAnswer {
  const parsed = parseCallQuery(params, format);
  if (!parsed.ok) return { status: 400, error: parsed.error };
  const off = reader ? reader.unavailable() : "the call journal is not part of this server";
  if (off !== undefined || !reader) return { status: 503, error: off ?? "" };
  try {
    return { status: 200, page: reader.query(parsed.query) };
  } catch (e) {
    return { status: 500, error: `the call journal could not be read: ${errorText(e)}` };
  }
}
