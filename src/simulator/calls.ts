/**
 * The call model of one simulated SNOM phone (docs/snom.md §9.5, §5.6). Pure: every
 * operation changes the phone's calls and returns the effects — action-URL events for this
 * phone, and SIP-like messages for the other party, which the network delivers.
 *
 * A call's states: `dialing` (outgoing, not answered yet) → `connected` ⇄ `held`;
 * `ringing` (incoming) → `connected`. A call ends by being removed. The phone itself is idle
 * with no call, and is off-hook (the `offhook`/`onhook` events) while it has a call that is
 * not just ringing, or after OFFHOOK/SPEAKER/HEADSET was pressed.
 *
 * What fires (§5.6): answering fires `connected` on both ends; hanging up a connected call
 * fires `disconnected` on both ends; rejecting a ringing call with CANCEL fires nothing here
 * (the caller sees `disconnected`); a caller giving up fires `missed` here. `number=` during
 * a connected call holds it first (§9.5). TRANSFER with one held and one connected call
 * joins them (attended transfer); with one call, TRANSFER asks for a target, and the digits
 * and ENTER, or a `number=`, transfer it blind; on a ringing call that deflects it.
 */

/** A call's state. */
export type SimCallState = "dialing" | "ringing" | "connected" | "held";

/** Who the other end of a call is: another simulated phone, or someone outside. */
export type Peer =
  | { readonly kind: "phone"; readonly extension: string }
  | { readonly kind: "external"; readonly number: string; readonly display: string };

/** The other party as the phone shows it: the user part of its address and a name. */
export interface SimParty {
  readonly user: string;
  readonly display: string;
}

/** One call, as tests and action URLs see it. */
export interface SimCall {
  readonly callId: string;
  readonly direction: "incoming" | "outgoing";
  readonly state: SimCallState;
  readonly remote: SimParty;
  readonly peer: Peer;
}

/**
 * What happens to a phone's calls, as the families report it through their action URLs
 * (docs/snom.md §5.1, docs/yealink.md §4). Each family maps the names it has a setting for
 * and reports nothing for the others: a SNOM has none for `rejected`, `forwarded`,
 * `transfer_failed`, `remote_busy`, `cancelled`, `busy` and `idle`.
 */
export type SimEventName =
  | "incoming"
  | "outgoing"
  | "connected"
  | "disconnected"
  | "missed"
  | "rejected"
  | "forwarded"
  | "remote_busy"
  | "cancelled"
  | "hold"
  | "unhold"
  | "transfer"
  | "blind_transfer"
  | "attended_transfer"
  | "received_attended_transfer"
  | "transfer_failed"
  | "offhook"
  | "onhook"
  | "dnd_on"
  | "dnd_off"
  | "busy"
  | "idle"
  | "setup";

/** How a call ended, as the other party learns it. */
export type EndHow = "bye" | "cancel" | "reject";

/** What an operation caused. */
export type Effect =
  | {
    readonly kind: "event";
    readonly name: SimEventName;
    readonly call?: SimCall;
    readonly cancelReason?: string;
  }
  /** A new outgoing call: ring the peer. */
  | { readonly kind: "invite"; readonly callId: string; readonly peer: Peer }
  | { readonly kind: "answered"; readonly callId: string; readonly peer: Peer }
  | { readonly kind: "ended"; readonly callId: string; readonly peer: Peer; readonly how: EndHow }
  /** Blind transfer: the peer should call `target` instead. */
  | {
    readonly kind: "refer";
    readonly callId: string;
    readonly peer: Peer;
    readonly target: string;
  }
  /** A ringing call was deflected: the caller now rings `target`. */
  | {
    readonly kind: "deflect";
    readonly callId: string;
    readonly peer: Peer;
    readonly target: string;
  }
  /** Attended transfer: the two peers are now talking to each other. */
  | {
    readonly kind: "join";
    readonly left: { readonly callId: string; readonly peer: Peer };
    readonly right: { readonly callId: string; readonly peer: Peer };
  };

