/**
 * What every simulated phone has in common, whatever its family (SNOM, Yealink): a call model
 * on a simulated network, and the things its user and the other parties do to its calls. A
 * family adds its web interface and how it reports events (`fire`).
 */

import { CallModel, type Effect, type SimCall, type SimParty } from "./calls.ts";

/** A phone of any family as its network sees it: a call model and a user. */
export interface SimEndpoint {
  readonly extension: string;
  readonly displayName: string;
  readonly callModel: CallModel;
  /** Effects of messages from the network. */
  receive(effects: readonly Effect[]): void;
  /** The phone's user answers a ringing call (the given one, or the newest). */
  answer(callId?: string): void;
  /** The phone's user ends a call. */
  hangup(callId?: string): void;
}

/** What a phone needs from its network. */
export interface SimSwitch {
  readonly domain: string;
  resolve(target: string): { peer: SimCall["peer"]; party: SimParty };
  newCallId(): string;
  /** The simulated phone (of any family) with this extension, if any. */
  phone(extension: string): SimEndpoint | undefined;
  deliver(from: SimEndpoint, effect: Effect): void;
  detach(phone: SimEndpoint): void;
}

/** A simulated phone on a network: its calls, its user, and the far ends of its calls. */
export abstract class Handset implements SimEndpoint {
  readonly extension: string;
  readonly displayName: string;
  /** The phone's calls as its firmware sees them. */
  protected readonly sim: CallModel;
  /** The network it is on. */
  protected readonly network: SimSwitch;
  /** Numbers a transfer from this phone cannot reach: such a transfer fails, the call stays. */
  readonly unreachable = new Set<string>();

  constructor(extension: string, displayName: string, network: SimSwitch) {
    this.extension = extension;
    this.displayName = displayName;
    this.network = network;
    this.sim = new CallModel({
      self: { user: extension, display: displayName },
      resolve: (target) => network.resolve(target),
      newCallId: () => network.newCallId(),
      transferFails: (target) => this.unreachable.has(target),
    });
  }

  /** The phone's calls, oldest first. */
  get calls(): SimCall[] {
    return this.sim.calls;
  }

  /** The call model, for the network. */
  get callModel(): CallModel {
    return this.sim;
  }

  /** Effects of messages from the network. */
  receive(effects: readonly Effect[]): void {
    this.apply(effects);
  }

  /** Dials a number on the phone. */
  dial(number: string): void {
    this.apply(this.sim.dial(number));
  }

  /** The phone's user answers a ringing call (the given one, or the newest). */
  answer(callId?: string): void {
    this.apply(this.sim.answer(callId));
  }

  /** The phone's user ends a call (the given one, or what the end key would end). */
  hangup(callId?: string): void {
    this.apply(this.sim.hangUp(callId));
  }

  /** An outside caller rings this phone; returns the new call's (network) id. */
  callFrom(number: string, options: { displayName?: string } = {}): string {
    const callId = this.network.newCallId();
    const display = options.displayName ?? "";
    this.apply(
      this.sim.incoming(callId, { user: number, display }, {
        kind: "external",
        number,
        display,
      }),
    );
    return callId;
  }

  /**
   * The other party ends a call (the given one, or the newest): a ringing call is then
   * missed. When the other party is a simulated phone, its user hangs up there. An outside
   * party's CANCEL may carry a Reason header (`$cancel_reason`), such as
   * `SIP;cause=200;text="Call completed elsewhere"` when another phone answered.
   */
  remoteHangup(callId?: string, cancelReason = ""): void {
    const call = this.pick(callId);
    if (!call) return;
    if (call.peer.kind === "phone") {
      this.network.phone(call.peer.extension)?.hangup(call.callId);
    } else this.apply(this.sim.remoteEnded(call.callId, cancelReason));
  }

  /** The called party answers an outgoing call (the given one, or the newest dialing one). */
  remoteAnswer(callId?: string): void {
    const call = this.pick(callId, "dialing");
    if (!call) return;
    if (call.peer.kind === "phone") {
      this.network.phone(call.peer.extension)?.answer(call.callId);
    } else this.apply(this.sim.remoteAnswered(call.callId));
  }

  /** The given call, or the newest (in `state`, if given). */
  protected pick(callId?: string, state?: SimCall["state"]): SimCall | undefined {
    const calls = this.sim.calls.filter((c) => state === undefined || c.state === state);
    return callId === undefined ? calls.at(-1) : calls.find((c) => c.callId === callId);
  }

  /** Reports events the family's way; hands everything else to the network. */
  protected apply(effects: readonly Effect[]): void {
    for (const e of effects) {
      if (e.kind === "event") this.fire(e);
      else this.network.deliver(this, e);
    }
  }

  /** How this family reports an event of its calls (its action URLs). */
  protected abstract fire(e: Extract<Effect, { kind: "event" }>): void;
}
