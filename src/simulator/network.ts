/**
 * A network of simulated phones: they call each other by extension, and any other number
 * reaches an outside party that tests control (`remoteAnswer`, `remoteHangup`). It plays
 * the part of the PBX between the phones' call models, delivering what one phone's action
 * means to the other party of the call.
 *
 * ```ts
 * const net = new SimNetwork();
 * const a = await net.addPhone({ extension: "101", auth: "digest", username: "u", password: "p" });
 * const b = await net.addPhone({ extension: "102" });
 * a.dial("102");            // b rings; b.calls[0].state === "ringing"
 * await net.close();
 * ```
 */

import { randomBytes } from "node:crypto";
import type { Effect, Peer, SimParty } from "./calls.ts";
import { type SimEndpoint, SimPhone, type SimPhoneOptions, type SimSwitch } from "./phone.ts";
import { type YealinkOptions, YealinkPhone } from "./yealink.ts";

/** Options of a network. */
export interface SimNetworkOptions {
  /** The host part of every SIP address (`$remote` is `user@<domain>`). Default `sim.invalid`. */
  readonly domain?: string;
}

/** Simulated phones wired to each other. */
export class SimNetwork {
  readonly domain: string;
  readonly #phones = new Map<string, SimPhone>();
  readonly #yealinks = new Map<string, YealinkPhone>();
  readonly #switch: SimSwitch;

