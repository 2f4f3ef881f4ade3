/**
 * A small HTTP/1.1 server for the status page and phone callbacks. It exists because phones
 * substitute display names verbatim into action URLs, so request lines arrive with raw spaces
 * and odd bytes that `Deno.serve` rejects with 400 (docs/building.md §7.2). This front
 * reads the request line itself, repairs the target by percent-encoding what a URL may not
 * hold, and hands a normal `Request` plus the peer address to the handler (the Hono app).
 *
 * Connection states: reading-head → (reading-body) → handling → writing → reading-head
 * (keep-alive) | closed. Limits: head size, body size, idle and head timeouts, connections in
 * all and per address, with a share of the connections kept for preferred addresses (the
 * phones, whose callbacks must never be starved by other clients).
 *
 * The accept loop survives anything one connection does (a reset before accept, say): such
 * errors are counted and reported, and only closing the front ends the loop. Should the loop
 * end any other way, the listener is opened again.
 */

import { concat } from "../bytes.ts";
import { isConnectionError } from "../net.ts";
import { findHeadEnd, parseRequestHead, type RequestHead, statusText } from "./head.ts";
import { errorText } from "../text.ts";

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
  /** Connections one address may hold (preferred addresses excepted). Default 16. */
  readonly maxConnectionsPerAddress?: number;
  /** Connections only preferred addresses may use. Default a quarter of `maxConnections`. */
  readonly reservedConnections?: number;
  /** True for addresses whose requests must get through (phones). Default none. */
  readonly preferred?: (address: string) => boolean;
  /**
   * Called for problems worth a log line, by kind, so the caller can summarise floods: a
   * failed accept, a refused connection, a bad request, a handler that failed.
   */
  readonly onProblem?: (kind: ProblemKind, message: string) => void;
}

/** What went wrong, for counting and summarising. */
export type ProblemKind = "accept" | "refused" | "bad-request" | "handler";

/** Methods a `Request` cannot carry; answered 405 without reaching the handler. */
const FORBIDDEN_METHODS = new Set(["CONNECT", "TRACE", "TRACK"]);

