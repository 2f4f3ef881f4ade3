/**
 * Cloud phones, events (docs/cloud-phones.md §4): MonitorStart on a provider extension opens
 * the one WebSocket subscription; the provider's party changes reach every monitoring channel
 * as the STLI events a SNOM phone gives, with the same callRef rules
 * (docs/channel-protocol.md §4.2).
 */

import assert from "node:assert/strict";
import { FakeProvider } from "../fakes/fake_provider.ts";
import { configLines, ringCentralLines } from "../provider/_helpers.ts";
import { startServer } from "./_server.ts";

Deno.test("cloud phones: two channels monitoring one extension get the SNOM events of a whole call story", async () => {
  const fake = await FakeProvider.start({
    groups: { Heavy: { limit: 100, windowSeconds: 60, penaltySeconds: 60 } },
  });
  const t = fake.telephony;
  await using pcs = await startServer({
    lines: [...configLines(ringCentralLines(fake)), "phone=201@provider", "phone=202@provider"],
  });
  try {
    // A call in progress before monitoring starts is adopted.
    const s0 = t.ring("201", "+15550100");
    t.setStatus(s0, "201", "Answered");

    const a = await pcs.channel("STLI;Version=2");
    const b = await pcs.channel("STLI;Version=2");
    assert.equal(await a.command("MonitorStart 201"), "error_ind SUCCESS MonitorStart");
    assert.equal(await b.command("MonitorStart 201"), "error_ind SUCCESS MonitorStart");
    assert.equal(fake.subscribedSockets, 1, "one subscription for every channel");
    assert.equal(fake.requestsTo("/restapi/oauth/wstoken").length, 1);
    const sub = fake.requests.filter((r) => r.path === "/restapi/oauth/wstoken")[0];
    assert.match(sub.headers.get("authorization") ?? "", /^Bearer /);

    t.farHangUp(s0);
    const cleared0 = await a.readLines(2);
    assert.match(cleared0[0], /^ConnectionCleared 201 normalClearing 201$/);
    assert.equal(cleared0[1], "DeviceInformation 201 0 ()");

    // Inbound: ring, answer, hold, retrieve, blind transfer.
    const s1 = t.ring("201", "+15550123", "Jane");
    const ring = await a.readLines(2);
    assert.equal(ring[0], "Delivered 201 newCall 201 +15550123 201");
    const ref = /^DeviceInformation 201 1 \((\d+):alerting:\+15550123\)$/.exec(ring[1])?.[1];
    assert.ok(ref, ring[1]);
    assert.equal(await a.command("AnswerCall 201"), "error_ind SUCCESS AnswerCall");
    assert.equal(await a.readLine(), "Established 201 newCall 201 +15550123 201");
    assert.equal(await a.command("HoldCall 201"), "error_ind SUCCESS HoldCall");
    assert.equal(await a.readLine(), "Held 201 normal 201");
    assert.equal(await a.command("RetrieveCall 201"), "error_ind SUCCESS RetrieveCall");
    assert.equal(await a.readLine(), "Retrieved 201 normal 201");
    assert.equal(await a.command("TransferCall 201 202"), "error_ind SUCCESS TransferCall");
    assert.equal(await a.readLine(), "Transferred 201 transfer 201 202");
    assert.equal(t.sessions.get(s1)?.parties[1].status.reason, "BlindTransfer");

    // Outbound: MakeCall → Initiated after the reply, Originated when the provider reports it.
    assert.equal(await a.command("MakeCall 201 +15550999"), "error_ind SUCCESS MakeCall");
    const made = await a.readLines(4);
    const mref = /^Initiated 201 makeCall (\d+) 201$/.exec(made[0])?.[1];
    assert.ok(mref, made[0]);
    assert.notEqual(mref, ref);
    assert.equal(made[1], `DeviceInformation 201 1 (${mref}:dialing:+15550999)`);
    assert.equal(made[2], "Originated 201 newCall 201 +15550999 201");
    assert.equal(made[3], `DeviceInformation 201 1 (${mref}:dialing:+15550999)`);
    const sid = [...t.sessions.values()].find((s) => s.parties[0].to.phoneNumber === "+15550999")!
      .id;
    t.farAnswer(sid);
    assert.equal(await a.readLine(), "Established 201 newCall +15550999 201 +15550999");
    assert.equal(await a.command("ClearConnection 201"), "error_ind SUCCESS ClearConnection");
    assert.deepEqual(await a.readLines(2), [
      "ConnectionCleared 201 normalClearing 201",
      "DeviceInformation 201 0 ()",
    ]);

    // The second channel saw the same events.
    const bLines = await b.readLines(15);
    assert.deepEqual(bLines.filter((l) => !l.startsWith("DeviceInformation")), [
      "ConnectionCleared 201 normalClearing 201",
      "Delivered 201 newCall 201 +15550123 201",
      "Established 201 newCall 201 +15550123 201",
      "Held 201 normal 201",
      "Retrieved 201 normal 201",
      "Transferred 201 transfer 201 202",
      `Initiated 201 makeCall ${mref} 201`,
      "Originated 201 newCall 201 +15550999 201",
      "Established 201 newCall +15550999 201 +15550999",
      "ConnectionCleared 201 normalClearing 201",
    ]);

    // The subscription closes when no cloud device is monitored any more.
    assert.equal(await a.command("MonitorStop 201"), "error_ind SUCCESS MonitorStop");
    assert.equal(fake.subscribedSockets, 1, "b still monitors");
    assert.equal(await b.command("MonitorStop 201"), "error_ind SUCCESS MonitorStop");
    await fake.waitFor(() => fake.subscribedSockets === 0);
    assert.equal(fake.tokenRequests().length, 1, "one shared session");
  } finally {
    await pcs.close();
    await fake.close();
  }
});

