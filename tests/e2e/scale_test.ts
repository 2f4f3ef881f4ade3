/**
 * Scale: 10,000 action-URL callbacks from 100 simulated phones, over real
 * HTTP, reach 100 channels that each monitor every phone — complete, and in each phone's
 * order (docs/channel-protocol.md §4). The full run is also a benchmark:
 * `scripts/bench/callback_bench.ts` measures the same path's latency and throughput.
 */

import assert from "node:assert/strict";
import { startServer } from "./_server.ts";

const PHONES = 100;
const CHANNELS = 100;
const CALLS = 25; // 4 callbacks each (incoming, connected, hold, disconnected): 10,000 in all

const extensions = Array.from({ length: PHONES }, (_, i) => String(2000 + i));
const caller = (call: number) => `0301${String(call).padStart(3, "0")}`;

/** The lines one call gives on a channel in Standard mode; `?` stands for its call reference. */
function callLines(dev: string, call: number): string[] {
  const c = caller(call);
  return [
    `Delivered ${dev} newCall ${dev} ${c} ${dev}`,
    `DeviceInformation ${dev} 1 (?:alerting:${c})`,
    `Established ${dev} newCall ${dev} ${c} ${dev}`,
    `Held ${dev} normal ${dev}`,
    `ConnectionCleared ${dev} normalClearing ${dev}`,
    `DeviceInformation ${dev} 0 ()`,
  ];
}
const PER_CALL = callLines("x", 0).length;

/** Checks a channel's event lines as they arrive, per device, without keeping them. */
class OrderCheck {
  readonly seen = new Map<string, number>();
  readonly refs = new Map<string, number[]>();
  readonly problems: string[] = [];

  /** The channel's tap: takes every event line, leaves replies to the channel. */
  readonly take = (line: string): boolean => {
    if (line.startsWith("error_ind ")) return false;
    const dev = line.split(" ", 2)[1];
    const index = this.seen.get(dev) ?? 0;
    this.seen.set(dev, index + 1);
    const call = Math.floor(index / PER_CALL);
    const wanted = callLines(dev, call)[index % PER_CALL];
    const ref = /^DeviceInformation \S+ 1 \((\d+):/.exec(line)?.[1];
    const got = ref === undefined ? line : line.replace(`(${ref}:`, "(?:");
    if (ref !== undefined) {
      const refs = this.refs.get(dev) ?? [];
      refs.push(Number(ref));
      this.refs.set(dev, refs);
    }
    if (got !== wanted && this.problems.length < 5) {
      this.problems.push(`line ${index} of ${dev}: wanted ${wanted}, got ${line}`);
    }
    return true;
  };
}

Deno.test("10,000 callbacks from 100 phones over HTTP reach 100 channels complete and in order", async () => {
  await using pcs = await startServer({
    // This test asserts that every callback arrives, complete and in order, not how fast
    // (scripts/bench/callback_bench.ts measures that): while a million event lines go out to
    // 100 channels, a callback may wait longer than the simulated phone's usual 2 s.
    phones: extensions.map((extension) => ({ extension, actionTimeoutMs: 15_000 })),
    linesFor: (p) =>
      [...p.values()].map((s) => `phone=${s.extension}@127.0.0.1:${s.port} snom.cfg`),
  });
  const checks = Array.from({ length: CHANNELS }, () => new OrderCheck());
  const channels = await Promise.all(checks.map((check) => pcs.channel(undefined, check.take)));
  await Promise.all(channels.map(async (c) => {
    await c.sendLine(extensions.map((e) => `MonitorStart ${e}`).join("\r\n"));
    const replies = await c.readLines(PHONES, 15_000);
    assert.deepEqual(new Set(replies), new Set(["error_ind SUCCESS MonitorStart"]));
  }));
  for (const e of extensions) {
    const configured = pcs.phone(e).requests.filter((r) => r.path === "/dummy.htm");
    assert.equal(configured.length, 1, `phone ${e} configured once`);
  }

  // Each phone goes through its calls; its action URLs go out one at a time, in order, as a
  // SNOM sends them, while all phones send at once.
  for (const e of extensions) {
    const phone = pcs.phone(e);
    for (let call = 0; call < CALLS; call++) {
      phone.callFrom(caller(call));
      phone.answer();
      phone.press("F_HOLD");
      phone.remoteHangup();
    }
  }
  await pcs.phonesIdle();
  await Promise.all(channels.map((c) => c.sync(15_000)));

  let callbacks = 0;
  for (const e of extensions) {
    const actions = pcs.phone(e).actions;
    callbacks += actions.length;
    const refused = actions.filter((a) => a.status !== 200).map((a) => a.error ?? a.status);
    assert.deepEqual(refused, [], `every callback of ${e} was taken`);
  }
  assert.equal(callbacks, PHONES * CALLS * 4);
  const [first] = checks;
  for (const [i, check] of checks.entries()) {
    assert.deepEqual(check.problems, [], `channel ${i}`);
    for (const e of extensions) {
      assert.equal(check.seen.get(e), CALLS * PER_CALL, `channel ${i}, phone ${e}: all lines`);
      assert.deepEqual(check.refs.get(e), first.refs.get(e), `channel ${i} has the same calls`);
    }
  }
  const refs = [...first.refs.values()].flat();
  assert.equal(new Set(refs).size, PHONES * CALLS, "every call has its own reference");
});
