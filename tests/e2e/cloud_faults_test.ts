/**
 * Cloud phones, faults (docs/cloud-phones.md §6): the event WebSocket drops in the middle of a
 * call and is recovered with `wsc` (missed events replayed, none lost, none twice), or the
 * recovery fails and the calls are reconciled from the account's active calls; a provider
 * settings change makes the subscription again; an outage shows on the status page and leaves
 * SNOM phones alone; an unanswered heartbeat counts as a drop. Timings are shortened through
 * the server's `cloudTiming`, never by waiting real seconds.
 */

import assert from "node:assert/strict";
import { FakeProvider } from "../fakes/fake_provider.ts";
import { statusView } from "../../src/server/view.ts";
import { configLines, ringCentralLines } from "../provider/_helpers.ts";
import { startServer, type TestServer } from "./_server.ts";

const FAST = { reconnectBaseMs: 40, reconnectMaxMs: 400, heartbeatMs: 60_000 };

async function fakeProvider(): Promise<FakeProvider> {
  return await FakeProvider.start({
    groups: { Heavy: { limit: 100, windowSeconds: 60, penaltySeconds: 60 } },
  });
}

type Events = { state: string; drops: number; recoveries: number; resubscriptions: number };

function events(pcs: TestServer): Events {
  const status = pcs.server.provider.status();
  assert.ok(status.configured && status.events, "the status has the event subscription");
  return status.events;
}

