/**
 * A fake RingCentral-like provider for tests (docs/provider.md §3, §4, §6, §9.3): a real HTTP or
 * HTTPS server on 127.0.0.1 (port 0) that records every request it gets. It has
 * - the token endpoint with the JWT, password and refresh-token grants (Basic client
 *   authentication; single-use refresh tokens; a refresh ends the old access token at once;
 *   expiry after `expires_in` on the injected clock) and the revoke endpoint;
 * - `X-Rate-Limit-*` headers per group and the 429 penalty, where every request sent in the
 *   penalty window restarts it (the "429 trap"), with `inPenalty` marked on such requests;
 * - scripted answers (`failNext`: 5xx, 429 with or without group headers, anything), held
 *   answers (`hold`: slow until released) and delayed answers (`delay`, real milliseconds);
 * - under `/restapi` only the operations RingCentral documents for what the server calls
 *   (tests/fakes/ringcentral_operations.ts): anything else is `404 CMN-120 Invalid URI`, a
 *   missing required field `400 CMN-101`, an operation whose app permission the token's scope
 *   lacks `403 CMN-401`; each counts in its documented rate group (docs/provider.md §13);
 * - for custom providers `/echo/*` (reflects the request), `/text` (text/plain) and
 *   `/big?bytes=N&type=json|text`;
 * - telephony (`telephony`, tests/fakes/fake_telephony.ts): extension and device lists,
 *   call-out, RingOut per extension, active calls, sessions and party actions.
 */

import { type FakeSession, FakeTelephony } from "./fake_telephony.ts";
import {
  ALL_PERMISSIONS,
  bodyFault,
  EVENT_FILTERS,
  type Operation,
  operationOf,
} from "./ringcentral_operations.ts";

/** A group's limit: requests per window, and the penalty after exceeding it. */
export interface GroupLimit {
  readonly limit: number;
  readonly windowSeconds: number;
  readonly penaltySeconds: number;
}

/** How the fake behaves; every field has a default. */
export interface FakeProviderOptions {
  /** PEM certificate and key: serve HTTPS. Default: plain HTTP. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** Time for token expiry and rate-limit windows. Default: Date.now. */
  readonly clock?: { now(): number };
  readonly clientId?: string;
  readonly clientSecret?: string;
  /** The JWT credential the fake accepts. */
  readonly jwt?: string;
  readonly jwtGrant?: "allowed" | "unauthorized_client";
  /** username → password for the password grant. */
  readonly users?: Readonly<Record<string, string>>;
  readonly passwordGrant?: "allowed" | "unauthorized_client" | "mfa_required";
  readonly accessTokenSeconds?: number;
  readonly refreshTokenSeconds?: number;
  /** Per group; missing groups use RingCentral's defaults (docs/provider.md §4). */
  readonly groups?: Readonly<Record<string, GroupLimit>>;
  /** The app permissions of issued tokens. Default: every permission the fixture names. */
  readonly scope?: readonly string[];
}

/** One request as the fake received it. */
export interface RecordedRequest {
  /** 1, 2, 3, … in order of arrival. */
  readonly seq: number;
  /** Arrival time on the fake's clock. */
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly search: string;
  readonly headers: Headers;
  readonly body: string;
  /** The rate-limit group the fake counted it in, if any. */
  readonly group?: string;
  /** The documented operation it matched (tests/fixtures/ringcentral/operations.json). */
  readonly operation?: string;
  /** It arrived while its group (or every group) was in a 429 penalty. */
  readonly inPenalty: boolean;
  /** The status the fake answered (undefined while held). */
  readonly status?: number;
}

/** A scripted answer: a status, or a status with headers and body. */
export type ScriptedAnswer = number | {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
};

interface Session {
  readonly id: number;
  access: string;
  accessExpiresAt: number;
  refresh: string;
  refreshExpiresAt: number;
  refreshUsed: boolean;
  ended: boolean;
  readonly scope: readonly string[];
}

