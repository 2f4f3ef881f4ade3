/**
 * A small HTTP/1.1 server for the status page and phone callbacks. It exists because phones
 * substitute display names verbatim into action URLs, so request lines arrive with raw spaces
 * and odd bytes that `Deno.serve` rejects with 400 (docs/building.md §7.2). This front
 * reads the request line itself, repairs the target by percent-encoding what a URL may not
 * hold, and hands a normal `Request` plus the peer address to the handler (the Hono app).
 *
 * Connection states: reading-head → (reading-body) → handling → writing → reading-head
 * (keep-alive) | closed. Limits: head size, body size, idle and head timeouts, connections.
 */

import { concat } from "../bytes.ts";
import { findHeadEnd, parseRequestHead, type RequestHead, statusText } from "./head.ts";

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
const utf8 = new TextDecoder();

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
    let text = `HTTP/1.1 ${response.status} ${statusText(response.status)}\r\n`;
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
    let end: ReturnType<typeof findHeadEnd>;
    const got = await fillUntil(reader, first ? headTimeout : idleTimeout, () => {
      end = findHeadEnd(reader.buffered);
      return end !== undefined || reader.buffered.length > maxHead;
    });
    if (got !== "ok") return got;
    if (end === undefined || end.index > maxHead) return "too-large";
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
        const parsed = parseRequestHead(head);
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
