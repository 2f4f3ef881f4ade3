/**
 * Robustness end to end (docs/configuration.md §3): a phone whose action URLs
 * were reset by a restart is configured again, and phones come and go with the configuration
 * file while channels stay open.
 */

import assert from "node:assert/strict";
import type { Clock } from "../../src/clock.ts";
import type { SimPhone } from "../../src/simulator/mod.ts";
import { freePort, waitFor } from "../helpers.ts";
import type { StliClient } from "../fakes/stli_client.ts";
import { secretOf, startServer, type TestServer } from "./_server.ts";

const CALL_URLS = [
  "action_incoming_url",
  "action_outgoing_url",
  "action_connected_url",
  "action_disconnected_url",
  "action_missed_url",
  "action_hold",
  "action_unhold",
  "action_transfer",
];

/** Empties stored settings through the phone's web interface, as re-provisioning would. */
async function resetSettings(phone: SimPhone, names: readonly string[]): Promise<void> {
  const query = names.map((n) => `${n}=`).join("&");
  const res = await fetch(`${phone.url}/dummy.htm?settings=save&${query}&store_settings=save`);
  await res.body?.cancel();
  assert.equal(res.status, 200);
}

/** An incoming call on `phone` reaches the channel as Delivered with its DeviceInformation. */
async function assertDelivered(
  pcs: TestServer,
  channel: StliClient,
  phone: SimPhone,
  caller: string,
) {
  phone.callFrom(caller);
  await pcs.phonesIdle();
  const lines = await channel.sync();
  const dev = phone.extension;
  assert.equal(lines[0], `Delivered ${dev} newCall ${dev} ${caller} ${dev}`, lines.join("|"));
  assert.match(lines[1], new RegExp(`^DeviceInformation ${dev} 1 \\(\\d+:alerting:${caller}\\)$`));
  assert.equal(lines.length, 2);
}

