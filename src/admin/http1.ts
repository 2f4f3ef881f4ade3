/**
 * A small HTTP/1.1 server in front of the Hono app. It exists because phones substitute
 * display names verbatim into action URLs, so request lines arrive with raw spaces and odd
 * bytes that `Deno.serve` rejects with 400 (deno-toolchain.md "Measured"). This front reads
 * the request line itself, repairs the target by percent-encoding what a URL may not hold,
 * and hands a normal `Request` plus the peer address to the app.
 *
 * Connection states: reading-head → (reading-body) → handling → writing → reading-head
 * (keep-alive) | closed. Limits: head size, body size, idle and head timeouts, connections.
 */

import { concat } from "../bytes.ts";

/** What the handler learns about the connection a request came on. */
export interface ConnInfo {
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** The request target exactly as received, before repair (for logs and tests). */
  readonly rawTarget: string;
}

/** The application behind the front. */
export type Handler = (request: Request, info: ConnInfo) => Response | Promise<Response>;

/** Limits of the front; defaults suit a status page and phone callbacks. */
export interface Http1Options {
  readonly hostname: string;
  readonly port: number;
  readonly handler: Handler;
  readonly maxHeadBytes?: number;
  readonly maxBodyBytes?: number;
  /** How long a connection may take to send a complete request head, and then its body. */
  readonly headTimeoutMs?: number;
  /** How long a kept-alive connection may stay idle between requests. */
  readonly idleTimeoutMs?: number;
  readonly maxConnections?: number;
  /** Called for problems worth a log line (bad requests, handler errors). */
  readonly onProblem?: (message: string) => void;
}

/** A running front. */
export interface Http1Server {
  readonly hostname: string;
  readonly port: number;
  /** Stops accepting, ends idle connections and waits for requests in progress. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder();

/**
 * Bytes a request target may carry as they are (RFC 3986 unreserved, reserved and `%`), less
 * `#`: a request target has no fragment (RFC 9112 §3.2), so a `#` in one is a phone's raw
 * display name ("Desk #4"), and read as a fragment it would cut off the rest of the query.
 */
const URL_SAFE = new Uint8Array(128);
for (
  const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?[]@!$&'()*+,;=%"
) {
  URL_SAFE[c.charCodeAt(0)] = 1;
}
const HEX = "0123456789ABCDEF";

function isHex(b: number | undefined): boolean {
  return b !== undefined &&
    ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66));
}

/**
 * Percent-encodes every byte of a raw request target that a URL may not contain (spaces,
 * quotes, `#`, control bytes, non-ASCII) and every `%` that does not start an escape. Raw UTF-8
 * thereby becomes its own escapes, so decoding gives the original text back.
 */
export function repairTarget(raw: Uint8Array): string {
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i];
    if (b === 0x25 && !(isHex(raw[i + 1]) && isHex(raw[i + 2]))) out += "%25";
    else if (b < 128 && URL_SAFE[b]) out += String.fromCharCode(b);
    else out += "%" + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

/**
 * Where a request head ends: the index of the blank line and its length (CR LF CR LF, or
 * LF LF from lax clients), or -1.
 */
function indexOfCrlfCrlf(b: Uint8Array): { index: number; length: number } | -1 {
  for (let i = 0; i + 1 < b.length; i++) {
    if (b[i] !== 0x0a) continue;
    if (b[i + 1] === 0x0a) return { index: i, length: 2 };
    if (b[i + 1] === 0x0d && b[i + 2] === 0x0a) {
      return {
        index: i > 0 && b[i - 1] === 0x0d ? i - 1 : i,
        length: i > 0 && b[i - 1] === 0x0d ? 4 : 3,
      };
    }
  }
  return -1;
}

/** A parsed request head. */
export interface RequestHead {
  readonly method: string;
  readonly rawTarget: Uint8Array;
  readonly target: string;
  readonly version: "HTTP/1.0" | "HTTP/1.1";
  readonly headers: Headers;
}

/**
 * Parses a request head (without the blank line). The target is everything between the
 * first space and the last ` HTTP/1.x`, so raw spaces inside it survive. Returns a reason
 * string for a head that cannot be understood.
 */
