/**
 * Every channel command and every event between a simulated Yealink (101, monitored by
 * provisioning) and simulated SNOMs (201, 202), both directions, end to end through the real
 * server, compared whole on two channels (docs/yealink.md §2, §4; docs/channel-protocol.md §4).
 * A Yealink call ends with the same lines as a SNOM call: the tests run the missed and the
 * rejected call on both families and compare.
 */

import assert from "node:assert/strict";
import { provisioningCommand } from "../../src/server/mod.ts";
import type { StliClient } from "../fakes/stli_client.ts";
import { startServer, type TestServer } from "./_server.ts";
import { refIn, step } from "./_steps.ts";

const LOGIN = { username: "admin", password: "pw" };

/** Yealink 101 provisioned with the server's lines, SNOMs 201 and 202, all monitored by A and B. */
async function yealinkBesideSnoms() {
  const pcs = await startServer({
    lines: ["channelErrorDetail = on"],
    phones: [
      { extension: "201", auth: "digest", ...LOGIN },
      { extension: "202", auth: "digest", ...LOGIN },
    ],
    yealinks: [{ extension: "101", ...LOGIN }],
    linesFor: (phones, yealinks) => [
      `phone=101@127.0.0.1:${yealinks.get("101")!.port} yealink.cfg admin pw`,
      ...["201", "202"].map((e) => `phone=${e}@127.0.0.1:${phones.get(e)!.port} snom.cfg admin pw`),
    ],
  });
  try {
    const lines: string[] = [];
    const notes: string[] = [];
    const code = await provisioningCommand(
      pcs.server.settings,
      "101",
      (l) => lines.push(l),
      (l) => notes.push(l),
    );
    assert.equal(code, 0, notes.join("\n"));
    pcs.yealink("101").provision(lines.join("\n"));
    const channels = [await pcs.channel("STLI;Version=2"), await pcs.channel("STLI;Version=2")];
    for (const c of channels) {
      for (const d of ["101", "201", "202"]) {
        assert.equal(await c.command(`MonitorStart ${d}`), "error_ind SUCCESS MonitorStart");
      }
    }
    return { pcs, channels, y: pcs.yealink("101") };
  } catch (e) {
    await pcs.close();
    throw e;
  }
}

/** Runs one step; asserts A's reply, that A and B got the same events, and returns A's. */
async function run(
  pcs: TestServer,
  channels: readonly StliClient[],
  what: string | (() => unknown),
  reply?: string,
): Promise<{ lines: string[]; byDevice: Record<string, string[]> }> {
  const [a] = channels;
  const got = await step(pcs, channels, typeof what === "string" ? { on: a, command: what } : what);
  const subject = typeof what === "string" ? what.split(" ")[0] : undefined;
  assert.deepEqual(
    got[0].replies,
    subject ? [reply ?? `error_ind SUCCESS ${subject}`] : [],
    `reply to ${what}`,
  );
  assert.deepEqual(got[1].replies, [], "no replies on B");
  assert.deepEqual(got[1].byDevice, got[0].byDevice, "A and B see the same events");
  return got[0];
}

/** `from` dials `to` from the channel: the lines of a call made and ringing, with its refs. */
async function ring(pcs: TestServer, channels: readonly StliClient[], from: string, to: string) {
  const got = await run(pcs, channels, `MakeCall ${from} ${to}`);
  const r1 = refIn(got.lines, new RegExp(`^Initiated ${from} makeCall (\\d+) ${from}$`));
  const r2 = refIn(got.lines, new RegExp(`^DeviceInformation ${to} 1 \\((\\d+):alerting:`));
  assert.deepEqual(got.byDevice, {
    [from]: [
      `Initiated ${from} makeCall ${r1} ${from}`,
      `DeviceInformation ${from} 1 (${r1}:dialing:${to})`,
      `Originated ${from} newCall ${from} ${to} ${from}`,
      `DeviceInformation ${from} 1 (${r1}:dialing:${to})`,
    ],
    [to]: [
      `Delivered ${to} newCall ${to} ${from} ${to}`,
      `DeviceInformation ${to} 1 (${r2}:alerting:${from})`,
    ],
  });
  return [r1, r2];
}

