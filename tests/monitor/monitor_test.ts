import assert from "node:assert/strict";
import type { EventSubscriber, Outcome } from "../../src/contract.ts";
import { LogService, redactor } from "../../src/log/mod.ts";
import { type Lookup, Monitor } from "../../src/monitor/mod.ts";
import type { NotificationName } from "../../src/config/mod.ts";
import type { Settings } from "../../src/server/mod.ts";
import { call, ManualClock } from "../helpers.ts";
import { deferred, FakePort, phonesConfig, Recorder } from "./_fakes.ts";

interface Rig {
  monitor: Monitor;
  port: FakePort;
  clock: ManualClock;
  lookups: string[];
}

async function rig(
  phones: Record<string, string> = { "101": "127.0.0.1", "102": "127.0.0.2" },
  options: { lookup?: Lookup; settings?: Settings; unansweredMs?: number } = {},
): Promise<Rig> {
  const settings = options.settings ?? await phonesConfig(phones);
  const port = new FakePort(settings);
  const clock = new ManualClock();
  const lookups: string[] = [];
  const monitor = new Monitor({
    phones: port,
    clock,
    unansweredMs: options.unansweredMs,
    lookup: options.lookup ?? ((host) => {
      lookups.push(host);
      return Promise.resolve([]);
    }),
  });
  monitor.apply(settings);
  return { monitor, port, clock, lookups };
}

/** A callback as the phone at `from` would send it, with the key the server gave it. */
function phoneCalls(
  r: Rig,
  ext: string,
  notification: NotificationName,
  query: string,
  from = r.port.hostOf(ext)!,
  key = r.port.secretOf(ext),
) {
  return r.monitor.handleCallback({
    path: `/phone/${ext}/${notification}`,
    rawQuery: `k=${key}&${query}`,
    remoteAddress: from,
  });
}

const OK: Outcome = { ok: true };

async function monitored(r: Rig, ext: string, ...channels: EventSubscriber[]) {
  for (const c of channels) assert.deepEqual(await r.monitor.subscribe(ext, c), OK);
}

/** Collects log lines while `body` runs. */
async function withLog(body: (lines: string[]) => Promise<void>): Promise<void> {
  const lines: string[] = [];
  const service = new LogService((line) => lines.push(line));
  await service.start("debug");
  try {
    await body(lines);
  } finally {
    await service.close();
  }
}

Deno.test("MonitorStart points every action URL of the profile at the server", async () => {
  const r = await rig();
  assert.deepEqual(await r.monitor.subscribe("101", new Recorder()), OK);
  assert.equal(r.port.configured.length, 1);
  const { extension, urls } = r.port.configured[0];
  assert.equal(extension, "101");
  const secret = r.port.secretOf("101");
  assert.match(secret, /^[A-Za-z0-9_-]{22,}$/);
  assert.ok(secret.length * 6 >= 128);
  assert.deepEqual([...urls.keys()], [
    "onIncomingCall",
    "onOutgoingCall",
    "onConnected",
    "onDisconnected",
    "onMissedCall",
    "onHold",
    "onUnhold",
    "onTransfer",
    "onBlindTransfer",
    "onAttendedTransfer",
    "onSetup",
  ]);
  assert.equal(
    urls.get("onConnected"),
    `http://192.0.2.1:26536/phone/101/onConnected?k=${secret}` +
      "&cid=$call-id&remote=$remote&local=$local&dr=$display_remote&n=$nr_ongoing_calls" +
      "&cr=$cancel_reason",
  );
  await r.monitor.close();
});

Deno.test("with serverCallbackUrl auto, phones call the address that routes to them", async () => {
  const settings = await phonesConfig({ "101": "127.0.0.1" }, "serverHttpPort = 4444");
  const r = await rig({}, { settings });
  r.port.localAddress = "fd00::5";
  await r.monitor.subscribe("101", new Recorder());
  assert.match(
    r.port.configured[0].urls.get("onHold")!,
    /^http:\/\/\[fd00::5\]:4444\/phone\/101\/onHold\?k=/,
  );
  await r.monitor.close();
});

