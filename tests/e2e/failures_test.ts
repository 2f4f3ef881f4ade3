/**
 * Failure paths end to end (docs/channel-protocol.md §3): every way a command can fail reaches the
 * channel as `error_ind ERROR <Command>`, with the reason token once `channelErrorDetail` is
 * switched on by a live reload; a phone that cannot be configured is not monitored.
 */

import assert from "node:assert/strict";
import type { SimPhone } from "../../src/simulator/mod.ts";
import { freePort } from "../helpers.ts";
import { startServer } from "./_server.ts";

const WRONG_PASSWORD = "Wrong-Phone-Pass-8841";

Deno.test("failed commands answer ERROR, with the reason token when channelErrorDetail is on", async () => {
  const closedPort = freePort();
  const phoneLines = (p: ReadonlyMap<string, SimPhone>) => [
    `phone=201@127.0.0.1:${closedPort} snom.cfg`,
    `phone=202@127.0.0.1:${p.get("202")!.port} snom.cfg`,
    `phone=203@127.0.0.1:${p.get("203")!.port} snom.cfg admin ${WRONG_PASSWORD}`,
  ];
  await using pcs = await startServer({
    lines: ["demoPhones = 2", "phoneTimeoutSeconds = 1"],
    phones: [
      { extension: "202" },
      { extension: "203", auth: "digest", username: "admin", password: "Right-Pass-1" },
    ],
    linesFor: phoneLines,
  });
  pcs.phone("202").delayMs = 1500;
  const c = await pcs.channel();

  // Off (the default): clients comparing whole lines see the vendor's three tokens.
  assert.equal(await c.command("MakeCall 999 102"), "error_ind ERROR MakeCall");
  assert.equal(await c.command("MakeCall 201 102"), "error_ind ERROR MakeCall");
  assert.equal(await c.command("ConferenceCall 101"), "error_ind ERROR ConferenceCall");

  await pcs.reconfigure([
    "demoPhones = 2",
    "phoneTimeoutSeconds = 1",
    "channelErrorDetail = on",
    ...phoneLines(new Map([["202", pcs.phone("202")], ["203", pcs.phone("203")]])),
  ]);
  assert.equal(pcs.server.lastReload?.applied, true);
  const expectations: [string, string][] = [
    ["MakeCall 999 102", "error_ind ERROR MakeCall UnknownDevice"],
    ["MonitorStart 999", "error_ind ERROR MonitorStart UnknownDevice"],
    ["MakeCall 201 102", "error_ind ERROR MakeCall PhoneUnreachable"],
    ["MakeCall 101 12a", "error_ind ERROR MakeCall InvalidNumber"],
    ["ConferenceCall 101", "error_ind ERROR ConferenceCall NotSupported"],
    ["AlternateCall 101", "error_ind ERROR AlternateCall NotSupported"],
    ["HoldCall 202", "error_ind ERROR HoldCall Timeout"],
  ];
  const demo101 = pcs.phone("101").requests.length;
  for (const [command, reply] of expectations) assert.equal(await c.command(command), reply);
  // A number with other characters never reaches the phone (the channel checks it).
  assert.equal(pcs.phone("101").requests.length, demo101);

  // A wrong password: one refused login, then the phone is left alone (three would lock a
  // SNOM for a minute), while every command is still answered.
  const digest = pcs.phone("203");
  for (let i = 0; i < 3; i++) {
    assert.equal(await c.command("MakeCall 203 101"), "error_ind ERROR MakeCall AuthFailed");
  }
  assert.equal(digest.failedLogins, 1);
  assert.equal(digest.lockedUntil, 0);
  assert.equal(digest.requests.filter((r) => r.params.has("number")).length, 2);
  assert.ok(digest.requests.every((r) => !r.authorized));
  assert.deepEqual(digest.calls, []);

  assert.deepEqual(await c.sync(), []);
  for (const line of pcs.logLines) assert.ok(!line.includes(WRONG_PASSWORD), line);
});

Deno.test("MonitorStart on a phone that cannot be configured answers ERROR, and no events follow", async () => {
  await using pcs = await startServer({
    lines: ["channelErrorDetail = on"],
    phones: [{ extension: "301" }, { extension: "302", settings: { use_hidden_tags: "on" } }],
    linesFor: (p) =>
      [...p.values()].map((s) => `phone=${s.extension}@127.0.0.1:${s.port} snom.cfg`),
  });
  const c = await pcs.channel();
  const phone = pcs.phone("301");
  // The phone stores the URLs but drops the connection before answering.
  phone.fault = "close";
  assert.equal(
    await c.command("MonitorStart 301"),
    "error_ind ERROR MonitorStart PhoneUnreachable",
  );
  phone.fault = undefined;
  assert.match(phone.settings.get("action_incoming_url") ?? "", /\/phone\/301\/onIncomingCall\?k=/);

  // So the phone does call back, and is answered, but nobody monitors it.
  phone.callFrom("0301234");
  phone.answer();
  await pcs.phonesIdle();
  const sent = phone.actions.map((a) => [a.event, a.status]);
  assert.deepEqual(sent, [["incoming", 200], ["connected", 200]]);
  assert.deepEqual(await c.sync(), []);
  assert.equal(await c.command("MonitorStop 301"), "error_ind SUCCESS MonitorStop");

  // A phone refusing remote settings (hidden tags) is refused the same way.
  assert.equal(await c.command("MonitorStart 302"), "error_ind ERROR MonitorStart PhoneRefused");
  assert.equal(pcs.phone("302").settings.get("action_incoming_url"), undefined);
  assert.deepEqual(await c.sync(), []);
});
