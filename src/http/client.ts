/**
 * The HTTP client to phones: one request, one connection, one classified reply. Plain and
 * HTTPS phones share all of it but the socket (at the end of this file); the simulated phones send their
 * action URLs with it too.
 *
 * Written on sockets rather than `fetch` because phones need what `fetch` cannot give
 * (docs/snom.md §2.4, §2.6):
 * - a connection the phone closes without any reply is a reply of its own ("closed"), and
 *   counts as success for dialling;
 * - HTTPS phones present self-signed certificates, so verification is off — for phones only;
 * - the request goes out byte for byte as the profile says, with `Connection: keep-alive`
 *   (some SNOM firmware sends an empty reply without it), and the connection is closed by us
 *   once the reply is read, so there is never a second request on it.
 */

import net from "node:net";
import tls from "node:tls";
import { ResponseReader } from "./response.ts";
import { concat } from "../bytes.ts";
import { errorText } from "../text.ts";
import { requestHead } from "./write.ts";
import { urlHost } from "../net.ts";

/** One request to a phone, fully formed. */
export interface PhoneRequest {
  readonly protocol: "HTTP" | "HTTPS";
  readonly host: string;
  readonly port: number;
  readonly method: string;
  /** The request target as it goes on the request line, already encoded. */
  readonly target: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
  readonly timeoutMs: number;
  /** Aborting ends the exchange at once, as `unreachable` (the server is stopping). */
  readonly signal?: AbortSignal;
}

/** A reply from a phone, as the rest of the client needs to tell replies apart. */
export type PhoneReply =
  | {
    readonly kind: "response";
    readonly status: number;
    /** Header names lower-cased, in arrival order; repeated headers stay separate. */
    readonly headers: readonly (readonly [string, string])[];
    /** The body as text, at most the response reader's `MAX_BODY` bytes of it. */
    readonly body: string;
  }
  /** The phone took the request and closed the connection without a byte of reply. */
  | { readonly kind: "closed" }
  /** No connection (refused, unreachable, name unknown, TLS failed), or it broke early. */
  | { readonly kind: "unreachable"; readonly message: string }
  | { readonly kind: "timeout" }
  /** Bytes came back, but not an HTTP status line. */
  | { readonly kind: "malformed"; readonly message: string };

/** The boundary the phone client talks through; tests may pass a fake. */
export interface PhoneTransport {
  /** Sends one request on a new connection and classifies what comes back. Never throws. */
  exchange(request: PhoneRequest): Promise<PhoneReply>;
  /**
   * The local address of a connection to host:port: the address the phone can reach this
   * machine at. Rejects when no connection can be made within the timeout.
   */
  localAddress(host: string, port: number, timeoutMs: number): Promise<string>;
}

/** Silence after a length-less reply's last bytes that ends it (ms). */
const QUIET_MS = 250;

/**
 * Serialises a request: request line, `Host` (its port only when not the protocol's
 * default), the request's headers, `Content-Length` when there is a body or the method is not
 * GET, blank line, body.
 */
export function requestBytes(r: PhoneRequest): Uint8Array {
  const body = new TextEncoder().encode(r.body);
  const defaultPort = r.protocol === "HTTPS" ? 443 : 80;
  const headers: (readonly [string, string])[] = [
    ["Host", `${urlHost(r.host)}${r.port === defaultPort ? "" : `:${r.port}`}`],
    ...r.headers,
  ];
  if (body.length > 0 || r.method !== "GET") headers.push(["Content-Length", `${body.length}`]);
  return concat([requestHead(r.method, r.target, headers), body]);
}

/**
 * One exchange on a connection `open` makes: connect, write the request, read the reply.
 *
 * - The deadline covers all of it; a status already in hand when it passes is the answer,
 *   even if the body never completes.
 * - A reply without a length may never end on a kept-alive connection: once its head is in,
 *   a short silence ({@link QUIET_MS}) is its end (the status is what matters; the body is
 *   only checked for the lock-out marker).
 * - No byte back, then the end or a reset: `closed`, the phone took the request.
 * - Part of a reply, then a reset: what was read.
 * - `signal` aborted: `unreachable`, "the server is stopping".
 */
