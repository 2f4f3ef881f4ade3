/**
 * A process that records calls into a journal without pause, for the kill -9 test: it prints
 * the number of calls committed so far after every batch, until it is killed.
 *
 * deno run --allow-read --allow-write --allow-env tests/journal/_writer.ts <folder>
 */

import { join } from "node:path";
import { Journal } from "../../src/journal/mod.ts";
import { loadSettings } from "../../src/server/mod.ts";

const dir = Deno.args[0];
const loaded = await loadSettings("journalDays = 90\n", join(dir, "phone-companion.cfg"));
let committed = 0;
const encoder = new TextEncoder();
const journal = new Journal({
  batchRows: 100,
  onCommitted: (count) => {
    committed += count;
    Deno.stdout.writeSync(encoder.encode(`${committed}\n`));
  },
});
await journal.apply(loaded.settings!);
let callRef = 0;
for (;;) {
  for (let i = 0; i < 100; i++) {
    callRef++;
    const now = Date.now();
    journal.record({
      device: "101",
      direction: "incoming",
      number: `030${callRef}`,
      name: "Kill Test",
      startedAt: now - 1000,
      endedAt: now,
      outcome: "missed",
      callRef,
    });
  }
  await new Promise((r) => setTimeout(r, 1));
}
