/**
 * The calls and events of one device: its {@link DeviceCalls}, the channels subscribed to it,
 * and the one queue through which everything that changes its calls passes (callbacks,
 * command effects, call timeouts), in the order they arrived.
 */

import type { Clock, TimerId } from "../clock.ts";
import type { CallEvent, EventSubscriber } from "../contract.ts";
import { log } from "../log/mod.ts";
import { Serial } from "../serial.ts";
import { DeviceCalls, type PhoneReport } from "./calls.ts";

/** A MonitorStart still configuring the phone; MonitorStop or the end cancels it. */
export interface PendingStart {
  readonly subscriber: EventSubscriber;
  cancelled: boolean;
}

/** What a device needs from its monitor. */
export interface DeviceContext {
  readonly clock: Clock;
  readonly nextCallRef: () => number;
  readonly unansweredMs: number;
  /** False once the device must not change any more (monitor closed, phone removed). */
  readonly live: () => boolean;
  /** Told how many events went to subscribers in one publish. */
  readonly onSent?: (count: number) => void;
}

const logger = () => log("monitor");

/** One device's calls, subscribers and input queue. */
export class Device {
  readonly extension: string;
  readonly calls: DeviceCalls;
  readonly subscribers = new Set<EventSubscriber>();
  readonly pendingStarts = new Set<PendingStart>();
  readonly #ctx: DeviceContext;
  /** Inputs that change the calls, one at a time, in arrival order. */
  readonly #inputs = new Serial();
  #timer?: TimerId;
  #timerAt?: number;

  constructor(extension: string, ctx: DeviceContext) {
    this.extension = extension;
    this.#ctx = ctx;
    this.calls = new DeviceCalls(extension, {
      nextCallRef: ctx.nextCallRef,
      unansweredMs: ctx.unansweredMs,
    });
  }

  /**
   * Queues a change of the calls behind every input that arrived before it. `change` may
   * first wait for something already under way (a callback's source check, the phone's
   * answer to a MakeCall): later inputs wait for it, so the order stays that of arrival.
   */
  queue<T>(change: () => T | Promise<T>): Promise<T> {
    return this.#inputs.run(change);
  }

  /** A callback's report, in its turn. */
  report(report: PhoneReport): void {
    this.#change((now) => this.calls.report(report, now));
  }

  /** A ClearConnection the phone accepted. */
  cleared(): void {
    this.#change(() => this.calls.cleared());
  }

  /** A TransferCall the phone accepted: the next transfer report or MakeCall ends both legs. */
  transferStarted(target: string | undefined): void {
    this.#change((now) => {
      this.calls.transferStarted(target, now);
      return [];
    });
  }

  /** A MakeCall the phone accepted: the new call's Initiated, published and returned. */
  made(number: string): CallEvent | undefined {
    const events = this.#change((now) => this.calls.made(number, now));
    return events.find((e) => e.type === "Initiated");
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
    if (sent > 0) this.#ctx.onSent?.(sent);
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

  /** Stops the call timer. */
  stop(): void {
    if (this.#timer !== undefined) this.#ctx.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = undefined;
  }

  #change(apply: (now: number) => readonly CallEvent[]): readonly CallEvent[] {
    if (!this.#ctx.live()) return [];
    const events = apply(this.#ctx.clock.now());
    this.publish(events);
    this.#schedule();
    return events;
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
      void this.queue(() => this.#change((now) => this.calls.expire(now)));
    }, Math.max(0, at - clock.now()));
  }
}
