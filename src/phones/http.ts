/**
 * The HTTP boundary to phones: one request, one connection, one classified reply.
 *
 * Written on `node:net`/`node:tls` rather than `fetch` because phones need what `fetch`
 * cannot give (snom-http.md §2.4, §2.6):
 * - a connection the phone closes without any reply is a reply of its own ("closed"), and
 *   counts as success for dialling;
 * - HTTPS phones present self-signed certificates, so verification is off — for phones only;
 *   the provider client never uses this module;
 * - the request goes out byte for byte as the profile says, with `Connection: keep-alive`
 *   (some SNOM firmware sends an empty reply without it), and the connection is closed by us
 *   once the reply is read, so there is never a second request on it.
 */

import net from "node:net";
import tls from "node:tls";
import { urlHost } from "../net.ts";
import { concat } from "../bytes.ts";

/** One request to a phone, fully formed. */
export interface PhoneRequest {
  readonly protocol: "HTTP" | "HTTPS";
  readonly host: string;
  readonly port: number;
  readonly method: string;
  /** The request target as it goes on the request line, already encoded. */
  readonly target: string;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
  readonly timeoutMs: number;
}

/** A reply from a phone, as the rest of the client needs to tell replies apart. */
export type PhoneReply =
  | {
    readonly kind: "response";
    readonly status: number;
    /** Header names lower-cased, in arrival order; repeated headers stay separate. */
    readonly headers: readonly (readonly [string, string])[];
    /** The body as text, at most {@link MAX_BODY} bytes of it. */
    readonly body: string;
  }
  /** The phone took the request and closed the connection without a byte of reply. */
  | { readonly kind: "closed" }
  /** No connection (refused, unreachable, name unknown, TLS failed), or it broke early. */
  | { readonly kind: "unreachable"; readonly message: string }
  | { readonly kind: "timeout" }
  /** Bytes came back, but not an HTTP status line. */
  | { readonly kind: "malformed"; readonly message: string };

/** The boundary the phone client talks through; tests may pass a fake. */
export interface PhoneTransport {
  /** Sends one request on a new connection and classifies what comes back. Never throws. */
  exchange(request: PhoneRequest): Promise<PhoneReply>;
  /**
   * The local address of a connection to host:port: the address the phone can reach this
   * machine at. Rejects when no connection can be made within the timeout.
   */
  localAddress(host: string, port: number, timeoutMs: number): Promise<string>;
}

