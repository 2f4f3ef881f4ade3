/**
 * The HTTP listener on `serverHttpPort` as a component: the Hono app behind the tolerant
 * HTTP/1.1 front, rebound on a changed port or bind address (docs/configuration.md §3), the
 * old listener kept when the new one cannot be bound.
 */

import type { Settings } from "../contract.ts";
import { log, RepeatedWarning } from "../log/mod.ts";
import { type AdminDeps, createAdminApp } from "./app.ts";
import { type Http1Server, serveHttp1 } from "../http/mod.ts";
import { errorText } from "../text.ts";

/** The HTTP listener component. */
export class AdminServer {
  readonly name = "http";
  #server?: Http1Server;
  /** Ends the live-update streams of the current listener. */
  #live?: AbortController;
  #bound = "";
  #settings?: Settings;
  #deps: AdminDeps;
  #failure?: string;
  /** Problems anyone can cause (bad requests, refused connections), summarised per kind. */
  readonly #problems = new RepeatedWarning(() => log("http"));

  constructor(deps: Omit<AdminDeps, "adminPassword">) {
    this.#deps = {
      ...deps,
      adminPassword: () => this.#settings?.config.server.adminPassword ?? "",
    };
  }

  /** Where the listener is bound, e.g. `0.0.0.0:26536`, or undefined when it is not. */
  get address(): { hostname: string; port: number } | undefined {
    return this.#server && { hostname: this.#server.hostname, port: this.#server.port };
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
    if (wanted === this.#bound && this.#server) return;
    const live = new AbortController();
    const app = createAdminApp({ ...this.#deps, stopLive: live.signal });
    let next: Http1Server;
    try {
      next = serveHttp1({
        hostname: bindAddress,
        port: httpPort,
        handler: (request, info) => app.fetch(request, { remoteAddress: info.remoteAddress }),
        preferred: this.#deps.isPhoneAddress,
        // Problems quote the request (`malformed header line '{x}'`): a value, not a template.
        onProblem: (kind, problem) => this.#problems.note(kind, "{problem}", { problem }),
      });
    } catch (e) {
      this.#failure = `cannot listen on ${wanted}: ${errorText(e)}`;
      log("http").error(
        this.#server
          ? "{failure}; still listening on {bound}"
          : "{failure}; the status page and phone callbacks are unavailable until this is fixed",
        { failure: this.#failure, bound: this.#bound },
      );
      return;
    }
    const old = this.#server;
    const oldLive = this.#live;
    this.#server = next;
    this.#live = live;
    this.#bound = wanted;
    this.#failure = undefined;
    log("http").info("status page and phone callbacks on http://{address}/", {
      address: `${next.hostname}:${next.port}`,
    });
    oldLive?.abort();
    old?.close();
  }

  async close(): Promise<void> {
    this.#problems.close();
    this.#live?.abort();
    await this.#server?.close();
    this.#server = undefined;
    this.#bound = "";
  }
}
