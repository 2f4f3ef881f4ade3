/**
 * The site scenario (docs/performance.md): the server as its own process, started exactly as
 * a user starts it (default settings: info logging, log file on), simulated SNOM phones in a
 * second process, and a load generator in a third. Every figure is printed next to a baseline
 * measured in the same run by a small direct program:
 *
 * - command overhead: a channel command's round trip against the same HTTP request sent
 *   directly to the same phone (p50, p99);
 * - throughput: commands/s through the server, every channel busy on its own phone, against
 *   the same requests sent directly at the same concurrency;
 * - fan-out: a phone callback until its event line reached every channel monitoring the phone,
 *   against a minimal fan-out server on `Deno.listen` that does only that (p50, p99);
 * - memory: the server's RSS after set-up and after the load;
 * - start-up: until the channel port answers, against an empty `deno run`.
 *
 * It runs at three sizes (10 phones × 10 channels, 100 × 100, 1,000 × 500) so growth shows.
 * Every channel monitors its own phone and one shared phone (a receptionist's line), which
 * therefore has one monitor per channel.
 *
 *   deno task bench site             all three sizes
 *   deno task bench site -- 1000     one size (the phone count)
 *
 * The script plays every role: `--role=phones`, `--role=load` and `--role=fanout` are the
 * helper processes it starts itself.
 */

import { join } from "node:path";
import { percentile } from "./_table.ts";

/** The checkout whose server is measured (SITE_SERVER_ROOT: another one, to compare versions). */
const ROOT = Deno.env.get("SITE_SERVER_ROOT") ?? join(import.meta.dirname!, "..", "..");
const SELF = import.meta.filename!;
const DENO = Deno.execPath();
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The flags of `deno task start` (deno.json), so the server runs as users run it. */
const SERVER_FLAGS = startFlags();

function startFlags(): string[] {
  const config = JSON.parse(Deno.readTextFileSync(join(ROOT, "deno.json")));
  const words = String(config.tasks.start).split(/\s+/);
  return words.slice(words.indexOf("run") + 1, words.indexOf("main.ts"));
}

interface Size {
  readonly phones: number;
  readonly channels: number;
}

const SIZES: readonly Size[] = [
  { phones: 10, channels: 10 },
  { phones: 100, channels: 100 },
  { phones: 1000, channels: 500 },
];

/** What the load generator measures and reports. */
interface LoadResult {
  overheadDirect: number[];
  overheadServer: number[];
  throughputDirect: number;
  throughputServer: number;
  /** The server's CPU time (user + system) per command during the throughput rounds. */
  cpuPerCommandUs: number;
  fanoutBaseline: number[];
  fanoutServer: number[];
}

