/**
 * The call journal component (docs/call-journal.md): takes every call that ended, writes them
 * in batches through a worker (one transaction per batch, off the event loop), deletes calls
 * older than `journalDays` at start and every hour, and answers queries on a reading
 * connection of its own (WAL lets it read while the worker writes).
 *
 * ```
 *            apply: journalDays > 0                 open fails even for a fresh file
 *   off ─────────────────────────────▶ open ─────────────────────────────────▶ failed
 *    ▲                                  │  ▲  writer crashed: a new writer, the     │
 *    └──────── journalDays = 0 ─────────┘  └─ unconfirmed batches sent again ───────┘
 *                                              (next apply tries again)
 * ```
 *
 * Nothing here stops the server: an unreadable file is moved aside and replaced, a failed
 * write is tried again, a crashed writer is replaced; each is logged.
 */

import type { DatabaseSync } from "node:sqlite";
import { type Clock, systemClock, within } from "../clock.ts";
import type {
  CallJournalReader,
  CallOutcome,
  CallPage,
  CallQuery,
  CallRecord,
  CallRecordSink,
  Component,
  Settings,
} from "../contract.ts";
import { log } from "../log/mod.ts";
import { errorText } from "../text.ts";
import type { FromWorker, ToWorker } from "./_messages.ts";
import { JournalReader, openJournal } from "./store.ts";

/** Tuning and boundaries of {@link Journal}. */
export interface JournalOptions {
  /** Time of day for retention (the batching uses real timers). */
  readonly clock?: Clock;
  /** Longest a recorded call waits for its batch. Default 50 ms. */
  readonly batchMs?: number;
  /** A batch is written at once when it has this many calls. Default 500. */
  readonly batchRows?: number;
  /** Told once a batch is committed. */
  readonly onCommitted?: (count: number) => void;
  /** The writer's module; tests give one that crashes. Default `_worker.ts`. */
  readonly workerUrl?: string;
}

const DAY_MS = 86_400_000;
const PRUNE_EVERY_MS = 3_600_000;
/** Calls kept in memory while the file cannot be written; beyond, the oldest are dropped. */
const MAX_PENDING = 100_000;
/** Pause before a failed batch is written again, or a crashed writer replaced. */
const RETRY_MS = 1000;

const logger = () => log("journal");

/** What the status page and `/api/status` show of the journal. */
export interface JournalStatus {
  readonly enabled: boolean;
  readonly path?: string;
  readonly days: number;
  /** Calls written since start. */
  readonly written: number;
  /** Calls waiting for their batch or its confirmation. */
  readonly pending: number;
  /** Why the journal cannot be used, when it cannot. */
  readonly problem?: string;
  /** Where an unreadable file was moved this run. */
  readonly movedAside?: string;
  /** How often the writer crashed and was replaced. */
  readonly writerRestarts: number;
}

/** The journal; see the module comment. */
export class Journal implements Component, CallRecordSink, CallJournalReader {
  readonly name = "journal";
  readonly #clock: Clock;
  readonly #batchMs: number;
  readonly #batchRows: number;
  readonly #onCommitted?: (count: number) => void;
  readonly #workerUrl: string;
  #path?: string;
  #days = 0;
  #db?: DatabaseSync;
  #reader?: JournalReader;
  #worker?: Worker;
  #pending: CallRecord[] = [];
  /** Batches sent and not yet confirmed, by number: sent again to a new writer. */
  readonly #inFlight = new Map<number, readonly CallRecord[]>();
  #nextBatch = 1;
  #nextSeq = 1;
  readonly #syncs = new Map<number, () => void>();
  #flushTimer?: ReturnType<typeof setTimeout>;
  #pruneTimer?: ReturnType<Clock["setTimeout"]>;
  #retryTimer?: ReturnType<typeof setTimeout>;
  #closing?: () => void;
  #written = 0;
  #restarts = 0;
  #problem?: string;
  #movedAside?: string;
  #writeFailing = false;
  #closed = false;