Deno.test("cloud phones: a call from a cloud extension to a simulated SNOM phone and back", async () => {
  const fake = await FakeProvider.start({
    groups: { Heavy: { limit: 100, windowSeconds: 60, penaltySeconds: 60 } },
  });
  const t = fake.telephony;
  await using pcs = await startServer({
    lines: [...configLines(ringCentralLines(fake)), "phone=201@provider", "demoPhones = 1"],
  });
  // The network between the provider and the LAN, played by the test: a call-out to 101
  // rings the simulated SNOM phone through its own simulation, as a SIP trunk would.
  const snom = pcs.phone("101");
  const bridged = new Map<string, string>();
  t.onCallOut = (sid, to) => {
    if (to.extensionNumber === "101") bridged.set(sid, snom.callFrom("201"));
  };
  try {
    const a = await pcs.channel("STLI;Version=2");
    assert.equal(await a.command("MonitorStart 201"), "error_ind SUCCESS MonitorStart");
    assert.equal(await a.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");

    // Cloud → SNOM: MakeCall on the extension; the SNOM rings, its user answers, then hangs up.
    assert.equal(await a.command("MakeCall 201 101"), "error_ind SUCCESS MakeCall");
    await fake.waitFor(() => bridged.size === 1);
    await pcs.phonesIdle();
    let lines = await a.until("Delivered 101 newCall 101 201 101");
    assert.equal(lines.filter((l) => /^Initiated 201 makeCall \d+ 201$/.test(l)).length, 1);
    assert.ok(calls(lines).includes("Originated 201 newCall 201 101 201"), lines.join("\n"));
    const [sid, snomCall] = [...bridged][0];
    snom.answer(snomCall);
    await pcs.phonesIdle();
    t.farAnswer(sid);
    lines = await a.until("Established 201 newCall 101 201 101");
    assert.ok(calls(lines).includes("Established 101 newCall 101 201 101"), lines.join("\n"));
    snom.hangup(snomCall);
    await pcs.phonesIdle();
    t.farHangUp(sid);
    lines = await a.until("DeviceInformation 201 0 ()");
    assert.ok(calls(lines).includes("ConnectionCleared 101 normalClearing 101"), lines.join("\n"));
    assert.ok(calls(lines).includes("ConnectionCleared 201 normalClearing 201"), lines.join("\n"));

    // SNOM → cloud: the SNOM dials 201, the extension rings; AnswerCall and ClearConnection on
    // the cloud side end the call on the SNOM too.
    assert.equal(await a.command("MakeCall 101 201"), "error_ind SUCCESS MakeCall");
    await pcs.phonesIdle();
    await a.until("Originated 101 newCall 101 201 101");
    const back = t.ring("201", "101");
    await a.until("Delivered 201 newCall 201 101 201");
    await a.readLine(); // its DeviceInformation
    assert.equal(await a.command("AnswerCall 201"), "error_ind SUCCESS AnswerCall");
    snom.remoteAnswer();
    await pcs.phonesIdle();
    // The provider's event may come after the SNOM's callback: wait for it, then drain.
    lines = [...await a.until("Established 201 newCall 201 101 201"), ...await a.sync()];
    assert.deepEqual(calls(lines).sort(), [
      "Established 101 newCall 201 101 201",
      "Established 201 newCall 201 101 201",
    ]);
    assert.equal(await a.command("ClearConnection 201"), "error_ind SUCCESS ClearConnection");
    assert.equal(t.sessions.has(back), false, "the provider ended the call");
    snom.remoteHangup();
    await pcs.phonesIdle();
    lines = [...await a.until("DeviceInformation 201 0 ()"), ...await a.sync()];
    assert.deepEqual(calls(lines).sort(), [
      "ConnectionCleared 101 normalClearing 101",
      "ConnectionCleared 201 normalClearing 201",
    ]);
  } finally {
    await pcs.close();
    await fake.close();
  }
});

/** Every line but DeviceInformation. */
function calls(lines: readonly string[]): string[] {
  return lines.filter((l) => !l.startsWith("DeviceInformation"));
}
