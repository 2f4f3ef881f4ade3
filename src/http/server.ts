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
 * Its parts: admission (_admission.ts), one exchange on a connection: the request read within
 * its limits, the response written (_exchange.ts), and the accept loop shared with the
 * channel listener (src/listen.ts), which survives anything one connection does: such errors
 * are counted and reported, and only closing the front ends the loop; should the loop end any
 * other way, the listener is opened again.
 */

import { within } from "../clock.ts";
import { AcceptLoop } from "../listen.ts";
import { errorText } from "../text.ts";
import { Admission } from "./_admission.ts";
import {
  BodyStreams,
  ConnReader,
  type Incoming,
  readRequest,
  type RequestLimits,
  simpleResponse,
  writeResponse,
} from "./_exchange.ts";

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

const utf8 = new TextDecoder();

/** How long a closing front waits for requests in progress (ms). */
const CLOSE_GRACE_MS = 600;

/** Starts the front on `hostname:port` (port 0: a free one). */
export function serveHttp1(options: Http1Options): Http1Server {
  return new Front(options);
}

/** The running front: its connections, the requests on them, and how it closes. */
class Front implements Http1Server {
  readonly hostname: string;
  readonly port: number;
  readonly #handler: Handler;
  readonly #limits: RequestLimits;
  readonly #problem: (kind: ProblemKind, message: string) => void;
  readonly #admission: Admission<Deno.Conn>;
  /** Connections whose request is with the handler or whose response is being written. */
  readonly #busy = new Set<Deno.Conn>();
  readonly #tasks = new Set<Promise<void>>();
  readonly #streams = new BodyStreams();
  readonly #accepting: AcceptLoop<Deno.TcpConn, Deno.TcpListener>;
  #closing = false;
  #acceptErrors = 0;

  constructor(options: Http1Options) {
    this.#handler = options.handler;
    this.#limits = {
      maxHeadBytes: options.maxHeadBytes ?? 16 * 1024,
      maxBodyBytes: options.maxBodyBytes ?? 1024 * 1024,
      headTimeoutMs: options.headTimeoutMs ?? 10_000,
      idleTimeoutMs: options.idleTimeoutMs ?? 60_000,
    };
    const maxConnections = options.maxConnections ?? 256;
    this.#admission = new Admission({
      maxConnections,
      perAddress: options.maxConnectionsPerAddress ?? 16,
      reserved: Math.min(options.reservedConnections ?? maxConnections >> 2, maxConnections),
      preferred: options.preferred ?? (() => false),
    });
    const problem = this.#problem = options.onProblem ?? (() => {});
    const listen = () =>
      Deno.listen({ hostname: options.hostname, port: options.port, transport: "tcp" });
    const listener = listen();
    const addr = listener.addr;
    this.hostname = addr.hostname;
    this.port = addr.port;
    this.#accepting = new AcceptLoop({
      listener,
      listen,
      take: (conn) => this.#admit(conn),
      failed: (stage, e) => {
        this.#acceptErrors++;
        const what = stage === "accept" ? "accepting" : "taking";
        problem("accept", `${what} an HTTP connection failed: ${errorText(e)}`);
      },
      lost: (e) =>
        problem("accept", `the HTTP listener stopped (${errorText(e)}); listening again`),
      relistenFailed: (e) =>
        problem("accept", `cannot listen again: ${errorText(e)}; retrying in 1 s`),
    });
  }

  get connections(): number {
    return this.#admission.size;
  }

  get acceptErrors(): number {
    return this.#acceptErrors;
  }

  async close(): Promise<void> {
    this.#closing = true;
    await this.#accepting.close();
    // Live updates never end by themselves: end them now.
    this.#streams.stop();
    for (const c of this.#admission.connections) if (!this.#busy.has(c)) closeQuietly(c);
    // Requests in progress get a moment to finish, then every connection is closed; a
    // handler that still has not returned is not waited for any longer.
    await within(Promise.allSettled([...this.#tasks]), CLOSE_GRACE_MS);
    for (const c of this.#admission.connections) closeQuietly(c);
    await within(Promise.allSettled([...this.#tasks]), CLOSE_GRACE_MS / 2);
  }

  /** Takes or refuses one accepted connection. */
  #admit(conn: Deno.TcpConn) {
    const address = conn.remoteAddr.hostname;
    const refusal = this.#admission.admit(conn, address);
    if (refusal) {
      this.#problem("refused", `refused an HTTP connection from ${address}: ${refusal}`);
      conn.close();
      return;
    }
    try {
      // Replies and live updates go out at once; with Nagle's algorithm a write that
      // follows an unacknowledged one (a streamed chunk, the body after the head) waits
      // for the client's delayed ACK, some 40 ms.
      conn.setNoDelay(true);
    } catch {
      // already closed: nothing to tune
    }
    const task = this.#serve(conn);
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task));
  }

  /** Serves requests on one connection until either side ends it, then lets it go. */
  async #serve(conn: Deno.TcpConn) {
    const addr = conn.remoteAddr;
    const reader = new ConnReader(conn);
    try {
      for (let first = true;; first = false) {
        const incoming = await readRequest(reader, this.#limits, first, () => this.#closing);
        if (incoming.kind === "end") return;
        if (incoming.kind === "refused") {
          if (incoming.problem) {
            this.#problem(
              "bad-request",
              `bad HTTP request from ${addr.hostname}: ${incoming.problem}`,
            );
          }
          await writeResponse(conn, incoming.head?.method, incoming.response, false, this.#streams);
          return;
        }
        if (!await this.#answer(conn, incoming)) return;
      }
    } catch (e) {
      if (
        !(e instanceof Deno.errors.BadResource || e instanceof Deno.errors.ConnectionReset ||
          e instanceof Deno.errors.BrokenPipe || e instanceof Deno.errors.Interrupted)
      ) {
        this.#problem("handler", `HTTP connection from ${addr.hostname} failed: ${errorText(e)}`);
      }
    } finally {
      this.#admission.release(conn);
      closeQuietly(conn);
    }
  }

  /** Hands a request to the handler and writes its response; true to keep the connection. */
  async #answer(
    conn: Deno.TcpConn,
    { head, request, keepAlive: asked }: Extract<Incoming, { kind: "request" }>,
  ): Promise<boolean> {
    const addr = conn.remoteAddr;
    let keepAlive = asked && !this.#closing;
    this.#busy.add(conn);
    try {
      let response: Response;
      try {
        response = await this.#handler(request, {
          remoteAddress: addr.hostname,
          remotePort: addr.port,
          rawTarget: utf8.decode(head.rawTarget),
        });
      } catch (e) {
        this.#problem(
          "handler",
          `HTTP handler failed for ${head.method} ${head.target}: ${errorText(e)}`,
        );
        response = simpleResponse(500, "internal error");
      }
      // A refused client (no or wrong password, not allowed) keeps no connection open.
      if (response.status === 401 || response.status === 403) keepAlive = false;
      await writeResponse(conn, head.method, response, keepAlive, this.#streams);
    } finally {
      this.#busy.delete(conn);
    }
    return keepAlive;
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}
