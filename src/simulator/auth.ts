/**
 * The login check of a simulated SNOM (docs/snom.md §3, §9.1): no login, Basic
 * (`http_scheme=off`) or Digest (`http_scheme=on`) with `http_user`/`http_pass`, and the
 * lock-out: three bad logins lock the web UI for `lockoutMs` (a minute on a SNOM), and each
 * further group of three doubles the time. A request without credentials only gets the
 * challenge and is not a bad login; a stale Digest nonce is not one either. A good login
 * clears the count.
 *
 * Written independently of the server's client on purpose, so the two do not share a
 * mistake.
 */

import { createHash, randomBytes } from "node:crypto";

/** The login a phone asks for, read from its settings on every request. */
export interface LoginConfig {
  readonly user: string;
  readonly pass: string;
  /** `off`: Basic, `on`: Digest (the SNOM setting `http_scheme`). */
  readonly scheme: "basic" | "digest";
}

/** How Digest challenges look. */
export interface DigestOptions {
  readonly realm: string;
  /** Offered algorithms, one challenge each, in this order. */
  readonly algorithms: readonly ("MD5" | "SHA-256")[];
  /** `auth`: RFC 7616 with qop; `none`: the old RFC 2069 form without qop. */
  readonly qop: "auth" | "none";
  /** When false, a nonce serves one request; its reuse is answered `stale=true`. */
  readonly nonceReuse: boolean;
}

/** The verdict on one request. */
export type LoginVerdict =
  | { readonly kind: "ok" }
  | { readonly kind: "challenge"; readonly headers: readonly (readonly [string, string])[] }
  | { readonly kind: "locked"; readonly until: number };

/** Login state of one phone. */
export class LoginGuard {
  readonly #now: () => number;
  readonly #lockoutMs: () => number;
  readonly #nonces = new Map<string, { used: boolean }>();
  #failures = 0;
  #lockouts = 0;
  #lockedUntil = 0;

  constructor(now: () => number, lockoutMs: () => number) {
    this.#now = now;
    this.#lockoutMs = lockoutMs;
  }

  /** Bad logins since the last good one. */
  get failures(): number {
    return this.#failures;
  }

  /** When the lock ends (ms since the epoch), or 0 when not locked. */
  get lockedUntil(): number {
    return this.#lockedUntil > this.#now() ? this.#lockedUntil : 0;
  }

  /** Checks a request's `Authorization` header against the login. */
  check(
    login: LoginConfig,
    digest: DigestOptions,
    request: { method: string; target: string; authorization?: string },
  ): LoginVerdict {
    if (this.#lockedUntil > this.#now()) return { kind: "locked", until: this.#lockedUntil };
    const auth = request.authorization;
    if (auth === undefined) return this.#challenge(login, digest, false);
    const scheme = auth.split(" ", 1)[0].toLowerCase();
    let good = false;
    if (scheme === "basic" && login.scheme === "basic") {
      good = basicMatches(auth, login);
    } else if (scheme === "digest" && login.scheme === "digest") {
      const params = authParams(auth.slice(6));
      const nonce = params.get("nonce") ?? "";
      const known = this.#nonces.get(nonce);
      if (known && known.used && !digest.nonceReuse) return this.#challenge(login, digest, true);
      good = known !== undefined && digestMatches(params, login, digest, request);
      if (good && known) known.used = true;
    }
    if (good) {
      this.#failures = 0;
      this.#lockouts = 0;
      return { kind: "ok" };
    }
    this.#failures += 1;
    if (this.#failures % 3 === 0) {
      this.#lockedUntil = this.#now() + this.#lockoutMs() * 2 ** this.#lockouts;
      this.#lockouts += 1;
      return { kind: "locked", until: this.#lockedUntil };
    }
    return this.#challenge(login, digest, false);
  }

  #challenge(login: LoginConfig, digest: DigestOptions, stale: boolean): LoginVerdict {
    if (login.scheme === "basic") {
      return {
        kind: "challenge",
        headers: [["WWW-Authenticate", `Basic realm="${digest.realm}"`]],
      };
    }
    const nonce = randomBytes(16).toString("hex");
    this.#nonces.set(nonce, { used: false });
    if (this.#nonces.size > 256) this.#nonces.delete(this.#nonces.keys().next().value!);
    const headers: [string, string][] = digest.algorithms.map((algorithm) => [
      "WWW-Authenticate",
      `Digest realm="${digest.realm}", ` +
      (digest.qop === "auth" ? `qop="auth", ` : "") +
      `nonce="${nonce}", algorithm=${algorithm}` + (stale ? ", stale=true" : ""),
    ]);
    return { kind: "challenge", headers };
  }
}

function basicMatches(header: string, login: LoginConfig): boolean {
  try {
    const bytes = Uint8Array.from(atob(header.slice(6).trim()), (c) => c.charCodeAt(0));
    return new TextDecoder().decode(bytes) === `${login.user}:${login.pass}`;
  } catch {
    return false;
  }
}

/** Reads `name=value, name="quoted"` pairs. */
function authParams(text: string): Map<string, string> {
  const out = new Map<string, string>();
  const re = /([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (const m of text.matchAll(re)) {
    out.set(m[1].toLowerCase(), m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3]);
  }
  return out;
}

function digestMatches(
  p: ReadonlyMap<string, string>,
  login: LoginConfig,
  digest: DigestOptions,
  request: { method: string; target: string },
): boolean {
  const algorithm = (p.get("algorithm") ?? "MD5").toUpperCase();
  const offered = digest.algorithms.map((a) => a.toUpperCase());
  if (!offered.includes(algorithm)) return false;
  const hash = (s: string) =>
    createHash(algorithm === "SHA-256" ? "sha256" : "md5").update(s, "utf8").digest("hex");
  if (p.get("username") !== login.user || p.get("realm") !== digest.realm) return false;
  if (p.get("uri") !== request.target) return false;
  const ha1 = hash(`${login.user}:${digest.realm}:${login.pass}`);
  const ha2 = hash(`${request.method}:${request.target}`);
  const nonce = p.get("nonce") ?? "";
  let expected: string;
  if (digest.qop === "auth") {
    const nc = p.get("nc") ?? "";
    const cnonce = p.get("cnonce") ?? "";
    if (p.get("qop") !== "auth" || !/^[0-9a-f]{8}$/i.test(nc) || cnonce === "") return false;
    expected = hash(`${ha1}:${nonce}:${nc}:${cnonce}:auth:${ha2}`);
  } else {
    expected = hash(`${ha1}:${nonce}:${ha2}`);
  }
  return p.get("response") === expected;
}
