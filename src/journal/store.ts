/**
 * The journal's SQLite file through Deno's built-in `node:sqlite` (docs/call-journal.md §3):
 * opening it (a file that cannot be opened or fails its check is moved aside and replaced),
 * the schema and its migrations, writing a batch of calls in one transaction, deleting old
 * calls, and the queries of the API (docs/call-journal.md §4).
 *
 * Every statement is fixed text with bound parameters; a query's WHERE clause is put together
 * from fixed fragments only, chosen by which filters are set, never from a value.
 */

import { DatabaseSync, type StatementSync } from "node:sqlite";
import type { CallOutcome, CallPage, CallQuery, CallRecord, CallRow } from "../contract.ts";

/** How long a statement waits for a lock held by the other connection. */
const BUSY_TIMEOUT_MS = 5000;

/**
 * The migrations, in order; `PRAGMA user_version` counts those applied. A new schema version
 * is a new entry at the end, never a change to an old one.
 */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE calls (
     id INTEGER PRIMARY KEY,
     device TEXT NOT NULL,
     direction TEXT NOT NULL,
     number TEXT NOT NULL,
     number_key TEXT NOT NULL,
     name TEXT NOT NULL,
     started_at INTEGER NOT NULL,
     answered_at INTEGER,
     ended_at INTEGER NOT NULL,
     outcome TEXT NOT NULL,
     transferred_to TEXT,
     call_ref INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX calls_by_start ON calls (started_at, id);
   CREATE INDEX calls_by_device ON calls (device, started_at, id);
   CREATE INDEX calls_by_outcome ON calls (outcome, started_at, id);
   CREATE INDEX calls_by_number ON calls (number_key, started_at, id);`,
];

/** The schema version this code writes. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * The digits of a number, reversed: the column a number search runs on, so a search for the
 * end of a number is a prefix range on an index (docs/call-journal.md §4).
 */
export function numberKey(number: string): string {
  return [...number.replace(/\D/g, "")].reverse().join("");
}

/**
 * What a number search looks for: its digits without leading zeros (a trunk or international
 * prefix), reversed; "" when it has no digit but zeros.
 */
export function searchKey(number: string): string {
  return numberKey(number.replace(/\D/g, "").replace(/^0+/, ""));
}

/** How opening went: the database, and the name the old file was moved to, if it was. */
export interface Opened {
  readonly db: DatabaseSync;
  readonly movedTo?: string;
  /** Why the old file was moved aside. */
  readonly reason?: string;
}

/** Opens the file with the settings every connection needs. Throws when it cannot. */
function connect(path: string): DatabaseSync {
  const db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
  try {
    // WAL: readers never block the writer; FULL: a committed batch survives a power loss
    // (docs/call-journal.md §3).
    db.exec("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/** Brings the schema up to {@link SCHEMA_VERSION}; refuses a file of a newer version. */
function migrate(db: DatabaseSync): void {
  const row = db.prepare("PRAGMA user_version").get() as { user_version: number };
  const version = row.user_version;
  if (version > SCHEMA_VERSION) {
    throw new Error(`schema version ${version} is newer than this server's ${SCHEMA_VERSION}`);
  }
  for (let v = version; v < SCHEMA_VERSION; v++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(MIGRATIONS[v]);
      // A pragma takes no bound parameter; the value is this code's own integer.
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec("COMMIT");
    } catch (e) {
      db.exec("ROLLBACK");
      throw e;
    }
  }
}