/** The lines of a device whose call ended and which has no call left. */
const cleared = (
  d: string,
) => [`ConnectionCleared ${d} normalClearing ${d}`, `DeviceInformation ${d} 0 ()`];

Deno.test("a SNOM calls the Yealink: answered by ASW:<id>, held and retrieved on both sides, cleared by the SNOM", async () => {
  const { pcs, channels, y } = await yealinkBesideSnoms();
  await using _ = pcs;
  const snom = pcs.phone("201");
  await ring(pcs, channels, "201", "101");
  const id = y.localId(y.calls[0].callId);

  let got = await run(pcs, channels, "AnswerCall 101");
  assert.equal(y.requests.at(-1)!.target, `/servlet?key=ASW:${id}`);
  const established = ["Established", "newCall 101 201 101"];
  assert.deepEqual(got.byDevice, {
    "101": [`${established[0]} 101 ${established[1]}`],
    "201": [`${established[0]} 201 ${established[1]}`],
  });

  // The SNOM holds and takes back: the held party's phone reports nothing.
  got = await run(pcs, channels, "HoldCall 201");
  assert.deepEqual(got.byDevice, { "201": ["Held 201 normal 201"] });
  assert.equal(snom.calls[0].state, "held");
  got = await run(pcs, channels, "RetrieveCall 201");
  assert.deepEqual(got.byDevice, { "201": ["Retrieved 201 normal 201"] });
  assert.equal(snom.calls[0].state, "connected");

  // The Yealink holds and takes back the call by its id.
  got = await run(pcs, channels, "HoldCall 101");
  assert.equal(y.requests.at(-1)!.target, `/servlet?key=HOLD:${id}`);
  assert.deepEqual(got.byDevice, { "101": ["Held 101 normal 101"] });
  got = await run(pcs, channels, "RetrieveCall 101");
  assert.equal(y.requests.at(-1)!.target, `/servlet?key=UNHOLD:${id}`);
  assert.deepEqual(got.byDevice, { "101": ["Retrieved 101 normal 101"] });

  got = await run(pcs, channels, "ClearConnection 201");
  assert.deepEqual(got.byDevice, { "201": cleared("201"), "101": cleared("101") });
  assert.deepEqual([y.calls, snom.calls], [[], []]);

  // The Yealink answers a call its user hangs up on the phone: call_terminated.
  await ring(pcs, channels, "201", "101");
  got = await run(pcs, channels, "AnswerCall 101");
  assert.deepEqual(Object.keys(got.byDevice).sort(), ["101", "201"]);
  got = await run(pcs, channels, () => y.hangup());
  assert.deepEqual(got.byDevice, { "101": cleared("101"), "201": cleared("201") });
  for (const c of channels) assert.deepEqual(await c.sync(), [], "nothing left over");
});

