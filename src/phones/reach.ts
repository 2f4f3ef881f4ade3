/**
 * Whether a phone can be reached (docs/status-page.md §4): learnt from every reply to a
 * command and from the registry's regular checks. A change is logged once: a warning when
 * the phone becomes unreachable, an info line when it is back; repeats of the same state are
 * silent.
 *
 * States: `unknown` (nothing asked yet, or the address changed) → `reachable` ⇄ `unreachable`.
 */

import type { Clock } from "../clock.ts";
import { log } from "../log/mod.ts";
import { hostPort } from "../net.ts";
import type { PhoneReply } from "../http/mod.ts";

/** What is known about reaching a phone. */
export type Reachability = "unknown" | "reachable" | "unreachable";

/** A phone's reachability for the status page. */
export interface ReachStatus {
  readonly reachable: Reachability;
  /** When the state last changed (epoch ms). */
  readonly reachableSince?: number;
  /** When the phone was last asked anything (epoch ms). */
  readonly checkedAt?: number;
  /** What the last answer (or its absence) was, e.g. `answered HTTP 401`. */
  readonly reachDetail?: string;
}

/** Where the phone is, for the log lines. */
export interface ReachSubject {
  readonly extension: string;
  readonly host: string;
  readonly port: number;
}

/** One phone's reachability. */
export class Reach {
  readonly #clock: Clock;
  #state: Reachability = "unknown";
  #since?: number;
  #checkedAt?: number;
  #detail?: string;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Takes what came back from the phone (any request: a command's or a check's). */
  observe(subject: ReachSubject, reply: PhoneReply, timeoutMs: number): void {
    const now = this.#clock.now();
    this.#checkedAt = now;
    let next: Reachability;
    switch (reply.kind) {
      case "response":
        next = "reachable";
        this.#detail = `answered HTTP ${reply.status}`;
        break;
      case "closed":
        next = "reachable";
        this.#detail = "took the request and closed the connection";
        break;
      case "malformed":
        next = "reachable";
        this.#detail = "answered, but not in HTTP";
        break;
      case "unreachable":
        next = "unreachable";
        this.#detail = reply.message;
        break;
      case "timeout":
        next = "unreachable";
        this.#detail = `no answer within ${timeoutMs} ms`;
        break;
    }
    if (next === this.#state) return;
    const before = this.#state;
    this.#state = next;
    this.#since = now;
    const fields = {
      extension: subject.extension,
      address: hostPort(subject.host, subject.port),
      detail: this.#detail,
    };
    if (next === "unreachable") {
      log("phones").warning("phone {extension} at {address} is unreachable: {detail}", fields);
    } else if (before === "unreachable") {
      log("phones").info("phone {extension} at {address} is reachable again", fields);
    } else {
      log("phones").debug("phone {extension} at {address} is reachable", fields);
    }
  }

  /** The phone moved: nothing is known about the new address yet. */
  reset(): void {
    this.#state = "unknown";
    this.#since = undefined;
    this.#checkedAt = undefined;
    this.#detail = undefined;
  }

  /** The state now, for the status page. */
  status(): ReachStatus {
    return {
      reachable: this.#state,
      reachableSince: this.#since,
      checkedAt: this.#checkedAt,
      reachDetail: this.#detail,
    };
  }
}
