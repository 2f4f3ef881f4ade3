/**
 * A plug-in channel as the end-to-end tests use it: a real TCP connection whose every line is
 * collected as it arrives (and checked to end in CR LF, channel-protocol.md §1), so a test can
 * wait for lines, split them by device, and drain the channel with a sentinel command.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The command used to drain a channel: not a command, so it is answered at once (§3). */
export const SENTINEL = "Ping";
const SENTINEL_REPLY = `error_ind INVALCMD ${SENTINEL}`;

/** One channel; always `close()` it (the harness does for channels it opened). */
export class LineChannel {
  readonly conn: Deno.TcpConn;
  /** Every line received so far, without line ends. */
  readonly lines: string[] = [];
  /** Lines before this index have been taken by `next`, `until` or `sync`. */
  #cursor = 0;
  #buf = new Uint8Array(0);
  #ended = false;
  #problem?: Error;
  #waiters = new Set<() => void>();
  readonly #reading: Promise<void>;

  readonly #tap?: (line: string) => boolean;

  private constructor(conn: Deno.TcpConn, tap?: (line: string) => boolean) {
    this.conn = conn;
    this.#tap = tap;
    this.#reading = this.#read();
  }

  /**
   * Connects to a channel port on 127.0.0.1. `tap` sees every line first; a line it returns
   * true for is taken by it and not kept (for tests that receive too many lines to keep).
   */
  static async connect(port: number, tap?: (line: string) => boolean): Promise<LineChannel> {
    return new LineChannel(await Deno.connect({ hostname: "127.0.0.1", port }), tap);
  }

  async #read() {
    const chunk = new Uint8Array(64 * 1024);
    try {
      for (let n; (n = await this.conn.read(chunk)) !== null;) {
        const grown = new Uint8Array(this.#buf.length + n);
        grown.set(this.#buf);
        grown.set(chunk.subarray(0, n), this.#buf.length);
        this.#buf = grown;
        this.#split();
        this.#wake();
      }
    } catch {
      // a reset or our own close ends the stream
    }
    this.#ended = true;
    this.#wake();
  }

  #split() {
    let start = 0;
    for (let lf = this.#buf.indexOf(0x0a); lf >= 0; lf = this.#buf.indexOf(0x0a, start)) {
      if (lf === start || this.#buf[lf - 1] !== 0x0d) {
        this.#problem ??= new Error(
          `line without CR LF: ${JSON.stringify(decoder.decode(this.#buf.subarray(start, lf)))}`,
        );
      }
      const line = decoder.decode(this.#buf.subarray(start, Math.max(start, lf - 1)));
      if (!this.#tap?.(line)) this.lines.push(line);
      start = lf + 1;
    }
    this.#buf = this.#buf.subarray(start);
  }

  #wake() {
    for (const w of this.#waiters) w();
  }

  /** True once the server closed the connection. */
  get ended(): boolean {
    return this.#ended;
  }

  /** Lines received and not yet taken. */
  get unread(): string[] {
    return this.lines.slice(this.#cursor);
  }

  /** Sends one line ending in CR LF. */
  async send(line: string): Promise<void> {
    const bytes = encoder.encode(line + "\r\n");
    for (let off = 0; off < bytes.length;) off += await this.conn.write(bytes.subarray(off));
  }

  /** Resolves once `ready()` holds, failing after `timeoutMs` or at the end of the stream. */
  async #wait(ready: () => boolean, what: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!ready()) {
      if (this.#problem) throw this.#problem;
      if (this.#ended) throw new Error(`expected ${what}, got the end (unread ${this.#dump()})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${what} within ${timeoutMs} ms (${this.#dump()})`);
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

  #dump(): string {
    return JSON.stringify(this.unread);
  }

  /** Takes the next `n` lines. */
  async next(n = 1, timeoutMs = 5000): Promise<string[]> {
    await this.#wait(() => this.lines.length - this.#cursor >= n, `${n} line(s)`, timeoutMs);
    const out = this.lines.slice(this.#cursor, this.#cursor + n);
    this.#cursor += n;
    return out;
  }

  /** Takes the next line. */
  async line(timeoutMs = 5000): Promise<string> {
    return (await this.next(1, timeoutMs))[0];
  }

  /** Takes every line up to and including the first one equal to `last`. */
  async until(last: string, timeoutMs = 5000): Promise<string[]> {
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
  async command(line: string, timeoutMs = 5000): Promise<string> {
    await this.send(line);
    return await this.line(timeoutMs);
  }

  /**
   * Drains the channel: sends the sentinel and takes every line written before its reply,
   * which is written after every reply pending and every event already delivered.
   */
  async sync(timeoutMs = 5000): Promise<string[]> {
    await this.send(SENTINEL);
    const lines = await this.until(SENTINEL_REPLY, timeoutMs);
    return lines.slice(0, -1);
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

/** Lines of one step split into replies (`error_ind ...`) and events by device. */
export interface Split {
  readonly replies: string[];
  readonly byDevice: Record<string, string[]>;
}

/** Splits lines into replies and each device's events (the device is the second token). */
export function split(lines: readonly string[]): Split {
  const replies: string[] = [];
  const byDevice: Record<string, string[]> = {};
  for (const line of lines) {
    if (line.startsWith("error_ind ")) replies.push(line);
    else (byDevice[line.split(" ")[1]] ??= []).push(line);
  }
  return { replies, byDevice };
}
