/**
 * What a channel needs from the rest of the server: the dispatcher implements this, tests
 * pass fakes. Commands arrive typed and validated; numbers are already normalised
 * (channel-protocol.md §3).
 */

import type { CallEvent } from "../monitor/events.ts";

/** Channel commands that act on a phone (channel-protocol.md §3). */
export type CallCommandName =
  | "MakeCall"
  | "AnswerCall"
  | "ClearConnection"
  | "HoldCall"
  | "RetrieveCall"
  | "TransferCall"
  | "ConsultationCall"
  | "ConferenceCall"
  | "AlternateCall"
  | "ReconnectCall";

/** Why a valid command failed; the optional fourth token of an ERROR reply. */
export type ErrorReason =
  | "UnknownDevice"
  | "InvalidNumber"
  | "NotSupported"
  | "PhoneUnreachable"
  | "PhoneRefused"
  | "PhoneLocked"
  | "AuthFailed"
  | "Timeout"
  | "NotMonitored"
  | "MonitorFailed";

/** The outcome of a command that went to a phone or the monitor. */
export type Outcome =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: ErrorReason; readonly detail?: string };

/** A channel as the monitor sees it: something that receives a device's events. */
export interface EventSubscriber {
  /** Unique per channel, for logs and the status page. */
  readonly id: number;
  /** Called synchronously, in the device's event order; must not throw or block. */
  deliver(event: CallEvent): void;
  /**
   * The monitor of `device` ended without a MonitorStop (the phone left the configuration):
   * the channel no longer counts the device as monitored. Must not throw.
   */
  monitorEnded(device: string): void;
}

/** The reply payload of a RawCommand (channel-protocol.md §5): compact JSON, one line. */
export interface RawReply {
  readonly ok: boolean;
  readonly json: string;
}

/** The server behind a channel. */
export interface CommandHandler {
  /** True when the extension is a configured (or demo) phone. */
  knowsDevice(device: string): boolean;
  /**
   * Sends a call command to the device's phone. `number` is normalised, or undefined. A
   * MakeCall accepted on a monitored device delivers its Initiated event to the subscribers
   * before the promise resolves, and no other event it causes before that Initiated
   * (channel-protocol.md §4: Initiated comes right after the reply).
   */
  callControl(device: string, command: CallCommandName, number?: string): Promise<Outcome>;
  /** Makes sure the phone reports to this server, then subscribes the channel. */
  monitorStart(device: string, subscriber: EventSubscriber): Promise<Outcome>;
  /** Unsubscribes the channel; idempotent. */
  monitorStop(device: string, subscriber: EventSubscriber): void;
  /** Forwards a RawCommand line (a JSON object) to the provider. */
  rawCommand(line: string, maxReplyBytes: number): Promise<RawReply>;
}
