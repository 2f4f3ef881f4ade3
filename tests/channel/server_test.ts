/**
 * The channel over real sockets on loopback: every transcript, the connection rules of
 * docs/channel-protocol.md §6, ordering across channels, limits, live reload and the status view.
 */

import assert from "node:assert/strict";
import { ChannelServer } from "../../src/channel/mod.ts";
import { FakePhones } from "../fakes/channel_handler.ts";
import { StliClient } from "../fakes/stli_client.ts";
import {
  captureLogs,
  type Driver,
  type Feed,
  loadTranscripts,
  replay,
  settle,
  startServer,
  testSettings,
  type Transcript,
  transcriptPhones,
} from "./_helpers.ts";

class SocketDriver implements Driver {
  constructor(readonly client: StliClient, readonly feed: Feed) {}

  async send(bytes: Uint8Array): Promise<void> {
    if (this.feed === "whole") return this.client.send(bytes);
    for (let i = 0; i < bytes.length; i++) await this.client.send(bytes.subarray(i, i + 1));
  }

  readLine(): Promise<string> {
    return this.client.readLine();
  }

  expectEnd(): Promise<void> {
    return this.client.expectEnd();
  }
}

async function replayOverSocket(t: Transcript, feed: Feed) {
  const phones = transcriptPhones();
  const { server, port } = await startServer(phones, t.config);
  const client = await StliClient.connect(port);
  try {
    await replay(t, new SocketDriver(client, feed), phones);
  } finally {
    await client.close();
    await server.close();
  }
}

for (const t of loadTranscripts()) {
  Deno.test(`channel answers ${t.name} over TCP, sent whole`, () => replayOverSocket(t, "whole"));
}
for (
  const t of loadTranscripts().filter((t) => ["framing.txt", "handshake.txt"].includes(t.name))
) {
  Deno.test(`channel answers ${t.name} over TCP, sent one byte per write`, () =>
    replayOverSocket(t, "byte by byte"));
}