Deno.test("the Yealink transfers blind, in two steps and by ConsultationCall; commands its profile lacks are NotSupported", async () => {
  const { pcs, channels, y } = await yealinkBesideSnoms();
  await using _ = pcs;
  const idOf = (i: number) => y.localId(y.calls[i].callId);
  const transfers = () =>
    y.actions.filter((a) => a.url.includes("/onTransfer?")).map((a) => a.event);

  // Blind: 101 dials 201, 201 answers, 101 transfers it to 202 in one command.
  await ring(pcs, channels, "101", "201");
  await run(pcs, channels, "AnswerCall 201");
  let got = await run(pcs, channels, "TransferCall 101 202");
  assert.equal(y.requests.at(-1)!.target, "/servlet?key=F_TRANSFER;2;0;2;F_TRANSFER");
  let r3 = refIn(got.lines, /^DeviceInformation 201 1 \((\d+):dialing:202\)$/);
  let r4 = refIn(got.lines, /^DeviceInformation 202 1 \((\d+):alerting:201\)$/);
  assert.deepEqual(got.byDevice, {
    "101": ["Transferred 101 transfer 101 201"],
    "201": [
      ...cleared("201"),
      "Originated 201 newCall 201 202 201",
      `DeviceInformation 201 1 (${r3}:dialing:202)`,
    ],
    "202": ["Delivered 202 newCall 202 201 202", `DeviceInformation 202 1 (${r4}:alerting:201)`],
  });
  assert.deepEqual(transfers(), ["transfer"], "one transfer_finished");
  got = await run(pcs, channels, () => pcs.phone("202").answer());
  assert.deepEqual(got.byDevice, {
    "202": ["Established 202 newCall 202 201 202"],
    "201": ["Established 201 newCall 202 201 202"],
  });
  got = await run(pcs, channels, "ClearConnection 202");
  assert.deepEqual(got.byDevice, { "202": cleared("202"), "201": cleared("201") });

  // Two steps: 201 calls 101, 101 answers, TransferCall 101 then MakeCall 101 202.
  const [, r5] = await ring(pcs, channels, "201", "101");
  await run(pcs, channels, "AnswerCall 101");
  got = await run(pcs, channels, "TransferCall 101");
  assert.deepEqual(got.byDevice, {}, "TransferCall alone only prepares the phone");
  assert.equal(y.requests.at(-1)!.target, "/servlet?key=F_TRANSFER");
  got = await run(pcs, channels, "MakeCall 101 202");
  assert.equal(y.requests.at(-1)!.target, "/servlet?key=number=202");
  const r6 = refIn(got.lines, /^Initiated 101 makeCall (\d+) 101$/);
  r3 = refIn(got.lines, /^DeviceInformation 201 1 \((\d+):dialing:202\)$/);
  r4 = refIn(got.lines, /^DeviceInformation 202 1 \((\d+):alerting:201\)$/);
  assert.deepEqual(got.byDevice, {
    "101": [
      `Initiated 101 makeCall ${r6} 101`,
      `DeviceInformation 101 2 (${r5}:connected:201,${r6}:dialing:202)`,
      "Transferred 101 transfer 101 201",
      ...cleared("101"),
    ],
    "201": [
      ...cleared("201"),
      "Originated 201 newCall 201 202 201",
      `DeviceInformation 201 1 (${r3}:dialing:202)`,
    ],
    "202": ["Delivered 202 newCall 202 201 202", `DeviceInformation 202 1 (${r4}:alerting:201)`],
  });
  assert.deepEqual(transfers(), ["transfer", "transfer"]);
  assert.deepEqual(y.calls, []);
  await run(pcs, channels, () => pcs.phone("202").answer());
  got = await run(pcs, channels, "ClearConnection 201");
  assert.deepEqual(got.byDevice, { "201": cleared("201"), "202": cleared("202") });

  // ConsultationCall: the Yealink holds its call with 201 and dials 202.
  const [, r7] = await ring(pcs, channels, "201", "101");
  await run(pcs, channels, "AnswerCall 101");
  got = await run(pcs, channels, "ConsultationCall 101 202");
  assert.deepEqual(y.requests.slice(-2).map((r) => r.target), [
    "/servlet?key=HOLD",
    "/servlet?key=number=202",
  ]);
  const r8 = refIn(got.lines, /^DeviceInformation 101 2 \(\d+:held:201,(\d+):dialing:202\)$/);
  const r9 = refIn(got.lines, /^DeviceInformation 202 1 \((\d+):alerting:101\)$/);
  assert.deepEqual(got.byDevice, {
    "101": [
      "Held 101 normal 101",
      "Originated 101 newCall 101 202 101",
      `DeviceInformation 101 2 (${r7}:held:201,${r8}:dialing:202)`,
    ],
    "202": ["Delivered 202 newCall 202 101 202", `DeviceInformation 202 1 (${r9}:alerting:101)`],
  });
  for (const command of ["ConferenceCall 101", "AlternateCall 101", "ReconnectCall 101"]) {
    await run(pcs, channels, command, `error_ind ERROR ${command.split(" ")[0]} NotSupported`);
  }
  const consultation = idOf(1);
  got = await run(pcs, channels, "ClearConnection 101");
  assert.equal(y.requests.at(-1)!.target, `/servlet?key=CANCEL:${consultation}`);
  assert.deepEqual(got.byDevice, {
    // The consultation call was given up before 202 answered: cancel_callout says so.
    "101": ["ConnectionCleared 101 normalClearing 101", `DeviceInformation 101 1 (${r7}:held:201)`],
    "202": cleared("202"),
  });
  got = await run(pcs, channels, "RetrieveCall 101");
  assert.deepEqual(got.byDevice, { "101": ["Retrieved 101 normal 101"] });
  got = await run(pcs, channels, "ClearConnection 101");
  assert.deepEqual(got.byDevice, { "101": cleared("101"), "201": cleared("201") });
  for (const c of channels) assert.deepEqual(await c.sync(), [], "nothing left over");
});

