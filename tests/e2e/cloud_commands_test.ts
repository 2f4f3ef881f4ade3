/**
 * Cloud phones, commands (docs/cloud-phones.md §2, §3): `phone=<ext>@provider` lines make
 * extensions of the fake provider's account devices; the channel's call commands become Call
 * Control requests through the server's one shared provider session.
 */

import assert from "node:assert/strict";
import { loadSettings } from "../../src/server/mod.ts";
import { FakeProvider } from "../fakes/fake_provider.ts";
import { ALL_PERMISSIONS } from "../fakes/ringcentral_operations.ts";
import { configLines, ringCentralLines } from "../provider/_helpers.ts";
import { cloudServer } from "./_cloud.ts";

Deno.test("a phone=<ext>@provider line without a provider is an error with its line", async () => {
  const text = "serverPort = 26535\nphone=201@provider\n";
  const result = await loadSettings(text, "/nonexistent/pcs-cloud/phone-companion.cfg");
  assert.equal(result.settings, undefined);
  const errors = result.findings.filter((f) => f.level === "error");
  assert.equal(errors.length, 1);
  assert.equal(errors[0].line, 2);
  assert.match(errors[0].message, /201@provider needs a provider account: set providerId/);
  const withProfile = await loadSettings(
    "providerId = ringcentral\nproviderJwt = x\nphone=201@provider snom.cfg\n",
    "/nonexistent/pcs-cloud/phone-companion.cfg",
  );
  assert.match(
    withProfile.findings.find((f) => f.level === "error")?.message ?? "",
    /takes no profile/,
  );
});

Deno.test("cloud phones: MakeCall calls out from the extension's online device; lists are read once", async () => {
  const fake = await FakeProvider.start();
  await using pcs = await cloudServer(fake);
  try {
    const a = await pcs.channel();
    assert.equal(await a.command("MakeCall 201 +49 30 1234"), "error_ind SUCCESS MakeCall");
    assert.equal(await a.command("MakeCall 202 203"), "error_ind SUCCESS MakeCall");
    const outs = fake.requestsTo("/restapi/v1.0/account/~/telephony/call-out");
    assert.deepEqual(outs.map((r) => JSON.parse(r.body)), [
      { from: { deviceId: "80201" }, to: { phoneNumber: "+49301234" } },
      { from: { deviceId: "80202" }, to: { extensionNumber: "203" } },
    ]);
    // The account's extensions are read once for every cloud phone, each extension's devices
    // of each type once.
    assert.deepEqual(
      fake.requestsTo("/restapi/v1.0/account/~/extension").map((r) => r.search),
      ["?perPage=1000"],
    );
    assert.deepEqual(
      fake.requestsTo("/restapi/v1.0/account/~/extension/62001/device").map((r) => r.search),
      ["?type=HardPhone", "?type=SoftPhone"],
      "cached; the softphone is found although the list defaults to desk phones",
    );
    assert.equal(fake.tokenRequests().length, 1, "one shared session");
    // An extension the account does not have.
    await pcs.reconfigure([
      ...configLines(ringCentralLines(fake)),
      "channelErrorDetail = on",
      "phone=209@provider",
    ]);
    assert.equal(await a.command("MakeCall 209 123"), "error_ind ERROR MakeCall UnknownDevice");
    assert.equal(
      fake.requestsTo("/restapi/v1.0/account/~/extension").length,
      2,
      "read again after the reload",
    );
    // An offline device cannot call out.
    fake.telephony.extensions[0] = { ...fake.telephony.extensions[0], devices: [] };
    await pcs.reconfigure([
      ...configLines(ringCentralLines(fake)),
      "channelErrorDetail = on",
      "phone=201@provider",
    ]);
    assert.equal(await a.command("MakeCall 201 123"), "error_ind ERROR MakeCall PhoneUnreachable");
  } finally {
    await pcs.close();
    await fake.close();
  }
});

