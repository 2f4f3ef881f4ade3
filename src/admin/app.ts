/**
 * The Hono app on `serverHttpPort`: the status page, its live updates, `/healthz`,
 * `/metrics`, `/api/status`, and the phone callback route (docs/status-page.md). Phones
 * authenticate with their per-phone secret (monitor). People reach the rest from this
 * computer freely, and from other hosts only as user `admin` with `adminPassword`
 * (docs/status-page.md §2), through Hono's own IP restriction and Basic auth middleware.
 */

import { Hono, type MiddlewareHandler } from "hono";
import { basicAuth } from "hono/basic-auth";
import { ipRestriction } from "hono/ip-restriction";
import { streamSSE } from "hono/streaming";
import { type Clock, systemClock } from "../clock.ts";
import { addressAllowed, type Cidr, parseCidr } from "../config/mod.ts";
import { redactor } from "../log/mod.ts";
import type { CallbackRequest, CallbackResult } from "../contract.ts";
import { sameSecret } from "../secret.ts";
import { PRODUCT, VERSION } from "../version.ts";
import { FAVICON_SVG, PAGE_CSS, pageScript } from "./assets.ts";
import { defaultLoginDelayMs, FailedLogins } from "./failed_logins.ts";
import { renderPage, renderSections, type SectionId, SECTIONS } from "./page.ts";
import type { Health, MetricsText, StatusView } from "./view.ts";

/** What the app reads from the rest of the server, through functions so it is always current. */
export interface AdminDeps {
  /** The whole status as plain JSON data (`/api/status`); must contain no secrets. */
  readonly status: () => Record<string, unknown>;
  /** What the page shows. */
  readonly view: () => StatusView;
  /** `/healthz`. */
  readonly health: () => Health;
  /** `/metrics`; undefined: 404. */
  readonly metrics?: () => Promise<MetricsText>;
  readonly adminPassword: () => string;
  /** Phone callbacks; undefined until monitoring is wired. */
  readonly callback?: (request: CallbackRequest) => CallbackResult | Promise<CallbackResult>;
  /** Least time between two renderings of live updates, in milliseconds. Default 1000. */
  readonly liveIntervalMs?: number;
  /** A `ping` goes out after this long without another message. Default 5000. */
  readonly pingMs?: number;
  readonly clock?: Clock;
  /** The pause before answering a failed login, by failures in the last minute. */
  readonly loginDelayMs?: (failures: number) => number;
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

/** Strings that cannot be cached or framed. */
const NO_STORE = { "cache-control": "no-store" };

/** Nothing but the server's own files (docs/status-page.md §1). */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The rendered sections, shared by every open page and made at most once per interval,
 * so many open pages cost one rendering (docs/status-page.md §3).
 */
class SectionCache {
  readonly #view: () => StatusView;
  readonly #clock: Clock;
  readonly #intervalMs: number;
  #at = -Infinity;
  #sections?: Record<SectionId, string>;

  constructor(view: () => StatusView, clock: Clock, intervalMs: number) {
    this.#view = view;
    this.#clock = clock;
    this.#intervalMs = intervalMs;
  }

  /** The sections, rendered anew when older than the interval or when `fresh`. */
  get(fresh = false): Record<SectionId, string> {
    const now = this.#clock.now();
    if (fresh || !this.#sections || now - this.#at >= this.#intervalMs) {
      const fresh = renderSections(this.#view());
      for (const id of SECTIONS) fresh[id] = redactor.redact(fresh[id]);
      this.#sections = fresh;
      this.#at = now;
    }
    return this.#sections;
  }
}

/** Builds the app. */
export function createAdminApp(deps: AdminDeps): Hono<{ Bindings: AdminEnv }> {
  const app = new Hono<{ Bindings: AdminEnv }>();
  const clock = deps.clock ?? systemClock;
  const interval = deps.liveIntervalMs ?? 1000;
  const pingMs = deps.pingMs ?? 5000;
  const sections = new SectionCache(deps.view, clock, interval);
  const failures = new FailedLogins(clock, deps.loginDelayMs ?? defaultLoginDelayMs);
  const remote = (c: { env: AdminEnv }) => c.env.remoteAddress;

  app.all("/phone/*", async (c) => {
    if (!deps.callback) return c.body(null, 404);
    const url = new URL(c.req.url);
    const result = await deps.callback({
      path: url.pathname,
      rawQuery: url.search.slice(1),
      remoteAddress: c.env.remoteAddress,
    });
    return new Response(result.status === 200 ? "" : null, {
      status: result.status,
      headers: { "content-type": "text/plain" },
    });
  });

  /** Without a password: this computer only. */
  const localOnly = ipRestriction(
    remote,
    { allowList: LOOPBACK_RANGES },
    (_remote, c) => c.text(LOCAL_ONLY, 403),
  );
  /** With a password: user `admin`; failed logins are slowed down and logged. */
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
  const guard: MiddlewareHandler<{ Bindings: AdminEnv }> = async (c, next) => {
    if (deps.adminPassword() === "") return await localOnly(c, next);
    if (isLoopback(c.env.remoteAddress)) return await next();
    return await login(c, next);
  };

  // Anyone who may see the page may ask for the health check, without a password.
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

  app.use("*", guard);

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
  const icon = (c: { body: (b: string, s: 200, h: Record<string, string>) => Response }) =>
    c.body(FAVICON_SVG, 200, {
      "content-type": "image/svg+xml",
      "cache-control": "max-age=86400",
    });
  app.get("/favicon.svg", (c) => icon(c));
  app.get("/favicon.ico", (c) => icon(c));

  app.get("/api/status", (c) =>
    c.body(redactor.redact(JSON.stringify(deps.status())), 200, {
      ...NO_STORE,
      "content-type": "application/json; charset=utf-8",
    }));

  app.get("/metrics", async (c) => {
    if (!deps.metrics) return c.text("Not found\n", 404);
    const m = await deps.metrics();
    return c.body(redactor.redact(m.body), 200, { ...NO_STORE, "content-type": m.contentType });
  });

  app.get("/api/live", (c) => {
    c.header("cache-control", "no-store");
    return streamSSE(c, async (stream) => {
      let open = true;
      stream.onAbort(() => {
        open = false;
      });
      const sent = new Map<SectionId, string>();
      let lastMessage = clock.now();
      await stream.write("retry: 2000\n\n");
      while (open) {
        const now = sections.get();
        for (const id of SECTIONS) {
          if (sent.get(id) === now[id]) continue;
          await stream.writeSSE({ event: id, data: now[id] });
          sent.set(id, now[id]);
          lastMessage = clock.now();
        }
        if (clock.now() - lastMessage >= pingMs) {
          await stream.writeSSE({ event: "ping", data: "" });
          lastMessage = clock.now();
        }
        await stream.sleep(interval);
      }
    });
  });

  app.notFound((c) => c.text("Not found\n", 404));
  return app;
}
