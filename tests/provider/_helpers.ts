/**
 * Shared pieces of the provider tests: settings built from config lines, and
 * a RawCommand call that returns the reply already parsed.
 */

import assert from "node:assert/strict";
import { LogService } from "../../src/log/mod.ts";
import { ProviderService, type ProviderServiceOptions } from "../../src/provider/mod.ts";
import { loadSettings, type Settings } from "../../src/server/mod.ts";
import { FakeProvider, type FakeProviderOptions } from "../fakes/fake_provider.ts";
import { ManualClock } from "../helpers.ts";
import { rawCommandReply } from "../../src/channel/mod.ts";

/** Back-off pauses are short; request timeouts (providerTimeoutSeconds) are long. */
export const isPause = (ms: number) => ms < 10_000;

/** Config lines; a null value leaves the key out. */
export type Lines = Record<string, string | number | null>;

/** The lines as they are written in a configuration file. */
export function configLines(lines: Lines): string[] {
  return Object.entries(lines).filter(([, v]) => v !== null).map(([k, v]) => `${k} = ${v}`);
}

/** Settings from `key = value` lines, as the configuration file would give them. */
export async function settingsFrom(lines: Lines): Promise<Settings> {
  const text = configLines(lines).join("\n") + "\n";
  const result = await loadSettings(text, "/nonexistent/pcs-provider-test/phone-companion.cfg");
  assert.ok(result.settings, JSON.stringify(result.findings));
  return result.settings;
}

/** Config lines for a RingCentral account on the fake (JWT grant unless overridden). */
export function ringCentralLines(fake: FakeProvider, extra: Lines = {}): Lines {
  const c = fake.credentials;
  return {
    providerId: "ringcentral",
    providerProtocol: fake.url.startsWith("https") ? "HTTPS" : "HTTP",
    providerHostname: "127.0.0.1",
    providerPort: fake.port,
    providerClientId: c.clientId,
    providerClientSecret: c.clientSecret,
    providerJwt: c.jwt,
    ...extra,
  };
}

/** A reply as the tests read it. */
export interface Reply {
  readonly ok: boolean;
  readonly json: string;
  readonly status: number;
  readonly body?: unknown;
  readonly error?: string;
}

/**
 * Sends one RawCommand (an object, or a raw line) and reads the reply as a channel with this
 * line limit writes it: `ok` for SUCCESS, `json` its payload, and the payload's fields.
 */
export async function raw(
  service: ProviderService,
  command: unknown,
  maxReplyBytes = 65536,
): Promise<Reply> {
  const line = typeof command === "string" ? command : JSON.stringify(command);
  const reply = rawCommandReply(await service.rawCommand(line, maxReplyBytes), maxReplyBytes);
  const json = reply.payload ?? "";
  assert.doesNotMatch(json, /[\r\n]/, "a reply must be one line");
  return { ok: reply.status === "SUCCESS", json, ...JSON.parse(json) };
}

/** Collects log lines (debug and up) while `fn` runs. */
export async function withLog<T>(fn: (lines: string[]) => Promise<T>): Promise<T> {
  const lines: string[] = [];
  const service = new LogService((line) => lines.push(line));
  await service.start("debug");
  try {
    return await fn(lines);
  } finally {
    await service.close();
  }
}

/** A fake provider and a service configured for it, sharing one manual clock. */
export interface Rig extends AsyncDisposable {
  readonly clock: ManualClock;
  readonly fake: FakeProvider;
  readonly provider: ProviderService;
}

/** Starts a fake (HTTP unless `tls` is given) and a service logged in to nothing yet. */
export async function rig(
  options: {
    readonly fake?: FakeProviderOptions;
    readonly lines?: Lines;
    readonly service?: ProviderServiceOptions;
  } = {},
): Promise<Rig> {
  const clock = new ManualClock(Date.UTC(2026, 0, 1));
  const fake = await FakeProvider.start({ clock, ...options.fake });
  const provider = new ProviderService({ clock, ...options.service });
  await provider.apply(await settingsFrom(ringCentralLines(fake, options.lines)));
  return {
    clock,
    fake,
    provider,
    async [Symbol.asyncDispose]() {
      await provider.close();
      await fake.close();
    },
  };
}
