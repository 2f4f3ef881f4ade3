/**
 * A first-in, first-out queue that runs one job at a time. Each phone has one, because a
 * phone's web server chokes on concurrent requests (snom-http.md §2.6); phones do not share
 * queues, so a slow phone delays only itself (channel-protocol.md §3).
 */

interface Job {
  readonly run: () => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly cancel: (reason: string) => void;
}

/** One job at a time, in the order they were pushed. */
export class SerialQueue {
  readonly #jobs: Job[] = [];
  #running: Promise<void> | undefined;

  /** Jobs waiting, not counting the one running. */
  get queued(): number {
    return this.#jobs.length;
  }

  /**
   * Runs `run` after every job pushed before it. When the queue is cancelled before the job
   * starts, `cancelled(reason)` gives the job's result instead. `run` must not throw; if it
   * does, the error is passed on to this job's caller only.
   */
  push<T>(run: () => Promise<T>, cancelled: (reason: string) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#jobs.push({
        run: () => run().then(resolve, reject),
        resolve: resolve as (value: unknown) => void,
        cancel: (reason) => resolve(cancelled(reason)),
      });
      if (!this.#running) this.#running = this.#drain();
    });
  }

  async #drain(): Promise<void> {
    for (let job = this.#jobs.shift(); job; job = this.#jobs.shift()) {
      await job.run();
    }
    this.#running = undefined;
  }

  /** Gives every waiting job its cancelled result; the running job finishes normally. */
  cancelWaiting(reason: string): void {
    for (const job of this.#jobs.splice(0)) job.cancel(reason);
  }

  /** Resolves when nothing runs and nothing waits. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }
}
