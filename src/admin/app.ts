/**
 * The Hono app on `serverHttpPort`: the status page, its JSON API and live updates, and the
 * phone callback route. Phones authenticate with their per-phone secret (monitor); people
 * reach the status page from this computer freely and from other hosts only with
 * `adminPassword` (docs/configuration.md §5).
 */

import { Hono } from "hono";
import { html, raw } from "hono/html";
import { streamSSE } from "hono/streaming";
import { addressAllowed, type Cidr, parseCidr } from "../config/mod.ts";
import { redactor } from "../log/mod.ts";
import type { CallbackRequest, CallbackResult } from "../contract.ts";
import { sameSecret } from "../secret.ts";
import { PRODUCT, VERSION } from "../version.ts";
import { renderStatus } from "./status_html.ts";

/** What the app reads from the rest of the server, through functions so it is always current. */
export interface AdminDeps {
  /** The whole status as plain JSON data; must contain no secrets. */
  readonly status: () => Record<string, unknown>;
  readonly adminPassword: () => string;
  /** Phone callbacks; undefined until monitoring is wired. */
  readonly callback?: (request: CallbackRequest) => CallbackResult | Promise<CallbackResult>;
  /** How often live updates are pushed, in milliseconds. */
  readonly liveIntervalMs?: number;
  /**
   * True for the address of a configured phone: its connections use a share of the listener
   * that other clients cannot take, so callbacks are never starved.
   */
  readonly isPhoneAddress?: (address: string) => boolean;
}

/** Per-request context the front passes in (`app.fetch(request, env)`). */
export interface AdminEnv {
  readonly remoteAddress: string;
}

const LOOPBACK: readonly Cidr[] = ["127.0.0.0/8", "::1/128"].map((range) => parseCidr(range)!);

/** True for 127.0.0.0/8, ::1 and their IPv4-mapped forms (read like `serverAllowedClients`). */
export function isLoopback(address: string): boolean {
  return addressAllowed(address, LOOPBACK);
}

function passwordMatches(header: string | undefined, password: string): boolean {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(header ?? "");
  if (!m) return false;
  let decoded: string;
  try {
    decoded = new TextDecoder().decode(Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0)));
  } catch {
    return false;
  }
  return sameSecret(decoded.slice(decoded.indexOf(":") + 1), password);
}

const PAGE_SCRIPT = `
const target = document.getElementById("status");
const state = document.getElementById("live");
const source = new EventSource("/api/live");
source.addEventListener("status", (e) => { target.innerHTML = e.data; state.textContent = "live"; });
source.onerror = () => { state.textContent = "reconnecting…"; };
`;

const PAGE_STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#222;background:#fafafa}
h1{font-size:1.3rem;margin:0 0 .2rem} h2{font-size:1.05rem;margin:1.4rem 0 .4rem}
table{border-collapse:collapse;margin:.3rem 0 .8rem;background:#fff}
td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f0f0;font-weight:600} .muted{color:#777} .bad{color:#b00020;font-weight:600}
#live{font-size:.8rem;color:#777;margin-left:.5rem}
`;

/** Builds the app. */
export function createAdminApp(deps: AdminDeps): Hono<{ Bindings: AdminEnv }> {
  const app = new Hono<{ Bindings: AdminEnv }>();
  const interval = deps.liveIntervalMs ?? 2000;
  const statusHtml = () => redactor.redact(renderStatus(deps.status()));

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

  app.use("*", async (c, next) => {
    if (isLoopback(c.env.remoteAddress)) return await next();
    const password = deps.adminPassword();
    if (password === "") {
      return c.text(
        "The status page answers on this computer only. Set adminPassword in the configuration to open it to other hosts.\n",
        403,
      );
    }
    if (!passwordMatches(c.req.header("authorization"), password)) {
      c.header("www-authenticate", `Basic realm="${PRODUCT}", charset="UTF-8"`);
      return c.text("Authentication required (user admin, the adminPassword).\n", 401);
    }
    await next();
  });

  app.get("/", (c) =>
    c.html(html`
      <!doctype html>
      <html lang="en">
        <head>
          <meta charset="utf-8">
          <title>${PRODUCT}</title>
          <meta name="viewport" content="width=device-width, initial-scale=1">
          <style>${raw(PAGE_STYLE)}</style>
        </head>
        <body>
          <h1>${PRODUCT} <span class="muted">${VERSION}</span><span id="live"></span></h1>
          <div id="status">${raw(statusHtml())}</div>
          <script>${raw(PAGE_SCRIPT)}</script>
        </body>
      </html>
    `));

  app.get("/api/status", (c) => {
    c.header("cache-control", "no-store");
    // The last net works on values, never on the JSON text, so the output stays valid JSON.
    const json = JSON.stringify(
      deps.status(),
      (_key, value) => typeof value === "string" ? redactor.redact(value) : value,
    );
    return c.body(json, 200, {
      "content-type": "application/json; charset=utf-8",
    });
  });

  app.get("/api/live", (c) =>
    streamSSE(c, async (stream) => {
      let open = true;
      stream.onAbort(() => {
        open = false;
      });
      let last = "";
      while (open) {
        const page = statusHtml();
        if (page !== last) {
          await stream.writeSSE({ event: "status", data: page });
          last = page;
        }
        await stream.sleep(interval);
      }
    }));

  app.notFound((c) => c.text("Not found\n", 404));
  return app;
}
