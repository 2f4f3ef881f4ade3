/** Fakes for the monitor tests: a phone port and a recording channel. */

import type { CallCommand, EventSubscriber, Outcome } from "../../src/contract.ts";
import type { CallEvent, PhonePort } from "../../src/monitor/mod.ts";
import type { MonitorConfiguration, NotificationName } from "../../src/config/mod.ts";
import { loadSettings, type Settings } from "../../src/server/mod.ts";

/** Settings from config text, with the built-in profiles. */
export async function settingsFrom(text: string): Promise<Settings> {
  const result = await loadSettings(text, "/tmp/monitor-test/phone-companion.cfg");
  if (!result.settings) throw new Error(JSON.stringify(result.findings));
  return result.settings;
}

/** Settings with the given phones (extension → host) on the snom profile. */
export function phonesConfig(
  phones: Record<string, string>,
  extra = "serverCallbackUrl = http://192.0.2.1:26536",
): Promise<Settings> {
  const lines = Object.entries(phones).map(([ext, host]) => `phone=${ext}@${host} snom.cfg`);
  return settingsFrom([extra, ...lines].join("\n") + "\n");
}

/** One configureMonitoring call the fake port saw. */
export interface Configured {
  readonly extension: string;
  readonly urls: ReadonlyMap<NotificationName, string>;
}

/** A call command the fake port was sent, with the call id the monitor named. */
export interface Sent {
  readonly command: CallCommand;
  readonly callId?: string;
}

/**
 * A phone layer driven by the settings, whose configuration and command results the test
 * controls.
 */
export class FakePort implements PhonePort {
  settings: Settings;
  readonly configured: Configured[] = [];
  /** Call commands sent to the phones, in order. */
  readonly sent: Sent[] = [];
  /** The next configureMonitoring answers; default success. */
  answer: (extension: string) => Promise<Outcome> = () => Promise.resolve({ ok: true });
  /** How the phones answer call commands; default success. */
  answerCommand: (command: CallCommand) => Promise<Outcome> = () => Promise.resolve({ ok: true });
  localAddress = "192.0.2.1";

  constructor(settings: Settings) {
    this.settings = settings;
  }
  has(extension: string): boolean {
    return this.settings.config.phones.some((p) => p.extension === extension);
  }
  execute(command: CallCommand, callId?: string): Promise<Outcome> {
    this.sent.push({ command, callId });
    return this.answerCommand(command);
  }
  hostOf(extension: string): string | undefined {
    return this.settings.config.phones.find((p) => p.extension === extension)?.host;
  }
  addressOf(extension: string): string | undefined {
    const phone = this.settings.config.phones.find((p) => p.extension === extension);
    return phone && `${phone.host}:${phone.port ?? ""}`;
  }
  localAddressFor(_extension: string): Promise<string> {
    return Promise.resolve(this.localAddress);
  }
  monitorSetup(extension: string): MonitorConfiguration | undefined {
    const phone = this.settings.config.phones.find((p) => p.extension === extension);
    return phone ? this.settings.profiles.get(phone.profile)?.monitor : undefined;
  }
  configureMonitoring(
    extension: string,
    urls: ReadonlyMap<NotificationName, string>,
  ): Promise<Outcome> {
    this.configured.push({ extension, urls });
    return this.answer(extension);
  }
  /** The secret the last configuration of `extension` put into its URLs. */
  secretOf(extension: string): string {
    const last = this.configured.findLast((c) => c.extension === extension);
    if (!last) throw new Error(`phone ${extension} was never configured`);
    const url = new URL([...last.urls.values()][0]);
    return url.searchParams.get("k")!;
  }
}

/** A channel that records what it is given. */
export class Recorder implements EventSubscriber {
  static #ids = 1;
  readonly id = Recorder.#ids++;
  readonly events: CallEvent[] = [];
  /** Devices whose monitor ended without MonitorStop. */
  readonly ended: string[] = [];
  deliver(event: CallEvent): void {
    this.events.push(event);
  }
  monitorEnded(device: string): void {
    this.ended.push(device);
  }
  /** The events as short lines: type, the interesting value, then the calls. */
  get lines(): string[] {
    return this.events.map(describe);
  }
}

/** `Delivered 101 0049301234 [1:alerting:0049301234]`: compact, for assertions. */
export function describe(e: CallEvent): string {
  const value = "caller" in e
    ? e.caller
    : "called" in e
    ? e.called
    : "callRef" in e
    ? String(e.callRef)
    : "remote" in e
    ? ("direction" in e ? `${e.direction} ${e.remote}` : e.remote)
    : "";
  const reason = e.type === "ConnectionCleared" ? e.reason ?? "" : "";
  const calls = e.calls.map((c) => `${c.callRef}:${c.state}:${c.remote}`).join(",");
  return [e.type, e.device, value, reason, `[${calls}]`].filter((x) => x !== "").join(" ");
}

/** A promise with its resolve function, for commands the test completes by hand. */
export function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
