/**
 * One device as the monitor keeps it: where its commands go (its backend: a desk phone or a
 * cloud phone), its {@link DeviceCalls}, the channels subscribed to it, and the one queue
 * through which everything that changes its calls passes (callbacks, command effects, call
 * timeouts), in the order they arrived.
 *
 * A command goes down once: the device hands it to its backend and adds what the phone will
 * not report itself (docs/channel-protocol.md §4):
 * - MakeCall accepted: Initiated (a new dialing call), published in the device's queue at the
 *   place the command took when it was sent, with the command as its `cause`;
 * - ClearConnection accepted on a device with only ringing calls: ConnectionCleared;
 * - TransferCall accepted: remembered, so the phone's transfer report and a following
 *   MakeCall (the vendor's sequence) end both legs. A provider reports a transfer while its
 *   request is still being answered, so for a cloud phone TransferCall also holds its place
 *   in the queue (docs/cloud-phones.md §4).
 * A desk phone that acts on a call by its own id gets the id of the call the command means
 * (docs/phone-profiles.md §2.2). A device whose calls are not tracked yet (never monitored
 * this run) passes its commands straight through.
 */

import type { Clock, TimerId } from "../clock.ts";
import type {
  CallCommand,
  CallEvent,
  CallRecordSink,
  EventSubscriber,
  Outcome,
} from "../contract.ts";
import { log } from "../log/mod.ts";
import { Serial } from "../serial.ts";
import type { CallbackRecord } from "./_callback_check.ts";
import type { PhoneSetup } from "./_phone_setup.ts";
import { DeviceCalls, type PhoneReport } from "./calls.ts";

/** A MonitorStart still configuring the phone; MonitorStop or the end cancels it. */
export interface PendingStart {
  readonly subscriber: EventSubscriber;
  cancelled: boolean;
}

/**
 * Where a device's commands go and how its calls are learnt: a desk phone (commands through
 * the phone registry, calls from its action URLs) or a cloud phone (both through the
 * provider, docs/cloud-phones.md §4).
 */
export type Backend =
  | {
    readonly kind: "desk";
    /** Pointing the phone's action URLs at the server. */
    readonly setup: PhoneSetup;
    /** What the status page shows about its callbacks. */
    readonly callbacks: CallbackRecord;
  }
  | { readonly kind: "cloud" };

/** What a device needs from its monitor. */
export interface DeviceContext {
  readonly clock: Clock;
  readonly nextCallRef: () => number;
  readonly unansweredMs: number;
  /** False once the device must not change any more (monitor closed, device removed). */
  readonly live: () => boolean;
  /** Sends a command to the backend; `callId` names the phone's call it acts on. */
  readonly execute: (command: CallCommand, callId?: string) => Promise<Outcome>;
  /** Told how many events went to subscribers in one publish. */
  readonly counts?: { eventsSent(count: number): void };
  /** Where calls that ended go (the journal, docs/call-journal.md §2). */
  readonly records?: CallRecordSink;
}

const logger = () => log("monitor");

/** One device's backend, calls, subscribers and input queue. */
export class Device {
  readonly extension: string;
  readonly backend: Backend;
  readonly calls: DeviceCalls;
  readonly subscribers = new Set<EventSubscriber>();
  readonly pendingStarts = new Set<PendingStart>();
  /** A channel asked to monitor it this run: its calls are tracked from then on. */
  monitored = false;
  /** The journal wants its calls, monitored or not (docs/call-journal.md §2). */
  journaled = false;
  readonly #ctx: DeviceContext;
  /** Inputs that change the calls, one at a time, in arrival order. */
  readonly #inputs = new Serial();
  #timer?: TimerId;
  #timerAt?: number;

  constructor(extension: string, backend: Backend, ctx: DeviceContext) {
    this.extension = extension;
    this.backend = backend;
    this.#ctx = ctx;
    this.calls = new DeviceCalls(extension, {
      nextCallRef: ctx.nextCallRef,
      unansweredMs: ctx.unansweredMs,
    });
  }

  /** True when the device's calls are followed: a desk phone set up this run, a watched cloud phone. */
  get tracking(): boolean {
    return this.backend.kind === "desk"
      ? this.backend.setup.configuredAt !== undefined
      : this.monitored || this.journaled;
  }