function exchange(r: PhoneRequest, open: OpenStream): Promise<PhoneReply> {
  const reader = new ResponseReader();
  const stop = new Stop();
  const done = Promise.withResolvers<PhoneReply>();
  let quiet: ReturnType<typeof setTimeout> | undefined;
  const finish = (reply: PhoneReply) => {
    if (stop.stopped) return;
    stop.stop();
    clearTimeout(timer);
    clearTimeout(quiet);
    r.signal?.removeEventListener("abort", aborted);
    done.resolve(reply);
  };
  const timer = setTimeout(
    () => finish(replyOf(reader) ?? { kind: "timeout" }),
    Math.max(0, r.timeoutMs),
  );
  const aborted = () => finish({ kind: "unreachable", message: "the server is stopping" });
  if (r.signal?.aborted) aborted();
  r.signal?.addEventListener("abort", aborted, { once: true });

  (async () => {
    if (stop.stopped) return;
    let stream: ByteStream;
    try {
      stream = await open(r.host, r.port, stop);
    } catch (e) {
      return finish({ kind: "unreachable", message: errorText(e) });
    }
    stop.onStop(() => stream.close()); // at once, should the exchange have ended meanwhile
    if (stop.stopped) return;
    try {
      await stream.write(requestBytes(r));
    } catch (e) {
      return finish({ kind: "unreachable", message: errorText(e) });
    }
    try {
      for (let bytes; (bytes = await stream.read()) !== null;) {
        reader.push(bytes);
        if (reader.complete || reader.error) return finish(replyOf(reader)!);
        if (reader.endsWithConnection) {
          clearTimeout(quiet);
          quiet = setTimeout(() => finish(replyOf(reader)!), QUIET_MS);
        }
      }
    } catch (e) {
      if (stop.stopped) return;
      if (reader.received) {
        reader.end();
        return finish(
          replyOf(reader) ?? { kind: "malformed", message: `the reply broke off: ${errorText(e)}` },
        );
      }
      return finish(
        isReset(e) ? { kind: "closed" } : { kind: "unreachable", message: errorText(e) },
      );
    }
    reader.end();
    if (!reader.received) return finish({ kind: "closed" });
    finish(replyOf(reader) ?? { kind: "malformed", message: "the reply ended inside its head" });
  })();
  return done.promise;
}

/** What the reader has made of the reply so far, if anything. */
function replyOf(reader: ResponseReader): PhoneReply | undefined {
  if (reader.error) return { kind: "malformed", message: reader.error };
  const head = reader.head;
  return head &&
    { kind: "response", status: head.status, headers: head.headers, body: reader.body };
}

/** The real transport: Deno's sockets for HTTP phones, `node:tls` for HTTPS ones. */
export const netTransport: PhoneTransport = {
  exchange(r: PhoneRequest): Promise<PhoneReply> {
    return exchange(r, r.protocol === "HTTPS" ? openTls : openPlain);
  },

  localAddress(host: string, port: number, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection to ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        const address = socket.localAddress;
        socket.destroy();
        if (address) resolve(address.startsWith("::ffff:") ? address.slice(7) : address);
        else reject(new Error(`connected to ${host}:${port} but the local address is unknown`));
      });
      socket.once("error", (e) => {
        clearTimeout(timer);
        socket.destroy();
        reject(e);
      });
    });
  },
};

// --- The two sockets under it ---

/**
 * The two sockets under the phone client, behind one tiny byte-stream interface, so the
 * exchange (client.ts) is written once for plain and TLS phones:
 *
 * - plain HTTP on Deno's own TCP sockets: about half the CPU of the `node:net` layer per
 *   request, which is most of the server's work per command (scripts/bench/http1_bench.ts);
 * - HTTPS on `node:tls`, because phones present self-signed certificates (docs/snom.md §2.6)
 *   and `Deno.connectTls` cannot skip verification for one connection. Verification is off
 *   here, for phones only: the provider client never uses this module.
 */

/** One connection's bytes. Errors are the runtime's; a reset is told by {@link isReset}. */
export interface ByteStream {
  /** Writes every byte; resolves once they are handed to the system. */
  write(bytes: Uint8Array): Promise<void>;
  /** The next bytes (valid until the next read), or null at the end of the stream. */
  read(): Promise<Uint8Array | null>;
  /** Ends the connection at once; never throws. */
  close(): void;
}

