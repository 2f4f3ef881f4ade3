/**
 * Time as a boundary: components take a {@link Clock} so tests can drive timers without
 * stubbing globals (docs/architecture.md §9.2). The waits every part needs (a pause, a
 * bounded wait for work in flight) are written here once, on any clock.
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

/** Resolves after `ms` on `clock`, or at once when `signal` is (or becomes) aborted. */
export function sleep(ms: number, clock: Clock = systemClock, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clock.clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = clock.setTimeout(done, Math.max(0, ms));
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Waits for `work` to settle, but no longer than `ms`: true when it settled in time. A
 * rejection counts as settled; it is never thrown here.
 */
export async function within(
  work: Promise<unknown>,
  ms: number,
  clock: Clock = systemClock,
): Promise<boolean> {
  let timer: TimerId | undefined;
  const late = new Promise<false>((resolve) => timer = clock.setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([work.then(() => true, () => true), late]);
  } finally {
    clock.clearTimeout(timer!);
  }
}

/**
 * `work`'s result if it comes before `deadline` (clock milliseconds), else `late()`'s; the
 * work itself is not stopped.
 */
export async function byDeadline<T>(
  work: Promise<T>,
  deadline: number,
  late: () => T,
  clock: Clock = systemClock,
): Promise<T> {
  let timer: TimerId | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = clock.setTimeout(() => resolve(late()), Math.max(0, deadline - clock.now()));
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clock.clearTimeout(timer!);
  }
}