/** Waits (on real time, bounded) until the subscription's status satisfies `ok`. */
async function until(pcs: TestServer, ok: (e: Events) => boolean, what: string): Promise<void> {
  const end = Date.now() + 5000;
  while (!ok(events(pcs))) {
    if (Date.now() > end) throw new Error(`${what}: ${JSON.stringify(events(pcs))}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Every line but DeviceInformation. */
function calls(lines: readonly string[]): string[] {
  return lines.filter((l) => !l.startsWith("DeviceInformation"));
}

function noSecrets(pcs: TestServer, fake: FakeProvider): void {
  assert.ok(fake.wscTokens.length > 0);
  const outputs = [
    pcs.logLines.join("\n"),
    JSON.stringify(pcs.server.status()),
    JSON.stringify(statusView({
      now: Date.now(),
      startedAt: pcs.server.startedAt,
      settings: pcs.server.settings,
      findings: [],
      valid: true,
      phones: pcs.server.phones,
      monitor: pcs.server.monitor,
      provider: pcs.server.provider,
      channel: pcs.server.channel,
      http: pcs.server.http,
      journal: pcs.server.journal,
      problems: [],
    })),
  ];
  for (const token of [...fake.wscTokens, ...fake.accessTokens]) {
    for (const out of outputs) assert.ok(!out.includes(token), "a token reached an output");
  }
}

Deno.test("cloud phones: a WebSocket drop mid-call is recovered with wsc; missed events come once each", async () => {
  const fake = await fakeProvider();
  const t = fake.telephony;
  // The gateway replays two notifications the client already had: they must not count twice.
  fake.recoveryOverlap = 2;
  await using pcs = await startServer({
    lines: [...configLines(ringCentralLines(fake)), "phone=201@provider"],
    cloudTiming: FAST,
  });
  try {
    const a = await pcs.channel("STLI;Version=2");
    assert.equal(await a.command("MonitorStart 201"), "error_ind SUCCESS MonitorStart");
    const s1 = t.ring("201", "+15550123");
    assert.equal((await a.readLines(2))[0], "Delivered 201 newCall 201 +15550123 201");
    assert.equal(await a.command("AnswerCall 201"), "error_ind SUCCESS AnswerCall");
    assert.equal(await a.readLine(), "Established 201 newCall 201 +15550123 201");
    assert.equal(await a.command("HoldCall 201"), "error_ind SUCCESS HoldCall");
    assert.equal(await a.readLine(), "Held 201 normal 201");
    const reads = t.activeCallReads;

    // The socket drops; while it is down the user retrieves the call on the app and the far
    // end hangs up. Both notifications are missed and must come with the recovery.
    fake.dropWebSockets();
    t.setStatus(s1, "201", "Answered");
    t.farHangUp(s1);
    const lines = await a.until("DeviceInformation 201 0 ()");
    assert.deepEqual(calls(lines), [
      "Retrieved 201 normal 201",
      "ConnectionCleared 201 normalClearing 201",
    ]);
    await until(pcs, (e) => e.state === "live" && e.recoveries === 1, "recovered");
    assert.deepEqual(fake.recoveries, ["Successful"]);
    assert.equal(events(pcs).drops, 1);
    assert.equal(events(pcs).resubscriptions, 0);
    assert.equal(t.activeCallReads, reads, "a recovery reads no active calls");
    assert.equal(fake.subscribedSockets, 1);

    // Nothing more arrives late, and events keep flowing on the recovered socket.
    assert.deepEqual(await a.sync(), []);
    t.ring("201", "+15550124");
    assert.equal((await a.readLines(2))[0], "Delivered 201 newCall 201 +15550124 201");
    assert.ok(pcs.logLines.some((l) => /event WebSocket closed.*reconnecting/.test(l)));
    assert.ok(pcs.logLines.some((l) => /recovered; missed events follow/.test(l)));
    assert.equal(fake.logins().length, 1, "one shared session");
    noSecrets(pcs, fake);
  } finally {
    await pcs.close();
    await fake.close();
  }
});

Deno.test("cloud phones: when recovery fails the server subscribes again and reconciles calls from the active calls", async () => {
  const fake = await fakeProvider();
  const t = fake.telephony;
  await using pcs = await startServer({
    lines: [...configLines(ringCentralLines(fake)), "phone=201@provider", "phone=202@provider"],
    cloudTiming: FAST,
  });
  try {
    const a = await pcs.channel("STLI;Version=2");
    assert.equal(await a.command("MonitorStart 201"), "error_ind SUCCESS MonitorStart");
    assert.equal(await a.command("MonitorStart 202"), "error_ind SUCCESS MonitorStart");
    const s1 = t.ring("201", "+15550001");
    t.setStatus(s1, "201", "Answered");
    const s2 = t.ring("202", "+15550002");
    assert.deepEqual(calls(await a.until("Delivered 202 newCall 202 +15550002 202")), [
      "Delivered 201 newCall 201 +15550001 201",
      "Established 201 newCall 201 +15550001 201",
      "Delivered 202 newCall 202 +15550002 202",
    ]);
    await a.readLine(); // its DeviceInformation

    // Down past the recovery window: one call ends, another starts; both notifications are lost.
    fake.recoveryRefused = true;
    fake.dropWebSockets();
    t.farHangUp(s1);
    const s3 = t.ring("201", "+15550003");
    const reads = t.activeCallReads;
    const lines = await a.until("Delivered 201 newCall 201 +15550003 201");
    assert.deepEqual(calls(lines), [
      "ConnectionCleared 201 normalClearing 201",
      "Delivered 201 newCall 201 +15550003 201",
    ]);
    await a.readLine();
    await until(pcs, (e) => e.state === "live" && e.resubscriptions === 1, "subscribed again");
    assert.deepEqual(fake.recoveries, ["Failed"]);
    assert.equal(t.activeCallReads, reads + 1, "one read of the account's active calls");
    assert.equal(fake.requestsTo("/restapi/v1.0/account/~/active-calls").length, 1);
    assert.equal(fake.subscribedSockets, 1);

    // The ringing call of 202 was still there: nothing for it; later events flow again.
    assert.deepEqual(await a.sync(), []);
    t.farHangUp(s2);
    t.farHangUp(s3);
    assert.deepEqual(calls(await a.readLines(4)), [
      "ConnectionCleared 202 normalClearing 202",
      "ConnectionCleared 201 normalClearing 201",
    ]);
    noSecrets(pcs, fake);
  } finally {
    await pcs.close();
    await fake.close();
  }
});

Deno.test("cloud phones: changed provider settings make the subscription again for the devices still monitored", async () => {
  const fake = await fakeProvider();
  const t = fake.telephony;
  await using pcs = await startServer({
    lines: [...configLines(ringCentralLines(fake)), "phone=201@provider"],
    cloudTiming: FAST,
  });
  try {
    const a = await pcs.channel("STLI;Version=2");
    assert.equal(await a.command("MonitorStart 201"), "error_ind SUCCESS MonitorStart");
    const s1 = t.ring("201", "+15550001");
    assert.equal((await a.readLines(2))[0], "Delivered 201 newCall 201 +15550001 201");

    await pcs.reconfigure([
      ...configLines(ringCentralLines(fake, { providerTimeoutSeconds: 7 })),
      "phone=201@provider",
    ]);
    await until(pcs, (e) => e.state === "live" && e.resubscriptions === 1, "subscribed again");
    assert.equal(fake.logins().length, 2, "the new settings log in once");
    assert.equal(fake.subscribedSockets, 1, "the old socket is closed");

    // The call rang through the change and is still known; its end arrives on the new socket.
    assert.deepEqual(await a.sync(), []);
    t.farHangUp(s1);
    assert.deepEqual(await a.readLines(2), [
      "ConnectionCleared 201 normalClearing 201",
      "DeviceInformation 201 0 ()",
    ]);
  } finally {
    await pcs.close();
    await fake.close();
  }
});

Deno.test("cloud phones: a provider outage backs off, shows on the status page and leaves SNOM phones alone", async () => {
  const fake = await fakeProvider();
  const t = fake.telephony;
  await using pcs = await startServer({
    lines: [...configLines(ringCentralLines(fake)), "phone=201@provider", "demoPhones = 2"],
    cloudTiming: { ...FAST, reconnectBaseMs: 60 },
  });
  try {
    const a = await pcs.channel("STLI;Version=2");
    assert.equal(await a.command("MonitorStart 201"), "error_ind SUCCESS MonitorStart");
    assert.equal(await a.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
    const before = fake.requestsTo("/restapi/oauth/wstoken").length;

    // The provider answers 503 three times: attempts after 60, 120 and 240 ms.
    fake.failNext("/restapi/oauth/wstoken", 503, 503, 503);
    fake.dropWebSockets();
    await until(pcs, (e) => e.state === "reconnecting", "reconnecting");
    const view = () =>
      statusView({
        now: Date.now(),
        startedAt: pcs.server.startedAt,
        settings: pcs.server.settings,
        findings: [],
        valid: true,
        phones: pcs.server.phones,
        monitor: pcs.server.monitor,
        provider: pcs.server.provider,
        channel: pcs.server.channel,
        http: pcs.server.http,
        journal: pcs.server.journal,
        problems: [],
      }).provider;
    assert.equal(view().healthy, false);
    assert.match(view().events ?? "", /^reconnecting since \S+: /);

    // The SNOM phone works as ever meanwhile.
    pcs.phone("101").callFrom("0301234");
    await pcs.phonesIdle();
    assert.equal((await a.readLines(2))[0], "Delivered 101 newCall 101 0301234 101");
    assert.equal(await a.command("AnswerCall 101"), "error_ind SUCCESS AnswerCall");
    await pcs.phonesIdle();
    assert.equal(await a.readLine(), "Established 101 newCall 101 0301234 101");

    await until(pcs, (e) => e.state === "live", "live again");
    const tries = fake.requestsTo("/restapi/oauth/wstoken").slice(before);
    assert.equal(tries.length, 4);
    const gaps = tries.slice(1).map((r, i) => r.at - tries[i].at);
    assert.ok(gaps[0] >= 110 && gaps[1] >= 230, `back-off doubles: ${gaps}`);
    assert.deepEqual(fake.recoveries, ["Successful"], "still within the recovery window");
    assert.equal(view().healthy, true);
    assert.equal(view().events, "live");
    t.ring("201", "+15550009");
    assert.equal((await a.readLines(2))[0], "Delivered 201 newCall 201 +15550009 201");
  } finally {
    await pcs.close();
    await fake.close();
  }
});

Deno.test("cloud phones: an unanswered heartbeat counts as a drop; the recovery brings what was missed", async () => {
  const fake = await fakeProvider();
  const t = fake.telephony;
  await using pcs = await startServer({
    lines: [...configLines(ringCentralLines(fake)), "phone=201@provider"],
    cloudTiming: { ...FAST, heartbeatMs: 80, heartbeatTimeoutMs: 80 },
  });
  try {
    const a = await pcs.channel("STLI;Version=2");
    assert.equal(await a.command("MonitorStart 201"), "error_ind SUCCESS MonitorStart");
    // A quiet but healthy gateway answers heartbeats and the subscription stays.
    await fake.waitFor(() => fake.heartbeats >= 2);
    assert.equal(events(pcs).drops, 0);

    // A half-open connection: nothing comes any more, not even the heartbeat's answer.
    fake.silent = true;
    t.ring("201", "+15550001");
    await until(pcs, (e) => e.drops === 1, "dropped");
    fake.silent = false;
    assert.equal((await a.readLines(2))[0], "Delivered 201 newCall 201 +15550001 201");
    await until(pcs, (e) => e.state === "live" && e.recoveries === 1, "recovered");
    assert.ok(pcs.logLines.some((l) => /no answer to a heartbeat/.test(l)));
  } finally {
    await pcs.close();
    await fake.close();
  }
});
