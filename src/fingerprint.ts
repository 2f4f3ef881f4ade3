/**
 * Telling a real change of settings from a reload that changed nothing (docs/configuration.md
 * §3): a part remembers the fingerprint of what it is set up with, and sets itself up again
 * only when the next settings' fingerprint differs. The one way every part decides this.
 */

/** What a part is set up with now, as a fingerprint of plain data. */
export class Fingerprint {
  #last?: string;

  /** True when `value` is what was last remembered. */
  is(value: unknown): boolean {
    return this.#last !== undefined && print(value) === this.#last;
  }

  /** Remembers `value` as what the part is set up with now. */
  remember(value: unknown): void {
    this.#last = print(value);
  }

  /** Forgets, so that any next value counts as a change. */
  forget(): void {
    this.#last = undefined;
  }
}

/** Plain data as text; `undefined` and `null` alike. */
function print(value: unknown): string {
  return JSON.stringify(value ?? null);
}
