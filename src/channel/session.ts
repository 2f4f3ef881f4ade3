/**
 * One channel's conversation, without I/O: input lines in, reply and event lines out through a
 * sink (docs/channel-protocol.md §2–§4, §6). The TCP side lives in `_connection.ts`.
 *
 * Ordering (§3) — the channel pipelines:
 * - Every command takes a slot in reply order. Slots are written strictly in that order, so
 *   replies follow the commands even when a later command finishes first.
 * - Commands for different devices run at once; commands of this channel for the same device
 *   run one after another (so `MonitorStart 101` is in effect before `MakeCall 101 ...` runs).
 *   RawCommands run one after another too, in their own queue.
 * - An event for a device whose latest started command on this channel has not been written
 *   yet is held and written right after that command's reply; so a command's reply always
 *   comes before the events it causes, with nothing of that device in between. Every other
 *   event is written at once, even while replies of other devices are pending.
 * - The MakeCall rule: a successful MakeCall's reply is followed by its own Initiated, with
 *   nothing of that device in between (§4). That Initiated names the command as its `cause`;
 *   events held behind the reply but delivered before it (another channel's MakeCall on the
 *   same phone, finished first) are not this command's doing, so they are written just
 *   before its reply. This is the only place the rule is kept.
 *
 * States:
 * - `open`: commands are read and run.
 * - `ending`: `BYE` was read or the input ended; further input is ignored, earlier replies
 *   (and their events) are still written. After the last one the session finishes.
 * - `closed`: monitors released, nothing more is written; late results are dropped (a late
 *   successful MonitorStart is undone).
 */

import type { DeviceInfoMode } from "../config/mod.ts";
import type {
  CallCommand,
  CallEvent,
  CommandHandler,
  EventSubscriber,
  Outcome,
  RawReply,
} from "../contract.ts";
import { log } from "../log/mod.ts";
import { KeyedSerial } from "../serial.ts";
import {
  formatEvent,
  formatHandshakeReply,
  formatReply,
  type InputItem,
  type LineRequest,
  parseLine,
  rawCommandReply,
  type Reply,
} from "./codec.ts";

/**
 * Limits shared by every open channel of a server; a reload changes them in place, so they
 * reach open channels at once (docs/configuration.md §3).
 */
export interface ChannelLimits {
  /** Append the reason token to ERROR replies (§3). */
  errorDetail: boolean;
  /** Longest input line and reply line (§1, §5). */
  maxLineBytes: number;
  /** Unsent output above which a channel is closed (§6). */
  maxQueueBytes: number;
}

/** What a session needs from outside. */
export interface SessionOptions {
  readonly id: number;
  readonly handler: CommandHandler;
  /** DeviceInformation mode a handshake falls back to for options it does not name (§2). */
  readonly deviceInformation: DeviceInfoMode;
  readonly limits: ChannelLimits;
  /** Receives each output line, without the line end, in wire order. */
  readonly write: (line: string) => void;
  /** Called once when the session finished by itself (after `BYE`, or after the input ended). */
  readonly onFinish: (why: "bye" | "input ended") => void;
  /** Clock milliseconds, for when a command arrived. Default `Date.now`. */
  readonly now?: () => number;
}

/** The session lifecycle (see the module comment). */
export type SessionState = "open" | "ending" | "closed";

/** An event held behind a reply, with its lines. */
interface HeldEvent {
  readonly event: CallEvent;
  readonly lines: readonly string[];
}

/** A place in reply order. */
interface Slot {
  reply?: string;
  /** The call command this slot answers, which its own events name as their `cause`. */
  readonly command?: CallCommand;
  /** Events that must follow this reply. */
  held: HeldEvent[];
  /** Held events that go just before this reply (the MakeCall rule). */
  before?: HeldEvent[];
  written: boolean;
  /** The session finishes once this slot is written (BYE). */
  readonly last?: boolean;
}

/** A lane: the commands of this channel for one device, or the RawCommands. */
type LaneKey = string | typeof RAW;

/** Someone waiting for fewer than `below` pending replies. */
interface Waiter {
  readonly below: number;
  readonly resolve: () => void;
}

/** The lane of RawCommands: provider calls keep their order, but never wait for phones. */
const RAW = Symbol("raw");

/** One channel's protocol state (see the module comment). */
export class Session implements EventSubscriber {
  readonly id: number;
  readonly #handler: CommandHandler;
  readonly #defaultMode: DeviceInfoMode;
  readonly #limits: ChannelLimits;
  readonly #write: (line: string) => void;
  readonly #onFinish: (why: "bye" | "input ended") => void;
  readonly #now: () => number;
  #state: SessionState = "open";
  #mode: DeviceInfoMode;
  readonly #slots: Slot[] = [];
  /** Commands of this channel run one at a time per device (and for the provider). */
  readonly #lanes = new KeyedSerial<LaneKey>();
  /** Per lane, the latest started slot that is not written yet: events wait behind it. */
  readonly #holders = new Map<LaneKey, Slot>();
  readonly #monitored = new Set<string>();
  #settled: Waiter[] = [];
  #commands = 0;
  #handshake?: string;

