/**
 * A phone's callback, read and checked before it may change anything (docs/channel-protocol.md
 * §4.1): a known phone and notification, a query of sane size, the phone's key, and a source
 * address that is the phone's. Reads the callback's query (leniently, as phones write it) and
 * the remote party in it into a {@link PhoneReport}, and keeps per phone what the status page
 * shows about callbacks. In one room, since every callback passes through all of it.
 */

import { lookup } from "node:dns/promises";
import type { Clock } from "../clock.ts";
import { addressKey, type NotificationName } from "../config/mod.ts";
import type { CallbackRefusal, CallbackRequest } from "../contract.ts";
import { log, type RepeatedWarning } from "../log/mod.ts";
import { CALLBACK_PARAMS, parseCallbackPath } from "./callback_url.ts";
import type { PhoneReport } from "./calls.ts";

/** The longest query taken; a phone's substituted variables are far shorter. */
const MAX_QUERY_CHARS = 16_384;

/** What the status page shows about one phone's callbacks. */
export interface CallbackRecord {
  lastCallbackAt?: number;
  refused: number;
  lastRefusal?: string;
}

/** A callback for a known phone, its query read; key and source not yet checked. */
export interface ReadCallback {
  readonly extension: string;
  readonly notification: NotificationName;
  readonly params: ReadonlyMap<string, string>;
  /** The key it presented, if any. */
  readonly key?: string;
}

const logger = () => log("monitor");

/**
 * Reads a callback: 404 when it is not a callback path or names an unknown phone, 400 when
 * its query is too long; else what it says.
 */
export function readCallback(
  request: CallbackRequest,
  knows: (extension: string) => boolean,
): ReadCallback | { readonly status: 400 | 404; readonly refused: CallbackRefusal } {
  const target = parseCallbackPath(request.path);
  if (!target || !knows(target.extension)) return { status: 404, refused: "unknown_phone" };
  if (request.rawQuery.length > MAX_QUERY_CHARS) {
    logger().warning("refused a callback for phone {device} from {address}: query too long", {
      device: target.extension,
      address: request.remoteAddress,
    });
    return { status: 400, refused: "too_long" };
  }
  const params = parseQuery(request.rawQuery);
  return { ...target, params, key: params.get(CALLBACK_PARAMS.secret) };
}

/**
 * Counts a refused callback and logs it; repeats for the same phone and reason are summarised
 * (anyone who can reach the port can send forged callbacks).
 */
export function refuse(
  warnings: RepeatedWarning,
  record: CallbackRecord | undefined,
  extension: string,
  address: string,
  why: string,
): void {
  if (record) {
    record.refused++;
    record.lastRefusal = `${why} from ${address}`;
  }
  warnings.note(
    `${extension} ${why}`,
    "refused a callback for phone {device} from {address}: {why}",
    { device: extension, address, why },
  );
}

/**
 * What a checked callback reports. A variable the phone left unsubstituted (its placeholder
 * came back as written) reads as empty.
 */
export function phoneReport(
  notification: NotificationName,
  params: ReadonlyMap<string, string>,
  unsubstituted: ReadonlyMap<string, string>,
): PhoneReport {
  const value = (name: string) => {
    const v = params.get(name) ?? "";
    return v === unsubstituted.get(name) ? "" : v;
  };
  const party = parseParty(value(CALLBACK_PARAMS.remote));
  const shown = value(CALLBACK_PARAMS.displayName).trim().replace(/^"(.*)"$/, "$1");
  const ongoing = value(CALLBACK_PARAMS.ongoing).trim();
  const cancelReason = value(CALLBACK_PARAMS.cancelReason).trim();
  return {
    notification,
    callId: value(CALLBACK_PARAMS.callId).trim(),
    remote: party.user,
    displayName: shown !== "" ? shown : party.displayName,
    ongoing: /^\d{1,6}$/.test(ongoing) ? Number(ongoing) : undefined,
    ...(cancelReason === "" ? {} : { cancelReason }),
  };
}

// --- The query, read leniently ---

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

// --- The remote party ---

/**
 * The remote party as a phone reports it in `$remote` / `$display_remote`, reduced to what
 * events carry: the user part of the SIP URI (docs/channel-protocol.md §4.2) and,
 * separately, a display name. Snom may send `sip:user@host`, `user@host` or a name-addr such
 * as `"Jane" <sip:12@host>` (docs/snom.md §5.5), so every form is accepted.
 */

/** A remote party: `user` never contains a display name or whitespace. */
export interface Party {
  readonly user: string;
  readonly displayName: string;
}

