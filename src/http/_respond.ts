/**
 * The server front's writing of one response: framing chosen by what the body is (none,
 * Content-Length as given, live updates chunked, anything else measured and sent with a
 * length), the head written with the one serialiser (write.ts), the body streamed.
 */

import { concat } from "../bytes.ts";
import { chunk, LAST_CHUNK, responseHead } from "./write.ts";

/** Response bodies being streamed, so a closing front can end them (live updates never end). */
export class BodyStreams {
  readonly #open = new Set<ReadableStreamDefaultReader<Uint8Array>>();
  #stopped = false;

  /** True once {@link stop} was called: bodies still being sent are cut short. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Cancels every body being streamed, and any that starts later is cut at once. */
  stop(): void {
    this.#stopped = true;
    for (const s of this.#open) s.cancel().catch(() => {});
  }

  /** Streams `reader` to `send`, each piece as it comes, until it ends or {@link stop}. */
  async pipe(
    reader: ReadableStreamDefaultReader<Uint8Array>,
    send: (piece: Uint8Array) => Promise<void>,
  ): Promise<void> {
    this.#open.add(reader);
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done || this.#stopped) break;
        if (value.length > 0) await send(value);
      }
    } finally {
      this.#open.delete(reader);
      reader.cancel().catch(() => {});
    }
  }
}

/** Writes every byte to the connection. */
async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/**
 * Writes `response` to `conn` with `Connection: keep-alive` or `close`. A HEAD request, 204
 * and 304 get no body; a body without a length is sent with one, unless it is an event
 * stream (live updates), which goes out chunked, piece by piece.
 */
export async function writeResponse(
  conn: Deno.Conn,
  method: string | undefined,
  response: Response,
  keepAlive: boolean,
  streams: BodyStreams,
): Promise<void> {
  const headers = new Headers(response.headers);
  headers.set("connection", keepAlive ? "keep-alive" : "close");
  const noBody = method === "HEAD" || response.status === 204 || response.status === 304;
  let chunked = false;
  let body: Uint8Array | undefined;
  if (!response.body || noBody) {
    if (!noBody) headers.set("content-length", "0");
    await response.body?.cancel();
  } else if (headers.has("content-length")) {
    /* streamed as is below */
  } else if ((headers.get("content-type") ?? "").startsWith("text/event-stream")) {
    chunked = true;
    headers.set("transfer-encoding", "chunked");
  } else {
    body = new Uint8Array(await response.arrayBuffer());
    headers.set("content-length", String(body.length));
  }
  const head = responseHead(response.status, headers);
  // Head and body in one write: a small reply goes out as one packet.
  if (body) return await writeAll(conn, concat([head, body]));
  await writeAll(conn, head);
  if (!response.body || noBody || response.bodyUsed) return;
  await streams.pipe(
    response.body.getReader(),
    (piece) => writeAll(conn, chunked ? chunk(piece) : piece),
  );
  if (chunked && !streams.stopped) await writeAll(conn, LAST_CHUNK);
}