Deno.test("a phone whose call URLs were reset by a restart is configured again on its setup callback", async () => {
  await using pcs = await startServer({ lines: ["demoPhones = 1"] });
  const c = await pcs.channel();
  assert.equal(await c.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
  const phone = pcs.phone("101");
  const key = secretOf(phone);
  /** Writes of the server's URLs into the phone. */
  const writes = () =>
    phone.requests.filter((r) => r.params.get("action_incoming_url")?.includes("/phone/101/"))
      .length;
  assert.equal(writes(), 1);

  await resetSettings(phone, CALL_URLS);
  phone.reboot();
  assert.equal(phone.settings.get("action_incoming_url"), "");
  await waitFor("the server to write the URLs again", () => writes() === 2);
  await pcs.phonesIdle();
  assert.equal(phone.actions.at(-1)!.event, "setup");
  assert.equal(phone.actions.at(-1)!.status, 200);
  assert.equal(secretOf(phone), key, "the same key: the server's run did not change");
  assert.ok(pcs.logLines.some((l) => /configuring phone 101 again: it restarted/.test(l)));

  assert.deepEqual(await c.sync(), []);
  await assertDelivered(pcs, c, phone, "0301234");
});

Deno.test("a phone reset completely is configured again by the next MonitorStart", async () => {
  // Time moves on only when told, so the repeated MonitorStart is past its 30 s rate limit.
  let skew = 0;
  const clock: Clock = {
    now: () => Date.now() + skew,
    setTimeout: (fn, ms) => setTimeout(fn, ms),
    clearTimeout: (id) => clearTimeout(id),
  };
  await using pcs = await startServer({ lines: ["demoPhones = 1"], clock });
  const [a, b] = [await pcs.channel(), await pcs.channel()];
  for (const ch of [a, b]) {
    assert.equal(await ch.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
  }
  const phone = pcs.phone("101");
  await resetSettings(phone, [...CALL_URLS, "action_setup_url"]);
  phone.reboot();
  phone.callFrom("0301234");
  await pcs.phonesIdle();
  assert.deepEqual(phone.actions.map((a) => a.event), [], "a reset phone reports nothing");
  assert.deepEqual(await a.sync(), []);
  phone.hangup();

  skew = 31_000;
  assert.equal(await a.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
  assert.match(phone.settings.get("action_incoming_url")!, /\/phone\/101\/onIncomingCall\?k=/);
  await assertDelivered(pcs, a, phone, "0309999");
  const onB = await b.sync();
  assert.equal(onB[0], "Delivered 101 newCall 101 0309999 101", "B stayed subscribed");
});

Deno.test("phones removed from and added to the file apply live; channels stay open", async () => {
  const line = (p: SimPhone) => `phone=${p.extension}@127.0.0.1:${p.port} snom.cfg`;
  await using pcs = await startServer({
    lines: ["demoPhones = 1"],
    phones: [{ extension: "201" }, { extension: "202" }],
    linesFor: (p) => [line(p.get("201")!)],
  });
  const [p201, p202] = [pcs.phone("201"), pcs.phone("202")];
  const [a, b] = [await pcs.channel(), await pcs.channel()];
  for (const ch of [a, b]) {
    for (const d of ["101", "201"]) {
      assert.equal(await ch.command(`MonitorStart ${d}`), "error_ind SUCCESS MonitorStart");
    }
  }
  await assertDelivered(pcs, a, p201, "0301111");
  await b.sync();
  p201.hangup();
  await pcs.phonesIdle();
  await a.sync();
  await b.sync();

  // 201 leaves the file: its monitors end, its callbacks find no phone, channels stay.
  await pcs.reconfigure(["demoPhones = 1"]);
  assert.equal(pcs.server.lastReload?.applied, true);
  assert.deepEqual(pcs.server.monitor.status().devices.map((d) => d.device), ["101"]);
  assert.deepEqual(
    pcs.server.channel.status().channels.map((c) => c.monitored),
    [["101"], ["101"]],
    "the channels no longer list the removed phone as monitored",
  );
  p201.callFrom("0302222");
  await pcs.phonesIdle();
  assert.equal(p201.actions.at(-1)!.status, 404);
  for (const ch of [a, b]) {
    assert.deepEqual(await ch.sync(), [], "nothing of the removed phone");
    assert.equal(ch.ended, false);
  }
  assert.equal(await a.command("MakeCall 201 101"), "error_ind ERROR MakeCall");
  await assertDelivered(pcs, a, pcs.phone("101"), "0303333");
  await b.sync();
  assert.ok(pcs.logLines.some((l) => /phone 201 was removed .*2 monitor\(s\) of it ended/.test(l)));

  // 202 joins the file, and 201 comes back: both work without a restart.
  await pcs.reconfigure(["demoPhones = 1", line(p201), line(p202)]);
  assert.equal(pcs.server.lastReload?.applied, true);
  p201.hangup();
  for (const d of ["201", "202"]) {
    assert.equal(await a.command(`MonitorStart ${d}`), "error_ind SUCCESS MonitorStart");
  }
  await assertDelivered(pcs, a, p202, "0304444");
  await assertDelivered(pcs, a, p201, "0305555");
  assert.deepEqual(await b.sync(), [], "B did not ask for 201 again, nor for 202");
});

Deno.test("a changed serverHttpPort points the monitored phones at the new port", async () => {
  await using pcs = await startServer({ lines: ["demoPhones = 2"] });
  const c = await pcs.channel();
  assert.equal(await c.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
  const old = pcs.httpPort;
  const port = freePort();
  await pcs.reconfigure(["demoPhones = 2", `serverHttpPort = ${port}`]);
  assert.equal(pcs.httpPort, port);
  const phone = pcs.phone("101");
  await waitFor(
    "the phone's URLs to name the new port",
    () => phone.settings.get("action_incoming_url")?.startsWith(`http://127.0.0.1:${port}/`),
  );
  assert.ok(pcs.logLines.some((l) => /phone 101 changed in the configuration/.test(l)));
  await assertDelivered(pcs, c, phone, "0301234");
  await assert.rejects(fetch(`http://127.0.0.1:${old}/`), "the old port is closed");
  // Phone 102 was never monitored, so it was left alone.
  assert.equal(pcs.phone("102").settings.get("action_incoming_url"), undefined);
});

Deno.test("a monitored phone replaced by one at another port of the same host is configured", async () => {
  await using pcs = await startServer({
    phones: [{ extension: "201" }],
    linesFor: (p) => [`phone=201@127.0.0.1:${p.get("201")!.port} snom.cfg`],
  });
  const c = await pcs.channel();
  assert.equal(await c.command("MonitorStart 201"), "error_ind SUCCESS MonitorStart");
  await pcs.phone("201").close();
  const replacement = await pcs.net.addPhone({ extension: "201" });
  await pcs.reconfigure([`phone=201@127.0.0.1:${replacement.port} snom.cfg`]);
  await waitFor(
    "the server to write its URLs into the new phone",
    () => replacement.settings.get("action_incoming_url")?.includes("/phone/201/"),
  );
  await assertDelivered(pcs, c, replacement, "0301234");
});
