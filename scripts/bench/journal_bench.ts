/**
 * The call journal (docs/call-journal.md, docs/performance.md §6).
 *
 * (a) Recording: the real server, in-process, with a simulated phone; a channel sends
 *     AnswerCall commands one after another (each an HTTP request to the phone) while 1,000
 *     calls a second are handed to the server's journal, as the monitor hands it every call
 *     that ends. Baseline, in the same run: the same with `journalDays = 0`. Target: command
 *     p99 at most 10 % above the baseline.
 * (b) Queries: a journal file of 1,000,000 calls (20 phones, 90 days, 20,000 numbers), the
 *     API's typical queries each run 200 times. Baseline: the newest page without a filter.
 *     Target: every p99 under 50 ms.
 *
 *   deno task bench journal                 60 s per recording run
 *   deno task bench journal --seconds 10    shorter runs
 *   deno task bench journal --rows 200000   a smaller file
 */

import { parseArgs } from "node:util";
import { join } from "node:path";
import type { CallOutcome, CallQuery, CallRecord } from "../../src/contract.ts";
import {
  connectJournal,
  JournalReader,
  JournalWriter,
  openJournal,
} from "../../src/journal/mod.ts";
import { SimNetwork } from "../../src/simulator/mod.ts";
import { LineCounter } from "./_lines.ts";
import { startBenchServer } from "./_server.ts";
import { percentile, printTable, type Row } from "./_table.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string" },
    rows: { type: "string" },
    "skip-queries": { type: "boolean" },
  },
});
const SECONDS = Number(values.seconds ?? 60);
const ROWS = Number(values.rows ?? 1_000_000);
const CALLS_PER_SECOND = 1000;
const DAY = 86_400_000;

const dir = await Deno.makeTempDir({ prefix: "pcs-bench-" });

/**
 * Blocks per setting; off and on alternate, so a change in the machine's load hits both, and
 * each pair of neighbouring blocks gives one ratio of their p99s.
 */
const ROUNDS = 10;

/** One block: command latencies for `seconds` while 1,000 calls/s are recorded (or not). */
async function recording(
  journalDays: number,
  seconds: number,
): Promise<{ times: number[]; recorded: number; written: number }> {
  const net = new SimNetwork();
  const phone = await net.addPhone({ extension: "201" });
  const { server, logService, channelPort } = await startBenchServer(dir, [
    "phoneCheckSeconds = 0",
    `journalDays = ${journalDays}`,
    `journalPath = calls-${journalDays}.sqlite`,
    `phone=201@127.0.0.1:${phone.port} snom.cfg`,
  ]);

  const c = await LineCounter.connect(channelPort);
  let lines = 0;
  const command = async () => {
    await c.send("AnswerCall 201\r\n");
    await c.until(++lines);
  };
  for (let i = 0; i < 200; i++) await command(); // warm-up

  // 1,000 calls a second, ten every 10 ms, as long as the commands run.
  let callRef = 0;
  let recording = true;
  const started = performance.now();
  const feed = (async () => {
    while (recording) {
      const due = Math.floor(((performance.now() - started) / 1000) * CALLS_PER_SECOND);
      const now = Date.now();
      while (callRef < due) {
        callRef++;
        server.journal.record({
          device: String(100 + (callRef % 20)),
          direction: callRef % 3 === 0 ? "outgoing" : "incoming",
          number: `+4930${1_000_000 + (callRef % 20_000)}`,
          name: "Bench Caller",
          startedAt: now - 30_000,
          answeredAt: callRef % 4 === 0 ? undefined : now - 25_000,
          endedAt: now,
          outcome: callRef % 4 === 0 ? "missed" : "answered",
          callRef,
        });
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  })();
  const times: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    await command();
    times.push(performance.now() - t);
  }
  recording = false;
  await feed;
  await server.journal.flushed();
  const written = server.journal.status().written;
  await c.close();
  await server.close();
  await net.close();
  await logService.close();
  return { times, recorded: callRef, written };
}

/** Both settings in alternating blocks, SECONDS in all for each. */
async function recordingRows(): Promise<
  { rows: Row[]; written: number; recorded: number; ratios: number[] }
> {
  const all = { 0: [] as number[], 90: [] as number[] };
  let written = 0;
  let recorded = 0;
  const ratios: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const p99 = { 0: 0, 90: 0 };
    for (const days of r % 2 === 0 ? [0, 90] as const : [90, 0] as const) {
      const block = await recording(days, SECONDS / ROUNDS);
      all[days].push(...block.times);
      p99[days] = percentile(block.times, 99);
      if (days > 0) {
        written += block.written;
        recorded += block.recorded;
      }
    }
    ratios.push(p99[90] / p99[0]);
  }
  const row = (name: string, times: number[], calls: number): Row => ({
    name,
    values: {
      p99: percentile(times, 99),
      p50: percentile(times, 50),
      commands: times.length,
      recorded: calls,
    },
  });
  return {
    rows: [
      row("journal off (baseline)", all[0], 0),
      row(`journal on, ${CALLS_PER_SECOND} calls/s`, all[90], recorded),
    ],
    written,
    recorded,
    ratios,
  };
}

