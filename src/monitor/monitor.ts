/**
 * The monitor: points phones' action URLs at the server, receives their callbacks, keeps the
 * calls of each device ({@link DeviceCalls}) and hands the resulting events to every channel
 * that monitors the device, in the phone's order (channel-protocol.md §3, §4).
 *
 * A device's monitor, from the channels' side:
 *
 * ```
 *                first subscribe                        success
 *   unmonitored ─────────────────▶ configuring ─────────────────────▶ monitored
 *        ▲   ▲                         │                               │    ▲
 *        │   └─────────────────────────┘ failure: ERROR, no monitor    │    │ subscribe from
 *        │                                                             │    │ another channel:
 *        └─────────────────────────────────────────────────────────────┘    │ just subscribes
 *          last unsubscribe, or the phone left the configuration            └────┘
 * ```
 *
 * Re-configuration: the first subscribe after nobody monitored the device, a repeated
 * subscribe from a channel that already monitors it, a changed phone address (host or port),
 * profile or callback address, the phone's setup callback (it rebooted) and a callback from
 * the phone's address with an old key (the server restarted; the phone still has the previous
 * run's URLs) all write the URLs again. The last two are rate-limited (`reconfigureMinIntervalMs`); the
 * callback with the old key is still answered 403 and changes nothing.
 *
 * Per device, everything that changes its calls (callbacks, command effects, timeouts) goes
 * through one FIFO queue, in the order the callbacks arrived. While a MakeCall is in flight
 * the queue is held, so the Initiated event comes first and the phone's own report of that
 * call (which may beat the phone's HTTP reply) binds to it instead of being published twice.
 */

import { type Clock, systemClock, type TimerId } from "../clock.ts";
import type {
  CallbackRequest,
  CallbackResult,
  CallCommandName,
  CallEvent,
  CallInfo,
  Component,
  EventSubscriber,
  MonitorSetup,
  Outcome,
  Settings,
} from "../contract.ts";
import { log, redactor } from "../log/mod.ts";
import { newSecret, sameSecret } from "../secret.ts";
import type { NotificationName } from "../config/mod.ts";
import {
  CALLBACK_PARAMS,
  callbackBase,
  callbackUrls,
  parseCallbackPath,
  placeholders,
} from "./callback_url.ts";
import { DeviceCalls, type PhoneReport, UNANSWERED_MS } from "./calls.ts";
import { parseParty } from "./party.ts";
import { parseQuery } from "./query.ts";
import { type Lookup, SourceCheck, systemLookup } from "./source.ts";

/**
 * What the monitor needs from the phones layer (the phone registry implements it; tests pass
 * a fake). Every method answers for the settings most recently applied.
 */
export interface PhonePort {
  /** True when the extension is a configured (or demo) phone. */
  has(extension: string): boolean;
  /** The phone's host as configured (address or name): callbacks must come from there. */
  hostOf(extension: string): string | undefined;
  /**
   * Where the phone's web interface is, host and port: the action URLs live in the phone
   * there, so when it changes they must be written again.
   */
  addressOf(extension: string): string | undefined;
  /** The server's own address on the route to the phone (for `serverCallbackUrl = auto`). */
  localAddressFor(extension: string): Promise<string>;
  /** The `[monitorAutoConfiguration]` of the phone's profile, if it has one. */
  monitorSetup(extension: string): MonitorSetup | undefined;
  /**
   * Writes one URL per notification into the phone's settings (the URLs are not yet
   * percent-encoded; each must be encoded except `$`). Never rejects.
   */
  configureMonitoring(
    extension: string,
    urls: ReadonlyMap<NotificationName, string>,
  ): Promise<Outcome>;
}

/** Construction options of {@link Monitor}. */
export interface MonitorOptions {
  readonly phones: PhonePort;
  readonly clock?: Clock;
  /** Resolves phone host names for the callback source check. */
  readonly lookup?: Lookup;
  /** See {@link DeviceCallsOptions.unansweredMs}. */
  readonly unansweredMs?: number;
  /** Least time between two re-configurations that a callback triggers. Default 30 s. */
  readonly reconfigureMinIntervalMs?: number;
}