Deno.test("a call the Yealink misses and a ringing call it rejects end as they do on a SNOM", async () => {
  const { pcs, channels, y } = await yealinkBesideSnoms();
  await using _ = pcs;
  // The caller gives up before an answer: the callee's phone reports a missed call.
  for (const callee of ["101", "202"]) {
    await ring(pcs, channels, "201", callee);
    const got = await run(pcs, channels, "ClearConnection 201");
    assert.deepEqual(got.byDevice, { "201": cleared("201"), [callee]: cleared(callee) }, callee);
  }
  const missed = y.actions.findLast((a) => a.event === "missed")!;
  assert.ok(missed.url.includes("/phone/101/onMissedCall?"));
  assert.deepEqual(y.actions.at(-1)!.event, "idle", "busy_to_idle follows");
  assert.ok(
    pcs.phone("202").actions.some((a) => a.event === "missed"),
    "the SNOM reported its missed call too",
  );

  // The callee rejects from the channel: CANCEL:<id> on the Yealink, which reports the
  // rejection; a SNOM reports nothing, so the server says the call was rejected: the same
  // lines on both.
  for (const callee of ["101", "202"]) {
    await ring(pcs, channels, "201", callee);
    const id = callee === "101" ? y.localId(y.calls[0].callId) : undefined;
    const got = await run(pcs, channels, `ClearConnection ${callee}`);
    if (id) assert.equal(y.requests.at(-1)!.target, `/servlet?key=CANCEL:${id}`);
    assert.deepEqual(
      got.byDevice,
      {
        [callee]: [
          `ConnectionCleared ${callee} normalClearing ${callee}`,
          `DeviceInformation ${callee} 0 ()`,
        ],
        "201": cleared("201"),
      },
      callee,
    );
  }
  assert.deepEqual([y.calls, pcs.phone("201").calls, pcs.phone("202").calls], [[], [], []]);
  for (const c of channels) assert.deepEqual(await c.sync(), [], "nothing left over");
});

Deno.test("a call the Yealink's user rejects, forwards, or that is turned down, ends at once", async () => {
  const { pcs, channels, y } = await yealinkBesideSnoms();
  await using _ = pcs;
  // Rejected on the phone itself: reject_incoming_call ends it now, not after two minutes.
  await ring(pcs, channels, "201", "101");
  let got = await run(pcs, channels, () => y.hangup());
  assert.deepEqual(got.byDevice, { "101": cleared("101"), "201": cleared("201") });

  // Forwarded while ringing (TransferCall on the ringing call): forward_incoming_call.
  await ring(pcs, channels, "201", "101");
  got = await run(pcs, channels, "TransferCall 101 202");
  const r = refIn(got.lines, /^DeviceInformation 202 1 \((\d+):alerting:201\)$/);
  assert.deepEqual(got.byDevice, {
    "101": cleared("101"),
    "202": ["Delivered 202 newCall 202 201 202", `DeviceInformation 202 1 (${r}:alerting:201)`],
  });
  await run(pcs, channels, "ClearConnection 201");

  // Turned down: 202 has do-not-disturb on and refuses the Yealink's call: remote_busy.
  pcs.phone("202").press("DND");
  got = await run(pcs, channels, "MakeCall 101 202");
  assert.deepEqual(got.byDevice["101"].slice(-2), cleared("101"));
  assert.equal(got.byDevice["202"], undefined, "202 never rang");
  assert.deepEqual([y.calls, pcs.phone("201").calls, pcs.phone("202").calls], [[], [], []]);
  for (const c of channels) assert.deepEqual(await c.sync(), [], "nothing left over");
});

