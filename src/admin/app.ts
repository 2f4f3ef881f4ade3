/**
 * The Hono app on `serverHttpPort`: the status page, its live updates, `/healthz`,
 * `/metrics` and `/api/status` (docs/status-page.md). People reach it from this computer
 * freely, and from other hosts only as user `admin` with `adminPassword` (docs/status-page.md
 * §2), through Hono's own IP restriction and Basic auth middleware. Phone callbacks never
 * reach it: the listener hands them to their own route.
 */

import { Hono, type MiddlewareHandler } from "hono";
import { basicAuth } from "hono/basic-auth";
import { ipRestriction } from "hono/ip-restriction";
import { streamSSE } from "hono/streaming";
import { type Clock, sleep, systemClock } from "../clock.ts";
import { addressAllowed, type Cidr, parseCidr } from "../config/mod.ts";
import { redactor } from "../log/mod.ts";
import { sameSecret } from "../secret.ts";
import { PRODUCT, VERSION } from "../version.ts";
import { FAVICON_SVG, PAGE_CSS, pageScript } from "./assets.ts";
import { defaultLoginDelayMs, FailedLogins } from "./failed_logins.ts";
import {
  type RenderedSection,
  renderPage,
  renderSections,
  type SectionId,
  SECTIONS,
} from "./page.ts";
import type { Health, MetricsText, StatusView } from "./view.ts";
import type { CallJournalReader } from "../contract.ts";
import { answerCalls, callJson, callsCsv, encodeCursor } from "./calls_api.ts";

/** What the app reads from the rest of the server, through functions so it is always current. */
export interface AdminDeps {
  /**
   * The whole status as plain JSON data (`/api/status`); must contain no secrets but those
   * of `shownSecrets`.
   */
  readonly status: () => Record<string, unknown>;
  /**
   * Secrets the page and `/api/status` show on purpose, behind their access rule: the
   * callback keys in provisioning lines (docs/yealink.md §5). Every other secret is redacted.
   */
  readonly shownSecrets?: () => ReadonlySet<string>;
  /** What the page shows. */
  readonly view: () => StatusView;
  /** `/healthz`. */
  readonly health: () => Health;
  /** The call journal behind `/api/calls` (docs/call-journal.md §4). */
  readonly calls?: CallJournalReader;
  /** `/metrics`; undefined: 404. */
  readonly metrics?: () => Promise<MetricsText>;
  readonly adminPassword: () => string;
  /** Least time between two renderings of live updates, in milliseconds. Default 1000. */
  readonly liveIntervalMs?: number;
  /** A `ping` goes out after this long without another message. Default 5000. */
  readonly pingMs?: number;
  readonly clock?: Clock;
  /** The pause before answering a failed login, by failures in the last minute. */
  readonly loginDelayMs?: (failures: number) => number;
  /** Ends every live-update stream, so closing the listener need not wait for them. */
  readonly stopLive?: AbortSignal;
}

/** Per-request context the front passes in (`app.fetch(request, env)`). */
export interface AdminEnv {
  readonly remoteAddress: string;
}

/** The user name of the page (docs/status-page.md §2). */
export const ADMIN_USER = "admin";

const LOOPBACK_RANGES = ["127.0.0.0/8", "::1/128"];
const LOOPBACK: readonly Cidr[] = LOOPBACK_RANGES.map((range) => parseCidr(range)!);

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped forms (read like `serverAllowedClients`). */
export function isLoopback(address: string): boolean {
  return addressAllowed(address, LOOPBACK);
}

const LOCAL_ONLY =
  "This page answers on this computer only. Set adminPassword in the configuration to open it to other hosts.\n";

/** For replies that are out of date a moment later. */
const NO_STORE = { "cache-control": "no-store" };

