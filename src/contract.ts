/**
 * The contracts between the server's parts: the types that several feature folders share, so
 * that none of them imports another. A channel, the phones, the monitor and the provider each
 * speak these; `server/` wires implementations together. This module imports nothing but
 * configuration types, and holds no code that runs.
 *
 * Protocol terms are those of docs/channel-protocol.md.
 */

import type { NotificationName, ProvisioningLines, Settings } from "./config/mod.ts";

export type { Settings };

// --- Commands and their outcomes (docs/channel-protocol.md §3) ---

/** Channel commands that act on a phone (docs/channel-protocol.md §3). */
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

/**
 * One call command as the channel read it, the one value that travels from the channel to the
 * phone or the provider. `number` is already normalised and valid: the channel's codec is the
 * only place the dial-number grammar is checked (docs/channel-protocol.md §3).
 */
export interface CallCommand {
  readonly device: string;
  readonly name: CallCommandName;
  readonly number?: string;
  /**
   * Clock milliseconds when the command's line was read: the answer comes within
   * `phoneTimeoutSeconds` of it, however long the command waited (docs/channel-protocol.md
   * §3.4).
   */
  readonly arrivedAt: number;
}

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

/** The outcome of a command that went to a phone, the provider or the monitor. */
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

/**
 * What a RawCommand came to (docs/channel-protocol.md §5): the provider's HTTP status (0 when
 * none came) with its body, or why it failed. The channel's codec writes it as one line.
 */
export type RawReply =
  | { readonly ok: true; readonly status: number; readonly body: unknown }
  | { readonly ok: false; readonly status: number; readonly error: string };

/** The server behind a channel. */
export interface CommandHandler {
  /** True when the extension is a configured device: a (demo) phone or a cloud phone. */
  knowsDevice(device: string): boolean;
  /**
   * Sends a call command to the device. A MakeCall accepted on a monitored device delivers its
   * Initiated event, with `cause` set to this very command, to the subscribers before the
   * promise resolves: that is how a channel knows its own Initiated (the MakeCall rule).
   */
  callControl(command: CallCommand): Promise<Outcome>;
  /** Makes sure the phone reports to this server, then subscribes the channel. */
  monitorStart(device: string, subscriber: EventSubscriber): Promise<Outcome>;
  /** Unsubscribes the channel; idempotent. */
  monitorStop(device: string, subscriber: EventSubscriber): void;
  /**
   * Forwards a RawCommand line (a JSON object) to the provider. `maxReplyBytes` is the
   * channel's line limit: a body far larger cannot fit a reply and need not be read.
   */
  rawCommand(line: string, maxReplyBytes: number): Promise<RawReply>;
}

// --- Call events (docs/channel-protocol.md §4) ---

/** The state of one call on a device, as DeviceInformation shows it. */
export type CallState = "alerting" | "dialing" | "connected" | "held";

/** One call a device has now. */
export interface CallInfo {
  /** The server's own call reference, unique per server run. */
  readonly callRef: number;
  readonly state: CallState;
  /** User part of the remote party's SIP URI; never a display name. */
  readonly remote: string;
  /** Display name of the remote party, for Extended DeviceInformation; may be "". */
  readonly displayName: string;
}

/**
 * Why a call ended (docs/channel-protocol.md §4): `normalClearing` (the default) when it ended
 * or was missed, `callRejected` when the user rejected it ringing, `redirected` when the phone
 * forwarded it ringing, `busy` when the called party turned an outgoing call down,
 * `callCancelled` when the user gave up an outgoing call before an answer, `callPickup` when a
 * ringing call was answered on another phone. The channel's ConnectionCleared line always
 * says `normalClearing`, as clients expect; the reason is for the call's record.
 */
export type ClearReason =
  | "normalClearing"
  | "callRejected"
  | "redirected"
  | "busy"
  | "callCancelled"
  | "callPickup";

