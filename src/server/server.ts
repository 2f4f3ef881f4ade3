/**
 * The server as one object: builds every component from the first settings, hands each new
 * valid settings to every component's `apply`, and closes them in reverse order. `main.ts`
 * and the end-to-end tests both start the server through here.
 */

import { callbackKeyOf } from "./callback_key.ts";
import { type Clock, systemClock } from "../clock.ts";
import {
  type ConfigWatch,
  type Finding,
  formatFinding,
  loadSettings,
  watchConfig,
} from "../config/mod.ts";
import { AdminServer } from "../admin/mod.ts";
import { ChannelServer } from "../channel/mod.ts";
import { Journal } from "../journal/mod.ts";
import { Monitor } from "../monitor/mod.ts";
import { PhoneRegistry } from "../phones/mod.ts";
import { log, logFindings, LogService } from "../log/mod.ts";
import { type FetchLike, ProviderService, type SubscriptionTiming } from "../provider/mod.ts";
import { SimDemoPhones, type SimPhone, type YealinkPhone } from "../simulator/mod.ts";
import { DemoProvisioning } from "./demo_provisioning.ts";
import { VERSION } from "../version.ts";
import { Dispatcher } from "./dispatcher.ts";
import { ServerMetrics } from "./metrics.ts";
import { health, statusView, type ViewParts } from "./view.ts";
import type { Component, Settings } from "../contract.ts";
import { callbackRoute } from "./callback_route.ts";

/** What the server is told from outside. */
export interface ServerOptions {
  readonly settings: Settings;
  /** The configuration text the settings came from, so the reload loop can spot changes. */
  readonly configText: string;
  readonly clock?: Clock;
  readonly logService?: LogService;
  /** false: no reload loop (tests that apply settings themselves). Default true. */
  readonly watch?: boolean;
  /** What loading the settings found, shown on the status page until the file changes. */
  readonly findings?: readonly Finding[];
  /** Timings of the cloud phones' event subscription; tests shorten them. */
  readonly cloudTiming?: Partial<SubscriptionTiming>;
}

/** The outcome of the last reload attempt, shown on the status page. */
export interface ReloadState {
  readonly at: number;
  readonly applied: boolean;
  readonly findings: readonly Finding[];
}

/** A running server. */
export class Server {
  #settings: Settings;
  readonly #components: Component[] = [];
  readonly #clock: Clock;
  readonly #logService: LogService;
  #watch?: ConfigWatch;
  #lastReload?: ReloadState;
  /** Findings of the file in effect, or of its latest rejected text. */
  #findings: readonly Finding[];
  readonly #metrics: ServerMetrics;
  #closed = false;
  #started = false;
  readonly startedAt: number;
  /** The phones: profiles, HTTP control, demo phones. */
  readonly phones: PhoneRegistry<SimPhone | YealinkPhone>;
  /** Call state per device from the phones' callbacks, and the channels' subscriptions. */
  readonly monitor: Monitor;
  /** Every call that ended, kept for the API and the status page (docs/call-journal.md). */
  readonly journal: Journal;
  /** The telephony provider session (RawCommand). */
  readonly provider: ProviderService;
  /** The plug-in channel listener (STLI on serverPort). */
  readonly channel: ChannelServer;
  /** The HTTP listener (status page and phone callbacks). */
  readonly http: AdminServer;