/** Nothing but the server's own files (docs/status-page.md §1). */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The rendered sections, shared by every open page and made at most once per interval, so
 * many open pages cost one rendering (docs/status-page.md §3). Each section has a version
 * that changes whenever its HTML does (unique to this app, so a restarted server never
 * matches an old page's), so a page that connects for live updates is sent only what it
 * does not have yet.
 */
class SectionCache {
  readonly #view: () => StatusView;
  readonly #shown: () => ReadonlySet<string> | undefined;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #run = crypto.randomUUID().slice(0, 8);
  #next = 0;
  #at = -Infinity;
  #sections?: Record<SectionId, RenderedSection>;

  constructor(
    view: () => StatusView,
    clock: Clock,
    intervalMs: number,
    shown: () => ReadonlySet<string> | undefined,
  ) {
    this.#view = view;
    this.#shown = shown;
    this.#clock = clock;
    this.#intervalMs = intervalMs;
  }

  /** The sections, rendered anew when older than the interval or when `fresh`. */
  get(fresh = false): Record<SectionId, RenderedSection> {
    const now = this.#clock.now();
    if (!fresh && this.#sections && now - this.#at < this.#intervalMs) return this.#sections;
    const html = renderSections(this.#view());
    const shown = this.#shown();
    const next = {} as Record<SectionId, RenderedSection>;
    for (const id of SECTIONS) {
      const text = redactor.redact(html[id], shown);
      const old = this.#sections?.[id];
      next[id] = old?.html === text ? old : { html: text, version: `${this.#run}.${++this.#next}` };
    }
    this.#sections = next;
    this.#at = now;
    return next;
  }
}

/** `summary:v1,phones:v2`, as the page sends what it has, read into a map. */
function readHave(have: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of (have ?? "").split(",")) {
    const at = pair.indexOf(":");
    if (at > 0) out.set(pair.slice(0, at), pair.slice(at + 1));
  }
  return out;
}

type AdminApp = Hono<{ Bindings: AdminEnv }>;
type Guard = MiddlewareHandler<{ Bindings: AdminEnv }>;

/** Builds the app: the health check, then behind the access guard the page, its files and data. */
export function createAdminApp(deps: AdminDeps): AdminApp {
  const app: AdminApp = new Hono();
  const clock = deps.clock ?? systemClock;
  const interval = deps.liveIntervalMs ?? 1000;
  const sections = new SectionCache(deps.view, clock, interval, () => deps.shownSecrets?.());
  const { localOnly, guard } = access(deps, clock);
  mountHealth(app, deps, localOnly);
  app.use("*", guard);
  mountPage(app, sections);
  mountData(app, deps);
  mountCalls(app, deps);
  mountLive(app, deps, sections, clock, interval);
  app.notFound((c) => c.text("Not found\n", 404));
  return app;
}

/**
 * Who may see what (docs/status-page.md §2): without a password this computer only; with
 * one, other hosts as user `admin`, failed logins slowed down and logged.
 */
function access(deps: AdminDeps, clock: Clock): { localOnly: Guard; guard: Guard } {
  const failures = new FailedLogins(clock, deps.loginDelayMs ?? defaultLoginDelayMs);
  const remote = (c: { env: AdminEnv }) => c.env.remoteAddress;
  const localOnly: Guard = ipRestriction(
    remote,
    { allowList: LOOPBACK_RANGES },
    (_remote, c) => c.text(LOCAL_ONLY, 403),
  );
  const login = basicAuth({
    realm: PRODUCT,
    invalidUserMessage: "Authentication required: user admin and the adminPassword.\n",
    verifyUser: async (user, password, c) => {
      const address = remote(c as unknown as { env: AdminEnv });
      // Both compared every time, so the answer's timing tells nothing about which was wrong.
      const userOk = sameSecret(user, ADMIN_USER);
      const passwordOk = sameSecret(password, deps.adminPassword());
      if (userOk && passwordOk) {
        failures.succeeded(address);
        return true;
      }
      await failures.failed(address);
      return false;
    },
  });
  const guard: Guard = async (c, next) => {
    if (deps.adminPassword() === "") return await localOnly(c, next);
    if (isLoopback(c.env.remoteAddress)) return await next();
    return await login(c, next);
  };
  return { localOnly, guard };
}

/** `/healthz`: anyone who may see the page may ask for it, without a password. */
function mountHealth(app: AdminApp, deps: AdminDeps, localOnly: Guard): void {
  app.get("/healthz", async (c, next) => {
    if (deps.adminPassword() === "") return await localOnly(c, next);
    await next();
  }, (c) => {
    const h = deps.health();
    const body = h.ok ? { status: "ok" } : { status: "unavailable", reasons: h.reasons };
    return c.body(redactor.redact(JSON.stringify(body)), h.ok ? 200 : 503, {
      ...NO_STORE,
      "content-type": "application/json; charset=utf-8",
    });
  });
}

/** The page and its own files: style, script, icon. */
function mountPage(app: AdminApp, sections: SectionCache): void {
  app.get("/", (c) => {
    const page = renderPage(PRODUCT, VERSION, sections.get(true));
    return c.html(page, 200, { ...NO_STORE, "content-security-policy": CSP });
  });
  app.get("/page.css", (c) => c.body(PAGE_CSS, 200, { "content-type": "text/css; charset=utf-8" }));
  const script = pageScript(SECTIONS);
  app.get(
    "/page.js",
    (c) => c.body(script, 200, { "content-type": "text/javascript; charset=utf-8" }),
  );
  // Browsers ask for /favicon.ico whatever the page names; both get the same icon.
  const icon = () =>
    new Response(FAVICON_SVG, {
      headers: { "content-type": "image/svg+xml", "cache-control": "max-age=86400" },
    });
  app.get("/favicon.svg", icon);
  app.get("/favicon.ico", icon);
}

/** `/api/status` and `/metrics`, redacted. */
function mountData(app: AdminApp, deps: AdminDeps): void {
  // The last net works on values, never on the JSON text, so the output stays valid JSON.
  app.get("/api/status", (c) => {
    const shown = deps.shownSecrets?.();
    return c.body(
      JSON.stringify(
        deps.status(),
        (_key, value) => typeof value === "string" ? redactor.redact(value, shown) : value,
      ),
      200,
      { ...NO_STORE, "content-type": "application/json; charset=utf-8" },
    );
  });
  app.get("/metrics", async (c) => {
    if (!deps.metrics) return c.text("Not found\n", 404);
    const m = await deps.metrics();
    return c.body(redactor.redact(m.body), 200, { ...NO_STORE, "content-type": m.contentType });
  });
}

/** `/api/calls` and `/api/calls.csv` (docs/call-journal.md §4, §5). */
function mountCalls(app: AdminApp, deps: AdminDeps): void {
  const json = (body: unknown, status: number) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { ...NO_STORE, "content-type": "application/json; charset=utf-8" },
    });
  app.get("/api/calls", (c) => {
    const answer = answerCalls(deps.calls, new URL(c.req.url).searchParams, "json");
    if (answer.status !== 200) return json({ error: answer.error }, answer.status);
    const { calls, next } = answer.page;
    return json({ calls: calls.map(callJson), next: next ? encodeCursor(next) : null }, 200);
  });
  app.get("/api/calls.csv", (c) => {
    const answer = answerCalls(deps.calls, new URL(c.req.url).searchParams, "csv");
    if (answer.status !== 200) return json({ error: answer.error }, answer.status);
    const { calls, next } = answer.page;
    const headers: Record<string, string> = {
      ...NO_STORE,
      "content-type": "text/csv; charset=utf-8; header=present",
      "content-disposition": 'attachment; filename="calls.csv"',
    };
    if (next) headers["x-next-cursor"] = encodeCursor(next);
    return new Response(callsCsv(calls), { status: 200, headers });
  });
}

