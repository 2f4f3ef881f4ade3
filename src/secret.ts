/**
 * Secrets the server makes up itself (the per-phone callback keys) and how a presented one is
 * compared with the real one.
 */

import { createHmac, timingSafeEqual } from "node:crypto";

const SECRET_BYTES = 24;

/** A fresh secret: 192 random bits, URL-safe (base64url without padding). */
export function newSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(SECRET_BYTES));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_").replace(
    /=+$/,
    "",
  );
}

const encoder = new TextEncoder();

/** Compares a presented secret with the real one in constant time. */
export function sameSecret(given: string | undefined, secret: string): boolean {
  if (given === undefined) return false;
  const a = encoder.encode(given);
  const b = encoder.encode(secret);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * A secret that stays the same for the same key and label: HMAC-SHA256, 192 bits, URL-safe.
 * For callback keys that are loaded into a phone by provisioning (docs/yealink.md §5.1).
 */
export function derivedSecret(key: string, label: string): string {
  return createHmac("sha256", key).update(label).digest().subarray(0, SECRET_BYTES).toString(
    "base64url",
  );
}
