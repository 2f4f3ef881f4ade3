/**
 * Failed logins to the status page (docs/status-page.md §2): each one is answered after a
 * pause that grows with the failures from that address in the last minute, and they are
 * logged at most one line a minute per address. Neither the user name nor the password tried
 * is ever logged.
 */

import { type Clock, sleep } from "../clock.ts";
import { log } from "../log/mod.ts";

const MINUTE_MS = 60_000;

/** How many addresses are remembered before stale ones are dropped. */
const MAX_ADDRESSES = 1000;

/** 0.5 s for the first failure in a minute, doubling, at most 8 s. */
export function defaultLoginDelayMs(failuresInLastMinute: number): number {
  return Math.min(500 * 2 ** Math.max(0, failuresInLastMinute - 1), 8000);
}

interface AddressRecord {
  /** Times of the failures within the last minute. */
  times: number[];
  lastLineAt?: number;
  /** Failures not yet in a log line. */
  unlogged: number;
}

/** Failed logins per address. */
export class FailedLogins {
  readonly #clock: Clock;
  readonly #delayMs: (failures: number) => number;
  readonly #byAddress = new Map<string, AddressRecord>();

  constructor(clock: Clock, delayMs: (failures: number) => number = defaultLoginDelayMs) {
    this.#clock = clock;
    this.#delayMs = delayMs;
  }

  /** Counts a failed login from `address`; resolves after the pause it earns. */
  failed(address: string): Promise<void> {
    const now = this.#clock.now();
    let record = this.#byAddress.get(address);
    if (!record) {
      if (this.#byAddress.size >= MAX_ADDRESSES) this.#forgetStale(now);
      record = { times: [], unlogged: 0 };
      this.#byAddress.set(address, record);
    }
    record.times = record.times.filter((t) => now - t < MINUTE_MS);
    record.times.push(now);
    record.unlogged++;
    if (record.lastLineAt === undefined || now - record.lastLineAt >= MINUTE_MS) {
      log("http").warning(
        "failed login to the status page from {address}: {count} attempt(s) with a wrong " +
          "user name or password since the last such line",
        { address, count: record.unlogged },
      );
      record.lastLineAt = now;
      record.unlogged = 0;
    }
    const ms = this.#delayMs(record.times.length);
    return sleep(ms, this.#clock);
  }

  /** A good login clears the address's count (its log-line limit stays). */
  succeeded(address: string): void {
    const record = this.#byAddress.get(address);
    if (record) record.times = [];
  }

  #forgetStale(now: number): void {
    for (const [address, r] of this.#byAddress) {
      const recent = r.times.some((t) => now - t < MINUTE_MS) ||
        (r.lastLineAt !== undefined && now - r.lastLineAt < MINUTE_MS);
      if (!recent) this.#byAddress.delete(address);
    }
  }
}
