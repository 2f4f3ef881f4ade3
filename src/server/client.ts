/**
 * `phone-companion-server client [host[:port]]`: the channel by hand, where no `nc` or
 * `telnet` is at hand (docs/install.md §4). Lines typed (or piped) go to the channel with
 * CR LF (docs/channel-protocol.md §1); every line from the server, replies and events, is
 * printed as it arrives. It ends when the server closes the channel (after `BYE`), on
 * Ctrl+C, or at the end of the input once every command sent has its reply.
 */

import { hostPort } from "../net.ts";
import { errorText } from "../text.ts";

/** Where the client reads and writes; tests and `main.ts` pass their own. */
export interface ClientIo {
  /** The keyboard (standard input). */
  readonly input: ReadableStream<Uint8Array>;
  /** One line from the server (standard output). */
  readonly print: (line: string) => void;
  /** A note for the person (standard error), never mixed into the server's lines. */
  readonly note: (line: string) => void;
}

/** How long the end of the input waits for outstanding replies, then for trailing events. */
export interface ClientTimings {
  readonly replyWaitMs: number;
  readonly trailingMs: number;
}

const TIMINGS: ClientTimings = { replyWaitMs: 15_000, trailingMs: 400 };

const encoder = new TextEncoder();

/** Splits a growing text into whole lines (LF, CR LF or CR) and the unfinished rest. */
function takeLines(text: string): { lines: string[]; rest: string } {
  const parts = text.split(/\r\n|\n|\r(?!$)/);
  const rest = parts.pop() ?? "";
  return { lines: parts, rest };
}

/** Runs the client until the channel ends; resolves with the exit code. */
export async function runClient(
  host: string,
  port: number,
  io: ClientIo,
  timings: ClientTimings = TIMINGS,
): Promise<number> {
  const where = hostPort(host, port);
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({ hostname: host, port });
  } catch (e) {
    io.note(`cannot connect to ${where}: ${errorText(e)}; is the server running?`);
    return 1;
  }
  io.note(
    `connected to ${where}. Type a line and press Enter to send it, e.g. STLI;Version=2, ` +
      `MonitorStart 101, MakeCall 101 102. BYE or Ctrl+C ends.`,
  );
  const channel = new ClientChannel(conn, io);
  await Promise.race([channel.sendAll(io.input), channel.reading]);
  if (!channel.closed) {
    // End of input: let the replies still due arrive, and the events that follow them.
    await channel.until(
      () => channel.closed || channel.replies >= channel.sent,
      timings.replyWaitMs,
    );
    await channel.until(() => channel.closed, timings.trailingMs);
  }
  if (!channel.closed) {
    try {
      conn.close();
    } catch { /* closed meanwhile */ }
  } else {
    io.note("the server closed the channel");
  }
  await channel.reading;
  return 0;
}

/** The channel as the client holds it: lines printed as they come, lines sent as typed. */
class ClientChannel {
  sent = 0;
  replies = 0;
  closed = false;
  /** Reads until the server closes the channel. */
  readonly reading: Promise<void>;
  readonly #conn: Deno.TcpConn;
  readonly #io: ClientIo;
  readonly #progress = new Set<() => void>();

  constructor(conn: Deno.TcpConn, io: ClientIo) {
    this.#conn = conn;
    this.#io = io;
    this.reading = this.#read();
  }

  /** Sends every line of the input, until it ends or the channel closes. */
  async sendAll(input: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    const reader = input.getReader();
    try {
      while (!this.closed) {
        const next = await Promise.race([reader.read(), this.reading.then(() => undefined)]);
        if (next === undefined || next.done) break;
        const { lines, rest } = takeLines(pending + decoder.decode(next.value, { stream: true }));
        pending = rest;
        for (const line of lines) await this.#send(line);
      }
      const last = pending.replace(/\r$/, "");
      if (!this.closed && last !== "") await this.#send(last);
    } finally {
      reader.releaseLock();
    }
  }

  /** Resolves once `done()` holds, or after `ms`. */
  until(done: () => boolean, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const wake = () => {
        if (!done()) return;
        this.#progress.delete(wake);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#progress.delete(wake);
        resolve();
      }, ms);
      this.#progress.add(wake);
      wake();
    });
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    try {
      for await (const chunk of this.#conn.readable) {
        const { lines, rest } = takeLines(pending + decoder.decode(chunk, { stream: true }));
        pending = rest;
        for (const line of lines) {
          this.#io.print(line);
          if (line.startsWith("error_ind ")) this.replies++;
        }
        this.#changed();
      }
    } catch { /* reset by the server: the same as closed */ }
    if (pending !== "") this.#io.print(pending.replace(/\r$/, ""));
    this.closed = true;
    this.#changed();
  }

  async #send(line: string): Promise<void> {
    if (this.closed) return;
    if (line.trim() !== "") this.sent++;
    try {
      await this.#conn.write(encoder.encode(line + "\r\n"));
    } catch {
      this.closed = true;
    }
  }

  #changed(): void {
    for (const wake of this.#progress) wake();
  }
}
