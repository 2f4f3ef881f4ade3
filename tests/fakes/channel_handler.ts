/**
 * A fake of the server behind a channel ({@link CommandHandler}), for channel tests: phones
 * that answer at once (or when a test releases them), commands serialised per device the way
 * the phones layer does it, and call events published to subscribers the way the monitor does.
 */

import type {
  CallCommand,
  CallCommandName,
  CommandHandler,
  ErrorReason,
  EventSubscriber,
  Outcome,
  RawReply,
} from "../../src/channel/mod.ts";
import type { CallEvent, CallEventBody, CallInfo } from "../../src/contract.ts";

/** One command as the fake saw it start (after waiting for its device). */
export interface SeenCommand {
  readonly device: string;
  readonly command: CallCommandName | "MonitorStart";
  readonly number?: string;
}

/**
 * When the fake publishes `Initiated` for a MakeCall: synchronously before the outcome
 * resolves, or in a later turn (to the subscribers of the moment the call succeeded).
 */
export type InitiatedTiming = "before outcome" | "after outcome";

/** Ways to shape the fake. */
export interface FakePhonesOptions {
  /** Known extensions (default 101–105). */
  readonly devices?: Iterable<string>;
  /** Every command to these devices fails with the reason. */
  readonly failures?: Readonly<Record<string, ErrorReason>>;
  readonly initiated?: InitiatedTiming;
  /** false: commands to one phone run at once (to prove the channel's own ordering). */
  readonly serialise?: boolean;
}

/** A gate a test opens when it wants a held phone to answer. */
interface Gate {
  readonly promise: Promise<void>;
  readonly open: () => void;
}

/** The fake: see the module comment. */
export class FakePhones implements CommandHandler {
  readonly devices: Set<string>;
  /** Commands in the order they started on their phone. */
  readonly seen: SeenCommand[] = [];
  /** monitorStop calls, as `device/subscriberId`. */
  readonly stops: string[] = [];
  /** Raw command lines received. */
  readonly raw: string[] = [];
  readonly #subscribers = new Map<string, Set<EventSubscriber>>();
  readonly #calls = new Map<string, CallInfo[]>();
  readonly #queues = new Map<string, Promise<unknown>>();
  readonly #gates = new Map<string, Gate>();
  readonly #failures: Readonly<Record<string, ErrorReason>>;
  readonly #initiated: InitiatedTiming;
  readonly #serialise: boolean;
  #nextCallRef = 17;

  constructor(options: FakePhonesOptions = {}) {
    this.devices = new Set(options.devices ?? ["101", "102", "103", "104", "105"]);
    this.#failures = options.failures ?? {};
    this.#initiated = options.initiated ?? "before outcome";
    this.#serialise = options.serialise ?? true;
  }