/** A running front. */
export interface Http1Server {
  readonly hostname: string;
  readonly port: number;
  /** Connections open now. */
  readonly connections: number;
  /** Accepts that failed since start (each skipped, the loop kept going). */
  readonly acceptErrors: number;
  /**
   * Stops accepting, ends idle connections and streams (live updates), gives requests in
   * progress a moment, then closes everything; done well within a second or two.
   */
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

/** How long a closing front waits for requests in progress (ms). */
const CLOSE_GRACE_MS = 600;

/** Waits for `work`, but no longer than `ms`. */
async function within(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const grace = new Promise<void>((r) => timer = setTimeout(r, ms));
  await Promise.race([work, grace]);
  clearTimeout(timer);
}

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
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
  const perAddress = options.maxConnectionsPerAddress ?? 16;
  const reserved = Math.min(options.reservedConnections ?? maxConnections >> 2, maxConnections);
  const preferred = options.preferred ?? (() => false);
  const problem = options.onProblem ?? (() => {});
  const listen = () =>
    Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp" });
  let listener = listen();
  const conns = new Set<Deno.Conn>();
  const byAddress = new Map<string, number>();
  const busy = new Set<Deno.Conn>();
  const tasks = new Set<Promise<void>>();
  /** Response bodies being streamed (live updates), cancelled on close. */
  const streams = new Set<ReadableStreamDefaultReader<Uint8Array>>();
  let closing = false;
  let acceptErrors = 0;
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
      const reader = response.body.getReader();
      streams.add(reader);
      try {
        for (;;) {
          const { done, value: chunk } = await reader.read();
          if (done || closing) break;
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
      } finally {
        streams.delete(reader);
        reader.cancel().catch(() => {});
      }
      if (chunked && !closing) await writeAll(conn, encoder.encode("0\r\n\r\n"));
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
          problem("bad-request", `bad HTTP request from ${addr.hostname}: ${parsed}`);
          await respond(conn, undefined, simpleResponse(400, parsed), false);
          return;
        }
        if (FORBIDDEN_METHODS.has(parsed.method)) {
          const refusal = simpleResponse(405, `${parsed.method} is not served here`);
          refusal.headers.set("allow", "GET, HEAD, POST");
          await respond(conn, parsed, refusal, false);
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
        if (!/^\d+$/.test(lengthText)) {
          // Two Content-Length headers (joined with a comma) or a value that is no number:
          // the body's end is unknown, so nothing after it could be read safely.
          const why = lengthText.includes(",")
            ? "more than one Content-Length"
            : "a Content-Length that is not a number";
          problem("bad-request", `bad HTTP request from ${addr.hostname}: ${why}`);
          await respond(conn, parsed, simpleResponse(400, why), false);
          return;
        }
        const length = Number(lengthText);
        if (length > maxBody) {
          await respond(conn, parsed, simpleResponse(413, "request body too large"), false);
          return;
        }
        if (await fillUntil(reader, headTimeout, () => reader.buffered.length >= length) !== "ok") {
          return;
        }
        const body = length > 0 ? reader.consume(length).slice() : undefined;
        const connection = (parsed.headers.get("connection") ?? "").toLowerCase();
        let keepAlive = !closing &&
          (parsed.version === "HTTP/1.1" ? connection !== "close" : connection === "keep-alive");
        let request: Request;
        try {
          request = new Request(`http://localhost${parsed.target}`, {
            method: parsed.method,
            headers: parsed.headers,
            body: parsed.method === "GET" || parsed.method === "HEAD" ? undefined : body,
          });
        } catch (e) {
          const why = errorText(e);
          problem("bad-request", `bad HTTP request from ${addr.hostname}: ${why}`);
          await respond(conn, parsed, simpleResponse(400, "bad request"), false);
          return;
        }
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
            "handler",
            `HTTP handler failed for ${parsed.method} ${parsed.target}: ${errorText(e)}`,
          );
          response = simpleResponse(500, "internal error");
        }
        // A refused client (no or wrong password, not allowed) keeps no connection open.
        if (response.status === 401 || response.status === 403) keepAlive = false;
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
          "handler",
          `HTTP connection from ${addr.hostname} failed: ${errorText(e)}`,
        );
      }
    } finally {
      conns.delete(conn);
      const left = (byAddress.get(addr.hostname) ?? 1) - 1;
      if (left > 0) byAddress.set(addr.hostname, left);
      else byAddress.delete(addr.hostname);
      try {
        conn.close();
      } catch { /* already closed */ }
    }
  }

  /** Takes or refuses one accepted connection. */
  function admit(conn: Deno.Conn) {
    const address = (conn.remoteAddr as Deno.NetAddr).hostname;
    const mine = byAddress.get(address) ?? 0;
    const favoured = preferred(address);
    const refusal = conns.size >= maxConnections
      ? `all ${maxConnections} connections are in use`
      : favoured
      ? undefined
      : conns.size >= maxConnections - reserved
      ? `the last ${reserved} connections are kept for phones`
      : mine >= perAddress
      ? `${address} already holds ${perAddress} connections`
      : undefined;
    if (refusal) {
      problem("refused", `refused an HTTP connection from ${address}: ${refusal}`);
      conn.close();
      return;
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
    byAddress.set(address, mine + 1);
    const task = serveConn(conn);
    tasks.add(task);
    task.finally(() => tasks.delete(task));
  }

  /** Accepts until the front closes; a failed accept concerns one connection only. */
  async function acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (closing) return;
        if (e instanceof Deno.errors.BadResource) throw e; // closed under us: rebuild
        acceptErrors++;
        problem("accept", `accepting an HTTP connection failed: ${describe(e)}`);
        // A reset before accept is one client's doing; anything else (out of file handles)
        // gets a short pause, so a failing listener cannot spin.
        if (!isConnectionError(e)) await new Promise((r) => setTimeout(r, 50));
        continue;
      }
      try {
        admit(conn);
      } catch (e) {
        acceptErrors++;
        problem("accept", `taking an HTTP connection failed: ${describe(e)}`);
        try {
          conn.close();
        } catch { /* already closed */ }
      }
    }
  }

  /** Runs the accept loop; should it end while the front is open, listens again. */
  const accepting = (async () => {
    while (!closing) {
      try {
        await acceptLoop();
        return;
      } catch (e) {
        if (closing) return;
        problem("accept", `the HTTP listener stopped (${describe(e)}); listening again`);
        try {
          listener.close();
        } catch { /* already closed */ }
        await new Promise((r) => setTimeout(r, 100));
        try {
          if (!closing) listener = listen();
        } catch (again) {
          problem("accept", `cannot listen again: ${describe(again)}; retrying in 1 s`);
          await new Promise((r) => setTimeout(r, 1000));
        }
      }
    }
  })();

  const addr = listener.addr as Deno.NetAddr;
  return {
    hostname: addr.hostname,
    port: addr.port,
    get connections() {
      return conns.size;
    },
    get acceptErrors() {
      return acceptErrors;
    },
    async close() {
      closing = true;
      try {
        listener.close();
      } catch { /* already closed */ }
      await accepting;
      // Live updates never end by themselves: end them now.
      for (const s of streams) s.cancel().catch(() => {});
      for (const c of conns) {
        if (!busy.has(c)) {
          try {
            c.close();
          } catch { /* already closed */ }
        }
      }
      // Requests in progress get a moment to finish, then every connection is closed; a
      // handler that still has not returned is not waited for any longer.
      await within(Promise.allSettled([...tasks]), CLOSE_GRACE_MS);
      for (const c of conns) {
        try {
          c.close();
        } catch { /* already closed */ }
      }
      await within(Promise.allSettled([...tasks]), CLOSE_GRACE_MS / 2);
    },
  };
}