  constructor(options: SimNetworkOptions = {}) {
    this.domain = options.domain ?? "sim.invalid";
    this.#switch = {
      domain: this.domain,
      resolve: (target) => this.#resolve(target),
      newCallId: () => newCallId(),
      phone: (extension) => this.#endpoint(extension),
      deliver: (from, effect) => this.#deliver(from, effect),
      detach: (phone) => {
        if (this.#phones.get(phone.extension) === phone) this.#phones.delete(phone.extension);
        if (this.#yealinks.get(phone.extension) === phone) this.#yealinks.delete(phone.extension);
      },
    };
  }

  /** Starts a phone and connects it; its extension must be new on this network. */
  async addPhone(options: SimPhoneOptions): Promise<SimPhone> {
    if (this.#endpoint(options.extension)) {
      throw new Error(`extension ${options.extension} is already on the network`);
    }
    const phone = new SimPhone(options, this.#switch);
    this.#phones.set(options.extension, phone);
    try {
      await phone.start(options);
    } catch (e) {
      this.#phones.delete(options.extension);
      throw e;
    }
    return phone;
  }

  /** Starts a simulated Yealink (docs/yealink.md §8) and connects it; its extension must be new. */
  async addYealink(options: YealinkOptions): Promise<YealinkPhone> {
    if (this.#endpoint(options.extension)) {
      throw new Error(`extension ${options.extension} is already on the network`);
    }
    const phone = new YealinkPhone(options, this.#switch);
    this.#yealinks.set(options.extension, phone);
    try {
      await phone.start(options);
    } catch (e) {
      this.#yealinks.delete(options.extension);
      throw e;
    }
    return phone;
  }

  /** The simulated Yealink with this extension, if it is on the network. */
  yealink(extension: string): YealinkPhone | undefined {
    return this.#yealinks.get(extension);
  }

  /** Every simulated Yealink on the network. */
  get yealinks(): YealinkPhone[] {
    return [...this.#yealinks.values()];
  }

  #endpoint(extension: string): SimEndpoint | undefined {
    return this.#phones.get(extension) ?? this.#yealinks.get(extension);
  }

  /** The SNOM phone with this extension, if it is on the network. */
  phone(extension: string): SimPhone | undefined {
    return this.#phones.get(extension);
  }

  /** Every phone on the network. */
  get phones(): SimPhone[] {
    return [...this.#phones.values()];
  }

  /** Stops every phone. */
  async close(): Promise<void> {
    await Promise.all(
      [...this.#phones.values(), ...this.#yealinks.values()].map((p) => p.close()),
    );
  }

  #resolve(target: string): { peer: Peer; party: SimParty } {
    const phone = this.#endpoint(target);
    if (phone) {
      return {
        peer: { kind: "phone", extension: phone.extension },
        party: { user: phone.extension, display: phone.displayName },
      };
    }
    return {
      peer: { kind: "external", number: target, display: "" },
      party: { user: target, display: "" },
    };
  }

  #partyOf(peer: Peer): SimParty {
    if (peer.kind === "external") return { user: peer.number, display: peer.display };
    const phone = this.#endpoint(peer.extension);
    return { user: peer.extension, display: phone?.displayName ?? "" };
  }

  /** Rings `target` on behalf of `caller` with the given call id. */
  #ring(target: string, callId: string, caller: Peer) {
    const to = this.#resolve(target);
    if (to.peer.kind !== "phone") return;
    const phone = this.#endpoint(to.peer.extension)!;
    phone.receive(phone.callModel.incoming(callId, this.#partyOf(caller), caller));
  }

  #deliver(from: SimEndpoint, effect: Effect): void {
    const self: Peer = { kind: "phone", extension: from.extension };
    const other = (
      peer: Peer,
    ) => (peer.kind === "phone" ? this.#endpoint(peer.extension) : undefined);
    switch (effect.kind) {
      case "event":
        return;
      case "invite": {
        const to = other(effect.peer);
        to?.receive(to.callModel.incoming(effect.callId, this.#partyOf(self), self));
        return;
      }
      case "answered": {
        const to = other(effect.peer);
        to?.receive(to.callModel.remoteAnswered(effect.callId));
        return;
      }
      case "ended": {
        const to = other(effect.peer);
        to?.receive(to.callModel.remoteEnded(effect.callId, "", effect.how));
        return;
      }
      case "refer": {
        const to = other(effect.peer);
        if (to) to.receive(to.callModel.referred(effect.callId, effect.target));
        else this.#ring(effect.target, newCallId(), effect.peer);
        return;
      }
      case "deflect": {
        const to = other(effect.peer);
        const next = this.#resolve(effect.target);
        to?.receive(to.callModel.redirected(effect.callId, next.party, next.peer));
        this.#ring(effect.target, effect.callId, effect.peer);
        return;
      }
      case "join": {
        const callId = newCallId();
        const { left, right } = effect;
        const l = other(left.peer);
        const r = other(right.peer);
        l?.receive(
          l.callModel.replaced(left.callId, callId, this.#partyOf(right.peer), right.peer, false),
        );
        r?.receive(
          r.callModel.replaced(right.callId, callId, this.#partyOf(left.peer), left.peer, true),
        );
        return;
      }
    }
  }
}

/** A SIP-style Call-ID, like a SNOM's: hex, a dash, base-36. */
function newCallId(): string {
  const b = randomBytes(12);
  return `${b.subarray(0, 6).toString("hex")}-${
    BigInt("0x" + b.subarray(6).toString("hex")).toString(36)
  }`;
}

/**
 * Demo phones for the server (`demoPhones`): one network of simulated phones on 127.0.0.1,
 * started one extension at a time, SNOMs or Yealinks (`demoYealinkPhones`), so they call each
 * other. The phone registry takes it as its demo phone factory. A demo Yealink starts with
 * nothing provisioned: the server loads its lines (docs/yealink.md §8).
 */
export class SimDemoPhones {
  #network?: SimNetwork;

  /** Starts the simulated phone of one extension. */
  start(extension: string, model: "snom" | "yealink" = "snom"): Promise<SimPhone | YealinkPhone> {
    this.#network ??= new SimNetwork();
    return model === "yealink"
      ? this.#network.addYealink({ extension, host: "127.0.0.1" })
      : this.#network.addPhone({ extension, host: "127.0.0.1" });
  }

  /** Stops every phone started. */
  async close(): Promise<void> {
    await this.#network?.close();
  }
}
