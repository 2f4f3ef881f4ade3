/**
 * Demo phones by model: `demoYealinkPhones = 102` makes demo phone 102 a simulated Yealink
 * that the server provisions itself, so the demo works out of the box (docs/yealink.md §8;
 * docs/configuration.md §5).
 */

import assert from "node:assert/strict";
import { waitFor } from "../helpers.ts";
import { startServer } from "./_server.ts";
import { refIn, step } from "./_steps.ts";

Deno.test("demoYealinkPhones = 102: MonitorStart 102 and a call 101→102 give the events without any set-up", async () => {
  await using pcs = await startServer({ lines: ["demoPhones = 2", "demoYealinkPhones = 102"] });
  const y = pcs.yealink("102");
  assert.equal(pcs.phone("101").extension, "101", "101 is still a SNOM");
  // The server loaded the lines it shows on the status page into the phone.
  const shown = await waitFor(
    "the status page's lines",
    () => pcs.server.monitor.status().provisioning["102"],
  );
  assert.ok("lines" in shown, JSON.stringify(shown));
  assert.equal(y.settings.get("features.action_uri_limit_ip"), "127.0.0.1");
  assert.equal(
    y.settings.get("action_url.incoming_call"),
    shown.lines[0].replace(/^action_url\.incoming_call = /, ""),
  );

  const channels = [await pcs.channel("STLI;Version=2"), await pcs.channel("STLI;Version=2")];
  for (const c of channels) {
    for (const d of ["102", "101"]) {
      assert.equal(await c.command(`MonitorStart ${d}`), "error_ind SUCCESS MonitorStart");
    }
  }
  const [a] = channels;
  const run = async (command: string) => {
    const got = await step(pcs, channels, { on: a, command });
    assert.deepEqual(got[0].replies, [`error_ind SUCCESS ${command.split(" ")[0]}`]);
    assert.deepEqual(got[1].byDevice, got[0].byDevice, "A and B see the same events");
    return got[0];
  };
  let got = await run("MakeCall 101 102");
  const r1 = refIn(got.lines, /^Initiated 101 makeCall (\d+) 101$/);
  const r2 = refIn(got.lines, /^DeviceInformation 102 1 \((\d+):alerting:101\)$/);
  assert.deepEqual(got.byDevice, {
    "101": [
      `Initiated 101 makeCall ${r1} 101`,
      `DeviceInformation 101 1 (${r1}:dialing:102)`,
      "Originated 101 newCall 101 102 101",
      `DeviceInformation 101 1 (${r1}:dialing:102)`,
    ],
    "102": ["Delivered 102 newCall 102 101 102", `DeviceInformation 102 1 (${r2}:alerting:101)`],
  });
  const id = y.localId(y.calls[0].callId);
  got = await run("AnswerCall 102");
  assert.equal(y.requests.at(-1)!.target, `/servlet?key=ASW:${id}`);
  assert.deepEqual(got.byDevice, {
    "102": ["Established 102 newCall 102 101 102"],
    "101": ["Established 101 newCall 102 101 102"],
  });
  got = await run("ClearConnection 102");
  assert.deepEqual(got.byDevice, {
    "102": ["ConnectionCleared 102 normalClearing 102", "DeviceInformation 102 0 ()"],
    "101": ["ConnectionCleared 101 normalClearing 101", "DeviceInformation 101 0 ()"],
  });
  assert.equal(y.prompts, 1, "the prompt was shown once and accepted");

  // Dropped from the list, 102 becomes a SNOM again; monitoring it starts afresh.
  await pcs.reconfigure(["demoPhones = 2"]);
  assert.equal(pcs.phone("102").extension, "102");
  assert.deepEqual(Object.keys(pcs.server.monitor.status().provisioning), []);
  assert.equal(await a.command("MonitorStart 102"), "error_ind SUCCESS MonitorStart");
  got = await run("MakeCall 101 102");
  assert.equal(got.byDevice["102"][0], "Delivered 102 newCall 102 101 102");
});
