/**
 * Reading the query of a phone's action-URL callback (docs/snom.md §5.2, §5.5). Phones put
 * values into the URL verbatim, so this is lenient where a URL parser is strict: `+` stays a
 * plus (it starts international numbers), bad escapes stay as written, and an `&` inside a
 * value (a display name such as "Smith & Sons") does not cut the value short.
 */

const ESCAPE_RUN = /(?:%[0-9A-Fa-f]{2})+/g;
const utf8 = new TextDecoder("utf-8");

function decodeRun(run: string): string {
  const bytes = new Uint8Array(run.length / 3);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(run.slice(3 * i + 1, 3 * i + 3), 16);
  return utf8.decode(bytes);
}

/**
 * Percent-decodes `text` without ever failing: each run of valid `%XX` escapes is decoded as
 * UTF-8 (invalid sequences become U+FFFD), and a `%` that starts no valid escape is kept.
 * Unlike `URLSearchParams`, a `+` is not a space.
 */
export function decodeLenient(text: string): string {
  return text.includes("%") ? text.replace(ESCAPE_RUN, decodeRun) : text;
}

/**
 * Splits a raw query (without `?`) into decoded name → value. The first occurrence of a name
 * wins. A piece without `=` continues the previous value (the phone substituted a value that
 * contained a raw `&`).
 */
export function parseQuery(rawQuery: string): Map<string, string> {
  const out = new Map<string, string>();
  const raw = rawQuery.startsWith("?") ? rawQuery.slice(1) : rawQuery;
  let lastName: string | undefined;
  let lastRaw = "";
  const commit = () => {
    if (lastName !== undefined && !out.has(lastName)) out.set(lastName, decodeLenient(lastRaw));
  };
  for (const piece of raw.split("&")) {
    const eq = piece.indexOf("=");
    if (eq < 0) {
      if (lastName !== undefined) lastRaw += "&" + piece;
      else if (piece !== "") {
        lastName = decodeLenient(piece);
        lastRaw = "";
      }
      continue;
    }
    commit();
    lastName = decodeLenient(piece.slice(0, eq));
    lastRaw = piece.slice(eq + 1);
  }
  commit();
  return out;
}
