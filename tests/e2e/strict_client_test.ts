/**
 * The strictest public client (docs/channel-protocol.md §7.2–§7.4), emulated by
 * `tests/fakes/xp_stli_connection.ts`, against the real server and its demo phones.
 */

import assert from "node:assert/strict";
import { StliClient } from "../fakes/stli_client.ts";
import { type Terminal, XpStliConnection } from "../fakes/xp_stli_connection.ts";
import { startServer } from "./_server.ts";

// The phone's own report of the dialled call may reach the server before the reply to the
// dial request (as on a real phone) or after it.
for (const [when, actionDelayMs] of [["at once", 0], ["30 ms late", 30]] as const) {
  Deno.test(`a client with XP's expectations gets exactly three lines after MakeCall (the phone's report sent ${when})`, async () => {
    await using pcs = await startServer({ lines: ["demoPhones = 2"] });
    pcs.phone("101").actionDelayMs = actionDelayMs;
    const sock = await StliClient.connect(pcs.channelPort);
    const xp = new XpStliConnection(sock);
    try {
      assert.equal(
        await xp.connect(),
        "error_ind SUCCESS STLI;Version=2;DeviceInformation=Standard",
      );
      const terminal: Terminal = { number: "101", observed: false };
      await xp.observeTerminal(terminal, true);
      const [initiated, info] = await xp.createCall(terminal, "102");
      const ref = /^Initiated 101 makeCall (\d+) 101$/.exec(initiated)?.[1];
      assert.ok(ref, initiated);
      assert.equal(info, `DeviceInformation 101 1 (${ref}:dialing:102)`);
      assert.deepEqual(xp.transcript.slice(-4), [
        ">>> MakeCall 101 102",
        "<<< error_ind SUCCESS MakeCall",
        `<<< Initiated 101 makeCall ${ref} 101`,
        `<<< DeviceInformation 101 1 (${ref}:dialing:102)`,
      ]);
      // The phone's own report of the call it dialled comes after the three lines, as the
      // same call's Originated (docs/channel-protocol.md §4.2): never between them.
      await pcs.phonesIdle();
      assert.ok(pcs.phone("101").actions.some((a) => a.event === "outgoing" && a.status === 200));
      assert.deepEqual(await sock.readLines(2), [
        "Originated 101 newCall 101 102 101",
        `DeviceInformation 101 1 (${ref}:dialing:102)`,
      ]);
      // Drained with a line the server answers at once: nothing else came before its reply.
      assert.equal(await sock.command("Ping"), "error_ind INVALCMD Ping");
      await xp.close();
      await sock.expectEnd();
    } catch (e) {
      throw new Error(`XP client failed; it saw:\n${xp.transcript.join("\n")}`, { cause: e });
    } finally {
      await sock.close();
    }
  });
}

Deno.test("the bare STLI handshake gets the bare reply from the real server", async () => {
  await using pcs = await startServer({ lines: ["demoPhones = 1"] });
  const c = await pcs.channel();
  assert.equal(await c.command("STLI"), "error_ind SUCCESS STLI");
  assert.equal(await c.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
  assert.equal(await c.command("STLI;Version=3"), "error_ind ERROR STLI");
  assert.equal(await c.command("BYE"), "error_ind SUCCESS BYE");
});
