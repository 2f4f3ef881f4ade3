/**
 * The monitor: the one map of devices (desk phones and cloud phones), through which every
 * call command goes down to its phone or the provider; it points phones' action URLs at the
 * server, receives their callbacks, keeps the calls of each device ({@link DeviceCalls}) and
 * hands the resulting events to every channel that monitors the device, in the phone's order
 * (docs/channel-protocol.md §3, §4).
 *
 * Which backend a device has (desk phone or cloud phone) is decided once, when the device is
 * first named; a reload that changes it ends the device, and the next use makes it anew.
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

import { type Clock, systemClock, type TimerId } from "../clock.ts";
import { demoExtensions } from "../config/mod.ts";
import type {
  CallbackRequest,
  CallbackResult,
  CallCommand,
  CallInfo,
  CallRecordSink,
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
import { errorText } from "../text.ts";
import {
  type Lookup,
  phoneReport,
  readCallback,
  refuse,
  SourceCheck,
  systemLookup,
} from "./_callback_check.ts";
import { cloudReport } from "./_cloud.ts";
import { type Backend, Device, type PendingStart } from "./_device.ts";
import { type PhonePort, PhoneSetup, type SetupState } from "./_phone_setup.ts";
import { UNANSWERED_MS } from "./calls.ts";
import { provisionedSecret } from "./callback_url.ts";
import { type Provisioning, provisioningFor } from "./provisioning.ts";

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
  /** Told how many events were handed to channels (the metrics, docs/status-page.md §6). */
  readonly counts?: EventCounts;
  /**
   * The server's callback key, from which phones with `[monitorProvisioning]` get callback
   * keys that stay the same across starts (docs/yealink.md §5.1). Read only when such a
   * phone is configured. Without it, they get a fresh key per run like other phones.
   */
  readonly callbackKey?: () => string;
  /**
   * Where every call that ended goes (docs/call-journal.md §2). While settings keep a journal
   * (`journalDays` > 0), every configured device is followed, monitored by a channel or not:
   * desk phones are set up at once, cloud phones watched.
   */
  readonly records?: CallRecordSink;
}

/** How often devices the journal follows are set up again when that failed. */
const JOURNAL_RETRY_MS = 300_000;

