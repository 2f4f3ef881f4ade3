/** Byte helpers for the HTTP front. */

/** Joins byte arrays into one. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Where a request head ends: the index of the blank line and its length (CR LF CR LF, or
 * LF LF from lax clients), or -1.
 */
export function indexOfCrlfCrlf(b: Uint8Array): { index: number; length: number } | -1 {
  for (let i = 0; i + 1 < b.length; i++) {
    if (b[i] !== 0x0a) continue;
    if (b[i + 1] === 0x0a) return { index: i, length: 2 };
    if (b[i + 1] === 0x0d && b[i + 2] === 0x0a) {
      return {
        index: i > 0 && b[i - 1] === 0x0d ? i - 1 : i,
        length: i > 0 && b[i - 1] === 0x0d ? 4 : 3,
      };
    }
  }
  return -1;
}
