/**
 * Shared by the channel tests: settings on loopback with a free port, a server started with
 * any handler, and the wire transcripts under `tests/fixtures/channel/`.
 */

import assert from "node:assert/strict";
import { configure, type LogRecord, reset } from "@logtape/logtape";
import { concat } from "../../src/bytes.ts";
import { formatRecord } from "../../src/log/mod.ts";
import { ChannelServer, type CommandHandler } from "../../src/channel/mod.ts";
import type { Clock } from "../../src/clock.ts";
import { type ConfigSnapshot, parseCidr, parseConfig } from "../../src/config/mod.ts";
import type { Settings } from "../../src/server/mod.ts";
import type { CallEvent } from "../../src/contract.ts";
import { FakePhones } from "../fakes/channel_handler.ts";

/** The parts of the config a channel test may change. */
export interface ChannelTestConfig {
  port?: number;
  bindAddress?: string;
  allowedClients?: string;
  maxChannels?: number;
  deviceInformation?: "off" | "standard" | "extended";
  errorDetail?: boolean;
  maxLineBytes?: number;
  maxQueueBytes?: number;
}

const base = (() => {
  const r = parseConfig("", "/tmp/channel-test.cfg");
  if (!r.snapshot) throw new Error("the empty configuration should parse");
  return r.snapshot;
})();

/** Settings on 127.0.0.1 with port 0 (a free port), changed by `c`. */
export function testSettings(c: ChannelTestConfig = {}): Settings {
  const allowed = c.allowedClients?.split(",").map((t) => {
    const cidr = parseCidr(t);
    if (!cidr) throw new Error(`bad CIDR in test: ${t}`);
    return cidr;
  });
  const config: ConfigSnapshot = {
    ...base,
    server: {
      ...base.server,
      port: c.port ?? 0,
      bindAddress: c.bindAddress ?? "127.0.0.1",
      allowedClients: allowed ?? base.server.allowedClients,
      maxChannels: c.maxChannels ?? base.server.maxChannels,
    },
    channel: {
      deviceInformation: c.deviceInformation ?? base.channel.deviceInformation,
      errorDetail: c.errorDetail ?? base.channel.errorDetail,
      maxLineBytes: c.maxLineBytes ?? base.channel.maxLineBytes,
      maxQueueBytes: c.maxQueueBytes ?? base.channel.maxQueueBytes,
    },
  };
  return { config, profiles: new Map() };
}

/** A started channel server and its port. */
export interface Started {
  readonly server: ChannelServer;
  readonly port: number;
}

/** Starts a channel server on a free loopback port. Close it with `server.close()`. */
export async function startServer(
  handler: CommandHandler,
  c: ChannelTestConfig = {},
  extra: { clock?: Clock; lingerMs?: number } = {},
): Promise<Started> {
  const server = new ChannelServer({ handler, ...extra });
  await server.apply(testSettings(c));
  return { server, port: server.address!.port };
}

// ---------------------------------------------------------------------------------------------
// Transcripts

/** One step of a transcript. */
export type Step =
  /** Bytes the client sends. */
  | { readonly kind: "send"; readonly bytes: Uint8Array }
  /** A line the server must write next (without its CR LF). */
  | { readonly kind: "expect"; readonly line: string }
  /** The fake phones publish this event now. */
  | { readonly kind: "emit"; readonly event: CallEvent }
  /** The fake phones ring this device (`ring <dev> <caller> [<display name>]`). */
  | {
    readonly kind: "ring";
    readonly device: string;
    readonly caller: string;
    readonly name: string;
  }
  /** The server must close the connection with nothing more sent. */
  | { readonly kind: "end" };

/** A parsed transcript. */
export interface Transcript {
  readonly name: string;
  readonly config: ChannelTestConfig;
  readonly steps: readonly Step[];
}

/** Unescapes `\r`, `\n`, `\t`, `\\` and `\xHH` into bytes (the rest is UTF-8). */
export function unescapeBytes(text: string): Uint8Array {
  const out: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== "\\") {
      const cp = text.codePointAt(i)!;
      const s = String.fromCodePoint(cp);
      out.push(...enc.encode(s));
      i += s.length - 1;
      continue;
    }
    const n = text[++i];
    if (n === "r") out.push(0x0d);
    else if (n === "n") out.push(0x0a);
    else if (n === "t") out.push(0x09);
    else if (n === "\\") out.push(0x5c);
    else if (n === "x") {
      out.push(parseInt(text.slice(i + 1, i + 3), 16));
      i += 2;
    } else throw new Error(`unknown escape \\${n}`);
  }
  return new Uint8Array(out);
}

