/**
 * The phone registry: every configured phone (the `phone=` lines) plus the demo phones
 * (`demoPhones`), each with its own serial queue, kept in step with the configuration as it
 * is reloaded (docs/configuration.md §3). The dispatcher sends call commands through it, the
 * monitor configures action URLs through it, and the status page reads it.
 *
 * A phone added to the file is usable at once; a changed one keeps its queue and uses its
 * new address from the next request; a removed one fails its waiting commands with
 * `UnknownDevice` while the request in flight finishes. Demo phones (extensions 101, 102, …)
 * come from the {@link DemoPhones} factory the server hands in (simulated phones on
 * 127.0.0.1): started when `demoPhones` grows and stopped when it shrinks, they are driven
 * exactly like real phones, with the `snom.cfg` profile, or `yealink.cfg` for those named by
 * `demoYealinkPhones` (a demo phone whose model changes is started anew).
 */

import { lookup } from "node:dns/promises";
import {
  addressKey,
  addressOnSubnetOf,
  DEMO_PROFILE,
  DEMO_YEALINK_PROFILE,
  demoExtensions,
  type InterfaceAddress,
  type NotificationName,
} from "../config/mod.ts";
import type { CallCommand, MonitorSetup, Outcome, Settings } from "../contract.ts";
import { type Clock, systemClock, type TimerId, within } from "../clock.ts";
import { log } from "../log/mod.ts";
import { Serial } from "../serial.ts";
import { netTransport, type PhoneTransport } from "../http/mod.ts";
import { Phone, type PhoneStatus, type PhoneTarget } from "./phone.ts";
import { hostPort } from "../net.ts";

/** How long a stop waits for requests in flight to phones before it ends them (ms). */
export const CLOSE_GRACE_MS = 800;

/** How long a phone is left alone after it refused our login (ms). */
export const AUTH_COOLDOWN_MS = 60_000;

/** How long a phone is left alone after it showed its lock-out page (ms). */
export const LOCK_COOLDOWN_MS = 60_000;

/** Most phones checked at once (docs/status-page.md §4). */
export const CHECK_CONCURRENCY = 16;

/** A phone started for the demo (`demoPhones`), listening on `host:port`. */
export interface DemoPhone {
  readonly host: string;
  readonly port: number;
  /** Where its web interface is, for the log. */
  readonly url: string;
  /** The web login it wants, if any. */
  readonly login?: { readonly username: string; readonly password: string };
  close(): Promise<void>;
}

/** Which kind of phone a demo extension is (`demoYealinkPhones`). */
export type DemoModel = "snom" | "yealink";

/** Starts demo phones on request; `server/` hands in one made of simulated phones. */
export interface DemoPhones<P extends DemoPhone = DemoPhone> {
  /** Starts the demo phone of one extension, of the given model. */
  start(extension: string, model: DemoModel): Promise<P>;
  /** Stops every phone it started. */
  close(): Promise<void>;
}

/** How the registry is built: the demo phone factory, and overrides for tests. */
export interface PhoneRegistryOptions<P extends DemoPhone = DemoPhone> {
  /** Where demo phones come from; without it `demoPhones` starts none (and says so). */
  readonly demoPhones?: DemoPhones<P>;
  readonly transport?: PhoneTransport;
  readonly clock?: Clock;
  /** Overrides `phoneTimeoutSeconds` (tests use short timeouts). */
  readonly timeoutMs?: number;
  readonly authCooldownMs?: number;
  readonly lockCooldownMs?: number;
  /** Commands allowed to wait per phone. Default 32. */
  readonly maxQueued?: number;
  /** Digest client nonces (tests). */
  readonly cnonce?: () => string;
  /** This computer's interface addresses; default the runtime's (empty without permission). */
  readonly interfaces?: () => readonly InterfaceAddress[];
}

/** The runtime's interface addresses, or none when they may not be read. */
function systemInterfaces(): readonly InterfaceAddress[] {
  try {
    return Deno.networkInterfaces();
  } catch {
    return [];
  }
}

/** Why a registry operation could not start. */
export class UnknownPhoneError extends Error {
  constructor(extension: string) {
    super(`no phone with extension ${extension} is configured`);
    this.name = "UnknownPhoneError";
  }
}

/** The phones of the server: a component (`apply`/`close`). */
export class PhoneRegistry<P extends DemoPhone = DemoPhone> {
  readonly name = "phones";
  readonly #options: PhoneRegistryOptions<P>;
  readonly #phones = new Map<string, Phone>();
  readonly #demo = new Map<string, P>();
  readonly #demoModel = new Map<string, DemoModel>();
  readonly #retiring = new Set<Phone>();
  #timeoutMs = 5000;
  /** Settings are applied one at a time, in order. */
  readonly #applying = new Serial();
  /** The phones' addresses (as `addressKey`s); names are resolved when settings arrive. */
  #addresses: ReadonlySet<string> = new Set();
  #closed = false;
  /** `phoneCheckSeconds` in effect; 0: no checks. */
  #checkSeconds = 0;
  #checkTimer?: TimerId;
  /** The round of checks under way, if any. */
  #round?: Promise<void>;

