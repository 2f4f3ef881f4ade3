/**
 * The HTTP boundary to phones: one request, one connection, one classified reply.
 *
 * Written on `node:net`/`node:tls` rather than `fetch` because phones need what `fetch`
 * cannot give (docs/snom.md §2.4, §2.6):
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
import { ResponseReader } from "../http/mod.ts";
import { errorText } from "../text.ts";

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
  /** Aborting ends the exchange at once, as `unreachable` (the server is stopping). */
  readonly signal?: AbortSignal;
}

/** A reply from a phone, as the rest of the client needs to tell replies apart. */
export type PhoneReply =
  | {
    readonly kind: "response";
    readonly status: number;
    /** Header names lower-cased, in arrival order; repeated headers stay separate. */
    readonly headers: readonly (readonly [string, string])[];
    /** The body as text, at most the response reader's `MAX_BODY` bytes of it. */
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
  // Phones present self-signed certificates (docs/snom.md §2.6): accepted here, for phones only.
  return protocol === "HTTPS"
    ? tls.connect({
      host,
      port,
      rejectUnauthorized: false,
      servername: net.isIP(host) ? undefined : host,
    })
    : net.connect({ host, port });
}

/**
 * One exchange over Deno's own TCP sockets (plain HTTP phones): about half the CPU of the
 * `node:net` layer per request, which is most of the server's work per command.
 */
async function nativeExchange(r: PhoneRequest): Promise<PhoneReply> {
  const reader = new ResponseReader();
  let conn: Deno.TcpConn | undefined;
  let written = false;
  let settled = false;
  let quiet: ReturnType<typeof setTimeout> | undefined;
  const done = Promise.withResolvers<PhoneReply>();
  const fromReader = () => replyOf(reader);
  const finish = (reply: PhoneReply) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    clearTimeout(quiet);
    r.signal?.removeEventListener("abort", aborted);
    try {
      conn?.close();
    } catch {
      // already closed
    }
    done.resolve(reply);
  };
  // A status already in hand is an answer, even if the body never completes.
  const timer = setTimeout(
    () => finish(fromReader() ?? { kind: "timeout" }),
    Math.max(0, r.timeoutMs),
  );
  const aborted = () => finish({ kind: "unreachable", message: "the server is stopping" });
  if (r.signal?.aborted) aborted();
  r.signal?.addEventListener("abort", aborted, { once: true });
  (async () => {
    try {
      conn = await Deno.connect({ hostname: r.host.replace(/%.*$/, ""), port: r.port });
    } catch (e) {
      return finish({ kind: "unreachable", message: describe(e) });
    }
    if (settled) return conn.close();
    conn.setNoDelay(true);
    const bytes = requestBytes(r);
    try {
      for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
      written = true;
    } catch (e) {
      return finish({ kind: "unreachable", message: describe(e) });
    }
    const buf = new Uint8Array(16 * 1024);
    try {
      for (;;) {
        const n = await conn.read(buf);
        if (n === null) break;
        reader.push(buf.subarray(0, n));
        if (reader.complete || reader.error) return finish(fromReader()!);
        if (reader.endsWithConnection) {
          // A reply without a length may never end: once its head is in, a short silence is
          // its end (the status is what matters).
          clearTimeout(quiet);
          quiet = setTimeout(() => finish(fromReader()!), QUIET_MS);
        }
      }
    } catch (e) {
      if (settled) return;
      if (reader.received) {
        reader.end();
        return finish(
          fromReader() ?? { kind: "malformed", message: `the reply broke off: ${describe(e)}` },
        );
      }
      if (e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.BrokenPipe) {
        return finish({ kind: "closed" });
      }
      return finish({ kind: "unreachable", message: describe(e) });
    }
    reader.end();
    if (reader.received) {
      finish(fromReader() ?? { kind: "malformed", message: "the reply ended inside its head" });
    } else finish(written ? { kind: "closed" } : { kind: "unreachable", message: "closed early" });
  })();
  return await done.promise;
}

/** What the reader has made of the reply so far, if anything. */
function replyOf(reader: ResponseReader): PhoneReply | undefined {
  if (reader.error) return { kind: "malformed", message: reader.error };
  const head = reader.head;
  return head &&
    { kind: "response", status: head.status, headers: head.headers, body: reader.body };
}

function describe(e: unknown): string {
  return errorText(e);
}

/** The real transport: Deno's sockets for HTTP phones, `node:tls` for HTTPS ones. */
export const netTransport: PhoneTransport = {
  exchange(r: PhoneRequest): Promise<PhoneReply> {
    if (r.protocol === "HTTP") return nativeExchange(r);
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
        r.signal?.removeEventListener("abort", aborted);
        socket.destroy();
        resolve(reply);
      };
      const fromReader = () => replyOf(reader);
      const timer = setTimeout(() => {
        // A status already in hand is an answer, even if the body never completes.
        finish(fromReader() ?? { kind: "timeout" });
      }, Math.max(0, r.timeoutMs));
      const aborted = () => finish({ kind: "unreachable", message: "the server is stopping" });
      if (r.signal?.aborted) aborted();
      r.signal?.addEventListener("abort", aborted, { once: true });
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
