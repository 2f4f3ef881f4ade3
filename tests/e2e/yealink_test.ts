/**
 * A simulated Yealink monitored by provisioning, calling a simulated SNOM, end to end: the
 * server prints the provisioning lines, the Yealink loads them, MonitorStart succeeds once it
 * answers, and commands act on the call by the phone's call id (docs/yealink.md §2, §5).
 */

import assert from "node:assert/strict";
import { provisioningCommand } from "../../src/server/mod.ts";
import { startServer } from "./_server.ts";
import { step } from "./_steps.ts";

const LOGIN = { username: "admin", password: "pw" };

async function yealinkAndSnom(promptAnswer: "accept" | "refuse" = "accept") {
  return await startServer({
    lines: ["channelErrorDetail = on"],
    phones: [{ extension: "201", auth: "digest", ...LOGIN }],
    yealinks: [{ extension: "101", ...LOGIN, promptAnswer }],
    linesFor: (phones, yealinks) => [
      `phone=101@127.0.0.1:${yealinks.get("101")!.port} yealink.cfg admin pw`,
      `phone=201@127.0.0.1:${phones.get("201")!.port} snom.cfg admin pw`,
    ],
  });
}

/** What `provisioning 101` prints for this server's configuration. */
async function provisioningLines(settings: Parameters<typeof provisioningCommand>[0]) {
  const lines: string[] = [];
  const notes: string[] = [];
  const code = await provisioningCommand(
    settings,
    "101",
    (l) => lines.push(l),
    (l) => notes.push(l),
  );
  assert.equal(code, 0, notes.join("\n"));
  return lines;
}

Deno.test("a provisioned Yealink and a SNOM: dial, answer, hold and retrieve by call id, clear, seen by two channels", async () => {
  await using pcs = await yealinkAndSnom();
  const y = pcs.yealink("101");
  const lines = await provisioningLines(pcs.server.settings);
  const base = `http://127.0.0.1:${pcs.httpPort}/phone/101`;
  assert.match(
    lines[0],
    new RegExp(
      `^action_url\\.incoming_call = ${base}/onIncomingCall\\?k=[\\w-]{32}&cid=\\$call_id&remote=\\$remote&dr=\\$display_remote$`,
    ),
  );
  assert.equal(lines.at(-1), "features.action_uri_limit_ip = 127.0.0.1");
  assert.equal(lines.length, 16);
  assert.deepEqual(await provisioningLines(pcs.server.settings), lines, "the key is stable");

  const [a, b] = [await pcs.channel("STLI;Version=2"), await pcs.channel("STLI;Version=2")];
  // Before the lines are loaded the phone refuses the server (not on its trusted list).
  assert.equal(await a.command("MonitorStart 101"), "error_ind ERROR MonitorStart PhoneRefused");
  y.provision(lines.join("\n"));
  for (const c of [a, b]) {
    for (const d of ["101", "201"]) {
      assert.equal(await c.command(`MonitorStart ${d}`), "error_ind SUCCESS MonitorStart");
    }
  }
  assert.equal(y.prompts, 1);
  const run = async (command: string) => {
    const got = await step(pcs, [a, b], { on: a, command });
    assert.deepEqual(got[0].byDevice, got[1].byDevice, "both channels see the same events");
    return got[0];
  };
  let got = await run("MakeCall 101 201");
  assert.equal(got.replies[0], "error_ind SUCCESS MakeCall");
  assert.ok(got.byDevice["101"].includes("Originated 101 newCall 101 201 101"));
  assert.equal(got.byDevice["201"][0], "Delivered 201 newCall 201 101 201");
  got = await run("AnswerCall 201");
  assert.deepEqual(got.byDevice["101"], ["Established 101 newCall 201 101 201"]);
  got = await run("HoldCall 101");
  assert.deepEqual(got.byDevice["101"], ["Held 101 normal 101"]);
  const id = y.localId(y.calls[0].callId);
  assert.equal(y.requests.at(-1)!.target, `/servlet?key=HOLD:${id}`);
  got = await run("RetrieveCall 101");
  assert.deepEqual(got.byDevice["101"], ["Retrieved 101 normal 101"]);
  assert.equal(y.requests.at(-1)!.target, `/servlet?key=UNHOLD:${id}`);
  got = await run("ClearConnection 101");
  assert.equal(y.requests.at(-1)!.target, `/servlet?key=CANCEL:${id}`);
  assert.equal(got.byDevice["101"][0], "ConnectionCleared 101 normalClearing 101");
  assert.equal(got.byDevice["201"][0], "ConnectionCleared 201 normalClearing 201");
  assert.deepEqual([y.calls, pcs.phone("201").calls], [[], []]);

  // The status page and /api/status show the same lines, callback keys included.
  assert.deepEqual(pcs.server.monitor.status().provisioning["101"], { lines });
  const api = await (await fetch(`http://127.0.0.1:${pcs.httpPort}/api/status`)).json();
  assert.deepEqual(api.monitor.provisioning, { "101": { lines } });
  const page = await (await fetch(`http://127.0.0.1:${pcs.httpPort}/`)).text();
  const shown = /<pre class="provisioning">([^<]*)<\/pre>/.exec(page)?.[1].replaceAll("&#38;", "&");
  assert.equal(shown, lines.join("\n"));
  // The log still hides the key.
  const key = /k=([\w-]+)/.exec(lines[0])![1];
  assert.ok(pcs.logLines.every((l) => !l.includes(key)), "no callback key in the log");
});

Deno.test("a Yealink whose user refuses remote control: MonitorStart and commands answer PhoneRefused", async () => {
  await using pcs = await yealinkAndSnom("refuse");
  pcs.yealink("101").provision((await provisioningLines(pcs.server.settings)).join("\n"));
  const a = await pcs.channel("STLI;Version=2");
  assert.equal(await a.command("MonitorStart 101"), "error_ind ERROR MonitorStart PhoneRefused");
  assert.equal(await a.command("MakeCall 101 201"), "error_ind ERROR MakeCall PhoneRefused");
  assert.deepEqual(pcs.yealink("101").calls, []);
});