Deno.test("MonitorStart answers the phone's reason when it cannot be configured", async () => {
  const r = await rig();
  r.port.answer = () =>
    Promise.resolve({ ok: false, reason: "PhoneUnreachable", detail: "timeout" });
  const channel = new Recorder();
  assert.deepEqual(await r.monitor.subscribe("101", channel), {
    ok: false,
    reason: "PhoneUnreachable",
    detail: "timeout",
  });
  // No monitor exists: a callback (say the write half-worked) reaches nobody.
  assert.equal((await phoneCalls(r, "101", "onIncomingCall", "cid=a&remote=555")).status, 200);
  assert.deepEqual(channel.events, []);
  const [status] = r.monitor.status().devices;
  assert.equal(status.configuration, "failed");
  assert.equal(status.error, "timeout");
  assert.equal(status.subscribers, 0);
  // The next MonitorStart tries again.
  r.port.answer = () => Promise.resolve(OK);
  assert.deepEqual(await r.monitor.subscribe("101", channel), OK);
  assert.equal(r.port.configured.length, 2);
  assert.equal(r.monitor.status().devices[0].configuration, "configured");
  await r.monitor.close();
});

Deno.test("MonitorStart fails when the profile cannot configure monitoring", async () => {
  const r = await rig();
  r.port.monitorSetup = () => undefined;
  const outcome = await r.monitor.subscribe("101", new Recorder());
  assert.equal(outcome.ok, false);
  assert.equal(!outcome.ok && outcome.reason, "MonitorFailed");
  assert.equal(r.port.configured.length, 0);
  await r.monitor.close();
});

Deno.test("MonitorStart on an unknown device answers UnknownDevice", async () => {
  const r = await rig();
  assert.deepEqual(await r.monitor.subscribe("999", new Recorder()), {
    ok: false,
    reason: "UnknownDevice",
  });
  await r.monitor.close();
});

Deno.test("concurrent first MonitorStarts share one configuration", async () => {
  const r = await rig();
  const write = deferred<Outcome>();
  r.port.answer = () => write.promise;
  const a = new Recorder();
  const b = new Recorder();
  const started = [r.monitor.subscribe("101", a), r.monitor.subscribe("101", b)];
  await Promise.resolve();
  write.resolve(OK);
  assert.deepEqual(await Promise.all(started), [OK, OK]);
  assert.equal(r.port.configured.length, 1);
  await phoneCalls(r, "101", "onIncomingCall", "cid=a&remote=555");
  assert.equal(a.events.length, 1);
  assert.equal(b.events.length, 1);
  await r.monitor.close();
});

Deno.test("later MonitorStarts from other channels just subscribe", async () => {
  const r = await rig();
  await monitored(r, "101", new Recorder(), new Recorder(), new Recorder());
  assert.equal(r.port.configured.length, 1);
  assert.equal(r.monitor.status().devices[0].subscribers, 3);
  await r.monitor.close();
});

Deno.test("MonitorStart after every channel left configures the phone again", async () => {
  const r = await rig();
  const a = new Recorder();
  await monitored(r, "101", a);
  r.monitor.unsubscribe("101", a);
  await monitored(r, "101", a);
  assert.equal(r.port.configured.length, 2);
  // The key stays the same for the whole run, so callbacks in flight stay valid.
  assert.equal(
    new URL([...r.port.configured[0].urls.values()][0]).searchParams.get("k"),
    r.port.secretOf("101"),
  );
  await r.monitor.close();
});

Deno.test("a repeated MonitorStart from a channel refreshes the phone, rate-limited", async () => {
  const r = await rig();
  const a = new Recorder();
  await monitored(r, "101", a, a);
  assert.equal(r.port.configured.length, 1);
  r.clock.advance(30_000);
  await monitored(r, "101", a);
  assert.equal(r.port.configured.length, 2);
  assert.equal(r.monitor.status().devices[0].subscribers, 1);
  // When that refresh fails, the channel is told so and no longer monitors the device.
  r.clock.advance(30_000);
  r.port.answer = () => Promise.resolve({ ok: false, reason: "AuthFailed" });
  assert.deepEqual(await r.monitor.subscribe("101", a), { ok: false, reason: "AuthFailed" });
  assert.equal(r.monitor.status().devices[0].subscribers, 0);
  await r.monitor.close();
});

