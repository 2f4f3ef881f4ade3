/**
 * Whole calls end to end: channel commands over TCP → the server → simulated
 * SNOM phones over HTTP → their action URLs back over HTTP → event lines on every monitoring
 * channel, compared whole (docs/channel-protocol.md §3, §4).
 */

import assert from "node:assert/strict";
import { waitFor } from "../helpers.ts";
import { startServer, type TestServer } from "./_server.ts";
import { assertReplyFirst, refIn, step, type StepLines } from "./_steps.ts";

type Mode = "standard" | "extended";

const HANDSHAKE: Record<Mode | "off", string> = {
  standard: "STLI;Version=2",
  extended: "STLI;Version=2;DeviceInformation=Extended",
  off: "STLI;Version=2;DeviceInformation=Off",
};

/** Channels A (issues every command) and B in `mode`, C in Off, all monitoring `devices`. */
async function monitoringChannels(pcs: TestServer, mode: Mode, devices: readonly string[]) {
  const channels = [
    await pcs.channel(HANDSHAKE[mode]),
    await pcs.channel(HANDSHAKE[mode]),
    await pcs.channel(HANDSHAKE.off),
  ];
  for (const c of channels) {
    for (const d of devices) {
      assert.equal(await c.command(`MonitorStart ${d}`), "error_ind SUCCESS MonitorStart");
    }
  }
  return channels;
}

/**
 * Checks one step on A, B and C: A alone got `reply`, before the events of `device`; A and B
 * got exactly `expected` per device; C got the same without DeviceInformation lines.
 */
function check(
  got: StepLines[],
  expected: Record<string, string[]>,
  reply?: { readonly line: string; readonly device: string },
) {
  const [a, b, c] = got;
  const withoutInfo: Record<string, string[]> = {};
  for (const [d, lines] of Object.entries(expected)) {
    withoutInfo[d] = lines.filter((l) => !l.startsWith("DeviceInformation "));
  }
  assert.deepEqual(a.byDevice, expected, "channel A");
  assert.deepEqual(b.byDevice, expected, "channel B");
  assert.deepEqual(c.byDevice, withoutInfo, "channel C (DeviceInformation=Off)");
  assert.deepEqual(a.replies, reply ? [reply.line] : [], "replies on A");
  assert.deepEqual(b.replies, [], "no replies on B");
  assert.deepEqual(c.replies, [], "no replies on C");
  if (reply) assertReplyFirst(a.lines, reply.line, reply.device);
}

