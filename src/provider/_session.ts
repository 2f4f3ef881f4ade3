/**
 * The one shared OAuth session of a provider account (docs/provider.md §3): every channel and
 * every RawCommand uses the same access token; never a login per channel or per command.
 *
 * States:
 * ```
 * idle ──token()──▶ acquiring ──issued──▶ ready ──refresh due, or a 401 (invalidate)──▶ acquiring
 *                       │ ├──refused (4xx)──▶ refused ──token() after the cool-down──▶ acquiring
 *                       │ └──no answer / 5xx / 429──▶ failed ──token()──▶ acquiring
 * any ──revoke()──▶ closed
 * ```
 * - The grant is JWT when `providerJwt` is set, else the legacy password grant.
 * - Single flight: while a token request runs, every caller waits for that one request.
 * - Proactive refresh: a token is renewed once `expires_in` of its own answer (minus a margin of
 *   10 % of its lifetime, at most 60 s) has passed — at the next use, so an idle server sends
 *   nothing. The refresh token is single-use: each refresh stores the new one; a refused
 *   refresh falls back to a full login; a refresh that gets no answer keeps the current
 *   access token while it is still valid.
 * - A refused login is not repeated for a cool-down (default 60 s, the Auth penalty), so bad
 *   credentials cannot lock the account; its reason is logged in plain words.
 */

import type { Clock } from "../clock.ts";
import type { ProviderConfig } from "../config/mod.ts";
import { log, redactor } from "../log/mod.ts";
import { ProviderError, stopped } from "./_errors.ts";
import { basicAuthorization } from "../http/mod.ts";
import type { HttpAnswer, HttpRequest } from "./_transport.ts";
import { parseJson, record } from "./_json.ts";

/** Where tokens are obtained and revoked (docs/provider.md §3.1, §3.6). */
export const TOKEN_PATH = "/restapi/oauth/token";
/** See {@link TOKEN_PATH}. */
export const REVOKE_PATH = "/restapi/oauth/revoke";
const JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const MAX_MARGIN_MS = 60_000;
const DEFAULT_LIFETIME_S = 3600;

/** Session states, see the module comment. */
export type OAuthSessionState = "idle" | "acquiring" | "ready" | "refused" | "failed" | "closed";

/** How requests to the token endpoint are sent: through the rate gate, with retries. */
export type Exchange = (
  request: HttpRequest,
  options?: { readonly attempts?: number; readonly signal?: AbortSignal },
) => Promise<HttpAnswer>;

/** What the status page shows of the session; never a token or a secret. */
export interface OAuthSessionStatus {
  readonly state: OAuthSessionState;
  /** The grant used to log in: `jwt` or `password`. */
  readonly grant?: "jwt" | "password";
  readonly loggedInAt?: number;
  /** Epoch ms when the current access token expires. */
  readonly expiresAt?: number;
  readonly lastError?: string;
  /** Token requests with the JWT or password grant since the settings were applied. */
  readonly logins: number;
  readonly refreshes: number;
}

/** Least time between two token renewals caused by 401 answers. */
export const FORCED_RENEWAL_INTERVAL_MS = 60_000;

interface Token {
  readonly access: string;
  readonly refresh?: string;
  /** When the access token expires, and when to renew it. -Infinity: refused by the provider. */
  expiresAt: number;
  refreshAt: number;
  readonly refreshExpiresAt?: number;
}

type Grant = { readonly ok: true; readonly token: Token } | {
  readonly ok: false;
  readonly refusal: ProviderError;
};

/** A string member of a JSON object, if it is one. */
function field(body: unknown, key: string): string | undefined {
  const v = record(body)[key];
  return typeof v === "string" ? v : undefined;
}

/** The RingCentral error code of an OAuth answer (`errors[0].errorCode` or `errorCode`). */
function errorCode(body: unknown): string | undefined {
  const errors = record(body).errors;
  if (Array.isArray(errors)) {
    for (const e of errors) {
      const code = field(e, "errorCode");
      if (code) return code;
    }
  }
  return field(body, "errorCode");
}

