/**
 * The plug-in channel over real TCP (docs/channel-protocol.md §3): MakeCall-style commands against
 * a handler that answers at once, so what is measured is the channel itself (codec, session,
 * ordering, writes). Baseline, in the same run: a raw TCP echo server sending each line back.
 *
 * - round trip: one command, wait for its reply, repeat (a plug-in user clicking);
 * - pipelined: commands sent in bursts of 500 without waiting (a busy client), replies
 *   counted until all arrived.
 *
 * The last row is a MakeCall on a monitored phone: the reply, Initiated and DeviceInformation
 * (docs/channel-protocol.md §4), three writes in quick succession, the case Nagle's algorithm hurt.
 */

import { ChannelServer, type CommandHandler, type EventSubscriber } from "../../src/channel/mod.ts";
import { loadSettings } from "../../src/server/mod.ts";
import { freePort, LineCounter } from "./_lines.ts";
import { percentile, printTable, type Row, timeEach } from "./_table.ts";

const ROUND_TRIPS = 3000;
const PIPELINED = 20_000;
const BURST = 500;

/**
 * Phones that answer at once. A MakeCall on a monitored device delivers its Initiated event
 * before it resolves, as the monitor does, so the channel writes three lines for it.
 */
function fastPhones(): CommandHandler {
  const subscribers = new Map<string, Set<EventSubscriber>>();
  let callRef = 0;
  return {
    knowsDevice: () => true,
    callControl: (command) => {
      const { device, number } = command;
      const watching = subscribers.get(device);
      if (command.name === "MakeCall" && watching) {
        const ref = ++callRef;
        const calls = [
          { callRef: ref, state: "dialing" as const, remote: number ?? "", displayName: "" },
        ];
        const event = { type: "Initiated", callRef: ref, device, calls, cause: command } as const;
        for (const s of watching) s.deliver(event);
      }
      return Promise.resolve({ ok: true });
    },
    monitorStart: (device, subscriber) => {
      subscribers.set(device, (subscribers.get(device) ?? new Set()).add(subscriber));
      return Promise.resolve({ ok: true });
    },
    monitorStop: (device, subscriber) => void subscribers.get(device)?.delete(subscriber),
    rawCommand: () => Promise.resolve({ ok: true, status: 200, body: {} }),
  };
}

/**
 * Runs both measurements against a listener on `port`; `line(i)` is the i-th command, each
 * answered with `lines` lines; `setup` is sent (and answered with one line) first.
 */
async function measure(
  name: string,
  port: number,
  line: (i: number) => string,
  { lines = 1, setup = "" } = {},
): Promise<Row> {
  const c = await LineCounter.connect(port);
  let expected = 0;
  if (setup !== "") {
    await c.send(setup + "\r\n");
    await c.until(++expected);
  }
  const roundTrip = async (i: number) => {
    await c.send(line(i) + "\r\n");
    await c.until(expected += lines);
  };
  for (let i = 0; i < 300; i++) await roundTrip(i); // warm-up
  const start = performance.now();
  const times = await timeEach(ROUND_TRIPS, roundTrip);
  const seconds = (performance.now() - start) / 1000;

  const pStart = performance.now();
  for (let sent = 0; sent < PIPELINED; sent += BURST) {
    const burst = Array.from({ length: BURST }, (_, i) => line(sent + i) + "\r\n").join("");
    await c.send(burst);
    expected += BURST * lines;
    // Keep at most two bursts in flight, as a client reading its replies would.
    await c.until(expected - BURST * lines);
  }
  await c.until(expected);
  const pSeconds = (performance.now() - pStart) / 1000;
  if (!/^(error_ind SUCCESS|MakeCall|DeviceInformation)/.test(c.last)) {
    throw new Error(`unexpected reply: ${c.last}`);
  }
  await c.close();
  return {
    name,
    values: {
      "round trips/s": ROUND_TRIPS / seconds,
      p50: percentile(times, 50),
      p99: percentile(times, 99),
      "pipelined/s": PIPELINED / pSeconds,
    },
  };
}

// Baseline: each chunk straight back.
const echo = Deno.listen({ hostname: "127.0.0.1", port: 0 });
const echoing = (async () => {
  for await (const conn of echo) {
    conn.setNoDelay(true);
    (async () => {
      const buf = new Uint8Array(64 * 1024);
      try {
        for (let n; (n = await conn.read(buf)) !== null;) {
          for (let off = 0; off < n;) off += await conn.write(buf.subarray(off, n));
        }
      } catch {
        // closed
      }
      conn.close();
    })();
  }
})();

const port = freePort();
const loaded = await loadSettings(
  `serverBindAddress = 127.0.0.1\nserverPort = ${port}\n`,
  "/nonexistent/bench/phone-companion.cfg",
);
const channel = new ChannelServer({ handler: fastPhones() });
await channel.apply(loaded.settings!);

const echoPort = (echo.addr as Deno.NetAddr).port;
const cases: [string, number, (i: number) => string, { lines?: number; setup?: string }][] = [
  ["channel, MakeCall to one phone", port, () => "MakeCall 101 102", {}],
  ["channel, MakeCall to 10 phones", port, (i) => `MakeCall ${101 + (i % 10)} 102`, {}],
  [
    "channel, MakeCall on a monitored phone (3 lines)",
    port,
    () => "MakeCall 201 102",
    { lines: 3, setup: "MonitorStart 201" },
  ],
];
// Every path once before anything counts (JIT, socket buffers), then the baseline before and
// after the channel cases, keeping its better run: run order must not favour either side.
await measure("warm-up", echoPort, () => "MakeCall 101 102");
for (const [name, p, line, how] of cases) await measure(name, p, line, how);
const baseBefore = await measure("raw TCP echo (baseline)", echoPort, () => "MakeCall 101 102");
const measured = [];
for (const [name, p, line, how] of cases) measured.push(await measure(name, p, line, how));
const baseAfter = await measure("raw TCP echo (baseline)", echoPort, () => "MakeCall 101 102");
const baseline = baseBefore.values["round trips/s"] >= baseAfter.values["round trips/s"]
  ? baseBefore
  : baseAfter;
const rows = [baseline, ...measured];
await channel.close();
echo.close();
await echoing;
printTable(rows, { "round trips/s": "1/s", p50: "ms", p99: "ms", "pipelined/s": "1/s" });
