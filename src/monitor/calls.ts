/**
 * The calls of one device, driven by what its phone reports (action URLs, docs/snom.md §5.6)
 * and by the effects of channel commands, turned into the events of docs/channel-protocol.md §4.
 * Pure: no I/O, no timers; time comes in as `now`, the server-wide call references from
 * `nextCallRef`.
 *
 * Calls are keyed by the phone's `$call-id`. One call:
 *
 * ```
 *              incoming: Delivered                   connected: Established
 *   (none) ──────────────────────────▶ alerting ──────────────────────────────┐
 *     │                                                                       ▼
 *     │  outgoing: Originated                     connected: Established
 *     ├──────────────────────────────▶ dialing ──────────────────────────▶ connected
 *     │  MakeCall accepted: Initiated     ▲                                  │   ▲
 *     └───────────────────────────────────┘                      hold: Held  │   │  unhold:
 *        (the phone's next outgoing report for that number                   ▼   │  Retrieved
 *         binds the phone's call id to it: no event)                          held
 *
 *  any state ──disconnected / missed──▶ (cleared): ConnectionCleared (callPickup when the
 *                                         missed call's CANCEL says it was answered elsewhere)
 *  alerting ──rejected / forwarded──▶ (cleared): ConnectionCleared callRejected / redirected
 *  dialing ──remote busy / cancelled──▶ (cleared): ConnectionCleared busy / callCancelled
 *  any state ──transfer, blind or attended──▶ (cleared): Transferred
 *  any state ──transfer failed──▶ the same state: the transfer is forgotten, no event
 *  alerting ──ClearConnection accepted, no other call──▶ (cleared): ConnectionCleared callRejected
 *  alerting, dialing ──no report for `unansweredMs`──▶ (cleared): ConnectionCleared
 *  any state ──another call's report says $nr_ongoing_calls = 0──▶ (cleared): ConnectionCleared
 *  any state ──idle (the phone has no call)──▶ (cleared): ConnectionCleared
 *  any state ──setup (the phone restarted)──▶ (cleared): ConnectionCleared
 * ```
 *
 * Rules that keep the state sound when reports are lost, repeated or out of order:
 * - Every call gets one Delivered, Originated or Initiated (or none when it was first seen
 *   connected), exactly one Established the first time it is connected or held (a hold or
 *   unhold of a call never seen connected implies it), and one final ConnectionCleared or
 *   Transferred. Reports that would change nothing (a second incoming, connected on a
 *   connected or held call, hold on a held call) publish nothing.
 * - A call ended by the phone's own report leaves its call id behind as ended: later reports
 *   for it (duplicates, stragglers) are ignored. A call the server ended on a guess (timeout,
 *   idle count, ClearConnection, a transfer's other leg) is not marked ended, so if the guess
 *   was wrong the phone's next connected/hold/unhold report brings it back.
 * - A connected, hold or unhold report for an unknown call id adopts the call (a restart of
 *   the server mid-call); disconnected, missed and transfer reports for unknown calls are
 *   ignored.
 * - A report without a call id applies to the one call it can mean (the only ringing call for
 *   connected, the only connected call for hold, ...), or is ignored.
 * - Rejected calls: a phone that reports a rejection (a Yealink's reject_incoming_call,
 *   `onRejected`) ends the call at once. A SNOM fires no action URL when a ringing call is
 *   rejected on it. Such a call ends at the next report that says the phone has no call
 *   (`$nr_ongoing_calls` = 0, taken to count ringing calls too, or `onIdle`; a MakeCall the
 *   phone has not reported yet is exempt), or after `unansweredMs` without a report. A
 *   profile without either leaves only the timeout.
 */

import type { NotificationName } from "../config/mod.ts";
import type {
  CallEvent,
  CallEventBody,
  CallInfo,
  CallOutcome,
  CallRecord,
  CallState,
  ClearReason,
} from "../contract.ts";