/** Opens, checks and migrates; throws on any failure, leaving nothing open. */
function openOnce(path: string): DatabaseSync {
  const db = connect(path);
  try {
    const check = db.prepare("PRAGMA quick_check").all() as { quick_check: string }[];
    const verdict = check.map((r) => r.quick_check).join("; ");
    if (verdict !== "ok") throw new Error(`quick_check: ${verdict.slice(0, 200)}`);
    migrate(db);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/**
 * Opens the journal for the server: checked and migrated. A file that cannot be opened, fails
 * `PRAGMA quick_check` or has a newer schema is renamed `<name>.corrupt-<time>` (with its WAL
 * files) and a fresh one made (docs/call-journal.md §3). Throws only when a fresh file cannot
 * be made either (the folder is not writable).
 */
export function openJournal(path: string, now: number): Opened {
  try {
    return { db: openOnce(path) };
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    const stamp = new Date(now).toISOString().replace(/[:.]/g, "-");
    const movedTo = `${path}.corrupt-${stamp}`;
    let moved = false;
    for (const suffix of ["", "-wal", "-shm"]) {
      try {
        Deno.renameSync(path + suffix, movedTo + suffix);
        if (suffix === "") moved = true;
      } catch {
        // Not there (a WAL file is optional): nothing to move.
      }
    }
    const db = openOnce(path);
    return moved ? { db, movedTo, reason } : { db };
  }
}

/** Opens a further connection to a journal the server already opened (the writer's). */
export function connectJournal(path: string): DatabaseSync {
  return connect(path);
}

/** A call as the writer sends it: the record and its time-independent search key. */
export type CallInsert = CallRecord;

/** Writes calls in one transaction per batch (group commit, docs/call-journal.md §3). */
export class JournalWriter {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #prune: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#insert = db.prepare(
      `INSERT INTO calls (device, direction, number, number_key, name, started_at, answered_at,
         ended_at, outcome, transferred_to, call_ref)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.#prune = db.prepare("DELETE FROM calls WHERE started_at < ?");
  }

  /** Writes every call of the batch, or none of them. */
  write(calls: readonly CallInsert[]): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      for (const c of calls) {
        this.#insert.run(
          c.device,
          c.direction,
          c.number,
          numberKey(c.number),
          c.name,
          c.startedAt,
          c.answeredAt ?? null,
          c.endedAt,
          c.outcome,
          c.transferredTo ?? null,
          c.callRef,
        );
      }
      this.#db.exec("COMMIT");
    } catch (e) {
      this.#db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Deletes the calls that began before `before`; how many. */
  prune(before: number): number {
    return Number(this.#prune.run(before).changes);
  }

  close(): void {
    this.#db.close();
  }
}

/** A row as SQLite gives it. */
interface DbRow {
  id: number;
  device: string;
  direction: string;
  number: string;
  name: string;
  started_at: number;
  answered_at: number | null;
  ended_at: number;
  outcome: string;
  transferred_to: string | null;
  call_ref: number;
}

const COLUMNS = "id, device, direction, number, name, started_at, answered_at, ended_at, " +
  "outcome, transferred_to, call_ref";

/** The filters of a query, each with its fixed fragment; a set filter adds its fragment. */
const FILTERS = [
  { set: (q: CallQuery) => q.device !== undefined, sql: "device = ?" },
  { set: (q: CallQuery) => q.outcome !== undefined, sql: "outcome = ?" },
  { set: (q: CallQuery) => q.since !== undefined, sql: "started_at >= ?" },
  { set: (q: CallQuery) => q.until !== undefined, sql: "started_at < ?" },
  // Digits only, so ':' (after '9') closes the prefix range.
  { set: (q: CallQuery) => q.number !== undefined, sql: "number_key >= ? AND number_key < ?" },
  {
    set: (q: CallQuery) => q.after !== undefined,
    sql: "(started_at < ? OR (started_at = ? AND id < ?))",
  },
] as const;

/** The values a query binds, in the order of {@link FILTERS}. */
function bound(q: CallQuery): (string | number)[] {
  const out: (string | number)[] = [];
  if (q.device !== undefined) out.push(q.device);
  if (q.outcome !== undefined) out.push(q.outcome);
  if (q.since !== undefined) out.push(q.since);
  if (q.until !== undefined) out.push(q.until);
  if (q.number !== undefined) {
    const key = searchKey(q.number);
    out.push(key, key + ":");
  }
  if (q.after !== undefined) out.push(q.after.startedAt, q.after.startedAt, q.after.id);
  return out;
}

/** Reads the journal: the API's queries and the status page's counts. */
export class JournalReader {
  readonly #db: DatabaseSync;
  /** Prepared statements by the set of filters they have. */
  readonly #queries = new Map<number, StatementSync>();
  readonly #counts: StatementSync;
  readonly #total: StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#counts = db.prepare(
      `SELECT device, COUNT(*) AS n FROM calls
       WHERE outcome = ? AND started_at >= ? GROUP BY device ORDER BY device`,
    );
    this.#total = db.prepare("SELECT COUNT(*) AS n FROM calls");
  }

  /** One page of calls, newest first (docs/call-journal.md §4). */
  query(q: CallQuery): CallPage {
    let mask = 0;
    FILTERS.forEach((f, i) => {
      if (f.set(q)) mask |= 1 << i;
    });
    let statement = this.#queries.get(mask);
    if (!statement) {
      const where = FILTERS.filter((_, i) => mask & (1 << i)).map((f) => f.sql);
      statement = this.#db.prepare(
        `SELECT ${COLUMNS} FROM calls` +
          (where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "") +
          " ORDER BY started_at DESC, id DESC LIMIT ?",
      );
      this.#queries.set(mask, statement);
    }
    // One row more than asked tells whether there is a next page.
    const rows = statement.all(...bound(q), q.limit + 1) as unknown as DbRow[];
    const calls = rows.slice(0, q.limit).map(toRow);
    const last = calls.at(-1);
    return rows.length > q.limit && last
      ? { calls, next: { startedAt: last.startedAt, id: last.id } }
      : { calls };
  }

  /** Calls of one outcome that began at `since` or later, per device. */
  countByDevice(outcome: CallOutcome, since: number): { device: string; count: number }[] {
    const rows = this.#counts.all(outcome, since) as { device: string; n: number }[];
    return rows.map((r) => ({ device: r.device, count: r.n }));
  }

  /** How many calls the journal holds. */
  total(): number {
    return (this.#total.get() as { n: number }).n;
  }

  close(): void {
    this.#db.close();
  }
}

function toRow(r: DbRow): CallRow {
  return {
    id: r.id,
    device: r.device,
    direction: r.direction === "outgoing" ? "outgoing" : "incoming",
    number: r.number,
    name: r.name,
    startedAt: r.started_at,
    ...(r.answered_at !== null ? { answeredAt: r.answered_at } : {}),
    endedAt: r.ended_at,
    outcome: r.outcome as CallOutcome,
    ...(r.transferred_to !== null ? { transferredTo: r.transferred_to } : {}),
    callRef: r.call_ref,
  };
}
