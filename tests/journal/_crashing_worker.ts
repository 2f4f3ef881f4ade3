/**
 * A journal writer that dies at its first batch when `crash` names a file that does not exist
 * yet (it makes the file first, so the writer that replaces it works): the test of a crashed
 * writer. It speaks the messages of the real writer, on the journal's public API.
 */

import { connectJournal, JournalWriter } from "../../src/journal/mod.ts";

interface Scope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
}

const scope = self as unknown as Scope;
const marker = new URL(import.meta.url).searchParams.get("crash") ?? "";
let writer: JournalWriter | undefined;

scope.onmessage = (e) => {
  const m = e.data;
  if (m.type === "open") {
    writer = new JournalWriter(connectJournal(m.path));
    scope.postMessage({ type: "opened" });
  } else if (m.type === "write") {
    let first = true;
    try {
      Deno.writeTextFileSync(marker, "crashed", { createNew: true });
    } catch {
      first = false; // the marker is there: this writer works
    }
    // The first writer dies here, uncaught, with the batch unwritten.
    if (first) throw new Error("the writer crashed on purpose");
    writer!.write(m.calls);
    scope.postMessage({ type: "written", batch: m.batch, count: m.calls.length });
  } else if (m.type === "prune") {
    scope.postMessage({ type: "pruned", count: writer!.prune(m.before) });
  } else if (m.type === "sync") {
    scope.postMessage({ type: "synced", seq: m.seq });
  } else if (m.type === "close") {
    writer?.close();
    scope.postMessage({ type: "closed" });
  }
};
