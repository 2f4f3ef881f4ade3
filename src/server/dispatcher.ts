/**
 * The dispatcher: the one {@link CommandHandler} behind every channel. Call commands and
 * monitors go to the monitor, which keeps every device and sends each command down to its
 * phone or the provider; RawCommands go to the provider (docs/architecture.md §1). Every
 * command is timed for the metrics on its way back.
 */

import type {
  CallCommand,
  CommandHandler,
  EventSubscriber,
  Outcome,
  RawReply,
} from "../contract.ts";
import type { Monitor } from "../monitor/mod.ts";
import type { ProviderService } from "../provider/mod.ts";

/** Told of every command the dispatcher finished (the metrics, docs/status-page.md §6). */
export interface CommandObserver {
  /**
   * A call command, MonitorStart or RawCommand finished: its name, `ok` or the failure reason
   * (`error` for a failed RawCommand), and how long it took in seconds.
   */
  command(command: string, outcome: string, seconds: number): void;
}

/** Routes channel commands to the monitor and the provider. */
export class Dispatcher implements CommandHandler {
  readonly #monitor: Monitor;
  readonly #provider: ProviderService;
  readonly #observe?: CommandObserver;

  constructor(monitor: Monitor, provider: ProviderService, observe?: CommandObserver) {
    this.#monitor = monitor;
    this.#provider = provider;
    this.#observe = observe;
  }

  knowsDevice(device: string): boolean {
    return this.#monitor.has(device);
  }

  callControl(command: CallCommand): Promise<Outcome> {
    return this.#timed(command.name, () => this.#monitor.command(command));
  }

  monitorStart(device: string, subscriber: EventSubscriber): Promise<Outcome> {
    return this.#timed("MonitorStart", () => this.#monitor.subscribe(device, subscriber));
  }

  monitorStop(device: string, subscriber: EventSubscriber): void {
    // Not observed: a closing channel releases its monitors through here too.
    this.#monitor.unsubscribe(device, subscriber);
  }

  async rawCommand(line: string, maxReplyBytes: number): Promise<RawReply> {
    const started = performance.now();
    const reply = await this.#provider.rawCommand(line, maxReplyBytes);
    this.#observe?.command(
      "RawCommand",
      reply.ok ? "ok" : "error",
      (performance.now() - started) / 1000,
    );
    return reply;
  }

  async #timed(command: string, run: () => Promise<Outcome>): Promise<Outcome> {
    const started = performance.now();
    const outcome = await run();
    this.#observe?.command(
      command,
      outcome.ok ? "ok" : outcome.reason,
      (performance.now() - started) / 1000,
    );
    return outcome;
  }
}
