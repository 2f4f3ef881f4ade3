/**
 * The call journal: every call that ended, kept in an SQLite file and read by the JSON API
 * and the status page (docs/call-journal.md).
 */

export { Journal, type JournalOptions, type JournalStatus } from "./journal.ts";
export {
  connectJournal,
  JournalReader,
  JournalWriter,
  numberKey,
  openJournal,
  SCHEMA_VERSION,
  searchKey,
} from "./store.ts";
