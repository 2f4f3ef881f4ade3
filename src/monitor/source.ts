/**
 * Does a callback come from the phone's configured host? (docs/channel-protocol.md §4 "Callbacks
 * from phones"). Addresses compare by value, so `::ffff:192.0.2.7` (a dual-stack listener's
 * view of an IPv4 peer) equals `192.0.2.7`; host names are resolved and cached.
 */

import { lookup } from "node:dns/promises";
import type { Clock } from "../clock.ts";
import { addressKey } from "../config/mod.ts";
import { log } from "../log/mod.ts";

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
