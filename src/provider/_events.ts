/**
 * The one WebSocket event subscription of the provider account (docs/provider.md §8.2,
 * docs/cloud-phones.md §4, §6), with its faults handled:
 *
 * ```
 *          ensure()                 confirmed
 *   off ─────────────▶ connecting ─────────────▶ live ◀────────────────────────┐
 *    ▲                     │ failed                │ closed, or a heartbeat    │ recovered (wsc),
 *    │ close()             ▼                       ▼ went unanswered           │ or subscribed again
 *    └──────────────── reconnecting ◀──────────────┘                           │ and reconciled
 *                          │  after a back-off: new wstoken, same wsc ─────────┘
 *                          └─ failed: a longer back-off (doubling, capped)
 * ```
 *
 * - Within the gateway's recovery window (`recoveryTimeout` of `ConnectionDetails`) the new
 *   socket presents the last `wsc` token; `recoveryState: Successful` means the subscription
 *   survived and missed notifications are replayed. Otherwise (`Failed`, window passed, new
 *   OAuth session) the subscription is created again and `onResubscribed` reconciles calls;
 *   notifications that arrive meanwhile are held and handed on after it.
 * - Notifications are handed on once each: a replayed one whose `uuid` was seen is dropped.
 * - After `heartbeatMs` without any message a `Heartbeat` is sent; no message within
 *   `heartbeatTimeoutMs` after it counts as a dropped socket.
 * - Neither the WebSocket address (it carries the token) nor a `wsc` token is ever logged.
 */

import type { Clock, TimerId } from "../clock.ts";
import { log, redactor } from "../log/mod.ts";
import type { ProviderAccount } from "./_account.ts";
import { ProviderError } from "./_errors.ts";
import { parseJson, record, text } from "./_json.ts";

/** Timings of the subscription; tests shorten them. */
export interface SubscriptionTiming {
  /** First pause before reconnecting; doubled after each failed attempt. */
  readonly reconnectBaseMs: number;
  /** Longest pause between reconnection attempts. */
  readonly reconnectMaxMs: number;
  /** Silence after which a Heartbeat is sent (the gateway asks for at least 30 s). */
  readonly heartbeatMs: number;
  /** How long a Heartbeat may go unanswered before the socket counts as dropped. */
  readonly heartbeatTimeoutMs: number;
}

/**
 * 2 s doubling to 60 s (a WebSocket token is in the Auth group, 5 a minute: an outage costs at
 * most four in its first minute); Heartbeat after 30 s of silence, 10 s for its answer.
 */
export const DEFAULT_TIMING: SubscriptionTiming = {
  reconnectBaseMs: 2000,
  reconnectMaxMs: 60_000,
  heartbeatMs: 30_000,
  heartbeatTimeoutMs: 10_000,
};

/** See the module comment. */
export type SubscriptionState = "off" | "connecting" | "live" | "reconnecting";

/** The subscription for the status page; no token. */
export interface SubscriptionStatus {
  readonly state: SubscriptionState;
  /** When the state was entered. */
  readonly since?: number;
  /** Why the last attempt failed or the socket dropped. */
  readonly lastError?: string;
  readonly drops: number;
  /** Reconnections that kept the subscription (`wsc` recovery). */
  readonly recoveries: number;
  /** Reconnections that had to subscribe again (and reconcile). */
  readonly resubscriptions: number;
}

/** What the subscription needs from its owner. */
export interface SubscriptionDeps {
  readonly account: () => ProviderAccount | undefined;
  readonly clock: Clock;
  readonly timing: SubscriptionTiming;
  /** How long the gateway may take to confirm, in ms. */
  readonly confirmMs: () => number;
  /** The event filters of the one subscription. */
  readonly eventFilters: readonly string[];
  /** One ServerNotification's event (`uuid`, `event`, `body`, …). Must not throw. */
  readonly notified: (event: Record<string, unknown>) => void;
  /** Events may have been lost: the subscription is new on a reconnection. Never rejects. */
  readonly resubscribed: () => Promise<void>;
}

const RECOVERY_DEFAULT_MS = 180_000;
const REMEMBERED_EVENTS = 1000;

const logger = () => log("provider");

/** A gateway message `[header, payload]`; empty objects when it is not one. */
export function frame(data: unknown): [Record<string, unknown>, Record<string, unknown>] {
  if (typeof data !== "string") return [{}, {}];
  const value = parseJson(data);
  return Array.isArray(value) ? [record(value[0]), record(value[1])] : [{}, {}];
}