// ---------------------------------------------------------------------------------------------
// Small direct clients, the same in every role.

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** One HTTP GET on a fresh connection, read until the server closes it. Returns the status. */
async function directGet(port: number, target: string): Promise<number> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(
      encoder.encode(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`),
    );
    const buf = new Uint8Array(8192);
    let head = "";
    for (let n; (n = await conn.read(buf)) !== null;) head += decoder.decode(buf.subarray(0, n));
    return Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
  } finally {
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/** A channel connection: sends lines, hands each received line to `onLine`. */
class Channel {
  readonly conn: Deno.TcpConn;
  #partial = "";
  #waiting: ((line: string) => boolean)[] = [];
  onLine: (line: string) => void = () => {};

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    void this.#read();
  }

  static async open(port: number): Promise<Channel> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new Channel(conn);
  }

  async #read() {
    const buf = new Uint8Array(64 * 1024);
    try {
      for (let n; (n = await this.conn.read(buf)) !== null;) {
        const lines = (this.#partial + decoder.decode(buf.subarray(0, n))).split("\r\n");
        this.#partial = lines.pop()!;
        for (const line of lines) {
          this.onLine(line);
          this.#waiting = this.#waiting.filter((w) => !w(line));
        }
      }
    } catch { /* closed */ }
  }

  /** Sends a command and resolves with the first line starting with `error_ind`. */
  command(line: string): Promise<string> {
    return new Promise((resolve) => {
      this.#waiting.push((l) => {
        if (!l.startsWith("error_ind")) return false;
        resolve(l);
        return true;
      });
      void this.conn.write(encoder.encode(line + "\r\n"));
    });
  }

  close() {
    try {
      this.conn.close();
    } catch { /* closed */ }
  }
}

/** Reads JSON lines from a child's stdout. */
async function* jsonLines(stream: ReadableStream<Uint8Array>): AsyncGenerator<unknown> {
  let partial = "";
  for await (const chunk of stream) {
    const lines = (partial + decoder.decode(chunk)).split("\n");
    partial = lines.pop()!;
    for (const l of lines) if (l.startsWith("{")) yield JSON.parse(l);
  }
}

// ---------------------------------------------------------------------------------------------
// Role: the simulated phones.

async function rolePhones(count: number) {
  const { SimNetwork } = await import("../../src/simulator/mod.ts");
  const network = new SimNetwork();
  const ports: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const extension = String(1000 + i);
    const phone = await network.addPhone({ extension, host: "127.0.0.1" });
    ports[extension] = phone.port;
  }
  console.log(JSON.stringify({ ports }));
  // Until the orchestrator closes stdin.
  for await (const _ of Deno.stdin.readable) { /* wait */ }
  await network.close();
}

// ---------------------------------------------------------------------------------------------
// Role: the minimal fan-out server, the baseline for fan-out.

async function roleFanout() {
  const channels = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const http = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  (async () => {
    for await (const c of channels) {
      c.setNoDelay(true);
      conns.push(c);
    }
  })();
  (async () => {
    for await (const c of http) {
      (async () => {
        const buf = new Uint8Array(4096);
        let head = "";
        for (let n; (n = await c.read(buf)) !== null;) {
          head += decoder.decode(buf.subarray(0, n));
          if (!head.includes("\r\n\r\n")) continue;
          const cid = /cid=([^& ]+)/.exec(head)?.[1] ?? "";
          head = "";
          const line = encoder.encode(`Delivered 1000 newCall 1000 ${cid} 1000\r\n`);
          for (const s of conns) s.write(line).catch(() => {});
          await c.write(encoder.encode("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"));
        }
        c.close();
      })().catch(() => {});
    }
  })();
  console.log(
    JSON.stringify({ channelPort: channels.addr.port, httpPort: (http.addr as Deno.NetAddr).port }),
  );
  for await (const _ of Deno.stdin.readable) { /* wait */ }
  Deno.exit(0);
}

// ---------------------------------------------------------------------------------------------
// Role: the load generator.

interface LoadPlan {
  serverPid: number;
  channelPort: number;
  httpPort: number;
  phones: Record<string, number>;
  channels: number;
  fanout: { channelPort: number; httpPort: number };
}

/** The action URL the server wrote into a simulated phone, read from its settings page. */
async function incomingUrl(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/settings.htm`);
  const page = await res.text();
  const m = /action_incoming_url: (\S+)/.exec(page);
  if (!m) throw new Error("the server wrote no action URL into the shared phone");
  return m[1].replace(/&#38;/g, "&");
}

/** Sends one GET with a raw target on a keep-alive connection; resolves on the status line. */
class KeepAlive {
  readonly #conn: Deno.TcpConn;
  constructor(conn: Deno.TcpConn) {
    this.#conn = conn;
  }
  static async open(port: number): Promise<KeepAlive> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new KeepAlive(conn);
  }
  async get(target: string): Promise<void> {
    await this.#conn.write(encoder.encode(`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`));
    const buf = new Uint8Array(4096);
    let got = "";
    while (!/\r\n\r\n/.test(got)) {
      const n = await this.#conn.read(buf);
      if (n === null) throw new Error("closed");
      got += decoder.decode(buf.subarray(0, n));
    }
  }
  close() {
    this.#conn.close();
  }
}

/** Fan-out samples: send a callback, time until every channel saw its `Delivered` line. */
async function fanout(
  channels: Channel[],
  send: (cid: string) => Promise<void>,
  clear: (cid: string) => Promise<void>,
  samples: number,
): Promise<number[]> {
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    const cid = `s${s}x${Math.random().toString(36).slice(2, 8)}`;
    let left = channels.length;
    const all = Promise.withResolvers<void>();
    for (const c of channels) {
      c.onLine = (line) => {
        if (line.startsWith("Delivered") && --left === 0) {
          all.resolve();
        }
      };
    }
    const t = performance.now();
    await send(cid);
    await all.promise;
    times.push(performance.now() - t);
    for (const c of channels) c.onLine = () => {};
    await clear(cid);
  }
  return times;
}

