/**
 * The server front's reading of one request with its limits (docs/architecture.md §8): the
 * head within its size and time, then the body within its size and time, into a normal
 * `Request`, or the refusal to answer with before the connection is closed.
 */

import { findHeadEnd, parseRequestHead, type RequestHead } from "./head.ts";
import { errorText } from "../text.ts";
import type { ConnReader } from "./_reader.ts";

/** The limits a request is read within. */
export interface RequestLimits {
  readonly maxHeadBytes: number;
  readonly maxBodyBytes: number;
  /** For the first head on a connection, and for every body. */
  readonly headTimeoutMs: number;
  /** For a later head on a kept-alive connection. */
  readonly idleTimeoutMs: number;
}

/** What came on the connection. */
export type Incoming =
  /** A request for the handler; `keepAlive` is what the client asked for. */
  | {
    readonly kind: "request";
    readonly head: RequestHead;
    readonly request: Request;
    readonly keepAlive: boolean;
  }
  /** A request that is answered with `response`, then the connection closed. */
  | {
    readonly kind: "refused";
    readonly head?: RequestHead;
    readonly response: Response;
    /** Why, when it is worth a log line (a bad request). */
    readonly problem?: string;
  }
  /** Nothing to answer: the client went, stalled, or the front is closing. */
  | { readonly kind: "end" };

/** Methods a `Request` cannot carry; answered 405 without reaching the handler. */
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

/** A short plain-text reply after which the connection closes. */
export function simpleResponse(status: number, message: string): Response {
  return new Response(message + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", connection: "close" },
  });
}

/**
 * Reads the next request. `first`: the first on its connection (the head timeout applies,
 * not the idle one). `closing`: the front is closing, so a head that arrives is not served.
 */
export async function readRequest(
  reader: ConnReader,
  limits: RequestLimits,
  first: boolean,
  closing: () => boolean,
): Promise<Incoming> {
  const raw = await readHead(reader, limits, first);
  if (raw === "eof" || raw === "timeout" || closing()) return { kind: "end" };
  if (raw === "too-large") {
    return { kind: "refused", response: simpleResponse(431, "request head too large") };
  }
  const head = parseRequestHead(raw);
  if (typeof head === "string") return refused(400, head, undefined, head);
  if (FORBIDDEN_METHODS.has(head.method)) {
    const refusal = simpleResponse(405, `${head.method} is not served here`);
    refusal.headers.set("allow", "GET, HEAD, POST");
    return { kind: "refused", head, response: refusal };
  }
  if (head.headers.has("transfer-encoding")) {
    return refused(501, "chunked request bodies are not accepted", head);
  }
  const lengthText = head.headers.get("content-length") ?? "0";
  if (!/^\d+$/.test(lengthText)) {
    // Two Content-Length headers (joined with a comma) or a value that is no number: the
    // body's end is unknown, so nothing after it could be read safely.
    const why = lengthText.includes(",")
      ? "more than one Content-Length"
      : "a Content-Length that is not a number";
    return refused(400, why, head, why);
  }
  const length = Number(lengthText);
  if (length > limits.maxBodyBytes) return refused(413, "request body too large", head);
  const got = await reader.fillUntil(limits.headTimeoutMs, () => reader.buffered.length >= length);
  if (got !== "ok") return { kind: "end" };
  const body = length > 0 ? reader.consume(length).slice() : undefined;
  const connection = (head.headers.get("connection") ?? "").toLowerCase();
  const keepAlive = head.version === "HTTP/1.1"
    ? connection !== "close"
    : connection === "keep-alive";
  try {
    const request = new Request(`http://localhost${head.target}`, {
      method: head.method,
      headers: head.headers,
      body: head.method === "GET" || head.method === "HEAD" ? undefined : body,
    });
    return { kind: "request", head, request, keepAlive };
  } catch (e) {
    return refused(400, "bad request", head, errorText(e));
  }
}

function refused(
  status: number,
  message: string,
  head?: RequestHead,
  problem?: string,
): Incoming {
  return { kind: "refused", head, response: simpleResponse(status, message), problem };
}

/** The next head's bytes (the blank line consumed), or why there is none. */
async function readHead(
  reader: ConnReader,
  limits: RequestLimits,
  first: boolean,
): Promise<Uint8Array | "eof" | "timeout" | "too-large"> {
  let end: ReturnType<typeof findHeadEnd>;
  const got = await reader.fillUntil(first ? limits.headTimeoutMs : limits.idleTimeoutMs, () => {
    end = findHeadEnd(reader.buffered);
    return end !== undefined || reader.buffered.length > limits.maxHeadBytes;
  });
  if (got !== "ok") return got;
  if (end === undefined || end.index > limits.maxHeadBytes) return "too-large";
  const head = reader.consume(end.index);
  reader.consume(end.length);
  return head;
}