Deno.test("a channel that stops while its MonitorStart is in flight is not subscribed", async () => {
  const r = await rig();
  const write = deferred<Outcome>();
  r.port.answer = () => write.promise;
  const a = new Recorder();
  const started = r.monitor.subscribe("101", a);
  r.monitor.unsubscribe("101", a);
  write.resolve(OK);
  assert.deepEqual(await started, OK);
  assert.equal(r.monitor.status().devices[0].subscribers, 0);
  await r.monitor.close();
});

Deno.test("each channel gets the device's events in the phone's order until it stops", async () => {
  const r = await rig();
  const a = new Recorder();
  const b = new Recorder();
  const other = new Recorder();
  await monitored(r, "101", a, b);
  await monitored(r, "102", other);
  for (
    const [n, q] of [
      ["onIncomingCall", "cid=c1&remote=sip:555@pbx&dr=Jane&n=1"],
      ["onConnected", "cid=c1&remote=sip:555@pbx&n=1"],
      ["onHold", "cid=c1&n=1"],
    ] as const
  ) assert.equal((await phoneCalls(r, "101", n, q)).status, 200);
  r.monitor.unsubscribe("101", b);
  r.monitor.unsubscribe("101", b);
  await phoneCalls(r, "101", "onUnhold", "cid=c1&n=1");
  assert.deepEqual(a.lines, [
    "Delivered 101 555 [1:alerting:555]",
    "Established 101 incoming 555 [1:connected:555]",
    "Held 101 [1:held:555]",
    "Retrieved 101 [1:connected:555]",
  ]);
  assert.deepEqual(b.lines, a.lines.slice(0, 3));
  assert.equal(a.events[0].calls[0].displayName, "Jane");
  assert.deepEqual(other.events, []);
  r.monitor.unsubscribe("101", a);
  await phoneCalls(r, "101", "onDisconnected", "cid=c1&n=0");
  assert.equal(a.events.length, 4);
  // The calls were still tracked while nobody watched.
  assert.deepEqual(r.monitor.status().devices.find((d) => d.device === "101")!.calls, []);
  await r.monitor.close();
});

Deno.test("a channel that throws does not keep events from the others", async () => {
  const r = await rig();
  const good = new Recorder();
  await monitored(r, "101", {
    id: 999,
    deliver: () => {
      throw new Error("boom");
    },
    monitorEnded: () => {},
  }, good);
  await phoneCalls(r, "101", "onIncomingCall", "cid=a&remote=555");
  assert.equal(good.events.length, 1);
  await r.monitor.close();
});

Deno.test("a wrong or missing key, or another source, gets 403 and changes nothing", async () => {
  const r = await rig();
  const a = new Recorder();
  await monitored(r, "101", a);
  await phoneCalls(r, "101", "onIncomingCall", "cid=a&remote=555");
  const before = JSON.stringify(r.monitor.status().devices[0].calls);
  const attempts = [
    phoneCalls(r, "101", "onConnected", "cid=a", "127.0.0.1", "x".repeat(32)),
    r.monitor.handleCallback({
      path: "/phone/101/onConnected",
      rawQuery: "cid=a",
      remoteAddress: "127.0.0.1",
    }),
    phoneCalls(r, "101", "onConnected", "cid=a", "127.0.0.9"),
    phoneCalls(r, "101", "onConnected", "cid=a", "not an address"),
    // The key of another phone does not open this one.
    (async () => {
      await monitored(r, "102", new Recorder());
      return phoneCalls(r, "101", "onConnected", "cid=a", "127.0.0.1", r.port.secretOf("102"));
    })(),
  ];
  for (const result of await Promise.all(attempts)) assert.equal(result.status, 403);
  assert.equal(JSON.stringify(r.monitor.status().devices[0].calls), before);
  assert.equal(a.events.length, 1);
  assert.equal(r.monitor.status().devices[0].refusedCallbacks, 5);
  await r.monitor.close();
});