/**
 * A refused login in plain words with what to do (docs/provider.md §3.3, §5); the provider's
 * own code and description follow in brackets.
 */
export function explainRefusal(
  grant: "jwt" | "password" | "refresh",
  status: number,
  text: string,
): string {
  const body = parseJson(text);
  const error = field(body, "error") ?? "";
  const code = errorCode(body) ?? "";
  const said = [code, error, field(body, "error_description") ?? field(body, "message")]
    .filter((s) => s).join(" ");
  let words: string;
  if (code === "OAU-168") {
    words = "the password grant is refused because the account requires multi-factor " +
      "authentication; create a JWT credential in the RingCentral Developer Console and set " +
      "providerJwt";
  } else if (error === "unauthorized_client" && grant === "password") {
    words = "the app is not allowed to use the password grant; create a JWT credential and " +
      "set providerJwt";
  } else if (error === "unauthorized_client") {
    words = "the app is not allowed to use the JWT grant; enable the JWT auth flow for the " +
      "app in the RingCentral Developer Console";
  } else if (error === "invalid_client" || code === "OAU-146" || status === 401) {
    words = "the client id or secret was refused; check providerClientId and " +
      "providerClientSecret";
  } else if (code === "OAU-147") {
    words = "the user is locked out after failed logins; an administrator must unlock it";
  } else if (grant === "jwt") {
    words = "the JWT credential was refused (expired, revoked or not allowed for this app); " +
      "create a new one and set providerJwt";
  } else if (grant === "password") {
    words = "the username or password was refused; check providerUsername and " +
      "providerPassword, or better, use a JWT credential (providerJwt)";
  } else {
    words = "the refresh token was refused";
  }
  return said ? `${words} (provider said: ${said})` : `${words} (HTTP ${status})`;
}

/** The shared OAuth session of one provider configuration. */
export class OAuthSession {
  readonly #config: ProviderConfig;
  readonly #exchange: Exchange;
  readonly #clock: Clock;
  /** When a 401 last made the session renew its token. */
  #forcedRenewalAt = -Infinity;
  readonly #loginRetryMs: number;
  #token?: Token;
  #pending?: Promise<string>;
  #state: OAuthSessionState = "idle";
  #grant?: "jwt" | "password";
  #refusal?: { readonly error: ProviderError; readonly until: number };
  #lastError?: string;
  #loggedInAt?: number;
  #logins = 0;
  #refreshes = 0;

  constructor(
    config: ProviderConfig,
    exchange: Exchange,
    clock: Clock,
    loginRetryMs: number,
  ) {
    this.#config = config;
    this.#exchange = exchange;
    this.#clock = clock;
    this.#loginRetryMs = loginRetryMs;
  }