/**
 * `/api/live`: server-sent events with each section whose HTML changed, and a `ping` after
 * `pingMs` of silence, until the page goes away or the listener stops.
 */
function mountLive(
  app: AdminApp,
  deps: AdminDeps,
  sections: SectionCache,
  clock: Clock,
  interval: number,
): void {
  const pingMs = deps.pingMs ?? 5000;
  const stopLive = deps.stopLive;
  app.get("/api/live", (c) => {
    c.header("cache-control", "no-store");
    return streamSSE(c, async (stream) => {
      let open = !stopLive?.aborted;
      stream.onAbort(() => {
        open = false;
      });
      // What the page already shows is not sent again.
      const sent = readHave(c.req.query("have"));
      let lastMessage = clock.now();
      await stream.write("retry: 2000\n\n");
      while (open) {
        const now = sections.get();
        for (const id of SECTIONS) {
          const { html, version } = now[id];
          if (sent.get(id) === version) continue;
          await stream.writeSSE({ event: id, data: html, id: version });
          sent.set(id, version);
          lastMessage = clock.now();
        }
        if (clock.now() - lastMessage >= pingMs) {
          await stream.writeSSE({ event: "ping", data: "" });
          lastMessage = clock.now();
        }
        await sleep(interval, systemClock, stopLive);
        if (stopLive?.aborted) break;
      }
    });
  });
}