export function parseHead(head: Uint8Array): RequestHead | string {
  let lineEnd = head.indexOf(0x0a);
  if (lineEnd < 0) lineEnd = head.length;
  const lineBytes = head.subarray(
    0,
    lineEnd > 0 && head[lineEnd - 1] === 0x0d ? lineEnd - 1 : lineEnd,
  );
  const firstSpace = lineBytes.indexOf(0x20);
  if (firstSpace <= 0) return "request line without a method";
  const method = latin1.decode(lineBytes.subarray(0, firstSpace));
  if (!/^[A-Z]{3,10}$/.test(method)) return `unknown method '${method.slice(0, 20)}'`;
  const tail = latin1.decode(lineBytes.subarray(Math.max(firstSpace, lineBytes.length - 9)));
  const v = / (HTTP\/1\.[01])$/.exec(tail);
  if (!v) return "request line without HTTP/1.0 or HTTP/1.1";
  const rawTarget = lineBytes.subarray(firstSpace + 1, lineBytes.length - 9);
  let start = 0;
  while (start < rawTarget.length && rawTarget[start] === 0x20) start++;
  const trimmed = rawTarget.subarray(start);
  if (trimmed.length === 0 || trimmed[0] !== 0x2f) return "request target must start with '/'";
  const headers = new Headers();
  const lines = latin1.decode(head.subarray(lineEnd + 1)).split(/\r?\n/);
  for (const line of lines) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return `malformed header line '${line.slice(0, 40)}'`;
    try {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    } catch {
      return `malformed header '${line.slice(0, colon).slice(0, 40)}'`;
    }
  }
  return {
    method,
    rawTarget: trimmed,
    target: repairTarget(trimmed),
    version: v[1] as RequestHead["version"],
    headers,
  };
}

const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  411: "Length Required",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
};

/** Reads from a connection with a deadline; resolves null at EOF or on timeout. */
class Reader {
  #buf: Uint8Array = new Uint8Array(0);
  readonly #conn: Deno.Conn;
  readonly #chunk = new Uint8Array(16 * 1024);
  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }
  get buffered(): Uint8Array {
    return this.#buf;
  }
  consume(n: number): Uint8Array {
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }
  /** Reads more bytes; false at EOF. */
  async fill(): Promise<boolean> {
    const n = await this.#conn.read(this.#chunk);
    if (n === null) return false;
    this.#buf = concat([this.#buf, this.#chunk.subarray(0, n)]);
    return true;
  }
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

function simpleResponse(status: number, message: string): Response {
  return new Response(message + "\n", {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", connection: "close" },
  });
}