for (const mode of ["standard", "extended"] as const) {
  Deno.test(`a call made, answered, held, retrieved, transferred and cleared, seen by three channels (${mode})`, async () => {
    await using pcs = await startServer({ lines: ["demoPhones = 3"] });
    const channels = await monitoringChannels(pcs, mode, ["101", "102"]);
    const [a] = channels;
    const name = (display: string) => (mode === "extended" ? `:${display}` : "");
    const run = (command: string) => step(pcs, channels, { on: a, command });
    const ok = (subject: string, device: string) => ({
      line: `error_ind SUCCESS ${subject}`,
      device,
    });

    // MakeCall: 101 dials 102, 102 rings. The call made keeps its reference when the phone
    // reports it as outgoing, so 101 shows it once: Initiated with the reply, Originated when
    // the phone reports it (docs/channel-protocol.md §4.2).
    let got = await run("MakeCall 101 102");
    const r1 = refIn(got[0].lines, /^Initiated 101 makeCall (\d+) 101$/);
    const r2 = refIn(got[0].lines, /^DeviceInformation 102 1 \((\d+):alerting:101\b/);
    assert.notEqual(r1, r2);
    check(got, {
      "101": [
        `Initiated 101 makeCall ${r1} 101`,
        `DeviceInformation 101 1 (${r1}:dialing:102${name("")})`,
        "Originated 101 newCall 101 102 101",
        `DeviceInformation 101 1 (${r1}:dialing:102${name("Phone%20102")})`,
      ],
      "102": [
        "Delivered 102 newCall 102 101 102",
        `DeviceInformation 102 1 (${r2}:alerting:101${name("Phone%20101")})`,
      ],
    }, ok("MakeCall", "101"));
    assert.equal(pcs.phone("102").calls[0].state, "ringing");

    got = await run("AnswerCall 102");
    check(got, {
      "101": ["Established 101 newCall 102 101 102"],
      "102": ["Established 102 newCall 102 101 102"],
    }, ok("AnswerCall", "102"));

    // The held party's phone reports nothing of a hold on the other end.
    check(await run("HoldCall 101"), { "101": ["Held 101 normal 101"] }, ok("HoldCall", "101"));
    assert.equal(pcs.phone("101").calls[0].state, "held");
    check(
      await run("RetrieveCall 101"),
      { "101": ["Retrieved 101 normal 101"] },
      ok("RetrieveCall", "101"),
    );
    assert.equal(pcs.phone("101").calls[0].state, "connected");

    // Blind transfer to 103: 101 is out; 102 is referred to 103 and calls it.
    got = await run("TransferCall 101 103");
    const r3 = refIn(got[0].lines, /^DeviceInformation 102 1 \((\d+):dialing:103\b/);
    check(got, {
      "101": ["Transferred 101 transfer 101 102"],
      "102": [
        "ConnectionCleared 102 normalClearing 102",
        "DeviceInformation 102 0 ()",
        "Originated 102 newCall 102 103 102",
        `DeviceInformation 102 1 (${r3}:dialing:103${name("Phone%20103")})`,
      ],
    }, ok("TransferCall", "101"));
    assert.deepEqual(pcs.phone("101").calls, []);
    assert.deepEqual(
      pcs.phone("103").calls.map((c) => [c.state, c.remote.user]),
      [["ringing", "102"]],
    );

    // 103 (not monitored) answers; then 102 hangs up from the channel.
    got = await step(pcs, channels, () => pcs.phone("103").answer());
    check(got, { "102": ["Established 102 newCall 103 102 103"] });
    check(await run("ClearConnection 102"), {
      "102": ["ConnectionCleared 102 normalClearing 102", "DeviceInformation 102 0 ()"],
    }, ok("ClearConnection", "102"));
    assert.deepEqual(pcs.phone("103").calls, []);

    // An outside caller with a display name: the name goes only into Extended call info.
    got = await step(
      pcs,
      channels,
      () => pcs.phone("101").callFrom("0049301234", { displayName: "Jane Doe" }),
    );
    const r4 = refIn(got[0].lines, /^DeviceInformation 101 1 \((\d+):alerting:0049301234\b/);
    check(got, {
      "101": [
        "Delivered 101 newCall 101 0049301234 101",
        `DeviceInformation 101 1 (${r4}:alerting:0049301234${name("Jane%20Doe")})`,
      ],
    });
    check(
      await run("AnswerCall 101"),
      { "101": ["Established 101 newCall 101 0049301234 101"] },
      ok("AnswerCall", "101"),
    );
    check(await run("ClearConnection 101"), {
      "101": ["ConnectionCleared 101 normalClearing 101", "DeviceInformation 101 0 ()"],
    }, ok("ClearConnection", "101"));

    // A name with the list's own separators; then the ringing call is rejected from the
    // channel, which the phone never reports: the server says it ended.
    got = await step(
      pcs,
      channels,
      () => pcs.phone("101").callFrom("+4930555", { displayName: "Müller, Jörg (Sales)" }),
    );
    const r5 = refIn(got[0].lines, /^DeviceInformation 101 1 \((\d+):alerting:\+4930555\b/);
    check(got, {
      "101": [
        "Delivered 101 newCall 101 +4930555 101",
        `DeviceInformation 101 1 (${r5}:alerting:+4930555${
          name("M%C3%BCller%2C%20J%C3%B6rg%20%28Sales%29")
        })`,
      ],
    });
    check(await run("ClearConnection 101"), {
      "101": ["ConnectionCleared 101 normalClearing 101", "DeviceInformation 101 0 ()"],
    }, ok("ClearConnection", "101"));
    assert.deepEqual(pcs.phone("101").calls, []);

    assert.equal(new Set([r1, r2, r3, r4, r5]).size, 5, "call references are unique");
    for (const c of channels) assert.deepEqual(await c.sync(), [], "nothing left over");
  });
}

Deno.test("the vendor's transfer: TransferCall, then MakeCall to the target on a monitored phone", async () => {
  await using pcs = await startServer({ lines: ["demoPhones = 3"] });
  const channels = await monitoringChannels(pcs, "standard", ["101"]);
  const [a] = channels;
  const run = (command: string) => step(pcs, channels, { on: a, command });
  const ok = (subject: string) => ({ line: `error_ind SUCCESS ${subject}`, device: "101" });

  let got = await step(pcs, channels, () => pcs.phone("101").callFrom("0049301234"));
  const r1 = refIn(got[0].lines, /^DeviceInformation 101 1 \((\d+):alerting:0049301234\)$/);
  check(got, {
    "101": [
      "Delivered 101 newCall 101 0049301234 101",
      `DeviceInformation 101 1 (${r1}:alerting:0049301234)`,
    ],
  });
  check(
    await run("AnswerCall 101"),
    { "101": ["Established 101 newCall 101 0049301234 101"] },
    ok("AnswerCall"),
  );

  // TransferCall alone only prepares the phone: no event yet.
  check(await run("TransferCall 101"), {}, ok("TransferCall"));
  assert.equal(pcs.phone("101").calls[0].state, "connected");

  // The MakeCall names the target: the usual Initiated lines first, then the phone reports
  // the transfer, which ends the call and the target leg on 101.
  got = await run("MakeCall 101 103");
  const r2 = refIn(got[0].lines, /^Initiated 101 makeCall (\d+) 101$/);
  assert.notEqual(r1, r2);
  check(got, {
    "101": [
      `Initiated 101 makeCall ${r2} 101`,
      `DeviceInformation 101 2 (${r1}:connected:0049301234,${r2}:dialing:103)`,
      "Transferred 101 transfer 101 0049301234",
      "ConnectionCleared 101 normalClearing 101",
      "DeviceInformation 101 0 ()",
    ],
  }, ok("MakeCall"));
  assert.deepEqual(pcs.phone("101").calls, []);
  const ringing = pcs.phone("103").calls;
  assert.deepEqual(ringing.map((c) => [c.state, c.remote.user]), [["ringing", "0049301234"]]);
  pcs.phone("103").answer();
  assert.equal(pcs.phone("103").calls[0].state, "connected");
  // The transfer went to the phone as TRANSFER, then number=103 (docs/snom.md §2).
  const targets = pcs.phone("101").requests.map((r) => r.target);
  assert.deepEqual(targets.slice(-2), [
    "/command.htm?key=TRANSFER",
    "/command.htm?number=103",
  ]);
  for (const c of channels) assert.deepEqual(await c.sync(), [], "nothing left over");
});

Deno.test("two channels dialling from one phone at once each get their own Initiated right after their reply", async () => {
  await using pcs = await startServer({ lines: ["demoPhones = 3"] });
  const [a, b] = [await pcs.channel(), await pcs.channel()];
  for (const c of [a, b]) {
    assert.equal(await c.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
  }
  // A's dial is at the phone when B's comes in, so B's waits in the phone's queue; the phone
  // then drops A's call to dial B's number.
  const phone = pcs.phone("101");
  phone.delayMs = 100;
  await a.sendLine("MakeCall 101 102");
  await waitFor(
    "A's dial at the phone",
    () => phone.requests.some((r) => r.target.endsWith("=102")),
  );
  await b.sendLine("MakeCall 101 103");
  const onB = await b.sync();
  await pcs.phonesIdle();
  const onA = await a.sync();
  const r1 = refIn(onA.slice(0, 2), /^Initiated 101 makeCall (\d+) 101$/);
  const r2 = refIn(onB.slice(2, 4), /^Initiated 101 makeCall (\d+) 101$/);
  const first = [`Initiated 101 makeCall ${r1} 101`, `DeviceInformation 101 1 (${r1}:dialing:102)`];
  const second = [
    `Initiated 101 makeCall ${r2} 101`,
    `DeviceInformation 101 2 (${r1}:dialing:102,${r2}:dialing:103)`,
  ];
  // Then the phone reports each dial as its own outgoing call: Originated, same callRefs.
  const rest = [
    "Originated 101 newCall 101 102 101",
    `DeviceInformation 101 2 (${r1}:dialing:102,${r2}:dialing:103)`,
    "ConnectionCleared 101 normalClearing 101",
    `DeviceInformation 101 1 (${r2}:dialing:103)`,
    "Originated 101 newCall 101 103 101",
    `DeviceInformation 101 1 (${r2}:dialing:103)`,
  ];
  const reply = "error_ind SUCCESS MakeCall";
  assert.deepEqual(onA, [reply, ...first, ...second, ...rest]);
  assert.deepEqual([...onB, ...await b.sync()], [...first, reply, ...second, ...rest]);
  assert.deepEqual(phone.calls.map((c) => [c.state, c.remote.user]), [["dialing", "103"]]);
});

Deno.test("phones with Basic and Digest logins are monitored and driven end to end", async () => {
  const passwords = { "201": "Basic-Pass-5517", "202": "Digest-Pass-2290" };
  await using pcs = await startServer({
    lines: ["logLevel = debug"],
    phones: [
      { extension: "201", auth: "basic", username: "ops", password: passwords["201"] },
      {
        extension: "202",
        auth: "digest",
        username: "ops",
        password: passwords["202"],
        remoteFormat: "sip:user@host",
      },
    ],
    linesFor: (p) =>
      [...p.values()].map((s) =>
        `phone=${s.extension}@127.0.0.1:${s.port} snom.cfg ops ${
          passwords[s.extension as "201" | "202"]
        }`
      ),
  });
  const channels = [await pcs.channel(), await pcs.channel()];
  for (const c of channels) {
    for (const d of ["201", "202"]) {
      assert.equal(await c.command(`MonitorStart ${d}`), "error_ind SUCCESS MonitorStart");
    }
  }
  const [a, b] = channels;
  let got = await step(pcs, channels, { on: a, command: "MakeCall 201 202" });
  const r1 = refIn(got[0].lines, /^Initiated 201 makeCall (\d+) 201$/);
  const r2 = refIn(got[0].lines, /^DeviceInformation 202 1 \((\d+):alerting:201\)$/);
  const made = {
    "201": [
      `Initiated 201 makeCall ${r1} 201`,
      `DeviceInformation 201 1 (${r1}:dialing:202)`,
      "Originated 201 newCall 201 202 201",
      `DeviceInformation 201 1 (${r1}:dialing:202)`,
    ],
    "202": ["Delivered 202 newCall 202 201 202", `DeviceInformation 202 1 (${r2}:alerting:201)`],
  };
  assert.deepEqual(got.map((g) => g.byDevice), [made, made]);
  assert.deepEqual(got[0].replies, ["error_ind SUCCESS MakeCall"]);

  got = await step(pcs, channels, { on: b, command: "AnswerCall 202" });
  const answered = {
    "201": ["Established 201 newCall 202 201 202"],
    "202": ["Established 202 newCall 202 201 202"],
  };
  assert.deepEqual(got.map((g) => g.byDevice), [answered, answered]);
  assert.deepEqual(got[1].replies, ["error_ind SUCCESS AnswerCall"]);

  got = await step(pcs, channels, { on: a, command: "ClearConnection 201" });
  const cleared = {
    "201": ["ConnectionCleared 201 normalClearing 201", "DeviceInformation 201 0 ()"],
    "202": ["ConnectionCleared 202 normalClearing 202", "DeviceInformation 202 0 ()"],
  };
  assert.deepEqual(got.map((g) => g.byDevice), [cleared, cleared]);

  for (const e of ["201", "202"] as const) {
    const phone = pcs.phone(e);
    assert.equal(phone.failedLogins, 0);
    const commands = phone.requests.filter((r) => r.path === "/command.htm");
    assert.ok(commands.length > 0 && commands.every((r) => r.authorized), `${e} logged in`);
  }
  const status = await (await fetch(`http://127.0.0.1:${pcs.httpPort}/api/status`)).text();
  for (const password of Object.values(passwords)) {
    assert.ok(!status.includes(password), "no password on the status page");
    assert.ok(pcs.logLines.every((l) => !l.includes(password)), "no password in the log");
  }
});