/** Silence after a length-less reply's last bytes that ends it (ms). */
const QUIET_MS = 250;

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
      const end = indexOfBlankLine(this.#buffer);
      if (end < 0) {
        if (this.#buffer.length > MAX_HEAD) this.#error = "reply head larger than 64 KiB";
        else if (this.#buffer.length >= 5 && !startsWithHttp(this.#buffer)) {
          this.#error = "reply does not start with an HTTP status line";
        }
        return false;
      }
      const text = new TextDecoder("latin1").decode(this.#buffer.subarray(0, end));
      this.#buffer = this.#buffer.subarray(end + (this.#buffer[end] === 13 ? 4 : 2));
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

/** Index of the first CRLF CRLF (or LF LF), or -1. */
function indexOfBlankLine(b: Uint8Array): number {
  for (let i = 0; i + 1 < b.length; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
    if (b[i] === 10 && b[i + 1] === 10) return i;
  }
  return -1;
}

function startsWithHttp(b: Uint8Array): boolean {
  return new TextDecoder("latin1").decode(b.subarray(0, 5)) === "HTTP/";
}

/** Serialises a request: request line, headers, blank line, body. */
export function requestBytes(r: PhoneRequest): Uint8Array {
  const body = new TextEncoder().encode(r.body);
  const hostHeader = urlHost(r.host);
  const defaultPort = r.protocol === "HTTPS" ? 443 : 80;
  const lines = [
    `${r.method} ${r.target} HTTP/1.1`,
    `Host: ${hostHeader}${r.port === defaultPort ? "" : `:${r.port}`}`,
    ...r.headers.map(([n, v]) => `${n}: ${v}`),
  ];
  if (body.length > 0 || r.method !== "GET") lines.push(`Content-Length: ${body.length}`);
  const head = new TextEncoder().encode(lines.join("\r\n") + "\r\n\r\n");
  return concat([head, body]);
}

function connect(
  protocol: "HTTP" | "HTTPS",
  host: string,
  port: number,
): net.Socket {
  // Phones present self-signed certificates (snom-http.md §2.6): accepted here, for phones only.
  return protocol === "HTTPS"
    ? tls.connect({
      host,
      port,
      rejectUnauthorized: false,
      servername: net.isIP(host) ? undefined : host,
    })
    : net.connect({ host, port });
}

/** The real transport: `node:net` and `node:tls` sockets. */
export const netTransport: PhoneTransport = {
  exchange(r: PhoneRequest): Promise<PhoneReply> {
    return new Promise((resolve) => {
      const reader = new ResponseReader();
      let written = false;
      let settled = false;
      let quiet: ReturnType<typeof setTimeout> | undefined;
      const socket = connect(r.protocol, r.host, r.port);
      const finish = (reply: PhoneReply) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearTimeout(quiet);
        socket.destroy();
        resolve(reply);
      };
      const fromReader = (): PhoneReply | undefined => {
        if (reader.error) return { kind: "malformed", message: reader.error };
        const head = reader.head;
        return head &&
          { kind: "response", status: head.status, headers: head.headers, body: reader.body };
      };
      const timer = setTimeout(() => {
        // A status already in hand is an answer, even if the body never completes.
        finish(fromReader() ?? { kind: "timeout" });
      }, r.timeoutMs);
      socket.once(r.protocol === "HTTPS" ? "secureConnect" : "connect", () => {
        socket.write(requestBytes(r), () => {
          written = true;
        });
      });
      // A reply without a length on a kept-alive connection may never end: once its head is
      // in, a short silence is its end (the status is what matters; the body is only checked
      // for the lock-out marker).
      socket.on("data", (chunk: Uint8Array) => {
        reader.push(chunk);
        if (reader.complete || reader.error) finish(fromReader()!);
        else if (reader.endsWithConnection) {
          clearTimeout(quiet);
          quiet = setTimeout(() => finish(fromReader()!), QUIET_MS);
        }
      });
      /** The connection ended (`early`: why, if before the request was sent). */
      const ended = (early: string) => {
        reader.end();
        if (reader.received) {
          finish(fromReader() ?? { kind: "malformed", message: "the reply ended inside its head" });
        } else finish(written ? { kind: "closed" } : { kind: "unreachable", message: early });
      };
      socket.on("end", () => ended("the phone closed the connection"));
      socket.on("close", () => ended("the connection closed before the request was sent"));
      socket.on("error", (e: Error & { code?: string }) => {
        if (reader.received) {
          reader.end();
          finish(
            fromReader() ?? { kind: "malformed", message: `the reply broke off: ${e.message}` },
          );
        } else if (written && (e.code === "ECONNRESET" || e.code === "EPIPE")) {
          finish({ kind: "closed" });
        } else {
          finish({ kind: "unreachable", message: e.code ? `${e.code}: ${e.message}` : e.message });
        }
      });
    });
  },

  localAddress(host: string, port: number, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection to ${host}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      socket.once("connect", () => {
        clearTimeout(timer);
        const address = socket.localAddress;
        socket.destroy();
        if (address) resolve(address.startsWith("::ffff:") ? address.slice(7) : address);
        else reject(new Error(`connected to ${host}:${port} but the local address is unknown`));
      });
      socket.once("error", (e) => {
        clearTimeout(timer);
        socket.destroy();
        reject(e);
      });
    });
  },
};