/** One callback of a phone, already parsed. */
export interface PhoneReport {
  readonly notification: NotificationName;
  /** `$call-id`, or "" when the phone filled none. */
  readonly callId: string;
  /** User part of `$remote` (see `parseParty`), may be "". */
  readonly remote: string;
  readonly displayName: string;
  /** `$nr_ongoing_calls`, when the callback carried a number. */
  readonly ongoing?: number;
  /** `$cancel_reason`: the Reason header of the CANCEL that ended a ringing call, if any. */
  readonly cancelReason?: string;
}

/** Tuning of {@link DeviceCalls}. */
export interface DeviceCallsOptions {
  /** A new server-wide call reference (decimal, unique per server run). */
  readonly nextCallRef: () => number;
  /** An alerting or dialing call without any report for this long has ended unseen. */
  readonly unansweredMs?: number;
  /** How long after TransferCall a MakeCall names the transfer target. */
  readonly transferWindowMs?: number;
}

/** Default of {@link DeviceCallsOptions.unansweredMs}: two minutes. */
export const UNANSWERED_MS = 120_000;
/** Default of {@link DeviceCallsOptions.transferWindowMs}. */
export const TRANSFER_WINDOW_MS = 60_000;
const REMEMBERED_IDS = 256;

interface Call {
  readonly callRef: number;
  /** The phone's call id; "" while unknown (a MakeCall not yet reported, a report without id). */
  callId: string;
  state: CallState;
  direction: "incoming" | "outgoing";
  remote: string;
  displayName: string;
  established: boolean;
  /** When the call began (first report or MakeCall), for the journal. */
  startedAt: number;
  /** When it was first connected. */
  answeredAt?: number;
  /** Set for a call started by MakeCall that the phone has not reported yet. */
  made?: { readonly number: string; readonly transferTarget: boolean };
  lastReportAt: number;
}

const TRANSFERS = new Set<NotificationName>([
  "onTransfer",
  "onBlindTransfer",
  "onAttendedTransfer",
]);

/**
 * Reports that end a call before it was answered, each with the state the call must be in
 * and the cause its ConnectionCleared carries (docs/channel-protocol.md §4).
 */
const UNANSWERED_ENDS: ReadonlyMap<
  NotificationName,
  { readonly state: CallState; readonly reason: ClearReason }
> = new Map([
  ["onRejected", { state: "alerting", reason: "callRejected" }],
  ["onForwarded", { state: "alerting", reason: "redirected" }],
  ["onRemoteBusy", { state: "dialing", reason: "busy" }],
  ["onCallCancelled", { state: "dialing", reason: "callCancelled" }],
]);

/**
 * The journal's outcome of a call that ended unanswered for a reason (docs/call-journal.md
 * §2); a reason not listed leaves the direction's default, missed or failed.
 */
const UNANSWERED_OUTCOMES: Partial<Record<ClearReason, CallOutcome>> = {
  callRejected: "rejected",
  redirected: "transferred",
  busy: "busy",
  callPickup: "elsewhere",
};

/** Remembers up to `limit` keys, forgetting the oldest. */
class Recent<V> {
  readonly #map = new Map<string, V>();
  constructor(readonly limit: number) {}
  get(key: string): V | undefined {
    return this.#map.get(key);
  }
  set(key: string, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    if (this.#map.size > this.limit) this.#map.delete(this.#map.keys().next().value!);
  }
  delete(key: string): void {
    this.#map.delete(key);
  }
}

/** The call state machine of one device; see the module comment for the diagram. */
export class DeviceCalls {
  readonly device: string;
  readonly #nextCallRef: () => number;
  readonly #unansweredMs: number;
  readonly #transferWindowMs: number;
  /** By call reference: insertion order is the order calls began. */
  readonly #calls = new Map<number, Call>();
  readonly #byCallId = new Map<string, Call>();
  /** Call ids the phone itself ended: late reports for them are ignored. */
  readonly #ended = new Recent<true>(REMEMBERED_IDS);
  /** Call ids the server ended on a guess, with their direction, should they come back. */
  readonly #guessed = new Recent<"incoming" | "outgoing">(REMEMBERED_IDS);
  #pendingTransfer?: { readonly at: number; readonly target: string };
  #events: CallEvent[] = [];
  /** Calls that ended, for the journal, until {@link takeRecords}. */
  #records: CallRecord[] = [];

