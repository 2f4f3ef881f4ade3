/**
 * One provider configuration at work: its HTTP transport, its rate-limit gate, its shared
 * OAuth session, and the RawCommand exchange (docs/channel-protocol.md §5) with retries:
 * for requests that may safely be repeated (GET, HEAD, PUT, DELETE, OPTIONS), 5xx answers and
 * timeouts / network errors are tried again with capped exponential back-off (a 503's
 * `Retry-After` is honoured). A POST or PATCH may have acted even when no answer came (a
 * RingOut must not ring twice), so it is tried again only where the provider surely did not
 * act: the connection was refused, or a 503 said when to come back. Other 4xx never; a 401
 * with an OAuth token renews the
 * token once and tries once more (at most one such renewal a minute, see
 * `OAuthSession.invalidate`). Every attempt passes the rate gate, so a penalty that
 * starts during a back-off stops the retry.
 */

import type { RawReply } from "../contract.ts";
import type { Clock } from "../clock.ts";
import type { ProviderAuth, ProviderConfig } from "../config/mod.ts";
import { basicAuthorization } from "../http/mod.ts";
import { log, redactor } from "../log/mod.ts";
import { PRODUCT, VERSION } from "../version.ts";
import { errorReply, type RawCommand, replyBody, routeOf } from "./_command.ts";
import { ProviderError, RATE_LIMITED, stopped } from "./_errors.ts";
import { RateGate, type RateGateStatus, retryAfterMs } from "./_rate_gate.ts";
import { OAuthSession, type OAuthSessionStatus } from "./_session.ts";
import {
  type FetchLike,
  type HttpAnswer,
  type HttpClientFactory,
  type HttpRequest,
  Transport,
} from "./_transport.ts";
import { errorText } from "../text.ts";
import { parseJson } from "./_json.ts";

/** Methods a repeated request cannot do harm with (RFC 9110 §9.2.2). */
const REPEATABLE = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);

/** How failed attempts are tried again. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  readonly attempts: number;
  /** Pause after the first failed attempt; doubled after each further one. */
  readonly baseDelayMs: number;
  /** Longest pause between attempts. */
  readonly maxDelayMs: number;
  /** A 503 asking for a longer pause than this is not retried but answered. */
  readonly maxRetryAfterMs: number;
}

/** 4 attempts, pauses of 1 s, 2 s and 4 s. */
export const DEFAULT_RETRY: RetryPolicy = {
  attempts: 4,
  baseDelayMs: 1000,
  maxDelayMs: 4000,
  maxRetryAfterMs: 30_000,
};

/** What an account needs from the service. */
export interface AccountDeps {
  readonly fetch: FetchLike;
  readonly clock: Clock;
  readonly createHttpClient: HttpClientFactory;
  readonly retry: RetryPolicy;
  readonly loginRetryMs: number;
  /** The gate to keep when only non-address settings changed; a new one otherwise. */
  readonly gate?: RateGate;
}

/** The status of one account; no token or secret. */
export interface AccountStatus {
  readonly id: ProviderConfig["id"];
  /** `https://host:port`. */
  readonly url: string;
  readonly auth: ProviderAuth;
  readonly session?: OAuthSessionStatus;
  readonly rateLimits: RateGateStatus;
  readonly commands: number;
  readonly failures: number;
}

const USER_AGENT = `${PRODUCT.replaceAll(" ", "")}/${VERSION}`;
const REVOKE_TIMEOUT_MS = 5000;

function oneLine(text: string, max = 300): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? flat.slice(0, max) + "…" : flat;
}

/** The provider's reason for a non-2xx answer: its error code and message when it gave one. */
function failureReason(answer: HttpAnswer): string {
  const body = parseJson(answer.text);
  const parts: string[] = [];
  if (body !== null && typeof body === "object") {
    const obj = body as Record<string, unknown>;
    const first = Array.isArray(obj.errors) ? obj.errors[0] as Record<string, unknown> : obj;
    for (const key of ["errorCode", "error", "message", "error_description"]) {
      const v = first?.[key] ?? obj[key];
      if (typeof v === "string" && v !== "" && !parts.includes(v)) parts.push(v);
    }
  }
  let reason = parts.length > 0 ? parts.join(": ") : `HTTP ${answer.status}`;
  if (parts.length === 0) {
    if (answer.statusText) reason += ` ${answer.statusText}`;
    const text = oneLine(answer.text, 200);
    if (text !== "" && !text.startsWith("<")) reason += `: ${text}`;
  }
  return redactor.redact(oneLine(reason));
}

