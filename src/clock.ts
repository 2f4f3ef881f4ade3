/**
 * Time as a boundary: components take a {@link Clock} so tests can drive timers without
 * stubbing globals (docs/architecture.md §9.2).
 */

/** A timer handle as the runtime returns it. */
export type TimerId = ReturnType<typeof setTimeout>;

/** Wall-clock milliseconds and one-shot timers. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerId;
  clearTimeout(id: TimerId): void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id),
};