Deno.test("cloud phones: answer, hold, retrieve, both transfers and clear act on the extension's party", async () => {
  // Unmonitored, each command reads the active calls (group Heavy); more than its 10 a minute.
  const fake = await FakeProvider.start({
    groups: { Heavy: { limit: 100, windowSeconds: 60, penaltySeconds: 60 } },
  });
  await using pcs = await cloudServer(fake);
  const t = fake.telephony;
  try {
    const a = await pcs.channel();
    assert.equal(await a.command("AnswerCall 201"), "error_ind ERROR AnswerCall PhoneRefused");
    const s1 = t.ring("201", "+15550123", "Jane");
    assert.equal(await a.command("AnswerCall 201"), "error_ind SUCCESS AnswerCall");
    const answer = fake.requests.find((r) => r.path.endsWith("/answer"))!;
    assert.deepEqual(JSON.parse(answer.body), { deviceId: "80201" });
    assert.equal(t.partyOf(s1, "201").status.code, "Answered");
    assert.equal(await a.command("RetrieveCall 201"), "error_ind ERROR RetrieveCall PhoneRefused");
    assert.equal(await a.command("HoldCall 201"), "error_ind SUCCESS HoldCall");
    assert.equal(t.partyOf(s1, "201").status.code, "Hold");
    assert.equal(await a.command("RetrieveCall 201"), "error_ind SUCCESS RetrieveCall");
    assert.equal(t.partyOf(s1, "201").status.code, "Answered");
    assert.equal(await a.command("TransferCall 201 202"), "error_ind SUCCESS TransferCall");
    assert.deepEqual(t.partyOf(s1, "201").status, {
      code: "Disconnected",
      reason: "BlindTransfer",
    });
    assert.deepEqual(
      JSON.parse(fake.requests.find((r) => r.path.endsWith("/transfer"))!.body),
      { extensionNumber: "202" },
    );

    // The vendor's two-step transfer: TransferCall, then MakeCall names the target.
    const s2 = t.ring("201", "+15550124");
    assert.equal(await a.command("AnswerCall 201"), "error_ind SUCCESS AnswerCall");
    assert.equal(await a.command("TransferCall 201"), "error_ind SUCCESS TransferCall");
    const callOuts = fake.requestsTo("/restapi/v1.0/account/~/telephony/call-out").length;
    assert.equal(await a.command("MakeCall 201 +15550999"), "error_ind SUCCESS MakeCall");
    assert.deepEqual(t.partyOf(s2, "201").status, {
      code: "Disconnected",
      reason: "BlindTransfer",
    });
    const transfers = fake.requests.filter((r) => r.path.endsWith("/transfer"));
    assert.deepEqual(JSON.parse(transfers.at(-1)!.body), { phoneNumber: "+15550999" });
    assert.equal(
      fake.requestsTo("/restapi/v1.0/account/~/telephony/call-out").length,
      callOuts,
      "no new call",
    );

    // ClearConnection rejects a ringing call and drops an active one.
    const s3 = t.ring("201", "+15550125");
    assert.equal(await a.command("ClearConnection 201"), "error_ind SUCCESS ClearConnection");
    assert.deepEqual(t.session(s3).parties[1].status, { code: "Disconnected", reason: "Rejected" });
    const s4 = t.ring("201", "+15550126");
    assert.equal(await a.command("AnswerCall 201"), "error_ind SUCCESS AnswerCall");
    assert.equal(await a.command("ClearConnection 201"), "error_ind SUCCESS ClearConnection");
    assert.equal(t.sessions.has(s4), false, "the call ended");
    assert.equal(
      await a.command("ClearConnection 201"),
      "error_ind ERROR ClearConnection PhoneRefused",
    );
    assert.equal(fake.tokenRequests().length, 1, "one shared session");
  } finally {
    await pcs.close();
    await fake.close();
  }
});

Deno.test("cloud phones: without CallControl MakeCall uses RingOut, said once; a silent provider times out", async () => {
  // An app without the CallControl permission.
  const fake = await FakeProvider.start({
    scope: ALL_PERMISSIONS.filter((p) => p !== "CallControl"),
  });
  await using pcs = await cloudServer(fake, ["phoneTimeoutSeconds = 1"]);
  try {
    const a = await pcs.channel();
    assert.equal(await a.command("MakeCall 201 +15550100"), "error_ind SUCCESS MakeCall");
    assert.equal(await a.command("MakeCall 201 +15550101"), "error_ind SUCCESS MakeCall");
    // RingOut rings the device's forwarding number first, then the number dialled.
    assert.deepEqual(fake.telephony.ringOuts, [
      { extensionId: "62001", from: { forwardingNumberId: "fw-80201" }, to: "+15550100" },
      { extensionId: "62001", from: { forwardingNumberId: "fw-80201" }, to: "+15550101" },
    ]);
    // RingOut's `to` is a phone number; an extension number is refused before it is sent.
    assert.equal(await a.command("MakeCall 201 202"), "error_ind ERROR MakeCall PhoneRefused");
    assert.equal(
      fake.requestsTo("/restapi/v1.0/account/~/extension/62001/ring-out").length,
      2,
      "not sent",
    );
    assert.equal(fake.requestsTo("/restapi/v1.0/account/~/telephony/call-out").length, 1);
    assert.equal(pcs.logLines.filter((l) => l.includes("uses RingOut")).length, 1);

    fake.hold("/restapi/v1.0/account/~/extension/62001/ring-out");
    const started = performance.now();
    assert.equal(await a.command("MakeCall 201 +15550102"), "error_ind ERROR MakeCall Timeout");
    const seconds = (performance.now() - started) / 1000;
    assert.ok(seconds >= 0.9 && seconds < 2, `answered after ${seconds} s`);
    fake.releaseHeld();
  } finally {
    await pcs.close();
    await fake.close();
  }
});
