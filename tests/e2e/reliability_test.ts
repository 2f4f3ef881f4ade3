/**
 * Faults an office server meets over months, through real sockets on loopback: clients that
 * reset before they are accepted, idle connections hogging the HTTP port, configuration files
 * emptied, cut or bloated while commands run, a phone that never answers, a stop with
 * everything connected, and a flood of forged callbacks (docs/architecture.md §9.4).
 */

import assert from "node:assert/strict";
import net from "node:net";
import { join } from "node:path";
import { ROOT, waitFor } from "../helpers.ts";
import { startServer } from "./_server.ts";

/** `work`, or a failure after `ms` (a dead listener would otherwise hang the test). */
async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)
  );
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Keeps this process (and so the server in it) from accepting until `marker` exists. */
function blockUntil(marker: string, timeoutMs: number): void {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      Deno.statSync(marker);
      return;
    } catch {
      // not yet
    }
  }
  throw new Error(`the resetting client did not finish within ${timeoutMs} ms`);
}

/** Opens a connection from `localAddress`, sends one keep-alive GET, reads the head, stays open. */
function idleKeepAlive(port: number, localAddress: string): Promise<net.Socket | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    let head = "";
    socket.setEncoding("latin1");
    socket.once("connect", () => {
      socket.write(`GET /api/status HTTP/1.1\r\nHost: x\r\n\r\n`);
    });
    socket.on("data", (chunk: string) => {
      head += chunk;
      if (head.includes("\r\n\r\n")) resolve(socket);
    });
    socket.once("error", () => resolve(undefined));
    socket.once("close", () => resolve(undefined));
  });
}

Deno.test("clients that reset before they are accepted stop neither port, and cost no pause", async () => {
  await using pcs = await startServer({ lines: ["demoPhones = 2"] });
  const marker = join(ROOT, ".tmp", `resetter-${crypto.randomUUID()}`);
  await Deno.mkdir(join(ROOT, ".tmp"), { recursive: true });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      `--allow-write=${marker}`,
      join(ROOT, "tests", "fakes", "resetter.ts"),
      marker,
      "100",
      String(pcs.httpPort),
      String(pcs.channelPort),
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  try {
    // While this event loop is blocked, the connections wait in the listeners' backlogs and
    // are reset there: the server meets them only when it accepts.
    blockUntil(marker, 30_000);
    assert.equal((await child.status).code, 0);
  } finally {
    await Deno.remove(marker).catch(() => {});
  }
  assert.equal(await within(pcs.rawGet("/api/status"), 3000, "the status page"), 200);
  const c = await pcs.channel();
  assert.match(await c.command("STLI;Version=2"), /^error_ind SUCCESS STLI/);
  assert.equal(await c.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
  pcs.phone("101").callFrom("0305551");
  await pcs.phonesIdle();
  assert.match((await c.sync())[0], /^Delivered 101 /, "phone callbacks still arrive");
  const status = pcs.server.status() as Record<string, Record<string, number>>;
  assert.ok(status.http.acceptErrors + status.channel.acceptErrors >= 1, JSON.stringify(status));
  const acceptLines = pcs.logLines.filter((l) =>
    /accepting (a channel|an HTTP connection)/.test(l)
  );
  assert.ok(acceptLines.length <= 4, `accept errors flood the log:\n${acceptLines.join("\n")}`);
});

Deno.test("hundreds of idle connections from elsewhere leave room for phone callbacks", async () => {
  await using pcs = await startServer({ lines: ["demoPhones = 2"] });
  const c = await pcs.channel("STLI;Version=2");
  assert.equal(await c.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
  const sockets: net.Socket[] = [];
  try {
    // 300 keep-alive connections from 20 other loopback addresses, each left idle.
    const opened = await Promise.all(
      Array.from({ length: 300 }, (_, i) => idleKeepAlive(pcs.httpPort, `127.0.0.${2 + (i % 20)}`)),
    );
    for (const s of opened) if (s) sockets.push(s);
    assert.ok(sockets.length < 300, "every idle connection was kept");
    assert.ok(sockets.length >= 100, `only ${sockets.length} ordinary connections were served`);
    // The demo phones live on 127.0.0.1: their callbacks still get through, at once.
    pcs.phone("101").callFrom("0305552");
    await pcs.phonesIdle();
    assert.match((await c.sync())[0], /^Delivered 101 /);
    const perAddress = await idleKeepAlive(pcs.httpPort, "127.0.0.2");
    assert.equal(perAddress, undefined, "an address holding its share got another connection");
  } finally {
    for (const s of sockets) s.destroy();
  }
});

Deno.test("an emptied or oversized configuration is not applied while commands run", async () => {
  await using pcs = await startServer({ lines: ["demoPhones = 2"] });
  const c = await pcs.channel("STLI;Version=2");
  assert.equal(await c.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
  const calls = c.command("MakeCall 101 102");

  await Deno.writeTextFile(pcs.configFile, "# everything was deleted\n");
  await pcs.server.reloadNow();
  assert.equal(pcs.server.phones.extensions.length, 2, "the emptied file was applied");
  assert.ok(
    pcs.logLines.some((l) => /WARN .*sets nothing; keeping the settings in effect/.test(l)),
  );

  await Deno.writeTextFile(pcs.configFile, "# " + "x".repeat(2 << 20) + "\n");
  await pcs.server.reloadNow();
  assert.equal(pcs.server.phones.extensions.length, 2, "the 2 MiB file was applied");
  assert.ok(pcs.logLines.some((l) => /more than the 1048576 bytes/.test(l)));

  assert.equal(await calls, "error_ind SUCCESS MakeCall");
  assert.equal(pcs.server.channel.address?.port, pcs.channelPort, "the channel port moved");
});

Deno.test("commands queued for a phone that never answers are all answered within the timeout", async () => {
  await using pcs = await startServer({
    phones: [{ extension: "201" }],
    linesFor: (phones) => [
      `phone=201@127.0.0.1:${phones.get("201")!.port} snom.cfg`,
      "phoneTimeoutSeconds = 1",
      "channelErrorDetail = on",
    ],
  });
  pcs.phone("201").delayMs = 30_000;
  const c = await pcs.channel("STLI;Version=2");
  const started = Date.now();
  await c.send("HoldCall 201\r\nRetrieveCall 201\r\nAnswerCall 201\r\nClearConnection 201\r\n");
  const replies: { reply: string; ms: number }[] = [];
  for (let i = 0; i < 4; i++) {
    replies.push({ reply: await c.readLine(), ms: Date.now() - started });
  }
  assert.deepEqual(replies.map((r) => r.reply), [
    "error_ind ERROR HoldCall Timeout",
    "error_ind ERROR RetrieveCall PhoneUnreachable",
    "error_ind ERROR AnswerCall PhoneUnreachable",
    "error_ind ERROR ClearConnection PhoneUnreachable",
  ]);
  // One timeout for all four, not four in a row (which took 4 s).
  assert.ok(replies.every((r) => r.ms < 2500), JSON.stringify(replies));
});

Deno.test("stop ends promptly with a live page, a half-sent line, idle keep-alives and a command in flight", async () => {
  const pcs = await startServer({
    phones: [{ extension: "201" }],
    linesFor: (phones) => [`phone=201@127.0.0.1:${phones.get("201")!.port} snom.cfg`],
  });
  try {
    pcs.phone("201").delayMs = 30_000;
    const live = await fetch(`http://127.0.0.1:${pcs.httpPort}/api/live`);
    const reader = live.body!.getReader();
    await reader.read();
    const idle = await idleKeepAlive(pcs.httpPort, "127.0.0.1");
    const c = await pcs.channel("STLI;Version=2");
    const inFlight = c.command("HoldCall 201").catch(() => "the channel ended");
    await waitFor("the command to reach the phone", () => pcs.phone("201").requests.length > 0);
    const half = await Deno.connect({ hostname: "127.0.0.1", port: pcs.channelPort });
    await half.write(new TextEncoder().encode("MakeCall 20"));

    const started = Date.now();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const stopped = await Promise.race([
      pcs.stop().then((log) => log),
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), 5000)),
    ]);
    clearTimeout(timer);
    const ms = Date.now() - started;
    assert.ok(stopped !== undefined, "the stop did not end within 5 s");
    assert.ok(ms < 2000, `the stop took ${ms} ms`);
    assert.match(stopped, /INFO {2}\[server\] stopped\n$/, "the log is complete");
    await inFlight;
    await reader.cancel().catch(() => {});
    idle?.destroy();
    half.close();
  } finally {
    await pcs.close();
  }
});

