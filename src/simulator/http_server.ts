/**
 * A small HTTP/1.1 server on `node:net`/`node:tls`, its connections handled by hand so a
 * simulated phone can do what real phones do and ordinary servers cannot: close a connection
 * without any reply, reset it, answer slowly, and log the request target exactly as it
 * arrived. Requests are read with the server's own codec and replies written with its one
 * serialiser (src/http/), so the simulated phone and the server speak the same HTTP/1.1.
 *
 * Per connection: read a request head (and a Content-Length body), hand it to the handler,
 * write the reply, then read the next request unless either side asked to close.
 */

import net from "node:net";
import tls from "node:tls";
import { concat } from "../bytes.ts";
import { findHeadEnd, MAX_HEAD, parseRequestHead, responseHead } from "../http/mod.ts";

/** One request as it arrived. Header names are lower-cased. */
export interface RawRequest {
  readonly method: string;
  /** The request target exactly as sent, e.g. `/command.htm?number=0049%2A1`. */
  readonly target: string;
  readonly version: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
  readonly remoteAddress: string;
}

/** What to do with a request. */
export type SimReply =
  | {
    readonly kind: "reply";
    readonly status: number;
    readonly headers?: readonly (readonly [string, string])[];
    readonly body?: string;
  }
  /** Close the connection without a byte of reply (a FIN). */
  | { readonly kind: "close" }
  /** Reset the connection (a RST). */
  | { readonly kind: "reset" };

/** Answers requests; must not throw. */
export type RawHandler = (request: RawRequest) => Promise<SimReply>;

/** Where and how to listen. */
export interface RawServerOptions {
  readonly host: string;
  readonly port: number;
  /** PEM certificate and key: serve HTTPS instead of HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string };
  readonly handler: RawHandler;
}

/** A listening server. */
export class RawHttpServer {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  readonly #handler: RawHandler;
  #closed = false;

  private constructor(options: RawServerOptions) {
    this.#handler = options.handler;
    const onSocket = (socket: net.Socket) => this.#serve(socket);
    this.#server = options.tls
      ? tls.createServer({ cert: options.tls.cert, key: options.tls.key }, onSocket)
      : net.createServer(onSocket);
  }

  /** Starts listening; port 0 picks a free port. */
  static async listen(options: RawServerOptions): Promise<RawHttpServer> {
    const self = new RawHttpServer(options);
    const server = self.#server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(options.port, options.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    return self;
  }

  /** The port it listens on. */
  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  /** Stops listening and drops every open connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #serve(socket: net.Socket) {
    if (this.#closed) {
      socket.destroy();
      return;
    }
    this.#sockets.add(socket);
    socket.on("close", () => this.#sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let buffer: Uint8Array = new Uint8Array(0);
    let busy = false;
    const next = async () => {
      if (busy) return;
      const request = takeRequest(buffer, socket.remoteAddress ?? "");
      if (request === "incomplete") return;
      if (request === "bad") {
        socket.end(responseHead(400, [["Content-Length", "0"], ["Connection", "close"]]));
        return;
      }
      busy = true;
      buffer = request.rest;
      const reply = await this.#handler(request.request);
      busy = false;
      if (socket.destroyed) return;
      if (reply.kind === "close") {
        socket.end();
        return;
      }
      if (reply.kind === "reset") {
        socket.resetAndDestroy();
        return;
      }
      const keepAlive = wantsKeepAlive(request.request);
      socket.write(replyBytes(reply, keepAlive));
      if (!keepAlive) socket.end();
      else void next();
    };
    socket.on("data", (chunk: Uint8Array) => {
      buffer = concat([buffer, chunk]);
      void next();
    });
  }
}

function wantsKeepAlive(r: RawRequest): boolean {
  const connection = r.headers.find(([n]) => n === "connection")?.[1].toLowerCase() ?? "";
  if (connection.includes("close")) return false;
  return r.version === "HTTP/1.1" || connection.includes("keep-alive");
}

function replyBytes(
  reply: Extract<SimReply, { kind: "reply" }>,
  keepAlive: boolean,
): Uint8Array {
  const body = new TextEncoder().encode(reply.body ?? "");
  const head = responseHead(reply.status, [
    ...(reply.headers ?? []),
    ["Content-Length", `${body.length}`],
    ["Connection", keepAlive ? "keep-alive" : "close"],
  ]);
  return concat([head, body]);
}

/**
 * The largest request body taken. A phone's requests are small; without a bound, one
 * announced length would make a demo phone, which runs inside the server, buffer
 * whatever a client sends.
 */
const MAX_BODY = 1024 * 1024;
const latin1 = new TextDecoder("latin1");

function takeRequest(
  buffer: Uint8Array,
  remoteAddress: string,
): { request: RawRequest; rest: Uint8Array } | "incomplete" | "bad" {
  const end = findHeadEnd(buffer);
  if (end === undefined) return buffer.length > MAX_HEAD ? "bad" : "incomplete";
  // The same request-line reading as the server's own front: raw spaces in the target survive.
  const head = parseRequestHead(buffer.subarray(0, end.index));
  if (typeof head === "string") return "bad";
  const headers = [...head.headers];
  const length = Number(head.headers.get("content-length") ?? "0");
  if (!Number.isInteger(length) || length < 0 || length > MAX_BODY) return "bad";
  const bodyStart = end.index + end.length;
  if (buffer.length < bodyStart + length) return "incomplete";
  return {
    request: {
      method: head.method,
      target: latin1.decode(head.rawTarget),
      version: head.version,
      headers,
      body: new TextDecoder().decode(buffer.subarray(bodyStart, bodyStart + length)),
      remoteAddress,
    },
    rest: buffer.slice(bodyStart + length),
  };
}
