/**
 * A plain STLI test client over real TCP: sends bytes, reads whole lines and checks that
 * every line the server writes ends in CR LF (channel-protocol.md §1).
 */

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** A line client for one channel. Always `close()` it. */
export class StliClient {
  readonly conn: Deno.TcpConn;
  #buf = new Uint8Array(0);
  #eof = false;
  #wake?: () => void;
  readonly #reading: Promise<void>;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.#reading = this.#readLoop();
  }

  /** Connects to a channel server on loopback. */
  static async connect(port: number, hostname = "127.0.0.1"): Promise<StliClient> {
    return new StliClient(await Deno.connect({ hostname, port, transport: "tcp" }));
  }

  async #readLoop() {
    const chunk = new Uint8Array(64 * 1024);
    try {
      for (let n; (n = await this.conn.read(chunk)) !== null;) {
        const grown = new Uint8Array(this.#buf.length + n);
        grown.set(this.#buf);
        grown.set(chunk.subarray(0, n), this.#buf.length);
        this.#buf = grown;
        this.#wake?.();
      }
    } catch {
      // a reset counts as the end of the stream
    }
    this.#eof = true;
    this.#wake?.();
  }

  /** Bytes received and not yet read as lines. */
  get unread(): string {
    return decoder.decode(this.#buf);
  }

  /** Sends text as is (the caller chooses the line end). */
  async send(text: string | Uint8Array): Promise<void> {
    const bytes = typeof text === "string" ? encoder.encode(text) : text;
    for (let off = 0; off < bytes.length;) off += await this.conn.write(bytes.subarray(off));
  }

  /** Sends one command line ending in CR LF. */
  sendLine(line: string): Promise<void> {
    return this.send(line + "\r\n");
  }

  async #until<T>(take: () => T | undefined, what: string, timeoutMs: number): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const got = take();
      if (got !== undefined) return got;
      if (this.#eof) {
        throw new Error(
          `expected ${what}, got end of stream (unread: ${JSON.stringify(this.unread)})`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `expected ${what} within ${timeoutMs} ms (unread: ${JSON.stringify(this.unread)})`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        timer = setTimeout(resolve, left);
      });
      clearTimeout(timer);
      this.#wake = undefined;
    }
  }

  /** Reads one line; fails unless it ends in CR LF. Returns it without the line end. */
  readLine(timeoutMs = 3000): Promise<string> {
    return this.#until(
      () => {
        const lf = this.#buf.indexOf(0x0a);
        if (lf < 0) return undefined;
        if (lf === 0 || this.#buf[lf - 1] !== 0x0d) {
          throw new Error(
            `line without CR LF: ${JSON.stringify(decoder.decode(this.#buf.subarray(0, lf + 1)))}`,
          );
        }
        const line = decoder.decode(this.#buf.subarray(0, lf - 1));
        this.#buf = this.#buf.subarray(lf + 1);
        return line;
      },
      "a line",
      timeoutMs,
    );
  }

  /** Reads `n` lines. */
  async readLines(n: number, timeoutMs = 3000): Promise<string[]> {
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(await this.readLine(timeoutMs));
    return lines;
  }

  /** Sends a line and reads the next line. */
  async command(line: string): Promise<string> {
    await this.sendLine(line);
    return this.readLine();
  }

  /** Waits for the server to close the connection, with nothing more sent. */
  async expectEnd(timeoutMs = 3000): Promise<void> {
    await this.#until(() => (this.#eof ? true : undefined), "the end of the stream", timeoutMs);
    if (this.#buf.length > 0) {
      throw new Error(`unexpected output before the end: ${JSON.stringify(this.unread)}`);
    }
  }

  /** True once the server closed (or reset) the connection. */
  get ended(): boolean {
    return this.#eof;
  }

  /** Waits `ms` and fails if anything arrived meanwhile. */
  async expectSilence(ms: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (this.#buf.length > 0) throw new Error(`unexpected output: ${JSON.stringify(this.unread)}`);
  }

  /** Closes the connection and waits for the read loop. */
  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
    await this.#reading;
  }
}
