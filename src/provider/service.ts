/**
 * The provider component: one account per configuration (one OAuth session, one rate-limit
 * gate, one HTTP client), RawCommands in and one-line JSON replies out, and the cloud phones
 * on the same account (docs/provider.md, docs/cloud-phones.md).
 */

import type { Component, RawReply, Settings } from "../contract.ts";
import { type Clock, systemClock } from "../clock.ts";
import { log } from "../log/mod.ts";
import {
  type AccountStatus,
  DEFAULT_RETRY,
  ProviderAccount,
  type RetryPolicy,
} from "./_account.ts";
import { CloudPhones } from "./_cloud.ts";
import { errorReply, parseRawCommand } from "./_command.ts";
import type { SubscriptionStatus, SubscriptionTiming } from "./_events.ts";
import { type FetchLike, type HttpClientFactory, originOf } from "./_transport.ts";
import { Fingerprint } from "../fingerprint.ts";

/** The boundaries and tunables of the service; every one has a production default. */
export interface ProviderServiceOptions {
  /** Default: the global `fetch`. */
  readonly fetch?: FetchLike;
  /** Default: the system clock. Timeouts, back-off, token expiry and penalties use it. */
  readonly clock?: Clock;
  /** Default: `Deno.createHttpClient`. */
  readonly createHttpClient?: HttpClientFactory;
  /** Default: {@link DEFAULT_RETRY} (4 attempts, 1 s → 2 s → 4 s). */
  readonly retry?: Partial<RetryPolicy>;
  /** How long a refused login is not tried again. Default 60 s. */
  readonly loginRetryMs?: number;
  /** Reconnection and heartbeat timings of the event subscription (docs/cloud-phones.md §6). */
  readonly cloudTiming?: Partial<SubscriptionTiming>;
}

/**
 * The provider part of the status page; never a token or a secret. `events` is the event
 * subscription of the cloud phones, present when any is configured (docs/cloud-phones.md §6).
 */
export type ProviderStatus =
  | { readonly configured: false }
  | ({ readonly configured: true; readonly events?: CloudEventsStatus } & AccountStatus);

/** The cloud phones' event subscription and how many extensions it watches. */
export type CloudEventsStatus = SubscriptionStatus & { readonly watched: number };

/** The provider component: RawCommands in, one-line JSON replies out. */
export class ProviderService implements Component {
  readonly name = "provider";
  readonly #fetch: FetchLike;
  readonly #clock: Clock;
  readonly #createHttpClient: HttpClientFactory;
  readonly #retry: RetryPolicy;
  readonly #loginRetryMs: number;
  #account?: ProviderAccount;
  /**
   * Extensions of the provider account as devices (docs/cloud-phones.md): hand it to the
   * monitor and the dispatcher as their `CloudPort`.
   */
  readonly cloud: CloudPhones;
  /** The provider settings in effect, to tell a change from a reload. */
  readonly #applied = new Fingerprint();
  #closed = false;
  /** Any `phone=<ext>@provider` line is configured. */
  #cloudConfigured = false;

  constructor(options: ProviderServiceOptions = {}) {
    this.#fetch = options.fetch ?? ((input, init) => fetch(input, init));
    this.#clock = options.clock ?? systemClock;
    this.#createHttpClient = options.createHttpClient ??
      ((o) => Deno.createHttpClient(o));
    this.#retry = { ...DEFAULT_RETRY, ...options.retry };
    this.#loginRetryMs = options.loginRetryMs ?? 60_000;
    this.cloud = new CloudPhones(() => this.#account, this.#clock, options.cloudTiming);
    this.#applied.remember(undefined); // no provider until settings name one
  }

  /**
   * Follows the provider settings: unchanged, the session is kept; changed (or removed), the
   * old session is revoked (errors ignored), its tokens dropped and a new HTTP client built.
   * Rate-limit penalties survive a change that keeps the provider's address.
   */
  async apply(settings: Settings): Promise<void> {
    if (this.#closed) return;
    this.cloud.apply(settings);
    this.#cloudConfigured = settings.config.cloudPhones.length > 0;
    const config = settings.config.provider;
    if (this.#applied.is(config)) return;
    // The subscription is made again on the new account (docs/cloud-phones.md §6).
    this.cloud.accountChanged();
    this.#applied.remember(config);
    const old = this.#account;
    this.#account = config
      ? new ProviderAccount(config, {
        fetch: this.#fetch,
        clock: this.#clock,
        createHttpClient: this.#createHttpClient,
        retry: this.#retry,
        loginRetryMs: this.#loginRetryMs,
        gate: old && old.origin === originOf(config) ? old.gate : undefined,
      })
      : undefined;
    if (config) {
      log("provider").info("provider {id} at {url}, authorisation {auth}", {
        id: config.id,
        url: this.#account!.origin,
        auth: config.auth,
      });
      if (config.protocol === "HTTP" && config.auth !== "none") {
        log("provider").warning(
          "providerProtocol = HTTP sends the provider credentials and tokens unencrypted",
        );
      }
    } else if (old) {
      log("provider").info("no provider configured any more; RawCommand answers ERROR");
    }
    await old?.close("the provider settings changed");
  }

  /**
   * Answers one RawCommand line (a JSON object as text) with the reply payload of
   * docs/channel-protocol.md §5, whose whole reply line fits in `maxReplyBytes`. Never throws.
   */
  async rawCommand(line: string, maxReplyBytes: number): Promise<RawReply> {
    try {
      const parsed = parseRawCommand(line);
      if (!parsed.ok) return errorReply(0, parsed.reason);
      if (this.#closed) {
        return errorReply(0, "Stopped: the server is shutting down");
      }
      const account = this.#account;
      if (!account) {
        return errorReply(0, "NoProvider: no provider is configured (providerId is empty)");
      }
      return await account.send(parsed.command, maxReplyBytes);
    } catch (e) {
      log("provider").error("RawCommand failed unexpectedly: {error}", { error: e });
      return errorReply(0, "InternalError: see the server log");
    }
  }

  /** Provider, session and rate limits for the status page. */
  status(): ProviderStatus {
    const account = this.#account;
    if (!account) return { configured: false };
    const events = this.#cloudConfigured ? this.cloud.status() : undefined;
    return { configured: true, ...account.status(), ...(events ? { events } : {}) };
  }

  /** Ends work in flight and revokes the session (errors ignored). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.cloud.close();
    const account = this.#account;
    this.#account = undefined;
    await account?.close("the server is shutting down");
  }
}
