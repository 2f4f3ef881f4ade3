/**
 * Call events: what the monitor tells channels about a device (channel-protocol.md §4).
 * Channels turn them into event lines; the monitor never formats text.
 */

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
  | { readonly type: "ConnectionCleared" }
  | { readonly type: "Held" }
  | { readonly type: "Retrieved" }
  | { readonly type: "Transferred"; readonly remote: string };

/** One event of one device, with the device's calls right after it happened. */
export type CallEvent = CallEventBody & {
  readonly device: string;
  readonly calls: readonly CallInfo[];
};
