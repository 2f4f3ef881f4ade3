import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { CallRecord, Settings } from "../../src/contract.ts";
import { Journal, openJournal, SCHEMA_VERSION } from "../../src/journal/mod.ts";
import { loadSettings } from "../../src/server/mod.ts";
import { ManualClock, tempDir } from "../helpers.ts";

const DAY = 86_400_000;

async function settingsIn(dir: string, lines: string[]): Promise<Settings> {
  const file = join(dir, "phone-companion.cfg");
  const loaded = await loadSettings(lines.join("\n") + "\n", file);
  assert.ok(loaded.settings, JSON.stringify(loaded.findings));
  return loaded.settings;
}

function call(fields: Partial<CallRecord> & { startedAt: number }): CallRecord {
  return {
    device: "101",
    direction: "incoming",
    number: "+49301234",
    name: "",
    endedAt: fields.startedAt + 1000,
    outcome: "answered",
    callRef: 1,
    ...fields,
  };
}

Deno.test("the journal keeps calls beside the config file and finds them by filter and number end", async () => {
  await using dir = await tempDirDisposable();
  const clock = new ManualClock(Date.UTC(2026, 0, 10));
  const journal = new Journal({ clock });
  try {
    await journal.apply(await settingsIn(dir.path, []));
    const t = clock.now();
    journal.record(call({ startedAt: t - 3000, number: "+49 30 1234", outcome: "missed" }));
    journal.record(call({ startedAt: t - 2000, device: "102", number: "0301234" }));
    journal.record(call({ startedAt: t - 1000, number: "555", direction: "outgoing" }));
    await journal.flushed();
    assert.equal(journal.query({ limit: 10 }).calls.length, 3);
    assert.deepEqual(
      journal.query({ limit: 10, number: "030 1234" }).calls.map((c) => c.number),
      ["0301234", "+49 30 1234"],
      "a national number finds the international one by its end",
    );
    assert.deepEqual(journal.query({ limit: 10, outcome: "missed" }).calls.length, 1);
    assert.deepEqual(journal.query({ limit: 10, device: "102" }).calls.map((c) => c.device), [
      "102",
    ]);
    assert.deepEqual(journal.countByDevice("missed", t - DAY), [{ device: "101", count: 1 }]);
    // Paging: two pages of two and one, newest first, nothing twice.
    const first = journal.query({ limit: 2 });
    assert.ok(first.next);
    const second = journal.query({ limit: 2, after: first.next });
    assert.equal(second.next, undefined);
    assert.deepEqual(
      [...first.calls, ...second.calls].map((c) => c.number),
      ["555", "0301234", "+49 30 1234"],
    );
    await Deno.stat(join(dir.path, "phone-companion-calls.sqlite"));
  } finally {
    await journal.close();
  }
});

Deno.test("retention: calls older than journalDays go at start and at the next hourly round", async () => {
  await using dir = await tempDirDisposable();
  const clock = new ManualClock(Date.UTC(2026, 0, 10));
  const path = join(dir.path, "phone-companion-calls.sqlite");
  const journal = new Journal({ clock });
  try {
    await journal.apply(await settingsIn(dir.path, ["journalDays = 3"]));
    journal.record(call({ startedAt: clock.now() - 5 * DAY, number: "111" }));
    journal.record(call({ startedAt: clock.now() - 2 * DAY, number: "222" }));
    journal.record(call({ startedAt: clock.now(), number: "333" }));
    await journal.flushed();
    await journal.close();
    // A new start deletes the five-day-old call.
    const again = new Journal({ clock });
    await again.apply(await settingsIn(dir.path, ["journalDays = 3"]));
    await again.flushed();
    assert.deepEqual(again.query({ limit: 10 }).calls.map((c) => c.number), ["333", "222"]);
    // A day and a bit later the hourly round deletes the two-day-old one.
    clock.advance(DAY + 3_600_000);
    await again.flushed();
    assert.deepEqual(again.query({ limit: 10 }).calls.map((c) => c.number), ["333"]);
    await again.close();
    await Deno.stat(path);
  } finally {
    await journal.close();
  }
});

Deno.test("an unreadable journal file is moved aside, reported, and a fresh one used", async () => {
  await using dir = await tempDirDisposable();
  const path = join(dir.path, "phone-companion-calls.sqlite");
  await Deno.writeTextFile(path, "this is not an SQLite database, just some text ".repeat(200));
  const clock = new ManualClock(Date.UTC(2026, 0, 10));
  const journal = new Journal({ clock });
  try {
    await journal.apply(await settingsIn(dir.path, []));
    const status = journal.status();
    assert.ok(status.movedAside?.startsWith(path + ".corrupt-"), status.movedAside);
    assert.match(await Deno.readTextFile(status.movedAside!), /not an SQLite database/);
    journal.record(call({ startedAt: clock.now() }));
    await journal.flushed();
    assert.equal(journal.query({ limit: 10 }).calls.length, 1);
    assert.equal(journal.unavailable(), undefined);
  } finally {
    await journal.close();
  }
});

Deno.test("the schema is versioned: a new file is at the current version", async () => {
  await using dir = await tempDirDisposable();
  const path = join(dir.path, "calls.sqlite");
  openJournal(path, 0).db.close();
  const db = new DatabaseSync(path);
  const row = db.prepare("PRAGMA user_version").get() as { user_version: number };
  db.close();
  assert.equal(row.user_version, SCHEMA_VERSION);
});

