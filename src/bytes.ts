/**
 * Byte helpers shared by the network code: the channel's output queue and the HTTP front both
 * join chunks of bytes (the phone client and the simulated phone can too).
 */

/**
 * Joins byte arrays into one new array. It takes an array rather than spread arguments, so a
 * long output queue cannot overflow the call stack.
 */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
