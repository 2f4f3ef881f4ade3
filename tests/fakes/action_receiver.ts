/**
 * A receiver for action URLs in tests: a raw TCP listener on loopback that records each
 * request line exactly as it arrived (raw spaces included, which ordinary HTTP servers
 * refuse) and answers 200 with an empty body, as the server's callback route does.
 */

import net from "node:net";

/** One request the receiver got. */
export interface ReceivedAction {
  readonly method: string;
  /** The request target as it arrived. */
  readonly target: string;
  readonly headers: ReadonlyMap<string, string>;
}

/** A listening receiver. */
export class ActionReceiver {
  readonly received: ReceivedAction[] = [];
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #waiters: { count: number; resolve: () => void }[] = [];

  private constructor() {
    this.#server = net.createServer((socket) => this.#serve(socket));
  }

  /** Starts listening on 127.0.0.1 and a free port. */
  static async start(): Promise<ActionReceiver> {
    const self = new ActionReceiver();
    await new Promise<void>((resolve) => self.#server.listen(0, "127.0.0.1", () => resolve()));
    return self;
  }

  /** The base URL, e.g. `http://127.0.0.1:40000`. */
  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as net.AddressInfo).port}`;
  }

  /** Resolves once at least `count` requests arrived. */
  waitFor(count: number): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  /** Request targets received, in order. */
  get targets(): string[] {
    return this.received.map((r) => r.target);
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #serve(socket: net.Socket) {
    this.#sockets.add(socket);
    socket.on("close", () => this.#sockets.delete(socket));
    socket.on("error", () => socket.destroy());
    let head = "";
    socket.on("data", (chunk: Uint8Array) => {
      head += new TextDecoder("latin1").decode(chunk);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      const lines = head.slice(0, end).split("\r\n");
      const first = lines[0];
      const a = first.indexOf(" ");
      const b = first.lastIndexOf(" ");
      const headers = new Map<string, string>();
      for (const l of lines.slice(1)) {
        const c = l.indexOf(":");
        if (c > 0) headers.set(l.slice(0, c).trim().toLowerCase(), l.slice(c + 1).trim());
      }
      this.received.push({ method: first.slice(0, a), target: first.slice(a + 1, b), headers });
      socket.end(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
      );
      this.#waiters = this.#waiters.filter((w) => {
        if (this.received.length < w.count) return true;
        w.resolve();
        return false;
      });
    });
  }
}
