import assert from "node:assert/strict";
import { type CommandHandler, LineDecoder, type Outcome, Session } from "../../src/channel/mod.ts";
import type { CallCommand, CallEvent, CallInfo } from "../../src/contract.ts";
import type { DeviceInfoMode } from "../../src/config/mod.ts";
import { FakePhones, type FakePhonesOptions } from "../fakes/channel_handler.ts";
import {
  type Driver,
  type Feed,
  loadTranscripts,
  replay,
  settle,
  type Transcript,
  transcriptPhones,
} from "./_helpers.ts";

let nextId = 1000;

function open(
  handler: CommandHandler,
  options: { mode?: DeviceInfoMode; errorDetail?: boolean; maxLineBytes?: number } = {},
) {
  const out: string[] = [];
  let finished: string | undefined;
  const session = new Session({
    id: nextId++,
    handler,
    deviceInformation: options.mode ?? "standard",
    limits: {
      errorDetail: options.errorDetail ?? false,
      maxLineBytes: options.maxLineBytes ?? 65536,
      maxQueueBytes: 1 << 20,
    },
    write: (line) => out.push(line),
    onFinish: (why) => (finished = why),
  });
  const send = (...lines: string[]) => {
    for (const text of lines) session.receive({ kind: "line", text });
  };
  /** Takes every line written so far. */
  const take = () => out.splice(0);
  return { session, out, send, take, finished: () => finished };
}

class SessionDriver implements Driver {
  readonly #decoder: LineDecoder;
  readonly #open: ReturnType<typeof open>;
  readonly #feed: Feed;

