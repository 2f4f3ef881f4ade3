/**
 * The rate-limit gate in front of every request to the provider (docs/provider.md §4): it
 * tracks the `X-Rate-Limit-*` headers per group and, after a 429, lets no request of that
 * group reach the provider until `Retry-After` (default 30 s) has passed, for every channel
 * at once — a request sent into the penalty window would restart it (the "429 trap").
 *
 * A request's group is known only from answers, so the gate learns it per route (method and
 * path pattern, see `routeOf`): the group named by the last answer to that route. Then:
 * - a route whose group is closed is refused (`RateLimited`) without contacting the provider;
 * - a route never answered yet is refused while any group is closed (it might belong to it),
 *   and otherwise sent alone: its first request is a probe, the next wait for its answer;
 * - a route answered without rate-limit headers (2xx) is unthrottled and never held back
 *   except by an unknown-group penalty;
 * - a 429 without group headers comes from some other limit and closes every route.
 * Within a group, no more requests are in flight than the last answer's `Remaining` (at least
 * one), so a burst from many channels cannot overshoot the limit and then keep feeding the
 * penalty window with requests already on their way.
 */

import type { Clock } from "../clock.ts";
import { log } from "../log/mod.ts";
import { ProviderError, RATE_LIMITED } from "./_errors.ts";

/** What the status page shows of one rate-limit group; no request data. */
export interface RateGroupStatus {
  readonly group: string;
  readonly limit?: number;
  readonly remaining?: number;
  readonly windowSeconds?: number;
  /** Epoch ms until which the group is closed, when it is. */
  readonly penaltyUntil?: number;
  readonly inFlight: number;
}

/** What the gate knows, for the status page. */
export interface RateGateStatus {
  readonly groups: readonly RateGroupStatus[];
  /** Epoch ms until which every request is held back (a 429 without group headers). */
  readonly penaltyUntil?: number;
}

/** Permission to send one request; report its answer (or its failure) exactly once. */
export interface Ticket {
  /** The provider answered: learn from the headers, start a penalty on 429. */
  done(status: number, headers: Headers): void;
  /** No answer (timeout, network error, abort). */
  release(): void;
}

interface GroupState {
  limit?: number;
  remaining?: number;
  windowSeconds?: number;
  penaltyUntil: number;
}

/** Default penalty when a 429 carries no usable `Retry-After` (docs/provider.md §4). */
export const DEFAULT_RETRY_AFTER_MS = 30_000;

/**
 * `Retry-After` in ms from `now`: delta-seconds or an HTTP date; undefined when absent or
 * unreadable.
 */
