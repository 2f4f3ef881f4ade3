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
    io.note(
      `cannot connect to ${where}: ${errorText(e)}; is the server running?`,
    );
    return 1;
  }
  io.note(
    `connected to ${where}. Type a line and press Enter to send it, e.g. STLI;Version=2, ` +
      `MonitorStart 101, MakeCall 101 102. BYE or Ctrl+C ends.`,
  );

  let sent = 0;
  let replies = 0;
  let closed = false;
  const progress = new Set<() => void>();
  const changed = () => {
    for (const wake of progress) wake();
  };

  const reading = (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    try {
      for await (const chunk of conn.readable) {
        const { lines, rest } = takeLines(pending + decoder.decode(chunk, { stream: true }));
        pending = rest;
        for (const line of lines) {
          io.print(line);
          if (line.startsWith("error_ind ")) replies++;
        }
        changed();
      }
    } catch { /* reset by the server: the same as closed */ }
    if (pending !== "") io.print(pending.replace(/\r$/, ""));
    closed = true;
    changed();
  })();

  const until = (done: () => boolean, ms: number) =>
    new Promise<void>((resolve) => {
      const wake = () => {
        if (!done()) return;
        progress.delete(wake);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        progress.delete(wake);
        resolve();
      }, ms);
      progress.add(wake);
      wake();
    });

  const writing = (async () => {
    const decoder = new TextDecoder();
    let pending = "";
    const send = async (line: string) => {
      if (closed) return;
      if (line.trim() !== "") sent++;
      try {
        await conn.write(encoder.encode(line + "\r\n"));
      } catch {
        closed = true;
      }
    };
    const reader = io.input.getReader();
    try {
      while (!closed) {
        const next = await Promise.race([reader.read(), reading.then(() => undefined)]);
        if (next === undefined || next.done) break;
        const { lines, rest } = takeLines(pending + decoder.decode(next.value, { stream: true }));
        pending = rest;
        for (const line of lines) await send(line);
      }
      if (!closed && pending.replace(/\r$/, "") !== "") await send(pending.replace(/\r$/, ""));
    } finally {
      reader.releaseLock();
    }
  })();

  await Promise.race([writing, reading]);
  if (!closed) {
    // End of input: let the replies still due arrive, and the events that follow them.
    await until(() => closed || replies >= sent, timings.replyWaitMs);
    await until(() => closed, timings.trailingMs);
  }
  if (!closed) {
    try {
      conn.close();
    } catch { /* closed meanwhile */ }
  } else {
    io.note("the server closed the channel");
  }
  await reading;
  return 0;
}