  /** Makes the device's phone hold every command until the returned function is called. */
  hold(device: string): () => void {
    let open!: () => void;
    const promise = new Promise<void>((resolve) => (open = resolve));
    const gate = { promise, open };
    this.#gates.set(device, gate);
    return () => {
      if (this.#gates.get(device) === gate) this.#gates.delete(device);
      open();
    };
  }

  /** Subscribers of a device now. */
  subscribers(device: string): EventSubscriber[] {
    return [...(this.#subscribers.get(device) ?? [])];
  }

  /** The calls a device has now. */
  callsOf(device: string): readonly CallInfo[] {
    return this.#calls.get(device) ?? [];
  }

  /** Publishes an event to every subscriber of its device, as the monitor would. */
  emit(event: CallEvent): void {
    for (const s of this.subscribers(event.device)) s.deliver(event);
  }

  /** Publishes an event built from the device's current calls. */
  publish(device: string, body: CallEventBody, cause?: CallCommand): CallEvent {
    const event = { ...body, device, calls: [...this.callsOf(device)], cause } as CallEvent;
    this.emit(event);
    return event;
  }

  /** Adds an incoming call ringing on a device and publishes `Delivered`. */
  ring(device: string, caller: string, displayName = ""): number {
    const callRef = this.#nextCallRef++;
    this.#setCalls(device, [
      ...this.callsOf(device),
      { callRef, state: "alerting", remote: caller, displayName },
    ]);
    this.publish(device, { type: "Delivered", caller });
    return callRef;
  }

  knowsDevice(device: string): boolean {
    return this.devices.has(device);
  }

  callControl(call: CallCommand): Promise<Outcome> {
    const { device, name: command, number } = call;
    return this.#serial(device, async () => {
      this.seen.push({ device, command, number });
      await this.#gates.get(device)?.promise;
      const failure = this.#failures[device];
      if (failure) return { ok: false, reason: failure };
      return this.#act(call);
    });
  }

  monitorStart(device: string, subscriber: EventSubscriber): Promise<Outcome> {
    return this.#serial(device, async () => {
      this.seen.push({ device, command: "MonitorStart" });
      await this.#gates.get(device)?.promise;
      const failure = this.#failures[device];
      if (failure) return { ok: false, reason: failure };
      let set = this.#subscribers.get(device);
      if (!set) this.#subscribers.set(device, set = new Set());
      set.add(subscriber);
      return { ok: true };
    });
  }

  monitorStop(device: string, subscriber: EventSubscriber): void {
    this.stops.push(`${device}/${subscriber.id}`);
    this.#subscribers.get(device)?.delete(subscriber);
  }

  rawCommand(line: string, maxReplyBytes: number): Promise<RawReply> {
    this.raw.push(line);
    let parsed: { method?: unknown; resource?: unknown };
    try {
      parsed = JSON.parse(line);
    } catch {
      return Promise.resolve({ ok: false, status: 0, error: "InvalidJson" });
    }
    if (typeof parsed.method !== "string" || typeof parsed.resource !== "string") {
      return Promise.resolve({ ok: false, status: 0, error: "MissingField" });
    }
    if (parsed.resource === "/big") {
      return Promise.resolve({ ok: true, status: 200, body: "x".repeat(maxReplyBytes + 10) });
    }
    return Promise.resolve({
      ok: true,
      status: 200,
      body: { method: parsed.method, at: parsed.resource },
    });
  }

  #serial<T>(device: string, work: () => Promise<T>): Promise<T> {
    if (!this.#serialise) return work();
    const before = this.#queues.get(device) ?? Promise.resolve();
    const run = before.then(work, work);
    this.#queues.set(device, run.catch(() => undefined));
    return run;
  }

  #setCalls(device: string, calls: CallInfo[]) {
    this.#calls.set(device, calls);
  }

  #act(call: CallCommand): Outcome {
    const { device, name: command, number } = call;
    const calls = this.callsOf(device);
    switch (command) {
      case "MakeCall": {
        const callRef = this.#nextCallRef++;
        this.#setCalls(device, [
          ...calls,
          { callRef, state: "dialing", remote: number ?? "", displayName: "" },
        ]);
        if (this.#initiated === "before outcome") {
          // As the monitor does: delivered first, naming the command as its cause.
          this.publish(device, { type: "Initiated", callRef }, call);
        } else {
          // Recipients and calls are decided now, delivery happens in a later turn.
          const event: CallEvent = {
            type: "Initiated",
            callRef,
            device,
            calls: [...this.callsOf(device)],
            cause: call,
          };
          const recipients = this.subscribers(device);
          setTimeout(() => recipients.forEach((s) => s.deliver(event)), 0);
        }
        return { ok: true };
      }
      case "AnswerCall": {
        const ringing = calls.find((c) => c.state === "alerting");
        if (!ringing) return { ok: false, reason: "PhoneRefused" };
        this.#setCalls(
          device,
          calls.map((c) => (c === ringing ? { ...c, state: "connected" } : c)),
        );
        this.publish(device, {
          type: "Established",
          direction: "incoming",
          remote: ringing.remote,
        });
        return { ok: true };
      }
      case "ClearConnection": {
        if (calls.length === 0) return { ok: false, reason: "PhoneRefused" };
        this.#setCalls(device, calls.slice(1));
        this.publish(device, { type: "ConnectionCleared" });
        return { ok: true };
      }
      case "HoldCall":
      case "RetrieveCall": {
        const hold = command === "HoldCall";
        this.#setCalls(
          device,
          calls.map((c) => ({ ...c, state: hold ? "held" : "connected" })),
        );
        this.publish(device, { type: hold ? "Held" : "Retrieved" });
        return { ok: true };
      }
      case "TransferCall":
      case "ConsultationCall":
        return { ok: true };
      case "ConferenceCall":
      case "AlternateCall":
      case "ReconnectCall":
        return { ok: false, reason: "NotSupported" };
    }
  }
}
