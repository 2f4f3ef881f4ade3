import assert from "node:assert/strict";
import { Cancelled, KeyedSerial, Serial } from "../src/serial.ts";

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((r) => open = r);
  return { wait, open };
}

Deno.test("jobs run one at a time, in the order given, whatever order they finish in", async () => {
  const serial = new Serial();
  const log: string[] = [];
  let running = 0;
  const job = (name: string, ms: number) => async () => {
    running++;
    assert.equal(running, 1, "never two jobs at once");
    log.push(`start ${name}`);
    await new Promise((r) => setTimeout(r, ms));
    log.push(`end ${name}`);
    running--;
    return name;
  };
  const results = await Promise.all([
    serial.run(job("a", 30)),
    serial.run(job("b", 1)),
    serial.run(job("c", 10)),
  ]);
  assert.deepEqual(results, ["a", "b", "c"]);
  assert.deepEqual(log, ["start a", "end a", "start b", "end b", "start c", "end c"]);
});

Deno.test("a job given to an idle serial starts before run returns", () => {
  const serial = new Serial();
  let started = false;
  void serial.run(() => {
    started = true;
    return Promise.resolve();
  });
  assert.equal(started, true);
  assert.equal(serial.busy, true);
});

Deno.test("a failing job rejects only its own caller; the next job still runs", async () => {
  const serial = new Serial();
  const first = serial.run(() => Promise.reject(new Error("phone gone")));
  const second = serial.run(() => 2);
  await assert.rejects(first, /phone gone/);
  assert.equal(await second, 2);
});

Deno.test("cancelWaiting gives waiting jobs their cancelled result and lets the running one finish", async () => {
  const serial = new Serial();
  const g = gate();
  const running = serial.run(async () => {
    await g.wait;
    return "done";
  });
  const withResult = serial.run(() => "ran", (why) => `cancelled: ${why}`);
  const withoutResult = serial.run(() => "ran");
  assert.equal(serial.waiting, 2);
  serial.cancelWaiting("phone removed");
  assert.equal(serial.waiting, 0);
  g.open();
  assert.equal(await running, "done");
  assert.equal(await withResult, "cancelled: phone removed");
  await assert.rejects(withoutResult, Cancelled);
  await serial.idle();
  assert.equal(serial.busy, false);
});

Deno.test("keys run independently, and a key is forgotten once its work is done", async () => {
  const keyed = new KeyedSerial<string>();
  const slow = gate();
  const order: string[] = [];
  const a1 = keyed.run("101", async () => {
    await slow.wait;
    order.push("101 first");
  });
  const a2 = keyed.run("101", () => {
    order.push("101 second");
  });
  await keyed.run("102", () => {
    order.push("102");
  });
  assert.deepEqual(order, ["102"], "102 does not wait for 101");
  assert.equal(keyed.busy("101"), true);
  slow.open();
  await Promise.all([a1, a2]);
  assert.deepEqual(order, ["102", "101 first", "101 second"]);
  await keyed.idle();
  assert.equal(keyed.size, 0);
});
