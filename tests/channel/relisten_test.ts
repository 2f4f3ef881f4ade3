/**
 * The channel listener survives losing its socket (docs/architecture.md §8): the loss is
 * logged, the listener opened again on the same address, and new channels connect there
 * while the open ones stay.
 */

import assert from "node:assert/strict";
import { ChannelServer } from "../../src/channel/mod.ts";
import { FakePhones } from "../fakes/channel_handler.ts";
import { StliClient } from "../fakes/stli_client.ts";
import { freePort, waitFor } from "../helpers.ts";
import { captureLogs, testSettings } from "./_helpers.ts";

Deno.test("a channel listener closed under the server is logged and opened again on its port", async () => {
  const opened: Deno.TcpListener[] = [];
  const server = new ChannelServer({
    handler: new FakePhones(),
    listen: (at) => {
      const listener = Deno.listen({ ...at, transport: "tcp" });
      opened.push(listener);
      return listener;
    },
  });
  const logs = await captureLogs();
  const port = freePort();
  await server.apply(testSettings({ port }));
  const open = await StliClient.connect(port);
  try {
    assert.equal(await open.command("STLI"), "error_ind SUCCESS STLI");
    opened[0].close(); // the socket goes, the server did not close it
    await waitFor("the listener opened again", () => opened.length === 2 && server.address);
    assert.equal(server.address!.port, port);
    const fresh = await StliClient.connect(port);
    assert.equal(await fresh.command("STLI"), "error_ind SUCCESS STLI");
    await fresh.close();
    assert.equal(await open.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
    assert.ok(
      logs.lines.some((l) => l.startsWith("error") && l.includes("listening again")),
      logs.lines.join("\n"),
    );
  } finally {
    await open.close();
    await server.close();
    await logs.stop();
  }
});
