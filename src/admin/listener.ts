/**
 * The HTTP listener on `serverHttpPort` as a component: behind the tolerant HTTP/1.1 front,
 * phone callbacks (`/phone/…`) go to their route and everything else to the status page's
 * Hono app. Rebound on a changed port or bind address (docs/configuration.md §3), the old
 * listener kept when the new one cannot be bound.
 */

import type { Settings } from "../contract.ts";
import { log, RepeatedWarning } from "../log/mod.ts";
import { type AdminDeps, type AdminEnv, createAdminApp } from "./app.ts";
import { type Handler, type Http1Server, serveHttp1 } from "../http/mod.ts";
import { errorText } from "../text.ts";
import { Fingerprint } from "../fingerprint.ts";
import { hostPort } from "../net.ts";

/** What the listener serves besides the status page app. */
export interface ListenerDeps extends Omit<AdminDeps, "adminPassword"> {
  /**
   * The phone callback route: it takes the paths that are a callback's (undefined for any
   * other) and answers whoever may reach the port, as phones prove themselves by their key.
   */
  readonly callbacks?: (request: Request, remoteAddress: string) => Promise<Response> | undefined;
  /**
   * True for the address of a configured phone: its connections use a share of the listener
   * that other clients cannot take, so callbacks are never starved.
   */
  readonly isPhoneAddress?: (address: string) => boolean;
}

const ALL_ADDRESSES = new Set(["0.0.0.0", "::", "0:0:0:0:0:0:0:0"]);

/**
 * Where the listener is, in words an administrator can act on: a browser cannot open
 * `http://0.0.0.0:…`, so listening on every address reads as such, with the URL that opens on
 * this computer (docs/install.md §2).
 */
export function listenerWords(hostname: string, port: number): string {
  if (ALL_ADDRESSES.has(hostname)) {
    return `port ${port} of every address of this computer (here: http://localhost:${port}/)`;
  }
  return `http://${hostPort(hostname, port)}/`;
}

/** Phone callbacks to their route, everything else to the app. */
export function frontHandler(
  app: { fetch: (request: Request, env: AdminEnv) => Response | Promise<Response> },
  callbacks?: ListenerDeps["callbacks"],
): Handler {
  return (request, info) =>
    callbacks?.(request, info.remoteAddress) ??
      app.fetch(request, { remoteAddress: info.remoteAddress });
}

/** The HTTP listener component. */
export class AdminServer {
  readonly name = "http";
  #server?: Http1Server;
  /** Ends the live-update streams of the current listener. */
  #live?: AbortController;
  /** Where the listener is bound: `bindAddress:httpPort` as configured. */
  readonly #where = new Fingerprint();
  #settings?: Settings;
  #deps: AdminDeps;
  readonly #callbacks?: ListenerDeps["callbacks"];
  readonly #isPhoneAddress?: ListenerDeps["isPhoneAddress"];
  #failure?: string;
  /** Problems anyone can cause (bad requests, refused connections), summarised per kind. */
  readonly #problems = new RepeatedWarning(() => log("http"));

  constructor(deps: ListenerDeps) {
    const { callbacks, isPhoneAddress, ...app } = deps;
    this.#callbacks = callbacks;
    this.#isPhoneAddress = isPhoneAddress;
    this.#deps = {
      ...app,
      adminPassword: () => this.#settings?.config.server.adminPassword ?? "",
    };
  }

  /** Where the listener is bound, e.g. `0.0.0.0:26536`, or undefined when it is not. */
  get address(): { hostname: string; port: number } | undefined {
    return this.#server && { hostname: this.#server.hostname, port: this.#server.port };
  }

  /** Connections open now. */
  get connections(): number {
    return this.#server?.connections ?? 0;
  }

  /** Status for the page: where the listener is and why binding failed, if it did. */
  status(): Record<string, unknown> {
    return {
      listening: this.#server ? `${this.#server.hostname}:${this.#server.port}` : "",
      error: this.#failure,
      connections: this.#server?.connections ?? 0,
      acceptErrors: this.#server?.acceptErrors ?? 0,
    };
  }

  apply(settings: Settings): void {
    this.#settings = settings;
    const { bindAddress, httpPort } = settings.config.server;
    const wanted = `${bindAddress}:${httpPort}`;
    if (this.#server && this.#where.is(wanted)) return;
    const live = new AbortController();
    const app = createAdminApp({ ...this.#deps, stopLive: live.signal });
    let next: Http1Server;
    try {
      next = serveHttp1({
        hostname: bindAddress,
        port: httpPort,
        handler: frontHandler(app, this.#callbacks),
        preferred: this.#isPhoneAddress,
        // Problems quote the request (`malformed header line '{x}'`): a value, not a template.
        onProblem: (kind, problem) => this.#problems.note(kind, "{problem}", { problem }),
      });
    } catch (e) {
      this.#failure = `cannot listen on ${wanted}: ${errorText(e)}`;
      log("http").error(
        this.#server
          ? "{failure}; still listening on {bound}"
          : "{failure}; the status page and phone callbacks are unavailable until this is fixed",
        {
          failure: this.#failure,
          bound: this.#server && hostPort(this.#server.hostname, this.#server.port),
        },
      );
      return;
    }
    const old = this.#server;
    const oldLive = this.#live;
    this.#server = next;
    this.#live = live;
    this.#where.remember(wanted);
    this.#failure = undefined;
    log("http").info("status page and phone callbacks on {where}", {
      where: listenerWords(next.hostname, next.port),
    });
    oldLive?.abort();
    old?.close();
  }

  async close(): Promise<void> {
    this.#problems.close();
    this.#live?.abort();
    await this.#server?.close();
    this.#server = undefined;
    this.#where.forget();
  }
}
