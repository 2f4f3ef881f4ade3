/**
 * One exchange of the server front on a connection (docs/architecture.md §8): reading a
 * request within its limits (the head within its size and time, then the body within its size
 * and time, into a normal `Request`, or the refusal to answer with before the connection is
 * closed), and writing the response (framing chosen by what the body is: none, Content-Length
 * as given, live updates chunked, anything else measured and sent with a length; the head
 * written with the one serialiser, write.ts; the body streamed).
 */

import { chunk, LAST_CHUNK, responseHead } from "./write.ts";
import { concat } from "../bytes.ts";
import { errorText } from "../text.ts";
import { findHeadEnd, parseRequestHead, type RequestHead } from "./head.ts";

// --- Reading ---

/** Reads from a connection into a buffer the request reader takes from. */
export class ConnReader {
  #buf: Uint8Array = new Uint8Array(0);
  readonly #conn: Deno.Conn;
  readonly #chunk = new Uint8Array(16 * 1024);

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** What arrived and was not consumed yet. */
  get buffered(): Uint8Array {
    return this.#buf;
  }

  /** Takes the first `n` buffered bytes. */
  consume(n: number): Uint8Array {
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  /**
   * Reads until `enough()` holds, for at most `ms`: every part of a request (head, then body)
   * has a deadline, so a client that stalls anywhere cannot hold a connection for ever.
   */
  async fillUntil(ms: number, enough: () => boolean): Promise<"ok" | "eof" | "timeout"> {
    if (enough()) return "ok";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), ms));
    try {
      do {
        const more = await Promise.race([this.#fill(), timeout]);
        if (more === "timeout") return "timeout";
        if (!more) return "eof";
      } while (!enough());
      return "ok";
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads more bytes; false at EOF. */
  async #fill(): Promise<boolean> {
    const n = await this.#conn.read(this.#chunk);
    if (n === null) return false;
    this.#buf = concat([this.#buf, this.#chunk.subarray(0, n)]);
    return true;
  }
}

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

// --- Writing ---

/** Response bodies being streamed, so a closing front can end them (live updates never end). */
export class BodyStreams {
  readonly #open = new Set<ReadableStreamDefaultReader<Uint8Array>>();
  #stopped = false;

  /** True once {@link stop} was called: bodies still being sent are cut short. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Cancels every body being streamed, and any that starts later is cut at once. */
  stop(): void {
    this.#stopped = true;
    for (const s of this.#open) s.cancel().catch(() => {});
  }

  /** Streams `reader` to `send`, each piece as it comes, until it ends or {@link stop}. */
  async pipe(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    send: (piece: Uint8Array) => Promise<void>,
  ): Promise<void> {
    this.#open.add(reader);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || this.#stopped) break;
        if (value.length > 0) await send(value);
      }
    } finally {
      this.#open.delete(reader);
      reader.cancel().catch(() => {});
    }
  }
}

/** Writes every byte to the connection. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/**
 * Writes `response` to `conn` with `Connection: keep-alive` or `close`. A HEAD request, 204
 * and 304 get no body; a body without a length is sent with one, unless it is an event
 * stream (live updates), which goes out chunked, piece by piece.
 */
export async function writeResponse(
  conn: Deno.Conn,
  method: string | undefined,
  response: Response,
  keepAlive: boolean,
  streams: BodyStreams,
): Promise<void> {
  const headers = new Headers(response.headers);
  headers.set("connection", keepAlive ? "keep-alive" : "close");
  const noBody = method === "HEAD" || response.status === 204 || response.status === 304;
  let chunked = false;
  let body: Uint8Array | undefined;
  if (!response.body || noBody) {
    if (!noBody) headers.set("content-length", "0");
    await response.body?.cancel();
  } else if (headers.has("content-length")) {
    /* streamed as is below */
  } else if ((headers.get("content-type") ?? "").startsWith("text/event-stream")) {
    chunked = true;
    headers.set("transfer-encoding", "chunked");
  } else {
    body = new Uint8Array(await response.arrayBuffer());
    headers.set("content-length", String(body.length));
  }
  const head = responseHead(response.status, headers);
  // Head and body in one write: a small reply goes out as one packet.
  if (body) return await writeAll(conn, concat([head, body]));
  await writeAll(conn, head);
  if (!response.body || noBody || response.bodyUsed) return;
  await streams.pipe(
    response.body.getReader(),
    (piece) => writeAll(conn, chunked ? chunk(piece) : piece),
  );
  if (chunked && !streams.stopped) await writeAll(conn, LAST_CHUNK);
}
