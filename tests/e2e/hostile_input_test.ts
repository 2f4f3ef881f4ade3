/**
 * Bad input from everywhere at once, against the whole server: random bytes, broken UTF-8,
 * NULs, oversized lines and random commands on many channels; random bytes and malformed
 * callbacks on the HTTP port. Afterwards the server still works end to end and no secret
 * reached the log (docs/architecture.md §9.4). The input is pseudo-random with a fixed seed,
 * so a failure can be replayed.
 */

import assert from "node:assert/strict";
import { secretOf, startServer } from "./_server.ts";

/** A small seeded generator (mulberry32), so every run sends the same bytes. */
function generator(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => int(256));
  return { int, pick, bytes };
}

const WORDS = [
  "STLI",
  "STLI;Version=2",
  "STLI;Version=9;DeviceInformation=Nope",
  "MonitorStart",
  "MonitorStop",
  "MakeCall",
  "AnswerCall",
  "ClearConnection",
  "HoldCall",
  "RetrieveCall",
  "TransferCall",
  "ConsultationCall",
  "ConferenceCall",
  "BYE",
  '{"method":"GET"',
  '{"method":"GET","resource":"/restapi"}',
  "makecall",
  "\u00e9\u00e8",
  "%00",
];
const ARGS = ["101", "102", "999", "", "+49 (30) 123-45", "*21#", "abc", "\u0000", "1".repeat(300)];

async function send(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}

Deno.test("random and malformed input on every port leaves the server working", async () => {
  await using pcs = await startServer({
    lines: ["demoPhones = 4", "channelMaxLineBytes = 4096", "adminPassword = Hostile-Admin-77"],
  });
  const rnd = generator(20261126);
  const enc = new TextEncoder();

  // 40 channels of garbage, each ended abruptly or with BYE.
  await Promise.all(Array.from({ length: 40 }, async (_, i) => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: pcs.channelPort });
    const reading = (async () => {
      const buf = new Uint8Array(65536);
      try {
        while ((await conn.read(buf)) !== null) { /* drain */ }
      } catch { /* reset */ }
    })();
    try {
      for (let k = 0; k < 30; k++) {
        const kind = rnd.int(4);
        const chunk = kind === 0
          ? rnd.bytes(1 + rnd.int(200))
          : kind === 1
          ? enc.encode("X".repeat(5000 + rnd.int(3000)) + "\n")
          : enc.encode(
            [rnd.pick(WORDS), ...Array.from({ length: rnd.int(4) }, () => rnd.pick(ARGS))]
              .join(rnd.pick([" ", "  ", "\t"])) + rnd.pick(["\n", "\r\n", "\r", ""]),
          );
        await send(conn, chunk);
      }
      if (i % 2 === 0) await send(conn, enc.encode("\r\nBYE\r\n"));
    } catch { /* the server may close a channel that overflowed its queue */ }
    try {
      conn.close();
    } catch { /* already closed */ }
    await reading;
  }));

  // Garbage and malformed callbacks on the HTTP port.
  for (let i = 0; i < 30; i++) {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: pcs.httpPort });
    try {
      await send(conn, rnd.bytes(1 + rnd.int(400)));
      await send(conn, enc.encode("\r\n\r\n"));
      const buf = new Uint8Array(4096);
      await conn.read(buf).catch(() => null);
    } catch { /* closed by the server */ }
    conn.close();
  }
  const key = await (async () => {
    const a = await pcs.channel();
    assert.equal(await a.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
    return secretOf(pcs.phone("101"));
  })();
  for (
    const target of [
      "/phone/101/onIncomingCall",
      `/phone/101/onIncomingCall?k=${key}&cid=%ZZ&remote=%&dr=\u00ff\u0000`,
      `/phone/101/noSuchEvent?k=${key}`,
      "/phone/../../etc/passwd",
      `/phone/101/onConnected?k=${key}&cid=${"x".repeat(20000)}`,
    ]
  ) {
    const status = await pcs.rawGet(target).catch(() => 0);
    assert.ok([0, 200, 400, 403, 404, 431].includes(status), `${target.slice(0, 60)} → ${status}`);
  }

  // The server still does its job, end to end, on phones the garbage never named. (The keyed
  // callbacks above were genuine reports of phone 101, odd values and all.)
  const ch = await pcs.channel();
  assert.equal(await ch.command("MonitorStart 103"), "error_ind SUCCESS MonitorStart");
  assert.equal(await ch.command("MonitorStart 104"), "error_ind SUCCESS MonitorStart");
  await pcs.phonesIdle();
  await ch.sync();
  assert.equal(await ch.command("MakeCall 103 104"), "error_ind SUCCESS MakeCall");
  assert.match(await ch.readLine(), /^Initiated 103 makeCall \d+ 103$/);
  assert.match(await ch.readLine(), /^DeviceInformation 103 1 \(\d+:dialing:104\)$/);
  const lines = await ch.until("Delivered 104 newCall 104 103 104");
  assert.equal(lines.at(-1), "Delivered 104 newCall 104 103 104");
  const status = await fetch(`http://127.0.0.1:${pcs.httpPort}/api/status`);
  assert.equal(status.status, 200);
  await status.body?.cancel();

  const log = await pcs.stop();
  assert.ok(!log.includes("Hostile-Admin-77"), "the admin password never reached the log");
  assert.ok(!log.includes(key), "the callback key never reached the log");
  assert.doesNotMatch(log, /an unexpected error was not handled/);
});
