/**
 * The monitor: points phones' action URLs at the server, receives their callbacks, keeps the
 * calls of each device ({@link DeviceCalls}) and hands the resulting events to every channel
 * that monitors the device, in the phone's order (docs/channel-protocol.md §3, §4).
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
 * through one queue ({@link Device}), in the order it arrived. A MakeCall takes its place
 * in that queue when it is sent and holds it until the phone answers, so its Initiated event
 * comes before anything that arrived after it, and the phone's own report of that call
 * (which may beat the phone's HTTP reply) binds to it instead of being published twice.
 *
 * The parts: `_callback_check.ts` (is a callback genuine, what does it say), `_phone_setup.ts`
 * (writing the action URLs), `_device.ts` (a device's calls, subscribers and queue); this file
 * wires them to the channels and the phones.
 */

import { type Clock, systemClock } from "../clock.ts";
import type {
  CallbackRequest,
  CallbackResult,
  CallCommandName,
  CallInfo,
  CloudPartyReport,
  CloudPort,
  CloudSnapshot,
  Component,
  EventSubscriber,
  Outcome,
  Settings,
} from "../contract.ts";
import { log, redactor, RepeatedWarning } from "../log/mod.ts";
import { newSecret, sameSecret } from "../secret.ts";
import { type CallbackRecord, phoneReport, readCallback, refuse } from "./_callback_check.ts";
import { cloudReport } from "./_cloud.ts";
import { Device, type PendingStart } from "./_device.ts";
import { type PhonePort, PhoneSetup, type SetupState } from "./_phone_setup.ts";
import { UNANSWERED_MS } from "./calls.ts";
import { provisionedSecret } from "./callback_url.ts";
import { type Provisioning, provisioningFor } from "./provisioning.ts";
import { type Lookup, SourceCheck, systemLookup } from "./source.ts";
import { errorText } from "../text.ts";
import { demoExtensions } from "../config/mod.ts";

export type { PhonePort } from "./_phone_setup.ts";

/** Construction options of {@link Monitor}. */
export interface MonitorOptions {
  readonly phones: PhonePort;
  /** Extensions of the provider account as devices (docs/cloud-phones.md §4). */
  readonly cloud?: CloudPort;
  readonly clock?: Clock;
  /** Resolves phone host names for the callback source check. */
  readonly lookup?: Lookup;
  /** See {@link DeviceCallsOptions.unansweredMs}. */
  readonly unansweredMs?: number;
  /** Least time between two re-configurations that a callback triggers. Default 30 s. */
  readonly reconfigureMinIntervalMs?: number;
  /** Told how many events were handed to channels, for the metrics (docs/status-page.md §6). */
  readonly onEventsSent?: (count: number) => void;
  /**
   * The server's callback key, from which phones with `[monitorProvisioning]` get callback
   * keys that stay the same across starts (docs/yealink.md §5.1). Read only when such a
   * phone is configured. Without it, they get a fresh key per run like other phones.
   */
  readonly callbackKey?: () => string;
}

/** One monitored device on the status page. */
export interface DeviceStatus {
  readonly device: string;
  readonly host?: string;
  readonly configuration: SetupState;
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
  /**
   * Per phone with `[monitorProvisioning]`, by extension: the lines to load, or why they are
   * unknown. Plain data (it goes into `/api/status` as it is); no prototype, so any extension
   * reads as itself.
   */
  readonly provisioning: Readonly<Record<string, Provisioning>>;
}

const RECONFIGURE_MIN_INTERVAL_MS = 30_000;

/** Everything the monitor keeps about one phone it was asked to monitor this run. */
interface Entry {
  readonly device: Device;
  readonly setup: PhoneSetup;
  readonly callbacks: CallbackRecord;
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
  readonly #onEventsSent?: (count: number) => void;
  readonly #callbackKey?: () => string;
  readonly #entries = new Map<string, Entry>();
  readonly #cloud?: CloudPort;
  /** Cloud devices monitored this run (docs/cloud-phones.md §4). */
  readonly #cloudDevices = new Map<string, Device>();
  /** Provisioning lines per phone, worked out when settings are applied. */
  #provisioning = new Map<string, Provisioning>();
  /** The callback keys in those lines, which the status page shows (docs/yealink.md §5). */
  #shownSecrets = new Set<string>();
  #settings?: Settings;
  #nextCallRef = 1;
  #closed = false;
  /** Refused callbacks, summarised per phone and reason. */
  readonly #refusals = new RepeatedWarning(() => log("monitor"));