  /**
   * A valid access token: the current one, or one obtained by the single token request in
   * flight. Throws `ProviderError` (`LoginRefused`, `NotConfigured`, `RateLimited`, ...).
   */
  accessToken(): Promise<string> {
    if (this.#state === "closed") return Promise.reject(stopped("the session was closed"));
    if (this.#pending) return this.#pending;
    const now = this.#clock.now();
    if (this.#token && now < this.#token.refreshAt) return Promise.resolve(this.#token.access);
    if (this.#refusal && now < this.#refusal.until) return Promise.reject(this.#refusal.error);
    this.#state = "acquiring";
    this.#pending = this.#acquire().finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  /**
   * The provider refused `access` (401): the next `accessToken()` renews it, and the caller
   * may try once more (true). A token that was already replaced or invalidated is left alone,
   * so many refused requests cause one renewal. RingCentral advises against refreshing on
   * 401s (docs/provider.md §3.4), so a provider that refuses even fresh tokens gets at most one
   * such renewal per {@link FORCED_RENEWAL_INTERVAL_MS} (false: answer the 401 as it is).
   */
  invalidate(access: string): boolean {
    const token = this.#token;
    if (token?.access !== access || token.expiresAt === -Infinity) return true;
    const now = this.#clock.now();
    if (now - this.#forcedRenewalAt < FORCED_RENEWAL_INTERVAL_MS) {
      log("provider").warning(
        "the provider refused the access token again within a minute of renewing it; " +
          "answering the 401 instead of renewing (check the app's permissions)",
      );
      return false;
    }
    this.#forcedRenewalAt = now;
    log("provider").info("the provider refused the access token; renewing it once");
    token.expiresAt = -Infinity;
    token.refreshAt = -Infinity;
    return true;
  }

  /**
   * Ends the session: waits for a token request in flight, then revokes the token (errors
   * ignored, no retry; docs/provider.md §3.6) and forgets it.
   */
  async revoke(timeoutMs: number): Promise<void> {
    await this.#pending?.catch(() => {});
    this.#state = "closed";
    const token = this.#token;
    this.#token = undefined;
    if (!token) return;
    try {
      const answer = await this.#exchange({
        method: "POST",
        path: REVOKE_PATH,
        headers: this.#clientHeaders(),
        body: new URLSearchParams({ token: token.access }).toString(),
        limitBytes: 64 * 1024,
        timeoutMs,
      }, { attempts: 1, signal: new AbortController().signal });
      if (answer.status >= 200 && answer.status < 300) {
        log("provider").info("revoked the provider session");
      } else {
        log("provider").info("the provider answered {status} to the revoke; ignored", {
          status: answer.status,
        });
      }
    } catch (e) {
      log("provider").info("could not revoke the provider session ({reason}); ignored", {
        reason: e instanceof ProviderError ? e.reason : String(e),
      });
    } finally {
      this.#forget(token);
    }
  }

  /** The session for the status page. */
  status(): OAuthSessionStatus {
    return {
      state: this.#state,
      grant: this.#grant,
      loggedInAt: this.#loggedInAt,
      expiresAt: this.#token && Number.isFinite(this.#token.expiresAt)
        ? this.#token.expiresAt
        : undefined,
      lastError: this.#lastError,
      logins: this.#logins,
      refreshes: this.#refreshes,
    };
  }

  async #acquire(): Promise<string> {
    try {
      const access = await this.#renew();
      this.#state = "ready";
      return access;
    } catch (e) {
      if (this.#state === "acquiring") this.#state = "failed";
      this.#lastError = e instanceof ProviderError ? e.reason : String(e);
      throw e;
    }
  }

  async #renew(): Promise<string> {
    const current = this.#token;
    const now = this.#clock.now();
    if (current?.refresh && (current.refreshExpiresAt ?? Infinity) > now) {
      let result: Grant;
      try {
        result = await this.#request("refresh", {
          grant_type: "refresh_token",
          refresh_token: current.refresh,
        });
      } catch (e) {
        if (this.#clock.now() < current.expiresAt) {
          this.#lastError = e instanceof ProviderError ? e.reason : String(e);
          log("provider").warning(
            "could not refresh the access token ({reason}); using the current one until it expires",
            { reason: this.#lastError },
          );
          return current.access;
        }
        throw e;
      }
      if (result.ok) {
        this.#refreshes++;
        this.#install(result.token, current);
        log("provider").debug("refreshed the access token; it expires at {at}", {
          at: new Date(result.token.expiresAt).toISOString(),
        });
        return result.token.access;
      }
      log("provider").info("the refresh token was refused ({reason}); logging in again", {
        reason: result.refusal.reason,
      });
      this.#token = undefined;
      this.#forget(current);
    }
    return await this.#login(current);
  }

  async #login(previous: Token | undefined): Promise<string> {
    const c = this.#config;
    if (c.clientId === "" || c.clientSecret === "") {
      throw new ProviderError(
        0,
        "NotConfigured: OAuth needs providerClientId and providerClientSecret",
      );
    }
    const grant = c.jwt !== "" ? "jwt" : c.username !== "" && c.password !== "" ? "password" : "";
    if (grant === "") {
      throw new ProviderError(
        0,
        "NotConfigured: OAuth needs providerJwt (or providerUsername and providerPassword " +
          "for the legacy password grant)",
      );
    }
    const result = await this.#request(
      grant,
      grant === "jwt"
        ? { grant_type: JWT_GRANT, assertion: c.jwt }
        : { grant_type: "password", username: c.username, password: c.password },
    );
    if (!result.ok) {
      this.#state = "refused";
      this.#refusal = { error: result.refusal, until: this.#clock.now() + this.#loginRetryMs };
      log("provider").error("login to {origin} refused: {reason}", {
        origin: `${c.hostname}:${c.port}`,
        reason: result.refusal.reason.replace(/^LoginRefused: /, ""),
      });
      throw result.refusal;
    }
    this.#refusal = undefined;
    this.#grant = grant;
    this.#logins++;
    this.#loggedInAt = this.#clock.now();
    this.#install(result.token, previous);
    log("provider").info(
      "logged in to {host} with the {grant} grant; the access token expires at {at}",
      {
        host: c.hostname,
        grant: grant === "jwt" ? "JWT" : "password",
        at: new Date(result.token.expiresAt).toISOString(),
      },
    );
    return result.token.access;
  }

  /** One token request; a refusal (400, 401, 403) is a result, anything else throws. */
  async #request(
    grant: "jwt" | "password" | "refresh",
    form: Record<string, string>,
  ): Promise<Grant> {
    const issuedAt = this.#clock.now();
    const answer = await this.#exchange({
      method: "POST",
      path: TOKEN_PATH,
      headers: this.#clientHeaders(),
      body: new URLSearchParams(form).toString(),
      limitBytes: 64 * 1024,
    });
    if (answer.status === 400 || answer.status === 401 || answer.status === 403) {
      return {
        ok: false,
        refusal: new ProviderError(
          answer.status,
          `LoginRefused: ${explainRefusal(grant, answer.status, answer.text)}`,
        ),
      };
    }
    if (answer.status === 429) {
      throw new ProviderError(429, "RateLimited: too many logins (the token endpoint said 429)");
    }
    if (answer.status < 200 || answer.status >= 300) {
      throw new ProviderError(
        answer.status,
        `LoginFailed: the token endpoint answered HTTP ${answer.status}`,
      );
    }
    const body = parseJson(answer.text);
    const access = field(body, "access_token");
    if (!access) {
      throw new ProviderError(
        answer.status,
        "LoginFailed: the token endpoint's answer holds no access_token",
      );
    }
    const refresh = field(body, "refresh_token");
    redactor.add(access);
    if (refresh) redactor.add(refresh);
    const record = body as Record<string, unknown>;
    let lifetimeS = Number(record.expires_in);
    if (!Number.isFinite(lifetimeS) || lifetimeS <= 0) {
      log("provider").warning(
        "the token endpoint gave no usable expires_in; assuming {s} s",
        { s: DEFAULT_LIFETIME_S },
      );
      lifetimeS = DEFAULT_LIFETIME_S;
    }
    const refreshLifetimeS = Number(record.refresh_token_expires_in);
    const lifetimeMs = lifetimeS * 1000;
    const expiresAt = issuedAt + lifetimeMs;
    return {
      ok: true,
      token: {
        access,
        refresh,
        expiresAt,
        refreshAt: expiresAt - Math.min(MAX_MARGIN_MS, lifetimeMs / 10),
        refreshExpiresAt: Number.isFinite(refreshLifetimeS) && refreshLifetimeS > 0
          ? issuedAt + refreshLifetimeS * 1000
          : undefined,
      },
    };
  }

  #install(token: Token, previous: Token | undefined): void {
    this.#token = token;
    this.#lastError = undefined;
    if (previous) this.#forget(previous, token);
  }

  /** Drops a token's secrets from the redactor unless the new token reuses them. */
  #forget(token: Token, keep?: Token): void {
    if (token.access !== keep?.access) redactor.remove(token.access);
    if (token.refresh && token.refresh !== keep?.refresh) redactor.remove(token.refresh);
  }

  #clientHeaders(): Record<string, string> {
    return {
      Authorization: basicAuthorization(this.#config.clientId, this.#config.clientSecret),
      "Content-Type": "application/x-www-form-urlencoded",
      Accept: "application/json",
    };
  }
}