/** What the monitor counts for the metrics. */
export interface EventCounts {
  /** `count` events were handed to channels in one publish. */
  eventsSent(count: number): void;
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

const logger = () => log("monitor");

const UNKNOWN: Outcome = { ok: false, reason: "UnknownDevice" };

/** The monitor component; see the module comment. */
export class Monitor implements Component {
  readonly name = "monitor";
  readonly #phones: PhonePort;
  readonly #cloud?: CloudPort;
  readonly #clock: Clock;
  readonly #sources: SourceCheck;
  readonly #unansweredMs: number;
  readonly #reconfigureMinIntervalMs: number;
  readonly #counts?: EventCounts;
  readonly #callbackKey?: () => string;
  /** Every device named this run, desk and cloud phones alike. */
  readonly #devices = new Map<string, Device>();
  /** The `phone=<ext>@provider` extensions configured now (docs/cloud-phones.md §2). */
  #cloudExtensions: ReadonlySet<string> = new Set();
  /** Provisioning lines per phone, worked out when settings are applied. */
  #provisioning = new Map<string, Provisioning>();
  /** The callback keys in those lines, which the status page shows (docs/yealink.md §5). */
  #shownSecrets = new Set<string>();
  #settings?: Settings;
  readonly #records?: CallRecordSink;
  /** Every configured device is followed for the journal. */
  #journaling = false;
  #retry?: TimerId;
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
    this.#counts = options.counts;
    this.#cloud = options.cloud;
    this.#cloud?.listen({
      report: (r) => this.#cloudReport(r),
      reconcile: (snapshot) => this.#cloudReconcile(snapshot),
    });
    this.#callbackKey = options.callbackKey;
    this.#records = options.records;
  }

  /**
   * Takes new settings. Apply it after the phone registry, so the port answers for them.
   * Devices no longer configured, or configured as the other kind, lose their monitors (the
   * channels stay open); desk phones whose address (host or port), profile or callback
   * address changed are configured again.
   */
  apply(settings: Settings): void {
    this.#settings = settings;
    this.#sources.forget();
    // The provider may take these settings after the monitor: read the list itself.
    this.#cloudExtensions = new Set(settings.config.cloudPhones.map((p) => p.extension));
    this.#refreshProvisioning(settings);
    for (const device of [...this.#devices.values()]) {
      const backend = device.backend;
      if (this.#kindOf(device.extension) !== backend.kind) {
        this.#end(device);
        continue;
      }
      if (backend.kind !== "desk" || !backend.setup.changed()) continue;
      backend.setup.stale = true;
      if (device.subscribers.size > 0) {
        logger().info("phone {device} changed in the configuration; configuring it again", {
          device: device.extension,
        });
        void backend.setup.configure();
      }
    }
    this.#journaling = this.#records !== undefined && settings.config.journal.days > 0;
    this.#followAll(settings);
  }

  /**
   * With a journal, every configured device is followed (docs/call-journal.md §2): desk
   * phones not set up for what is configured now are set up, cloud phones watched. Devices
   * whose set-up failed are tried again every {@link JOURNAL_RETRY_MS}.
   */
  #followAll(settings: Settings): void {
    if (this.#retry !== undefined) this.#clock.clearTimeout(this.#retry);
    this.#retry = undefined;
    for (const device of this.#devices.values()) {
      if (!this.#journaling && device.journaled) {
        device.journaled = false;
        if (device.backend.kind === "cloud") this.#unwatchIdle(device);
      }
    }
    if (!this.#journaling || this.#closed) return;
    const config = settings.config;
    const extensions = [
      ...config.phones.map((p) => p.extension),
      ...demoExtensions(config.demoPhones),
      ...config.cloudPhones.map((p) => p.extension),
    ];
    for (const extension of extensions) {
      const device = this.#device(extension);
      if (!device) continue;
      const first = !device.journaled;
      device.journaled = true;
      const backend = device.backend;
      if (backend.kind === "desk") {
        if (!backend.setup.fresh && !backend.setup.running) void backend.setup.configure();
      } else if (first && !device.monitored) {
        // The provider takes the same settings right after the monitor (docs/architecture.md
        // §5): the watch starts once it has them.
        this.#clock.setTimeout(() => {
          if (!device.journaled || this.#closed || this.#devices.get(extension) !== device) return;
          void this.#cloud?.watch(extension).then((watched) => {
            if (watched.ok) device.later(() => this.#adopt(device, watched.snapshot));
            else device.journaled = false; // tried again with the next round
          });
        }, 0);
      }
    }
    this.#retry = this.#clock.setTimeout(() => {
      this.#retry = undefined;
      if (this.#settings) this.#followAll(this.#settings);
    }, JOURNAL_RETRY_MS);
  }

  /** Stops timers, drops every subscriber and waits for configurations in flight. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retry !== undefined) this.#clock.clearTimeout(this.#retry);
    this.#refusals.close();
    const inFlight: Promise<Outcome>[] = [];
    for (const device of this.#devices.values()) {
      device.stop();
      device.subscribers.clear();
      for (const p of device.pendingStarts) p.cancelled = true;
      const running = device.backend.kind === "desk" ? device.backend.setup.running : undefined;
      if (running) inFlight.push(running);
    }
    await Promise.allSettled(inFlight);
  }

  /** True when the extension is a configured device: a desk (or demo) phone or a cloud phone. */
  has(extension: string): boolean {
    return this.#kindOf(extension) !== undefined;
  }

  /**
   * Sends a call command down to its device's phone or the provider; the device adds the
   * events the phone will not report itself (see `_device.ts`). Never rejects but on a bug.
   */
  async command(command: CallCommand): Promise<Outcome> {
    const device = this.#device(command.device);
    if (!device) return UNKNOWN;
    return await device.command(command);
  }

  /**
   * MonitorStart (docs/channel-protocol.md §3): subscribes `subscriber` to the device's
   * events. When nobody monitors the device yet, the phone is configured first (a cloud phone
   * is watched); if that fails the answer is the reason (or `MonitorFailed`) and no monitor
   * exists. Concurrent first subscribes share one configuration. A repeated subscribe from a
   * subscriber that already monitors a desk phone configures it again (at most every
   * `reconfigureMinIntervalMs`), a way for a client to repair a phone whose settings were
   * reset.
   */
  async subscribe(extension: string, subscriber: EventSubscriber): Promise<Outcome> {
    if (this.#closed || !this.#settings) {
      return { ok: false, reason: "MonitorFailed", detail: "the monitor is not running" };
    }
    const device = this.#device(extension);
    if (!device) return UNKNOWN;
    device.monitored = true;
    const backend = device.backend;
    if (backend.kind === "cloud") return await this.#subscribeCloud(device, subscriber);
    const setup = backend.setup;
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
    return await this.#starting(device, subscriber, () => setup.configure());
  }

  /** MonitorStop: idempotent; the device's calls are still tracked. */
  unsubscribe(extension: string, subscriber: EventSubscriber): void {
    const device = this.#devices.get(extension);
    if (!device) return;
    device.subscribers.delete(subscriber);
    for (const p of device.pendingStarts) if (p.subscriber === subscriber) p.cancelled = true;
    if (device.backend.kind === "cloud") this.#unwatchIdle(device);
  }

  /**
   * Receives one action-URL callback (the callback route hands it over). Must be called in
   * the order requests arrive: that order is the device's event order. See
   * {@link CallbackResult} for the answers.
   */
  async handleCallback(request: CallbackRequest): Promise<CallbackResult> {
    if (!this.#settings || this.#closed) return { status: 404, refused: "unknown_phone" };
    const read = readCallback(request, (extension) => this.#phones.has(extension));
    if ("status" in read) return read;
    const { extension, notification, params, key } = read;
    const address = request.remoteAddress;
    const device = this.#devices.get(extension);
    const desk = device?.backend.kind === "desk" ? device.backend : undefined;
    const secret = desk?.setup.secret;
    if (!device || !desk || secret === undefined || !sameSecret(key, secret)) {
      const why = key === undefined ? "no key" : "wrong key";
      refuse(this.#refusals, desk?.callbacks, extension, address, why);
      if (device && desk && key !== undefined && this.#wanted(device)) {
        void this.#oldKey(device, desk.setup, address);
      }
      return { status: 403, refused: key === undefined ? "no_key" : "wrong_key" };
    }
    const report = phoneReport(notification, params, desk.setup.placeholders);
    const host = this.#phones.hostOf(extension) ?? "";
    const check = this.#sources.matches(host, address);
    // The report takes its place in the device's queue now, in arrival order, and counts
    // once the source check has found it genuine.
    const take = (genuine: boolean) => {
      if (genuine) device.report(report);
    };
    device.later(() => typeof check === "boolean" ? take(check) : check.then(take));
    const genuine = typeof check === "boolean" ? check : await check;
    if (!genuine || this.#devices.get(extension) !== device) {
      if (genuine) return { status: 404, refused: "unknown_phone" };
      refuse(
        this.#refusals,
        desk.callbacks,
        extension,
        address,
        `not from the phone's host ${host}`,
      );
      return { status: 403, refused: "wrong_source" };
    }
    desk.callbacks.lastCallbackAt = this.#clock.now();
    if (notification === "onSetup") {
      desk.setup.reconfigureSoon("it restarted", this.#wanted(device));
    }
    return { status: 200 };
  }

  /** Devices a channel asked to monitor this run or the journal follows, for the status page. */
  status(): MonitorStatus {
    const devices: DeviceStatus[] = [];
    for (const device of this.#devices.values()) {
      if (!device.monitored && !device.journaled) continue;
      const common = {
        device: device.extension,
        subscribers: device.subscribers.size,
        calls: device.calls.calls(),
      };
      const backend = device.backend;
      if (backend.kind === "cloud") {
        devices.push({
          ...common,
          host: "provider",
          configuration: "configured",
          refusedCallbacks: 0,
        });
        continue;
      }
      const { setup, callbacks } = backend;
      devices.push({
        ...common,
        host: this.#phones.hostOf(device.extension),
        configuration: setup.state,
        configuredAt: setup.configuredAt,
        error: setup.error,
        callbackBase: setup.callbackBase,
        lastCallbackAt: callbacks.lastCallbackAt,
        refusedCallbacks: callbacks.refused,
        lastRefusal: callbacks.lastRefusal,
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

  /** A channel monitors the device, or the journal follows it. */
  #wanted(device: Device): boolean {
    return device.subscribers.size > 0 || (this.#journaling && device.journaled);
  }

  /** Which kind of device the extension is configured as now, if any. */
  #kindOf(extension: string): Backend["kind"] | undefined {
    if (this.#cloudExtensions.has(extension)) return "cloud";
    return this.#phones.has(extension) ? "desk" : undefined;
  }

  /** The device of an extension: made, with its backend, the first time it is named. */
  #device(extension: string): Device | undefined {
    const known = this.#devices.get(extension);
    if (known) return known;
    const kind = this.#kindOf(extension);
    if (kind === undefined) return undefined;
    const live = () => !this.#closed && this.#devices.get(extension) === device;
    const backend: Backend = kind === "cloud" ? { kind } : {
      kind,
      setup: new PhoneSetup(extension, () => this.#secretFor(extension), {
        phones: this.#phones,
        clock: this.#clock,
        settings: () => this.#settings,
        current: live,
        minIntervalMs: this.#reconfigureMinIntervalMs,
      }),
      callbacks: { refused: 0 },
    };
    const cloud = this.#cloud;
    const device: Device = new Device(extension, backend, {
      clock: this.#clock,
      nextCallRef: () => this.#nextCallRef++,
      unansweredMs: this.#unansweredMs,
      live,
      execute: kind === "cloud"
        ? (command) => cloud ? cloud.execute(command) : Promise.resolve(UNKNOWN)
        : (command, callId) => this.#phones.execute(command, callId),
      counts: this.#counts,
      records: this.#records,
    });
    this.#devices.set(extension, device);
    return device;
  }

  /** A phone's callback key: stable for provisioned phones, fresh for the others. */
  #secretFor(extension: string): string {
    const provisioned = this.#callbackKey &&
      this.#phones.monitorSetup(extension)?.provisioning !== undefined;
    const secret = provisioned ? provisionedSecret(this.#callbackKey!(), extension) : newSecret();
    redactor.add(secret);
    return secret;
  }

  /**
   * A MonitorStart in progress: `start` sets the phone up (or watches the cloud phone); the
   * subscriber counts once it succeeded, unless MonitorStop or the end came first.
   */
  async #starting(
    device: Device,
    subscriber: EventSubscriber,
    start: () => Promise<Outcome>,
  ): Promise<Outcome> {
    const pending: PendingStart = { subscriber, cancelled: false };
    device.pendingStarts.add(pending);
    try {
      const outcome = await start();
      if (this.#devices.get(device.extension) !== device) return UNKNOWN;
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

  /**
   * MonitorStart on a cloud phone (docs/cloud-phones.md §4): the provider's event
   * subscription instead of action URLs; the calls already in progress are adopted before the
   * channel is subscribed.
   */
  async #subscribeCloud(device: Device, subscriber: EventSubscriber): Promise<Outcome> {
    if (device.subscribers.size > 0) {
      device.subscribers.add(subscriber);
      return { ok: true };
    }
    try {
      return await this.#starting(device, subscriber, async () => {
        const watched = await this.#cloud!.watch(device.extension);
        if (watched.ok) device.later(() => this.#adopt(device, watched.snapshot));
        return watched.ok ? { ok: true } : watched;
      });
    } finally {
      this.#unwatchIdle(device);
    }
  }

  /** A cloud phone nobody monitors or is about to: its subscription may close. */
  #unwatchIdle(device: Device): void {
    if (device.subscribers.size === 0 && device.pendingStarts.size === 0 && !device.journaled) {
      this.#cloud?.unwatch(device.extension);
    }
  }

  /** The calls a cloud device has now, taken in as its own reports. */
  #adopt(device: Device, snapshot: CloudSnapshot): void {
    for (const r of snapshot.parties) {
      const report = cloudReport(r, device.calls.stateOf(r.callId));
      if (report) device.report(report);
    }
  }

  /** The cloud phones watched: a device a channel asked to monitor, of the cloud kind. */
  #watched(extension: string): Device | undefined {
    const device = this.#devices.get(extension);
    return device?.backend.kind === "cloud" && (device.monitored || device.journaled) &&
        !this.#closed
      ? device
      : undefined;
  }

  #cloudReport(r: CloudPartyReport): void {
    const device = this.#watched(r.device);
    device?.later(() => {
      const report = cloudReport(r, device.calls.stateOf(r.callId));
      if (report) device.report(report);
    });
  }

  /** Events may have been lost: calls the provider no longer lists have ended. */
  #cloudReconcile(snapshot: CloudSnapshot): void {
    const device = this.#watched(snapshot.device);
    device?.later(() => {
      const listed = new Set(snapshot.parties.map((p) => p.callId));
      for (const callId of device.calls.callIds()) {
        if (!listed.has(callId)) {
          device.report({ notification: "onDisconnected", callId, remote: "", displayName: "" });
        }
      }
      this.#adopt(device, snapshot);
    });
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
    const extensions = [
      ...config.phones.map((p) => p.extension),
      ...demoExtensions(config.demoPhones),
    ];
    for (const extension of extensions) {
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

  /** A callback with a wrong key: if it really comes from the phone, its URLs are old. */
  async #oldKey(device: Device, setup: PhoneSetup, remoteAddress: string): Promise<void> {
    const host = this.#phones.hostOf(device.extension) ?? "";
    if (await this.#sources.matches(host, remoteAddress)) {
      setup.reconfigureSoon("it called back with an old key", this.#wanted(device));
    }
  }

  /** The device left the configuration (or changed kind): its monitors end, the channels stay open. */
  #end(device: Device): void {
    this.#devices.delete(device.extension);
    if (device.backend.kind === "cloud") {
      this.#cloud?.unwatch(device.extension);
    } else if (device.monitored) {
      logger().info(
        "phone {device} was removed from the configuration; {count} monitor(s) of it ended",
        { device: device.extension, count: device.subscribers.size },
      );
    }
    device.end();
  }
}
