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

import net from "node:net";
import tls from "node:tls";

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