  constructor(options: SessionOptions) {
    this.id = options.id;
    this.#handler = options.handler;
    this.#defaultMode = options.deviceInformation;
    this.#limits = options.limits;
    this.#write = options.write;
    this.#onFinish = options.onFinish;
    this.#now = options.now ?? Date.now;
    this.#mode = options.deviceInformation;
  }

  /** Where the session is in its lifecycle. */
  get state(): SessionState {
    return this.#state;
  }

  /** The DeviceInformation mode in effect (§2). */
  get mode(): DeviceInfoMode {
    return this.#mode;
  }

  /** Devices this channel monitors now, sorted. */
  get monitored(): string[] {
    return [...this.#monitored].sort();
  }

  /** Lines the client sent so far, handshake included (docs/status-page.md §1). */
  get commands(): number {
    return this.#commands;
  }

  /** The handshake the client made (`STLI` or `STLI;Version=2`), if any. */
  get handshake(): string | undefined {
    return this.#handshake;
  }

  /** Commands read whose replies are not written yet. */
  get pending(): number {
    return this.#slots.length;
  }

  /** Resolves once fewer than `below` replies are pending (input back-pressure). */
  settled(below: number): Promise<void> {
    if (this.#slots.length < below || this.#state === "closed") return Promise.resolve();
    return new Promise((resolve) => this.#settled.push({ below, resolve }));
  }

  /** Takes one decoded input line (§1–§3, §5). */
  receive(item: InputItem): void {
    if (this.#state !== "open") return;
    if (item.kind === "tooLong") {
      log("channel").warning("channel {id}: discarded a line of {bytes} bytes (limit {max})", {
        id: this.id,
        bytes: item.bytes,
        max: this.#limits.maxLineBytes,
      });
      this.#answer({ status: "INVALCMD", subject: "LineTooLong" });
      return;
    }
    const request = parseLine(item.text);
    if (request.kind !== "empty") {
      log("channel").debug("channel {id} <- {line}", {
        id: this.id,
        line: request.kind === "raw" ? `RawCommand (${request.line.length} chars)` : item.text,
      });
    }
    this.#take(request);
  }

  #take(request: LineRequest): void {
    if (request.kind !== "empty") this.#commands++;
    switch (request.kind) {
      case "empty":
        return;
      case "reply":
        return this.#answer(request.reply);
      case "handshake": {
        this.#mode = request.options.deviceInformation ?? this.#defaultMode;
        this.#handshake = request.bare || request.options.version === undefined
          ? "STLI"
          : `STLI;Version=${request.options.version}`;
        return this.#answerLine(formatHandshakeReply(request.bare, request.options, this.#mode));
      }
      case "bye":
        this.#state = "ending";
        this.#push({ reply: "error_ind SUCCESS BYE", held: [], written: false, last: true });
        return this.#flush();
      case "raw":
        return this.#enqueue(RAW, "RawCommand", () => this.#raw(request.line));
      case "monitor": {
        const { command, device } = request;
        if (command === "MonitorStop" && this.#monitored.has(device)) {
          return this.#enqueue(device, command, () => this.#monitorStop(device));
        }
        if (!this.#knows(device)) return this.#unknownDevice(command);
        return this.#enqueue(
          device,
          command,
          command === "MonitorStart"
            ? () => this.#monitorStart(device)
            : () => this.#monitorStop(device),
        );
      }
      case "call": {
        const { command, device, number } = request;
        if (!this.#knows(device)) return this.#unknownDevice(command);
        const call: CallCommand = { device, name: command, number, arrivedAt: this.#now() };
        return this.#enqueue(
          device,
          command,
          () => this.#outcome(command, () => this.#handler.callControl(call)),
          call,
        );
      }
    }
  }

  #knows(device: string): boolean {
    try {
      return this.#handler.knowsDevice(device);
    } catch (e) {
      log("channel").error("channel {id}: knowsDevice({device}) failed: {error}", {
        id: this.id,
        device,
        error: e,
      });
      return false;
    }
  }

  #unknownDevice(subject: string) {
    this.#answer({ status: "ERROR", subject, reason: "UnknownDevice" });
  }

  /** A bug elsewhere in the server: logged, and answered as a plain ERROR. */
  #internalError(subject: string, error: unknown): Reply {
    log("channel").error("channel {id}: {command} failed inside the server: {error}", {
      id: this.id,
      command: subject,
      error,
    });
    return { status: "ERROR", subject };
  }

  async #outcome(subject: string, run: () => Promise<Outcome>): Promise<Reply> {
    let outcome: Outcome;
    try {
      outcome = await run();
    } catch (e) {
      return this.#internalError(subject, e);
    }
    return outcome.ok
      ? { status: "SUCCESS", subject }
      : { status: "ERROR", subject, reason: outcome.reason };
  }

