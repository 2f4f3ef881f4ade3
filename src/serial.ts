/**
 * One thing at a time: the server's only primitive for work that must not overlap. Each phone
 * has one for its HTTP requests (a phone's web server chokes on concurrent requests), each
 * monitored device one for its callbacks and command effects, each channel one per device for
 * its commands, and each component one for applying settings.
 *
 * Jobs run in the order they were given. A job given to an idle `Serial` starts at once, in
 * the caller's turn, so whatever it does before its first `await` happens before `run`
 * returns.
 */

/** Why a waiting job never ran. */
export class Cancelled extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = "Cancelled";
  }
}

interface Job {
  /** Runs the job: "async" when it returned a promise, whose end starts the next job. */
  readonly start: () => "sync" | "async";
  readonly cancel: (reason: string) => void;
}

/** Runs jobs one at a time, first in, first out. */
export class Serial {
  readonly #waiting: Job[] = [];
  readonly #onIdle?: () => void;
  #busy = false;
  #idle: (() => void)[] = [];

  /** `onIdle` is called each time the last job has finished and nothing waits. */
  constructor(onIdle?: () => void) {
    this.#onIdle = onIdle;
  }

  /** Jobs waiting, not counting the one running. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** True while a job runs or waits. */
  get busy(): boolean {
    return this.#busy;
  }

  /**
   * Runs `job` after every job given before it and resolves with its result. A job that
   * throws or rejects rejects only its own promise. When the queue is cancelled before the job
   * starts, the promise resolves with `cancelled(reason)` if given, else rejects with
   * {@link Cancelled}.
   *
   * The next job starts in the same turn as the previous one ends (a job that returns no
   * promise ends at once), before anyone awaiting the previous job's result resumes.
   */
  run<T>(job: () => T | Promise<T>, cancelled?: (reason: string) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#waiting.push({
        start: () => {
          let result: T | Promise<T>;
          try {
            result = job();
          } catch (e) {
            reject(e);
            return "sync";
          }
          if (!(result instanceof Promise)) {
            resolve(result);
            return "sync";
          }
          result.then(
            (value) => {
              resolve(value);
              this.#next();
            },
            (e) => {
              reject(e);
              this.#next();
            },
          );
          return "async";
        },
        cancel: (reason) => cancelled ? resolve(cancelled(reason)) : reject(new Cancelled(reason)),
      });
      if (!this.#busy) this.#next();
    });
  }

  /** Starts waiting jobs until one is asynchronous or none is left. */
  #next(): void {
    this.#busy = true;
    for (let job = this.#waiting.shift(); job; job = this.#waiting.shift()) {
      if (job.start() === "async") return;
    }
    this.#busy = false;
    for (const wake of this.#idle.splice(0)) wake();
    this.#onIdle?.();
  }

  /** Gives every waiting job its cancelled result; the running job finishes normally. */
  cancelWaiting(reason: string): void {
    for (const job of this.#waiting.splice(0)) job.cancel(reason);
  }

  /** Resolves when nothing runs and nothing waits. */
  idle(): Promise<void> {
    if (!this.#busy) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }
}

/**
 * One {@link Serial} per key, made on first use and dropped when idle, so keys that come and
 * go (devices, phones) cost nothing once their work is done.
 */
export class KeyedSerial<K> {
  readonly #serials = new Map<K, Serial>();

  /** Runs `job` after every job given before it for the same key. */
  run<T>(key: K, job: () => T | Promise<T>, cancelled?: (reason: string) => T): Promise<T> {
    let serial = this.#serials.get(key);
    if (!serial) {
      const made: Serial = new Serial(() => {
        if (this.#serials.get(key) === made) this.#serials.delete(key);
      });
      this.#serials.set(key, made);
      serial = made;
    }
    return serial.run(job, cancelled);
  }

  /** True while a job of the key runs or waits. */
  busy(key: K): boolean {
    return this.#serials.get(key)?.busy ?? false;
  }

  /** Keys with work running or waiting. */
  get size(): number {
    return this.#serials.size;
  }

  /** Cancels the waiting jobs of every key. */
  cancelWaiting(reason: string): void {
    for (const serial of this.#serials.values()) serial.cancelWaiting(reason);
  }

  /** Resolves when no key has work. */
  async idle(): Promise<void> {
    while (this.#serials.size > 0) {
      await Promise.all([...this.#serials.values()].map((s) => s.idle()));
    }
  }
}
