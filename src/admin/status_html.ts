/**
 * Renders the status data as HTML without knowing its shape: objects become key/value
 * tables, arrays of objects become tables with a column per key. Components add fields to
 * their status and the page shows them, with every value escaped (display names come from
 * phones and may hold markup).
 */

import { escapeHtml } from "../text.ts";

function label(key: string): string {
  return escapeHtml(key.replace(/([a-z])([A-Z])/g, "$1 $2").replace(/^./, (c) => c.toUpperCase()));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Keys whose epoch-millisecond numbers are shown as times (`lastCallbackAt`, ...). */
const TIME_KEY = /(At|Since|Until)$/;

/** A local date and time, e.g. `2026-11-26 03:10:28`. */
function localTime(ms: number): string {
  return new Date(ms).toLocaleString("sv-SE");
}

function cell(value: unknown, key = ""): string {
  if (value === null || value === undefined || value === "") return `<span class="muted">–</span>`;
  if (typeof value === "number" && TIME_KEY.test(key) && value > 1e11) return localTime(value);
  if (typeof value === "boolean") return value ? "yes" : "no";
  if (Array.isArray(value)) {
    if (value.every((v) => !isPlainObject(v) && !Array.isArray(v))) {
      return value.length === 0
        ? `<span class="muted">none</span>`
        : value.map((v) => cell(v)).join("<br>");
    }
    return table(value);
  }
  if (isPlainObject(value)) return keyValues(value);
  const text = escapeHtml(String(value));
  return /error|fail|refused|locked|unreachable/i.test(String(value))
    ? `<span class="bad">${text}</span>`
    : text;
}

function keyValues(obj: Record<string, unknown>): string {
  const rows = Object.entries(obj).map(([k, v]) =>
    `<tr><th>${label(k)}</th><td>${cell(v, k)}</td></tr>`
  );
  return rows.length === 0 ? `<span class="muted">none</span>` : `<table>${rows.join("")}</table>`;
}

function table(rows: readonly unknown[]): string {
  if (rows.length === 0) return `<span class="muted">none</span>`;
  const objects = rows.map((r) => (isPlainObject(r) ? r : { value: r }));
  const columns = [...new Set(objects.flatMap((o) => Object.keys(o)))];
  const head = columns.map((c) => `<th>${label(c)}</th>`).join("");
  const body = objects.map((o) =>
    `<tr>${columns.map((c) => `<td>${cell(o[c], c)}</td>`).join("")}</tr>`
  );
  return `<table><tr>${head}</tr>${body.join("")}</table>`;
}

/** One `<h2>` section per top-level key of the status. */
export function renderStatus(status: Record<string, unknown>): string {
  return Object.entries(status).map(([section, value]) =>
    `<section><h2>${label(section)}</h2>${
      Array.isArray(value) ? table(value) : isPlainObject(value) ? keyValues(value) : cell(value)
    }</section>`
  ).join("\n");
}