Deno.test("MakeCall numbers reach the phones layer normalised", async () => {
  const phones = new FakePhones();
  const { server, port } = await startServer(phones);
  const c = await StliClient.connect(port);
  try {
    assert.equal(await c.command("MakeCall 101 +49 (30) 123-45"), "error_ind SUCCESS MakeCall");
    assert.equal(
      await c.command("ConsultationCall 101 030/123.45"),
      "error_ind SUCCESS ConsultationCall",
    );
    assert.equal(await c.command("TransferCall 101 *21# 5"), "error_ind SUCCESS TransferCall");
    assert.equal(await c.command("TransferCall 101"), "error_ind SUCCESS TransferCall");
    assert.deepEqual(phones.seen, [
      { device: "101", command: "MakeCall", number: "+493012345" },
      { device: "101", command: "ConsultationCall", number: "03012345" },
      { device: "101", command: "TransferCall", number: "*21#5" },
      { device: "101", command: "TransferCall", number: undefined },
    ]);
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("a slow phone delays neither events nor other channels", async () => {
  const phones = new FakePhones();
  const { server, port } = await startServer(phones);
  const a = await StliClient.connect(port);
  const b = await StliClient.connect(port);
  try {
    assert.equal(await a.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
    assert.equal(await b.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
    // Phone 102 now takes as long as this test wants (it stands in for a 5 s phone).
    const release = phones.hold("102");
    await a.sendLine("MakeCall 102 555");
    await b.sendLine("MakeCall 102 556");
    await settle();
    // Events of another device reach both channels at once.
    phones.ring("101", "0301234");
    for (const c of [a, b]) {
      assert.deepEqual(await c.readLines(2), [
        "Delivered 101 newCall 101 0301234 101",
        "DeviceInformation 101 1 (17:alerting:0301234)",
      ]);
    }
    // A third channel is served at once, and so are commands to other phones.
    const c = await StliClient.connect(port);
    assert.equal(
      await c.command("STLI;Version=2"),
      "error_ind SUCCESS STLI;Version=2;DeviceInformation=Standard",
    );
    assert.equal(await c.command("MakeCall 103 1"), "error_ind SUCCESS MakeCall");
    // On the slow phone's own channel a later command runs at once; its reply keeps its place.
    await a.sendLine("AnswerCall 101");
    await settle();
    assert.ok(phones.seen.some((s) => s.device === "101" && s.command === "AnswerCall"));
    await a.expectSilence(50);
    await c.close();
    release();
    assert.deepEqual(await a.readLines(3), [
      "error_ind SUCCESS MakeCall",
      "error_ind SUCCESS AnswerCall",
      "Established 101 newCall 101 0301234 101",
    ]);
    assert.deepEqual(await b.readLines(2), [
      "Established 101 newCall 101 0301234 101",
      "error_ind SUCCESS MakeCall",
    ]);
  } finally {
    await a.close();
    await b.close();
    await server.close();
  }
});

Deno.test("events fan out to every channel that monitors the device, in the phone's order", async () => {
  const phones = new FakePhones();
  const { server, port } = await startServer(phones);
  const off = await StliClient.connect(port);
  const ext = await StliClient.connect(port);
  const other = await StliClient.connect(port);
  try {
    await off.command("STLI;DeviceInformation=Off");
    await ext.command("STLI;DeviceInformation=Extended");
    for (const c of [off, ext]) await c.command("MonitorStart 101");
    assert.equal(await other.command("MonitorStart 102"), "error_ind SUCCESS MonitorStart");
    phones.ring("101", "0301234", "Jane Doe");
    phones.publish("101", { type: "Held" });
    phones.publish("101", { type: "ConnectionCleared" });
    assert.deepEqual(await off.readLines(3), [
      "Delivered 101 newCall 101 0301234 101",
      "Held 101 normal 101",
      "ConnectionCleared 101 normalClearing 101",
    ]);
    assert.deepEqual(await ext.readLines(5), [
      "Delivered 101 newCall 101 0301234 101",
      "DeviceInformation 101 1 (17:alerting:0301234:Jane%20Doe)",
      "Held 101 normal 101",
      "ConnectionCleared 101 normalClearing 101",
      "DeviceInformation 101 1 (17:alerting:0301234:Jane%20Doe)",
    ]);
    await other.expectSilence(30);
  } finally {
    for (const c of [off, ext, other]) await c.close();
    await server.close();
  }
});

Deno.test("BYE: reply, then the server closes and releases the monitors", async () => {
  const phones = new FakePhones();
  const { server, port } = await startServer(phones);
  const c = await StliClient.connect(port);
  try {
    await c.command("MonitorStart 101");
    await c.command("MonitorStart 102");
    assert.equal(phones.subscribers("101").length, 1);
    await c.send("BYE\r\nMonitorStart 103\r\n");
    assert.equal(await c.readLine(), "error_ind SUCCESS BYE");
    await c.expectEnd();
    assert.equal(phones.subscribers("101").length, 0);
    assert.equal(phones.subscribers("102").length, 0);
    assert.equal(phones.stops.length, 2);
    assert.ok(!phones.seen.some((s) => s.device === "103"), "nothing after BYE runs");
    const again = await StliClient.connect(port);
    assert.equal(await again.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
    await again.close();
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("a client that just disconnects gets the same cleanup", async () => {
  const phones = new FakePhones();
  const { server, port } = await startServer(phones);
  const c = await StliClient.connect(port);
  try {
    await c.command("MonitorStart 101");
    await c.close();
    for (let i = 0; i < 100 && server.status().channels.length > 0; i++) await settle(1);
    assert.equal(server.status().channels.length, 0);
    assert.equal(phones.subscribers("101").length, 0);
  } finally {
    await server.close();
  }
});

Deno.test("a client that half-closes still gets every pending reply", async () => {
  const phones = new FakePhones();
  const { server, port } = await startServer(phones);
  const c = await StliClient.connect(port);
  try {
    const release = phones.hold("102");
    await c.send("MonitorStart 101\nMakeCall 102 5\nHoldCall 101");
    await c.conn.closeWrite();
    await settle();
    release();
    assert.deepEqual(await c.readLines(4), [
      "error_ind SUCCESS MonitorStart",
      "error_ind SUCCESS MakeCall",
      "error_ind SUCCESS HoldCall",
      "Held 101 normal 101",
    ]);
    await c.expectEnd();
    assert.equal(phones.subscribers("101").length, 0);
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("an idle channel stays open and gets no unsolicited lines", async () => {
  const phones = new FakePhones();
  const { server, port } = await startServer(phones);
  const c = await StliClient.connect(port);
  try {
    await c.command("MonitorStart 101");
    await c.expectSilence(300);
    assert.equal(c.ended, false);
    assert.equal(await c.command("MonitorStop 101"), "error_ind SUCCESS MonitorStop");
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("accepted channels have TCP keep-alive on", {
  ignore: Deno.build.os !== "linux",
}, async () => {
  const { server, port } = await startServer(new FakePhones());
  const c = await StliClient.connect(port);
  try {
    await c.command("STLI");
    const local = (c.conn.localAddr as Deno.NetAddr).port;
    const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, "0");
    // /proc/net/tcp: "sl local rem st tx:rx tr:when ..." — timer 2 is the keep-alive timer.
    // (Deno reads /proc only with --allow-all, so `cat` reads it.)
    const out = await new Deno.Command("cat", { args: ["/proc/net/tcp"] }).output();
    const rows = new TextDecoder().decode(out.stdout).split("\n").slice(1)
      .map((l) => l.trim().split(/\s+/));
    const serverSide = rows.find((r) =>
      r[1]?.endsWith(`:${hex(port)}`) && r[2]?.endsWith(`:${hex(local)}`)
    );
    const clientSide = rows.find((r) =>
      r[1]?.endsWith(`:${hex(local)}`) && r[2]?.endsWith(`:${hex(port)}`)
    );
    assert.ok(serverSide && clientSide, "both ends of the connection are listed");
    assert.equal(serverSide[5].split(":")[0], "02", "the server side runs a keep-alive timer");
    assert.equal(clientSide[5].split(":")[0], "00", "a socket without keep-alive has no timer");
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("clients outside serverAllowedClients are closed at once and counted", async () => {
  const { server, port } = await startServer(new FakePhones(), { allowedClients: "10.0.0.0/8" });
  const logs = await captureLogs();
  const c = await StliClient.connect(port);
  try {
    await c.send("STLI\r\n").catch(() => undefined);
    await c.expectEnd();
    assert.equal(server.status().refused, 1);
    assert.ok(
      logs.lines.some((l) => l.startsWith("warning ") && /refused .*serverAllowedClients/.test(l)),
      logs.lines.join("\n"),
    );
    assert.equal(server.status().channels.length, 0);
    await server.apply(testSettings({ allowedClients: "127.0.0.0/8" }));
    const ok = await StliClient.connect(port);
    assert.equal(await ok.command("STLI"), "error_ind SUCCESS STLI");
    await ok.close();
  } finally {
    await logs.stop();
    await c.close();
    await server.close();
  }
});

Deno.test("the channel after serverMaxChannels is closed at once; a freed place is reused", async () => {
  const { server, port } = await startServer(new FakePhones(), { maxChannels: 2 });
  const a = await StliClient.connect(port);
  const b = await StliClient.connect(port);
  const c = await StliClient.connect(port);
  try {
    assert.equal(await a.command("STLI"), "error_ind SUCCESS STLI");
    assert.equal(await b.command("STLI"), "error_ind SUCCESS STLI");
    await c.expectEnd();
    assert.equal(server.status().refused, 1);
    await a.sendLine("BYE");
    await a.readLine();
    await a.expectEnd();
    await a.close();
    for (let i = 0; i < 100 && server.status().channels.length > 1; i++) await settle(1);
    const d = await StliClient.connect(port);
    assert.equal(await d.command("STLI"), "error_ind SUCCESS STLI");
    await d.close();
  } finally {
    for (const x of [a, b, c]) await x.close();
    await server.close();
  }
});

Deno.test("a channel whose unsent output passes channelMaxQueueBytes is closed; others go on", async () => {
  const phones = new FakePhones();
  const { server, port } = await startServer(phones, { maxQueueBytes: 64 * 1024 });
  const stuck = await Deno.connect({ hostname: "127.0.0.1", port });
  const healthy = await StliClient.connect(port);
  const logs = await captureLogs();
  try {
    await stuck.write(new TextEncoder().encode("MonitorStart 101\r\n"));
    for (let i = 0; i < 100 && phones.subscribers("101").length === 0; i++) await settle(1);
    assert.equal(phones.subscribers("101").length, 1);
    // The stuck client never reads: events pile up behind the kernel's buffers.
    const remote = "9".repeat(30_000);
    let closed = false;
    for (let round = 0; round < 2000 && !closed; round++) {
      phones.publish("101", { type: "Transferred", remote });
      if (round % 10 === 9) await settle(1);
      closed = phones.subscribers("101").length === 0;
    }
    assert.ok(closed, "the stuck channel was closed and its monitor released");
    assert.equal(await healthy.command("MonitorStart 102"), "error_ind SUCCESS MonitorStart");
    assert.equal(server.status().channels.length, 1);
    assert.ok(
      logs.lines.some((l) => l.startsWith("error ") && /limit 65536\); closing/.test(l)),
      logs.lines.join("\n"),
    );
    assert.ok(logs.lines.some((l) => /closed \(output queue full\)/.test(l)));
  } finally {
    await logs.stop();
    stuck.close();
    await healthy.close();
    await server.close();
  }
});

Deno.test("oversized and malformed input is answered and survived", async () => {
  const { server, port } = await startServer(new FakePhones(), { maxLineBytes: 1024 });
  const c = await StliClient.connect(port);
  try {
    await c.send("MakeCall 101 " + "1".repeat(200_000) + "\r\n");
    assert.equal(await c.readLine(), "error_ind INVALCMD LineTooLong");
    const noise = new Uint8Array(20_000);
    let seed = 7;
    for (let i = 0; i < noise.length; i++) {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      noise[i] = seed % 97 === 0 ? 0x0a : (seed >> 8) & 0xff;
    }
    await c.send(noise);
    await c.send("\r\nSTLI;Version=2\r\n");
    let line = "";
    for (
      let i = 0;
      i < 2000 && line !== "error_ind SUCCESS STLI;Version=2;DeviceInformation=Standard";
      i++
    ) {
      line = await c.readLine();
      assert.match(line, /^error_ind (INVALCMD|INVALNUMPARAM|ERROR|SUCCESS) \S/);
      assert.ok(!line.endsWith(" "), "no trailing spaces");
    }
    assert.equal(line, "error_ind SUCCESS STLI;Version=2;DeviceInformation=Standard");
    assert.equal(await c.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("many channels at once each get their own replies in order", async () => {
  const count = 200;
  const devices = Array.from({ length: count }, (_, i) => String(1000 + i));
  const phones = new FakePhones({ devices });
  const { server, port } = await startServer(phones);
  try {
    const clients = await Promise.all(devices.map(() => StliClient.connect(port)));
    await Promise.all(clients.map(async (c, i) => {
      const dev = devices[i];
      await c.send(`STLI;Version=2\r\nMonitorStart ${dev}\r\nMakeCall ${dev} ${i}\r\nBYE\r\n`);
      const lines = await c.readLines(6);
      assert.equal(lines[0], "error_ind SUCCESS STLI;Version=2;DeviceInformation=Standard");
      assert.equal(lines[1], "error_ind SUCCESS MonitorStart");
      assert.equal(lines[2], "error_ind SUCCESS MakeCall");
      assert.match(lines[3], new RegExp(`^Initiated ${dev} makeCall \\d+ ${dev}$`));
      assert.match(lines[4], new RegExp(`^DeviceInformation ${dev} 1 \\(\\d+:dialing:${i}\\)$`));
      assert.equal(lines[5], "error_ind SUCCESS BYE");
      await c.expectEnd();
      await c.close();
    }));
    assert.equal(phones.seen.filter((s) => s.command === "MakeCall").length, count);
  } finally {
    await server.close();
  }
});

Deno.test("channels sharing a device each get every event, in the phone's order", async () => {
  const phones = new FakePhones();
  const { server, port } = await startServer(phones);
  const clients = await Promise.all(Array.from({ length: 20 }, () => StliClient.connect(port)));
  try {
    for (const c of clients) await c.command("MonitorStart 101");
    await Promise.all(clients.map((c, i) => c.sendLine(`MakeCall 101 ${i}`)));
    for (const [i, c] of clients.entries()) {
      const lines = await c.readLines(1 + 2 * clients.length);
      assert.equal(lines.filter((l) => l === "error_ind SUCCESS MakeCall").length, 1);
      const refs = lines.filter((l) => l.startsWith("Initiated")).map((l) =>
        Number(l.split(" ")[3])
      );
      assert.deepEqual(refs, [...refs].sort((a, b) => a - b), "the phone's order");
      assert.equal(new Set(refs).size, clients.length);
      // Its own call is the newest one in the DeviceInformation after its Initiated.
      const reply = lines.indexOf("error_ind SUCCESS MakeCall");
      const ownInfo = lines.findIndex((l) => l.endsWith(`:dialing:${i})`));
      assert.match(lines[ownInfo - 1], /^Initiated 101 makeCall \d+ 101$/);
      assert.ok(reply < ownInfo - 1, "the reply comes before the event its command caused");
    }
  } finally {
    for (const c of clients) await c.close();
    await server.close();
  }
});

Deno.test("a changed port rebinds while open channels stay connected", async () => {
  const phones = new FakePhones();
  const { server, port } = await startServer(phones);
  const c = await StliClient.connect(port);
  try {
    assert.equal(await c.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const wanted = (probe.addr as Deno.NetAddr).port;
    probe.close();
    await server.apply(testSettings({ port: wanted }));
    assert.equal(server.address?.port, wanted);
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }), "the old port is closed");
    const d = await StliClient.connect(wanted);
    assert.equal(await d.command("STLI"), "error_ind SUCCESS STLI");
    await d.close();
    assert.equal(await c.command("MakeCall 101 102"), "error_ind SUCCESS MakeCall");
    assert.equal(await c.readLine(), "Initiated 101 makeCall 17 101");
  } finally {
    await c.close();
    await server.close();
  }
});

Deno.test("a port that cannot be bound keeps the old listener", async () => {
  const { server, port } = await startServer(new FakePhones());
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    await server.apply(testSettings({ port: (taken.addr as Deno.NetAddr).port }));
    assert.equal(server.address?.port, port);
    const c = await StliClient.connect(port);
    assert.equal(await c.command("STLI"), "error_ind SUCCESS STLI");
    await c.close();
  } finally {
    taken.close();
    await server.close();
  }
});

/**
 * A `listen` whose address 127.0.0.2 clashes with any open listener on the same port, as
 * 0.0.0.0:P and 10.0.0.5:P clash on a real host; `always` makes 127.0.0.2 fail for good.
 */
function clashingListen(always = false) {
  const open = new Set<Deno.TcpListener>();
  return (at: { hostname: string; port: number }): Deno.TcpListener => {
    const busy = [...open].some((l) => (l.addr as Deno.NetAddr).port === at.port);
    if (at.hostname === "127.0.0.2" && (always || busy)) {
      throw new Deno.errors.AddrInUse(`address in use: ${at.hostname}:${at.port}`);
    }
    const listener = Deno.listen({ ...at, transport: "tcp" });
    const close = listener.close.bind(listener);
    listener.close = () => {
      open.delete(listener);
      close();
    };
    open.add(listener);
    return listener;
  };
}

function freePort(): number {
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (probe.addr as Deno.NetAddr).port;
  probe.close();
  return port;
}

for (const always of [false, true]) {
  Deno.test(
    always
      ? "a new bind address on the same port that cannot be bound brings the old one back"
      : "a new bind address on the same port takes over from the old listener",
    async () => {
      const port = freePort();
      const server = new ChannelServer({
        handler: new FakePhones(),
        listen: clashingListen(always),
      });
      await server.apply(testSettings({ port }));
      const c = await StliClient.connect(port);
      try {
        assert.equal(await c.command("STLI"), "error_ind SUCCESS STLI");
        await server.apply(testSettings({ port, bindAddress: "127.0.0.2" }));
        const expected = always ? "127.0.0.1" : "127.0.0.2";
        assert.deepEqual(server.status().listening, { hostname: expected, port });
        const d = await StliClient.connect(port, expected);
        assert.equal(await d.command("STLI"), "error_ind SUCCESS STLI");
        await d.close();
        assert.equal(await c.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
      } finally {
        await c.close();
        await server.close();
      }
    },
  );
}

Deno.test("the first apply fails clearly when the port is taken", async () => {
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const server = new ChannelServer({ handler: new FakePhones() });
  try {
    await assert.rejects(
      server.apply(testSettings({ port: (taken.addr as Deno.NetAddr).port })),
      { name: "ChannelBindError" },
    );
  } finally {
    taken.close();
    await server.close();
  }
});

Deno.test("a reload changes limits of open channels and the mode of new ones only", async () => {
  const { server, port } = await startServer(new FakePhones());
  const old = await StliClient.connect(port);
  try {
    assert.equal(await old.command("MakeCall 999 1"), "error_ind ERROR MakeCall");
    await server.apply(testSettings({ errorDetail: true, deviceInformation: "extended" }));
    assert.equal(await old.command("MakeCall 999 1"), "error_ind ERROR MakeCall UnknownDevice");
    assert.equal(
      await old.command("STLI;Version=2"),
      "error_ind SUCCESS STLI;Version=2;DeviceInformation=Standard",
    );
    const fresh = await StliClient.connect(port);
    assert.equal(
      await fresh.command("STLI;Version=2"),
      "error_ind SUCCESS STLI;Version=2;DeviceInformation=Extended",
    );
    await fresh.close();
  } finally {
    await old.close();
    await server.close();
  }
});

Deno.test("the status view lists open channels, the listener and refusals", async () => {
  let now = 1_700_000_000_000;
  const clock = {
    now: () => now,
    setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
    clearTimeout: (id: ReturnType<typeof setTimeout>) => clearTimeout(id),
  };
  const phones = new FakePhones();
  const { server, port } = await startServer(phones, {}, { clock });
  const c = await StliClient.connect(port);
  try {
    await c.command("STLI;DeviceInformation=Off");
    await c.command("MonitorStart 102");
    await c.command("MonitorStart 101");
    now += 1000;
    const status = server.status();
    assert.deepEqual(status.listening, { hostname: "127.0.0.1", port });
    assert.equal(status.refused, 0);
    assert.equal(status.maxChannels, 1024);
    assert.equal(status.channels.length, 1);
    const [ch] = status.channels;
    assert.equal(ch.peer, `127.0.0.1:${(c.conn.localAddr as Deno.NetAddr).port}`);
    assert.equal(ch.connectedSince, 1_700_000_000_000);
    assert.equal(ch.mode, "off");
    assert.deepEqual(ch.monitored, ["101", "102"]);
    assert.equal(ch.queuedBytes, 0);
    assert.equal(ch.pendingCommands, 0);
    assert.equal(phones.subscribers("101")[0].id, ch.id);
  } finally {
    await c.close();
    await server.close();
  }
  assert.equal(server.status().listening, undefined);
});

Deno.test("closing the server closes every channel and releases its monitors", async () => {
  const phones = new FakePhones();
  const { server, port } = await startServer(phones);
  const c = await StliClient.connect(port);
  try {
    await c.command("MonitorStart 101");
    await server.close();
    await c.expectEnd();
    assert.equal(phones.subscribers("101").length, 0);
    await assert.rejects(Deno.connect({ hostname: "127.0.0.1", port }));
  } finally {
    await c.close();
  }
});