Deno.test("a refused callback leaves a warning in the log, without any key", async () => {
  await withLog(async (lines) => {
    const r = await rig();
    await monitored(r, "101", new Recorder());
    const secret = r.port.secretOf("101");
    await phoneCalls(r, "101", "onConnected", "cid=a", "127.0.0.9");
    await phoneCalls(r, "101", "onConnected", "cid=a", "127.0.0.1", "forged");
    const warnings = lines.filter((l) => / WARN {2}\[monitor\] refused a callback/.test(l));
    assert.equal(warnings.length, 2);
    assert.match(
      warnings[0],
      /phone 101 from 127\.0\.0\.9: not from the phone's host 127\.0\.0\.1/,
    );
    assert.match(warnings[1], /wrong key/);
    assert.ok(lines.every((l) => !l.includes(secret)));
    assert.equal(
      redactor.redact(`GET /phone/101/onHold?k=${secret}`),
      "GET /phone/101/onHold?k=***",
    );
    await r.monitor.close();
  });
});

Deno.test("a genuine callback gets 200; unknown phones and other paths get 404", async () => {
  const r = await rig();
  await monitored(r, "101", new Recorder());
  assert.equal((await phoneCalls(r, "101", "onOffhook", "cid=$call-id")).status, 200);
  const at = (path: string) =>
    r.monitor.handleCallback({ path, rawQuery: "", remoteAddress: "127.0.0.1" });
  assert.equal((await at("/phone/999/onConnected")).status, 404);
  assert.equal((await at("/phone/101/onSomething")).status, 404);
  assert.equal((await at("/favicon.ico")).status, 404);
  assert.equal(
    (await phoneCalls(r, "101", "onConnected", "dr=" + "x".repeat(20_000))).status,
    400,
  );
  await r.monitor.close();
});

Deno.test("a callback from the IPv4-mapped form of the phone's address is accepted", async () => {
  const r = await rig();
  const a = new Recorder();
  await monitored(r, "101", a);
  assert.equal(
    (await phoneCalls(r, "101", "onIncomingCall", "cid=a&remote=5", "::ffff:127.0.0.1")).status,
    200,
  );
  assert.equal(a.events.length, 1);
  await r.monitor.close();
});

Deno.test("a phone configured by name is checked against the name's addresses", async () => {
  const lookups: string[] = [];
  const r = await rig({ "101": "desk-101.test" }, {
    lookup: (host) => {
      lookups.push(host);
      return Promise.resolve(host === "desk-101.test" ? ["10.1.2.3", "fd00::3"] : []);
    },
  });
  const a = new Recorder();
  await monitored(r, "101", a);
  assert.equal(
    (await phoneCalls(r, "101", "onIncomingCall", "cid=a&remote=5", "10.1.2.3")).status,
    200,
  );
  assert.equal((await phoneCalls(r, "101", "onConnected", "cid=a", "fd00::3")).status, 200);
  assert.equal((await phoneCalls(r, "101", "onHold", "cid=a", "10.1.2.4")).status, 403);
  assert.equal((await phoneCalls(r, "101", "onHold", "cid=a", "10.1.2.4")).status, 403);
  assert.deepEqual(lookups, ["desk-101.test"]);
  assert.equal(a.events.length, 2);
  await r.monitor.close();
});

Deno.test("callbacks keep their order while the phone's name is being resolved", async () => {
  const answer = deferred<readonly string[]>();
  let calls = 0;
  const r = await rig({ "101": "desk-101.test" }, {
    lookup: () => (++calls === 1 ? Promise.resolve(["10.1.2.3"]) : answer.promise),
    unansweredMs: 3_600_000,
  });
  const a = new Recorder();
  await monitored(r, "101", a);
  await phoneCalls(r, "101", "onIncomingCall", "cid=a&remote=5", "10.1.2.3");
  r.clock.advance(301_000); // the cached answer expires: the next callback waits for DNS
  const connected = phoneCalls(r, "101", "onConnected", "cid=a", "10.1.2.3");
  // Meanwhile a ClearConnection is accepted: its effect must come after the callback.
  await r.monitor.command(call("101", "ClearConnection"));
  assert.equal(a.events.length, 1);
  answer.resolve(["10.1.2.3"]);
  assert.equal((await connected).status, 200);
  assert.deepEqual(a.lines, [
    "Delivered 101 5 [1:alerting:5]",
    "Established 101 incoming 5 [1:connected:5]",
  ]);
  await r.monitor.close();
});