/** A WebSocket session of the fake gateway. */
interface WsSession {
  /** The `wsc` token. */
  readonly token: string;
  /** The OAuth session whose WebSocket token opened it. */
  readonly oauth: number;
  /** Messages sent so far (each carries the next number in its `wsc`). */
  sequence: number;
  /** The subscription's event filters, when it has one. */
  filters?: string[];
  socket?: WebSocket;
  /** When its socket closed; it can be recovered for `recoveryTimeoutSeconds`. */
  detachedAt?: number;
  /** The last notifications with their sequence numbers. */
  buffer: { seq: number; text: string }[];
  /** The sequence number of the last message the socket took. */
  lastSent: number;
}

interface GroupState {
  windowStart: number;
  count: number;
  penaltyUntil: number;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer";

/** RingCentral's default user-level limits (docs/provider.md §4). */
export const RINGCENTRAL_GROUPS: Readonly<Record<string, GroupLimit>> = {
  Light: { limit: 50, windowSeconds: 60, penaltySeconds: 60 },
  Medium: { limit: 40, windowSeconds: 60, penaltySeconds: 60 },
  Heavy: { limit: 10, windowSeconds: 60, penaltySeconds: 60 },
  Auth: { limit: 5, windowSeconds: 60, penaltySeconds: 60 },
};

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

function rcError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return json(
    status,
    { errorCode: code, message, errors: [{ errorCode: code, message }] },
    headers,
  );
}

/** RingCentral's words for a token without the permission an operation needs. */
function missing(permission: string): string {
  return `In order to call this API endpoint, application needs to have [${permission}] permission`;
}

/** A subscribed filter against a documented one: `{accountId}` is `~` or digits. */
function filterMatches(documented: string, filter: string): boolean {
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const [before, after = ""] = documented.split("{accountId}");
  return new RegExp(`^${escape(before)}(~|\\d+)${escape(after)}$`).test(filter);
}

