/**
 * Reading HTTP/1.x responses as they arrive, for the phone client: the head, then a body
 * delimited by Content-Length, chunked encoding or the end of the connection. No I/O.
 */

import { concat } from "../bytes.ts";
import { findHeadEnd } from "./head.ts";

/** The largest reply head taken; a longer one is not an HTTP reply a phone would send. */
export const MAX_HEAD = 64 * 1024;
/** The most body text kept from a reply: enough to find the lock-out marker. */
export const MAX_BODY = 64 * 1024;

/** The first lines of an HTTP response, once they are all there. */
export interface ResponseHead {
  readonly status: number;
  readonly headers: readonly (readonly [string, string])[];
}

/**
 * An incremental HTTP/1.x response reader: feed it bytes as they arrive, in pieces of any
 * size. It knows when the body is complete (Content-Length, chunked, or end of connection).
 * No I/O.
 */
export class ResponseReader {
  #buffer: Uint8Array = new Uint8Array(0);
  #head?: ResponseHead;
  #body: Uint8Array[] = [];
  #bodyBytes = 0;
  #mode: "length" | "chunked" | "close" | "none" = "close";
  #remaining = 0;
  #chunkState: "size" | "data" | "data-end" | "trailer" | "done" = "size";
  #complete = false;
  #error?: string;
  /** True once any byte arrived. */
  received = false;

  /** The head, once read. */
  get head(): ResponseHead | undefined {
    return this.#head;
  }

  /** True when the body has no length and ends only with the connection. */
  get endsWithConnection(): boolean {
    return this.#head !== undefined && this.#mode === "close";
  }

  /** True when the whole response has been read. */
  get complete(): boolean {
    return this.#complete;
  }

  /** Why the bytes are not an HTTP response, if they are not. */
  get error(): string | undefined {
    return this.#error;
  }

  /** The body read so far, decoded as UTF-8 (invalid bytes replaced). */
  get body(): string {
    const all = new Uint8Array(Math.min(this.#bodyBytes, MAX_BODY));
    let at = 0;
    for (const part of this.#body) {
      const take = part.subarray(0, all.length - at);
      all.set(take, at);
      at += take.length;
      if (at >= all.length) break;
    }
    return new TextDecoder().decode(all);
  }

  /** Takes the next bytes of the connection. */
  push(bytes: Uint8Array): void {
    if (bytes.length > 0) this.received = true;
    if (this.#complete || this.#error) return;
    this.#buffer = concat([this.#buffer, bytes]);
    if (!this.#head && !this.#readHead()) return;
    this.#readBody();
  }

  /** The connection ended; a body delimited by the end is now complete. */
  end(): void {
    if (this.#head && this.#mode === "close") this.#complete = true;
  }

  #readHead(): boolean {
    for (;;) {
      const end = findHeadEnd(this.#buffer);
      if (end === undefined) {
        if (this.#buffer.length > MAX_HEAD) this.#error = "reply head larger than 64 KiB";
        else if (this.#buffer.length >= 5 && !startsWithHttp(this.#buffer)) {
          this.#error = "reply does not start with an HTTP status line";
        }
        return false;
      }
      const text = new TextDecoder("latin1").decode(this.#buffer.subarray(0, end.index));
      this.#buffer = this.#buffer.subarray(end.index + end.length);
      const lines = text.split(/\r?\n/);
      const m = /^HTTP\/\d(?:\.\d)?\s+(\d{3})(?:\s.*)?$/.exec(lines[0]);
      if (!m) {
        this.#error = `reply does not start with an HTTP status line: '${lines[0].slice(0, 60)}'`;
        return false;
      }
      const status = Number(m[1]);
      const headers: [string, string][] = [];
      for (const line of lines.slice(1)) {
        const colon = line.indexOf(":");
        if (colon > 0) {
          headers.push([line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()]);
        }
      }
      // 1xx replies are informational: skip them and read the real head.
      if (status >= 100 && status < 200) continue;
      this.#head = { status, headers };
      const get = (name: string) => headers.find(([n]) => n === name)?.[1];
      const length = get("content-length");
      if (status === 204 || status === 304) this.#mode = "none";
      else if (/chunked/i.test(get("transfer-encoding") ?? "")) this.#mode = "chunked";
      else if (length !== undefined && /^\d+$/.test(length)) {
        this.#mode = "length";
        this.#remaining = Number(length);
      } else this.#mode = "close";
      if (this.#mode === "none" || (this.#mode === "length" && this.#remaining === 0)) {
        this.#complete = true;
      }
      return true;
    }
  }

  #keep(bytes: Uint8Array) {
    if (this.#bodyBytes < MAX_BODY) this.#body.push(bytes.slice());
    this.#bodyBytes += bytes.length;
  }

  #readBody() {
    if (this.#complete) return;
    if (this.#mode === "close") {
      this.#keep(this.#buffer);
      this.#buffer = new Uint8Array(0);
      return;
    }
    if (this.#mode === "length") {
      const take = this.#buffer.subarray(0, this.#remaining);
      this.#keep(take);
      this.#remaining -= take.length;
      this.#buffer = this.#buffer.subarray(take.length);
      if (this.#remaining === 0) this.#complete = true;
      return;
    }
    while (!this.#complete) {
      if (this.#chunkState === "data") {
        if (this.#buffer.length === 0) return;
        const take = this.#buffer.subarray(0, this.#remaining);
        this.#keep(take);
        this.#remaining -= take.length;
        this.#buffer = this.#buffer.subarray(take.length);
        if (this.#remaining === 0) this.#chunkState = "data-end";
        continue;
      }
      const line = this.#takeLine();
      if (line === undefined) return;
      if (this.#chunkState === "data-end") this.#chunkState = "size";
      else if (this.#chunkState === "trailer") this.#complete = line === "";
      else {
        const size = parseInt(line.split(";")[0], 16);
        // Framing that is not chunked encoding ends the body; the status still stands.
        if (Number.isNaN(size)) this.#complete = true;
        else if (size === 0) this.#chunkState = "trailer";
        else {
          this.#remaining = size;
          this.#chunkState = "data";
        }
      }
    }
  }

  /**
   * The next line of chunked framing (size, end of data, trailer), or undefined until it has
   * arrived. A line longer than a whole head is no chunked framing: the body ends there,
   * so a phone cannot make us hold an ever-growing line.
   */
  #takeLine(): string | undefined {
    const eol = this.#buffer.indexOf(10);
    if (eol < 0) {
      if (this.#buffer.length > MAX_HEAD) this.#complete = true;
      return undefined;
    }
    const line = new TextDecoder("latin1").decode(this.#buffer.subarray(0, eol)).trim();
    this.#buffer = this.#buffer.subarray(eol + 1);
    return line;
  }
}

function startsWithHttp(b: Uint8Array): boolean {
  return new TextDecoder("latin1").decode(b.subarray(0, 5)) === "HTTP/";
}
