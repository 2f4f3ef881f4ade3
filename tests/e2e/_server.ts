/**
 * The end-to-end harness: the real server (`Server.start`, exactly what `main.ts` starts),
 * in-process, on free loopback ports, with a configuration file written into a temporary
 * folder, its log lines collected instead of printed, and simulated phones of its own.
 *
 * ```ts
 * await using pcs = await startServer({ lines: ["demoPhones = 2"] });
 * const a = await pcs.channel();
 * assert.equal(await a.command("MonitorStart 101"), "error_ind SUCCESS MonitorStart");
 * ```
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import net from "node:net";
import { ChannelBindError } from "../../src/channel/mod.ts";
import type { Clock } from "../../src/clock.ts";
import { LogService } from "../../src/log/mod.ts";
import { loadSettings, Server } from "../../src/server/mod.ts";
import type { SubscriptionTiming } from "../../src/provider/mod.ts";
import {
  SimNetwork,
  SimPhone,
  type SimPhoneOptions,
  type YealinkOptions,
  YealinkPhone,
} from "../../src/simulator/mod.ts";
import { freePort, tempDir } from "../helpers.ts";
import { StliClient } from "../fakes/stli_client.ts";

/** How a test wants its server. */
export interface StartOptions {
  /** Extra configuration lines (`demoPhones = 3`, `phone=...`, `channelErrorDetail = on`). */
  readonly lines?: readonly string[];
  /** Phones to start on the harness's own simulated network before the server starts. */
  readonly phones?: readonly SimPhoneOptions[];
  /** Simulated Yealinks to start on the same network (docs/yealink.md §8). */
  readonly yealinks?: readonly YealinkOptions[];
  /** Builds extra lines once the phones run (e.g. `phone=` lines naming their ports). */
  readonly linesFor?: (
    phones: ReadonlyMap<string, SimPhone>,
    yealinks: ReadonlyMap<string, YealinkPhone>,
  ) => readonly string[];
  readonly clock?: Clock;
  /** Timings of the cloud phones' event subscription (docs/cloud-phones.md §6). */
  readonly cloudTiming?: Partial<SubscriptionTiming>;
}

/** A running server with everything the harness opened for it. */
export interface TestServer extends AsyncDisposable {
  readonly server: Server;
  /** Where the channel listener is now. */
  readonly channelPort: number;
  /** Where the HTTP listener (status page, phone callbacks) is now. */
  readonly httpPort: number;
  /** The configuration file in the temporary folder. */
  readonly configFile: string;
  /** Every log line so far (the file gets the same lines). */
  readonly logLines: string[];
  /** The harness's own simulated phones (besides the demo phones), by extension. */
  readonly net: SimNetwork;
  /** Opens a channel; the harness closes it at the end. See `StliClientOptions` for `tap`. */
  channel(handshake?: string, tap?: (line: string) => boolean): Promise<StliClient>;
  /** A demo SNOM (`demoPhones`) or a SNOM of the harness's network. */
  phone(extension: string): SimPhone;
  /** A demo Yealink (`demoYealinkPhones`) or a simulated Yealink of the harness's network. */
  yealink(extension: string): YealinkPhone;
  /** Waits until every simulated phone has sent all the action URLs it fired. */
  phonesIdle(): Promise<void>;
  /** Rewrites the configuration file (base lines plus `lines`) and reloads it now. */
  reconfigure(lines: readonly string[]): Promise<void>;
  /** Sends a GET exactly as written (raw request target) and returns the status. */
  rawGet(target: string, localAddress?: string): Promise<number>;
  /** Stops the server and flushes the log; resolves with the log file's content. */
  stop(): Promise<string>;
  /** Stops everything and removes the temporary folder. */
  close(): Promise<void>;
}

/** The log level the harness runs at unless a test's lines set `logLevel`. */
const DEFAULT_LEVEL = "info";

/** How long a channel read waits for the whole server (phones, callbacks) by default. */
const CHANNEL_TIMEOUT_MS = 5000;