  constructor(options: MonitorOptions) {
    this.#phones = options.phones;
    this.#clock = options.clock ?? systemClock;
    this.#sources = new SourceCheck(options.lookup ?? systemLookup, this.#clock);
    this.#unansweredMs = options.unansweredMs ?? UNANSWERED_MS;
    this.#reconfigureMinIntervalMs = options.reconfigureMinIntervalMs ??
      RECONFIGURE_MIN_INTERVAL_MS;
    this.#onEventsSent = options.onEventsSent;
    this.#cloud = options.cloud;
    this.#cloud?.listen({
      report: (r) => this.#cloudReport(r),
      reconcile: (snapshot) => this.#cloudReconcile(snapshot),
    });
    this.#callbackKey = options.callbackKey;
  }

  /**
   * Takes new settings. Apply it after the phone registry, so the port answers for them.
   * Devices no longer configured lose their monitors (the channels stay open); devices whose
   * address (host or port), profile or callback address changed are configured again.
   */
  apply(settings: Settings): void {
    this.#settings = settings;
    this.#sources.forget();
    // The provider may take these settings after the monitor: read the list itself.
    const cloud = new Set(settings.config.cloudPhones.map((p) => p.extension));
    for (const device of [...this.#cloudDevices.values()]) {
      if (!cloud.has(device.extension)) this.#endCloud(device);
    }
    this.#refreshProvisioning(settings);
    for (const entry of [...this.#entries.values()]) {
      const { device, setup } = entry;
      if (!this.#phones.has(device.extension)) {
        this.#end(entry);
        continue;
      }
      if (!setup.changed()) continue;
      setup.stale = true;
      if (device.subscribers.size > 0) {
        logger().info("phone {device} changed in the configuration; configuring it again", {
          device: device.extension,
        });
        void setup.configure();
      }
    }
  }

  /** Stops timers, drops every subscriber and waits for configurations in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#refusals.close();
    for (const device of this.#cloudDevices.values()) {
      device.stop();
      device.subscribers.clear();
    }
    const inFlight: Promise<Outcome>[] = [];
    for (const { device, setup } of this.#entries.values()) {
      device.stop();
      device.subscribers.clear();
      for (const p of device.pendingStarts) p.cancelled = true;
      if (setup.running) inFlight.push(setup.running);
    }
    await Promise.allSettled(inFlight);
  }

  /**
   * MonitorStart (docs/channel-protocol.md §3): subscribes `subscriber` to the device's
   * events. When nobody monitors the device yet, the phone is configured first; if that fails
   * the answer is the phone's reason (or `MonitorFailed`) and no monitor exists. Concurrent
   * first subscribes share one configuration. A repeated subscribe from a subscriber that
   * already monitors the device configures the phone again (at most every
   * `reconfigureMinIntervalMs`), a way for a client to repair a phone whose settings were
   * reset.
   */
  async subscribe(extension: string, subscriber: EventSubscriber): Promise<Outcome> {
    if (this.#closed || !this.#settings) {
      return { ok: false, reason: "MonitorFailed", detail: "the monitor is not running" };
    }
    if (this.#cloud?.has(extension)) return await this.#subscribeCloud(extension, subscriber);
    if (!this.#phones.has(extension)) return { ok: false, reason: "UnknownDevice" };
    const entry = this.#entry(extension);
    const { device, setup } = entry;
    const again = device.subscribers.has(subscriber);
    if (setup.fresh && device.subscribers.size > 0 && !again) {
      device.subscribers.add(subscriber);
      return { ok: true };
    }
    if (
      setup.fresh && again &&
      this.#clock.now() - (setup.configuredAt ?? 0) < this.#reconfigureMinIntervalMs
    ) {
      return { ok: true };
    }
    const pending: PendingStart = { subscriber, cancelled: false };
    device.pendingStarts.add(pending);
    try {
      const outcome = await setup.configure();
      if (this.#entries.get(extension) !== entry) return { ok: false, reason: "UnknownDevice" };
      if (!outcome.ok) {
        // ERROR means this channel does not monitor the device, even if it did before.
        device.subscribers.delete(subscriber);
        return outcome;
      }
      if (!pending.cancelled && !this.#closed) device.subscribers.add(subscriber);
      return { ok: true };
    } finally {
      device.pendingStarts.delete(pending);
    }
  }

  /** MonitorStop: idempotent; the device's calls are still tracked. */
  unsubscribe(extension: string, subscriber: EventSubscriber): void {
    const cloud = this.#cloudDevices.get(extension);
    if (cloud) {
      cloud.subscribers.delete(subscriber);
      for (const p of cloud.pendingStarts) if (p.subscriber === subscriber) p.cancelled = true;
      if (cloud.subscribers.size === 0 && cloud.pendingStarts.size === 0) {
        this.#cloud?.unwatch(extension);
      }
      return;
    }
    const device = this.#entries.get(extension)?.device;
    if (!device) return;
    device.subscribers.delete(subscriber);
    for (const p of device.pendingStarts) if (p.subscriber === subscriber) p.cancelled = true;
  }

  /**
   * Wraps every call command sent to a phone: `send` sends it, the monitor adds what the phone
   * will not report itself (docs/channel-protocol.md §4):
   * - MakeCall accepted: Initiated (a new dialing call), published in the device's queue at
   *   the place the command took when it was sent, and named in the outcome;
   * - ClearConnection accepted on a device with only ringing calls: ConnectionCleared;
   * - TransferCall accepted: remembered, so the phone's transfer report and a following
   *   MakeCall (the vendor's sequence) end both legs.
   * `send` gets the phone's id of the call the command acts on, when the device's calls name
   * one (docs/phone-profiles.md §2.2). Devices this run never configured pass straight
   * through.
   */
  async command(
    extension: string,
    command: CallCommandName,
    number: string | undefined,
    send: (callId?: string) => Promise<Outcome>,
  ): Promise<Outcome> {
    const entry = this.#entries.get(extension);
    const cloud = this.#cloudDevices.get(extension);
    const device = cloud ?? entry?.device;
    if (this.#closed || !device || (!cloud && entry?.setup.configuredAt === undefined)) {
      return await send();
    }
    const current = () =>
      (cloud ? this.#cloudDevices.get(extension) : this.#entries.get(extension)?.device) === device;
    // A provider reports a transfer while its request is still being answered, so for a cloud
    // device TransferCall also holds its place in the queue (docs/cloud-phones.md §4).
    if (cloud && command === "TransferCall") {
      const sending = send();
      return await device.queue(async () => {
        const outcome = await sending;
        if (outcome.ok && current()) device.transferStarted(number);
        return outcome;
      });
    }
    // A phone that acts on a call by its own id gets the id of the call the command means
    // (docs/phone-profiles.md §2.2).
    if (!cloud && number === undefined) {
      const callId = device.calls.targetCallId(command);
      if (callId) return this.#afterCommand(device, current, command, number, await send(callId));
    }
    if (command === "MakeCall") {
      const sending = send();
      return await device.queue(async () => {
        const outcome = await sending;
        if (!outcome.ok) return outcome;
        const initiated = device.made(number ?? "");
        return initiated ? { ...outcome, initiated } : outcome;
      });
    }
    return this.#afterCommand(device, current, command, number, await send());
  }

  /** What an accepted command other than MakeCall changes that the phone will not report. */
  #afterCommand(
    device: Device,
    current: () => boolean,
    command: CallCommandName,
    number: string | undefined,
    outcome: Outcome,
  ): Outcome {
    if (outcome.ok && current()) {
      if (command === "ClearConnection") this.#queueOn(device, () => device.cleared());
      else if (command === "TransferCall") {
        this.#queueOn(device, () => device.transferStarted(number));
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
    if (!this.#settings || this.#closed) return { status: 404, refused: "unknown_phone" };
    const read = readCallback(request, (extension) => this.#phones.has(extension));
    if ("status" in read) return read;
    const { extension, notification, params, key } = read;
    const address = request.remoteAddress;
    const entry = this.#entries.get(extension);
    if (!entry || !sameSecret(key, entry.setup.secret)) {
      refuse(
        this.#refusals,
        entry?.callbacks,
        extension,
        address,
        key === undefined ? "no key" : "wrong key",
      );
      if (entry && key !== undefined && entry.device.subscribers.size > 0) {
        void this.#oldKey(entry, address);
      }
      return { status: 403, refused: key === undefined ? "no_key" : "wrong_key" };
    }
    const report = phoneReport(notification, params, entry.setup.placeholders);
    const host = this.#phones.hostOf(extension) ?? "";
    const check = this.#sources.matches(host, address);
    // The report takes its place in the device's queue now, in arrival order, and counts
    // once the source check has found it genuine.
    const take = (genuine: boolean) => {
      if (genuine) entry.device.report(report);
    };
    this.#queue(entry, () => typeof check === "boolean" ? take(check) : check.then(take));
    const genuine = typeof check === "boolean" ? check : await check;
    if (!genuine || this.#entries.get(extension) !== entry) {
      if (genuine) return { status: 404, refused: "unknown_phone" };
      refuse(
        this.#refusals,
        entry.callbacks,
        extension,
        address,
        `not from the phone's host ${host}`,
      );
      return { status: 403, refused: "wrong_source" };
    }
    entry.callbacks.lastCallbackAt = this.#clock.now();
    if (notification === "onSetup") {
      entry.setup.reconfigureSoon("it restarted", entry.device.subscribers.size > 0);
    }
    return { status: 200 };
  }

  /** Monitored devices (every device configured this run), for the status page. */
  status(): MonitorStatus {
    const devices: DeviceStatus[] = [];
    for (const { device, setup, callbacks } of this.#entries.values()) {
      devices.push({
        device: device.extension,
        host: this.#phones.hostOf(device.extension),
        configuration: setup.state,
        configuredAt: setup.configuredAt,
        error: setup.error,
        callbackBase: setup.callbackBase,
        subscribers: device.subscribers.size,
        calls: device.calls.calls(),
        lastCallbackAt: callbacks.lastCallbackAt,
        refusedCallbacks: callbacks.refused,
        lastRefusal: callbacks.lastRefusal,
      });
    }
    for (const device of this.#cloudDevices.values()) {
      devices.push({
        device: device.extension,
        host: "provider",
        configuration: "configured",
        subscribers: device.subscribers.size,
        calls: device.calls.calls(),
        refusedCallbacks: 0,
      });
    }
    devices.sort((a, b) => a.device.localeCompare(b.device, "en", { numeric: true }));
    const provisioning: Record<string, Provisioning> = Object.create(null);
    for (const [extension, p] of this.#provisioning) provisioning[extension] = p;
    return { devices, provisioning };
  }

  /**
   * The callback keys in the provisioning lines of {@link status}: the status page shows
   * them, ready to paste (docs/yealink.md §5); the log still hides them.
   */
  shownSecrets(): ReadonlySet<string> {
    return this.#shownSecrets;
  }

  /**
   * Works out the provisioning lines of every phone with `[monitorProvisioning]` in the
   * background; the status page shows them once known.
   */
  #refreshProvisioning(settings: Settings): void {
    const next = new Map<string, Provisioning>();
    const shown = new Set<string>();
    this.#provisioning = next;
    this.#shownSecrets = shown;
    if (!this.#callbackKey) return;
    const config = settings.config;
    const demo = demoExtensions(config.demoPhones);
    for (const extension of [...config.phones.map((p) => p.extension), ...demo]) {
      if (!this.#phones.monitorSetup(extension)?.provisioning) continue;
      let key: string;
      try {
        key = this.#callbackKey();
      } catch (e) {
        next.set(extension, { error: `no callback key: ${errorText(e)}` });
        continue;
      }
      const secret = provisionedSecret(key, extension);
      redactor.add(secret);
      void provisioningFor(this.#phones, settings.config.server, key, extension).then((p) => {
        if (this.#provisioning !== next) return;
        next.set(extension, p);
        if ("lines" in p) shown.add(secret);
      });
    }
  }

  #entry(extension: string): Entry {
    const known = this.#entries.get(extension);
    if (known) return known;
    const provisioned = this.#callbackKey &&
      this.#phones.monitorSetup(extension)?.provisioning !== undefined;
    const secret = provisioned ? provisionedSecret(this.#callbackKey!(), extension) : newSecret();
    redactor.add(secret);
    const current = () => this.#entries.get(extension) === entry;
    const entry: Entry = {
      device: new Device(extension, {
        clock: this.#clock,
        nextCallRef: () => this.#nextCallRef++,
        unansweredMs: this.#unansweredMs,
        live: () => !this.#closed && current(),
        onSent: this.#onEventsSent,
      }),
      setup: new PhoneSetup(extension, secret, {
        phones: this.#phones,
        clock: this.#clock,
        settings: () => this.#settings,
        current: () => !this.#closed && current(),
        minIntervalMs: this.#reconfigureMinIntervalMs,
      }),
      callbacks: { refused: 0 },
    };
    this.#entries.set(extension, entry);
    return entry;
  }

  /** Queues a change of a device's calls; a failure is logged, never thrown. */
  #queue(entry: Entry, change: () => unknown): void {
    this.#queueOn(entry.device, change);
  }

  #queueOn(device: Device, change: () => unknown): void {
    device.queue(change).catch((e) =>
      logger().error("an event of {device} was lost: {error}", {
        device: device.extension,
        error: e,
      })
    );
  }

  /**
   * MonitorStart on a cloud device (docs/cloud-phones.md §4): the provider's event
   * subscription instead of action URLs; the calls already in progress are adopted before the
   * channel is subscribed.
   */
  async #subscribeCloud(extension: string, subscriber: EventSubscriber): Promise<Outcome> {
    let device = this.#cloudDevices.get(extension);
    if (device && device.subscribers.size > 0) {
      device.subscribers.add(subscriber);
      return { ok: true };
    }
    if (!device) {
      const made: Device = new Device(extension, {
        clock: this.#clock,
        nextCallRef: () => this.#nextCallRef++,
        unansweredMs: this.#unansweredMs,
        live: () => !this.#closed && this.#cloudDevices.get(extension) === made,
        onSent: this.#onEventsSent,
      });
      device = made;
      this.#cloudDevices.set(extension, device);
    }
    const pending: PendingStart = { subscriber, cancelled: false };
    device.pendingStarts.add(pending);
    try {
      const watched = await this.#cloud!.watch(extension);
      if (this.#cloudDevices.get(extension) !== device) {
        return { ok: false, reason: "UnknownDevice" };
      }
      if (!watched.ok) {
        device.subscribers.delete(subscriber);
        return watched;
      }
      const known = device;
      this.#queueOn(device, () => this.#adopt(known, watched.snapshot));
      if (!pending.cancelled && !this.#closed) device.subscribers.add(subscriber);
      return { ok: true };
    } finally {
      device.pendingStarts.delete(pending);
      if (device.subscribers.size === 0 && device.pendingStarts.size === 0) {
        this.#cloud?.unwatch(extension);
      }
    }
  }

  /** The calls a cloud device has now, taken in as its own reports. */
  #adopt(device: Device, snapshot: CloudSnapshot): void {
    for (const r of snapshot.parties) {
      const report = cloudReport(r, device.calls.stateOf(r.callId));
      if (report) device.report(report);
    }
  }

  #cloudReport(r: CloudPartyReport): void {
    const device = this.#cloudDevices.get(r.device);
    if (!device || this.#closed) return;
    this.#queueOn(device, () => {
      const report = cloudReport(r, device.calls.stateOf(r.callId));
      if (report) device.report(report);
    });
  }

  /** Events may have been lost: calls the provider no longer lists have ended. */
  #cloudReconcile(snapshot: CloudSnapshot): void {
    const device = this.#cloudDevices.get(snapshot.device);
    if (!device || this.#closed) return;
    this.#queueOn(device, () => {
      const listed = new Set(snapshot.parties.map((p) => p.callId));
      for (const callId of device.calls.callIds()) {
        if (!listed.has(callId)) {
          device.report({ notification: "onDisconnected", callId, remote: "", displayName: "" });
        }
      }
      this.#adopt(device, snapshot);
    });
  }

  /** A cloud phone left the configuration: its monitors end, the channels stay open. */
  #endCloud(device: Device): void {
    this.#cloudDevices.delete(device.extension);
    this.#cloud?.unwatch(device.extension);
    device.end();
  }

  /** A callback with a wrong key: if it really comes from the phone, its URLs are old. */
  async #oldKey(entry: Entry, remoteAddress: string): Promise<void> {
    const host = this.#phones.hostOf(entry.device.extension) ?? "";
    if (await this.#sources.matches(host, remoteAddress)) {
      entry.setup.reconfigureSoon(
        "it called back with an old key",
        entry.device.subscribers.size > 0,
      );
    }
  }

  /** The phone left the configuration: its monitors end, the channels stay open. */
  #end(entry: Entry): void {
    const device = entry.device;
    this.#entries.delete(device.extension);
    logger().info(
      "phone {device} was removed from the configuration; {count} monitor(s) of it ended",
      { device: device.extension, count: device.subscribers.size },
    );
    device.end();
  }
}