/**
 * The end of one exchange, told to whatever still runs for it. Lighter than an
 * `AbortController`, whose cost per request showed in the phone client's benchmark.
 */
export class Stop {
  #stopped = false;
  readonly #then: (() => void)[] = [];

  /** True once {@link stop} was called. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Runs `fn` when the exchange stops (at once if it has). */
  onStop(fn: () => void): void {
    if (this.#stopped) fn();
    else this.#then.push(fn);
  }

  /** Stops the exchange; later calls do nothing. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const fn of this.#then.splice(0)) fn();
  }
}

/**
 * Opens a connection to `host:port`. `stop` ends an attempt still under way (the caller no
 * longer waits for it); a stream that opens anyway is the caller's to close.
 */
export type OpenStream = (host: string, port: number, stop: Stop) => Promise<ByteStream>;

/** True for an error that says the peer reset the connection, or is gone (either runtime). */
export function isReset(e: unknown): boolean {
  if (e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe) return true;
  const code = (e as { code?: unknown } | undefined)?.code;
  return code === "ECONNRESET" || code === "EPIPE";
}

/** Plain TCP on `Deno.connect`. */
export const openPlain: OpenStream = async (host, port) => {
  // A zone id (`fe80::1%eth0`) is for the system's routing, not for Deno's address parser.
  const conn = await Deno.connect({ hostname: host.replace(/%.*$/, ""), port });
  // The request goes out at once, not after the phone's delayed ACK of an earlier segment.
  conn.setNoDelay(true);
  const buffer = new Uint8Array(16 * 1024);
  return {
    async write(bytes) {
      for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
    },
    async read() {
      const n = await conn.read(buffer);
      return n === null ? null : buffer.subarray(0, n);
    },
    close() {
      try {
        conn.close();
      } catch {
        // already closed
      }
    },
  };
};

/** TLS on `node:tls`, any certificate accepted (phones only, see above). */
export const openTls: OpenStream = (host, port, stop) =>
  new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port,
      rejectUnauthorized: false,
      servername: net.isIP(host) ? undefined : host,
    });
    socket.setNoDelay(true); // as for plain phones: the request goes out at once
    const stream = new NodeStream(socket);
    // Once connected, the promise is settled and only the destroying counts.
    stop.onStop(() => {
      socket.destroy();
      reject(new Error("stopped while connecting"));
    });
    socket.once("secureConnect", () => resolve(stream));
    stream.ended.then((e) =>
      reject(e ?? new Error("the connection closed before the request was sent"))
    );
  });

/** A `node:net` socket as a {@link ByteStream}: its events become reads. */
class NodeStream implements ByteStream {
  readonly #socket: net.Socket;
  readonly #chunks: Uint8Array[] = [];
  #error?: Error;
  #done = false;
  #wake?: () => void;
  readonly #ended = Promise.withResolvers<Error | undefined>();

  constructor(socket: net.Socket) {
    this.#socket = socket;
    socket.on("data", (chunk: Uint8Array) => {
      this.#chunks.push(chunk);
      this.#wake?.();
    });
    const end = () => {
      this.#done = true;
      this.#ended.resolve(this.#error);
      this.#wake?.();
    };
    socket.on("end", end);
    socket.on("close", end);
    socket.on("error", (e: Error & { code?: string }) => {
      // The code leads, as it says most (`ECONNREFUSED: connect ECONNREFUSED 10.0.0.5:443`).
      this.#error ??= Object.assign(new Error(e.code ? `${e.code}: ${e.message}` : e.message), {
        code: e.code,
      });
      end();
    });
  }

  /** Settles when the stream ends, with the error that ended it, if any. */
  get ended(): Promise<Error | undefined> {
    return this.#ended.promise;
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#error) return reject(this.#error);
      this.#socket.write(bytes, (e) => e ? reject(this.#error ?? e) : resolve());
    });
  }

  async read(): Promise<Uint8Array | null> {
    for (;;) {
      const chunk = this.#chunks.shift();
      if (chunk) return chunk;
      if (this.#error) throw this.#error;
      if (this.#done) return null;
      await new Promise<void>((resolve) => this.#wake = resolve);
      this.#wake = undefined;
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}