Deno.test("a transfer the Yealink cannot complete leaves its call connected, and the call goes on", async () => {
  const { pcs, channels, y } = await yealinkBesideSnoms();
  await using _ = pcs;
  y.unreachable.add("299");
  await ring(pcs, channels, "201", "101");
  await run(pcs, channels, "AnswerCall 101");
  let got = await run(pcs, channels, "TransferCall 101 299");
  assert.deepEqual(got.byDevice, {}, "no Transferred, no ConnectionCleared");
  assert.ok(y.actions.some((a) => a.url.includes("/phone/101/onTransferFailed?")));
  assert.deepEqual(y.calls.map((c) => c.state), ["connected"]);
  got = await run(pcs, channels, "HoldCall 101");
  assert.deepEqual(got.byDevice, { "101": ["Held 101 normal 101"] });
  got = await run(pcs, channels, "ClearConnection 201");
  assert.deepEqual(got.byDevice, { "201": cleared("201"), "101": cleared("101") });
});

Deno.test("a SNOM's blind and attended transfers are reported by their own settings", async () => {
  await using pcs = await startServer({
    phones: ["201", "202", "203"].map((extension) => ({ extension, auth: "digest", ...LOGIN })),
    linesFor: (phones) =>
      ["201", "202", "203"].map((e) =>
        `phone=${e}@127.0.0.1:${phones.get(e)!.port} snom.cfg admin pw`
      ),
  });
  // A firmware that reports a transfer only through the setting of its kind.
  pcs.phone("201").setPermission("action_transfer", "R");
  const channels = [await pcs.channel("STLI;Version=2"), await pcs.channel("STLI;Version=2")];
  for (const c of channels) {
    for (const d of ["201", "202", "203"]) {
      assert.equal(await c.command(`MonitorStart ${d}`), "error_ind SUCCESS MonitorStart");
    }
  }
  const settings = pcs.phone("201").settings;
  assert.match(settings.get("action_blind_transfer") ?? "", /\/phone\/201\/onBlindTransfer\?/);
  assert.match(
    settings.get("action_attended_transfer") ?? "",
    /\/phone\/201\/onAttendedTransfer\?/,
  );
  assert.equal(settings.get("action_transfer") ?? "", "");

  // Blind: 202 calls 201, 201 answers and transfers it to 203.
  await ring(pcs, channels, "202", "201");
  await run(pcs, channels, "AnswerCall 201");
  let got = await run(pcs, channels, "TransferCall 201 203");
  assert.deepEqual(got.byDevice["201"], ["Transferred 201 transfer 201 202"]);
  await run(pcs, channels, "ClearConnection 202");

  // Attended: 202 calls 201, 201 answers, consults 203, who answers, then transfers.
  await ring(pcs, channels, "202", "201");
  await run(pcs, channels, "AnswerCall 201");
  await run(pcs, channels, "ConsultationCall 201 203");
  await run(pcs, channels, "AnswerCall 203");
  got = await run(pcs, channels, () => pcs.phone("201").press("TRANSFER"));
  assert.equal(got.byDevice["201"][0], "Transferred 201 transfer 201 202");
  assert.deepEqual(got.byDevice["201"].slice(-2), cleared("201"));
  assert.deepEqual(pcs.phone("201").calls, []);
});

Deno.test("a SNOM's ringing call answered on another phone is no missed call: $cancel_reason says so", async () => {
  const { pcs, channels } = await yealinkBesideSnoms();
  await using _ = pcs;
  const snom = pcs.phone("202");
  await run(pcs, channels, () => snom.callFrom("0301234"));
  let got = await run(
    pcs,
    channels,
    () => snom.remoteHangup(undefined, 'SIP;cause=200;text="Call completed elsewhere"'),
  );
  assert.deepEqual(got.byDevice, {
    "202": ["ConnectionCleared 202 normalClearing 202", "DeviceInformation 202 0 ()"],
  });
  // A caller who gives up leaves a missed call as before.
  await run(pcs, channels, () => snom.callFrom("0301234"));
  got = await run(pcs, channels, () => snom.remoteHangup());
  assert.deepEqual(got.byDevice, { "202": cleared("202") });
});
