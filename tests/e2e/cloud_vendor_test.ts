/**
 * Cloud phones against what RingCentral documents rather than what we guessed
 * (docs/provider.md §13, docs/cloud-phones.md): calls between two extensions of the account,
 * notifications out of `sequence` order, answering with no device online, lists longer than a
 * page, and the rate group commands spend on a monitored extension.
 */

import assert from "node:assert/strict";
import { FakeProvider } from "../fakes/fake_provider.ts";
import { configLines, ringCentralLines } from "../provider/_helpers.ts";
import { startServer } from "./_server.ts";
import { cloudServer } from "./_cloud.ts";
import { waitFor } from "../helpers.ts";

Deno.test("cloud phones: a call to another extension is Established when the callee picks up, not when it rings", async () => {
  const fake = await FakeProvider.start();
  await using pcs = await cloudServer(fake);
  try {
    const a = await pcs.channel("STLI;Version=2");
    assert.equal(await a.command("MonitorStart 201"), "error_ind SUCCESS MonitorStart");
    assert.equal(await a.command("MakeCall 201 202"), "error_ind SUCCESS MakeCall");
    const made = await a.readLines(4);
    assert.match(made[0], /^Initiated 201 makeCall \d+ 201$/);
    assert.equal(made[2], "Originated 201 newCall 201 202 201");
    // The platform marks the caller's party Answered as soon as 202 rings.
    const session = [...fake.telephony.sessions.values()].find((s) => s.parties.length === 2);
    assert.ok(session, "the callee's phone rings");
    assert.equal(fake.telephony.partyOf(session.id, "201").status.code, "Answered");
    assert.deepEqual(
      (await a.sync()).filter((l) => !l.startsWith("DeviceInformation")),
      [],
      "no Established while 202 only rings",
    );
    await a.sendLine("AnswerCall 202");
    const answered = await a.sync();
    assert.ok(answered.includes("error_ind SUCCESS AnswerCall"), JSON.stringify(answered));
    assert.equal(
      answered.find((l) => l.startsWith("Established")),
      "Established 201 newCall 202 201 202",
    );
  } finally {
    await pcs.close();
    await fake.close();
  }
});

Deno.test("cloud phones: notifications delivered out of sequence order do not bring an ended call back", async () => {
  const fake = await FakeProvider.start();
  const t = fake.telephony;
  await using pcs = await cloudServer(fake);
  try {
    const a = await pcs.channel("STLI;Version=2");
    assert.equal(await a.command("MonitorStart 201"), "error_ind SUCCESS MonitorStart");
    fake.holdNotifications();
    const sid = t.ring("201", "+15550123");
    t.farHangUp(sid);
    // The hang-up arrives first, the ringing after it.
    fake.releaseNotifications();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const lines = await a.sync();
    assert.ok(
      !lines.some((l) => l.startsWith("Delivered")),
      `a stale ringing event revived the call: ${JSON.stringify(lines)}`,
    );
    assert.equal(await a.command("AnswerCall 201"), "error_ind ERROR AnswerCall PhoneRefused");
  } finally {
    await pcs.close();
    await fake.close();
  }
});

Deno.test("cloud phones: AnswerCall with no device online says so and sends no answer without a device", async () => {
  const fake = await FakeProvider.start();
  const t = fake.telephony;
  t.extensions[0] = {
    ...t.extensions[0],
    devices: [{ id: "80201", online: false, type: "SoftPhone" }],
  };
  await using pcs = await cloudServer(fake);
  try {
    const a = await pcs.channel();
    t.ring("201", "+15550123");
    assert.equal(await a.command("AnswerCall 201"), "error_ind ERROR AnswerCall PhoneUnreachable");
    assert.equal(fake.requests.filter((r) => r.path.endsWith("/answer")).length, 0);
  } finally {
    await pcs.close();
    await fake.close();
  }
});

Deno.test("cloud phones: a device on the second page of the device list is found", async () => {
  const fake = await FakeProvider.start();
  const t = fake.telephony;
  // 120 offline desk phones, then the online one: the list's first page holds 100.
  const offline = Array.from({ length: 120 }, (_, i) => ({ id: `7${i}`, online: false }));
  t.extensions[1] = { ...t.extensions[1], devices: [...offline, { id: "80202", online: true }] };
  await using pcs = await cloudServer(fake);
  try {
    const a = await pcs.channel();
    assert.equal(await a.command("MakeCall 202 +15550100"), "error_ind SUCCESS MakeCall");
    const out = fake.requestsTo("/restapi/v1.0/account/~/telephony/call-out");
    assert.deepEqual(JSON.parse(out[0].body).from, { deviceId: "80202" });
    assert.deepEqual(
      fake.requestsTo("/restapi/v1.0/account/~/extension/62002/device").map((r) => r.search),
      ["?type=HardPhone", "?type=HardPhone&page=2&perPage=100", "?type=SoftPhone"],
    );
  } finally {
    await pcs.close();
    await fake.close();
  }
});

