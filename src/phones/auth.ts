/**
 * HTTP authentication towards phones: reading `WWW-Authenticate` challenges and answering
 * them with Basic (RFC 7617) or Digest (RFC 7616: MD5, SHA-256 and their `-sess` forms,
 * `qop=auth` or `auth-int`, or the RFC 2069 form without qop). Pure apart from hashing; the
 * client nonce is passed in so tests can use the RFC's examples.
 *
 * A SNOM answers Basic or Digest depending on its `http_scheme` setting, and the Digest realm
 * is not documented, so nothing here assumes a realm (docs/snom.md §3.2).
 */

import { createHash } from "node:crypto";

/** One challenge of a `WWW-Authenticate` header. Parameter names are lower-cased. */
export interface Challenge {
  readonly scheme: string;
  readonly params: ReadonlyMap<string, string>;
}

/** Splits at commas outside quoted strings. */
function splitItems(value: string): string[] {
  const items: string[] = [];
  let current = "";
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (quoted && c === "\\" && i + 1 < value.length) {
      current += c + value[++i];
      continue;
    }
    if (c === '"') quoted = !quoted;
    if (c === "," && !quoted) {
      items.push(current.trim());
      current = "";
    } else current += c;
  }
  items.push(current.trim());
  return items.filter((i) => i !== "");
}

const TOKEN = "[!#$%&'*+\\-.^_`|~0-9A-Za-z]+";
const PARAM = new RegExp(`^(${TOKEN})\\s*=\\s*(?:"((?:[^"\\\\]|\\\\.)*)"|(${TOKEN}))$`);
const SCHEME = new RegExp(`^(${TOKEN})(?:\\s+(.*))?$`);

/**
 * Parses every challenge of one or more `WWW-Authenticate` header values, e.g.
 * `Digest realm="snom", qop="auth,auth-int", nonce="…", Basic realm="snom"`.
 * Unreadable parts are skipped rather than thrown: a phone's quirks must not crash us.
 */
export function parseChallenges(headerValues: readonly string[]): Challenge[] {
  const out: { scheme: string; params: Map<string, string> }[] = [];
  const addParam = (text: string): boolean => {
    const m = PARAM.exec(text);
    if (!m || out.length === 0) return false;
    const value = m[2] !== undefined ? m[2].replace(/\\(.)/g, "$1") : m[3];
    out[out.length - 1].params.set(m[1].toLowerCase(), value);
    return true;
  };
  for (const value of headerValues) {
    for (const item of splitItems(value)) {
      if (addParam(item)) continue;
      const m = SCHEME.exec(item);
      if (!m) continue;
      out.push({ scheme: m[1], params: new Map() });
      // What follows the scheme is its first parameter, or a token68 we have no use for.
      if (m[2] !== undefined) addParam(m[2].trim());
    }
  }
  return out;
}

/** Digest algorithms we can answer, strongest first. */
export const DIGEST_ALGORITHMS = ["SHA-256", "SHA-256-sess", "MD5", "MD5-sess"] as const;

/** A Digest algorithm name as the phone wrote it (case-insensitively matched). */
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

function algorithmOf(c: Challenge): DigestAlgorithm | undefined {
  const name = (c.params.get("algorithm") ?? "MD5").toUpperCase();
  return DIGEST_ALGORITHMS.find((a) => a.toUpperCase() === name);
}

/** Which schemes a profile lets us answer (`auth` in the profile). */
export type AuthMode = "auto" | "basic" | "digest" | "none";

/**
 * Picks the challenge to answer: Digest before Basic (Basic sends the password in clear),
 * and among Digest challenges the strongest algorithm we know. Undefined when none fits.
 */
export function chooseChallenge(
  challenges: readonly Challenge[],
  mode: AuthMode,
): Challenge | undefined {
  if (mode === "none") return undefined;
  const digests = challenges
    .filter((c) => c.scheme.toLowerCase() === "digest" && c.params.has("nonce"))
    .filter((c) => algorithmOf(c) !== undefined)
    .filter((c) => {
      const qop = c.params.get("qop");
      return qop === undefined || qopOf(qop) !== undefined;
    })
    .sort((a, b) =>
      DIGEST_ALGORITHMS.indexOf(algorithmOf(a)!) - DIGEST_ALGORITHMS.indexOf(algorithmOf(b)!)
    );
  const basic = challenges.find((c) => c.scheme.toLowerCase() === "basic");
  if (mode === "digest") return digests[0];
  if (mode === "basic") return basic;
  return digests[0] ?? basic;
}

function qopOf(offered: string): "auth" | "auth-int" | undefined {
  const list = offered.split(",").map((q) => q.trim().toLowerCase());
  if (list.includes("auth")) return "auth";
  if (list.includes("auth-int")) return "auth-int";
  return undefined;
}

function hashOf(algorithm: DigestAlgorithm): (text: string) => string {
  const name = algorithm.startsWith("SHA-256") ? "sha256" : "md5";
  return (text) => createHash(name).update(text, "utf8").digest("hex");
}

/** What one Digest answer needs beyond the challenge. */
export interface DigestRequest {
  readonly username: string;
  readonly password: string;
  readonly method: string;
  /** The request target exactly as sent on the request line. */
  readonly uri: string;
  /** The request body, needed only for `qop=auth-int`. */
  readonly body?: string;
  /** Nonce count, starting at 1 for a fresh nonce. */
  readonly nc: number;
  readonly cnonce: string;
}

function quote(value: string): string {
  return `"${value.replace(/(["\\])/g, "\\$1")}"`;
}

/** The `Authorization` value answering a Digest challenge (RFC 7616 §3.4). */
export function digestAuthorization(challenge: Challenge, r: DigestRequest): string {
  const algorithm = algorithmOf(challenge) ?? "MD5";
  const H = hashOf(algorithm);
  const realm = challenge.params.get("realm") ?? "";
  const nonce = challenge.params.get("nonce") ?? "";
  const offered = challenge.params.get("qop");
  const qop = offered === undefined ? undefined : qopOf(offered);
  const userhash = challenge.params.get("userhash")?.toLowerCase() === "true";
  const nc = r.nc.toString(16).padStart(8, "0");

  let ha1 = H(`${r.username}:${realm}:${r.password}`);
  if (algorithm.endsWith("-sess")) ha1 = H(`${ha1}:${nonce}:${r.cnonce}`);
  const ha2 = qop === "auth-int"
    ? H(`${r.method}:${r.uri}:${H(r.body ?? "")}`)
    : H(`${r.method}:${r.uri}`);
  const response = qop
    ? H(`${ha1}:${nonce}:${nc}:${r.cnonce}:${qop}:${ha2}`)
    : H(`${ha1}:${nonce}:${ha2}`);

  const parts = [
    `username=${quote(userhash ? H(`${r.username}:${realm}`) : r.username)}`,
    `realm=${quote(realm)}`,
    `nonce=${quote(nonce)}`,
    `uri=${quote(r.uri)}`,
  ];
  // Echo the algorithm as the phone spelt it; a server may compare it literally.
  const named = challenge.params.get("algorithm");
  if (named !== undefined) parts.push(`algorithm=${named}`);
  parts.push(`response=${quote(response)}`);
  if (qop) parts.push(`qop=${qop}`, `nc=${nc}`, `cnonce=${quote(r.cnonce)}`);
  const opaque = challenge.params.get("opaque");
  if (opaque !== undefined) parts.push(`opaque=${quote(opaque)}`);
  if (userhash) parts.push("userhash=true");
  return `Digest ${parts.join(", ")}`;
}