  constructor(options: JournalOptions = {}) {
    this.#clock = options.clock ?? systemClock;
    this.#batchMs = options.batchMs ?? 50;
    this.#batchRows = options.batchRows ?? 500;
    this.#onCommitted = options.onCommitted;
    this.#workerUrl = options.workerUrl ?? new URL("./_worker.ts", import.meta.url).href;
  }

  /** Opens, moves or closes the file as `journalPath` and `journalDays` say. */
  async apply(settings: Settings): Promise<void> {
    const { path, days } = settings.config.journal;
    this.#days = days;
    const wanted = days > 0 ? path : undefined;
    if (wanted === this.#path && (this.#db || !wanted)) {
      if (wanted) this.#prune();
      return;
    }
    await this.#shut();
    this.#path = wanted;
    this.#problem = undefined;
    if (wanted) this.#open(wanted);
  }

  /** Takes one call that ended; written within `batchMs`. Never throws. */
  record(call: CallRecord): void {
    if (!this.#path || this.#closed) return;
    this.#pending.push(call);
    if (this.#pending.length > MAX_PENDING) {
      this.#pending.splice(0, this.#pending.length - MAX_PENDING);
    }
    if (this.#pending.length >= this.#batchRows) this.#flush();
    else this.#flushTimer ??= setTimeout(() => this.#flush(), this.#batchMs);
  }

  unavailable(): string | undefined {
    if (!this.#path) return "the call journal is off (journalDays = 0)";
    if (!this.#reader) return this.#problem ?? "the call journal is not open";
    return undefined;
  }

  query(query: CallQuery): CallPage {
    if (!this.#reader) throw new Error(this.unavailable());
    return this.#reader.query(query);
  }

  countByDevice(outcome: CallOutcome, since: number): { device: string; count: number }[] {
    return this.#reader?.countByDevice(outcome, since) ?? [];
  }

  /** Resolves once every call recorded so far is committed (or failed) and pruning done. */
  async flushed(): Promise<void> {
    this.#flush();
    const worker = this.#worker;
    if (!worker) return;
    const seq = this.#nextSeq++;
    await new Promise<void>((resolve) => {
      this.#syncs.set(seq, resolve);
      this.#post({ type: "sync", seq });
    });
  }

  status(): JournalStatus {
    return {
      enabled: this.#path !== undefined,
      path: this.#path,
      days: this.#days,
      written: this.#written,
      pending: this.#pending.length +
        [...this.#inFlight.values()].reduce((n, b) => n + b.length, 0),
      problem: this.#problem,
      movedAside: this.#movedAside,
      writerRestarts: this.#restarts,
    };
  }

  /** Writes what is waiting, closes the writer and the file. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#shut();
  }

  #open(path: string): void {
    try {
      const opened = openJournal(path, this.#clock.now());
      this.#db = opened.db;
      this.#reader = new JournalReader(opened.db);
      if (opened.movedTo) {
        this.#movedAside = opened.movedTo;
        logger().error(
          "the call journal {path} could not be read ({reason}); it was moved to {movedTo} " +
            "and a new one started",
          { path, reason: opened.reason, movedTo: opened.movedTo },
        );
      }
    } catch (e) {
      this.#problem = `cannot open ${path}: ${errorText(e)}`;
      logger().error("the call journal cannot be used: {problem}", { problem: this.#problem });
      return;
    }
    this.#startWorker(path);
    this.#prune();
    logger().info("call journal {path}, calls kept {days} days", { path, days: this.#days });
  }

  #startWorker(path: string): void {
    const worker = new Worker(this.#workerUrl, { type: "module" });
    this.#worker = worker;
    worker.onmessage = (e: MessageEvent<FromWorker>) => this.#answer(e.data);
    worker.onerror = (e) => {
      // A crashed writer is logged and replaced, never fatal (docs/call-journal.md §3).
      e.preventDefault();
      logger().error("the call journal's writer stopped: {error}", { error: e.message });
      this.#restarts++;
      this.#replaceWorker(worker);
    };
    this.#post({ type: "open", path });
    // Batches a previous writer never confirmed are written again.
    for (const [batch, calls] of this.#inFlight) this.#post({ type: "write", batch, calls });
    this.#flush();
    // Whoever waits for everything to be written waits for the new writer too.
    for (const seq of this.#syncs.keys()) this.#post({ type: "sync", seq });
  }

  #replaceWorker(old: Worker): void {
    if (this.#worker !== old) return;
    old.terminate();
    this.#worker = undefined;
    if (this.#closed || !this.#path || this.#retryTimer !== undefined) return;
    const path = this.#path;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#path === path && !this.#closed && !this.#worker) this.#startWorker(path);
    }, RETRY_MS);
  }

  #answer(m: FromWorker): void {
    switch (m.type) {
      case "written": {
        this.#inFlight.delete(m.batch);
        this.#written += m.count;
        if (this.#writeFailing) {
          this.#writeFailing = false;
          logger().info("the call journal is written again");
        }
        this.#onCommitted?.(m.count);
        break;
      }
      case "pruned":
        if (m.count > 0) logger().info("{count} old calls deleted from the journal", m);
        break;
      case "synced":
        this.#syncs.get(m.seq)?.();
        this.#syncs.delete(m.seq);
        break;
      case "closed":
        this.#closing?.();
        break;
      case "failed":
        this.#failed(m);
        break;
      case "opened":
        break;
    }
  }

  #failed(m: FromWorker & { type: "failed" }): void {
    if (!this.#writeFailing) {
      logger().error("the call journal could not {what}: {error}; trying again", {
        what: m.of === "write" ? "be written" : m.of,
        error: m.message,
      });
    }
    this.#writeFailing = true;
    if (m.of === "write" && m.batch !== undefined) {
      const calls = this.#inFlight.get(m.batch);
      this.#inFlight.delete(m.batch);
      if (calls) this.#pending.unshift(...calls);
      this.#retryTimer ??= setTimeout(() => {
        this.#retryTimer = undefined;
        this.#flush();
      }, RETRY_MS);
    }
  }

  #post(message: ToWorker): void {
    this.#worker?.postMessage(message);
  }

  #flush(): void {
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    this.#flushTimer = undefined;
    if (!this.#worker) return;
    while (this.#pending.length > 0) {
      const calls = this.#pending.splice(0, this.#batchRows);
      const batch = this.#nextBatch++;
      this.#inFlight.set(batch, calls);
      this.#post({ type: "write", batch, calls });
    }
  }

  /** Deletes calls older than `journalDays` now, and again in an hour. */
  #prune(): void {
    if (this.#pruneTimer !== undefined) this.#clock.clearTimeout(this.#pruneTimer);
    this.#pruneTimer = undefined;
    if (!this.#worker || this.#days <= 0) return;
    this.#post({ type: "prune", before: this.#clock.now() - this.#days * DAY_MS });
    this.#pruneTimer = this.#clock.setTimeout(() => this.#prune(), PRUNE_EVERY_MS);
  }

  /** Writes what waits, then closes the writer and the reading connection. */
  async #shut(): Promise<void> {
    if (this.#pruneTimer !== undefined) this.#clock.clearTimeout(this.#pruneTimer);
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#pruneTimer = undefined;
    this.#retryTimer = undefined;
    const worker = this.#worker;
    if (worker) {
      this.#flush();
      const closed = new Promise<void>((resolve) => this.#closing = resolve);
      this.#post({ type: "close" });
      if (!await within(closed, 1500)) {
        logger().warning("the call journal's writer did not close in time");
      }
      worker.terminate();
      this.#worker = undefined;
    }
    for (const resolve of this.#syncs.values()) resolve();
    this.#syncs.clear();
    this.#inFlight.clear();
    this.#pending = [];
    try {
      this.#reader?.close();
    } catch {
      // Already closed.
    }
    this.#reader = undefined;
    this.#db = undefined;
  }
}
