/**
 * Writing HTTP/1.1 messages, the one serialiser of the server: request heads (the phone
 * client, the simulated phones' action URLs), response heads (the server front, the simulated
 * phones' replies) and chunked framing (live updates). No I/O.
 */

import { statusText } from "./head.ts";

const encoder = new TextEncoder();

/** Header lines, in the order they go out (a `Headers` gives them lower-cased and sorted). */
export type HeaderLines = Iterable<readonly [string, string]>;

/**
 * A request head: request line, header lines, blank line. The target goes out exactly as
 * given, raw spaces and all, UTF-8 encoded: what a phone that does not encode its action URLs
 * sends (docs/snom.md §5.5), and what a profile's request template says.
 */
export function requestHead(method: string, target: string, headers: HeaderLines): Uint8Array {
  return head(`${method} ${target} HTTP/1.1`, headers);
}

/** A response head: status line with the status's reason phrase, header lines, blank line. */
export function responseHead(status: number, headers: HeaderLines): Uint8Array {
  return head(`HTTP/1.1 ${status} ${statusText(status)}`, headers);
}

/** One chunk of a chunked body (never an empty one: that is {@link LAST_CHUNK}). */
export function chunk(data: Uint8Array): Uint8Array {
  const size = encoder.encode(data.length.toString(16) + "\r\n");
  const out = new Uint8Array(size.length + data.length + 2);
  out.set(size);
  out.set(data, size.length);
  out.set(CRLF, size.length + data.length);
  return out;
}

/** The end of a chunked body: the zero-size chunk and an empty trailer. */
export const LAST_CHUNK: Uint8Array = encoder.encode("0\r\n\r\n");

const CRLF = encoder.encode("\r\n");

function head(startLine: string, headers: HeaderLines): Uint8Array {
  let text = startLine + "\r\n";
  for (const [name, value] of headers) text += `${name}: ${value}\r\n`;
  return encoder.encode(text + "\r\n");
}