function unquote(text: string): string {
  const t = text.trim();
  if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) {
    return t.slice(1, -1).replace(/\\(.)/g, "$1").trim();
  }
  return t;
}

/**
 * Parses a `$remote` value: `sip:0049301234@pbx` → user `0049301234`; `"Jane" <sip:12@h>` →
 * user `12`, display name `Jane`; `tel:+4930123;phone-context=x` → `+4930123`. Escapes inside
 * the user part (`%23` for `#`) are decoded.
 */
export function parseParty(value: string): Party {
  let uri = value.trim();
  let name = "";
  const lt = uri.indexOf("<");
  if (lt >= 0) {
    const gt = uri.indexOf(">", lt);
    name = uri.slice(0, lt);
    uri = uri.slice(lt + 1, gt < 0 ? undefined : gt).trim();
  } else {
    const lastSpace = uri.search(/\s\S*$/);
    if (lastSpace >= 0) {
      name = uri.slice(0, lastSpace);
      uri = uri.slice(lastSpace + 1);
    }
  }
  uri = uri.replace(/^(?:sips?|tel):/i, "");
  const at = uri.indexOf("@");
  let user = at >= 0 ? uri.slice(0, at) : uri;
  // user params (`;user=phone`), a password (`user:pw@`) or a port when there is no user.
  user = user.split(/[;?]/)[0];
  if (at >= 0 || !/^\[/.test(user)) user = user.split(":")[0];
  user = decodeLenient(user).replace(/\s+/g, "");
  return { user, displayName: unquote(name) };
}

// --- The source address ---

/**
 * Does a callback come from the phone's configured host? (docs/channel-protocol.md §4 "Callbacks
 * from phones"). Addresses compare by value, so `::ffff:192.0.2.7` (a dual-stack listener's
 * view of an IPv4 peer) equals `192.0.2.7`; host names are resolved and cached.
 */

/** Resolves a host name to its addresses (all families). */
export type Lookup = (host: string) => Promise<readonly string[]>;

/** The system resolver (hosts file and DNS, as the OS does it). */
export const systemLookup: Lookup = async (host) =>
  (await lookup(host, { all: true })).map((a) => a.address);

interface Resolved {
  keys: ReadonlySet<string>;
  at: number;
  pending?: Promise<ReadonlySet<string>>;
}

/** Cached answers to "is this remote address that host?". */
export class SourceCheck {
  readonly #lookup: Lookup;
  readonly #clock: Clock;
  readonly #ttlMs: number;
  readonly #retryMs: number;
  readonly #hosts = new Map<string, Resolved>();

  /**
   * Answers are cached for `ttlMs`; a miss re-resolves the name, but at most once per
   * `retryMs`, so callbacks from strangers cannot hammer the resolver.
   */
  constructor(lookupHost: Lookup, clock: Clock, ttlMs = 300_000, retryMs = 10_000) {
    this.#lookup = lookupHost;
    this.#clock = clock;
    this.#ttlMs = ttlMs;
    this.#retryMs = retryMs;
  }

  /** True when `remote` is (one of the addresses of) `host`. Synchronous when it can be. */
  matches(host: string, remote: string): boolean | Promise<boolean> {
    const key = addressKey(remote);
    if (key === undefined) return false;
    const literal = addressKey(host);
    if (literal !== undefined) return literal === key;
    const name = host.toLowerCase();
    const cached = this.#hosts.get(name);
    const age = cached ? this.#clock.now() - cached.at : Infinity;
    if (cached && cached.keys.has(key) && age < this.#ttlMs) return true;
    if (cached && !cached.pending && age < this.#retryMs) return false;
    return this.#resolve(name, cached).then((keys) => keys.has(key));
  }

  /** Forgets every cached answer (after a configuration change). */
  forget(): void {
    this.#hosts.clear();
  }

  #resolve(name: string, cached: Resolved | undefined): Promise<ReadonlySet<string>> {
    if (cached?.pending) return cached.pending;
    const entry: Resolved = cached ?? { keys: new Set(), at: 0 };
    entry.pending = this.#lookup(name).then(
      (addresses) => {
        const keys = new Set<string>();
        for (const a of addresses) {
          const k = addressKey(a);
          if (k !== undefined) keys.add(k);
        }
        return keys;
      },
      (e) => {
        log("monitor").warning("cannot resolve phone host {host}: {error}", {
          host: name,
          error: e,
        });
        return new Set<string>();
      },
    ).then((keys) => {
      entry.keys = keys;
      entry.at = this.#clock.now();
      entry.pending = undefined;
      return keys;
    });
    this.#hosts.set(name, entry);
    return entry.pending;
  }
}