/** The account's event subscription; see the module comment. */
export class EventSubscription {
  readonly #deps: SubscriptionDeps;
  #state: SubscriptionState = "off";
  #since?: number;
  #lastError?: string;
  #drops = 0;
  #recoveries = 0;
  #resubscriptions = 0;
  #socket?: WebSocket;
  /** Changes whenever what is under way becomes stale (closed, restarted). */
  #generation = 0;
  #connecting?: Promise<void>;
  #retryTimer?: TimerId;
  #attempt = 0;
  /** The last connection token and its sequence (docs/provider.md §8.2). */
  #wsc?: { token: string; sequence: number };
  #recoveryMs = RECOVERY_DEFAULT_MS;
  #droppedAt?: number;
  /** The subscription was live before in this lifetime: a new one must reconcile. */
  #wasLive = false;
  #silenceTimer?: TimerId;
  #heartbeatTimer?: TimerId;
  readonly #seen = new Set<string>();

  constructor(deps: SubscriptionDeps) {
    this.#deps = deps;
  }

  get state(): SubscriptionState {
    return this.#state;
  }

  status(): SubscriptionStatus {
    return {
      state: this.#state,
      since: this.#since,
      lastError: this.#lastError,
      drops: this.#drops,
      recoveries: this.#recoveries,
      resubscriptions: this.#resubscriptions,
    };
  }

  /**
   * Resolves once the subscription is live: opens it, or joins the attempt under way, or
   * (while reconnecting) tries again at once. Rejects with a {@link ProviderError}; a
   * subscription that was wanted before keeps reconnecting.
   */
  ensure(): Promise<void> {
    if (this.#state === "live") return Promise.resolve();
    if (this.#connecting) return this.#connecting;
    this.#clearRetry();
    return this.#connect();
  }

  /**
   * Lets go of the connection and everything tied to it (its socket, its `wsc`, a pending
   * retry or connect); callbacks of older connections see a new generation and do nothing.
   */
  #drop(): void {
    this.#generation++;
    this.#clearRetry();
    this.#connecting = undefined;
    this.#closeSocket();
    this.#wsc = undefined;
    this.#droppedAt = undefined;
    this.#attempt = 0;
  }

  /** Ends the subscription; nothing reconnects until the next {@link ensure}. */
  close(why: string): void {
    const was = this.#state;
    this.#drop();
    this.#wasLive = false;
    this.#seen.clear();
    this.#set("off");
    if (was !== "off") {
      logger().info("event subscription for cloud phones closed: {why}", { why });
    }
  }

  /**
   * The provider account changed: a `wsc` of the old OAuth session cannot be recovered, so a
   * wanted subscription is made again at once on the new account, and calls reconciled.
   */
  restart(why: string): void {
    if (this.#state === "off") return;
    this.#drop();
    this.#wasLive = true;
    this.#lastError = why;
    this.#set("reconnecting");
    logger().info("event subscription for cloud phones is made again: {why}", { why });
    this.#schedule(0);
  }

  #set(state: SubscriptionState): void {
    if (state !== this.#state) this.#since = this.#deps.clock.now();
    this.#state = state;
  }

  #clearRetry(): void {
    if (this.#retryTimer !== undefined) this.#deps.clock.clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
  }

  #schedule(ms: number): void {
    this.#clearRetry();
    const generation = this.#generation;
    this.#retryTimer = this.#deps.clock.setTimeout(() => {
      this.#retryTimer = undefined;
      if (generation !== this.#generation || this.#connecting) return;
      // A failure schedules the next attempt itself.
      this.#connect().catch(() => {});
    }, ms);
  }

  #connect(): Promise<void> {
    const generation = this.#generation;
    if (this.#state === "off") this.#set("connecting");
    const attempt = this.#open(generation).then(
      () => {
        if (generation !== this.#generation) return;
        this.#connecting = undefined;
        this.#attempt = 0;
      },
      (e) => {
        if (generation === this.#generation) {
          this.#connecting = undefined;
          this.#closeSocket();
          const reason = e instanceof ProviderError ? e.reason : String(e);
          this.#lastError = reason;
          const delay = Math.min(
            this.#deps.timing.reconnectBaseMs * 2 ** this.#attempt,
            this.#deps.timing.reconnectMaxMs,
          );
          this.#attempt++;
          if (this.#state === "reconnecting" || this.#wasLive) {
            logger().warning(
              "the event subscription for cloud phones could not be made again ({reason}); " +
                "next attempt in {ms} ms",
              { reason, ms: delay },
            );
          }
          this.#set("reconnecting");
          this.#schedule(delay);
        }
        throw e;
      },
    );
    this.#connecting = attempt;
    return attempt;
  }