  constructor(phones: FakePhones, t: Transcript, feed: Feed) {
    this.#feed = feed;
    const maxLineBytes = t.config.maxLineBytes ?? 65536;
    this.#decoder = new LineDecoder(maxLineBytes);
    this.#open = open(phones, {
      mode: t.config.deviceInformation,
      errorDetail: t.config.errorDetail,
      maxLineBytes,
    });
  }

  send(bytes: Uint8Array): Promise<void> {
    const chunks = this.#feed === "whole"
      ? [bytes]
      : Array.from(bytes, (_, i) => bytes.subarray(i, i + 1));
    for (const chunk of chunks) {
      for (const item of this.#decoder.push(chunk)) this.#open.session.receive(item);
    }
    return Promise.resolve();
  }

  async readLine(): Promise<string> {
    for (let i = 0; i < 50 && this.#open.out.length === 0; i++) await settle(1);
    const line = this.#open.out.shift();
    if (line === undefined) throw new Error("expected a line, the session wrote none");
    return line;
  }

  async expectEnd(): Promise<void> {
    await settle();
    assert.deepEqual(this.#open.out, []);
    assert.equal(this.#open.finished(), "bye");
  }
}

for (const t of loadTranscripts()) {
  for (const feed of ["whole", "byte by byte"] as const) {
    Deno.test(`session replays ${t.name} fed ${feed}`, async () => {
      const phones = transcriptPhones();
      await replay(t, new SessionDriver(phones, t, feed), phones);
    });
  }
}

Deno.test("replies follow the command order even when a later command finishes first", async () => {
  const phones = new FakePhones();
  const release = phones.hold("102");
  const c = open(phones);
  c.send("MakeCall 102 555", "MakeCall 101 556", "Bogus");
  await settle();
  assert.deepEqual(c.take(), [], "nothing may pass the pending first reply");
  assert.deepEqual(
    phones.seen.map((s) => `${s.device} ${s.number}`),
    ["102 555", "101 556"],
    "the second phone got its command while the first was busy",
  );
  release();
  await settle();
  assert.deepEqual(c.take(), [
    "error_ind SUCCESS MakeCall",
    "error_ind SUCCESS MakeCall",
    "error_ind INVALCMD Bogus",
  ]);
});

Deno.test("an event of a device with a command in flight follows that command's reply", async () => {
  const phones = new FakePhones();
  const c = open(phones);
  c.send("MonitorStart 101");
  await settle();
  assert.deepEqual(c.take(), ["error_ind SUCCESS MonitorStart"]);
  const release = phones.hold("101");
  c.send("HoldCall 101");
  await settle();
  phones.ring("101", "0301234");
  assert.deepEqual(c.take(), [], "the event waits for the reply");
  release();
  await settle();
  assert.deepEqual(c.take(), [
    "error_ind SUCCESS HoldCall",
    "Delivered 101 newCall 101 0301234 101",
    "DeviceInformation 101 1 (17:alerting:0301234)",
    "Held 101 normal 101",
  ]);
});

Deno.test("events of other devices pass a pending reply", async () => {
  const phones = new FakePhones();
  const c = open(phones);
  c.send("MonitorStart 101", "MonitorStart 102");
  await settle();
  c.take();
  const release = phones.hold("102");
  c.send("HoldCall 102");
  await settle();
  phones.ring("101", "0301234");
  assert.deepEqual(c.take(), [
    "Delivered 101 newCall 101 0301234 101",
    "DeviceInformation 101 1 (17:alerting:0301234)",
  ]);
  release();
  await settle();
  assert.deepEqual(c.take(), ["error_ind SUCCESS HoldCall", "Held 102 normal 102"]);
});

for (const initiated of ["before outcome", "after outcome"] as const) {
  Deno.test(`MakeCall on a monitored device gives exactly three lines (Initiated ${initiated})`, async () => {
    const phones = new FakePhones({ initiated } as FakePhonesOptions);
    const c = open(phones);
    c.send("MonitorStart 101", "MakeCall 101 102");
    await settle();
    assert.deepEqual(c.take(), [
      "error_ind SUCCESS MonitorStart",
      "error_ind SUCCESS MakeCall",
      "Initiated 101 makeCall 17 101",
      "DeviceInformation 101 1 (17:dialing:102)",
    ]);
  });
}

Deno.test("commands of one channel for the same device run one after another", async () => {
  // This fake runs commands to one phone at once, so the order comes from the channel alone.
  const phones = new FakePhones({ serialise: false });
  const release = phones.hold("101");
  const c = open(phones);
  c.send("MonitorStart 101", "MakeCall 101 102");
  await settle();
  assert.deepEqual(phones.seen.map((s) => s.command), ["MonitorStart"]);
  release();
  await settle();
  assert.deepEqual(phones.seen.map((s) => s.command), ["MonitorStart", "MakeCall"]);
  assert.deepEqual(c.take(), [
    "error_ind SUCCESS MonitorStart",
    "error_ind SUCCESS MakeCall",
    "Initiated 101 makeCall 17 101",
    "DeviceInformation 101 1 (17:dialing:102)",
  ]);
});

Deno.test("BYE waits for earlier replies, then releases the channel's monitors", async () => {
  const phones = new FakePhones();
  const c = open(phones);
  c.send("MonitorStart 101", "MonitorStart 103");
  await settle();
  c.take();
  const release = phones.hold("102");
  c.send("MakeCall 102 555", "BYE", "MakeCall 101 556");
  await settle();
  assert.deepEqual(c.take(), []);
  assert.equal(c.finished(), undefined);
  release();
  await settle();
  assert.deepEqual(c.take(), ["error_ind SUCCESS MakeCall", "error_ind SUCCESS BYE"]);
  assert.equal(c.finished(), "bye");
  assert.deepEqual(phones.stops.sort(), [`101/${c.session.id}`, `103/${c.session.id}`]);
  assert.equal(phones.subscribers("101").length, 0);
  assert.ok(!phones.seen.some((s) => s.number === "556"), "nothing after BYE runs");
  phones.ring("101", "0301234");
  assert.deepEqual(c.take(), [], "no events after BYE");
});

Deno.test("a channel that closes undoes a MonitorStart that succeeds afterwards", async () => {
  const phones = new FakePhones();
  const release = phones.hold("101");
  const c = open(phones);
  c.send("MonitorStart 101", "MakeCall 101 102");
  await settle();
  c.session.close();
  release();
  await settle();
  assert.deepEqual(c.take(), []);
  assert.equal(phones.subscribers("101").length, 0);
  assert.deepEqual(phones.stops, [`101/${c.session.id}`]);
  assert.deepEqual(phones.seen.map((s) => s.command), ["MonitorStart"], "queued commands drop");
});

Deno.test("when the input ends, pending replies are still written before the session ends", async () => {
  const phones = new FakePhones();
  const release = phones.hold("102");
  const c = open(phones);
  c.send("MonitorStart 101", "MakeCall 102 555");
  c.session.endInput();
  c.send("MakeCall 101 1");
  await settle();
  assert.equal(c.finished(), undefined);
  release();
  await settle();
  assert.deepEqual(c.take(), ["error_ind SUCCESS MonitorStart", "error_ind SUCCESS MakeCall"]);
  assert.equal(c.finished(), "input ended");
  assert.equal(phones.subscribers("101").length, 0);
});

Deno.test("a server part that throws is answered ERROR and the channel goes on", async () => {
  const broken: CommandHandler = {
    knowsDevice: (d) => {
      if (d === "666") throw new Error("boom");
      return true;
    },
    callControl: () => Promise.reject(new Error("boom")),
    monitorStart: () => {
      throw new Error("boom");
    },
    monitorStop: () => {
      throw new Error("boom");
    },
    rawCommand: () => Promise.reject(new Error("boom")),
  };
  const c = open(broken, { errorDetail: true });
  c.send("MakeCall 101 2", "MonitorStart 101", "HoldCall 666", "{}", "MonitorStop 101", "BYE");
  await settle();
  assert.deepEqual(c.take(), [
    "error_ind ERROR MakeCall",
    "error_ind ERROR MonitorStart",
    "error_ind ERROR HoldCall UnknownDevice",
    'error_ind ERROR RawCommand {"status":0,"error":"InternalError"}',
    "error_ind SUCCESS MonitorStop",
    "error_ind SUCCESS BYE",
  ]);
});

Deno.test("a RawCommand reply with line breaks in its body is written on one line", async () => {
  const handler = new FakePhones();
  handler.rawCommand = () => Promise.resolve({ ok: true, status: 200, body: "one\r\ntwo\n" });
  const c = open(handler);
  c.send('{"method":"GET","resource":"/"}');
  await settle();
  assert.deepEqual(c.take(), [
    'error_ind SUCCESS RawCommand {"status":200,"body":"one\\r\\ntwo\\n"}',
  ]);
});

Deno.test("RawCommands keep their order but never wait for a phone", async () => {
  const phones = new FakePhones();
  const release = phones.hold("101");
  const c = open(phones);
  c.send('{"method":"GET","resource":"/a"}', "HoldCall 101", '{"method":"GET","resource":"/b"}');
  await settle();
  assert.deepEqual(phones.raw.length, 2, "both RawCommands ran while the phone was busy");
  assert.deepEqual(c.take().length, 1, "only the first reply can be written yet");
  release();
  await settle();
  assert.deepEqual(c.take(), [
    "error_ind SUCCESS HoldCall",
    'error_ind SUCCESS RawCommand {"status":200,"body":{"method":"GET","at":"/b"}}',
  ]);
});

Deno.test("the session signals when pending replies drop below a mark", async () => {
  const phones = new FakePhones();
  const release = phones.hold("101");
  const c = open(phones);
  for (let i = 0; i < 10; i++) c.send("HoldCall 101");
  assert.equal(c.session.pending, 10);
  let settled = false;
  c.session.settled(5).then(() => (settled = true));
  await settle();
  assert.equal(settled, false);
  release();
  await settle();
  assert.equal(settled, true);
  assert.equal(c.session.pending, 0);
});

Deno.test("the MakeCall rule: a MakeCall's reply, then its own Initiated, nothing of that device in between", async () => {
  // A handler whose MakeCalls the test finishes, delivering events as the monitor would.
  let finish!: (outcome: Outcome) => void;
  let sent!: CallCommand;
  const handler: CommandHandler = {
    knowsDevice: () => true,
    callControl: (command) => {
      sent = command;
      return new Promise<Outcome>((resolve) => (finish = resolve));
    },
    monitorStart: () => Promise.resolve({ ok: true }),
    monitorStop: () => {},
    rawCommand: () => Promise.resolve({ ok: true, status: 200, body: {} }),
  };
  const c = open(handler);
  const dialing = (callRef: number, remote: string) =>
    ({ callRef, state: "dialing", remote, displayName: "" }) as const;
  const initiated = (callRef: number, calls: CallInfo[], cause?: CallCommand): CallEvent => ({
    type: "Initiated",
    callRef,
    device: "101",
    calls,
    cause,
  });
  c.send("MonitorStart 101");
  await settle();
  c.take();

  c.send("MakeCall 101 103");
  await settle();
  // Another channel's MakeCall on 101 finished first (its Initiated names that channel's
  // command), then this one, whose Initiated names this channel's command.
  const other: CallCommand = { device: "101", name: "MakeCall", number: "102", arrivedAt: 0 };
  c.session.deliver(initiated(1, [dialing(1, "102")], other));
  c.session.deliver(initiated(2, [dialing(1, "102"), dialing(2, "103")], sent));
  finish({ ok: true });
  await settle();
  assert.deepEqual(c.take(), [
    "Initiated 101 makeCall 1 101",
    "DeviceInformation 101 1 (1:dialing:102)",
    "error_ind SUCCESS MakeCall",
    "Initiated 101 makeCall 2 101",
    "DeviceInformation 101 2 (1:dialing:102,2:dialing:103)",
  ]);

  // A refused MakeCall has no Initiated of its own: what was held follows its reply.
  c.send("MakeCall 101 104");
  await settle();
  c.session.deliver(initiated(3, [dialing(3, "105")], other));
  finish({ ok: false, reason: "PhoneRefused" });
  await settle();
  assert.deepEqual(c.take(), [
    "error_ind ERROR MakeCall",
    "Initiated 101 makeCall 3 101",
    "DeviceInformation 101 1 (3:dialing:105)",
  ]);
});

Deno.test("a session counts the lines its client sent and names its handshake, for the status page", async () => {
  const bare = open(new FakePhones());
  assert.equal(bare.session.handshake, undefined);
  bare.send("STLI", "", "Ping");
  assert.equal(bare.session.handshake, "STLI");
  assert.equal(bare.session.commands, 2, "the empty line is not counted");
  const v2 = open(new FakePhones());
  v2.send("STLI;Version=2;DeviceInformation=Extended", "MonitorStart 101", "MakeCall 101 102");
  await settle();
  assert.equal(v2.session.handshake, "STLI;Version=2");
  assert.equal(v2.session.mode, "extended");
  assert.equal(v2.session.commands, 3);
});