/** One monitored device on the status page. */
export interface DeviceStatus {
  readonly device: string;
  readonly host?: string;
  readonly configuration: "none" | "configuring" | "configured" | "failed";
  readonly configuredAt?: number;
  /** Why the last configuration failed, when it did. */
  readonly error?: string;
  readonly callbackBase?: string;
  readonly subscribers: number;
  readonly calls: readonly CallInfo[];
  readonly lastCallbackAt?: number;
  readonly refusedCallbacks: number;
  readonly lastRefusal?: string;
}

/** What the status page shows of the monitor. */
export interface MonitorStatus {
  readonly devices: readonly DeviceStatus[];
}

const MAX_QUERY_CHARS = 16_384;
const RECONFIGURE_MIN_INTERVAL_MS = 30_000;

type Input =
  | { readonly kind: "report"; readonly report: PhoneReport }
  | { readonly kind: "clear" }
  | { readonly kind: "transfer"; readonly target?: string }
  | { readonly kind: "tick" };

interface Ticket {
  settled: boolean;
  input?: Input;
}

interface PendingStart {
  readonly subscriber: EventSubscriber;
  cancelled: boolean;
}

interface Device {
  readonly extension: string;
  readonly secret: string;
  readonly calls: DeviceCalls;
  readonly subscribers: Set<EventSubscriber>;
  readonly pendingStarts: Set<PendingStart>;
  configuration: DeviceStatus["configuration"];
  configuring?: Promise<Outcome>;
  configuredAt?: number;
  error?: string;
  callbackBase?: string;
  fingerprint: string;
  placeholders: ReadonlyMap<string, string>;
  /** The URLs in the phone may be missing or outdated. */
  stale: boolean;
  lastTriggeredAt: number;
  lastCallbackAt?: number;
  refused: number;
  lastRefusal?: string;
  readonly tickets: Ticket[];
  ticketHead: number;
  makeCallsInFlight: number;
  held: Input[];
  timer?: TimerId;
  timerAt?: number;
}

const logger = () => log("monitor");

/** The monitor component; see the module comment. */
export class Monitor implements Component {
  readonly name = "monitor";
  readonly #phones: PhonePort;
  readonly #clock: Clock;
  readonly #sources: SourceCheck;
  readonly #unansweredMs: number;
  readonly #reconfigureMinIntervalMs: number;
  readonly #devices = new Map<string, Device>();
  #settings?: Settings;
  #nextCallRef = 1;
  #closed = false;

  constructor(options: MonitorOptions) {
    this.#phones = options.phones;
    this.#clock = options.clock ?? systemClock;
    this.#sources = new SourceCheck(options.lookup ?? systemLookup, this.#clock);
    this.#unansweredMs = options.unansweredMs ?? UNANSWERED_MS;
    this.#reconfigureMinIntervalMs = options.reconfigureMinIntervalMs ??
      RECONFIGURE_MIN_INTERVAL_MS;
  }

