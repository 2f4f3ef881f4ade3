/**
 * The last warnings and errors of the log, kept in memory for the status page's "recent
 * problems" (docs/configuration.md §6). A record that repeats the one before it (same level,
 * area and message) is counted on that entry instead of pushing older problems out.
 */

/** One warning or error as the page shows it; the message is already redacted. */
export interface Problem {
  /** Epoch milliseconds of the latest occurrence. */
  readonly at: number;
  readonly level: "warning" | "error" | "fatal";
  readonly area: string;
  readonly message: string;
  /** How many times it came in a row. */
  readonly count: number;
}

/** A ring of the last `capacity` problems. */
export class RecentProblems {
  readonly capacity: number;
  #items: Problem[] = [];

  constructor(capacity = 100) {
    this.capacity = capacity;
  }

  /** Adds one problem, or counts it on the newest entry when it repeats that one. */
  add(problem: Omit<Problem, "count">): void {
    const last = this.#items.at(-1);
    if (
      last && last.level === problem.level && last.area === problem.area &&
      last.message === problem.message
    ) {
      this.#items[this.#items.length - 1] = { ...problem, count: last.count + 1 };
      return;
    }
    this.#items.push({ ...problem, count: 1 });
    if (this.#items.length > this.capacity) {
      this.#items.splice(0, this.#items.length - this.capacity);
    }
  }

  /** Newest first. */
  list(): Problem[] {
    return [...this.#items].reverse();
  }
}
