/**
 * The server's metrics in the Prometheus text format, made with `prom-client`
 * (docs/status-page.md §6). Counters are fed by small hooks where things happen (the
 * dispatcher, the callback route, the monitor, the provider's fetch, the reload loop); gauges
 * and the channel refusals are read from the components when scraped.
 */

import client from "prom-client";
import type { CallbackRefusal, CallOutcome, CallRecord, CallRecordSink } from "../contract.ts";
import type { CallbackCounts } from "./callback_route.ts";
import type { CommandObserver } from "./dispatcher.ts";
import type { EventCounts } from "../monitor/mod.ts";
import { VERSION } from "../version.ts";

/** What is read from the components at scrape time. */
export interface MetricsReadings {
  readonly channelsOpen: () => number;
  readonly channelsRefused: () => number;
  readonly phonesConfigured: () => number;
  readonly phonesReachable: () => number;
  /** Each phone's reachability (docs/status-page.md §4); unknown before its first check. */
  readonly phones: () => readonly { extension: string; reachable: boolean | undefined }[];
  /** Connections open on the status page and callback listener. */
  readonly httpConnections: () => number;
}

/** Seconds: a phone answers in tens of milliseconds; `phoneTimeoutSeconds` is at most 120. */
const COMMAND_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120];

/** Every outcome a call ends with (docs/call-journal.md §2). */
const CALL_OUTCOMES: Record<CallOutcome, true> = {
  answered: true,
  missed: true,
  rejected: true,
  busy: true,
  transferred: true,
  elsewhere: true,
  failed: true,
};

/** Every reason a callback is refused for (`CallbackRefusal`). */
const REFUSALS: readonly CallbackRefusal[] = [
  "unknown_phone",
  "too_long",
  "no_key",
  "wrong_key",
  "wrong_source",
];

let processRegistry: client.Registry | undefined;

/**
 * prom-client's process metrics that read `/proc`, which Deno opens only with `--allow-all` (the
 * server never has it): under Deno they would always read 0. Memory is read from the runtime
 * instead; the others cannot be read and are left out rather than shown wrong
 * (docs/status-page.md §6).
 */
const UNREADABLE = [
  "process_resident_memory_bytes",
  "process_virtual_memory_bytes",
  "process_heap_bytes",
  "process_open_fds",
  "process_max_fds",
];

/**
 * The process metrics (`process_*`, `nodejs_*`), one set per process: they describe the
 * process, not one server, and their event-loop monitor should start once.
 */
function processMetrics(): client.Registry {
  if (!processRegistry) {
    const registry = processRegistry = new client.Registry();
    client.collectDefaultMetrics({ register: registry });
    for (const name of UNREADABLE) registry.removeSingleMetric(name);
    const memory = (name: string, help: string, value: (m: Deno.MemoryUsage) => number) =>
      new client.Gauge({
        name,
        help,
        registers: [registry],
        collect() {
          this.set(value(Deno.memoryUsage()));
        },
      });
    memory("process_resident_memory_bytes", "Resident memory size in bytes.", (m) => m.rss);
    memory("process_heap_bytes", "JavaScript heap size in bytes.", (m) => m.heapTotal);
  }
  return processRegistry;
}

/** The gauges and counts read from the components when scraped. */
function readings(registers: client.Registry[], read: MetricsReadings): void {
  const gauge = (name: string, help: string, value: () => number) =>
    new client.Gauge({
      name,
      help,
      registers,
      collect() {
        this.set(value());
      },
    });
  gauge("pcs_channels_open", "Open plug-in channels.", read.channelsOpen);
  new client.Counter({
    name: "pcs_channels_refused_total",
    help: "Channels refused by the allow-list or serverMaxChannels since start.",
    registers,
    collect() {
      this.reset();
      this.inc(read.channelsRefused());
    },
  });
  gauge("pcs_phones_configured", "Phones configured, demo phones included.", read.phonesConfigured);
  gauge(
    "pcs_phones_reachable",
    "Phones whose last check or command reached them.",
    read.phonesReachable,
  );
  new client.Gauge({
    name: "pcs_phone_up",
    help: "1 when the phone's last check or command reached it, 0 when not; absent before its " +
      "first check.",
    labelNames: ["extension"] as const,
    registers,
    collect() {
      this.reset();
      for (const p of read.phones()) {
        if (p.reachable !== undefined) this.set({ extension: p.extension }, p.reachable ? 1 : 0);
      }
    },
  });
  gauge(
    "pcs_http_connections_open",
    "Connections open on the status page and phone callback listener.",
    read.httpConnections,
  );
}