export function retryAfterMs(headers: Headers, now: number): number | undefined {
  const value = headers.get("retry-after")?.trim();
  if (!value) return undefined;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

function intHeader(headers: Headers, name: string): number | undefined {
  const v = headers.get(name)?.trim();
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** The shared rate-limit state of one provider account. */
export class RateGate {
  readonly #clock: Clock;
  /** Route → group name; null: answered without rate-limit headers; absent: never answered. */
  readonly #routes = new Map<string, string | null>();
  readonly #groups = new Map<string, GroupState>();
  /** Requests in flight per group (`g:<name>`) or per unlearnt route (`r:<route>`). */
  readonly #flights = new Map<string, number>();
  readonly #waiters = new Set<() => void>();
  #unknownPenaltyUntil = 0;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Throws `RateLimited` (status 429) when a request of this route must not be sent now. */
  check(route: string): void {
    const now = this.#clock.now();
    const group = this.#routes.get(route);
    const closed = this.#unknownPenaltyUntil > now ||
      (typeof group === "string" && (this.#groups.get(group)?.penaltyUntil ?? 0) > now) ||
      (group === undefined && [...this.#groups.values()].some((g) => g.penaltyUntil > now));
    if (closed) throw new ProviderError(429, RATE_LIMITED);
  }

  /**
   * Waits until the request may be sent (see the module comment), then returns its ticket.
   * Throws `RateLimited` when its group is closed, or the signal's reason when aborted.
   */
  async admit(route: string, signal?: AbortSignal): Promise<Ticket> {
    for (;;) {
      signal?.throwIfAborted();
      this.check(route);
      const key = this.#flightKey(route);
      if (key === undefined) return this.#ticket(route, undefined);
      if ((this.#flights.get(key) ?? 0) < this.#allowance(route)) {
        this.#flights.set(key, (this.#flights.get(key) ?? 0) + 1);
        return this.#ticket(route, key);
      }
      await this.#changed(signal);
    }
  }

  /** Groups and penalties as they stand, for the status page. */
  status(): RateGateStatus {
    const now = this.#clock.now();
    const groups = [...this.#groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map((
      [group, g],
    ) => ({
      group,
      limit: g.limit,
      remaining: g.remaining,
      windowSeconds: g.windowSeconds,
      penaltyUntil: g.penaltyUntil > now ? g.penaltyUntil : undefined,
      inFlight: this.#flights.get(`g:${group}`) ?? 0,
    }));
    return {
      groups,
      penaltyUntil: this.#unknownPenaltyUntil > now ? this.#unknownPenaltyUntil : undefined,
    };
  }

  #flightKey(route: string): string | undefined {
    const group = this.#routes.get(route);
    if (group === null) return undefined;
    return group === undefined ? `r:${route}` : `g:${group}`;
  }

  #allowance(route: string): number {
    const group = this.#routes.get(route);
    if (typeof group !== "string") return 1;
    const remaining = this.#groups.get(group)?.remaining;
    return remaining === undefined ? Infinity : Math.max(1, remaining);
  }

  #ticket(route: string, key: string | undefined): Ticket {
    let open = true;
    const finish = () => {
      if (!open) return false;
      open = false;
      if (key !== undefined) {
        const n = (this.#flights.get(key) ?? 1) - 1;
        if (n > 0) this.#flights.set(key, n);
        else this.#flights.delete(key);
      }
      return true;
    };
    return {
      done: (status, headers) => {
        if (!finish()) return;
        this.#learn(route, status, headers);
        this.#wake();
      },
      release: () => {
        if (finish()) this.#wake();
      },
    };
  }

  #learn(route: string, status: number, headers: Headers): void {
    const now = this.#clock.now();
    const name = headers.get("x-rate-limit-group")?.trim();
    let group: GroupState | undefined;
    if (name) {
      this.#routes.set(route, name);
      group = this.#groups.get(name) ?? { penaltyUntil: 0 };
      group.limit = intHeader(headers, "x-rate-limit-limit") ?? group.limit;
      group.remaining = intHeader(headers, "x-rate-limit-remaining") ?? group.remaining;
      group.windowSeconds = intHeader(headers, "x-rate-limit-window") ?? group.windowSeconds;
      this.#groups.set(name, group);
    } else if (status >= 200 && status < 300 && !this.#routes.has(route)) {
      this.#routes.set(route, null);
    }
    if (status !== 429) return;

    const until = now + (retryAfterMs(headers, now) ?? DEFAULT_RETRY_AFTER_MS);
    if (group) {
      group.penaltyUntil = Math.max(group.penaltyUntil, until);
      group.remaining = 0;
      log("provider").warning(
        "rate limit of group {group} exceeded: its requests are held back until {until}",
        { group: name, until: new Date(group.penaltyUntil).toISOString() },
      );
    } else {
      this.#unknownPenaltyUntil = Math.max(this.#unknownPenaltyUntil, until);
      log("provider").warning(
        "the provider answered 429 without a rate-limit group: every request is held back until {until}",
        { until: new Date(this.#unknownPenaltyUntil).toISOString() },
      );
    }
  }

  #changed(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#waiters.delete(wake);
        reject(signal?.reason);
      };
      const wake = () => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      };
      this.#waiters.add(wake);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  #wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const w of waiters) w();
  }
}