  constructor(device: string, options: DeviceCallsOptions) {
    this.device = device;
    this.#nextCallRef = options.nextCallRef;
    this.#unansweredMs = options.unansweredMs ?? UNANSWERED_MS;
    this.#transferWindowMs = options.transferWindowMs ?? TRANSFER_WINDOW_MS;
  }

  /** The device's calls now, in the order they began. */
  calls(): readonly CallInfo[] {
    const out: CallInfo[] = [];
    for (const c of this.#calls.values()) {
      out.push(
        Object.freeze({
          callRef: c.callRef,
          state: c.state,
          remote: c.remote,
          displayName: c.displayName,
        }),
      );
    }
    return Object.freeze(out);
  }

  /**
   * The calls that ended since the last call of this method, as the journal records them
   * (docs/call-journal.md §2).
   */
  takeRecords(): CallRecord[] {
    const out = this.#records;
    this.#records = [];
    return out;
  }

  /** The state of the call with this call id, when it is one of the device's calls. */
  stateOf(callId: string): CallState | undefined {
    return this.#byCallId.get(callId)?.state;
  }

  /** The phone's call ids of the device's calls (calls without one left out). */
  callIds(): string[] {
    return [...this.#calls.values()].map((c) => c.callId).filter((id) => id !== "");
  }

  /**
   * The phone's id of the call a command acts on, when the phone reported one
   * (docs/phone-profiles.md §2.2): AnswerCall the oldest ringing call; HoldCall the
   * connected call; RetrieveCall the latest held call; ClearConnection the connected call,
   * else the dialing, else the oldest ringing, else the held one. Undefined otherwise.
   */
  targetCallId(command: string): string | undefined {
    const calls = [...this.#calls.values()].filter((c) => c.callId !== "");
    const first = (state: CallState) => calls.find((c) => c.state === state);
    const last = (state: CallState) => calls.findLast((c) => c.state === state);
    let call: Call | undefined;
    if (command === "AnswerCall") call = first("alerting");
    else if (command === "HoldCall") call = last("connected");
    else if (command === "RetrieveCall") call = last("held");
    else if (command === "ClearConnection") {
      call = last("connected") ?? last("dialing") ?? first("alerting") ?? last("held");
    }
    return call?.callId;
  }

  /** Applies one phone report; returns the events it causes, in order. */
  report(r: PhoneReport, now: number): CallEvent[] {
    this.#events = [];
    // A straggler about a call the phone already ended carries stale news, its count included.
    if (r.callId !== "" && this.#ended.get(r.callId)) return this.#events;
    if (r.notification === "onSetup") {
      this.#pendingTransfer = undefined;
      for (const c of [...this.#calls.values()]) {
        this.#drop(c, "guess", { type: "ConnectionCleared" }, now);
      }
      return this.#events;
    }
    const subject = this.#apply(r, now);
    if (r.ongoing === 0 || r.notification === "onIdle") {
      // The phone has no call (other than, perhaps, the one it is reporting about).
      for (const c of [...this.#calls.values()]) {
        if (c !== subject && !c.made) this.#drop(c, "guess", { type: "ConnectionCleared" }, now);
      }
    }
    return this.#events;
  }

  /**
   * A MakeCall to `number` was accepted by the phone: a new dialing call and its Initiated
   * event. Right after TransferCall, the call is the transfer's target leg.
   */
  made(number: string, now: number): CallEvent[] {
    this.#events = [];
    const pending = this.#livePendingTransfer(now);
    const transferTarget = pending !== undefined && pending.target === "";
    if (transferTarget) this.#pendingTransfer = undefined;
    const call = this.#add({
      callId: "",
      state: "dialing",
      direction: "outgoing",
      remote: number,
      displayName: "",
      lastReportAt: now,
      made: { number: comparableNumber(number), transferTarget },
    });
    this.#emit({ type: "Initiated", callRef: call.callRef });
    return this.#events;
  }

  /**
   * ClearConnection was accepted. With only ringing calls, the phone rejected the oldest of
   * them, and a SNOM reports nothing (docs/snom.md §5.6), so it ends here, rejected; a phone
   * that reports the rejection itself may be first, and then there is nothing left to end.
   * Otherwise the phone hung up an active call and reports that itself.
   */
  cleared(now: number): CallEvent[] {
    this.#events = [];
    const calls = [...this.#calls.values()];
    if (calls.length > 0 && calls.every((c) => c.state === "alerting")) {
      this.#drop(calls[0], "guess", { type: "ConnectionCleared", reason: "callRejected" }, now);
    }
    return this.#events;
  }

  /**
   * TransferCall was accepted: with `target`, a blind transfer to it; without, the vendor's
   * sequence, where the next MakeCall names the target.
   */
  transferStarted(target: string | undefined, now: number): void {
    this.#pendingTransfer = { at: now, target: target ?? "" };
  }

  /** When {@link expire} next has work, if ever. */
  nextDeadline(): number | undefined {
    let next: number | undefined;
    for (const c of this.#calls.values()) {
      const at = this.#deadline(c);
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  /** Ends ringing and dialing calls that have gone unreported for too long. */
  expire(now: number): CallEvent[] {
    this.#events = [];
    for (const c of [...this.#calls.values()]) {
      const at = this.#deadline(c);
      if (at !== undefined && now >= at) this.#drop(c, "guess", { type: "ConnectionCleared" }, now);
    }
    return this.#events;
  }

  /**
   * When a ringing or dialing call without a report ends unseen; undefined for other calls.
   * One rule for {@link nextDeadline} and {@link expire}, so the timer and the expiry agree.
   */
  #deadline(c: Call): number | undefined {
    return c.state === "alerting" || c.state === "dialing"
      ? c.lastReportAt + this.#unansweredMs
      : undefined;
  }

  #apply(r: PhoneReport, now: number): Call | undefined {
    let call = this.#find(r);
    const n = r.notification;

    if (call) {
      call.lastReportAt = now;
      if (r.displayName !== "" && call.displayName === "") call.displayName = r.displayName;
    }

    if (n === "onIncomingCall") {
      if (call) return call;
      call = this.#add({
        callId: r.callId,
        state: "alerting",
        direction: "incoming",
        remote: r.remote,
        displayName: r.displayName,
        lastReportAt: now,
      });
      this.#emit({ type: "Delivered", caller: call.remote });
      return call;
    }

    if (n === "onOutgoingCall") {
      if (call) return call;
      const made = this.#madeCallFor(r.remote, true);
      if (made) {
        // The MakeCall's own call, now reported by the phone: Initiated came with the reply,
        // Originated comes now, with the same callRef (docs/channel-protocol.md §4.2).
        call = this.#bind(made, r, now);
        this.#emit({ type: "Originated", called: call.remote });
        return call;
      }
      call = this.#add({
        callId: r.callId,
        state: "dialing",
        direction: "outgoing",
        remote: r.remote,
        displayName: r.displayName,
        lastReportAt: now,
      });
      this.#emit({ type: "Originated", called: call.remote });
      return call;
    }

    if (n === "onConnected" || n === "onHold" || n === "onUnhold") {
      if (!call) {
        const made = this.#madeCallFor(r.remote, false);
        if (made) call = this.#bind(made, r, now);
        else if (r.callId !== "") call = this.#adopt(r, now);
        else return undefined;
      }
      if (n === "onHold") {
        if (call.state === "held") return call;
        this.#establish(call, now);
        call.state = "held";
        this.#emit({ type: "Held" });
      } else if (n === "onUnhold" && call.state === "held") {
        call.state = "connected";
        this.#emit({ type: "Retrieved" });
      } else {
        this.#establish(call, now);
      }
      return call;
    }

    if (n === "onDisconnected" || n === "onMissedCall") {
      if (!call) return call;
      // A ringing call the caller's side cancelled because another phone answered it was not
      // missed: the CANCEL said so (docs/snom.md §5.6).
      const elsewhere = n === "onMissedCall" && answeredElsewhere(r.cancelReason ?? "");
      this.#drop(call, "phone", {
        type: "ConnectionCleared",
        ...(elsewhere ? { reason: "callPickup" as const } : {}),
      }, now);
      return call;
    }

