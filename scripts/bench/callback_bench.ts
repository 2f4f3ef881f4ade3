/**
 * A phone's action URL through the whole server to the channels (docs/channel-protocol.md §4):
 * HTTP GET on the callback front → key and source check → the device's call state → event
 * lines on N channels that monitor the phone. Baseline, in the same run: a plain GET round
 * trip to the same front (a path it answers 404 without any of that work).
 *
 * - latency: one callback, until its two lines (event and DeviceInformation) reached every
 *   channel; callbacks alternate between a ringing call and its end, so each one is news;
 * - throughput: callbacks sent one after another on one keep-alive connection, as a phone
 *   sends them, until every channel has every line.
 *
 * tests/e2e/scale_test.ts runs 10,000 callbacks from 100 simulated phones to 100 channels.
 */

import { SimNetwork } from "../../src/simulator/mod.ts";
import { callbackTarget, KeepAliveGet, LineCounter } from "./_lines.ts";
import { startBenchServer } from "./_server.ts";
import { percentile, printTable, type Row, timeEach } from "./_table.ts";

const LATENCY_SAMPLES = 2000;
const THROUGHPUT = 4000;

const dir = await Deno.makeTempDir({ prefix: "pcs-bench-" });
const net = new SimNetwork();
const phone = await net.addPhone({ extension: "201" });
const { server, logService, channelPort, httpPort } = await startBenchServer(dir, [
  `phone=201@127.0.0.1:${phone.port} snom.cfg`,
]);

const client = await KeepAliveGet.connect(httpPort);
let callId = 0;

async function measureCallbacks(channels: number): Promise<Row> {
  const counters = await Promise.all(
    Array.from({ length: channels }, () => LineCounter.connect(channelPort)),
  );
  await Promise.all(counters.map(async (c) => {
    await c.send("MonitorStart 201\r\n");
    await c.until(1);
    if (c.last !== "error_ind SUCCESS MonitorStart") throw new Error(c.last);
  }));
  let lines = 1;
  /** One callback: a new ringing call, or the end of the last one. */
  const callback = async () => {
    const target = lines % 4 === 1
      ? callbackTarget(phone, "incoming", ++callId)
      : callbackTarget(phone, "disconnected", callId);
    const status = await client.get(target);
    if (status !== 200) throw new Error(`callback answered ${status}`);
    lines += 2;
  };
  const arrived = () => Promise.all(counters.map((c) => c.until(lines)));
  for (let i = 0; i < 200; i++) {
    await callback();
    await arrived();
  }
  const times = await timeEach(LATENCY_SAMPLES, async () => {
    await callback();
    await arrived();
  });
  const start = performance.now();
  for (let i = 0; i < THROUGHPUT; i++) await callback();
  await arrived();
  const seconds = (performance.now() - start) / 1000;
  await Promise.all(counters.map((c) => c.close()));
  return {
    name: `callback → event on ${channels} channel(s)`,
    values: {
      "callbacks/s": THROUGHPUT / seconds,
      p50: percentile(times, 50),
      p99: percentile(times, 99),
    },
  };
}

async function measureBaseline(): Promise<Row> {
  const get = async () => {
    const status = await client.get("/baseline-not-found");
    if (status !== 404) throw new Error(`baseline answered ${status}`);
  };
  for (let i = 0; i < 200; i++) await get();
  const times = await timeEach(LATENCY_SAMPLES, get);
  const start = performance.now();
  for (let i = 0; i < THROUGHPUT; i++) await get();
  const seconds = (performance.now() - start) / 1000;
  return {
    name: "plain GET round trip (baseline)",
    values: {
      "callbacks/s": THROUGHPUT / seconds,
      p50: percentile(times, 50),
      p99: percentile(times, 99),
    },
  };
}

const rows = [await measureBaseline()];
for (const channels of [1, 10, 100]) rows.push(await measureCallbacks(channels));
client.close();
await server.close();
await net.close();
await logService.close();
await Deno.remove(dir, { recursive: true });
printTable(rows, { "callbacks/s": "1/s", p50: "ms", p99: "ms" });