  /** Sends a call command and adds its effects (see the module comment). Rejects only on a bug. */
  async command(command: CallCommand): Promise<Outcome> {
    const send = (callId?: string) => this.#ctx.execute(command, callId);
    if (!this.tracking || !this.#ctx.live()) return await send();
    const { name, number } = command;
    if (name === "MakeCall" || (name === "TransferCall" && this.backend.kind === "cloud")) {
      // The command takes its place in the queue now and holds it until the answer.
      const sending = send();
      return await this.queue(async () => {
        const outcome = await sending;
        if (outcome.ok && name === "MakeCall") this.#made(command);
        else if (outcome.ok) this.#transferStarted(number);
        return outcome;
      });
    }
    const callId = this.backend.kind === "desk" && number === undefined
      ? this.calls.targetCallId(name)
      : undefined;
    const outcome = await send(callId);
    if (outcome.ok && name === "ClearConnection") this.#later(() => this.#cleared());
    else if (outcome.ok && name === "TransferCall") {
      this.#later(() => this.#transferStarted(number));
    }
    return outcome;
  }

  /**
   * Queues a change of the calls behind every input that arrived before it. `change` may
   * first wait for something already under way (a callback's source check, the phone's
   * answer to a MakeCall): later inputs wait for it, so the order stays that of arrival.
   */
  queue<T>(change: () => T | Promise<T>): Promise<T> {
    return this.#inputs.run(change);
  }

  /** Queues a change whose failure is logged, never thrown. */
  later(change: () => unknown): void {
    this.#later(change);
  }

  /** A callback's (or the provider's) report, in its turn. */
  report(report: PhoneReport): void {
    this.#change((now) => this.calls.report(report, now));
  }

  /** Hands events to every subscriber, in order; one failing subscriber stops nothing. */
  publish(events: readonly CallEvent[]): void {
    let sent = 0;
    for (const event of events) {
      for (const subscriber of this.subscribers) {
        try {
          subscriber.deliver(event);
          sent++;
        } catch (e) {
          logger().error("channel {id} failed to take an event of {device}: {error}", {
            id: subscriber.id,
            device: this.extension,
            error: e,
          });
        }
      }
    }
    if (sent > 0) this.#ctx.counts?.eventsSent(sent);
  }

  /**
   * The device left the configuration: its timer stops, MonitorStarts still setting it up are
   * cancelled, and every subscriber is told its monitor ended (one failing stops nothing).
   */
  end(): void {
    this.stop();
    for (const p of this.pendingStarts) p.cancelled = true;
    const subscribers = [...this.subscribers];
    this.subscribers.clear();
    for (const s of subscribers) {
      try {
        s.monitorEnded(this.extension);
      } catch (e) {
        logger().error("subscriber {id} failed on the end of {device}'s monitor: {error}", {
          id: s.id,
          device: this.extension,
          error: e,
        });
      }
    }
  }

  /** Stops the call timer and drops every subscriber (the monitor is closing). */
  stop(): void {
    if (this.#timer !== undefined) this.#ctx.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = undefined;
  }

  /** A MakeCall the phone accepted: the new call's Initiated, caused by this command. */
  #made(command: CallCommand): void {
    this.#change((now) =>
      this.calls.made(command.number ?? "", now).map((e) =>
        e.type === "Initiated" ? { ...e, cause: command } : e
      )
    );
  }

  /** A ClearConnection the phone accepted. */
  #cleared(): void {
    this.#change((now) => this.calls.cleared(now));
  }

  /** A TransferCall the phone accepted: the next transfer report or MakeCall ends both legs. */
  #transferStarted(target: string | undefined): void {
    this.#change((now) => {
      this.calls.transferStarted(target, now);
      return [];
    });
  }

  #later(change: () => unknown): void {
    this.queue(change).catch((e) =>
      logger().error("an event of {device} was lost: {error}", {
        device: this.extension,
        error: e,
      })
    );
  }

  #change(apply: (now: number) => readonly CallEvent[]): void {
    if (!this.#ctx.live()) return;
    this.publish(apply(this.#ctx.clock.now()));
    this.#recordEnded();
    this.#schedule();
  }

  /** Hands the calls that just ended to the journal; its failure stops nothing. */
  #recordEnded(): void {
    const ended = this.calls.takeRecords();
    const sink = this.#ctx.records;
    if (!sink) return;
    for (const call of ended) {
      try {
        sink.record(call);
      } catch (e) {
        logger().error("a call of {device} could not be recorded: {error}", {
          device: this.extension,
          error: e,
        });
      }
    }
  }

  /** Keeps one timer, set to the next call timeout; it expires calls in the input order. */
  #schedule(): void {
    const at = this.calls.nextDeadline();
    if (at === this.#timerAt) return;
    this.stop();
    if (at === undefined || !this.#ctx.live()) return;
    this.#timerAt = at;
    const clock = this.#ctx.clock;
    this.#timer = clock.setTimeout(() => {
      this.#timer = undefined;
      this.#timerAt = undefined;
      this.#later(() => this.#change((now) => this.calls.expire(now)));
    }, Math.max(0, at - clock.now()));
  }
}
