/**
 * The one HTTP/1.1 message codec of the server: where a head ends, how a request head is read
 * (tolerating what phones send), and the reason phrases. The server front, the phone client
 * and the simulated phones all use it. No I/O.
 */

const latin1 = new TextDecoder("latin1");

/**
 * Bytes a request target may carry as they are (RFC 3986 unreserved, reserved and `%`), less
 * `#`: a request target has no fragment (RFC 9112 §3.2), so a `#` in one is a phone's raw
 * display name ("Desk #4"), and read as a fragment it would cut off the rest of the query.
 */
const URL_SAFE = new Uint8Array(128);
for (
  const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?[]@!$&'()*+,;=%"
) {
  URL_SAFE[c.charCodeAt(0)] = 1;
}
const HEX = "0123456789ABCDEF";

function isHex(b: number | undefined): boolean {
  return b !== undefined &&
    ((b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66));
}

/**
 * Percent-encodes every byte of a raw request target that a URL may not contain (spaces,
 * quotes, `#`, control bytes, non-ASCII) and every `%` that does not start an escape. Raw UTF-8
 * thereby becomes its own escapes, so decoding gives the original text back.
 */
export function repairTarget(raw: Uint8Array): string {
  let out = "";
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i];
    if (b === 0x25 && !(isHex(raw[i + 1]) && isHex(raw[i + 2]))) out += "%25";
    else if (b < 128 && URL_SAFE[b]) out += String.fromCharCode(b);
    else out += "%" + HEX[b >> 4] + HEX[b & 15];
  }
  return out;
}

/**
 * Where a message head ends: the index of the blank line and its length (CR LF CR LF, or the
 * LF LF and mixed forms of lax peers), or undefined while it has not arrived.
 */
export function findHeadEnd(b: Uint8Array): { index: number; length: number } | undefined {
  for (let i = b.indexOf(0x0a); i >= 0 && i + 1 < b.length; i = b.indexOf(0x0a, i + 1)) {
    if (b[i + 1] === 0x0a) {
      const cr = i > 0 && b[i - 1] === 0x0d;
      return { index: cr ? i - 1 : i, length: cr ? 3 : 2 };
    }
    if (b[i + 1] === 0x0d && b[i + 2] === 0x0a) {
      const cr = i > 0 && b[i - 1] === 0x0d;
      return { index: cr ? i - 1 : i, length: cr ? 4 : 3 };
    }
  }
  return undefined;
}

/** A parsed request head. */
export interface RequestHead {
  readonly method: string;
  readonly rawTarget: Uint8Array;
  readonly target: string;
  readonly version: "HTTP/1.0" | "HTTP/1.1";
  readonly headers: Headers;
}

/**
 * Parses a request head (without the blank line). The target is everything between the
 * first space and the last ` HTTP/1.x`, so raw spaces inside it survive. Returns a reason
 * string for a head that cannot be understood.
 */
export function parseRequestHead(head: Uint8Array): RequestHead | string {
  let lineEnd = head.indexOf(0x0a);
  if (lineEnd < 0) lineEnd = head.length;
  const lineBytes = head.subarray(
    0,
    lineEnd > 0 && head[lineEnd - 1] === 0x0d ? lineEnd - 1 : lineEnd,
  );
  const firstSpace = lineBytes.indexOf(0x20);
  if (firstSpace <= 0) return "request line without a method";
  const method = latin1.decode(lineBytes.subarray(0, firstSpace));
  if (!/^[A-Z]{3,10}$/.test(method)) return `unknown method '${method.slice(0, 20)}'`;
  const tail = latin1.decode(lineBytes.subarray(Math.max(firstSpace, lineBytes.length - 9)));
  const v = / (HTTP\/1\.[01])$/.exec(tail);
  if (!v) return "request line without HTTP/1.0 or HTTP/1.1";
  const rawTarget = lineBytes.subarray(firstSpace + 1, lineBytes.length - 9);
  let start = 0;
  while (start < rawTarget.length && rawTarget[start] === 0x20) start++;
  const trimmed = rawTarget.subarray(start);
  if (trimmed.length === 0 || trimmed[0] !== 0x2f) return "request target must start with '/'";
  const headers = new Headers();
  const lines = latin1.decode(head.subarray(lineEnd + 1)).split(/\r?\n/);
  for (const line of lines) {
    if (line === "") continue;
    const colon = line.indexOf(":");
    if (colon <= 0) return `malformed header line '${line.slice(0, 40)}'`;
    try {
      headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
    } catch {
      return `malformed header '${line.slice(0, colon).slice(0, 40)}'`;
    }
  }
  return {
    method,
    rawTarget: trimmed,
    target: repairTarget(trimmed),
    version: v[1] as RequestHead["version"],
    headers,
  };
}

/** Reason phrases of the statuses this server and its simulated phones send. */
const STATUS_TEXT: Record<number, string> = {
  200: "OK",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  411: "Length Required",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
};

/** The reason phrase for a status code (`Status` for one without a listed phrase). */
export function statusText(status: number): string {
  return STATUS_TEXT[status] ?? "Status";
}