  /**
   * Takes new settings. Apply it after the phone registry, so the port answers for them.
   * Devices no longer configured lose their monitors (the channels stay open); devices whose
   * address (host or port), profile or callback address changed are configured again.
   */
  apply(settings: Settings): void {
    this.#settings = settings;
    this.#sources.forget();
    for (const device of [...this.#devices.values()]) {
      if (!this.#phones.has(device.extension)) {
        this.#end(device);
        continue;
      }
      if (device.configuredAt === undefined) continue;
      if (this.#fingerprint(device.extension) === device.fingerprint) continue;
      device.stale = true;
      if (device.subscribers.size > 0) {
        logger().info("phone {device} changed in the configuration; configuring it again", {
          device: device.extension,
        });
        void this.#configure(device);
      }
    }
  }

  /** Stops timers, drops every subscriber and waits for configurations in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    const inFlight: Promise<Outcome>[] = [];
    for (const device of this.#devices.values()) {
      this.#clearTimer(device);
      device.subscribers.clear();
      for (const p of device.pendingStarts) p.cancelled = true;
      if (device.configuring) inFlight.push(device.configuring);
    }
    await Promise.allSettled(inFlight);
  }

  /**
   * MonitorStart (channel-protocol.md §3): subscribes `subscriber` to the device's events.
   * When nobody monitors the device yet, the phone is configured first; if that fails the
   * answer is the phone's reason (or `MonitorFailed`) and no monitor exists. Concurrent first
   * subscribes share one configuration. A repeated subscribe from a subscriber that already
   * monitors the device configures the phone again (at most every `reconfigureMinIntervalMs`),
   * a way for a client to repair a phone whose settings were reset.
   */
  async subscribe(device: string, subscriber: EventSubscriber): Promise<Outcome> {
    if (this.#closed || !this.#settings) {
      return { ok: false, reason: "MonitorFailed", detail: "the monitor is not running" };
    }
    if (!this.#phones.has(device)) return { ok: false, reason: "UnknownDevice" };
    const entry = this.#device(device);
    const again = entry.subscribers.has(subscriber);
    const fresh = entry.configuration === "configured" && !entry.stale;
    if (fresh && entry.subscribers.size > 0 && !again) {
      entry.subscribers.add(subscriber);
      return { ok: true };
    }
    if (
      fresh && again &&
      this.#clock.now() - (entry.configuredAt ?? 0) < this.#reconfigureMinIntervalMs
    ) {
      return { ok: true };
    }
    const pending: PendingStart = { subscriber, cancelled: false };
    entry.pendingStarts.add(pending);
    try {
      const outcome = await this.#configure(entry);
      if (this.#devices.get(device) !== entry) return { ok: false, reason: "UnknownDevice" };
      if (!outcome.ok) {
        // ERROR means this channel does not monitor the device, even if it did before.
        entry.subscribers.delete(subscriber);
        return outcome;
      }
      if (!pending.cancelled && !this.#closed) entry.subscribers.add(subscriber);
      return { ok: true };
    } finally {
      entry.pendingStarts.delete(pending);
    }
  }

  /** MonitorStop: idempotent; the device's calls are still tracked. */
  unsubscribe(device: string, subscriber: EventSubscriber): void {
    const entry = this.#devices.get(device);
    if (!entry) return;
    entry.subscribers.delete(subscriber);
    for (const p of entry.pendingStarts) if (p.subscriber === subscriber) p.cancelled = true;
  }

  /**
   * Wraps every call command sent to a phone: `send` sends it, the monitor adds what the phone
   * will not report itself (channel-protocol.md §4):
   * - MakeCall accepted: Initiated (a new dialing call), published before `command` resolves
   *   and before any callback of the device that arrived while the command was in flight;
   * - ClearConnection accepted on a device with only ringing calls: ConnectionCleared;
   * - TransferCall accepted: remembered, so the phone's transfer report and a following
   *   MakeCall (the vendor's sequence) end both legs.
   * Devices this run never configured pass straight through.
   */
  async command(
    device: string,
    command: CallCommandName,
    number: string | undefined,
    send: () => Promise<Outcome>,
  ): Promise<Outcome> {
    const entry = this.#devices.get(device);
    if (!entry || entry.configuredAt === undefined || this.#closed) return await send();
    if (command === "MakeCall") {
      entry.makeCallsInFlight++;
      try {
        const outcome = await send();
        if (outcome.ok && this.#devices.get(device) === entry && !this.#closed) {
          this.#publish(entry, entry.calls.made(number ?? "", this.#clock.now()));
          this.#schedule(entry);
        }
        return outcome;
      } finally {
        entry.makeCallsInFlight--;
        if (entry.makeCallsInFlight === 0 && entry.held.length > 0) {
          const held = entry.held;
          entry.held = [];
          for (const input of held) this.#run(entry, input);
        }
      }
    }
    const outcome = await send();
    if (outcome.ok && this.#devices.get(device) === entry) {
      if (command === "ClearConnection") this.#enqueue(entry, { kind: "clear" });
      else if (command === "TransferCall") {
        this.#enqueue(entry, { kind: "transfer", target: number });
      }
    }
    return outcome;
  }

  /**
   * Receives one action-URL callback (mount on `GET /phone/*` of `serverHttpPort`). Must be
   * called in the order requests arrive: that order is the device's event order. See
   * {@link CallbackResult} for the answers.
   */
  async handleCallback(request: CallbackRequest): Promise<CallbackResult> {
    const target = parseCallbackPath(request.path);
    if (!target || !this.#settings || this.#closed) return { status: 404 };
    const { extension, notification } = target;
    if (!this.#phones.has(extension)) return { status: 404 };
    if (request.rawQuery.length > MAX_QUERY_CHARS) {
      logger().warning("refused a callback for phone {device} from {address}: query too long", {
        device: extension,
        address: request.remoteAddress,
      });
      return { status: 400 };
    }
    const params = parseQuery(request.rawQuery);
    const entry = this.#devices.get(extension);
    const key = params.get(CALLBACK_PARAMS.secret);
    if (!entry || !sameSecret(key, entry.secret)) {
      this.#refuse(
        entry,
        extension,
        request.remoteAddress,
        key === undefined ? "no key" : "wrong key",
      );
      if (entry && key !== undefined && entry.subscribers.size > 0) {
        void this.#oldKey(entry, request.remoteAddress);
      }
      return { status: 403 };
    }
    const report = this.#report(entry, notification, params);
    const ticket = this.#reserve(entry);
    const host = this.#phones.hostOf(extension) ?? "";
    const check = this.#sources.matches(host, request.remoteAddress);
    const genuine = typeof check === "boolean" ? check : await check;
    if (!genuine || this.#devices.get(extension) !== entry) {
      this.#settle(entry, ticket, undefined);
      if (genuine) return { status: 404 };
      this.#refuse(entry, extension, request.remoteAddress, `not from the phone's host ${host}`);
      return { status: 403 };
    }
    entry.lastCallbackAt = this.#clock.now();
    this.#settle(entry, ticket, { kind: "report", report });
    if (notification === "onSetup") this.#reconfigureSoon(entry, "it restarted");
    return { status: 200 };
  }

  /** Monitored devices (every device configured this run), for the status page. */
  status(): MonitorStatus {
    const devices: DeviceStatus[] = [];
    for (const d of this.#devices.values()) {
      devices.push({
        device: d.extension,
        host: this.#phones.hostOf(d.extension),
        configuration: d.configuration,
        configuredAt: d.configuredAt,
        error: d.error,
        callbackBase: d.callbackBase,
        subscribers: d.subscribers.size,
        calls: d.calls.calls(),
        lastCallbackAt: d.lastCallbackAt,
        refusedCallbacks: d.refused,
        lastRefusal: d.lastRefusal,
      });
    }
    devices.sort((a, b) => a.device.localeCompare(b.device, "en", { numeric: true }));
    return { devices };
  }

  #device(extension: string): Device {
    let device = this.#devices.get(extension);
    if (device) return device;
    const secret = newSecret();
    redactor.add(secret);
    device = {
      extension,
      secret,
      calls: new DeviceCalls(extension, {
        nextCallRef: () => this.#nextCallRef++,
        unansweredMs: this.#unansweredMs,
      }),
      subscribers: new Set(),
      pendingStarts: new Set(),
      configuration: "none",
      fingerprint: "",
      placeholders: new Map(),
      stale: false,
      lastTriggeredAt: -Infinity,
      refused: 0,
      tickets: [],
      ticketHead: 0,
      makeCallsInFlight: 0,
      held: [],
    };
    this.#devices.set(extension, device);
    return device;
  }

  /** Everything about a phone's setup that its action URLs depend on. */
  #fingerprint(extension: string): string {
    const setup = this.#phones.monitorSetup(extension);
    const server = this.#settings?.config.server;
    return JSON.stringify([
      this.#phones.addressOf(extension),
      setup ? [...setup.notifications] : null,
      setup?.variables,
      server?.callbackUrl,
      server?.httpPort,
    ]);
  }

  /** One configuration at a time per device; the promise never rejects. */
  #configure(device: Device): Promise<Outcome> {
    if (device.configuring) return device.configuring;
    const attempt = this.#writeUrls(device);
    device.configuring = attempt;
    attempt.finally(() => {
      if (device.configuring === attempt) device.configuring = undefined;
    });
    return attempt;
  }

  async #writeUrls(device: Device): Promise<Outcome> {
    const extension = device.extension;
    device.configuration = "configuring";
    const fail = (outcome: Outcome & { ok: false }): Outcome => {
      if (this.#devices.get(extension) === device) {
        device.configuration = "failed";
        device.error = outcome.detail ?? outcome.reason;
      }
      logger().warning("cannot point phone {device} at the server: {error}", {
        device: extension,
        error: outcome.detail ?? outcome.reason,
      });
      return outcome;
    };
    try {
      const setup = this.#phones.monitorSetup(extension);
      if (!setup) {
        return fail({
          ok: false,
          reason: "MonitorFailed",
          detail: "its profile has no [monitorAutoConfiguration]",
        });
      }
      const server = this.#settings!.config.server;
      const local = server.callbackUrl === "auto"
        ? await this.#phones.localAddressFor(extension)
        : "";
      const base = callbackBase(server.callbackUrl, local, server.httpPort);
      const fingerprint = this.#fingerprint(extension);
      const outcome = await this.#phones.configureMonitoring(
        extension,
        callbackUrls(base, extension, device.secret, setup),
      );
      if (this.#devices.get(extension) !== device) return { ok: false, reason: "UnknownDevice" };
      if (!outcome.ok) return fail(outcome);
      device.configuration = "configured";
      device.configuredAt = this.#clock.now();
      device.error = undefined;
      device.callbackBase = base;
      device.fingerprint = fingerprint;
      device.placeholders = placeholders(setup.variables);
      device.stale = false;
      logger().info("phone {device} reports to {base}", { device: extension, base });
      return outcome;
    } catch (e) {
      return fail({
        ok: false,
        reason: "MonitorFailed",
        detail: e instanceof Error ? e.message : String(e),
      });
    }
  }

  /** A reason to believe the phone's URLs are not ours any more. */
  #reconfigureSoon(device: Device, why: string): void {
    device.stale = true;
    if (device.subscribers.size === 0 || device.configuring || this.#closed) return;
    const now = this.#clock.now();
    if (now - device.lastTriggeredAt < this.#reconfigureMinIntervalMs) return;
    device.lastTriggeredAt = now;
    logger().info("configuring phone {device} again: {why}", { device: device.extension, why });
    void this.#configure(device);
  }

  /** A callback with a wrong key: if it really comes from the phone, its URLs are old. */
  async #oldKey(device: Device, remoteAddress: string): Promise<void> {
    const check = this.#sources.matches(
      this.#phones.hostOf(device.extension) ?? "",
      remoteAddress,
    );
    if (await check) this.#reconfigureSoon(device, "it called back with an old key");
  }

  #refuse(device: Device | undefined, extension: string, address: string, why: string): void {
    if (device) {
      device.refused++;
      device.lastRefusal = `${why} from ${address}`;
    }
    logger().warning("refused a callback for phone {device} from {address}: {why}", {
      device: extension,
      address,
      why,
    });
  }

  #report(
    device: Device,
    notification: NotificationName,
    params: ReadonlyMap<string, string>,
  ): PhoneReport {
    const value = (name: string) => {
      const v = params.get(name) ?? "";
      return v === device.placeholders.get(name) ? "" : v;
    };
    const party = parseParty(value(CALLBACK_PARAMS.remote));
    const shown = value(CALLBACK_PARAMS.displayName).trim().replace(/^"(.*)"$/, "$1");
    const ongoing = value(CALLBACK_PARAMS.ongoing).trim();
    return {
      notification,
      callId: value(CALLBACK_PARAMS.callId).trim(),
      remote: party.user,
      displayName: shown !== "" ? shown : party.displayName,
      ongoing: /^\d{1,6}$/.test(ongoing) ? Number(ongoing) : undefined,
    };
  }