  private constructor(options: ServerOptions) {
    this.#settings = options.settings;
    this.#clock = options.clock ?? systemClock;
    this.#logService = options.logService ?? new LogService();
    this.startedAt = this.#clock.now();
    this.#findings = options.findings ?? [];
    const clock = this.#clock;
    const metrics = this.#metrics = new ServerMetrics({
      channelsOpen: () => this.channel.status().channels.length,
      channelsRefused: () => this.channel.status().refused,
      phonesConfigured: () => this.phones.extensions.length,
      phonesReachable: () => this.phones.status().filter((p) => p.reachable === "reachable").length,
      phones: () =>
        this.phones.status().map((p) => ({
          extension: p.extension,
          reachable: p.reachable === "unknown" ? undefined : p.reachable === "reachable",
        })),
      httpConnections: () => this.http.connections,
    });
    this.phones = new PhoneRegistry<SimPhone | YealinkPhone>({
      clock,
      demoPhones: new SimDemoPhones(),
    });
    const callbackKey = callbackKeyOf(() => this.#settings.config.server.callbackKeyFile);
    this.provider = new ProviderService({
      clock,
      fetch: countedFetch(metrics),
      cloudTiming: options.cloudTiming,
    });
    const journal = this.journal = new Journal({ clock });
    this.monitor = new Monitor({
      phones: this.phones,
      cloud: this.provider.cloud,
      clock,
      counts: metrics,
      callbackKey,
      // Every call that ends is counted and kept (docs/call-journal.md §2).
      records: {
        record(call) {
          metrics.record(call);
          journal.record(call);
        },
      },
    });
    this.channel = new ChannelServer({
      handler: new Dispatcher(
        this.monitor,
        this.provider,
        metrics,
      ),
      clock,
    });
    this.http = new AdminServer({
      status: () => this.status(),
      shownSecrets: () => this.monitor.shownSecrets(),
      isPhoneAddress: this.phones.isPhoneAddress.bind(this.phones),
      view: () => statusView(this.#viewParts()),
      health: () => health(this.#viewParts()),
      metrics: () => metrics.text(),
      calls: journal,
      callbacks: callbackRoute(this.monitor, metrics),
    });
    // Apply order: the monitor after the phones it asks about and the journal it writes to;
    // listeners last, so nothing arrives before the parts behind them are ready. Closing runs
    // in reverse. Demo Yealinks get their provisioning lines once the phones are there.
    this.#components.push(
      this.phones,
      new DemoProvisioning(this.phones, callbackKey),
      this.journal,
      this.monitor,
      this.provider,
      this.channel,
      this.http,
    );
  }

  /** What the page and the health check are made from, now. */
  #viewParts(): ViewParts {
    return {
      now: this.#clock.now(),
      startedAt: this.startedAt,
      settings: this.#settings,
      findings: this.#findings,
      checkedAt: this.#lastReload?.at,
      valid: this.#lastReload?.applied ?? true,
      phones: this.phones,
      monitor: this.monitor,
      provider: this.provider,
      channel: this.channel,
      http: this.http,
      journal: this.journal,
      problems: this.#logService.recent.list(),
      logFileProblem: this.#logService.fileProblem,
    };
  }

  /** Everything the status page shows, as plain data (`/api/status`). */
  status(): Record<string, unknown> {
    const config = this.#settings.config;
    const reload = this.#lastReload;
    const out: Record<string, unknown> = {
      server: {
        version: VERSION,
        // Which process to signal: under `deno task start` it is not the task runner.
        pid: Deno.pid,
        startedAt: new Date(this.startedAt).toISOString(),
        configurationFile: config.file,
        logFile: config.log.filePath,
        logFileProblem: this.#logService.fileProblem,
      },
      configuration: {
        lastCheck: reload ? new Date(reload.at).toISOString() : "",
        lastChangeApplied: reload ? reload.applied : "",
        findings: (reload?.findings ?? []).map((f) => ({
          level: f.level,
          line: f.line ?? "",
          message: formatFinding(f),
        })),
      },
    };
    for (const c of this.#components) if (c.status) out[c.name] = c.status();
    return out;
  }

  /** Builds and starts every component with the first settings. */
  static async start(options: ServerOptions): Promise<Server> {
    const server = new Server(options);
    await server.#logService.apply(options.settings.config);
    try {
      for (const c of server.#components) await c.apply(options.settings);
    } catch (e) {
      await server.close();
      throw e;
    }
    if (options.watch !== false) server.#startWatch(options.configText);
    server.#started = true;
    log("server").info("started with {file}", { file: options.settings.config.file });
    return server;
  }

  /** The settings in effect. */
  get settings(): Settings {
    return this.#settings;
  }

  /** The last reload attempt, if any. */
  get lastReload(): ReloadState | undefined {
    return this.#lastReload;
  }

  /** Applies new valid settings to every component. */
  async apply(settings: Settings): Promise<void> {
    this.#settings = settings;
    await this.#logService.apply(settings.config);
    for (const c of this.#components) {
      try {
        await c.apply(settings);
      } catch (e) {
        log("server").error("{component} could not apply the new settings: {error}", {
          component: c.name,
          error: e,
        });
      }
    }
  }

  /**
   * Reads the configuration file now, twice, as two checks of the reload loop would: a
   * changed file that reads the same both times is applied.
   */
  async reloadNow(): Promise<void> {
    await this.#watch?.checkNow();
    await this.#watch?.checkNow();
  }

  #startWatch(initialText: string) {
    const file = this.#settings.config.file;
    this.#watch = watchConfig({
      path: file,
      initialText,
      clock: this.#clock,
      intervalSeconds: () => this.#settings.config.configReloadSeconds,
      onReadError: (e) => {
        this.#metrics.reloads.inc({ outcome: "unreadable" });
        log("config").warning("cannot read {file}, keeping the settings in effect: {error}", {
          file,
          error: e,
        });
      },
      onChange: async (text) => {
        const result = await loadSettings(text, file);
        logFindings(result.findings);
        this.#lastReload = {
          at: this.#clock.now(),
          applied: result.settings !== undefined,
          findings: result.findings,
        };
        this.#findings = result.findings;
        this.#metrics.reloads.inc({ outcome: result.settings ? "applied" : "rejected" });
        if (!result.settings) {
          log("config").error(
            "{file} has errors; keeping the last good settings until it is fixed",
            { file },
          );
          return;
        }
        if (result.empty) {
          // An emptied file is far likelier a mistake or a file being written than a wish to
          // drop every phone and move both ports: it is never applied over running settings.
          this.#lastReload = { ...this.#lastReload!, applied: false };
          log("config").warning(
            "{file} sets nothing; keeping the settings in effect (write at least one key to " +
              "change them)",
            { file },
          );
          return;
        }
        await this.apply(result.settings);
        log("config").info("applied the changed {file}", { file });
      },
    });
  }

  /** Stops the reload loop and every component, in reverse order of start. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#watch?.stop();
    for (const c of [...this.#components].reverse()) {
      try {
        await c.close();
      } catch (e) {
        log("server").error("{component} did not close cleanly: {error}", {
          component: c.name,
          error: e,
        });
      }
    }
    if (this.#started) log("server").info("stopped");
  }
}

/** The provider's fetch, counting every request by its HTTP status (`error`: none came). */
function countedFetch(metrics: ServerMetrics): FetchLike {
  return async (input, init) => {
    let response: Response;
    try {
      response = await fetch(input, init);
    } catch (e) {
      metrics.providerRequests.inc({ status: "error" });
      throw e;
    }
    metrics.providerRequests.inc({ status: String(response.status) });
    return response;
  };
}
