/**
 * A cloud phone's event (docs/cloud-phones.md §4) against a SNOM phone's, through the whole
 * server to 100 channels that monitor both: a provider's WebSocket notification of a ringing
 * call (from the project's fake provider) until `Delivered` reached every channel, against a
 * simulated SNOM phone's action-URL callback for a ringing call until its `Delivered` reached
 * every channel. Both in the same run, in alternating blocks; each call is ended before the next
 * sample.
 */

import { SimNetwork } from "../../src/simulator/mod.ts";
import { FakeProvider } from "../../tests/fakes/fake_provider.ts";
import { configLines, ringCentralLines } from "../../tests/provider/_helpers.ts";
import { callbackTarget, KeepAliveGet, LineCounter } from "./_lines.ts";
import { startBenchServer } from "./_server.ts";
import { percentile, printTable } from "./_table.ts";

const CHANNELS = 100;
const BLOCKS = 5;
const PER_BLOCK = 40;

const dir = await Deno.makeTempDir({ prefix: "pcs-bench-" });
const fake = await FakeProvider.start({
  groups: { Heavy: { limit: 1000, windowSeconds: 60, penaltySeconds: 60 } },
});
const net = new SimNetwork();
const snom = await net.addPhone({ extension: "101" });
const { server, logService, channelPort, httpPort } = await startBenchServer(dir, [
  "phoneCheckSeconds = 0",
  `phone=101@127.0.0.1:${snom.port} snom.cfg`,
  "phone=201@provider",
  ...configLines(ringCentralLines(fake)),
]);

const counters = await Promise.all(
  Array.from({ length: CHANNELS }, () => LineCounter.connect(channelPort)),
);
for (const counter of counters) {
  let expected = 0;
  for (const device of ["101", "201"]) {
    await counter.send(`MonitorStart ${device}\r\n`);
    await counter.until(++expected);
    if (counter.last !== "error_ind SUCCESS MonitorStart") throw new Error(counter.last);
  }
}

/** Lines each channel has received so far, for waiting on the next two. */
let lines = 2;
const arrived = () => Promise.all(counters.map((counter) => counter.until(lines)));

const phone = await KeepAliveGet.connect(httpPort);
let callId = 0;

/** One ringing call and its end on the SNOM phone; resolves with the time to Delivered. */
async function snomSample(): Promise<number> {
  const t = performance.now();
  if (await phone.get(callbackTarget(snom, "incoming", ++callId)) !== 200) {
    throw new Error("callback");
  }
  lines += 2; // Delivered, DeviceInformation
  await arrived();
  const ms = performance.now() - t;
  await phone.get(callbackTarget(snom, "disconnected", callId));
  lines += 2; // ConnectionCleared, DeviceInformation
  await arrived();
  return ms;
}

/** One ringing call and its end on the cloud extension; resolves with the time to Delivered. */
async function cloudSample(): Promise<number> {
  const t = performance.now();
  const session = fake.telephony.ring("201", "+15550123");
  lines += 2;
  await arrived();
  const ms = performance.now() - t;
  fake.telephony.farHangUp(session);
  lines += 2;
  await arrived();
  return ms;
}

for (let i = 0; i < 20; i++) { // warm-up, both paths
  await snomSample();
  await cloudSample();
}
const snomTimes: number[] = [];
const cloudTimes: number[] = [];
for (let block = 0; block < BLOCKS; block++) {
  for (let i = 0; i < PER_BLOCK; i++) snomTimes.push(await snomSample());
  for (let i = 0; i < PER_BLOCK; i++) cloudTimes.push(await cloudSample());
}

phone.close();
await Promise.all(counters.map((counter) => counter.close()));
await server.close();
await net.close();
await fake.close();
await logService.close();
await Deno.remove(dir, { recursive: true });
printTable([
  {
    name: `SNOM callback → Delivered on ${CHANNELS} channels (baseline)`,
    values: { p50: percentile(snomTimes, 50), p99: percentile(snomTimes, 99) },
  },
  {
    name: `provider WebSocket notification → Delivered on ${CHANNELS} channels`,
    values: { p50: percentile(cloudTimes, 50), p99: percentile(cloudTimes, 99) },
  },
], { p50: "ms", p99: "ms" });