async function roleLoad(plan: LoadPlan): Promise<LoadResult> {
  const extensions = Object.keys(plan.phones);
  const shared = extensions[0];
  const own = (i: number) => extensions[1 + (i % (extensions.length - 1))];
  // Set-up: every channel monitors its own phone and the shared one.
  const channels: Channel[] = [];
  for (let i = 0; i < plan.channels; i++) {
    const c = await Channel.open(plan.channelPort);
    await c.command("STLI;Version=2");
    await c.command(`MonitorStart ${own(i)}`);
    await c.command(`MonitorStart ${shared}`);
    channels.push(c);
  }
  console.log(JSON.stringify({ setup: true }));
  await waitForGo();

  // Command overhead: one at a time; direct and through the server in alternating blocks.
  const target = "/command.htm?key=F_HOLD";
  const probe = own(0);
  const overheadDirect: number[] = [];
  const overheadServer: number[] = [];
  for (let i = 0; i < 50; i++) { // warm-up, both paths
    await directGet(plan.phones[probe], target);
    await channels[0].command(`HoldCall ${probe}`);
  }
  for (let block = 0; block < 10; block++) {
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      await directGet(plan.phones[probe], target);
      overheadDirect.push(performance.now() - t);
    }
    for (let i = 0; i < 50; i++) {
      const t = performance.now();
      await channels[0].command(`HoldCall ${probe}`);
      overheadServer.push(performance.now() - t);
    }
  }

  // Throughput: every channel busy on its own phone, then the same concurrency of direct
  // requests to the same phones; three rounds each, alternating, so drift hits both alike.
  const SECONDS = 2;
  const busy = async (one: (i: number) => Promise<unknown>) => {
    let done = 0;
    const end = performance.now() + SECONDS * 1000;
    await Promise.all(channels.map(async (_, i) => {
      while (performance.now() < end) {
        await one(i);
        done++;
      }
    }));
    return done / SECONDS;
  };
  const serverRounds: number[] = [];
  const directRounds: number[] = [];
  let cpuMs = 0;
  for (let round = 0; round < 3; round++) {
    const before = cpuTimeMs(plan.serverPid);
    serverRounds.push(await busy((i) => channels[i].command(`HoldCall ${own(i)}`)));
    cpuMs += cpuTimeMs(plan.serverPid) - before;
    directRounds.push(await busy((i) => directGet(plan.phones[own(i)], target)));
  }
  const commands = serverRounds.reduce((a, b) => a + b, 0) * SECONDS;
  const cpuPerCommandUs = (cpuMs * 1000) / commands;
  const throughputServer = percentile(serverRounds, 50);
  const throughputDirect = percentile(directRounds, 50);

  // Fan-out: the shared phone's callback to every channel, against the minimal server.
  // Fan-out: the shared phone's callback to every channel, against the minimal server, in
  // alternating blocks.
  const url = new URL(await incomingUrl(plan.phones[shared]));
  const base = `${url.pathname}?k=${url.searchParams.get("k")}`;
  const phoneLike = await KeepAlive.open(plan.httpPort);
  const fanChannels: Channel[] = [];
  for (let i = 0; i < plan.channels; i++) {
    fanChannels.push(await Channel.open(plan.fanout.channelPort));
  }
  await new Promise((r) => setTimeout(r, 200));
  const baseline = await KeepAlive.open(plan.fanout.httpPort);
  const fanoutServer: number[] = [];
  const fanoutBaseline: number[] = [];
  for (let block = 0; block < 5; block++) {
    fanoutServer.push(
      ...await fanout(
        channels,
        (cid) => phoneLike.get(`${base}&cid=${cid}&remote=sip:555@pbx&n=1`),
        async (cid) => {
          await phoneLike.get(
            base.replace("onIncomingCall", "onDisconnected") + `&cid=${cid}&remote=555&n=0`,
          );
          // Let the ConnectionCleared lines drain before the next sample.
          await new Promise((r) => setTimeout(r, 5));
        },
        40,
      ),
    );
    fanoutBaseline.push(
      ...await fanout(
        fanChannels,
        (cid) => baseline.get(`/phone/1000/onIncomingCall?cid=${cid}`),
        () => new Promise((r) => setTimeout(r, 5)),
        40,
      ),
    );
  }
  phoneLike.close();
  baseline.close();
  for (const c of [...channels, ...fanChannels]) c.close();
  return {
    overheadDirect,
    overheadServer,
    throughputDirect,
    throughputServer,
    cpuPerCommandUs,
    fanoutBaseline,
    fanoutServer,
  };
}

async function waitForGo() {
  const reader = Deno.stdin.readable.getReader();
  await reader.read();
  reader.releaseLock();
}

// ---------------------------------------------------------------------------------------------
// The orchestrator.