Deno.test("a phone calling back with an old key is configured again, rate-limited", async () => {
  const r = await rig();
  const a = new Recorder();
  await monitored(r, "101", a);
  const old = "o".repeat(32);
  const settle = () => new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(
    (await phoneCalls(r, "101", "onIncomingCall", "cid=a", "127.0.0.1", old)).status,
    403,
  );
  await settle();
  assert.equal(r.port.configured.length, 2);
  await phoneCalls(r, "101", "onIncomingCall", "cid=a", "127.0.0.1", old);
  await settle();
  assert.equal(r.port.configured.length, 2);
  // From somewhere else, an old key is just refused.
  r.clock.advance(30_000);
  await phoneCalls(r, "101", "onIncomingCall", "cid=a", "127.0.0.66", old);
  await settle();
  assert.equal(r.port.configured.length, 2);
  await phoneCalls(r, "101", "onIncomingCall", "cid=a", "127.0.0.1", old);
  await settle();
  assert.equal(r.port.configured.length, 3);
  assert.deepEqual(a.events, []);
  await r.monitor.close();
});

Deno.test("a phone that restarted has no calls and is configured again", async () => {
  const r = await rig();
  const a = new Recorder();
  await monitored(r, "101", a);
  await phoneCalls(r, "101", "onIncomingCall", "cid=a&remote=5");
  await phoneCalls(r, "101", "onConnected", "cid=a&remote=5");
  assert.equal(
    (await phoneCalls(r, "101", "onSetup", "cid=$call-id&remote=$remote&n=$nr_ongoing_calls"))
      .status,
    200,
  );
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(a.lines.at(-1), "ConnectionCleared 101 []");
  assert.equal(r.port.configured.length, 2);
  await r.monitor.close();
});

Deno.test("a phone removed from the configuration ends its monitors; others go on", async () => {
  const r = await rig();
  const a = new Recorder();
  await monitored(r, "101", a);
  await monitored(r, "102", a);
  const key102 = r.port.secretOf("102");
  const smaller = await phonesConfig({ "101": "127.0.0.1" });
  r.port.settings = smaller;
  r.monitor.apply(smaller);
  assert.deepEqual(r.monitor.status().devices.map((d) => d.device), ["101"]);
  assert.deepEqual(a.ended, ["102"], "the channel is told its monitor of 102 ended");
  assert.equal(
    (await r.monitor.handleCallback({
      path: "/phone/102/onIncomingCall",
      rawQuery: `k=${key102}&cid=x&remote=1`,
      remoteAddress: "127.0.0.2",
    })).status,
    404,
  );
  await phoneCalls(r, "101", "onIncomingCall", "cid=y&remote=2");
  assert.deepEqual(a.lines, ["Delivered 101 2 [1:alerting:2]"]);
  assert.deepEqual(await r.monitor.subscribe("102", a), { ok: false, reason: "UnknownDevice" });
  await r.monitor.close();
});

Deno.test("a phone that moved to another host is configured again and checked there", async () => {
  const r = await rig();
  const a = new Recorder();
  await monitored(r, "101", a);
  const moved = await phonesConfig({ "101": "127.0.0.5", "102": "127.0.0.2" });
  r.port.settings = moved;
  r.monitor.apply(moved);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(r.port.configured.length, 2);
  assert.equal((await phoneCalls(r, "101", "onIncomingCall", "cid=a", "127.0.0.1")).status, 403);
  assert.equal((await phoneCalls(r, "101", "onIncomingCall", "cid=a", "127.0.0.5")).status, 200);
  // An unchanged configuration does not touch the phone.
  r.monitor.apply(moved);
  assert.equal(r.port.configured.length, 2);
  await r.monitor.close();
});

Deno.test("a phone that moved to another port of the same host is configured again", async () => {
  const r = await rig({ "101": "127.0.0.1:8080", "102": "127.0.0.2" });
  await monitored(r, "101", new Recorder());
  const moved = await phonesConfig({ "101": "127.0.0.1:8081", "102": "127.0.0.2" });
  r.port.settings = moved;
  r.monitor.apply(moved);
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(r.port.configured.length, 2);
  assert.equal((await phoneCalls(r, "101", "onIncomingCall", "cid=a")).status, 200);
  await r.monitor.close();
});