  /** One attempt: wstoken, socket, ConnectionDetails, then recovery or a new subscription. */
  async #open(generation: number): Promise<void> {
    const stale = () => {
      if (generation !== this.#generation) {
        throw new ProviderError(0, "Stopped: the subscription was closed meanwhile");
      }
    };
    const account = this.#deps.account();
    if (!account) throw new ProviderError(0, "no provider is configured");
    const now = this.#deps.clock.now();
    const wsc = this.#wsc && this.#droppedAt !== undefined &&
        now - this.#droppedAt < this.#recoveryMs
      ? this.#wsc
      : undefined;
    const answer = await account.api("POST", "/restapi/oauth/wstoken");
    stale();
    if (answer.status < 200 || answer.status >= 300) {
      throw new ProviderError(answer.status, answer.reason);
    }
    const body = record(answer.body);
    const token = text(body.ws_access_token);
    const uri = text(body.uri);
    if (token === "" || !/^wss?:\/\//i.test(uri)) {
      throw new ProviderError(answer.status, "the WebSocket token answer has no token or uri");
    }
    redactor.add(token);
    let url = `${uri}${uri.includes("?") ? "&" : "?"}access_token=${encodeURIComponent(token)}`;
    if (wsc) url += `&wsc=${encodeURIComponent(wsc.token)}`;
    let socket: WebSocket;
    try {
      socket = new WebSocket(url);
    } catch {
      throw new ProviderError(0, "Unreachable: the event WebSocket address is not valid");
    }
    this.#socket = socket;
    const recovered = await this.#handshake(socket, wsc !== undefined);
    stale();
    this.#droppedAt = undefined;
    const reconnected = this.#wasLive;
    this.#wasLive = true;
    if (recovered) {
      this.#recoveries++;
      this.#set("live");
      logger().info("event subscription for cloud phones recovered; missed events follow");
      return;
    }
    if (!reconnected) {
      this.#set("live");
      logger().info("event subscription for cloud phones is live");
      return;
    }
    // A new subscription after a drop: notifications wait while the calls are reconciled.
    this.#resubscriptions++;
    const held: Record<string, unknown>[] = [];
    this.#holding = held;
    logger().warning(
      "event subscription for cloud phones made again without recovery; reconciling calls",
    );
    try {
      await this.#deps.resubscribed();
    } finally {
      if (this.#holding === held) this.#holding = undefined;
    }
    stale();
    this.#set("live");
    for (const event of held) this.#deps.notified(event);
  }

  /** Notifications held while calls are reconciled. */
  #holding?: Record<string, unknown>[];