/** The event-specific part of a {@link CallEvent}. */
export type CallEventBody =
  | { readonly type: "Delivered"; readonly caller: string }
  | { readonly type: "Originated"; readonly called: string }
  | { readonly type: "Initiated"; readonly callRef: number }
  | {
    readonly type: "Established";
    readonly direction: "incoming" | "outgoing";
    readonly remote: string;
  }
  | { readonly type: "ConnectionCleared"; readonly reason?: ClearReason }
  | { readonly type: "Held" }
  | { readonly type: "Retrieved" }
  | { readonly type: "Transferred"; readonly remote: string };

/** One event of one device, with the device's calls right after it happened. */
export type CallEvent = CallEventBody & {
  readonly device: string;
  readonly calls: readonly CallInfo[];
  /**
   * The command whose acceptance made this event, when the server made it rather than the
   * phone: a MakeCall's Initiated. Compared by identity only; never written to a channel.
   */
  readonly cause?: CallCommand;
};

// --- Phone callbacks (docs/channel-protocol.md §4.1) ---

/** A phone's callback as the HTTP front hands it over. */
export interface CallbackRequest {
  /** The request path, e.g. `/phone/101/onConnected`. */
  readonly path: string;
  /** The query without `?`, as received (the front has percent-encoded raw spaces). */
  readonly rawQuery: string;
  /** The peer address of the TCP connection. */
  readonly remoteAddress: string;
}

/** Why a callback was refused, as the metrics count it (docs/status-page.md §6). */
export type CallbackRefusal =
  | "unknown_phone"
  | "too_long"
  | "no_key"
  | "wrong_key"
  | "wrong_source";

/**
 * The answer to a callback. The body is always empty `text/plain` (a Snom shows an XML body
 * on its screen): 200 accepted, 400 malformed, 403 wrong key or wrong source (nothing
 * changed), 404 not a callback path or an unknown phone. Every refusal says why.
 */
export interface CallbackResult {
  readonly status: 200 | 400 | 403 | 404;
  readonly refused?: CallbackRefusal;
}

/** What the monitor needs to point a phone's action URLs at the server. */
export interface MonitorSetup {
  /** Notification → the phone setting that holds its URL. */
  readonly notifications: ReadonlyMap<NotificationName, string>;
  /** Query to append to every notification URL, with the phone's `$variables`. */
  readonly variables: string;
  /**
   * Set when the phone takes its URLs from provisioning (docs/phone-profiles.md §2.4): the
   * set-up only checks that the phone answers, and the administrator loads these lines.
   */
  readonly provisioning?: ProvisioningLines;
}

// --- The server's parts ---

/** A part of the server that follows the configuration. */
export interface Component {
  readonly name: string;
  /** Takes new valid settings; must not throw for settings that passed validation. */
  apply(settings: Settings): void | Promise<void>;
  /** Stops the component: listeners closed, timers cleared, work drained. */
  close(): Promise<void>;
  /** Plain JSON data for the status page; never a secret. */
  status?(): unknown;
}

// --- Cloud phones: provider extensions as devices (docs/cloud-phones.md) ---

/**
 * A party of a provider telephony session, as the provider reports it for one extension
 * (docs/cloud-phones.md §4). The monitor turns it into the events a SNOM phone's action URLs
 * give.
 */
export interface CloudPartyReport {
  /** The extension number: the device on the channel. */
  readonly device: string;
  /** The provider's telephony session id: one call. */
  readonly callId: string;
  /** The party's `status.code`: Setup, Proceeding, Answered, Hold, Disconnected, Gone, … */
  readonly status: string;
  /** The party's `status.reason` (BlindTransfer, AttendedTransfer, …), or "". */
  readonly reason: string;
  readonly direction: "incoming" | "outgoing";
  /** The other party's number or extension number, reduced like a SNOM's `$remote`. */
  readonly remote: string;
  readonly displayName: string;
}

/** The calls a provider extension has now, for adopting and reconciling calls. */
export interface CloudSnapshot {
  readonly device: string;
  /** One report per call of the extension, in its current state. */
  readonly parties: readonly CloudPartyReport[];
}

/**
 * What the monitor needs from the provider for cloud devices (docs/cloud-phones.md §3, §4):
 * commands, and party changes while a device is watched. Declared here so that the monitor
 * never imports the provider; `server/` hands the provider's implementation in.
 */
