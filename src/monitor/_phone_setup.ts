/**
 * Pointing one phone's action URLs at the server (docs/channel-protocol.md §4.1): when to
 * write them, writing them through the phone registry, and what the phone was last set up
 * with, so a changed address, profile or callback address is noticed.
 */

import type { Clock } from "../clock.ts";
import type { NotificationName } from "../config/mod.ts";
import type { CallCommand, MonitorSetup, Outcome, Settings } from "../contract.ts";
import { log } from "../log/mod.ts";
import { callbackBase, callbackUrls, placeholders } from "./callback_url.ts";
import { errorText } from "../text.ts";
import { Fingerprint } from "../fingerprint.ts";

/**
 * What the monitor needs from the phones layer (the phone registry implements it; tests pass
 * a fake). Every method answers for the settings most recently applied.
 */
export interface PhonePort {
  /** True when the extension is a configured (or demo) phone. */
  has(extension: string): boolean;
  /**
   * Sends a call command to the command's phone; `callId` is the phone's id of the call it
   * acts on, when the monitor knows it (docs/phone-profiles.md §2.2). Never rejects.
   */
  execute(command: CallCommand, callId?: string): Promise<Outcome>;
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

/** Where a phone's set-up stands, as the status page shows it. */
export type SetupState = "none" | "configuring" | "configured" | "failed";

/** What a set-up needs from its monitor. */
export interface SetupContext {
  readonly phones: PhonePort;
  readonly clock: Clock;
  /** The settings in effect (set before any set-up starts). */
  readonly settings: () => Settings | undefined;
  /** False once the phone left the configuration: results are then dropped. */
  readonly current: () => boolean;
  /** Least time between two set-ups that a callback triggers. */
  readonly minIntervalMs: number;
}

const logger = () => log("monitor");

/** The action-URL set-up of one phone. */
export class PhoneSetup {
  readonly extension: string;
  state: SetupState = "none";
  /** The per-phone callback key, part of every URL written; none before the first set-up. */
  secret?: string;
  configuredAt?: number;
  /** Why the last set-up failed, when it did. */
  error?: string;
  callbackBase?: string;
  /** The phone's `$variables` as written, so an unsubstituted one reads as empty. */
  placeholders: ReadonlyMap<string, string> = new Map();
  /** The URLs in the phone may be missing or outdated. */
  stale = false;
  readonly #ctx: SetupContext;
  readonly #makeSecret: () => string;
  /** What the URLs in the phone were written for. */
  readonly #written = new Fingerprint();
  #running?: Promise<Outcome>;
  #lastTriggeredAt = -Infinity;

  /** `makeSecret` gives the phone's callback key, asked for once, when first written. */
  constructor(extension: string, makeSecret: () => string, ctx: SetupContext) {
    this.extension = extension;
    this.#makeSecret = makeSecret;
    this.#ctx = ctx;
  }

  /** The set-up in progress, if any. */
  get running(): Promise<Outcome> | undefined {
    return this.#running;
  }

  /** True when the phone was set up this run and set up for what is configured now. */
  get fresh(): boolean {
    return this.state === "configured" && !this.stale;
  }

  /** True when something the URLs depend on changed since they were written. */
  changed(): boolean {
    return this.configuredAt !== undefined && !this.#written.is(this.#dependsOn());
  }

  /** Writes the URLs; one set-up at a time, concurrent callers share it. Never rejects. */
  configure(): Promise<Outcome> {
    if (this.#running) return this.#running;
    const attempt = this.#write();
    this.#running = attempt;
    attempt.finally(() => {
      if (this.#running === attempt) this.#running = undefined;
    });
    return attempt;
  }

  /**
   * A reason to believe the phone's URLs are not ours any more: set up again when someone
   * monitors it, at most once per `minIntervalMs`.
   */
  reconfigureSoon(why: string, monitored: boolean): void {
    this.stale = true;
    if (!monitored || this.#running || !this.#ctx.current()) return;
    const now = this.#ctx.clock.now();
    if (now - this.#lastTriggeredAt < this.#ctx.minIntervalMs) return;
    this.#lastTriggeredAt = now;
    logger().info("configuring phone {device} again: {why}", { device: this.extension, why });
    void this.configure();
  }

  /** Everything about the phone's set-up that its action URLs depend on. */
  #dependsOn(): unknown {
    const phones = this.#ctx.phones;
    const setup = phones.monitorSetup(this.extension);
    const server = this.#ctx.settings()?.config.server;
    return [
      phones.addressOf(this.extension),
      setup ? [...setup.notifications] : null,
      setup?.variables,
      server?.callbackUrl,
      server?.httpPort,
    ];
  }

  async #write(): Promise<Outcome> {
    const extension = this.extension;
    const phones = this.#ctx.phones;
    this.state = "configuring";
    const fail = (outcome: Outcome & { ok: false }): Outcome => {
      if (this.#ctx.current()) {
        this.state = "failed";
        this.error = outcome.detail ?? outcome.reason;
      }
      logger().warning("cannot point phone {device} at the server: {error}", {
        device: extension,
        error: outcome.detail ?? outcome.reason,
      });
      return outcome;
    };
    try {
      const setup = phones.monitorSetup(extension);
      if (!setup) {
        return fail({
          ok: false,
          reason: "MonitorFailed",
          detail: "its profile has no [monitorAutoConfiguration]",
        });
      }
      const server = this.#ctx.settings()!.config.server;
      const local = server.callbackUrl === "auto" ? await phones.localAddressFor(extension) : "";
      const base = callbackBase(server.callbackUrl, local, server.httpPort);
      const writing = this.#dependsOn();
      this.secret ??= this.#makeSecret();
      const outcome = await phones.configureMonitoring(
        extension,
        callbackUrls(base, extension, this.secret, setup),
      );
      if (!this.#ctx.current()) return { ok: false, reason: "UnknownDevice" };
      if (!outcome.ok) return fail(outcome);
      this.state = "configured";
      this.configuredAt = this.#ctx.clock.now();
      this.error = undefined;
      this.callbackBase = base;
      this.#written.remember(writing);
      this.placeholders = placeholders(setup.variables);
      this.stale = false;
      logger().info("phone {device} reports to {base}", { device: extension, base });
      return outcome;
    } catch (e) {
      return fail({
        ok: false,
        reason: "MonitorFailed",
        detail: errorText(e),
      });
    }
  }
}
