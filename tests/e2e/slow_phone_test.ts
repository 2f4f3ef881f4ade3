/**
 * One slow phone, with a real slow phone: a simulated SNOM that takes 5 s per request delays
 * neither events nor other channels, and its channel's later replies keep their order
 * (docs/channel-protocol.md §3).
 */

import assert from "node:assert/strict";
import { waitFor } from "../helpers.ts";
import { startServer } from "./_server.ts";

Deno.test("a phone taking 5 s delays neither events nor other channels; replies keep order", async () => {
  await using pcs = await startServer({ lines: ["demoPhones = 2", "phoneTimeoutSeconds = 10"] });
  const [a, b, c] = [await pcs.channel(), await pcs.channel(), await pcs.channel()];
  for (const d of ["101", "102"]) {
    assert.equal(await a.command(`MonitorStart ${d}`), "error_ind SUCCESS MonitorStart");
  }
  assert.equal(await b.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");

  const slow = pcs.phone("102");
  slow.delayMs = 5000;
  const before = slow.requests.length;
  await a.sendLine("AnswerCall 102");
  await waitFor("the request to reach phone 102", () => slow.requests.length > before);
  const inFlight = slow.requests[before];
  /** The slow request has not been answered yet: what happens now does not wait for it. */
  const stillInFlight = (what: string) =>
    assert.equal(inFlight.outcome, undefined, `${what} while 102 is still busy`);

  // Events of 101 reach A (which waits for 102) and B at once.
  pcs.phone("101").callFrom("0301234");
  const [onA, onB] = [await a.readLines(2), await b.readLines(2)];
  for (const lines of [onA, onB]) {
    assert.equal(lines[0], "Delivered 101 newCall 101 0301234 101");
    assert.match(lines[1], /^DeviceInformation 101 1 \(\d+:alerting:0301234\)$/);
  }
  stillInFlight("the Delivered event arrived");

  // Another channel's command to 101 is answered at once, and its events reach A and B.
  assert.equal(await c.command("AnswerCall 101"), "error_ind SUCCESS AnswerCall");
  stillInFlight("channel C's reply arrived");
  const established = "Established 101 newCall 101 0301234 101";
  assert.equal(await a.readLine(), established);
  assert.equal(await b.readLine(), established);
  stillInFlight("the Established event arrived");

  // A's next command (to the quick phone) is answered after its earlier one, in order; its
  // own event follows its reply. B sees that event at once.
  await a.sendLine("HoldCall 101");
  assert.equal(await b.readLine(), "Held 101 normal 101");
  stillInFlight("B saw the hold that A asked for");
  assert.deepEqual(a.unread, [], "A's replies wait for the slow phone");
  assert.deepEqual(await a.readLines(3, 8000), [
    "error_ind SUCCESS AnswerCall",
    "error_ind SUCCESS HoldCall",
    "Held 101 normal 101",
  ]);
  assert.ok(inFlight.outcome !== undefined);
  slow.delayMs = 0;
  for (const ch of [a, b, c]) assert.deepEqual(await ch.sync(), []);
});
