/**
 * The server front's reading side of one connection: the bytes received and not yet used,
 * and reading more with a deadline.
 */

import { concat } from "../bytes.ts";

/** Reads from a connection into a buffer the request reader takes from. */
export class ConnReader {
  #buf: Uint8Array = new Uint8Array(0);
  readonly #conn: Deno.Conn;
  readonly #chunk = new Uint8Array(16 * 1024);

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** What arrived and was not consumed yet. */
  get buffered(): Uint8Array {
    return this.#buf;
  }

  /** Takes the first `n` buffered bytes. */
  consume(n: number): Uint8Array {
    const out = this.#buf.subarray(0, n);
    this.#buf = this.#buf.subarray(n);
    return out;
  }

  /**
   * Reads until `enough()` holds, for at most `ms`: every part of a request (head, then body)
   * has a deadline, so a client that stalls anywhere cannot hold a connection for ever.
   */
  async fillUntil(ms: number, enough: () => boolean): Promise<"ok" | "eof" | "timeout"> {
    if (enough()) return "ok";
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), ms));
    try {
      do {
        const more = await Promise.race([this.#fill(), timeout]);
        if (more === "timeout") return "timeout";
        if (!more) return "eof";
      } while (!enough());
      return "ok";
    } finally {
      clearTimeout(timer);
    }
  }

  /** Reads more bytes; false at EOF. */
  async #fill(): Promise<boolean> {
    const n = await this.#conn.read(this.#chunk);
    if (n === null) return false;
    this.#buf = concat([this.#buf, this.#chunk.subarray(0, n)]);
    return true;
  }
}
