/**
 * The dispatcher: the one {@link CommandHandler} behind every channel. Call commands go to
 * the phone through the monitor (which turns a successful command into its events, e.g.
 * `Initiated` after MakeCall), monitors to the monitor, RawCommands to the provider
 * (docs/architecture.md, "The picture").
 */

import type {
  CallCommandName,
  CommandHandler,
  EventSubscriber,
  Outcome,
  RawReply,
} from "../contract.ts";
import type { Monitor } from "../monitor/mod.ts";
import type { PhoneRegistry } from "../phones/mod.ts";
import type { ProviderService } from "../provider/mod.ts";

/**
 * Told of every call command, MonitorStart and RawCommand the dispatcher finished: its name,
 * `ok` or the failure reason (`error` for a failed RawCommand), and how long it took in
 * seconds (docs/status-page.md §6).
 */
export type CommandObserver = (command: string, outcome: string, seconds: number) => void;

/** Routes channel commands to phones, monitor and provider. */
export class Dispatcher implements CommandHandler {
  readonly #phones: PhoneRegistry;
  readonly #monitor: Monitor;
  readonly #provider: ProviderService;
  readonly #observe?: CommandObserver;

  constructor(
    phones: PhoneRegistry,
    monitor: Monitor,
    provider: ProviderService,
    observe?: CommandObserver,
  ) {
    this.#phones = phones;
    this.#monitor = monitor;
    this.#provider = provider;
    this.#observe = observe;
  }

  knowsDevice(device: string): boolean {
    return this.#phones.has(device) || this.#provider.cloud.has(device);
  }

  callControl(
    device: string,
    command: CallCommandName,
    number?: string,
    arrivedAt?: number,
  ): Promise<Outcome> {
    return this.#timed(command, () =>
      this.#monitor.command(
        device,
        command,
        number,
        // A cloud device is an extension of the provider account (docs/cloud-phones.md §3).
        (callId) =>
          this.#provider.cloud.has(device)
            ? this.#provider.cloud.execute(device, command, number, arrivedAt)
            : this.#phones.execute(device, command, number, arrivedAt, callId),
      ));
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
    this.#observe?.("RawCommand", reply.ok ? "ok" : "error", (performance.now() - started) / 1000);
    return reply;
  }

  async #timed(command: string, run: () => Promise<Outcome>): Promise<Outcome> {
    const started = performance.now();
    const outcome = await run();
    this.#observe?.(
      command,
      outcome.ok ? "ok" : outcome.reason,
      (performance.now() - started) / 1000,
    );
    return outcome;
  }
}