    const unanswered = UNANSWERED_ENDS.get(n);
    if (unanswered) {
      // Only a call still ringing (or still dialing) can be rejected, forwarded, turned down
      // or given up; for any other call the report is stale news and changes nothing.
      if (call?.state === unanswered.state) {
        this.#drop(call, "phone", { type: "ConnectionCleared", reason: unanswered.reason }, now);
      }
      return call;
    }

    if (n === "onTransferFailed") {
      this.#transferFailed();
      return call;
    }

    if (TRANSFERS.has(n)) {
      if (call) this.#transferred(call, r, now);
      return call;
    }
    return call;
  }

  /** The call a report is about: by call id, or the one call a report without id can mean. */
  #find(r: PhoneReport): Call | undefined {
    if (r.callId !== "") return this.#byCallId.get(r.callId);
    const only = (pred: (c: Call) => boolean) => {
      let found: Call | undefined;
      for (const c of this.#calls.values()) {
        if (!pred(c)) continue;
        if (found) return undefined;
        found = c;
      }
      return found;
    };
    switch (r.notification) {
      case "onConnected":
        return only((c) => c.state === "alerting" || c.state === "dialing");
      case "onHold":
        return only((c) => c.state === "connected");
      case "onUnhold":
        return only((c) => c.state === "held");
      case "onMissedCall":
      case "onRejected":
      case "onForwarded":
        return only((c) => c.state === "alerting");
      case "onRemoteBusy":
      case "onCallCancelled":
        return only((c) => c.state === "dialing");
      case "onDisconnected":
        return only(() => true);
      case "onTransfer":
      case "onBlindTransfer":
      case "onAttendedTransfer":
      case "onTransferFailed":
        return only((c) => c.state === "connected") ?? only(() => true);
      default:
        return undefined;
    }
  }

  /**
   * A MakeCall call the phone has not reported yet that this report could be: one for the
   * same number, or, for an outgoing report, the oldest one (the dial plan may have rewritten
   * the number).
   */
  #madeCallFor(remote: string, outgoing: boolean): Call | undefined {
    const wanted = comparableNumber(remote);
    let oldest: Call | undefined;
    for (const c of this.#calls.values()) {
      if (!c.made) continue;
      if (wanted !== "" && c.made.number === wanted) return c;
      oldest ??= c;
    }
    return outgoing ? oldest : undefined;
  }

  #bind(call: Call, r: PhoneReport, now: number): Call {
    call.made = undefined;
    call.callId = r.callId;
    if (r.callId !== "") this.#byCallId.set(r.callId, call);
    if (r.remote !== "") call.remote = r.remote;
    if (r.displayName !== "") call.displayName = r.displayName;
    call.lastReportAt = now;
    return call;
  }

  #adopt(r: PhoneReport, now: number): Call {
    const direction = (r.callId !== "" ? this.#guessed.get(r.callId) : undefined) ?? "incoming";
    if (r.callId !== "") this.#guessed.delete(r.callId);
    return this.#add({
      callId: r.callId,
      state: "connected",
      direction,
      remote: r.remote,
      displayName: r.displayName,
      lastReportAt: now,
    });
  }

  #establish(call: Call, now: number): void {
    if (call.state === "alerting" || call.state === "dialing") call.state = "connected";
    if (call.established) return;
    call.established = true;
    call.answeredAt ??= now;
    this.#emit({ type: "Established", direction: call.direction, remote: call.remote });
  }

  #livePendingTransfer(now: number): { readonly target: string } | undefined {
    const p = this.#pendingTransfer;
    return p && now - p.at <= this.#transferWindowMs ? p : undefined;
  }

  #transferred(call: Call, r: PhoneReport, now: number): void {
    const target = this.#livePendingTransfer(now)?.target ?? "";
    this.#pendingTransfer = undefined;
    const partner = this.#attendedPartner(call);
    const targetLeg = [...this.#calls.values()].find((c) => c.made?.transferTarget);
    this.#drop(call, "phone", {
      type: "Transferred",
      remote: r.remote || target || targetLeg?.remote || call.remote,
    }, now);
    // The device is out of the transfer's other leg too: the held call of an attended
    // transfer, or the MakeCall of the vendor's TransferCall-then-MakeCall sequence.
    if (partner) this.#drop(partner, "guess", { type: "ConnectionCleared" }, now);
    for (const c of [...this.#calls.values()]) {
      if (c.made?.transferTarget) this.#drop(c, "guess", { type: "ConnectionCleared" }, now);
    }
  }

  /**
   * The phone says a transfer failed: its calls stay as they are (the phone reports what it
   * does with them next), but the transfer is over. A TransferCall still waiting for its
   * target is forgotten, and a call made as a transfer's target leg is a call of its own, so a
   * later transfer does not end it as the other leg.
   */
  #transferFailed(): void {
    this.#pendingTransfer = undefined;
    for (const c of this.#calls.values()) {
      if (c.made?.transferTarget) c.made = { ...c.made, transferTarget: false };
    }
  }

  /** With exactly one other call, held against an active one (or vice versa): that call. */
  #attendedPartner(call: Call): Call | undefined {
    const others = [...this.#calls.values()].filter((c) => c !== call && !c.made);
    if (others.length !== 1) return undefined;
    const pair = new Set([others[0].state, call.state]);
    return pair.has("held") && (pair.has("connected") || pair.has("dialing"))
      ? others[0]
      : undefined;
  }

  #add(fields: Omit<Call, "callRef" | "established" | "startedAt">): Call {
    const call: Call = {
      ...fields,
      callRef: this.#nextCallRef(),
      established: false,
      startedAt: fields.lastReportAt,
    };
    this.#calls.set(call.callRef, call);
    if (call.callId !== "") this.#byCallId.set(call.callId, call);
    return call;
  }

  /** Removes a call; `phone` when the phone said it ended, `guess` when the server infers it. */
  #drop(call: Call, why: "phone" | "guess", body: CallEventBody, now: number): void {
    this.#calls.delete(call.callRef);
    this.#record(call, body, now);
    if (call.callId !== "") {
      this.#byCallId.delete(call.callId);
      if (why === "phone") this.#ended.set(call.callId, true);
      else this.#guessed.set(call.callId, call.direction);
    }
    this.#emit(body);
  }

  /**
   * The journal's record of a call that ends now (docs/call-journal.md §2): transferred when
   * it left by a transfer, answered when it was ever connected, else what the reason of its
   * end says (rejected, forwarded, busy, answered on another phone), else missed (incoming)
   * or failed (outgoing).
   */
  #record(call: Call, body: CallEventBody, now: number): void {
    let outcome: CallOutcome;
    if (body.type === "Transferred") outcome = "transferred";
    else if (call.established) outcome = "answered";
    else {
      const reason = body.type === "ConnectionCleared" ? body.reason : undefined;
      outcome = (reason && UNANSWERED_OUTCOMES[reason]) ??
        (call.direction === "incoming" ? "missed" : "failed");
    }
    const endedAt = Math.max(now, call.answeredAt ?? 0, call.startedAt);
    this.#records.push({
      device: this.device,
      direction: call.direction,
      number: call.remote,
      name: call.displayName,
      startedAt: call.startedAt,
      answeredAt: call.answeredAt,
      endedAt,
      outcome,
      ...(body.type === "Transferred" ? { transferredTo: body.remote } : {}),
      callRef: call.callRef,
    });
  }

  #emit(body: CallEventBody): void {
    this.#events.push(Object.freeze({ ...body, device: this.device, calls: this.calls() }));
  }
}

/**
 * True when a CANCEL's Reason header says the call was answered elsewhere: the SIP cause 200
 * (`SIP;cause=200;text="Call completed elsewhere"`, RFC 3326), as forking proxies send it.
 */
export function answeredElsewhere(reason: string): boolean {
  return /^\s*SIP\s*;(?:.*;)?\s*cause\s*=\s*200\b/i.test(reason);
}

/**
 * A number reduced for comparison: only digits, `*`, `#`, and a leading `+` written as `00`,
 * so `+49 30 123` and `004930123` compare equal.
 */
export function comparableNumber(number: string): string {
  const kept = number.replace(/[^0-9*#+]/g, "");
  return kept.startsWith("+") ? "00" + kept.slice(1).replace(/\+/g, "") : kept.replace(/\+/g, "");
}