function random(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/** The fake provider; start it with {@link FakeProvider.start}, stop it with `close()`. */
export class FakeProvider {
  /** Every request received, in order. */
  readonly requests: RecordedRequest[] = [];
  /** `https://127.0.0.1:<port>` or `http://…`. */
  readonly url: string;
  readonly port: number;
  readonly #server: Deno.HttpServer<Deno.NetAddr>;
  readonly #options: Required<Omit<FakeProviderOptions, "tls">>;
  readonly #sessions: Session[] = [];
  readonly #groups = new Map<string, GroupState>();
  #globalPenaltyUntil = 0;
  #globalPenaltyMs = 0;
  readonly #scripted = new Map<string, ScriptedAnswer[]>();
  readonly #held = new Map<string, number>();
  readonly #delays = new Map<string, number>();
  readonly #releases = new Set<() => void>();
  readonly #listeners = new Set<() => void>();
  /** The account's extensions, devices and calls (docs/cloud-phones.md). */
  readonly telephony = new FakeTelephony();

  private constructor(options: FakeProviderOptions) {
    this.#options = {
      clock: options.clock ?? { now: () => Date.now() },
      clientId: options.clientId ?? "test-client-id",
      clientSecret: options.clientSecret ?? "test-client-secret",
      jwt: options.jwt ?? "test-jwt-credential",
      jwtGrant: options.jwtGrant ?? "allowed",
      users: options.users ?? { "+15550100": "user-password" },
      passwordGrant: options.passwordGrant ?? "allowed",
      accessTokenSeconds: options.accessTokenSeconds ?? 3600,
      refreshTokenSeconds: options.refreshTokenSeconds ?? 604800,
      groups: { ...RINGCENTRAL_GROUPS, ...options.groups },
      scope: options.scope ?? ALL_PERMISSIONS,
    };
    const serveOptions = {
      hostname: "127.0.0.1",
      port: 0,
      onListen() {},
      ...(options.tls ? { cert: options.tls.cert, key: options.tls.key } : {}),
    };
    this.#server = Deno.serve(serveOptions, (req) => this.#handle(req));
    this.port = this.#server.addr.port;
    this.telephony.onChange = (session) => this.#publish(session);
    this.url = `${options.tls ? "https" : "http"}://127.0.0.1:${this.port}`;
    this.telephony.origin = this.url;
  }

  /** Starts a fake on 127.0.0.1 with a free port. */
  static start(options: FakeProviderOptions = {}): Promise<FakeProvider> {
    return Promise.resolve(new FakeProvider(options));
  }

  /** The client id, secret, JWT and a user the fake accepts. */
  get credentials() {
    const [username, password] = Object.entries(this.#options.users)[0] ?? ["", ""];
    return {
      clientId: this.#options.clientId,
      clientSecret: this.#options.clientSecret,
      jwt: this.#options.jwt,
      username,
      password,
    };
  }

  /** Token requests, optionally of one grant (`jwt`, `password`, `refresh_token`). */
  tokenRequests(grant?: "jwt" | "password" | "refresh_token"): RecordedRequest[] {
    return this.requests.filter((r) => {
      if (r.path !== "/restapi/oauth/token") return false;
      if (grant === undefined) return true;
      const type = new URLSearchParams(r.body).get("grant_type");
      return grant === "jwt" ? type === JWT_GRANT : type === grant;
    });
  }

  /** Logins: token requests with the JWT or password grant. */
  logins(): RecordedRequest[] {
    return [...this.tokenRequests("jwt"), ...this.tokenRequests("password")].sort((a, b) =>
      a.seq - b.seq
    );
  }

  /** Requests to the revoke endpoint. */
  revokeRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.path === "/restapi/oauth/revoke");
  }

  /** Requests to `path` (exact pathname). */
  requestsTo(path: string): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path);
  }

  /** Requests that arrived inside a penalty window. */
  requestsInPenalty(): RecordedRequest[] {
    return this.requests.filter((r) => r.inPenalty);
  }

  /** Access tokens issued so far, oldest first. */
  get accessTokens(): string[] {
    return this.#sessions.map((s) => s.access);
  }

  /** The next answers to `path` are these, in order, before anything else is checked. */
  failNext(path: string, ...answers: ScriptedAnswer[]): void {
    this.#scripted.set(path, [...(this.#scripted.get(path) ?? []), ...answers]);
  }

  /** The next `count` requests to `path` get no answer until `releaseHeld()` or `close()`. */
  hold(path: string, count = 1): void {
    this.#held.set(path, (this.#held.get(path) ?? 0) + count);
  }

  /** Answers every held request (normally). */
  releaseHeld(): void {
    for (const release of this.#releases) release();
    this.#releases.clear();
  }

  /** Every answer to `path` comes `ms` real milliseconds late. */
  delay(path: string, ms: number): void {
    this.#delays.set(path, ms);
  }

  /** Ends every session, as a password change or an administrator would. */
  endSessions(): void {
    for (const s of this.#sessions) s.ended = true;
  }

  /** Resolves once `predicate` holds for the recorded requests. */
  async waitFor(predicate: (requests: RecordedRequest[]) => boolean): Promise<void> {
    while (!predicate(this.requests)) {
      await new Promise<void>((resolve) => this.#listeners.add(resolve));
    }
  }

  /** Answers held requests and stops the server. */
  async close(): Promise<void> {
    this.releaseHeld();
    for (const socket of this.#sockets.keys()) socket.close();
    this.#wsSessions.clear();
    await this.#server.shutdown();
  }

  #notify(): void {
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const l of listeners) l();
  }

  /**
   * WebSocket sessions of the gateway by their `wsc` token (docs/provider.md §8.2): a session
   * outlives its socket for `recoveryTimeoutSeconds`, keeping its subscription and the last
   * `recoveryBufferSize` notifications, so a client presenting the token on a new socket
   * (of the same OAuth session) gets them replayed.
   */
  readonly #wsSessions = new Map<string, WsSession>();
  /** Sockets open now and their sessions. */
  readonly #sockets = new Map<WebSocket, WsSession>();
  /** WebSocket tokens not used yet, with the OAuth session that asked for each. */
  readonly #wsTokens = new Map<string, number>();
  #sequence = 0;
  /** How long a dropped session can be recovered. */
  recoveryTimeoutSeconds = 180;
  /** Notifications kept per session for a recovery. */
  recoveryBufferSize = 100;
  /**
   * A recovery also replays this many notifications the client already got before the drop,
   * as a gateway that cannot know what arrived may do: the client must drop them.
   */
  recoveryOverlap = 0;
  /** Every recovery fails, as after the recovery window (`WSG-1004`). */
  recoveryRefused = false;
  /** Every reconnection with a `wsc` token, and how it ended. */
  readonly recoveries: ("Successful" | "Failed")[] = [];
  /** Heartbeat requests the gateway answered. */
  heartbeats = 0;

  /** Every `wsc` token the gateway handed out (tests check they never reach a log). */
  readonly wscTokens: string[] = [];

  /** Gateway sockets that have a subscription now. */
  get subscribedSockets(): number {
    return [...this.#sockets.values()].filter((s) => s.filters !== undefined).length;
  }

  /** The WebSocket gateway (docs/provider.md §8.2): ConnectionDetails, one subscription. */
  #gateway(req: Request, url: URL): Response {
    const token = url.searchParams.get("access_token") ?? "";
    const oauth = this.#wsTokens.get(token);
    if (oauth === undefined) return new Response("bad token", { status: 401 });
    this.#wsTokens.delete(token);
    const wsc = url.searchParams.get("wsc");
    const { socket, response } = Deno.upgradeWebSocket(req);
    const now = this.#options.clock.now();
    let session: WsSession | undefined;
    let recovery: "Successful" | "Failed" | undefined;
    let recoveryErrorCode: string | undefined;
    if (wsc !== null) {
      const old = this.#wsSessions.get(wsc);
      if (!old || old.socket || old.filters === undefined) recoveryErrorCode = "WSG-1005";
      else if (old.oauth !== oauth) recoveryErrorCode = "WSG-1003";
      else if (
        this.recoveryRefused ||
        now - (old.detachedAt ?? now) > this.recoveryTimeoutSeconds * 1000
      ) {
        recoveryErrorCode = "WSG-1004";
      }
      if (old && recoveryErrorCode === undefined) session = old;
      recovery = recoveryErrorCode ? "Failed" : "Successful";
      this.recoveries.push(recovery);
    }
    const recovered = session !== undefined;
    session ??= {
      token: random(),
      oauth,
      sequence: 0,
      buffer: [],
      lastSent: 0,
    };
    const s = session;
    if (!recovered) this.wscTokens.push(s.token);
    this.#wsSessions.set(s.token, s);
    socket.onopen = () => {
      const missed = recovered ? this.#missed(s) : [];
      s.socket = socket;
      s.detachedAt = undefined;
      this.#sockets.set(socket, s);
      this.#send(s, { type: "ConnectionDetails" }, {
        creationTime: new Date(now).toISOString(),
        ...(recovery ? { recoveryState: recovery } : {}),
        ...(recoveryErrorCode ? { recoveryErrorCode } : {}),
        recoveryBufferSize: this.recoveryBufferSize,
        recoveryTimeout: this.recoveryTimeoutSeconds,
        idleTimeout: 1800,
        absoluteTimeout: 86400,
        maxActiveRequests: 10,
      });
      for (const m of missed) {
        socket.send(m.text);
        s.lastSent = Math.max(s.lastSent, m.seq);
      }
      this.#notify();
    };
    socket.onclose = () => {
      this.#sockets.delete(socket);
      if (s.socket === socket) {
        s.socket = undefined;
        s.detachedAt = this.#options.clock.now();
      }
      this.#notify();
    };
    socket.onmessage = (m) => {
      let msg: unknown;
      try {
        msg = JSON.parse(String(m.data));
      } catch {
        return;
      }
      const [head, body] = Array.isArray(msg) ? msg : [];
      if (head?.type === "ClientRequest") {
        // REST over the WebSocket: the reply is a frame of the same type and messageId with
        // the status and headers (docs/provider.md §8.2).
        const [status, reply] = this.#wsRequest(s, head, body);
        this.#send(s, {
          type: "ClientRequest",
          messageId: head.messageId,
          status,
          headers: { "Content-Type": "application/json;charset=UTF-8" },
        }, reply);
        this.#notify();
      } else if (head?.type === "Heartbeat") {
        this.heartbeats++;
        if (!this.silent) this.#send(s, { type: "Heartbeat", messageId: head.messageId });
        this.#notify();
      }
    };
    return response;
  }

  /** One REST request over the gateway: only the documented subscription is served. */
  #wsRequest(s: WsSession, head: Record<string, unknown>, body: unknown): [number, unknown] {
    const error = (status: number, errorCode: string, message: string): [number, unknown] => [
      status,
      { errorCode, message, errors: [{ errorCode, message }] },
    ];
    const found = operationOf(String(head.method ?? ""), String(head.path ?? ""));
    if (found?.op.name !== "createSubscription") return error(404, "CMN-120", "Invalid URI");
    const fault = bodyFault(found.op, body);
    if (fault) return error(400, "CMN-101", `Parameter [${fault}] value is invalid`);
    const request = body as { eventFilters: unknown; deliveryMode: { transportType?: unknown } };
    const filters = Array.isArray(request.eventFilters) ? request.eventFilters.map(String) : [];
    if (request.deliveryMode?.transportType !== "WebSocket" || filters.length === 0) {
      return error(400, "SUB-406", "Invalid subscription request");
    }
    const scope = this.#sessions.find((o) => o.id === s.oauth)?.scope ?? [];
    for (const filter of filters) {
      const wanted = EVENT_FILTERS.find((f) => filterMatches(f.filter, filter));
      if (!wanted) return error(400, "SUB-406", `Event filter ${filter} is not supported`);
      if (!scope.includes(wanted.appPermission)) {
        return error(403, "CMN-401", missing(wanted.appPermission));
      }
    }
    s.filters = filters;
    s.buffer = [];
    return [200, {
      id: random(),
      status: "Active",
      eventFilters: filters,
      deliveryMode: { transportType: "WebSocket" },
    }];
  }

  /** The gateway answers no heartbeat and sends nothing (a half-open connection). */
  silent = false;

  /** Buffered notifications a recovered session has not got (and `recoveryOverlap` more). */
  #missed(s: WsSession): { seq: number; text: string }[] {
    const from = s.lastSent - this.recoveryOverlap;
    return s.buffer.filter((m) => m.seq > from);
  }

  /** Sends one message of a session, with the session's `wsc` in its header. */
  #send(s: WsSession, head: Record<string, unknown>, body?: unknown): string {
    const seq = ++s.sequence;
    const text = JSON.stringify([
      { ...head, wsc: { token: s.token, sequence: seq } },
      ...(body === undefined ? [] : [body]),
    ]);
    if (s.socket?.readyState === WebSocket.OPEN && !this.silent) {
      s.socket.send(text);
      s.lastSent = seq;
    }
    return text;
  }

  /** Closes every gateway socket, as a network fault would; sessions stay recoverable. */
  dropWebSockets(): void {
    for (const socket of this.#sockets.keys()) socket.close(1011, "fake drop");
  }

  /** Dropped sessions can no longer be recovered (their recovery window passed). */
  expireRecovery(): void {
    for (const [token, s] of this.#wsSessions) {
      if (!s.socket) this.#wsSessions.delete(token);
    }
  }

  #publish(session: FakeSession): void {
    const body = {
      sequence: ++this.#sequence,
      sessionId: `x-${session.id}`,
      telephonySessionId: session.id,
      serverId: "fake",
      eventTime: new Date(this.#options.clock.now()).toISOString(),
      parties: session.parties.filter((p) => p.extensionId).map((p) => ({
        accountId: "1",
        extensionId: p.extensionId,
        id: p.id,
        direction: p.direction,
        from: p.from,
        to: p.to,
        status: { ...p.status },
        missedCall: false,
      })),
    };
    const event = {
      uuid: random(),
      event: "/restapi/v1.0/account/1/telephony/sessions",
      timestamp: body.eventTime,
      subscriptionId: "fake",
      ownerId: "1",
      body,
    };
    if (this.#heldEvents) {
      this.#heldEvents.push(event);
      return;
    }
    this.#deliver(event);
  }

  /** Notifications held back by {@link holdNotifications}. */
  #heldEvents?: unknown[];

  /** Notifications are kept back until {@link releaseNotifications}. */
  holdNotifications(): void {
    this.#heldEvents ??= [];
  }

  /**
   * Sends the notifications kept back, newest first: the platform does not promise to deliver
   * them in `sequence` order (docs/provider.md §13.3).
   */
  releaseNotifications(): void {
    const events = this.#heldEvents ?? [];
    this.#heldEvents = undefined;
    for (const event of events.reverse()) this.#deliver(event);
  }

  #deliver(event: unknown): void {
    for (const s of this.#wsSessions.values()) {
      if (s.filters === undefined) continue;
      const text = this.#send(s, { type: "ServerNotification", messageId: random() }, event);
      s.buffer.push({ seq: s.sequence, text });
      if (s.buffer.length > this.recoveryBufferSize) s.buffer.shift();
    }
  }

  async #handle(req: Request): Promise<Response> {
    const url = new URL(req.url);
    if (url.pathname === "/ws" && req.headers.get("upgrade")?.toLowerCase() === "websocket") {
      return this.#gateway(req, url);
    }
    const record: Mutable<RecordedRequest> = {
      seq: this.requests.length + 1,
      at: this.#options.clock.now(),
      method: req.method,
      path: url.pathname,
      search: url.search,
      headers: req.headers,
      body: await req.text(),
      inPenalty: false,
      operation: operationOf(req.method, url.pathname)?.op.name,
    };
    this.requests.push(record);
    this.#notify();

    const held = this.#held.get(url.pathname) ?? 0;
    if (held > 0) {
      this.#held.set(url.pathname, held - 1);
      await new Promise<void>((resolve) => this.#releases.add(resolve));
    }
    const delay = this.#delays.get(url.pathname);
    if (delay) await new Promise((resolve) => setTimeout(resolve, delay));

    const response = this.#answer(record, url);
    record.status = response.status;
    this.#notify();
    return response;
  }

  #answer(record: Mutable<RecordedRequest>, url: URL): Response {
    const now = this.#options.clock.now();
    const scripted = this.#scripted.get(url.pathname)?.shift();
    if (this.#globalPenaltyUntil > now) {
      record.inPenalty = true;
      this.#globalPenaltyUntil = now + this.#globalPenaltyMs;
      return json(429, { errorCode: "CMN-310", message: "Global request rate exceeded" }, {
        "Retry-After": String(this.#globalPenaltyMs / 1000),
      });
    }
    if (scripted !== undefined) return this.#scriptedAnswer(scripted, now);

    const group = this.#groupOf(record.method, url.pathname);
    let limitHeaders: Record<string, string> = {};
    if (group) {
      record.group = group;
      const limit = this.#options.groups[group];
      const state = this.#groups.get(group) ?? { windowStart: now, count: 0, penaltyUntil: 0 };
      this.#groups.set(group, state);
      const headers = (remaining: number) => ({
        "X-Rate-Limit-Group": group,
        "X-Rate-Limit-Limit": String(limit.limit),
        "X-Rate-Limit-Remaining": String(remaining),
        "X-Rate-Limit-Window": String(limit.windowSeconds),
      });
      const penalty = () => {
        state.penaltyUntil = now + limit.penaltySeconds * 1000;
        return rcError(429, "CMN-301", "Request rate exceeded", {
          ...headers(0),
          "Retry-After": String(limit.penaltySeconds),
        });
      };
      if (state.penaltyUntil > now) {
        record.inPenalty = true;
        return penalty();
      }
      if (now >= state.windowStart + limit.windowSeconds * 1000) {
        state.windowStart = now;
        state.count = 0;
      }
      state.count++;
      if (state.count > limit.limit) return penalty();
      limitHeaders = headers(limit.limit - state.count);
    }

    const response = this.#route(record, url);
    for (const [k, v] of Object.entries(limitHeaders)) response.headers.set(k, v);
    return response;
  }

  #scriptedAnswer(answer: ScriptedAnswer, now: number): Response {
    const { status, headers = {}, body = "" } = typeof answer === "number"
      ? { status: answer }
      : answer;
    if (status === 429) {
      const retryAfter = headers["Retry-After"] ?? "30";
      const seconds = /^\d+$/.test(retryAfter)
        ? Number(retryAfter)
        : Math.max(0, (Date.parse(retryAfter) - now) / 1000);
      const group = headers["X-Rate-Limit-Group"];
      if (group) {
        const state = this.#groups.get(group) ?? { windowStart: now, count: 0, penaltyUntil: 0 };
        state.penaltyUntil = now + seconds * 1000;
        this.#groups.set(group, state);
      } else {
        this.#globalPenaltyMs = seconds * 1000;
        this.#globalPenaltyUntil = now + this.#globalPenaltyMs;
      }
    }
    return new Response(status === 204 || status === 304 ? null : body, { status, headers });
  }

  /** The documented rate group of a request; none for unknown paths and `NoThrottling`. */
  #groupOf(method: string, path: string): string | undefined {
    const group = operationOf(method, path)?.op.rateGroup;
    return group === undefined || group === "NoThrottling" ? undefined : group;
  }

  #route(record: RecordedRequest, url: URL): Response {
    const path = url.pathname;
    if (path.startsWith("/echo")) return this.#echo(record, url);
    if (path === "/text") return new Response("line one\nline two", { status: 200 });
    if (path === "/big") {
      const bytes = Number(url.searchParams.get("bytes") ?? "0");
      return url.searchParams.get("type") === "json"
        ? json(200, { data: "x".repeat(Math.max(0, bytes - 11)) })
        : new Response("x".repeat(bytes), { headers: { "Content-Type": "text/plain" } });
    }
    const found = operationOf(record.method, path);
    if (!found) return rcError(404, "CMN-120", "Invalid URI");
    switch (found.op.name) {
      case "token":
        return this.#token(record);
      case "revoke":
        return this.#revoke(record);
      case "apiVersions":
        return json(200, {
          uri: `${this.url}/restapi`,
          apiVersions: [{ uri: `${this.url}/restapi/v1.0`, versionString: "1.0.99" }],
          serverVersion: "fake",
          serverRevision: "0",
        });
    }
    const refused = this.#checkBearer(record.headers.get("authorization")) ??
      this.#checkScope(record.headers.get("authorization"), found.op);
    if (refused) return refused;
    if (found.op.name === "wstoken") return this.#wsToken(record);
    let body: unknown = undefined;
    if (record.body !== "") {
      if (!/^application\/json\b/.test(record.headers.get("content-type") ?? "")) {
        return rcError(415, "CMN-415", "Content type is not supported");
      }
      try {
        body = JSON.parse(record.body);
      } catch {
        return rcError(400, "CMN-101", "Request body is not valid JSON");
      }
    }
    const fault = bodyFault(found.op, body ?? {});
    if (fault) return rcError(400, "CMN-101", `Parameter [${fault}] value is invalid`);
    this.telephony.answering(path);
    const answer = this.telephony.route(found.op.name, found.params, url.searchParams, body);
    return answer ?? rcError(404, "CMN-120", "Invalid URI");
  }

  #wsToken(record: RecordedRequest): Response {
    const token = random();
    const bearer = record.headers.get("authorization")?.match(/^Bearer (\S+)$/)?.[1];
    this.#wsTokens.set(token, this.#sessions.find((s) => s.access === bearer)?.id ?? 0);
    return json(200, {
      ws_access_token: token,
      uri: `${this.url.replace(/^http/, "ws")}/ws`,
      expires_in: 30,
    });
  }

  /** The token's scope must hold the operation's app permission (403 `CMN-401`). */
  #checkScope(authorization: string | null, op: Operation): Response | undefined {
    if (!op.appPermission) return undefined;
    const token = authorization?.match(/^Bearer (\S+)$/)?.[1];
    const scope = this.#sessions.find((s) => s.access === token)?.scope ?? [];
    return scope.includes(op.appPermission)
      ? undefined
      : rcError(403, "CMN-401", missing(op.appPermission));
  }

  #checkBearer(authorization: string | null): Response | undefined {
    const token = authorization?.match(/^Bearer (\S+)$/)?.[1];
    const session = token ? this.#sessions.find((s) => s.access === token) : undefined;
    if (!session || session.ended) {
      return rcError(401, "OAU-129", "Access token corrupted");
    }
    if (this.#options.clock.now() >= session.accessExpiresAt) {
      return rcError(401, "OAU-128", "Access token expired");
    }
    return undefined;
  }

  #clientOk(authorization: string | null): boolean {
    const expected = btoa(`${this.#options.clientId}:${this.#options.clientSecret}`);
    return authorization === `Basic ${expected}`;
  }

  #token(record: RecordedRequest): Response {
    if (!this.#clientOk(record.headers.get("authorization"))) {
      return json(401, {
        error: "invalid_client",
        errors: [{ errorCode: "OAU-146", message: "Invalid client credentials" }],
        error_description: "Invalid client credentials",
      });
    }
    if (!/^application\/x-www-form-urlencoded/.test(record.headers.get("content-type") ?? "")) {
      return json(400, { error: "invalid_request", error_description: "Unsupported body" });
    }
    const form = new URLSearchParams(record.body);
    const grant = form.get("grant_type");
    const now = this.#options.clock.now();
    if (grant === JWT_GRANT) {
      if (this.#options.jwtGrant === "unauthorized_client") {
        return json(400, {
          error: "unauthorized_client",
          error_description: "Unauthorized for this grant type",
        });
      }
      if (form.get("assertion") !== this.#options.jwt) {
        return json(400, {
          error: "invalid_grant",
          errors: [{ errorCode: "OAU-155", message: "Invalid JWT" }],
          error_description: "Invalid JWT",
        });
      }
      return this.#issue(now);
    }
    if (grant === "password") {
      if (this.#options.passwordGrant === "unauthorized_client") {
        return json(400, {
          error: "unauthorized_client",
          error_description: "Unauthorized for this grant type",
        });
      }
      if (this.#options.passwordGrant === "mfa_required") {
        const message = "Password grant is not allowed because MFA is required.";
        return json(400, {
          error: "invalid_grant",
          errors: [{ errorCode: "OAU-168", message }],
          error_description: message,
        });
      }
      const username = form.get("username") ?? "";
      if (this.#options.users[username] !== form.get("password")) {
        return json(400, {
          error: "invalid_grant",
          errors: [{ errorCode: "OAU-140", message: "Invalid resource owner credentials" }],
          error_description: "Invalid resource owner credentials",
        });
      }
      return this.#issue(now);
    }
    if (grant === "refresh_token") {
      const session = this.#sessions.find((s) => s.refresh === form.get("refresh_token"));
      if (!session || session.ended || session.refreshUsed || now >= session.refreshExpiresAt) {
        return json(400, {
          error: "invalid_grant",
          errors: [{ errorCode: "OAU-211", message: "Token not found" }],
          error_description: "Token not found",
        });
      }
      session.refreshUsed = true;
      session.ended = true; // the old access token stops working at once
      return this.#issue(now);
    }
    return json(400, { error: "unsupported_grant_type", error_description: `got ${grant}` });
  }

  #issue(now: number): Response {
    const id = this.#sessions.length + 1;
    const session: Session = {
      id,
      access: `AT${id}-${random()}`,
      accessExpiresAt: now + this.#options.accessTokenSeconds * 1000,
      refresh: `RT${id}-${random()}`,
      refreshExpiresAt: now + this.#options.refreshTokenSeconds * 1000,
      refreshUsed: false,
      ended: false,
      scope: this.#options.scope,
    };
    this.#sessions.push(session);
    return json(200, {
      access_token: session.access,
      token_type: "bearer",
      expires_in: this.#options.accessTokenSeconds,
      refresh_token: session.refresh,
      refresh_token_expires_in: this.#options.refreshTokenSeconds,
      scope: this.#options.scope.join(" "),
      owner_id: "101",
    });
  }

  #revoke(record: RecordedRequest): Response {
    if (!this.#clientOk(record.headers.get("authorization"))) {
      return json(401, { error: "invalid_client", error_description: "Invalid client" });
    }
    const token = new URLSearchParams(record.body).get("token");
    for (const s of this.#sessions) {
      if (s.access === token || s.refresh === token) s.ended = true;
    }
    return new Response(null, { status: 200 });
  }

  #echo(record: RecordedRequest, url: URL): Response {
    const reflected = {
      method: record.method,
      path: url.pathname,
      search: url.search,
      authorization: record.headers.get("authorization"),
      contentType: record.headers.get("content-type"),
      accept: record.headers.get("accept"),
      userAgent: record.headers.get("user-agent"),
      body: record.body,
    };
    const status = Number(url.searchParams.get("status") ?? "200");
    return json(status, reflected);
  }
}