  constructor(options: PhoneRegistryOptions<P> = {}) {
    this.#options = options;
  }

  get #clock(): Clock {
    return this.#options.clock ?? systemClock;
  }

  /** Takes new settings: phones added, changed and removed; demo phones started or stopped. */
  apply(settings: Settings): Promise<void> {
    return this.#applying.run(() => this.#apply(settings));
  }

  /**
   * Fails waiting commands, gives requests in flight {@link CLOSE_GRACE_MS} to finish and then
   * ends them (so a hung phone cannot hold up a stop), stops the demo phones.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#applying.idle();
    this.#stopChecks();
    await this.#round;
    const all = [...this.#phones.values(), ...this.#retiring];
    for (const p of all) p.retire("the server is stopping");
    this.#phones.clear();
    const idle = Promise.all(all.map((p) => p.idle()));
    await within(idle, CLOSE_GRACE_MS);
    for (const p of all) p.abort();
    await idle;
    await this.#options.demoPhones?.close();
    this.#demo.clear();
  }

  /**
   * True when `address` is where a configured phone is (its literal address, or what its host
   * name resolved to when the settings were applied): the HTTP listener keeps a share of its
   * connections for these, so phone callbacks are never starved.
   */
  isPhoneAddress(address: string): boolean {
    const key = addressKey(address);
    return key !== undefined && this.#addresses.has(key);
  }

  /** True when the extension is a configured or demo phone. */
  has(extension: string): boolean {
    return this.#phones.has(extension);
  }

  /** The extensions, in order. */
  get extensions(): string[] {
    return [...this.#phones.keys()].sort(compareExtensions);
  }

  /**
   * Sends a call command to its device's phone; `callId` is the phone's id of the call it
   * acts on, when the monitor knows it.
   */
  execute(command: CallCommand, callId?: string): Promise<Outcome> {
    const phone = this.#phones.get(command.device);
    if (!phone) return Promise.resolve(unknown(command.device));
    return phone.execute(command, callId);
  }

  /**
   * The local IP address that routes to the phone: what the phone should call back when
   * `serverCallbackUrl = auto`. A phone on a network this computer is attached to is answered
   * from the interfaces, without a word to the phone (so also while it is off); any other is
   * asked by connecting to it. Rejects when the phone is unknown or cannot be reached.
   */
  localAddressFor(extension: string): Promise<string> {
    const phone = this.#phones.get(extension);
    if (!phone) return Promise.reject(new UnknownPhoneError(extension));
    const near = addressOnSubnetOf(
      phone.target.host,
      (this.#options.interfaces ?? systemInterfaces)(),
    );
    return near !== undefined ? Promise.resolve(near) : phone.localAddress();
  }

  /** Which notifications the phone's profile can deliver, and the `$variables` to ask for. */
  monitorSetup(extension: string): MonitorSetup | undefined {
    const monitor = this.#phones.get(extension)?.target.profile.monitor;
    return monitor && {
      notifications: monitor.notifications,
      variables: monitor.variables,
      provisioning: monitor.provisioning,
    };
  }

  /**
   * Writes notification URLs into the phone through its profile's
   * `[monitorAutoConfiguration]`, in the phone's queue. URLs are opaque here; each is
   * percent-encoded except `$` where `{settings}` puts it.
   */
  configureMonitoring(
    extension: string,
    urls: ReadonlyMap<NotificationName, string>,
  ): Promise<Outcome> {
    const phone = this.#phones.get(extension);
    if (!phone) return Promise.resolve(unknown(extension));
    return phone.configureMonitoring(urls);
  }

  /** The host the phone is configured at, so callbacks can be checked against it. */
  hostOf(extension: string): string | undefined {
    return this.#phones.get(extension)?.target.host;
  }

  /**
   * Where the phone's web interface is (`http://host:port`): a phone that moved there, even
   * on the same host, has none of the action URLs written into the old one.
   */
  addressOf(extension: string): string | undefined {
    const t = this.#phones.get(extension)?.target;
    if (!t) return undefined;
    return `${t.protocol.toLowerCase()}://${hostPort(t.host, t.port)}`;
  }

  /** One line per phone for the status page, in extension order. Never a password. */
  status(): PhoneStatus[] {
    return this.extensions.map((e) => this.#phones.get(e)!.status());
  }

  /**
   * Checks every phone now (docs/status-page.md §4), after a round already under way, and
   * resolves when done. The regular rounds do the same every `phoneCheckSeconds`.
   */
  async checkNow(): Promise<void> {
    await this.#round;
    await this.#checkRound();
  }

  /** The simulated phone behind a demo extension (for end-to-end tests). */
  demoPhone(extension: string): P | undefined {
    return this.#demo.get(extension);
  }

  /**
   * One settings change: demo phones started, every phone's target worked out, removed
   * phones retired, the others updated or added, demo phones no longer wanted stopped, and
   * the checks moved to the new interval.
   */
  async #apply(settings: Settings): Promise<void> {
    if (this.#closed) return;
    const config = settings.config;
    this.#timeoutMs = this.#options.timeoutMs ?? config.phoneTimeoutSeconds * 1000;
    const wantedDemo = new Map<string, DemoModel>();
    for (const extension of demoExtensions(config.demoPhones)) {
      wantedDemo.set(extension, config.demoYealinkPhones.includes(extension) ? "yealink" : "snom");
    }
    await this.#startDemo(wantedDemo);
    const targets = this.#targets(settings, wantedDemo);
    this.#retireRemoved(targets);
    const added = this.#follow(targets);
    this.#learnAddresses([...targets.values()].map((t) => t.host));
    // Demo phones stop only once their registry entries are retired.
    for (const [extension, sim] of this.#demo) {
      if (wantedDemo.has(extension)) continue;
      this.#demo.delete(extension);
      this.#demoModel.delete(extension);
      await sim.close();
      log("phones").info("demo phone {extension} stopped", { extension });
    }
    this.#followChecks(config.phoneCheckSeconds, added);
  }

  /** Where each phone is and how to drive it: the `phone=` lines, then the demo phones. */
  #targets(
    settings: Settings,
    wantedDemo: ReadonlyMap<string, DemoModel>,
  ): Map<string, PhoneTarget> {
    const targets = new Map<string, PhoneTarget>();
    for (const p of settings.config.phones) {
      const profile = settings.profiles.get(p.profile);
      if (!profile) {
        log("phones").error("phone {extension}: profile {profile} is not loaded; phone skipped", {
          extension: p.extension,
          profile: p.profile,
        });
        continue;
      }
      targets.set(p.extension, {
        extension: p.extension,
        host: p.host,
        port: p.port ?? profile.port,
        protocol: profile.protocol,
        profile,
        username: p.username,
        password: p.password,
        demo: false,
      });
    }
    const missing = new Set<string>();
    for (const [extension, sim] of this.#demo) {
      if (targets.has(extension) || !wantedDemo.has(extension)) continue;
      const name = this.#demoModel.get(extension) === "yealink"
        ? DEMO_YEALINK_PROFILE
        : DEMO_PROFILE;
      const profile = settings.profiles.get(name);
      if (!profile) {
        if (!missing.has(name)) {
          log("phones").error("the demo profile {profile} is not loaded; demo phones skipped", {
            profile: name,
          });
        }
        missing.add(name);
        continue;
      }
      targets.set(extension, {
        extension,
        host: sim.host,
        port: sim.port,
        protocol: "HTTP",
        profile,
        username: sim.login?.username,
        password: sim.login?.password,
        demo: true,
      });
    }
    return targets;
  }

  /** Phones without a target leave: their waiting commands fail, the one in flight finishes. */
  #retireRemoved(targets: ReadonlyMap<string, PhoneTarget>): void {
    for (const [extension, phone] of this.#phones) {
      if (targets.has(extension)) continue;
      this.#phones.delete(extension);
      phone.retire(`phone ${extension} was removed from the configuration`);
      this.#retiring.add(phone);
      void phone.idle().then(() => this.#retiring.delete(phone));
      log("phones").info("phone {extension} removed", { extension });
    }
  }

  /** Known phones take their new target, new ones are made; returns the new ones. */
  #follow(targets: ReadonlyMap<string, PhoneTarget>): Phone[] {
    const added: Phone[] = [];
    for (const [extension, target] of targets) {
      const phone = this.#phones.get(extension);
      if (phone) {
        phone.update(target);
        continue;
      }
      const created = new Phone(target, {
        transport: this.#options.transport ?? netTransport,
        clock: this.#options.clock ?? systemClock,
        timeoutMs: () => this.#timeoutMs,
        authCooldownMs: this.#options.authCooldownMs ?? AUTH_COOLDOWN_MS,
        lockCooldownMs: this.#options.lockCooldownMs ?? LOCK_COOLDOWN_MS,
        maxQueued: this.#options.maxQueued ?? 32,
        cnonce: this.#options.cnonce,
      });
      this.#phones.set(extension, created);
      added.push(created);
      log("phones").info("phone {extension} at {host}:{port} ({profile}{demo})", {
        extension,
        host: target.host,
        port: target.port,
        profile: target.profile.name,
        demo: target.demo ? ", simulated" : "",
      });
    }
    return added;
  }

  /**
   * Starts, moves or stops the regular checks for a new `phoneCheckSeconds`. The first round
   * runs at once; phones added while rounds run are checked at once on their own.
   */
  #followChecks(seconds: number, added: readonly Phone[]): void {
    const before = this.#checkSeconds;
    this.#checkSeconds = seconds;
    if (seconds === 0) return this.#stopChecks();
    if (before === 0 || this.#checkTimer === undefined && this.#round === undefined) {
      void this.#checkRound();
      return;
    }
    if (added.length > 0) void this.#check(added);
    if (seconds !== before && this.#checkTimer !== undefined) {
      this.#stopChecks();
      this.#nextRound();
    }
  }

  #stopChecks(): void {
    if (this.#checkTimer !== undefined) this.#clock.clearTimeout(this.#checkTimer);
    this.#checkTimer = undefined;
  }

  /** Waits `phoneCheckSeconds` after the last round ended, then runs the next. */
  #nextRound(): void {
    if (this.#closed || this.#checkSeconds === 0 || this.#checkTimer !== undefined) return;
    this.#checkTimer = this.#clock.setTimeout(() => {
      this.#checkTimer = undefined;
      void this.#checkRound();
    }, this.#checkSeconds * 1000);
  }

  /** One round over every phone; then the next is scheduled. */
  #checkRound(): Promise<void> {
    this.#stopChecks();
    const round = this.#check([...this.#phones.values()]).finally(() => {
      if (this.#round === round) this.#round = undefined;
      this.#nextRound();
    });
    this.#round = round;
    return round;
  }

  /** Checks the phones, at most {@link CHECK_CONCURRENCY} at once. */
  async #check(phones: readonly Phone[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < phones.length && !this.#closed) await phones[next++].check();
    };
    await Promise.all(Array.from({ length: Math.min(CHECK_CONCURRENCY, phones.length) }, worker));
  }

  /** Literal addresses count at once; names once resolved (in the background). */
  #learnAddresses(hosts: readonly string[]): void {
    const keys = new Set<string>();
    const names: string[] = [];
    for (const host of hosts) {
      const key = addressKey(host);
      if (key) keys.add(key);
      else names.push(host);
    }
    this.#addresses = keys;
    for (const name of names) {
      lookup(name, { all: true }).then((found) => {
        if (this.#addresses !== keys) return; // newer settings took over
        for (const a of found) {
          const key = addressKey(a.address);
          if (key) keys.add(key);
        }
      }).catch(() => {
        // Unknown for now; the phone's callbacks still count against the common share.
      });
    }
  }

  async #startDemo(wanted: ReadonlyMap<string, DemoModel>): Promise<void> {
    for (const [extension, model] of wanted) {
      const running = this.#demo.get(extension);
      if (running && this.#demoModel.get(extension) === model) continue;
      if (running) {
        // Another model on the same extension: the old phone goes first (its entry is updated
        // to the new one's address and profile below).
        this.#demo.delete(extension);
        this.#demoModel.delete(extension);
        await running.close();
        log("phones").info("demo phone {extension} stopped to start as {model}", {
          extension,
          model,
        });
      }
      const factory = this.#options.demoPhones;
      if (!factory) {
        log("phones").error("demo phone {extension} cannot start: this server has no demo phones", {
          extension,
        });
        continue;
      }
      try {
        const sim = await factory.start(extension, model);
        this.#demo.set(extension, sim);
        this.#demoModel.set(extension, model);
        log("phones").info("demo phone {extension} listens on {url}", { extension, url: sim.url });
      } catch (e) {
        log("phones").error("demo phone {extension} could not start: {error}", {
          extension,
          error: e,
        });
      }
    }
  }
}

function unknown(extension: string): Outcome {
  return { ok: false, reason: "UnknownDevice", detail: `no phone with extension ${extension}` };
}

/** Numeric extensions in numeric order, the rest after them in text order. */
function compareExtensions(a: string, b: string): number {
  const na = /^\d+$/.test(a) ? Number(a) : NaN;
  const nb = /^\d+$/.test(b) ? Number(b) : NaN;
  if (!Number.isNaN(na) && !Number.isNaN(nb)) return na - nb || a.localeCompare(b);
  if (!Number.isNaN(na)) return -1;
  if (!Number.isNaN(nb)) return 1;
  return a.localeCompare(b);
}
