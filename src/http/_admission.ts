/**
 * Who may open a connection to the server front (docs/architecture.md §8): so many in all,
 * so many per address, and the last share of them kept for preferred addresses (the phones),
 * so idle or hostile clients can never starve phone callbacks.
 */

/** The limits connections are admitted within. */
export interface AdmissionLimits {
  readonly maxConnections: number;
  /** Connections one address may hold (preferred addresses excepted). */
  readonly perAddress: number;
  /** Connections only preferred addresses may use. */
  readonly reserved: number;
  readonly preferred: (address: string) => boolean;
}

/** The connections open now, by address, and whether one more may open. */
export class Admission<C> {
  readonly #limits: AdmissionLimits;
  readonly #open = new Map<C, string>();
  readonly #byAddress = new Map<string, number>();

  constructor(limits: AdmissionLimits) {
    this.#limits = limits;
  }

  /** Connections open now. */
  get size(): number {
    return this.#open.size;
  }

  /** The connections open now. */
  get connections(): Iterable<C> {
    return this.#open.keys();
  }

  /** Counts `conn` from `address` in, or says why it is refused (then it is not counted). */
  admit(conn: C, address: string): string | undefined {
    const { maxConnections, perAddress, reserved } = this.#limits;
    const mine = this.#byAddress.get(address) ?? 0;
    const open = this.#open.size;
    const refusal = open >= maxConnections
      ? `all ${maxConnections} connections are in use`
      : this.#limits.preferred(address)
      ? undefined
      : open >= maxConnections - reserved
      ? `the last ${reserved} connections are kept for phones`
      : mine >= perAddress
      ? `${address} already holds ${perAddress} connections`
      : undefined;
    if (refusal) return refusal;
    this.#open.set(conn, address);
    this.#byAddress.set(address, mine + 1);
    return undefined;
  }

  /** Counts a closed connection out. */
  release(conn: C): void {
    const address = this.#open.get(conn);
    if (address === undefined) return;
    this.#open.delete(conn);
    const left = (this.#byAddress.get(address) ?? 1) - 1;
    if (left > 0) this.#byAddress.set(address, left);
    else this.#byAddress.delete(address);
  }
}