/** A child process of this script in a role, with its first JSON line read. */
async function spawnRole(role: string, args: string[] = []) {
  const child = new Deno.Command(DENO, {
    args: ["run", "--allow-all", SELF, `--role=${role}`, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = jsonLines(child.stdout);
  const first = (await lines.next()).value as Record<string, unknown>;
  return { child, lines, first, writer: child.stdin.getWriter() };
}

/** A process's CPU time so far (user + system), from /proc. */
function cpuTimeMs(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  return ticks * 10; // USER_HZ is 100 on Linux
}

function rssMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      if (performance.now() > end) throw new Error(`port ${port} never answered`);
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

async function emptyRunMs(): Promise<number> {
  const file = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(file, "\n");
  const times: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    await new Deno.Command(DENO, { args: ["run", file], stdout: "null" }).output();
    times.push(performance.now() - t);
  }
  await Deno.remove(file);
  return percentile(times, 50);
}

async function runSize(size: Size) {
  const dir = await Deno.makeTempDir({ prefix: "pcs-site-" });
  const phones = await spawnRole("phones", [String(size.phones + 1)]);
  const ports = phones.first.ports as Record<string, number>;
  const fan = await spawnRole("fanout");
  const channelPort = freePort();
  const httpPort = freePort();
  const lines = [
    "serverBindAddress = 127.0.0.1",
    `serverPort = ${channelPort}`,
    `serverHttpPort = ${httpPort}`,
    "demoPhones = 0",
    "phoneTimeoutSeconds = 10",
    ...Object.entries(ports).map(([e, p]) => `phone=${e}@127.0.0.1:${p} snom.cfg`),
  ];
  const config = join(dir, "phone-companion.cfg");
  await Deno.writeTextFile(config, lines.join("\n") + "\n");

  const empty = await emptyRunMs();
  const started = performance.now();
  const server = new Deno.Command(DENO, {
    args: [
      "run",
      ...SERVER_FLAGS,
      // Other V8 flags (profiling, heap experiments): SITE_SERVER_V8="--prof" …
      ...(Deno.env.get("SITE_SERVER_V8") ? [`--v8-flags=${Deno.env.get("SITE_SERVER_V8")}`] : []),
      join(ROOT, "main.ts"),
      "--config",
      config,
    ],
    cwd: dir,
    stdout: "null",
    stderr: "null",
  }).spawn();
  await waitForPort(channelPort, 30_000);
  const startup = performance.now() - started;

  const load = await spawnRole("load", [
    JSON.stringify(
      {
        serverPid: server.pid,
        channelPort,
        httpPort,
        phones: ports,
        channels: size.channels,
        fanout: fan.first as LoadPlan["fanout"],
      } satisfies LoadPlan,
    ),
  ]);
  const rssSetup = rssMb(server.pid);
  await load.writer.write(encoder.encode("go\n"));
  const result = (await load.lines.next()).value as LoadResult;
  const rssLoad = rssMb(server.pid);
  await load.child.status;

  server.kill("SIGTERM");
  await server.status;
  for (const p of [phones, fan]) {
    await p.writer.close();
    await p.child.status;
  }
  await Deno.remove(dir, { recursive: true });
  return { size, empty, startup, rssSetup, rssLoad, result };
}

function f(n: number, digits = 2): string {
  return n.toFixed(digits);
}

async function orchestrate() {
  const only = Deno.args.find((a) => /^\d+$/.test(a));
  const sizes = only ? SIZES.filter((s) => s.phones === Number(only)) : SIZES;
  console.log(
    `site scenario, ${new Date().toISOString()}, ${Deno.build.target}, Deno ${Deno.version.deno}`,
  );
  console.log(
    "| phones × channels | overhead p50 / p99 (ms) | direct p50 / p99 (ms) | commands/s (server / direct) | fan-out p50 / p99 (ms) | baseline p50 / p99 (ms) | RSS set-up / load (MB) | start-up (ms) / empty run |",
  );
  console.log("|---|---|---|---|---|---|---|---|");
  for (const size of sizes) {
    const r = await runSize(size);
    const x = r.result;
    const d50 = percentile(x.overheadDirect, 50);
    const d99 = percentile(x.overheadDirect, 99);
    const s50 = percentile(x.overheadServer, 50);
    const s99 = percentile(x.overheadServer, 99);
    const fs50 = percentile(x.fanoutServer, 50);
    const fs99 = percentile(x.fanoutServer, 99);
    const fb50 = percentile(x.fanoutBaseline, 50);
    const fb99 = percentile(x.fanoutBaseline, 99);
    console.log(
      `| ${size.phones} × ${size.channels} | ${f(s50 - d50)} / ${f(s99 - d99)} | ${f(d50)} / ${
        f(d99)
      } | ${f(x.throughputServer, 0)} / ${f(x.throughputDirect, 0)} (${
        f(x.throughputServer / x.throughputDirect)
      }×; ${f(x.cpuPerCommandUs, 0)} µs CPU each) | ${f(fs50)} / ${f(fs99)} | ${f(fb50)} / ${
        f(fb99)
      } (${f(fs50 / fb50)}× / ${f(fs99 / fb99)}×) | ${f(r.rssSetup, 0)} / ${f(r.rssLoad, 0)} | ${
        f(r.startup, 0)
      } / ${f(r.empty, 0)} (+${f(r.startup - r.empty, 0)}) |`,
    );
  }
}

const role = Deno.args.find((a) => a.startsWith("--role="))?.slice(7);
if (role === "phones") await rolePhones(Number(Deno.args[1]));
else if (role === "fanout") await roleFanout();
else if (role === "load") {
  const result = await roleLoad(JSON.parse(Deno.args[1]) as LoadPlan);
  console.log(JSON.stringify(result));
  Deno.exit(0);
} else await orchestrate();
