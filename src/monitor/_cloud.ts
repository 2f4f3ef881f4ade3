/**
 * Party changes of a cloud phone (docs/cloud-phones.md §4) as the reports a SNOM phone's action
 * URLs would give, so that one call state machine ({@link DeviceCalls}) and one set of callRef
 * rules serve both kinds of device (docs/channel-protocol.md §4.2).
 */

import type { CallState, CloudPartyReport } from "../contract.ts";
import type { NotificationName } from "../config/mod.ts";
import type { PhoneReport } from "./calls.ts";

/** `status.reason` values of a party that left the call by a transfer. */
const TRANSFERS = new Set(["BlindTransfer", "AttendedTransfer", "RccTransfer", "DtmfTransfer"]);

/**
 * The report for one party change, given the state the call has now (if known); undefined
 * for changes that mean nothing on the channel (an inbound Setup, Parked, VoiceMail, …).
 */
export function cloudReport(
  r: CloudPartyReport,
  state: CallState | undefined,
): PhoneReport | undefined {
  let notification: NotificationName | undefined;
  let remote = r.remote;
  switch (r.status) {
    case "Setup":
    case "Proceeding":
      notification = r.direction === "outgoing"
        ? "onOutgoingCall"
        : r.status === "Proceeding"
        ? "onIncomingCall"
        : undefined;
      break;
    case "Answered":
      notification = state === "held" ? "onUnhold" : "onConnected";
      break;
    case "Hold":
      notification = "onHold";
      break;
    case "Disconnected":
    case "Gone":
      if (TRANSFERS.has(r.reason)) {
        notification = "onTransfer";
        // The target is the number the transfer named, not the call's own party.
        remote = "";
      } else notification = "onDisconnected";
      break;
  }
  if (!notification) return undefined;
  const report = { notification, callId: r.callId, remote, displayName: r.displayName };
  // The journal tells a busy far end from a failed call by the provider's reason
  // (docs/call-journal.md §2).
  return notification === "onDisconnected" && /busy/i.test(r.reason)
    ? { ...report, busy: true }
    : report;
}
