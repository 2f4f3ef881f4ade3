/**
 * Small clients for the benchmarks: a TCP connection that counts the CR LF lines it receives
 * (a channel), a keep-alive HTTP/1.1 GET client (a phone sending action URLs), and a free
 * loopback port.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A connection that counts received lines and lets callers wait for a count. */
export class LineCounter {
  readonly conn: Deno.TcpConn;
  /** Lines received so far. */
  count = 0;
  /** The last line received (for checks). */
  last = "";
  #partial = "";
  #waiters: { n: number; resolve: () => void }[] = [];
  readonly #reading: Promise<void>;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.#reading = this.#read();
  }

  static async connect(port: number): Promise<LineCounter> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new LineCounter(conn);
  }

  async #read() {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (let n; (n = await this.conn.read(buf)) !== null;) {
        const text = this.#partial + decoder.decode(buf.subarray(0, n), { stream: true });
        const lines = text.split("\r\n");
        this.#partial = lines.pop()!;
        if (lines.length > 0) {
          this.count += lines.length;
          this.last = lines[lines.length - 1];
          this.#wake();
        }
      }
    } catch {
      // closed
    }
  }

  #wake() {
    const still = [];
    for (const w of this.#waiters) {
      if (this.count >= w.n) w.resolve();
      else still.push(w);
    }
    this.#waiters = still;
  }

  /** Resolves once `n` lines have arrived in all. */
  until(n: number): Promise<void> {
    if (this.count >= n) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ n, resolve }));
  }

  async send(text: string): Promise<void> {
    const bytes = encoder.encode(text);
    for (let off = 0; off < bytes.length;) off += await this.conn.write(bytes.subarray(off));
  }

  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
    await this.#reading;
  }
}

/** One keep-alive HTTP/1.1 connection sending GETs one after another, as a phone does. */
export class KeepAliveGet {
  readonly #conn: Deno.TcpConn;
  readonly #host: string;
  #buf = new Uint8Array(0);
  readonly #chunk = new Uint8Array(16 * 1024);

  private constructor(conn: Deno.TcpConn, port: number) {
    this.#conn = conn;
    this.#host = `127.0.0.1:${port}`;
  }

  static async connect(port: number): Promise<KeepAliveGet> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new KeepAliveGet(conn, port);
  }

  /** Sends a GET for `target` and resolves with the status once the whole reply is read. */
  async get(target: string): Promise<number> {
    const request = encoder.encode(`GET ${target} HTTP/1.1\r\nHost: ${this.#host}\r\n\r\n`);
    for (let off = 0; off < request.length;) {
      off += await this.#conn.write(request.subarray(off));
    }
    for (;;) {
      const end = findHeadEnd(this.#buf);
      if (end >= 0) {
        const head = decoder.decode(this.#buf.subarray(0, end));
        const length = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? "0");
        if (this.#buf.length >= end + 4 + length) {
          this.#buf = this.#buf.subarray(end + 4 + length);
          return Number(head.slice(9, 12));
        }
      }
      const n = await this.#conn.read(this.#chunk);
      if (n === null) throw new Error("the server closed the connection");
      const grown = new Uint8Array(this.#buf.length + n);
      grown.set(this.#buf);
      grown.set(this.#chunk.subarray(0, n), this.#buf.length);
      this.#buf = grown;
    }
  }

  close(): void {
    try {
      this.#conn.close();
    } catch {
      // already closed
    }
  }
}

function findHeadEnd(buf: Uint8Array): number {
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

/**
 * The callback path the server wrote into a simulated SNOM phone for one notification, with
 * the phone's `$variables` filled as the phone would: call `callId`, a caller with a display
 * name, one call ongoing for `incoming`, none otherwise.
 */
export function callbackTarget(
  phone: { readonly extension: string; readonly settings: ReadonlyMap<string, string> },
  notification: string,
  callId: number,
): string {
  const url = phone.settings.get(`action_${notification}_url`)!;
  return url.replace(/^https?:\/\/[^/]+/, "")
    .replace("$call-id", `bench-${callId}`)
    .replace("$remote", "0301234%40pbx")
    .replace("$local", `${phone.extension}%40pbx`)
    .replace("$display_remote", "Jane%20Doe")
    .replace("$nr_ongoing_calls", notification === "incoming" ? "1" : "0");
}
