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

/** Routes channel commands to phones, monitor and provider. */
export class Dispatcher implements CommandHandler {
  readonly #phones: PhoneRegistry;
  readonly #monitor: Monitor;
  readonly #provider: ProviderService;

  constructor(phones: PhoneRegistry, monitor: Monitor, provider: ProviderService) {
    this.#phones = phones;
    this.#monitor = monitor;
    this.#provider = provider;
  }

  knowsDevice(device: string): boolean {
    return this.#phones.has(device);
  }

  callControl(
    device: string,
    command: CallCommandName,
    number?: string,
    arrivedAt?: number,
  ): Promise<Outcome> {
    return this.#monitor.command(
      device,
      command,
      number,
      () => this.#phones.execute(device, command, number, arrivedAt),
    );
  }

  monitorStart(device: string, subscriber: EventSubscriber): Promise<Outcome> {
    return this.#monitor.subscribe(device, subscriber);
  }

  monitorStop(device: string, subscriber: EventSubscriber): void {
    this.#monitor.unsubscribe(device, subscriber);
  }

  rawCommand(line: string, maxReplyBytes: number): Promise<RawReply> {
    return this.#provider.rawCommand(line, maxReplyBytes);
  }
}