  async #monitorStart(device: string): Promise<Reply> {
    const reply = await this.#outcome(
      "MonitorStart",
      () => this.#handler.monitorStart(device, this),
    );
    if (reply.status !== "SUCCESS") return reply;
    if (this.#state === "closed") {
      this.#release(device);
    } else {
      this.#monitored.add(device);
    }
    return reply;
  }

  #monitorStop(device: string): Reply {
    this.#monitored.delete(device);
    this.#release(device);
    return { status: "SUCCESS", subject: "MonitorStop" };
  }

  #release(device: string) {
    try {
      this.#handler.monitorStop(device, this);
    } catch (e) {
      log("channel").error("channel {id}: monitorStop({device}) failed: {error}", {
        id: this.id,
        device,
        error: e,
      });
    }
  }

  async #raw(line: string): Promise<Reply> {
    const max = this.#limits.maxLineBytes;
    let raw: RawReply;
    try {
      raw = await this.#handler.rawCommand(line, max);
    } catch (e) {
      log("channel").error("channel {id}: RawCommand failed inside the server: {error}", {
        id: this.id,
        error: e,
      });
      raw = { ok: false, status: 0, error: "InternalError" };
    }
    return rawCommandReply(raw, max);
  }

  /** The monitor ended without MonitorStop (phone removed): the device is no longer listed. */
  monitorEnded(device: string): void {
    if (this.#monitored.delete(device)) {
      log("channel").info("channel {id}: the monitor of {device} ended with the phone's removal", {
        id: this.id,
        device,
      });
    }
  }

  /** An event of a monitored device (§4): written now, or held behind its command's reply. */
  deliver(event: CallEvent): void {
    if (this.#state === "closed") return;
    let lines: string[];
    try {
      lines = formatEvent(event, this.#mode);
    } catch (e) {
      log("channel").error("channel {id}: cannot format an event of {device}: {error}", {
        id: this.id,
        device: event?.device,
        error: e,
      });
      return;
    }
    const holder = this.#holders.get(event.device);
    if (!holder || holder.written) {
      for (const line of lines) this.#write(line);
    } else if (event.cause !== undefined && event.cause === holder.command) {
      // The MakeCall rule: what was held before its own Initiated goes ahead of the reply.
      holder.before = holder.held;
      holder.held = [{ event, lines }];
    } else holder.held.push({ event, lines });
  }

  /** The client closed its sending side: finish pending replies, then finish (§6). */
  endInput(): void {
    if (this.#state !== "open") return;
    this.#state = "ending";
    this.#flush();
  }

  /**
   * Stops the session at once (disconnect, overflow, shutdown): monitors are released,
   * nothing more is written, commands not yet started are dropped.
   */
  close(): void {
    if (this.#state === "closed") return;
    this.#state = "closed";
    for (const device of this.#monitored) this.#release(device);
    this.#monitored.clear();
    this.#slots.length = 0;
    this.#lanes.cancelWaiting("the channel closed");
    this.#holders.clear();
    this.#wake();
  }

  #push(slot: Slot) {
    this.#slots.push(slot);
  }

  #answer(reply: Reply) {
    this.#answerLine(formatReply(reply, this.#limits.errorDetail));
  }

  #answerLine(line: string) {
    this.#push({ reply: line, held: [], written: false });
    this.#flush();
  }

  #enqueue(
    key: LaneKey,
    subject: string,
    run: () => Reply | Promise<Reply>,
    command?: CallCommand,
  ) {
    const slot: Slot = { held: [], written: false, command };
    this.#push(slot);
    void this.#lanes.run(key, () => {
      if (this.#state === "closed") return;
      this.#holders.set(key, slot);
      let result: Reply | Promise<Reply>;
      try {
        result = run();
      } catch (e) {
        result = this.#internalError(subject, e);
      }
      // A reply known at once is written at once; only a promise waits.
      if (!(result instanceof Promise)) return this.#done(slot, result);
      return result.then(
        (reply) => this.#done(slot, reply),
        (e) => this.#done(slot, this.#internalError(subject, e)),
      );
    }, () => undefined);
  }

  #done(slot: Slot, reply: Reply) {
    if (this.#state === "closed") return;
    slot.reply = formatReply(reply, this.#limits.errorDetail);
    this.#flush();
  }

  /** Writes every finished slot at the head of the reply order, with its held events. */
  #flush() {
    while (this.#slots.length > 0 && this.#slots[0].reply !== undefined) {
      const slot = this.#slots.shift()!;
      slot.written = true;
      for (const h of slot.before ?? []) for (const line of h.lines) this.#write(line);
      this.#write(slot.reply!);
      for (const h of slot.held) for (const line of h.lines) this.#write(line);
      if (slot.last) return this.#finish("bye");
    }
    this.#forgetWrittenHolders();
    this.#wake();
    if (this.#state === "ending" && this.#slots.length === 0) this.#finish("input ended");
  }

  #forgetWrittenHolders() {
    for (const [key, slot] of this.#holders) if (slot.written) this.#holders.delete(key);
  }

  #finish(why: "bye" | "input ended") {
    if (this.#state === "closed") return;
    this.close();
    this.#onFinish(why);
  }

  #wake() {
    if (this.#settled.length === 0) return;
    const still: Waiter[] = [];
    for (const w of this.#settled) {
      if (this.#slots.length < w.below || this.#state === "closed") w.resolve();
      else still.push(w);
    }
    this.#settled = still;
  }
}