/** A provider configuration's transport, gate and session. */
export class ProviderAccount {
  readonly config: ProviderConfig;
  readonly gate: RateGate;
  readonly #transport: Transport;
  readonly #session?: OAuthSession;
  readonly #clock: Clock;
  readonly #retry: RetryPolicy;
  /** Aborts everything in flight when the account closes. */
  readonly #stop = new AbortController();
  #commands = 0;
  #failures = 0;

  constructor(config: ProviderConfig, deps: AccountDeps) {
    this.config = config;
    this.#clock = deps.clock;
    this.#retry = deps.retry;
    this.gate = deps.gate ?? new RateGate(deps.clock);
    this.#transport = new Transport(config, deps.fetch, deps.clock, deps.createHttpClient);
    if (config.auth === "oauth") {
      this.#session = new OAuthSession(
        config,
        (request, options) => this.#exchange(request, options),
        deps.clock,
        deps.loginRetryMs,
      );
    }
  }

  /** `https://host:port` of this account. */
  get origin(): string {
    return this.#transport.origin;
  }

  /** Sends a validated RawCommand and builds its reply; never throws. */
  async send(command: RawCommand, maxReplyBytes: number): Promise<RawReply> {
    this.#commands++;
    const reply = await this.#send(command, maxReplyBytes);
    if (!reply.ok) this.#failures++;
    return reply;
  }

  async #send(command: RawCommand, maxReplyBytes: number): Promise<RawReply> {
    try {
      const answer = await this.#authorized({
        method: command.method,
        path: command.resource,
        headers: command.contentType ? { "Content-Type": command.contentType } : {},
        accept: command.accept,
        body: command.body,
        // Compact JSON may be smaller than the provider's text; a body this much larger
        // than the line limit cannot fit, so it is not read into memory.
        limitBytes: maxReplyBytes * 4 + 64 * 1024,
      });
      return this.#reply(answer);
    } catch (e) {
      if (e instanceof ProviderError) {
        log("provider").debug("{method} {resource} failed: {reason}", {
          method: command.method,
          resource: command.resource,
          reason: e.reason,
        });
        return errorReply(e.status, e.reason);
      }
      log("provider").error("RawCommand failed unexpectedly: {error}", { error: e });
      return errorReply(0, `InternalError: ${errorText(e)}`);
    }
  }

  /**
   * One JSON request of the server's own (cloud phones, docs/cloud-phones.md §3), through the
   * same session, gate and retries as a RawCommand. Resolves with any answer; rejects with a
   * {@link ProviderError} when there was none (or a penalty held it back).
   */
  async api(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ readonly status: number; readonly body: unknown; readonly reason: string }> {
    const answer = await this.#authorized({
      method,
      path,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      accept: "application/json",
      body: body === undefined ? undefined : JSON.stringify(body),
      limitBytes: 4 * 1024 * 1024,
    });
    const ok = answer.status >= 200 && answer.status < 300;
    return {
      status: answer.status,
      body: ok ? replyBody(answer.headers.get("content-type"), answer.text) : undefined,
      reason: ok ? "" : failureReason(answer),
    };
  }

  /** Through the gate with the session's token; a 401 renews the token once and tries again. */
  async #authorized(request: {
    readonly method: string;
    readonly path: string;
    readonly headers: Record<string, string>;
    readonly accept: string;
    readonly body?: string;
    readonly limitBytes: number;
  }): Promise<HttpAnswer> {
    this.gate.check(routeOf(request.method, request.path));
    let renewed = false;
    for (;;) {
      const token = this.#session ? await this.#session.accessToken() : undefined;
      const headers: Record<string, string> = {
        Accept: request.accept,
        "User-Agent": USER_AGENT,
        ...request.headers,
      };
      const authorization = token !== undefined ? `Bearer ${token}` : this.#staticAuth();
      if (authorization) headers.Authorization = authorization;
      const answer = await this.#exchange({
        method: request.method,
        path: request.path,
        headers,
        body: request.body,
        limitBytes: request.limitBytes,
      });
      if (
        answer.status === 401 && token !== undefined && !renewed &&
        this.#session?.invalidate(token)
      ) {
        renewed = true;
        continue;
      }
      log("provider").debug("{method} {resource} answered {status}", {
        method: request.method,
        resource: request.path,
        status: answer.status,
      });
      return answer;
    }
  }

  #reply(answer: HttpAnswer): RawReply {
    if (answer.tooLarge) return errorReply(answer.status, "ResponseTooLarge");
    if (answer.status >= 200 && answer.status < 300) {
      return {
        ok: true,
        status: answer.status,
        body: replyBody(answer.headers.get("content-type"), answer.text),
      };
    }
    let reason = failureReason(answer);
    if (answer.status === 429) {
      const after = retryAfterMs(answer.headers, this.#clock.now());
      reason = `${RATE_LIMITED}: ${reason}` +
        (after === undefined ? "" : ` (retry after ${Math.ceil(after / 1000)} s)`);
    }
    return errorReply(answer.status, reason);
  }

  /** The Authorization header for bearer, basic and none (docs/configuration.md §5). */
  #staticAuth(): string | undefined {
    const c = this.config;
    switch (c.auth) {
      case "bearer":
        if (c.token === "") {
          throw new ProviderError(0, "NotConfigured: providerAuth = bearer needs providerToken");
        }
        return `Bearer ${c.token}`;
      case "basic":
        if (c.username === "") {
          throw new ProviderError(
            0,
            "NotConfigured: providerAuth = basic needs providerUsername and providerPassword",
          );
        }
        return basicAuthorization(c.username, c.password);
      default:
        return undefined;
    }
  }

  /**
   * One request through the gate, tried again after 5xx answers, timeouts and network
   * errors (see {@link RetryPolicy}); the last answer or error is the outcome.
   */
  async #exchange(
    request: HttpRequest,
    options: { readonly attempts?: number; readonly signal?: AbortSignal } = {},
  ): Promise<HttpAnswer> {
    const signal = options.signal ?? this.#stop.signal;
    const attempts = Math.max(1, options.attempts ?? this.#retry.attempts);
    const route = routeOf(request.method, request.path);
    const repeatable = REPEATABLE.has(request.method.toUpperCase());
    for (let attempt = 1;; attempt++) {
      const ticket = await this.gate.admit(route, signal);
      let answer: HttpAnswer;
      try {
        answer = await this.#transport.send(request, signal);
      } catch (e) {
        ticket.release();
        if (!(e instanceof ProviderError) || !e.retryable || attempt >= attempts) throw e;
        if (!repeatable && !e.notSent) throw e;
        await this.#pause(this.#backoff(attempt), e.reason, attempt, attempts, signal);
        continue;
      }
      ticket.done(answer.status, answer.headers);
      if (answer.status < 500 || attempt >= attempts) return answer;
      let delay = this.#backoff(attempt);
      const after = answer.status === 503
        ? retryAfterMs(answer.headers, this.#clock.now())
        : undefined;
      if (!repeatable && after === undefined) return answer;
      if (after !== undefined && after > this.#retry.maxRetryAfterMs) return answer;
      if (after !== undefined) delay = after;
      await this.#pause(delay, `HTTP ${answer.status}`, attempt, attempts, signal);
    }
  }

  #backoff(attempt: number): number {
    return Math.min(this.#retry.baseDelayMs * 2 ** (attempt - 1), this.#retry.maxDelayMs);
  }

  #pause(
    ms: number,
    why: string,
    attempt: number,
    attempts: number,
    signal: AbortSignal,
  ): Promise<void> {
    log("provider").info("{why}; trying again in {ms} ms (attempt {next} of {attempts})", {
      why,
      ms,
      next: attempt + 1,
      attempts,
    });
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#clock.clearTimeout(timer);
        reject(signal.reason);
      };
      const timer = this.#clock.setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** The account for the status page. */
  status(): AccountStatus {
    return {
      id: this.config.id,
      url: this.origin,
      auth: this.config.auth,
      session: this.#session?.status(),
      rateLimits: this.gate.status(),
      commands: this.#commands,
      failures: this.#failures,
    };
  }

  /**
   * Ends the account: requests in flight end with `Stopped`, the OAuth session is revoked
   * (errors ignored), the HTTP client is closed.
   */
  async close(why: string): Promise<void> {
    if (this.#stop.signal.aborted) return;
    this.#stop.abort(stopped(why));
    const timeout = Math.min(REVOKE_TIMEOUT_MS, this.config.timeoutSeconds * 1000);
    await this.#session?.revoke(timeout);
    this.#transport.close();
  }
}