  /** Keeps a place in the device's queue for an input still being checked. */
  #reserve(device: Device): Ticket {
    const ticket: Ticket = { settled: false };
    device.tickets.push(ticket);
    return ticket;
  }

  /** Fills a place in the queue; runs every input at the head that is ready. */
  #settle(device: Device, ticket: Ticket, input: Input | undefined): void {
    ticket.settled = true;
    ticket.input = input;
    const tickets = device.tickets;
    while (device.ticketHead < tickets.length && tickets[device.ticketHead].settled) {
      const next = tickets[device.ticketHead++].input;
      if (next) this.#accept(device, next);
    }
    if (device.ticketHead === tickets.length) {
      tickets.length = 0;
      device.ticketHead = 0;
    }
  }

  #enqueue(device: Device, input: Input): void {
    this.#settle(device, this.#reserve(device), input);
  }

  #accept(device: Device, input: Input): void {
    if (device.makeCallsInFlight > 0) device.held.push(input);
    else this.#run(device, input);
  }

  #run(device: Device, input: Input): void {
    if (this.#closed || this.#devices.get(device.extension) !== device) return;
    const now = this.#clock.now();
    const calls = device.calls;
    switch (input.kind) {
      case "report":
        this.#publish(device, calls.report(input.report, now));
        break;
      case "clear":
        this.#publish(device, calls.cleared());
        break;
      case "transfer":
        calls.transferStarted(input.target, now);
        break;
      case "tick":
        this.#publish(device, calls.expire(now));
        break;
    }
    this.#schedule(device);
  }

  #publish(device: Device, events: readonly CallEvent[]): void {
    for (const event of events) {
      for (const subscriber of device.subscribers) {
        try {
          subscriber.deliver(event);
        } catch (e) {
          logger().error("channel {id} failed to take an event of {device}: {error}", {
            id: subscriber.id,
            device: device.extension,
            error: e,
          });
        }
      }
    }
  }

  /** Keeps one timer per device, set to its next call timeout. */
  #schedule(device: Device): void {
    const at = device.calls.nextDeadline();
    if (at === device.timerAt) return;
    this.#clearTimer(device);
    if (at === undefined || this.#closed) return;
    device.timerAt = at;
    device.timer = this.#clock.setTimeout(() => {
      device.timer = undefined;
      device.timerAt = undefined;
      this.#enqueue(device, { kind: "tick" });
    }, Math.max(0, at - this.#clock.now()));
  }

  #clearTimer(device: Device): void {
    if (device.timer !== undefined) this.#clock.clearTimeout(device.timer);
    device.timer = undefined;
    device.timerAt = undefined;
  }

  /** The phone left the configuration: its monitors end, the channels stay open. */
  #end(device: Device): void {
    this.#devices.delete(device.extension);
    this.#clearTimer(device);
    for (const p of device.pendingStarts) p.cancelled = true;
    logger().info(
      "phone {device} was removed from the configuration; {count} monitor(s) of it ended",
      { device: device.extension, count: device.subscribers.size },
    );
    const subscribers = [...device.subscribers];
    device.subscribers.clear();
    for (const s of subscribers) {
      try {
        s.monitorEnded(device.extension);
      } catch (e) {
        logger().error("subscriber {id} failed on the end of {device}'s monitor: {error}", {
          id: s.id,
          device: device.extension,
          error: e,
        });
      }
    }
  }
}
