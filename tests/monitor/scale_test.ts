import assert from "node:assert/strict";
import { type CallbackResult, Monitor } from "../../src/monitor/mod.ts";
import type { NotificationName } from "../../src/config/mod.ts";
import { ManualClock } from "../helpers.ts";
import { FakePort, phonesConfig, Recorder } from "./_fakes.ts";

const DEVICES = 100;
const CHANNELS = 100;
const CALLS_PER_DEVICE = 25; // 4 callbacks each: 10,000 callbacks in all

Deno.test("10,000 callbacks on 100 devices reach 100 channels complete and in order", async () => {
  const phones: Record<string, string> = {};
  for (let d = 0; d < DEVICES; d++) phones[String(1000 + d)] = `127.0.${d >> 8}.${(d & 255) + 1}`;
  const settings = await phonesConfig(phones);
  const port = new FakePort(settings);
  const clock = new ManualClock();
  const monitor = new Monitor({ phones: port, clock, lookup: () => Promise.resolve([]) });
  monitor.apply(settings);
  const devices = Object.keys(phones);
  const channels = Array.from({ length: CHANNELS }, () => new Recorder());
  for (const c of channels) {
    for (const d of devices) assert.equal((await monitor.subscribe(d, c)).ok, true);
  }
  const keys = new Map(devices.map((d) => [d, port.secretOf(d)]));

  const steps: NotificationName[] = ["onIncomingCall", "onConnected", "onHold", "onDisconnected"];
  const pending: Promise<CallbackResult>[] = [];
  // Interleave devices: callback k of every device before callback k+1 of any.
  for (let i = 0; i < CALLS_PER_DEVICE; i++) {
    for (const step of steps) {
      for (const d of devices) {
        pending.push(monitor.handleCallback({
          path: `/phone/${d}/${step}`,
          rawQuery: `k=${keys.get(d)}&cid=${d}-${i}&remote=sip:${i}@pbx&n=1`,
          remoteAddress: phones[d],
        }));
      }
    }
  }
  const results = await Promise.all(pending);
  assert.equal(results.length, 10_000);
  assert.ok(results.every((r) => r.status === 200));

  const expected: string[] = [];
  for (let i = 0; i < CALLS_PER_DEVICE; i++) {
    expected.push(`Delivered ${i}`, `Established ${i}`, "Held", "ConnectionCleared");
  }
  for (const c of channels) {
    const perDevice = new Map<string, string[]>();
    for (const e of c.events) {
      const list = perDevice.get(e.device) ?? [];
      list.push(
        e.type === "Delivered"
          ? `Delivered ${e.caller}`
          : e.type === "Established"
          ? `Established ${e.remote}`
          : e.type,
      );
      perDevice.set(e.device, list);
    }
    assert.equal(perDevice.size, DEVICES);
    for (const d of devices) assert.deepEqual(perDevice.get(d), expected, `channel ${c.id} ${d}`);
  }
  assert.equal(clock.pending, 0);
  await monitor.close();
});