/** Key names the model knows (docs/snom.md §2.2); digits, `*` and `#` come on top. */
export const KNOWN_KEYS: ReadonlySet<string> = new Set([
  "CANCEL",
  "ENTER",
  "OFFHOOK",
  "ONHOOK",
  "LEFT",
  "RIGHT",
  "UP",
  "DOWN",
  "VOLUME_UP",
  "VOLUME_DOWN",
  "MENU",
  "MUTE",
  "REDIAL",
  "DND",
  "REC",
  "SPEAKER",
  "HEADSET",
  "TRANSFER",
  "F_HOLD",
  "F_R",
  "DISCONNECT",
  "F_CONFERENCE",
  "F_CONF_ON",
  "F_TRANSFER",
  "F_DND",
  "F_REC",
  "F_ADR_BOOK",
  "F_MENU",
  "F_REDIAL",
  "F_MUTE",
  "F1",
  "F2",
  "F3",
  "F4",
]);

/** True for a key name `command.htm?key=` accepts. */
export function isKnownKey(key: string): boolean {
  return KNOWN_KEYS.has(key) || /^[0-9*#]$/.test(key) || /^P\d{1,2}$/.test(key) ||
    /^EK\d{1,3}$/.test(key);
}

/** What a model needs from outside: who it is, how numbers resolve, fresh call ids. */
export interface CallModelOptions {
  readonly self: SimParty;
  /** The party and peer a dialled number reaches. */
  readonly resolve: (target: string) => { readonly peer: Peer; readonly party: SimParty };
  readonly newCallId: () => string;
  /** True for a target a transfer cannot reach: such a transfer fails and the call stays. */
  readonly transferFails?: (target: string) => boolean;
}

type Call = {
  callId: string;
  direction: "incoming" | "outgoing";
  state: SimCallState;
  remote: SimParty;
  peer: Peer;
  heldSeq: number;
};

/** The calls of one phone. */
export class CallModel {
  readonly #o: CallModelOptions;
  readonly #calls: Call[] = [];
  #entry?: { mode: "dial" | "transfer"; digits: string; callId?: string };
  #handset = false;
  #offhook = false;
  #holdSeq = 0;
  #lastDialed?: string;
  #dnd = false;

  constructor(options: CallModelOptions) {
    this.#o = options;
  }

  /** The calls now, oldest first. */
  get calls(): SimCall[] {
    return this.#calls.map(view);
  }

  /** Whether do-not-disturb is on: incoming calls are refused. */
  get dnd(): boolean {
    return this.#dnd;
  }

  /** The digits being typed, if the phone waits for a number to dial or transfer to. */
  get entry(): { readonly mode: "dial" | "transfer"; readonly digits: string } | undefined {
    return this.#entry && { mode: this.#entry.mode, digits: this.#entry.digits };
  }

  /** Presses keys in order (`command.htm?key=`); unknown keys must be refused before. */
  press(keys: readonly string[]): Effect[] {
    const out: Effect[] = [];
    for (const key of keys) this.#press(key, out);
    return out;
  }

  /** `command.htm?number=`: completes a pending transfer, or dials. */
  dial(target: string): Effect[] {
    const out: Effect[] = [];
    if (this.#entry?.mode === "transfer") this.#completeTransfer(target, out);
    else this.#dial(target, out);
    this.#syncHook(out);
    return out;
  }

  /** `command.htm?RELEASE_ALL_CALLS`. */
  releaseAll(): Effect[] {
    const out: Effect[] = [];
    this.#entry = undefined;
    // Ending every call is no one's rejection nor giving up: only the ends are reported.
    for (const c of [...this.#calls]) this.#hangUp(c, out, false);
    this.#handset = false;
    this.#syncHook(out);
    return out;
  }

  /** The local user answers a ringing call (the given one, or the newest). */
  answer(callId?: string): Effect[] {
    const out: Effect[] = [];
    const ring = callId === undefined
      ? this.#ringing()
      : this.#calls.find((c) => c.callId === callId && c.state === "ringing");
    if (ring) this.#answer(ring, out);
    this.#syncHook(out);
    return out;
  }

  /** The local user ends a call (the given one, or what CANCEL would end). */
  hangUp(callId?: string): Effect[] {
    if (callId === undefined) return this.press(["CANCEL"]);
    const out: Effect[] = [];
    const call = this.#calls.find((c) => c.callId === callId);
    if (call) this.#hangUp(call, out);
    this.#syncHook(out);
    return out;
  }

  /** Holds the given connected call (a Yealink's `HOLD:<id>`); anything else does nothing. */
  hold(callId: string): Effect[] {
    const out: Effect[] = [];
    const call = this.#calls.find((c) => c.callId === callId);
    if (call?.state === "connected") this.#hold(call, out);
    return out;
  }

  /**
   * Takes the given held call back (a Yealink's `UNHOLD:<id>`); a connected call is held
   * first, as when the user picks the held line.
   */
  unhold(callId: string): Effect[] {
    const out: Effect[] = [];
    const call = this.#calls.find((c) => c.callId === callId);
    if (call?.state !== "held") return out;
    const active = this.#active();
    if (active?.state === "connected") this.#hold(active, out);
    call.state = "connected";
    out.push({ kind: "event", name: "unhold", call: view(call) });
    return out;
  }

  /** A call comes in. With DND on it is refused at once, and nothing fires. */
  incoming(callId: string, remote: SimParty, peer: Peer): Effect[] {
    if (this.#dnd) return [{ kind: "ended", callId, peer, how: "reject" }];
    const call: Call = {
      callId,
      direction: "incoming",
      state: "ringing",
      remote,
      peer,
      heldSeq: 0,
    };
    this.#calls.push(call);
    return [{ kind: "event", name: "incoming", call: view(call) }];
  }

  /** The called party answered an outgoing call. */
  remoteAnswered(callId: string): Effect[] {
    const call = this.#calls.find((c) => c.callId === callId && c.state === "dialing");
    if (!call) return [];
    call.state = "connected";
    return [{ kind: "event", name: "connected", call: view(call) }];
  }

  /**
   * The other party ended the call: a ringing call is then missed; an outgoing call it
   * turned down (`how` is `reject`) was refused before the disconnect.
   */
  remoteEnded(callId: string, cancelReason = "", how?: EndHow): Effect[] {
    const out: Effect[] = [];
    const call = this.#remove(callId);
    if (!call) return out;
    if (call.state === "ringing") {
      out.push({ kind: "event", name: "missed", call: view(call), cancelReason });
    } else {
      if (call.state === "dialing" && how === "reject") {
        out.push({ kind: "event", name: "remote_busy", call: view(call) });
      }
      out.push({ kind: "event", name: "disconnected", call: view(call) });
    }
    this.#syncHook(out);
    return out;
  }

  /** This phone's call was transferred blind by the other party: call `target` instead. */
  referred(callId: string, target: string): Effect[] {
    const out: Effect[] = [];
    const call = this.#remove(callId);
    if (!call) return out;
    out.push({ kind: "event", name: "disconnected", call: view(call) });
    this.#dial(target, out);
    this.#syncHook(out);
    return out;
  }

  /** The phone this outgoing call rang deflected it: it now rings someone else. */
  redirected(callId: string, remote: SimParty, peer: Peer): Effect[] {
    const call = this.#calls.find((c) => c.callId === callId);
    if (call) {
      call.remote = remote;
      call.peer = peer;
    }
    return [];
  }

  /**
   * After an attended transfer the old call is replaced by a new, connected one. `received`
   * marks the phone that was the transfer target (it receives the replacing INVITE).
   */
  replaced(
    oldId: string,
    newId: string,
    remote: SimParty,
    peer: Peer,
    received: boolean,
  ): Effect[] {
    const out: Effect[] = [];
    const old = this.#remove(oldId);
    if (old) out.push({ kind: "event", name: "disconnected", call: view(old) });
    const call: Call = {
      callId: newId,
      direction: old?.direction ?? "incoming",
      state: "connected",
      remote,
      peer,
      heldSeq: 0,
    };
    this.#calls.push(call);
    if (received) out.push({ kind: "event", name: "received_attended_transfer", call: view(call) });
    out.push({ kind: "event", name: "connected", call: view(call) });
    this.#syncHook(out);
    return out;
  }

  #press(key: string, out: Effect[]) {
    const entry = this.#entry;
    if (/^[0-9*#]$/.test(key)) {
      if (entry) entry.digits += key;
      else if (!this.#active()) this.#entry = { mode: "dial", digits: key };
      // During a call, a digit is DTMF: nothing changes in the model.
      return;
    }
    switch (key) {
      case "ENTER":
        if (entry?.mode === "transfer") this.#completeTransfer(entry.digits, out);
        else if (entry?.mode === "dial") {
          this.#entry = undefined;
          if (entry.digits !== "") this.#dial(entry.digits, out);
        } else {
          const ring = this.#ringing();
          if (ring) this.#answer(ring, out);
        }
        break;
      case "OFFHOOK":
      case "SPEAKER":
      case "HEADSET": {
        const ring = this.#ringing();
        if (ring) this.#answer(ring, out);
        else if (!this.#active()) {
          this.#handset = true;
          this.#entry ??= { mode: "dial", digits: "" };
        }
        break;
      }
      case "CANCEL":
        if (entry) this.#entry = undefined;
        else {
          const target = this.#ringing() ?? this.#active() ?? this.#held()[0];
          if (target) this.#hangUp(target, out);
        }
        this.#handset = false;
        break;
      case "ONHOOK":
      case "DISCONNECT": {
        const active = this.#active();
        if (active) this.#hangUp(active, out);
        if (entry?.mode === "dial") this.#entry = undefined;
        this.#handset = false;
        break;
      }
      case "F_HOLD":
      case "F_R": {
        const active = this.#active();
        if (active?.state === "connected") this.#hold(active, out);
        else if (!active) {
          const held = this.#held()[0];
          if (held) {
            held.state = "connected";
            out.push({ kind: "event", name: "unhold", call: view(held) });
          }
        }
        break;
      }
      case "TRANSFER":
      case "F_TRANSFER":
        this.#transferKey(out);
        break;
      case "REDIAL":
      case "F_REDIAL":
        if (this.#lastDialed !== undefined) this.#dial(this.#lastDialed, out);
        break;
      case "DND":
      case "F_DND":
        this.#dnd = !this.#dnd;
        out.push({ kind: "event", name: this.#dnd ? "dnd_on" : "dnd_off" });
        break;
      default:
        // Navigation, volume, menu and function keys change no call.
        break;
    }
    this.#syncHook(out);
  }

  #transferKey(out: Effect[]) {
    const active = this.#active();
    const held = this.#held();
    if (active?.state === "connected" && held.length > 0) {
      const first = held[0];
      out.push({ kind: "event", name: "transfer", call: view(first) });
      out.push({ kind: "event", name: "attended_transfer", call: view(first) });
      this.#remove(first.callId);
      this.#remove(active.callId);
      out.push({ kind: "event", name: "disconnected", call: view(first) });
      out.push({ kind: "event", name: "disconnected", call: view(active) });
      out.push({
        kind: "join",
        left: { callId: first.callId, peer: first.peer },
        right: { callId: active.callId, peer: active.peer },
      });
      this.#entry = undefined;
      return;
    }
    const subject = active?.state === "connected"
      ? active
      : active
      ? undefined
      : this.#ringing() ?? held[0];
    if (subject) this.#entry = { mode: "transfer", digits: "", callId: subject.callId };
  }

  #completeTransfer(target: string, out: Effect[]) {
    const callId = this.#entry?.callId;
    this.#entry = undefined;
    const call = this.#calls.find((c) => c.callId === callId);
    if (!call || target === "") return;
    if (call.state !== "ringing" && this.#o.transferFails?.(target)) {
      // The target cannot be reached: the call stays as it was.
      out.push({ kind: "event", name: "transfer_failed", call: view(call) });
      return;
    }
    this.#remove(call.callId);
    if (call.state === "ringing") {
      out.push({ kind: "event", name: "forwarded", call: view(call) });
      out.push({ kind: "deflect", callId: call.callId, peer: call.peer, target });
      return;
    }
    out.push({ kind: "event", name: "transfer", call: view(call) });
    out.push({ kind: "event", name: "blind_transfer", call: view(call) });
    out.push({ kind: "event", name: "disconnected", call: view(call) });
    out.push({ kind: "refer", callId: call.callId, peer: call.peer, target });
  }

  #dial(target: string, out: Effect[]) {
    this.#entry = undefined;
    if (target === "") return;
    const active = this.#active();
    if (active?.state === "connected") this.#hold(active, out);
    else if (active) this.#hangUp(active, out);
    this.#lastDialed = target;
    const { peer, party } = this.#o.resolve(target);
    const call: Call = {
      callId: this.#o.newCallId(),
      direction: "outgoing",
      state: "dialing",
      remote: party,
      peer,
      heldSeq: 0,
    };
    this.#calls.push(call);
    this.#goOffhook(out);
    out.push({ kind: "event", name: "outgoing", call: view(call) });
    out.push({ kind: "invite", callId: call.callId, peer });
  }

  #answer(ring: Call, out: Effect[]) {
    const active = this.#active();
    if (active?.state === "connected") this.#hold(active, out);
    else if (active) this.#hangUp(active, out);
    ring.state = "connected";
    this.#goOffhook(out);
    out.push({ kind: "event", name: "connected", call: view(ring) });
    out.push({ kind: "answered", callId: ring.callId, peer: ring.peer });
  }

  #hold(call: Call, out: Effect[]) {
    call.state = "held";
    call.heldSeq = ++this.#holdSeq;
    out.push({ kind: "event", name: "hold", call: view(call) });
  }

  /** Ends a call; `byUser` when the user rejected or gave it up (not RELEASE_ALL_CALLS). */
  #hangUp(call: Call, out: Effect[], byUser = true) {
    this.#remove(call.callId);
    if (this.#entry?.callId === call.callId) this.#entry = undefined;
    this.#handset = false;
    if (call.state === "ringing") {
      // A SNOM fires no action URL for it (docs/snom.md §5.6); a Yealink reports it.
      if (byUser) out.push({ kind: "event", name: "rejected", call: view(call) });
      out.push({ kind: "ended", callId: call.callId, peer: call.peer, how: "reject" });
      return;
    }
    // Giving up an outgoing call before an answer is reported on its own first.
    if (call.state === "dialing" && byUser) {
      out.push({ kind: "event", name: "cancelled", call: view(call) });
    }
    out.push({ kind: "event", name: "disconnected", call: view(call) });
    out.push({
      kind: "ended",
      callId: call.callId,
      peer: call.peer,
      how: call.state === "dialing" ? "cancel" : "bye",
    });
  }

  #remove(callId: string): Call | undefined {
    const i = this.#calls.findIndex((c) => c.callId === callId);
    if (i < 0) return undefined;
    if (this.#entry?.callId === callId) this.#entry = undefined;
    return this.#calls.splice(i, 1)[0];
  }

  #active(): Call | undefined {
    return this.#calls.find((c) => c.state === "connected" || c.state === "dialing");
  }

  #ringing(): Call | undefined {
    return this.#calls.findLast((c) => c.state === "ringing");
  }

  #held(): Call[] {
    return this.#calls.filter((c) => c.state === "held").sort((a, b) => b.heldSeq - a.heldSeq);
  }

  #goOffhook(out: Effect[]) {
    if (this.#offhook) return;
    this.#offhook = true;
    out.push({ kind: "event", name: "offhook" });
  }

  #syncHook(out: Effect[]) {
    const wanted = this.#handset || this.#calls.some((c) => c.state !== "ringing");
    if (wanted === this.#offhook) return;
    this.#offhook = wanted;
    out.push({ kind: "event", name: wanted ? "offhook" : "onhook" });
  }
}

function view(c: Call): SimCall {
  return {
    callId: c.callId,
    direction: c.direction,
    state: c.state,
    remote: c.remote,
    peer: c.peer,
  };
}
