/**
 * Warnings that anyone on the network can cause at will (refused callbacks, refused channels,
 * failed accepts, bad requests) are logged at once the first time, then summarised at most
 * once per interval with a count, so nobody can fill the log from outside.
 */

import { type Clock, systemClock, type TimerId } from "../clock.ts";
import type { Logger } from "@logtape/logtape";

/** How often a summary may be written (ms). */
export const SUMMARY_INTERVAL_MS = 60_000;

/** Distinct keys tracked at once; beyond that, keys share one window. */
const MAX_KEYS = 256;

interface Window {
  suppressed: number;
  last?: { message: string; props: Record<string, unknown> };
  timer?: TimerId;
}

/** One kind of repeatable warning, with a window per key (a device, an address, …). */
export class RepeatedWarning {
  readonly #logger: () => Logger;
  readonly #intervalMs: number;
  readonly #clock: Clock;
  readonly #windows = new Map<string, Window>();
  /** Warnings noted since start, logged or summarised. */
  total = 0;

  constructor(logger: () => Logger, options: { intervalMs?: number; clock?: Clock } = {}) {
    this.#logger = logger;
    this.#intervalMs = options.intervalMs ?? SUMMARY_INTERVAL_MS;
    this.#clock = options.clock ?? systemClock;
  }

  /**
   * Notes one occurrence: logged now when its key had none in the last interval, otherwise
   * counted into the summary written when the interval ends. `message` is a LogTape template.
   */
  note(key: string, message: string, props: Record<string, unknown> = {}): void {
    this.total++;
    const k = this.#windows.has(key) || this.#windows.size < MAX_KEYS ? key : "(other)";
    const open = this.#windows.get(k);
    if (open) {
      open.suppressed++;
      open.last = { message, props };
      return;
    }
    this.#logger().warning(message, props);
    this.#open(k, { suppressed: 0 });
  }

  /** Writes what is pending and stops the timers (on shutdown). */
  close(): void {
    for (const [key, w] of this.#windows) {
      if (w.timer !== undefined) this.#clock.clearTimeout(w.timer);
      this.#summarise(w);
      this.#windows.delete(key);
    }
  }

  #open(key: string, w: Window): void {
    this.#windows.set(key, w);
    w.timer = this.#clock.setTimeout(() => {
      w.timer = undefined;
      if (w.suppressed === 0) {
        this.#windows.delete(key);
        return;
      }
      this.#summarise(w);
      this.#open(key, { suppressed: 0 });
    }, this.#intervalMs);
    try {
      // A pending summary must not keep the process alive.
      Deno.unrefTimer(w.timer as unknown as number);
    } catch {
      // a test clock's handle
    }
  }

  #summarise(w: Window): void {
    if (w.suppressed === 0 || !w.last) return;
    const seconds = Math.round(this.#intervalMs / 1000);
    this.#logger().warning(
      `{repeated} more like this in the last {seconds} s; the last: ${w.last.message}`,
      { ...w.last.props, repeated: w.suppressed, seconds },
    );
    w.suppressed = 0;
  }
}