Deno.test("cloud phones: commands on a monitored extension read its sessions (Light), never the active calls (Heavy)", async () => {
  const fake = await FakeProvider.start();
  const t = fake.telephony;
  await using pcs = await cloudServer(fake);
  try {
    const a = await pcs.channel("STLI;Version=2");
    assert.equal(await a.command("MonitorStart 201"), "error_ind SUCCESS MonitorStart");
    const reads = t.activeCallReads;
    t.ring("201", "+15550123");
    await a.readLines(2);
    for (const command of ["AnswerCall", "HoldCall", "RetrieveCall", "ClearConnection"]) {
      assert.equal(await a.command(`${command} 201`), `error_ind SUCCESS ${command}`);
      await a.sync();
    }
    assert.equal(t.activeCallReads, reads, "no Heavy request after MonitorStart");
    const heavy = fake.requests.filter((r) => r.group === "Heavy" && !r.path.endsWith("call-out"));
    assert.equal(heavy.length, 1, "the one active-calls read of MonitorStart");
  } finally {
    await pcs.close();
    await fake.close();
  }
});

Deno.test("cloud phones: a call taken by voicemail or parked leaves the phone; Tds and screening change nothing", async () => {
  const fake = await FakeProvider.start();
  const t = fake.telephony;
  await using pcs = await cloudServer(fake);
  try {
    const a = await pcs.channel("STLI;Version=2");
    assert.equal(await a.command("MonitorStart 201"), "error_ind SUCCESS MonitorStart");
    const s1 = t.ring("201", "+15550123");
    assert.equal((await a.readLines(2))[0], "Delivered 201 newCall 201 +15550123 201");
    t.setStatus(s1, "201", "VoiceMailScreening");
    t.setStatus(s1, "201", "VoiceMail");
    assert.deepEqual(await a.readLines(2), [
      "ConnectionCleared 201 normalClearing 201",
      "DeviceInformation 201 0 ()",
    ]);
    const s2 = t.ring("201", "+15550124");
    await a.readLines(2);
    assert.equal(await a.command("AnswerCall 201"), "error_ind SUCCESS AnswerCall");
    assert.match(await a.readLine(), /^Established 201 /);
    t.setStatus(s2, "201", "Tds");
    t.setStatus(s2, "201", "Parked");
    assert.deepEqual(await a.readLines(2), [
      "ConnectionCleared 201 normalClearing 201",
      "DeviceInformation 201 0 ()",
    ]);
  } finally {
    await pcs.close();
    await fake.close();
  }
});

Deno.test("cloud phones: ClearConnection right after MakeCall on a monitored extension ends the new call", async () => {
  const fake = await FakeProvider.start();
  await using pcs = await cloudServer(fake);
  try {
    const a = await pcs.channel("STLI;Version=2");
    assert.equal(await a.command("MonitorStart 201"), "error_ind SUCCESS MonitorStart");
    // The call's first notification is held back: only the call-out's answer names it.
    fake.holdNotifications();
    await a.sendLine("MakeCall 201 +15550999");
    await a.sendLine("ClearConnection 201");
    const lines = await a.sync();
    assert.ok(lines.includes("error_ind SUCCESS ClearConnection"), JSON.stringify(lines));
    assert.equal(fake.telephony.sessions.size, 0, "the call ended");
    fake.releaseNotifications();
  } finally {
    await pcs.close();
    await fake.close();
  }
});

Deno.test("cloud phones: the journal's watch of 60 extensions at start stays within every rate limit: one extension list, one active-calls read, no device list", async () => {
  const fake = await FakeProvider.start();
  const t = fake.telephony;
  const numbers = Array.from({ length: 60 }, (_, i) => String(210 + i));
  t.extensions.splice(
    0,
    t.extensions.length,
    ...numbers.map((n) => ({
      id: `63${n}`,
      extensionNumber: n,
      devices: [{ id: `81${n}`, online: true }],
    })),
  );
  // A call in progress at start is adopted all the same.
  const sid = t.ring("215", "+15550123");
  await using pcs = await startServer({
    lines: [
      ...configLines(ringCentralLines(fake)),
      "journalDays = 90",
      ...numbers.map((n) => `phone=${n}@provider`),
    ],
  });
  try {
    await waitFor(
      "the ringing call adopted",
      () =>
        pcs.server.monitor.status().devices.find((d) => d.device === "215")?.calls.length ||
        undefined,
    );
    await waitFor(
      "every extension's calls read",
      () => fake.requests.filter((r) => r.operation === "readCallSession").length > 0 || undefined,
    );
    // Settle: a watch that had not joined would read its own list now.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const heavy = fake.requests.filter((r) => r.group === "Heavy");
    assert.deepEqual(heavy.map((r) => r.operation), ["listAccountActiveCalls"]);
    const medium = fake.requests.filter((r) => r.group === "Medium");
    assert.deepEqual(medium.map((r) => r.operation), ["listExtensions"]);
    assert.equal(fake.requests.filter((r) => r.operation === "listExtensionDevices").length, 0);
    assert.deepEqual(fake.requestsInPenalty(), []);
    assert.ok(fake.requests.every((r) => r.status !== 429));
    t.farHangUp(sid);
  } finally {
    await pcs.close();
    await fake.close();
  }
});