/** Starts the server as described; see the module comment. */
export async function startServer(options: StartOptions = {}): Promise<TestServer> {
  const dir = await tempDir();
  const net_ = new SimNetwork();
  const phones = new Map<string, SimPhone>();
  const channels: StliClient[] = [];
  const logLines: string[] = [];
  const logService = new LogService((line) => logLines.push(line));
  let server: Server | undefined;
  let stopped: Promise<void> | undefined;
  const cleanup = () =>
    stopped ??= (async () => {
      await Promise.all(channels.map((c) => c.close()));
      await server?.close();
      await net_.close();
      await logService.close();
    })();
  try {
    for (const p of options.phones ?? []) phones.set(p.extension, await net_.addPhone(p));
    const yealinks = new Map<string, YealinkPhone>();
    for (const y of options.yealinks ?? []) yealinks.set(y.extension, await net_.addYealink(y));
    const configFile = join(dir.path, "phone-companion.cfg");
    const extra = [...(options.lines ?? []), ...(options.linesFor?.(phones, yealinks) ?? [])];
    let base: string[] = [];
    /** The base lines, each left out when the test's own lines set its key. */
    const text = (lines: readonly string[]) => {
      const keyOf = (l: string) => /^\s*([A-Za-z]+)\s*=/.exec(l)?.[1].toLowerCase();
      const own = new Set(lines.map(keyOf));
      const kept = [...base, `logLevel = ${DEFAULT_LEVEL}`].filter((l) => !own.has(keyOf(l)));
      return [...kept, ...lines].join("\n") + "\n";
    };
    // Other test runs share this machine: a port found free may be taken before the server
    // binds it. Then the server starts again on other ports.
    let channelPort = 0;
    let httpPort = 0;
    for (let attempt = 1;; attempt++) {
      channelPort = freePort();
      httpPort = freePort();
      base = [
        "serverBindAddress = 127.0.0.1",
        `serverPort = ${channelPort}`,
        `serverHttpPort = ${httpPort}`,
        "serverLogFilePath = pcs.log",
        "configReloadSeconds = 3600",
        // Tests that are not about reachability checks see only the requests they cause.
        "phoneCheckSeconds = 0",
        // Tests that are not about the call journal keep phones untouched until MonitorStart.
        "journalDays = 0",
      ];
      const configText = text(extra);
      await Deno.writeTextFile(configFile, configText);
      const loaded = await loadSettings(configText, configFile);
      assert.ok(loaded.settings, JSON.stringify(loaded.findings));
      try {
        server = await Server.start({
          settings: loaded.settings,
          configText,
          logService,
          clock: options.clock,
          cloudTiming: options.cloudTiming,
          watch: true,
          findings: loaded.findings,
        });
      } catch (e) {
        if (attempt < 3 && e instanceof ChannelBindError) continue;
        throw e;
      }
      if (server.http.address || attempt === 3) break;
      await server.close();
      server = undefined;
    }
    const running = server;
    const harness: TestServer = {
      server: running,
      get channelPort() {
        return running.channel.address?.port ?? channelPort;
      },
      get httpPort() {
        return running.http.address?.port ?? httpPort;
      },
      configFile,
      logLines,
      net: net_,
      async channel(handshake, tap) {
        const c = await StliClient.connect(this.channelPort, {
          tap,
          timeoutMs: CHANNEL_TIMEOUT_MS,
        });
        channels.push(c);
        if (handshake !== undefined) {
          const reply = await c.command(handshake);
          assert.match(reply, /^error_ind SUCCESS STLI/, `handshake ${handshake}`);
        }
        return c;
      },
      phone(extension) {
        const phone = running.phones.demoPhone(extension) ?? net_.phone(extension);
        assert.ok(phone instanceof SimPhone, `no simulated SNOM ${extension}`);
        return phone;
      },
      yealink(extension) {
        const phone = running.phones.demoPhone(extension) ?? net_.yealink(extension);
        assert.ok(phone instanceof YealinkPhone, `no simulated Yealink ${extension}`);
        return phone;
      },
      async phonesIdle() {
        const all: { actionsIdle(): Promise<void> }[] = [...net_.phones, ...net_.yealinks];
        for (const e of running.phones.extensions) {
          const demo = running.phones.demoPhone(e);
          if (demo) all.push(demo);
        }
        await Promise.all(all.map((p) => p.actionsIdle()));
      },
      async reconfigure(lines) {
        await Deno.writeTextFile(configFile, text(lines));
        await running.reloadNow();
      },
      rawGet(target, localAddress) {
        return rawGet(this.httpPort, target, localAddress);
      },
      async stop() {
        await cleanup();
        return await Deno.readTextFile(join(dir.path, "pcs.log"));
      },
      async close() {
        await cleanup();
        await dir.remove();
      },
      [Symbol.asyncDispose]() {
        return this.close();
      },
    };
    return harness;
  } catch (e) {
    await cleanup();
    await dir.remove();
    throw e;
  }
}

/**
 * One GET over a fresh connection with the request target written as given (raw spaces
 * included, as phones send display names), optionally from another loopback source address.
 * Resolves with the status.
 */
export function rawGet(port: number, target: string, localAddress?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: "127.0.0.1", port, localAddress });
    let head = "";
    socket.setEncoding("latin1");
    socket.once("connect", () => {
      socket.write(
        `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
        "latin1",
      );
    });
    socket.on("data", (chunk: string) => {
      head += chunk;
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      if (m && head.includes("\r\n\r\n")) {
        socket.destroy();
        resolve(Number(m[1]));
      }
    });
    socket.once("error", reject);
    socket.once("close", () => reject(new Error(`no reply to GET ${target}: ${head}`)));
  });
}

/** The secret the server wrote into a phone's action URLs (the `k` parameter). */
export function secretOf(phone: SimPhone): string {
  const url = phone.settings.get("action_incoming_url") ?? "";
  const m = /[?&]k=([^&]+)/.exec(url);
  assert.ok(m, `phone ${phone.extension} has no action URL from the server: '${url}'`);
  return m[1];
}
