/**
 * A plain STLI test client over real TCP, for the channel tests and the end-to-end tests
 * alike: it sends bytes, and collects every line the server writes as it arrives, checking
 * that each ends in CR LF (docs/channel-protocol.md §1). A test takes lines in order, waits for a
 * given line, drains the channel with a sentinel command, or expects silence or the end.
 */

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The command used to drain a channel: not a command, so it is answered at once (§3). */
export const SENTINEL = "Ping";
const SENTINEL_REPLY = `error_ind INVALCMD ${SENTINEL}`;

/** How a client connects and waits. */
export interface StliClientOptions {
  /** Default 127.0.0.1. */
  readonly hostname?: string;
  /**
   * Sees every line first; a line it returns true for is taken by it and not kept (for tests
   * that receive too many lines to keep).
   */
  readonly tap?: (line: string) => boolean;
  /** How long a read waits unless it is given its own timeout. Default 3000 ms. */
  readonly timeoutMs?: number;
}

/** A line client for one channel. Always `close()` it. */
export class StliClient {
  readonly conn: Deno.TcpConn;
  /** Every line received so far (except those `tap` took), without line ends. */
  readonly lines: string[] = [];
  /** Lines before this index have been taken. */
  #cursor = 0;
  /** Bytes of a line not ended yet. */
  #partial: Uint8Array = new Uint8Array(0);
  #ended = false;
  /** The first line that did not end in CR LF: every later read fails with it. */
  #problem?: Error;
  readonly #waiters = new Set<() => void>();
  readonly #tap?: (line: string) => boolean;
  readonly #timeoutMs: number;
  readonly #reading: Promise<void>;

  private constructor(conn: Deno.TcpConn, options: StliClientOptions) {
    this.conn = conn;
    this.#tap = options.tap;
    this.#timeoutMs = options.timeoutMs ?? 3000;
    this.#reading = this.#read();
  }

  /** Connects to a channel port; `options` may be just the hostname. */
  static async connect(
    port: number,
    options: string | StliClientOptions = {},
  ): Promise<StliClient> {
    const o = typeof options === "string" ? { hostname: options } : options;
    const conn = await Deno.connect({ hostname: o.hostname ?? "127.0.0.1", port });
    return new StliClient(conn, o);
  }

  async #read() {
    const chunk = new Uint8Array(64 * 1024);
    try {
      for (let n; (n = await this.conn.read(chunk)) !== null;) {
        const grown = new Uint8Array(this.#partial.length + n);
        grown.set(this.#partial);
        grown.set(chunk.subarray(0, n), this.#partial.length);
        this.#split(grown);
        this.#wake();
      }
    } catch {
      // a reset or our own close ends the stream
    }
    this.#ended = true;
    this.#wake();
  }

  #split(buf: Uint8Array) {
    let start = 0;
    for (let lf = buf.indexOf(0x0a); lf >= 0; lf = buf.indexOf(0x0a, start)) {
      if (lf === start || buf[lf - 1] !== 0x0d) {
        this.#problem ??= new Error(
          `line without CR LF: ${JSON.stringify(decoder.decode(buf.subarray(start, lf + 1)))}`,
        );
      }
      const line = decoder.decode(buf.subarray(start, Math.max(start, lf - 1)));
      if (!this.#tap?.(line)) this.lines.push(line);
      start = lf + 1;
    }
    this.#partial = buf.subarray(start);
  }

  #wake() {
    for (const w of this.#waiters) w();
  }

  /** True once the server closed (or reset) the connection. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Lines received and not taken yet. */
  get unread(): string[] {
    return this.lines.slice(this.#cursor);
  }

  /** Sends text or bytes as they are (the caller chooses the line end). */
  async send(text: string | Uint8Array): Promise<void> {
    const bytes = typeof text === "string" ? encoder.encode(text) : text;
    for (let off = 0; off < bytes.length;) off += await this.conn.write(bytes.subarray(off));
  }

  /** Sends one command line ending in CR LF. */
  sendLine(line: string): Promise<void> {
    return this.send(line + "\r\n");
  }

  /** Resolves once `ready()` holds; fails after `timeoutMs`, at the end, or on a bad line. */
  async #wait(ready: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (this.#problem) throw this.#problem;
      if (this.#ended) throw new Error(`expected ${what}, got the end (unread: ${this.#dump()})`);
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(`expected ${what} within ${timeoutMs} ms (unread: ${this.#dump()})`);
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      let w!: () => void;
      await new Promise<void>((resolve) => {
        w = resolve;
        this.#waiters.add(w);
        timer = setTimeout(w, left);
      });
      clearTimeout(timer);
      this.#waiters.delete(w);
    }
    if (this.#problem) throw this.#problem;
  }

  /** What arrived and was not taken: whole lines, then any unended rest. */
  #dump(): string {
    const rest = this.#partial.length > 0 ? [decoder.decode(this.#partial)] : [];
    return JSON.stringify([...this.unread, ...rest]);
  }

  /** Takes the next `n` lines, all within the timeout. */
  async readLines(n: number, timeoutMs = this.#timeoutMs): Promise<string[]> {
    await this.#wait(() => this.lines.length - this.#cursor >= n, `${n} line(s)`, timeoutMs);
    const out = this.lines.slice(this.#cursor, this.#cursor + n);
    this.#cursor += n;
    return out;
  }

  /** Takes the next line. */
  async readLine(timeoutMs = this.#timeoutMs): Promise<string> {
    return (await this.readLines(1, timeoutMs))[0];
  }

  /** Takes every line up to and including the first one equal to `last`. */
  async until(last: string, timeoutMs = this.#timeoutMs): Promise<string[]> {
    let at = -1;
    await this.#wait(
      () => (at = this.lines.indexOf(last, this.#cursor)) >= 0,
      JSON.stringify(last),
      timeoutMs,
    );
    const out = this.lines.slice(this.#cursor, at + 1);
    this.#cursor = at + 1;
    return out;
  }

  /** Sends a command and takes the next line (its reply, when no event can come first). */
  async command(line: string, timeoutMs = this.#timeoutMs): Promise<string> {
    await this.sendLine(line);
    return await this.readLine(timeoutMs);
  }

  /**
   * Drains the channel: sends the sentinel and takes every line written before its reply,
   * which is written after every reply pending and every event already delivered.
   */
  async sync(timeoutMs = this.#timeoutMs): Promise<string[]> {
    await this.sendLine(SENTINEL);
    const lines = await this.until(SENTINEL_REPLY, timeoutMs);
    return lines.slice(0, -1);
  }

  /** Waits for the server to close the connection, with nothing more sent. */
  async expectEnd(timeoutMs = this.#timeoutMs): Promise<void> {
    await this.#wait(() => this.#ended, "the end of the stream", timeoutMs);
    this.#expectNothing("unexpected output before the end");
  }

  /** Waits `ms` and fails if anything arrived meanwhile. */
  async expectSilence(ms: number): Promise<void> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    this.#expectNothing("unexpected output");
  }

  #expectNothing(what: string): void {
    if (this.#problem) throw this.#problem;
    if (this.#cursor < this.lines.length || this.#partial.length > 0) {
      throw new Error(`${what}: ${this.#dump()}`);
    }
  }

  /** Closes the connection and waits for the reader. */
  async close(): Promise<void> {
    try {
      this.conn.close();
    } catch {
      // already closed
    }
    await this.#reading;
  }
}