/** Starts the front on `hostname:port` (port 0: a free one). */
export function serveHttp1(options: Http1Options): Http1Server {
  const maxHead = options.maxHeadBytes ?? 16 * 1024;
  const maxBody = options.maxBodyBytes ?? 1024 * 1024;
  const headTimeout = options.headTimeoutMs ?? 10_000;
  const idleTimeout = options.idleTimeoutMs ?? 60_000;
  const maxConnections = options.maxConnections ?? 256;
  const problem = options.onProblem ?? (() => {});
  const listener = Deno.listen({
    hostname: options.hostname,
    port: options.port,
    transport: "tcp",
  });
  const conns = new Set<Deno.Conn>();
  const busy = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  let closing = false;

  async function respond(
    conn: Deno.Conn,
    head: RequestHead | undefined,
    response: Response,
    keepAlive: boolean,
  ) {
    const headers = new Headers(response.headers);
    headers.set("connection", keepAlive ? "keep-alive" : "close");
    const noBody = head?.method === "HEAD" || response.status === 204 || response.status === 304;
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
    let text = `HTTP/1.1 ${response.status} ${STATUS_TEXT[response.status] ?? "Status"}\r\n`;
    headers.forEach((value, name) => text += `${name}: ${value}\r\n`);
    const headBytes = encoder.encode(text + "\r\n");
    if (body) {
      // Head and body in one write: a small reply goes out as one packet.
      await writeAll(conn, concat([headBytes, body]));
      return;
    }
    await writeAll(conn, headBytes);
    if (response.body && !noBody && !response.bodyUsed) {
      for await (const chunk of response.body) {
        if (chunk.length === 0) continue;
        if (chunked) {
          await writeAll(
            conn,
            concat([
              encoder.encode(chunk.length.toString(16) + "\r\n"),
              chunk,
              encoder.encode("\r\n"),
            ]),
          );
        } else await writeAll(conn, chunk);
      }
      if (chunked) await writeAll(conn, encoder.encode("0\r\n\r\n"));
    }
  }

  /**
   * Reads until `enough()` holds, for at most `ms`: every part of a request (head, then body)
   * has a deadline, so a client that stalls anywhere cannot hold a connection for ever.
   */
  async function fillUntil(
    reader: Reader,
    ms: number,
    enough: () => boolean,
  ): Promise<"ok" | "eof" | "timeout"> {
    if (enough()) return "ok";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), ms));
    try {
      do {
        const more = await Promise.race([reader.fill(), timeout]);
        if (more === "timeout") return "timeout";
        if (!more) return "eof";
      } while (!enough());
      return "ok";
    } finally {
      clearTimeout(timer);
    }
  }

  async function readHead(
    reader: Reader,
    first: boolean,
  ): Promise<Uint8Array | "eof" | "timeout" | "too-large"> {
    let end = -1 as ReturnType<typeof indexOfCrlfCrlf>;
    const got = await fillUntil(reader, first ? headTimeout : idleTimeout, () => {
      end = indexOfCrlfCrlf(reader.buffered);
      return end !== -1 || reader.buffered.length > maxHead;
    });
    if (got !== "ok") return got;
    if (end === -1 || end.index > maxHead) return "too-large";
    const head = reader.consume(end.index);
    reader.consume(end.length);
    return head;
  }

  async function serveConn(conn: Deno.Conn) {
    const addr = conn.remoteAddr as Deno.NetAddr;
    const reader = new Reader(conn);
    let first = true;
    try {
      for (;;) {
        const head = await readHead(reader, first);
        first = false;
        if (head === "eof" || head === "timeout" || closing) return;
        if (head === "too-large") {
          await respond(conn, undefined, simpleResponse(431, "request head too large"), false);
          return;
        }
        const parsed = parseHead(head);
        if (typeof parsed === "string") {
          problem(`bad HTTP request from ${addr.hostname}: ${parsed}`);
          await respond(conn, undefined, simpleResponse(400, parsed), false);
          return;
        }
        if (parsed.headers.has("transfer-encoding")) {
          await respond(
            conn,
            parsed,
            simpleResponse(501, "chunked request bodies are not accepted"),
            false,
          );
          return;
        }
        const lengthText = parsed.headers.get("content-length") ?? "0";
        const length = /^\d+$/.test(lengthText) ? Number(lengthText) : NaN;
        if (!(length <= maxBody)) {
          await respond(conn, parsed, simpleResponse(413, "request body too large"), false);
          return;
        }
        if (await fillUntil(reader, headTimeout, () => reader.buffered.length >= length) !== "ok") {
          return;
        }
        const body = length > 0 ? reader.consume(length).slice() : undefined;
        const connection = (parsed.headers.get("connection") ?? "").toLowerCase();
        const keepAlive = !closing &&
          (parsed.version === "HTTP/1.1" ? connection !== "close" : connection === "keep-alive");
        const request = new Request(`http://localhost${parsed.target}`, {
          method: parsed.method,
          headers: parsed.headers,
          body: parsed.method === "GET" || parsed.method === "HEAD" ? undefined : body,
        });
        busy.add(conn);
        let response: Response;
        try {
          response = await options.handler(request, {
            remoteAddress: addr.hostname,
            remotePort: addr.port,
            rawTarget: utf8.decode(parsed.rawTarget),
          });
        } catch (e) {
          problem(
            `HTTP handler failed for ${parsed.method} ${parsed.target}: ${
              e instanceof Error ? e.message : e
            }`,
          );
          response = simpleResponse(500, "internal error");
        }
        try {
          await respond(conn, parsed, response, keepAlive);
        } finally {
          busy.delete(conn);
        }
        if (!keepAlive) return;
      }
    } catch (e) {
      if (
        !(e instanceof Deno.errors.BadResource || e instanceof Deno.errors.ConnectionReset ||
          e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.Interrupted)
      ) {
        problem(
          `HTTP connection from ${addr.hostname} failed: ${e instanceof Error ? e.message : e}`,
        );
      }
    } finally {
      conns.delete(conn);
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  }

  const accepting = (async () => {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch {
        return; // listener closed
      }
      if (conns.size >= maxConnections) {
        problem(
          `too many HTTP connections (${maxConnections}); refusing ${
            (conn.remoteAddr as Deno.NetAddr).hostname
          }`,
        );
        conn.close();
        continue;
      }
      try {
        // Replies and live updates go out at once; with Nagle's algorithm a write that
        // follows an unacknowledged one (a streamed chunk, the body after the head) waits
        // for the client's delayed ACK, some 40 ms.
        (conn as Deno.TcpConn).setNoDelay(true);
      } catch {
        // not a TCP socket, or already closed: nothing to tune
      }
      conns.add(conn);
      const task = serveConn(conn);
      tasks.add(task);
      task.finally(() => tasks.delete(task));
    }
  })();

  const addr = listener.addr as Deno.NetAddr;
  return {
    hostname: addr.hostname,
    port: addr.port,
    async close() {
      closing = true;
      listener.close();
      await accepting;
      for (const c of conns) {
        if (!busy.has(c)) {
          try {
            c.close();
          } catch { /* already closed */ }
        }
      }
      // Requests in progress get a moment to finish; long streams (live updates) are cut.
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise<void>((r) => timer = setTimeout(r, 1000));
      await Promise.race([Promise.allSettled([...tasks]), grace]);
      clearTimeout(timer);
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      await Promise.allSettled([...tasks]);
    },
  };
}