/**
 * Parses a transcript: `# comment`, `@ key value` (config for this transcript), `> bytes`
 * (client, escaped), `< line` (server line, CR LF implied), `! ring <dev> <caller> [name]`,
 * `! emit <CallEvent JSON>`, `! end`.
 */
export function parseTranscript(name: string, text: string): Transcript {
  const config: ChannelTestConfig = {};
  const steps: Step[] = [];
  for (const [i, raw] of text.split("\n").entries()) {
    const line = raw.replace(/\r$/, "");
    if (line === "" || line.startsWith("#")) continue;
    const kind = line.slice(0, 2);
    const rest = line.slice(2);
    if (kind === "> ") steps.push({ kind: "send", bytes: unescapeBytes(rest) });
    else if (kind === "< ") steps.push({ kind: "expect", line: rest });
    else if (kind === "@ ") {
      const [key, value] = rest.split(" ");
      if (key === "errorDetail") config.errorDetail = value === "on";
      else if (key === "deviceInformation") {
        config.deviceInformation = value as ChannelTestConfig["deviceInformation"];
      } else if (key === "maxLineBytes") config.maxLineBytes = Number(value);
      else throw new Error(`${name}:${i + 1}: unknown setting ${key}`);
    } else if (kind === "! ") {
      const [verb, ...args] = rest.split(" ");
      if (verb === "end") steps.push({ kind: "end" });
      else if (verb === "ring") {
        steps.push({
          kind: "ring",
          device: args[0],
          caller: args[1],
          name: args.slice(2).join(" "),
        });
      } else if (verb === "emit") steps.push({ kind: "emit", event: JSON.parse(args.join(" ")) });
      else throw new Error(`${name}:${i + 1}: unknown action ${verb}`);
    } else throw new Error(`${name}:${i + 1}: cannot read ${JSON.stringify(line)}`);
  }
  return { name, config, steps };
}

const FIXTURES = new URL("../fixtures/channel/", import.meta.url);

/** Every transcript under `tests/fixtures/channel/`, by file name. */
export function loadTranscripts(): Transcript[] {
  const out: Transcript[] = [];
  for (const entry of Deno.readDirSync(FIXTURES)) {
    if (!entry.isFile || !entry.name.endsWith(".txt")) continue;
    out.push(parseTranscript(entry.name, Deno.readTextFileSync(new URL(entry.name, FIXTURES))));
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/** All client bytes of a transcript, in order. */
export function clientBytes(t: Transcript): Uint8Array {
  return concat(t.steps.flatMap((s) => (s.kind === "send" ? [s.bytes] : [])));
}

/** Lets pending promise callbacks and zero-delay timers run. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}

/** What a transcript is replayed against: a session without I/O, or a real socket. */
export interface Driver {
  send(bytes: Uint8Array): Promise<void>;
  readLine(): Promise<string>;
  /** The server must have closed the channel with nothing more written. */
  expectEnd(): Promise<void>;
}

/** The fake phones every transcript is written against (see the fixtures' README). */
export function transcriptPhones(): FakePhones {
  return new FakePhones({ failures: { "105": "PhoneUnreachable" } });
}

/** Replays a transcript: sends, expects lines byte for byte, and drives the fake phones. */
export async function replay(t: Transcript, driver: Driver, phones: FakePhones): Promise<void> {
  for (const [i, step] of t.steps.entries()) {
    switch (step.kind) {
      case "send":
        await driver.send(step.bytes);
        break;
      case "expect":
        assert.equal(await driver.readLine(), step.line, `${t.name}, step ${i + 1}`);
        break;
      case "emit":
        phones.emit(step.event);
        break;
      case "ring":
        phones.ring(step.device, step.caller, step.name);
        break;
      case "end":
        await driver.expectEnd();
        break;
    }
  }
}

/** Sends bytes whole, or one byte per write. */
export type Feed = "whole" | "byte by byte";

/** Collects the channel's log lines (rendered) until `stop()`; for tests of "is logged". */
export async function captureLogs(): Promise<{ lines: string[]; stop: () => Promise<void> }> {
  const lines: string[] = [];
  await configure({
    reset: true,
    sinks: { mem: (r: LogRecord) => lines.push(`${r.level} ${formatRecord(r)}`) },
    loggers: [
      { category: ["pcs", "channel"], lowestLevel: "info", sinks: ["mem"] },
      { category: ["logtape", "meta"], lowestLevel: "error", sinks: [] },
    ],
  });
  return { lines, stop: () => reset() };
}
