/**
 * The one accept loop of the server, for both listeners (the HTTP front and the STLI channel
 * listener, docs/architecture.md §8): it survives anything one connection does, and only
 * closing it ends it. Each owner counts and reports what the loop tells it, in its own way.
 *
 * States: accepting → (lost → pause 100 ms → listening again, retried every second) →
 * accepting … | closed.
 */

import { type Clock, sleep, systemClock } from "./clock.ts";

/** A listener as the loop needs it (`Deno.TcpListener` is one). */
export interface AcceptingListener<C extends { close(): void }> {
  accept(): Promise<C>;
  close(): void;
}

/** What the loop is built from. */
export interface AcceptOptions<C extends { close(): void }, L extends AcceptingListener<C>> {
  /** The listener, already open: a first bind that fails is the owner's to report. */
  readonly listener: L;
  /** Opens the listener again after it was lost. */
  readonly listen: () => L;
  /** Takes an accepted connection; should it throw, that counts as a failed accept. */
  readonly take: (conn: C) => void;
  /**
   * A failed accept (`accept`) or a connection that could not be taken (`take`, it has been
   * closed): the owner counts it and reports it. The loop goes on.
   */
  readonly failed: (stage: "accept" | "take", error: unknown) => void;
  /** The loop ended otherwise than by `close` (the listener broke): it listens again. */
  readonly lost: (error: unknown) => void;
  /** Listening again failed for the `attempt`-th time in a row; the next try is in 1 s. */
  readonly relistenFailed: (error: unknown, attempt: number) => void;
  readonly clock?: Clock;
}

/** Pause after a failed accept that is not one connection's doing (out of file handles). */
const ACCEPT_PAUSE_MS = 50;
/** Pause before listening again after the listener broke. */
const RELISTEN_PAUSE_MS = 100;
/** Pause between attempts to listen again. */
const RELISTEN_RETRY_MS = 1000;

/**
 * True for a failed accept that concerns one connection only (the client reset it before it
 * was taken, say): the listener itself is fine and the next accept can follow at once.
 */
export function isConnectionError(e: unknown): boolean {
  return e instanceof Deno.errors.ConnectionReset || e instanceof Deno.errors.ConnectionAborted ||
    e instanceof Deno.errors.NotConnected || e instanceof Deno.errors.ConnectionRefused ||
    e instanceof Deno.errors.Interrupted;
}

/**
 * Accepts connections on a listener until {@link close}. A failed accept that concerns one
 * connection is reported and skipped at once; any other failed accept waits 50 ms first, so a
 * failing listener cannot spin. Should accepting end any other way (the listener was closed
 * under it: `BadResource`), that is reported and the listener opened again after 100 ms,
 * retried every second until it works or the loop is closed.
 */
export class AcceptLoop<C extends { close(): void }, L extends AcceptingListener<C>> {
  readonly #options: AcceptOptions<C, L>;
  readonly #clock: Clock;
  readonly #closing = new AbortController();
  #listener?: L;
  /** Settles when the loop has ended (after {@link close}). */
  readonly done: Promise<void>;

  constructor(options: AcceptOptions<C, L>) {
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#listener = options.listener;
    this.done = this.#run();
  }

  /** The listener accepting now; undefined while it is being opened again, and once closed. */
  get listener(): L | undefined {
    return this.#listener;
  }

  /** Closes the listener and resolves once the loop has ended (its socket is released). */
  async close(): Promise<void> {
    this.#closing.abort();
    closeQuietly(this.#listener);
    await this.done;
    this.#listener = undefined;
  }

  get #closed(): boolean {
    return this.#closing.signal.aborted;
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      const listener = this.#listener!;
      try {
        await this.#acceptAll(listener);
        return;
      } catch (e) {
        if (this.#closed) return;
        this.#options.lost(e);
        closeQuietly(listener);
        this.#listener = undefined;
        await this.#pause(RELISTEN_PAUSE_MS);
        await this.#listenAgain();
      }
    }
  }

  /** Accepts until the loop is closed; throws when accepting ended any other way. */
  async #acceptAll(listener: L): Promise<void> {
    for (;;) {
      let conn: C;
      try {
        conn = await listener.accept();
      } catch (e) {
        if (this.#closed) return;
        if (e instanceof Deno.errors.BadResource) throw e; // closed under us: listen again
        this.#options.failed("accept", e);
        if (!isConnectionError(e)) await this.#pause(ACCEPT_PAUSE_MS);
        continue;
      }
      try {
        this.#options.take(conn);
      } catch (e) {
        closeQuietly(conn);
        this.#options.failed("take", e);
      }
    }
  }

  async #listenAgain(): Promise<void> {
    for (let attempt = 1; !this.#closed; attempt++) {
      try {
        this.#listener = this.#options.listen();
        return;
      } catch (e) {
        this.#options.relistenFailed(e, attempt);
        await this.#pause(RELISTEN_RETRY_MS);
      }
    }
  }

  #pause(ms: number): Promise<void> {
    return sleep(ms, this.#clock, this.#closing.signal);
  }
}

function closeQuietly(closable: { close(): void } | undefined): void {
  try {
    closable?.close();
  } catch {
    // already closed
  }
}