/** A file of `rows` calls over 90 days, written in batches of 10,000. */
function buildFile(path: string, rows: number, now: number): void {
  const opened = openJournal(path, now);
  opened.db.close();
  const writer = new JournalWriter(connectJournal(path));
  const outcomes: CallOutcome[] = ["answered", "answered", "answered", "missed", "failed", "busy"];
  // Park-Miller: the same file every run, exact in doubles.
  let seed = 7;
  const random = () => (seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647;
  const batch: CallRecord[] = [];
  for (let i = 0; i < rows; i++) {
    // In time order, as the server writes them.
    const startedAt = now - 90 * DAY + Math.floor((i / rows) * 90 * DAY);
    const outcome = outcomes[Math.floor(random() * outcomes.length)];
    batch.push({
      device: String(100 + Math.floor(random() * 20)),
      direction: random() < 0.6 ? "incoming" : "outgoing",
      number: `+4930${1_000_000 + Math.floor(random() * 20_000)}`,
      name: "Caller " + (i % 997),
      startedAt,
      answeredAt: outcome === "answered" ? startedAt + 8000 : undefined,
      endedAt: startedAt + 90_000,
      outcome,
      callRef: i + 1,
    });
    if (batch.length === 10_000) {
      writer.write(batch);
      batch.length = 0;
    }
  }
  if (batch.length > 0) writer.write(batch);
  writer.close();
}

function queries(now: number): [string, CallQuery][] {
  const today = now - (now % DAY);
  return [
    ["newest 100 (baseline)", { limit: 100 }],
    ["one phone", { device: "107", limit: 100 }],
    ["missed", { outcome: "missed", limit: 100 }],
    ["today", { since: today, limit: 100 }],
    ["a week of one phone", { device: "111", since: now - 7 * DAY, until: now, limit: 100 }],
    ["missed of one phone", { device: "103", outcome: "missed", limit: 100 }],
    ["number 0301012345", { number: "0301012345", limit: 100 }],
    ["number end 2345", { number: "2345", limit: 100 }],
    ["last 30 days, 1000", { since: now - 30 * DAY, limit: 1000 }],
  ];
}

function measureQueries(path: string, now: number): Row[] {
  const reader = new JournalReader(connectJournal(path));
  const rows: Row[] = [];
  try {
    for (const [name, query] of queries(now)) {
      for (let i = 0; i < 20; i++) reader.query(query); // warm-up
      const times: number[] = [];
      let found = 0;
      for (let i = 0; i < 200; i++) {
        const t = performance.now();
        found = reader.query(query).calls.length;
        times.push(performance.now() - t);
      }
      rows.push({
        name,
        values: { p99: percentile(times, 99), p50: percentile(times, 50), rows: found },
      });
    }
    // A page deep in the results, reached by its cursor, and the status page's counts.
    let page = reader.query({ limit: 100 });
    for (let i = 0; i < 100 && page.next; i++) {
      page = reader.query({ limit: 100, after: page.next });
    }
    const deep = page.next!;
    const times: number[] = [];
    const countTimes: number[] = [];
    for (let i = 0; i < 200; i++) {
      let t = performance.now();
      reader.query({ limit: 100, after: deep });
      times.push(performance.now() - t);
      t = performance.now();
      reader.countByDevice("missed", now - (now % DAY));
      countTimes.push(performance.now() - t);
    }
    rows.push({
      name: "page 101 by cursor",
      values: { p99: percentile(times, 99), p50: percentile(times, 50), rows: 100 },
    });
    rows.push({
      name: "missed today per phone",
      values: { p99: percentile(countTimes, 99), p50: percentile(countTimes, 50), rows: 20 },
    });
  } finally {
    reader.close();
  }
  return rows;
}

try {
  console.log(
    `### recording: ${SECONDS} s per setting in ${ROUNDS} alternating blocks, command round ` +
      "trips to a simulated phone",
  );
  const { rows: recorded, written, recorded: sent, ratios } = await recordingRows();
  const [off, on] = recorded;
  printTable(recorded, { p99: "ms", p50: "ms", commands: "", recorded: "calls" });
  const pooled = on.values.p99 / off.values.p99;
  const median = [...ratios].sort((a, b) => a - b)[Math.floor(ratios.length / 2)];
  const words = (r: number) => `${((r - 1) * 100).toFixed(1)} % ${r >= 1 ? "above" : "below"}`;
  console.log(
    `\ncalls written: ${written} of ${sent}; p99 with the journal: ${words(pooled)} the ` +
      `baseline over all blocks, ${words(median)} in the median pair of blocks ` +
      `(pairs: ${ratios.map((r) => r.toFixed(2)).join(", ")}; target: at most 10 % above)`,
  );

  if (!values["skip-queries"]) {
    console.log(`\n### queries over ${ROWS.toLocaleString("en")} calls`);
    const now = Date.now();
    const path = join(dir, "million.sqlite");
    const t = performance.now();
    buildFile(path, ROWS, now);
    const size = Deno.statSync(path).size;
    console.log(
      `built in ${((performance.now() - t) / 1000).toFixed(1)} s, ` +
        `${(size / 1024 / 1024).toFixed(0)} MB`,
    );
    const rows = measureQueries(path, now);
    printTable(rows, { p99: "ms", p50: "ms", rows: "" });
    const worst = Math.max(...rows.map((r) => r.values.p99));
    console.log(`\nslowest p99: ${worst.toFixed(2)} ms (target: under 50 ms)`);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
