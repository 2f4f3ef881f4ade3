/**
 * The server as one object: builds every component from the first settings, hands each new
 * valid settings to every component's `apply`, and closes them in reverse order. `main.ts`
 * and the end-to-end tests both start the server through here.
 */

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
import { Monitor } from "../monitor/mod.ts";
import { PhoneRegistry } from "../phones/mod.ts";
import { log, logFindings, LogService } from "../log/mod.ts";
import { ProviderService } from "../provider/mod.ts";
import { SimDemoPhones, type SimPhone } from "../simulator/mod.ts";
import { VERSION } from "../version.ts";
import { Dispatcher } from "./dispatcher.ts";
import type { Component, Settings } from "../contract.ts";

export {
  BUILTIN_PROFILES,
  DEMO_PROFILE,
  findProfile,
  type LoadResult,
  loadSettings,
} from "../config/mod.ts";
export { logFindings } from "../log/mod.ts";
export { bannerText, lanAddresses, systemInterfaces } from "./banner.ts";
export { runClient } from "./client.ts";
export { consoleFacts, shouldWaitForEnter, waitForEnter } from "./console.ts";
export { serviceCommand } from "./service_command.ts";
export type { Component, Settings } from "../contract.ts";

/** What the server is told from outside. */
export interface ServerOptions {
  readonly settings: Settings;
  /** The configuration text the settings came from, so the reload loop can spot changes. */
  readonly configText: string;
  readonly clock?: Clock;
  readonly logService?: LogService;
  /** false: no reload loop (tests that apply settings themselves). Default true. */
  readonly watch?: boolean;
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
  #closed = false;
  #started = false;
  readonly startedAt: number;
  /** The phones: profiles, HTTP control, demo phones. */
  readonly phones: PhoneRegistry<SimPhone>;
  /** Call state per device from the phones' callbacks, and the channels' subscriptions. */
  readonly monitor: Monitor;
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
    const clock = this.#clock;
    this.phones = new PhoneRegistry({ clock, demoPhones: new SimDemoPhones() });
    this.monitor = new Monitor({ phones: this.phones, clock });
    this.provider = new ProviderService({ clock });
    this.channel = new ChannelServer({
      handler: new Dispatcher(this.phones, this.monitor, this.provider),
      clock,
    });
    this.http = new AdminServer({
      status: () => this.status(),
      callback: (request) => this.monitor.handleCallback(request),
    });
    // Apply order: the monitor after the phones it asks about; listeners last, so nothing
    // arrives before the parts behind them are ready. Closing runs in reverse.
    this.#components.push(this.phones, this.monitor, this.provider, this.channel, this.http);
  }

  /** Everything the status page shows, as plain data. */
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

  /** Reads the configuration file now, as the reload loop would. */
  async reloadNow(): Promise<void> {
    await this.#watch?.checkNow();
  }

  #startWatch(initialText: string) {
    const file = this.#settings.config.file;
    this.#watch = watchConfig({
      path: file,
      initialText,
      clock: this.#clock,
      intervalSeconds: () => this.#settings.config.configReloadSeconds,
      onReadError: (e) =>
        log("config").warning("cannot read {file}, keeping the settings in effect: {error}", {
          file,
          error: e,
        }),
      onChange: async (text) => {
        const result = await loadSettings(text, file);
        logFindings(result.findings);
        this.#lastReload = {
          at: this.#clock.now(),
          applied: result.settings !== undefined,
          findings: result.findings,
        };
        if (!result.settings) {
          log("config").error(
            "{file} has errors; keeping the last good settings until it is fixed",
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