export interface CloudPort {
  /** True when the extension is a configured `phone=<ext>@provider` device. */
  has(device: string): boolean;
  /**
   * Sends a call command to the provider for its extension; SUCCESS only when the provider
   * accepted it, ERROR within `phoneTimeoutSeconds` of its arrival otherwise. Never rejects.
   */
  execute(command: CallCommand): Promise<Outcome>;
  /**
   * Starts watching the extension's calls: resolves once the event subscription is live,
   * with the calls the extension already has. Never rejects.
   */
  watch(device: string): Promise<
    { readonly ok: true; readonly snapshot: CloudSnapshot } | {
      readonly ok: false;
      readonly reason: ErrorReason;
      readonly detail?: string;
    }
  >;
  /** Stops watching; the subscription closes when no device is watched. */
  unwatch(device: string): void;
  /**
   * Where party changes and reconciliations go, in the provider's order. One listener; a
   * later call replaces it.
   */
  listen(listener: CloudListener): void;
}

/** Receives what a {@link CloudPort} learns. Must not throw. */
export interface CloudListener {
  /** A party of a watched extension changed. */
  report(report: CloudPartyReport): void;
  /**
   * Events may have been lost (a new subscription after failed recovery): these are the
   * extension's calls now; calls not among them have ended.
   */
  reconcile(snapshot: CloudSnapshot): void;
}

// --- The call journal (docs/call-journal.md) ---

/** How a call ended, as the journal keeps it (docs/call-journal.md §2). */
export type CallOutcome =
  | "answered"
  | "missed"
  | "rejected"
  | "busy"
  | "transferred"
  | "elsewhere"
  | "failed";

/**
 * One call that ended on a device, desk or cloud phone (docs/call-journal.md §2). Times are
 * epoch milliseconds.
 */
export interface CallRecord {
  readonly device: string;
  readonly direction: "incoming" | "outgoing";
  /** The far end's number (user part), "" when the phone did not say. */
  readonly number: string;
  /** The far end's display name, "" when unknown. */
  readonly name: string;
  readonly startedAt: number;
  /** When the call was first connected; undefined for calls never answered. */
  readonly answeredAt?: number;
  readonly endedAt: number;
  readonly outcome: CallOutcome;
  /** For a transferred call: the number it went to, "" when unknown. */
  readonly transferredTo?: string;
  /** The callRef the call had on the channel (unique per server run). */
  readonly callRef: number;
}

/**
 * Where the monitor hands every call that ended (docs/call-journal.md §2). Declared here so
 * the monitor never imports the journal; `server/` wires them. Must not throw or block.
 */
export interface CallRecordSink {
  record(call: CallRecord): void;
}

/** A call as the journal holds it: the record and its row id. */
export interface CallRow extends CallRecord {
  readonly id: number;
}

/** Where a page of calls starts: after this call, in newest-first order. */
export interface CallCursor {
  readonly startedAt: number;
  readonly id: number;
}

/** A query of the journal, already checked (docs/call-journal.md §4). */
export interface CallQuery {
  readonly device?: string;
  /** Calls that began at or after this time. */
  readonly since?: number;
  /** Calls that began before this time. */
  readonly until?: number;
  readonly outcome?: CallOutcome;
  /** The end of the far end's number (at least one digit other than leading zeros). */
  readonly number?: string;
  /** 1-1000. */
  readonly limit: number;
  readonly after?: CallCursor;
}

/** One page of calls, newest first; `next` when there are more. */
export interface CallPage {
  readonly calls: readonly CallRow[];
  readonly next?: CallCursor;
}

/**
 * What the status page and the API read from the journal (docs/call-journal.md §4). Declared
 * here so the status page never imports the journal; `server/` hands it in.
 */
export interface CallJournalReader {
  /** Why there is nothing to read ("the journal is off", …); undefined when readable. */
  unavailable(): string | undefined;
  /** A page of calls; throws only when the file cannot be read. */
  query(query: CallQuery): CallPage;
  /** Calls of one outcome that began at `since` or later, per device. */
  countByDevice(outcome: CallOutcome, since: number): readonly { device: string; count: number }[];
}