Deno.test("MakeCall: Initiated first, then callbacks that came while it was in flight", async () => {
  const r = await rig();
  const a = new Recorder();
  const b = new Recorder();
  await monitored(r, "101", a, b);
  const reply = deferred<Outcome>();
  r.port.answerCommand = () => reply.promise;
  const command = call("101", "MakeCall", "102");
  const made = r.monitor.command(command);
  // The phone reports the call before its HTTP reply reaches us.
  assert.equal(
    (await phoneCalls(r, "101", "onOutgoingCall", "cid=x&remote=102@pbx&n=1")).status,
    200,
  );
  assert.equal((await phoneCalls(r, "101", "onConnected", "cid=x&remote=102@pbx&n=1")).status, 200);
  assert.equal(a.events.length, 0, "nothing before the phone's answer");
  let seenAtReply = -1;
  reply.resolve(OK);
  const outcome = await made.then((o) => ((seenAtReply = a.events.length), o));
  // The Initiated names the command that caused it, so the channel can put it right after the
  // reply.
  assert.deepEqual(outcome, OK);
  assert.equal(a.events[0].cause, command);
  assert.equal(a.events[1].cause, undefined);
  assert.deepEqual(a.lines, [
    "Initiated 101 1 [1:dialing:102]",
    "Originated 101 102 [1:dialing:102]",
    "Established 101 outgoing 102 [1:connected:102]",
  ]);
  assert.deepEqual(b.lines, a.lines);
  assert.equal(seenAtReply, 3);
  await phoneCalls(r, "101", "onDisconnected", "cid=x&n=0");
  assert.equal(a.lines.at(-1), "ConnectionCleared 101 []");
  await r.monitor.close();
});

Deno.test("a refused MakeCall publishes no Initiated; held callbacks follow as usual", async () => {
  const r = await rig();
  const a = new Recorder();
  await monitored(r, "101", a);
  const reply = deferred<Outcome>();
  r.port.answerCommand = () => reply.promise;
  const made = r.monitor.command(call("101", "MakeCall", "102"));
  await phoneCalls(r, "101", "onIncomingCall", "cid=i&remote=555");
  reply.resolve({ ok: false, reason: "PhoneRefused" });
  assert.deepEqual(await made, { ok: false, reason: "PhoneRefused" });
  assert.deepEqual(a.lines, ["Delivered 101 555 [1:alerting:555]"]);
  await r.monitor.close();
});

Deno.test("MakeCall whose send throws still releases the held callbacks", async () => {
  const r = await rig();
  const a = new Recorder();
  await monitored(r, "101", a);
  const reply = deferred<Outcome>();
  r.port.answerCommand = () =>
    reply.promise.then(() => {
      throw new Error("socket closed");
    });
  const made = r.monitor.command(call("101", "MakeCall", "102"));
  await phoneCalls(r, "101", "onIncomingCall", "cid=i&remote=555");
  reply.resolve(OK);
  await assert.rejects(made, /socket closed/);
  assert.deepEqual(a.lines, ["Delivered 101 555 [1:alerting:555]"]);
  await r.monitor.close();
});

Deno.test("commands to a device never monitored pass straight through", async () => {
  const r = await rig();
  const outcome = await r.monitor.command(call("102", "MakeCall", "101"));
  assert.deepEqual(outcome, OK);
  assert.equal(r.port.sent.length, 1);
  assert.deepEqual(r.monitor.status().devices, []);
  await r.monitor.close();
});

Deno.test("ClearConnection accepted on a ringing call publishes ConnectionCleared", async () => {
  const r = await rig();
  const a = new Recorder();
  await monitored(r, "101", a);
  await phoneCalls(r, "101", "onIncomingCall", "cid=i&remote=555&n=1");
  await r.monitor.command(call("101", "ClearConnection"));
  assert.deepEqual(a.lines, [
    "Delivered 101 555 [1:alerting:555]",
    "ConnectionCleared 101 callRejected []",
  ]);
  // A refused ClearConnection changes nothing.
  await phoneCalls(r, "101", "onIncomingCall", "cid=j&remote=556&n=1");
  r.port.answerCommand = () => Promise.resolve({ ok: false, reason: "Timeout" });
  await r.monitor.command(call("101", "ClearConnection"));
  assert.equal(a.events.length, 3);
  await r.monitor.close();
});

