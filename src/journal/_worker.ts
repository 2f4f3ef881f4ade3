/**
 * The journal's writer, off the server's event loop (docs/call-journal.md §3): it owns the
 * writing connection and answers every message in the order it came, so an answer to `sync`
 * means everything sent before it is done.
 */

import { connectJournal, JournalWriter } from "./store.ts";
import type { ToWorker } from "./_messages.ts";

interface Scope {
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: unknown): void;
}

const scope = self as unknown as Scope;
let writer: JournalWriter | undefined;

scope.onmessage = (e) => {
  const m = e.data;
  try {
    switch (m.type) {
      case "open":
        writer?.close();
        writer = new JournalWriter(connectJournal(m.path));
        scope.postMessage({ type: "opened" });
        break;
      case "write":
        if (!writer) throw new Error("the journal is not open");
        writer.write(m.calls);
        scope.postMessage({ type: "written", batch: m.batch, count: m.calls.length });
        break;
      case "prune":
        if (!writer) throw new Error("the journal is not open");
        scope.postMessage({ type: "pruned", count: writer.prune(m.before) });
        break;
      case "sync":
        scope.postMessage({ type: "synced", seq: m.seq });
        break;
      case "close":
        writer?.close();
        writer = undefined;
        scope.postMessage({ type: "closed" });
        break;
    }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    scope.postMessage({
      type: "failed",
      of: m.type,
      batch: "batch" in m ? m.batch : undefined,
      message,
    });
  }
};
