/**
 * Reading the provider's JSON without trusting its shape: a field that is missing or of
 * another type reads as empty, never throws (bad input from the provider loses nothing).
 */

/** The value as an object, or an empty one when it is not a plain object. */
export function record(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? value as Record<string, unknown>
    : {};
}

/** The value as text: strings as they are, numbers written out, anything else empty. */
export function text(value: unknown): string {
  return typeof value === "string" ? value : typeof value === "number" ? String(value) : "";
}

/** JSON text as a value; undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