Deno.test("TransferCall then MakeCall: Initiated, then Transferred, legs cleared", async () => {
  const r = await rig();
  const a = new Recorder();
  await monitored(r, "101", a);
  await phoneCalls(r, "101", "onIncomingCall", "cid=c1&remote=555");
  await phoneCalls(r, "101", "onConnected", "cid=c1&remote=555");
  await r.monitor.command(call("101", "TransferCall"));
  await phoneCalls(r, "101", "onHold", "cid=c1&remote=555&n=1");
  await r.monitor.command(call("101", "MakeCall", "103"));
  await phoneCalls(r, "101", "onTransfer", "cid=c1&remote=555&n=0");
  assert.deepEqual(a.lines, [
    "Delivered 101 555 [1:alerting:555]",
    "Established 101 incoming 555 [1:connected:555]",
    "Held 101 [1:held:555]",
    "Initiated 101 2 [1:held:555,2:dialing:103]",
    "Transferred 101 555 [2:dialing:103]",
    "ConnectionCleared 101 []",
  ]);
  await r.monitor.close();
});

Deno.test("a call rejected on the phone ends after two minutes without news", async () => {
  const r = await rig();
  const a = new Recorder();
  await monitored(r, "101", a);
  await phoneCalls(r, "101", "onIncomingCall", "cid=i&remote=555&n=1");
  assert.equal(r.clock.pending, 1);
  r.clock.advance(119_999);
  assert.equal(a.events.length, 1);
  r.clock.advance(1);
  assert.deepEqual(a.lines, ["Delivered 101 555 [1:alerting:555]", "ConnectionCleared 101 []"]);
  assert.equal(r.clock.pending, 0);
  await r.monitor.close();
});

Deno.test("the status shows devices, channels, calls and last callback, never a key", async () => {
  const r = await rig();
  await monitored(r, "101", new Recorder(), new Recorder());
  r.clock.advance(5);
  await phoneCalls(r, "101", "onIncomingCall", "cid=i&remote=sip:555@pbx&dr=Jane");
  const status = r.monitor.status();
  assert.deepEqual(status.devices.map((d) => ({ ...d })), [{
    device: "101",
    host: "127.0.0.1",
    configuration: "configured",
    configuredAt: 1_000_000,
    error: undefined,
    callbackBase: "http://192.0.2.1:26536",
    subscribers: 2,
    calls: [{ callRef: 1, state: "alerting", remote: "555", displayName: "Jane" }],
    lastCallbackAt: 1_000_005,
    refusedCallbacks: 0,
    lastRefusal: undefined,
  }]);
  assert.ok(!JSON.stringify(status).includes(r.port.secretOf("101")));
  await r.monitor.close();
});

Deno.test("after close, timers are gone and callbacks are not taken", async () => {
  const r = await rig();
  await monitored(r, "101", new Recorder());
  await phoneCalls(r, "101", "onIncomingCall", "cid=i&remote=555");
  assert.equal(r.clock.pending, 1);
  await r.monitor.close();
  assert.equal(r.clock.pending, 0);
  assert.equal((await phoneCalls(r, "101", "onConnected", "cid=i")).status, 404);
  assert.equal((await r.monitor.subscribe("101", new Recorder())).ok, false);
});

Deno.test("variables the phone left unfilled count as empty, not as text", async () => {
  const r = await rig();
  const a = new Recorder();
  await monitored(r, "101", a);
  await phoneCalls(r, "101", "onIncomingCall", "cid=a&remote=sip:5@h&dr=$display_remote&n=1");
  await phoneCalls(r, "101", "onOutgoingCall", "cid=b&remote=$remote&n=$nr_ongoing_calls");
  assert.deepEqual(a.events[0].calls[0].displayName, "");
  assert.deepEqual(a.lines, [
    "Delivered 101 5 [1:alerting:5]",
    "Originated 101 [1:alerting:5,2:dialing:]",
  ]);
  await r.monitor.close();
});
