/**
 * The strictest public client (docs/channel-protocol.md §7.2–§7.4, §7.5 items 2, 3 and 5), emulated by
 * `tests/fakes/xp_stli_connection.ts`, against the channel over real sockets.
 */

import assert from "node:assert/strict";
import { FakePhones, type InitiatedTiming } from "../fakes/channel_handler.ts";
import { StliClient } from "../fakes/stli_client.ts";
import { scanCount, sscanf, type Terminal, XpStliConnection } from "../fakes/xp_stli_connection.ts";
import { startServer } from "./_helpers.ts";

const HANDSHAKE = "error_ind %s STLI%c%[^\r]";

Deno.test("the sscanf emulation matches PHP on the patterns XP uses", () => {
  assert.deepEqual(sscanf("Initiated 101 makeCall 17 101", "Initiated %d makeCall %s %s"), [
    101,
    "17",
    "101",
  ]);
  assert.deepEqual(sscanf("Initiated 101 makeCall 17", "Initiated %d makeCall %s %s"), [
    101,
    "17",
    null,
  ]);
  assert.deepEqual(sscanf("Initiated x makeCall 1 2", "Initiated %d makeCall %s %s"), [
    null,
    null,
    null,
  ]);
  assert.deepEqual(sscanf("DeviceInformation 101 0 ()", "DeviceInformation %d %d (%s)"), [
    101,
    0,
    ")",
  ]);
  assert.deepEqual(sscanf("DeviceInformation 101 0 (", "DeviceInformation %d %d (%s)"), [
    101,
    0,
    null,
  ]);
});

Deno.test("XP's handshake check passes our Version=2 reply and fails the bare reply", () => {
  assert.equal(
    scanCount("error_ind SUCCESS STLI;Version=2;DeviceInformation=Standard", HANDSHAKE),
    3,
  );
  assert.equal(scanCount('error_ind SUCCESS STLI Version "2"', HANDSHAKE), 3);
  assert.equal(scanCount("error_ind SUCCESS STLI", HANDSHAKE), 1, "only the status matched");
});

for (const initiated of ["before outcome", "after outcome"] as const satisfies InitiatedTiming[]) {
  Deno.test(`a client with XP's expectations works end to end (Initiated ${initiated})`, async () => {
    const phones = new FakePhones({ initiated });
    const { server, port } = await startServer(phones);
    const sock = await StliClient.connect(port);
    // Traffic on other channels and devices meanwhile must not disturb the XP channel.
    const other = await StliClient.connect(port);
    const xp = new XpStliConnection(sock);
    try {
      await other.command("MonitorStart 102");
      await xp.connect();
      const terminal: Terminal = { number: "101", observed: false };
      await xp.observeTerminal(terminal, true);
      phones.ring("102", "0301234");
      await other.command("MakeCall 102 555");
      const [initiated, info] = await xp.createCall(terminal, "0049301234");
      assert.match(initiated, /^Initiated 101 makeCall \d+ 101$/);
      assert.match(info, /^DeviceInformation 101 1 \(\d+:dialing:0049301234\)$/);
      await xp.observeTerminal(terminal, false);
      assert.deepEqual(await xp.createCall(terminal, "102"), []);
      await xp.observeTerminal(terminal, true);
      assert.equal((await xp.createCall(terminal, "103")).length, 2);
      await xp.close();
      await sock.expectEnd();
    } catch (e) {
      throw new Error(`XP client failed; it saw:\n${xp.transcript.join("\n")}`, { cause: e });
    } finally {
      await sock.close();
      await other.close();
      await server.close();
    }
  });
}

Deno.test("XP's client rejects a server that answers with the bare STLI reply", async () => {
  // The negative check of docs/channel-protocol.md §7.5 item 2, over a real socket: a stand-in server
  // that gives the bare reply to STLI;Version=2 fails the XP handshake.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(100);
    await conn.read(buf);
    await conn.write(new TextEncoder().encode("error_ind SUCCESS STLI\r\n"));
    conn.close();
  })();
  const sock = await StliClient.connect((listener.addr as Deno.NetAddr).port);
  try {
    await assert.rejects(new XpStliConnection(sock).connect(), { name: "TelephonyError" });
  } finally {
    await sock.close();
    await serving;
    listener.close();
  }
});
