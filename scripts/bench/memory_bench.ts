/**
 * Memory per open channel: N plug-in channels that did the handshake and `MonitorStart`
 * against the real server (with one demo phone), against N plain TCP connections to a
 * line-echo server as the baseline, in the same run. Each side runs in a process of its own
 * with `--expose-gc`, so garbage is collected before every reading and neither side inherits
 * the other's heap. Both hold the same client sockets, so the difference is what the server
 * keeps per channel.
 *
 *   deno task bench memory          (N = 1000; set BENCH_CHANNELS to change)
 */

import { join } from "node:path";
import { loadSettings, Server } from "../../src/server/mod.ts";
import { LogService } from "../../src/log/mod.ts";
import { freePort } from "./_lines.ts";
import { printTable } from "./_table.ts";

const N = Number(Deno.env.get("BENCH_CHANNELS") ?? 1000);
const enc = new TextEncoder();

async function settle(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    (globalThis as { gc?: () => void }).gc?.();
    await new Promise((r) => setTimeout(r, 200));
  }
  return Deno.memoryUsage().rss;
}

async function readUntil(conn: Deno.Conn, lines: number): Promise<void> {
  const buf = new Uint8Array(4096);
  let seen = 0;
  while (seen < lines) {
    const n = await conn.read(buf);
    if (n === null) throw new Error("closed early");
    for (let i = 0; i < n; i++) if (buf[i] === 0x0a) seen++;
  }
}

async function openMany(port: number, script: string, replies: number): Promise<Deno.Conn[]> {
  const conns: Deno.Conn[] = [];
  for (let i = 0; i < N; i++) {
    const c = await Deno.connect({ hostname: "127.0.0.1", port });
    await c.write(enc.encode(script));
    await readUntil(c, replies);
    conns.push(c);
  }
  return conns;
}

/** One side, in this process: the RSS it adds for N connections, in bytes. */
async function baselineSide(): Promise<number> {
  // Baseline: a line echo server holding N connections.
  const echo = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const echoConns: Deno.Conn[] = [];
  (async () => {
    for await (const c of echo) {
      echoConns.push(c);
      (async () => {
        const buf = new Uint8Array(4096);
        try {
          for (let n; (n = await c.read(buf)) !== null;) await c.write(buf.subarray(0, n));
        } catch { /* closed */ }
      })();
    }
  })();
  const before = await settle();
  const clients = await openMany(
    (echo.addr as Deno.NetAddr).port,
    "STLI\r\nMonitorStart 101\r\n",
    2,
  );
  const withEcho = await settle();
  for (const c of clients) c.close();
  for (const c of echoConns) c.close();
  echo.close();
  return withEcho - before;
}

async function serverSide(): Promise<number> {
  // The real server with one demo phone.
  const dir = await Deno.makeTempDir({ prefix: "pcs-bench-" });
  const file = join(dir, "bench.cfg");
  const channelPort = freePort();
  const text = [
    "serverBindAddress = 127.0.0.1",
    `serverPort = ${channelPort}`,
    `serverHttpPort = ${freePort()}`,
    "demoPhones = 1",
    "logLevel = error",
    `serverMaxChannels = ${N + 10}`,
  ].join("\n");
  const { settings } = await loadSettings(text, file);
  const logService = new LogService(() => {});
  const server = await Server.start({
    settings: settings!,
    configText: text,
    logService,
    watch: false,
  });
  const start = await settle();
  const channels = await openMany(channelPort, "STLI\r\nMonitorStart 101\r\n", 2);
  const withServer = await settle();
  for (const c of channels) c.close();
  await server.close();
  await logService.close();
  await Deno.remove(dir, { recursive: true });
  return withServer - start;
}

const side = Deno.args.find((a) => a.startsWith("--side="))?.slice(7);
if (side) {
  if (typeof (globalThis as { gc?: () => void }).gc !== "function") {
    throw new Error("run with --v8-flags=--expose-gc");
  }
  console.log(
    JSON.stringify({ bytes: side === "server" ? await serverSide() : await baselineSide() }),
  );
  Deno.exit(0);
}

async function run(which: string): Promise<number> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-all",
      "--v8-flags=--expose-gc",
      import.meta.filename!,
      `--side=${which}`,
    ],
    stderr: "inherit",
  }).output();
  const line = new TextDecoder().decode(out.stdout).trim().split("\n").pop()!;
  return (JSON.parse(line) as { bytes: number }).bytes;
}

const baselineBytes = await run("baseline");
const serverBytes = await run("server");
const kib = (bytes: number) => bytes / 1024;
printTable([
  {
    name: `${N} TCP echo connections (baseline)`,
    values: { "KiB per connection": kib(baselineBytes / N) },
  },
  {
    name: `${N} channels after STLI + MonitorStart`,
    values: { "KiB per connection": kib(serverBytes / N) },
  },
], { "KiB per connection": "RSS" });
Deno.exit(0);
