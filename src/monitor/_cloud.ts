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
 * `status.reason` values of a `Disconnected` party that say why a call ended unanswered, as the
 * desk phones' reports say it (docs/provider.md §7). The state machine applies them only to a
 * call still ringing or dialing, so a late one changes nothing.
 */
const UNANSWERED: Readonly<Record<"incoming" | "outgoing", ReadonlyMap<string, NotificationName>>> =
  {
    incoming: new Map([["Rejected", "onRejected"]]),
    // The called party turned the call down, or was busy.
    outgoing: new Map([["Rejected", "onRemoteBusy"], ["TargetBusy", "onRemoteBusy"]]),
  };

/**
 * The report for one party change, given the state the call has now (if known); undefined
 * for changes that mean nothing on the channel (an inbound Setup, `Tds`, `VoiceMailScreening`).
 * Every party status RingCentral documents (docs/provider.md §7) is one of the cases.
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
    case "Parked":
    case "VoiceMail":
    case "FaxReceive":
      // The call left the extension's phone: parked in an orbit, or taken by voicemail or fax.
      notification = "onDisconnected";
      break;
    case "Disconnected":
    case "Gone":
      if (TRANSFERS.has(r.reason)) {
        notification = "onTransfer";
        // The target is the number the transfer named, not the call's own party.
        remote = "";
      } else notification = UNANSWERED[r.direction].get(r.reason) ?? "onDisconnected";
      break;
  }
  if (!notification) return undefined;
  return { notification, callId: r.callId, remote, displayName: r.displayName };
}