/** One server's metrics; it counts commands and callbacks where they are answered. */
export class ServerMetrics implements CommandObserver, CallbackCounts, EventCounts, CallRecordSink {
  readonly #registry = new client.Registry();
  readonly commands: client.Counter<"command" | "outcome">;
  readonly commandSeconds: client.Histogram<"command">;
  readonly callbacksAccepted: client.Counter;
  readonly callbacksRefused: client.Counter<"reason">;
  readonly #events: client.Counter;
  readonly providerRequests: client.Counter<"status">;
  readonly reloads: client.Counter<"outcome">;
  readonly #calls: client.Counter<"outcome">;

  constructor(read: MetricsReadings) {
    // Started with the server, so the event-loop monitor has samples by the first scrape.
    processMetrics();
    const registers = [this.#registry];
    // The version, as exporters usually show it: a constant 1 labelled with it.
    new client.Gauge({
      name: "pcs_build_info",
      help: "The running version of Phone Companion Server.",
      labelNames: ["version"],
      registers,
    }).set({ version: VERSION }, 1);
    readings(registers, read);
    this.commands = new client.Counter({
      name: "pcs_commands_total",
      help: "Channel commands (call commands, MonitorStart, RawCommand) by name and outcome.",
      labelNames: ["command", "outcome"] as const,
      registers,
    });
    this.commandSeconds = new client.Histogram({
      name: "pcs_command_duration_seconds",
      help: "How long channel commands took, queue wait included.",
      labelNames: ["command"] as const,
      buckets: COMMAND_BUCKETS,
      registers,
    });
    this.callbacksAccepted = new client.Counter({
      name: "pcs_callbacks_accepted_total",
      help: "Phone callbacks accepted.",
      registers,
    });
    this.callbacksRefused = new client.Counter({
      name: "pcs_callbacks_refused_total",
      help: "Phone callbacks refused, by reason.",
      labelNames: ["reason"] as const,
      registers,
    });
    this.#events = new client.Counter({
      name: "pcs_events_sent_total",
      help: "Call events handed to channels.",
      registers,
    });
    this.providerRequests = new client.Counter({
      name: "pcs_provider_requests_total",
      help: "HTTP requests to the provider by status; error: no HTTP answer.",
      labelNames: ["status"] as const,
      registers,
    });
    this.reloads = new client.Counter({
      name: "pcs_config_reloads_total",
      help: "Changed configuration files applied or rejected, and failed reads.",
      labelNames: ["outcome"] as const,
      registers,
    });
    this.#calls = new client.Counter({
      name: "pcs_calls_total",
      help: "Calls that ended on configured phones, by outcome (docs/call-journal.md §2).",
      labelNames: ["outcome"] as const,
      registers,
    });
    for (const outcome of Object.keys(CALL_OUTCOMES)) this.#calls.inc({ outcome }, 0);
    // The known label values start at 0, so a dashboard sees them before the first one.
    for (const reason of REFUSALS) this.callbacksRefused.inc({ reason }, 0);
    for (const outcome of ["applied", "rejected", "unreadable"]) this.reloads.inc({ outcome }, 0);
  }

  /** Events were handed to channels. */
  eventsSent(count: number): void {
    this.#events.inc(count);
  }

  /** A call ended. */
  record(call: CallRecord): void {
    this.#calls.inc({ outcome: call.outcome });
  }

  /** A phone callback was accepted. */
  accepted(): void {
    this.callbacksAccepted.inc();
  }

  /** A phone callback was refused, for this reason. */
  refused(reason: CallbackRefusal): void {
    this.callbacksRefused.inc({ reason });
  }

  /** Counts one finished command. */
  command(command: string, outcome: string, seconds: number): void {
    this.commands.inc({ command, outcome });
    this.commandSeconds.observe({ command }, seconds);
  }

  /** The metrics text: this server's, then the process's. */
  async text(): Promise<{ contentType: string; body: string }> {
    const own = await this.#registry.metrics();
    const process = await processMetrics().metrics();
    return { contentType: this.#registry.contentType, body: own + "\n" + process };
  }
}