  /**
   * ConnectionDetails, then (unless the session was recovered) the subscription request and
   * its confirmation. Resolves true when `wsc` recovery succeeded.
   */
  #handshake(socket: WebSocket, recovering: boolean): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const messageId = crypto.randomUUID();
      const timer = this.#deps.clock.setTimeout(() => {
        fail(new ProviderError(0, "Timeout: the event subscription was not confirmed"));
      }, this.#deps.confirmMs());
      const fail = (e: ProviderError) => {
        this.#deps.clock.clearTimeout(timer);
        reject(e);
      };
      const live = (recovered: boolean) => {
        this.#deps.clock.clearTimeout(timer);
        socket.onmessage = (m) => this.#message(socket, m.data);
        socket.onclose = (e) => this.#dropped(socket, `closed (${e.code})`);
        socket.onerror = () => {};
        this.#heard(socket);
        resolve(recovered);
      };
      socket.onerror = () => fail(new ProviderError(0, "Unreachable: the event WebSocket failed"));
      socket.onclose = () => fail(new ProviderError(0, "Unreachable: the event WebSocket closed"));
      socket.onmessage = (m) => {
        const [head, payload] = frame(m.data);
        this.#track(head);
        const type = text(head.type);
        if (type === "ConnectionDetails") {
          const seconds = Number(payload.recoveryTimeout);
          if (Number.isFinite(seconds) && seconds > 0) this.#recoveryMs = seconds * 1000;
          if (recovering && text(payload.recoveryState) === "Successful") {
            live(true);
            return;
          }
          if (recovering) {
            logger().info("the gateway could not recover the event subscription ({code})", {
              code: text(payload.recoveryErrorCode) || text(payload.recoveryState) || "no state",
            });
          }
          this.#seen.clear();
          socket.send(JSON.stringify([
            {
              type: "ClientRequest",
              messageId,
              method: "POST",
              path: "/restapi/v1.0/subscription",
            },
            {
              eventFilters: this.#deps.eventFilters,
              deliveryMode: { transportType: "WebSocket" },
            },
          ]));
        } else if (type === "ClientRequest" && text(head.messageId) === messageId) {
          // The gateway answers a request over the socket with a frame of the request's own
          // type and messageId, carrying the HTTP status (docs/provider.md §8.2).
          const status = Number(head.status);
          if (status >= 200 && status < 300) live(false);
          else {
            const err = record(payload);
            fail(new ProviderError(status || 0, text(err.errorCode) || `HTTP ${status}`));
          }
        } else if (type === "Error") {
          fail(new ProviderError(0, `the gateway refused: ${text(payload.errorCode)}`));
        }
      };
    });
  }

  /** Keeps the newest `wsc` a header carries (every message may carry one). */
  #track(head: Record<string, unknown>): void {
    const wsc = record(head.wsc);
    const token = text(wsc.token);
    if (token === "") return;
    const sequence = Number(wsc.sequence);
    const seq = Number.isFinite(sequence) ? sequence : 0;
    if (!this.#wsc || text(head.type) === "ConnectionDetails" || seq > this.#wsc.sequence) {
      if (token !== this.#wsc?.token) redactor.add(token);
      this.#wsc = { token, sequence: seq };
    }
  }

  /** One message on the live socket; anything malformed is ignored. */
  #message(socket: WebSocket, data: unknown): void {
    if (socket !== this.#socket) return;
    this.#heard(socket);
    try {
      const [head, payload] = frame(data);
      this.#track(head);
      const type = text(head.type);
      if (type === "Error") {
        logger().warning("the provider's event gateway reports {code}: {message}", {
          code: text(payload.errorCode),
          message: text(payload.message),
        });
        return;
      }
      if (type !== "ServerNotification") return;
      const uuid = text(payload.uuid);
      if (uuid !== "") {
        if (this.#seen.has(uuid)) return;
        this.#seen.add(uuid);
        if (this.#seen.size > REMEMBERED_EVENTS) {
          this.#seen.delete(this.#seen.values().next().value!);
        }
      }
      if (this.#holding) this.#holding.push(payload);
      else this.#deps.notified(payload);
    } catch (e) {
      logger().warning("an event from the provider was ignored: {error}", { error: e });
    }
  }

  /** Something came from the gateway: the heartbeat clock starts over. */
  #heard(socket: WebSocket): void {
    const { clock, timing } = this.#deps;
    this.#stopHeartbeat();
    this.#silenceTimer = clock.setTimeout(() => {
      this.#silenceTimer = undefined;
      if (socket !== this.#socket) return;
      try {
        socket.send(JSON.stringify([{ type: "Heartbeat", messageId: crypto.randomUUID() }]));
      } catch {
        // closing; onclose follows
      }
      this.#heartbeatTimer = clock.setTimeout(() => {
        this.#heartbeatTimer = undefined;
        if (socket === this.#socket) this.#dropped(socket, "no answer to a heartbeat");
      }, timing.heartbeatTimeoutMs);
    }, timing.heartbeatMs);
  }

  #stopHeartbeat(): void {
    const clock = this.#deps.clock;
    if (this.#silenceTimer !== undefined) clock.clearTimeout(this.#silenceTimer);
    if (this.#heartbeatTimer !== undefined) clock.clearTimeout(this.#heartbeatTimer);
    this.#silenceTimer = undefined;
    this.#heartbeatTimer = undefined;
  }

  /** The live socket is gone: reconnect after a back-off, with `wsc` while it may recover. */
  #dropped(socket: WebSocket, why: string): void {
    if (socket !== this.#socket) return;
    this.#closeSocket();
    this.#drops++;
    this.#droppedAt = this.#deps.clock.now();
    this.#lastError = `the event WebSocket ${why}`;
    this.#set("reconnecting");
    const ms = this.#deps.timing.reconnectBaseMs;
    logger().warning(
      "the provider's event WebSocket {why}; reconnecting in {ms} ms (docs/cloud-phones.md §6)",
      { why, ms },
    );
    this.#attempt = 1;
    this.#schedule(ms);
  }

  #closeSocket(): void {
    this.#stopHeartbeat();
    this.#holding = undefined;
    const socket = this.#socket;
    this.#socket = undefined;
    if (!socket) return;
    socket.onclose = null;
    socket.onmessage = null;
    socket.onerror = null;
    try {
      socket.close(1000);
    } catch {
      // already closing
    }
  }
}