Deno.test("journalDays = 0: no file, and queries say the journal is off", async () => {
  await using dir = await tempDirDisposable();
  const journal = new Journal();
  try {
    await journal.apply(await settingsIn(dir.path, ["journalDays = 0"]));
    journal.record(call({ startedAt: 1 }));
    await journal.flushed();
    assert.match(journal.unavailable() ?? "", /off/);
    await assert.rejects(Deno.stat(join(dir.path, "phone-companion-calls.sqlite")));
  } finally {
    await journal.close();
  }
});

async function tempDirDisposable() {
  const dir = await tempDir();
  return { path: dir.path, [Symbol.asyncDispose]: () => dir.remove() };
}

Deno.test("kill -9 while calls are written: every committed call is there, the file is sound", async () => {
  await using dir = await tempDirDisposable();
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      join(import.meta.dirname!, "_writer.ts"),
      dir.path,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  // Read the committed counts until well into the writing, then kill it mid-stream.
  let committed = 0;
  let text = "";
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  while (committed < 3000) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    const lines = text.split("\n");
    text = lines.pop()!;
    if (lines.length > 0) committed = Number(lines.at(-1));
  }
  child.kill("SIGKILL");
  await child.status;
  await reader.cancel().catch(() => {});
  assert.ok(committed >= 3000, `the writer committed ${committed} calls`);

  const path = join(dir.path, "phone-companion-calls.sqlite");
  const opened = openJournal(path, Date.now());
  try {
    assert.equal(opened.movedTo, undefined, `the file was found unsound: ${opened.reason}`);
    const row = opened.db.prepare("SELECT COUNT(*) AS n, MAX(call_ref) AS top FROM calls")
      .get() as { n: number; top: number };
    assert.ok(row.n >= committed, `${row.n} calls in the file, ${committed} were committed`);
    // Batches commit in order: the calls in the file are the first ones, none missing.
    assert.equal(row.top, row.n);
  } finally {
    opened.db.close();
  }
});

Deno.test("no SQL is built from values: quotes and SQL in filters and fields are only data", async () => {
  await using dir = await tempDirDisposable();
  const clock = new ManualClock(Date.UTC(2026, 0, 10));
  const journal = new Journal({ clock });
  try {
    await journal.apply(await settingsIn(dir.path, []));
    const hostile = "1' OR '1'='1\"; DROP TABLE calls; --";
    journal.record(call({ startedAt: clock.now(), device: hostile, name: hostile, number: "7" }));
    journal.record(call({ startedAt: clock.now() + 1, device: "101", number: "8" }));
    await journal.flushed();
    assert.deepEqual(journal.query({ limit: 10, device: hostile }).calls.map((c) => c.name), [
      hostile,
    ]);
    assert.deepEqual(journal.query({ limit: 10, device: "1' OR '1'='1" }).calls, []);
    assert.equal(journal.query({ limit: 10 }).calls.length, 2, "the table is still there");
  } finally {
    await journal.close();
  }
  // The source: every SQL text in src/ is fixed; the only interpolations are the fixed
  // column list, the WHERE made of fixed fragments, and the schema version (an integer).
  const allowed = new Set(["${COLUMNS}", '${where.join(" AND ")}', "${v + 1}"]);
  for (const entry of Deno.readDirSync(join(import.meta.dirname!, "../../src/journal"))) {
    const text = await Deno.readTextFile(
      join(import.meta.dirname!, "../../src/journal", entry.name),
    );
    for (const m of text.matchAll(/\.(?:prepare|exec)\(/g)) {
      // The call's argument, up to its closing parenthesis.
      let depth = 1;
      let end = m.index! + m[0].length;
      while (depth > 0 && end < text.length) {
        const ch = text[end++];
        if (ch === "(") depth++;
        else if (ch === ")") depth--;
      }
      const argument = text.slice(m.index! + m[0].length, end - 1);
      for (const hole of argument.matchAll(/\$\{[^}]*\}/g)) {
        assert.ok(allowed.has(hole[0]), `${entry.name}: SQL built with ${hole[0]}`);
      }
    }
  }
});

Deno.test("a writer that crashes is logged and replaced; the calls it had are written by the next", async () => {
  await using dir = await tempDirDisposable();
  const clock = new ManualClock(Date.UTC(2026, 0, 10));
  const marker = join(dir.path, "crashed");
  const url = new URL("./_crashing_worker.ts", import.meta.url);
  url.searchParams.set("crash", marker);
  const journal = new Journal({ clock, workerUrl: url.href });
  try {
    await journal.apply(await settingsIn(dir.path, []));
    for (let i = 0; i < 5; i++) journal.record(call({ startedAt: clock.now() + i, callRef: i }));
    await journal.flushed();
    assert.equal(await Deno.readTextFile(marker), "crashed", "the first writer did crash");
    assert.equal(journal.status().writerRestarts, 1);
    assert.deepEqual(journal.query({ limit: 10 }).calls.map((c) => c.callRef), [4, 3, 2, 1, 0]);
  } finally {
    await journal.close();
  }
});