Deno.test("a flood of forged callbacks is summarised in the log, not written line by line", async () => {
  await using pcs = await startServer({ lines: ["demoPhones = 1"] });
  const c = await pcs.channel("STLI;Version=2");
  assert.equal(await c.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
  for (let i = 0; i < 500; i++) {
    assert.equal(await pcs.rawGet(`/phone/101/onIncomingCall?k=forged${i}&cid=x`), 403);
  }
  const refused = pcs.logLines.filter((l) => l.includes("refused a callback"));
  assert.ok(refused.length <= 2, `${refused.length} lines for 500 forged callbacks`);
  assert.match(refused[0], /WARN .*refused a callback for phone 101 from 127\.0\.0\.1: wrong key/);
  const log = await pcs.stop();
  assert.match(log, /499 more like this in the last 60 s; the last: refused a callback/);
});

Deno.test("the log file holds the start-up lines within a second, before any stop", async () => {
  await using pcs = await startServer({ lines: ["demoPhones = 1"] });
  const file = join(pcs.configFile, "..", "pcs.log");
  const text = await waitFor(
    "the start-up lines in the log file",
    async () => {
      const t = await Deno.readTextFile(file).catch(() => "");
      return t.includes("[server] started with") ? t : undefined;
    },
    1000,
  );
  assert.match(text, /\[phones\] phone 101 at 127\.0\.0\.1/);
});

Deno.test("a short admin password neither breaks the status JSON nor shows where it occurs", async () => {
  await using pcs = await startServer({ lines: ["demoPhones = 2", "adminPassword = snom"] });
  const res = await fetch(`http://127.0.0.1:${pcs.httpPort}/api/status`);
  const text = await res.text();
  const status = JSON.parse(text) as { phones: { profile: string }[] };
  assert.deepEqual(status.phones.map((p) => p.profile), ["snom.cfg", "snom.cfg"]);
  assert.ok(!text.includes("***"), "text was replaced in the status");
  assert.ok(pcs.logLines.some((l) => l.includes("(snom.cfg, simulated)")));
  assert.ok(!pcs.logLines.some((l) => l.includes("***")), "text was replaced in the log");
});

Deno.test("debug lines of phone requests carry no callback key", async () => {
  await using pcs = await startServer({ lines: ["demoPhones = 1", "logLevel = debug"] });
  const c = await pcs.channel("STLI;Version=2");
  assert.equal(await c.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
  const written = pcs.logLines.filter((l) => l.includes("[phones]") && l.includes("dummy.htm"));
  assert.ok(written.length > 0, "no debug line for writing the action URLs");
  assert.ok(written.every((l) => !/k(=|%3D)/i.test(l) && !l.includes("***")), written.join("\n"));
});
