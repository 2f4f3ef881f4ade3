/**
 * The RawCommand line (docs/channel-protocol.md §5), without any I/O: parsing and validating
 * the JSON object a channel received, and what its reply carries. The reply line itself is
 * the channel codec's.
 */

import type { RawReply } from "../contract.ts";
import { errorText } from "../text.ts";
import { parseJson } from "./_json.ts";

/** The methods a RawCommand may use (docs/channel-protocol.md §5). */
export const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const;

/** One of {@link METHODS}. */
export type Method = typeof METHODS[number];

/** A validated RawCommand, ready to be sent. */
export interface RawCommand {
  readonly method: Method;
  /** Path (and query) on the provider, starting with a single `/`. */
  readonly resource: string;
  /** The request body as sent on the wire, or undefined for none. */
  readonly body?: string;
  /** Content-Type of the body; set whenever there is a body. */
  readonly contentType?: string;
  readonly accept: string;
}

/** A parse outcome: the command, or why the line is not one. */
export type RawCommandParse =
  | { readonly ok: true; readonly command: RawCommand }
  | { readonly ok: false; readonly reason: string };

/** Control characters other than tab have no place in a path or a header value. */
function hasControl(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return true;
  }
  return false;
}

function invalid(reason: string): RawCommandParse {
  return { ok: false, reason: `InvalidCommand: ${reason}` };
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "string") return `'${value.length > 40 ? value.slice(0, 40) + "…" : value}'`;
  return `a ${typeof value}`;
}

function headerValue(
  obj: Record<string, unknown>,
  key: string,
): { ok: true; value?: string } | { ok: false; reason: string } {
  const value = obj[key];
  if (value === undefined || value === null) return { ok: true };
  if (typeof value !== "string" || value.trim() === "" || hasControl(value)) {
    return {
      ok: false,
      reason: `${key} must be a non-empty header value on one line, got ${describe(value)}`,
    };
  }
  return { ok: true, value: value.trim() };
}

/**
 * Parses a RawCommand line. `body` may be a string (sent as is; Content-Type defaults to
 * application/json when the string is JSON, text/plain otherwise) or any other JSON value
 * (sent as compact JSON with Content-Type application/json); `null` means no body.
 * `accept` defaults to application/json. Unknown members are ignored.
 */
export function parseRawCommand(line: string): RawCommandParse {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (e) {
    return invalid(`the line is not valid JSON (${errorText(e)})`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    return invalid(`expected a JSON object, got ${describe(value)}`);
  }
  const obj = value as Record<string, unknown>;

  if (obj.method === undefined) {
    return invalid(`method is missing; expected one of ${METHODS.join(", ")}`);
  }
  const method = typeof obj.method === "string" ? obj.method.toUpperCase() : "";
  if (!(METHODS as readonly string[]).includes(method)) {
    return invalid(`method must be one of ${METHODS.join(", ")}, got ${describe(obj.method)}`);
  }

  if (obj.resource === undefined) {
    return invalid("resource is missing; expected a path such as /restapi/v1.0/account/~");
  }
  const resource = obj.resource;
  if (
    typeof resource !== "string" || !resource.startsWith("/") || resource.startsWith("//") ||
    hasControl(resource) || resource.includes("\\")
  ) {
    return invalid(
      `resource must be a path on the provider starting with one '/', got ${describe(resource)}`,
    );
  }

  const contentType = headerValue(obj, "content_type");
  if (!contentType.ok) return invalid(contentType.reason);
  const accept = headerValue(obj, "accept");
  if (!accept.ok) return invalid(accept.reason);

  let body: string | undefined;
  let type = contentType.value;
  if (obj.body !== undefined && obj.body !== null) {
    if (method === "GET") return invalid("a GET request cannot carry a body");
    if (typeof obj.body === "string") {
      body = obj.body;
      type ??= parseJson(body) !== undefined ? "application/json" : "text/plain; charset=utf-8";
    } else {
      body = JSON.stringify(obj.body);
      type ??= "application/json";
    }
  }

  return {
    ok: true,
    command: {
      method: method as Method,
      resource,
      body,
      contentType: body === undefined ? undefined : type,
      accept: accept.value ?? "application/json",
    },
  };
}

/**
 * The key under which rate-limit groups are learnt for a request: the method and the path
 * with every identifier-like segment (one containing a digit, other than a version such as
 * `v1.0`) replaced by `{}` and the query dropped. So `GET /restapi/v1.0/account/~/extension/101`
 * and `.../extension/102` share what is learnt about their group.
 */
export function routeOf(method: string, resource: string): string {
  const path = resource.split(/[?#]/, 1)[0];
  const segments = path.split("/").map((
    s,
  ) => (/\d/.test(s) && !/^v\d+(\.\d+)*$/i.test(s) ? "{}" : s));
  return `${method} ${segments.join("/")}`;
}

/** A failed RawCommand's reply. */
export function errorReply(status: number, error: string): RawReply {
  return { ok: false, status, error };
}

/**
 * The body as the reply carries it: parsed JSON when the provider declared JSON and it
 * parses, else the text (an empty body is "").
 */
export function replyBody(contentType: string | null, text: string): unknown {
  if (text !== "" && contentType !== null && /\bjson\b/i.test(contentType)) {
    return parseJson(text) ?? text;
  }
  return text;
}
