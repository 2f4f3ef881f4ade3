/**
 * One accepted TCP connection around a {@link Session}: the read loop, the write queue with
 * its limit, and the close rules of docs/channel-protocol.md §6. Private to the channel folder.
 *
 * States:
 * - `open`: reading input, writing output.
 * - `closing`: the session finished (BYE or end of input); queued output is flushed, then the
 *   sending side is shut (FIN) and the peer is given `lingerMs` to close its side.
 * - `closed`: the socket is closed and the session released its monitors.
 */

import { concat } from "../bytes.ts";
import type { Clock, TimerId } from "../clock.ts";
import { log } from "../log/mod.ts";
import type { DeviceInfoMode } from "../config/mod.ts";
import type { CommandHandler } from "../contract.ts";
import { LineDecoder } from "./codec.ts";
import { type ChannelLimits, Session } from "./session.ts";
import { hostPort } from "../net.ts";

/** Most commands read ahead of their replies before the channel stops reading input. */
const MAX_PENDING = 256;

const encoder = new TextEncoder();

/** `host:port` of a socket address, an IPv6 host in brackets, for logs and the status page. */
export function peerOf(addr: Deno.NetAddr): string {
  return hostPort(addr.hostname, addr.port);
}

/** Why a connection ended, for the log. */
export type CloseReason =
  | "bye"
  | "input ended"
  | "peer closed"
  | "read failed"
  | "write failed"
  | "output queue full"
  | "server closing";

/** What a connection needs from the server. */
export interface ConnectionOptions {
  readonly id: number;
  readonly conn: Deno.TcpConn;
  readonly handler: CommandHandler;
  readonly clock: Clock;
  readonly deviceInformation: DeviceInfoMode;
  readonly limits: ChannelLimits;
  /** How long to wait for the peer to close after our FIN. */
  readonly lingerMs: number;
}

/** A channel on a TCP connection. */
export class Connection {
  readonly id: number;
  readonly peer: string;
  readonly connectedSince: number;
  readonly session: Session;
  /** Resolves when the socket is closed and every loop has ended. */
  readonly done: Promise<void>;
  readonly #conn: Deno.TcpConn;
  readonly #clock: Clock;
  readonly #limits: ChannelLimits;
  readonly #lingerMs: number;
  readonly #decoder: LineDecoder;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #pumping?: Promise<void>;
  #state: "open" | "closing" | "closed" = "open";
  #eof = false;
  #linger?: TimerId;
  #closeReason?: CloseReason;
  #reading: Promise<void>;
  #resolveDone!: () => void;

  constructor(options: ConnectionOptions) {
    this.#limits = options.limits;
    this.#lingerMs = options.lingerMs;
    this.id = options.id;
    this.#conn = options.conn;
    this.#clock = options.clock;
    this.peer = peerOf(options.conn.remoteAddr);
    this.connectedSince = options.clock.now();
    this.#decoder = new LineDecoder(options.limits.maxLineBytes);
    this.session = new Session({
      id: options.id,
      handler: options.handler,
      deviceInformation: options.deviceInformation,
      limits: options.limits,
      write: (line) => this.#send(line),
      onFinish: (why) => this.#finish(why),
      now: () => options.clock.now(),
    });
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    log("channel").info("channel {id} opened from {peer}", { id: this.id, peer: this.peer });
    this.#reading = this.#readLoop();
  }

  /** Bytes written by the session but not yet taken by the socket. */
  get queuedBytes(): number {
    return this.#queued;
  }

  /** Closes at once, without flushing (server shutdown). */
  close(reason: CloseReason = "server closing"): void {
    this.#close(reason);
  }

  async #readLoop(): Promise<void> {
    const buf = new Uint8Array(16 * 1024);
    try {
      while (this.#state !== "closed") {
        if (this.session.pending >= MAX_PENDING) {
          await this.session.settled(MAX_PENDING / 2);
          continue;
        }
        this.#decoder.maxLineBytes = this.#limits.maxLineBytes;
        const n = await this.#conn.read(buf);
        if (n === null) break;
        for (const item of this.#decoder.push(buf.subarray(0, n))) this.session.receive(item);
      }
    } catch (e) {
      if (this.#state === "closed") return;
      log("channel").info("channel {id}: reading failed: {error}", { id: this.id, error: e });
      return this.#close(this.#state === "closing" ? this.#closeReason! : "read failed");
    }
    if (this.#state === "closed") return;
    this.#eof = true;
    if (this.#state === "closing") return this.#close(this.#closeReason!);
    for (const item of this.#decoder.end()) this.session.receive(item);
    this.session.endInput();
    if (this.session.state === "ending") {
      log("channel").debug("channel {id}: input ended, finishing pending replies", {
        id: this.id,
      });
    }
  }

  #send(line: string) {
    if (this.#state === "closed") return;
    log("channel").debug("channel {id} -> {line}", { id: this.id, line });
    const bytes = encoder.encode(line + "\r\n");
    this.#queue.push(bytes);
    this.#queued += bytes.length;
    if (this.#queued > this.#limits.maxQueueBytes) {
      log("channel").error(
        "channel {id} from {peer}: {bytes} bytes of output are waiting for the client " +
          "(limit {max}); closing the channel",
        { id: this.id, peer: this.peer, bytes: this.#queued, max: this.#limits.maxQueueBytes },
      );
      return this.#close("output queue full");
    }
    // The writer starts after this turn, so the lines written together (an event and its
    // DeviceInformation, a reply and the events held behind it) leave in one write.
    this.#pumping ??= Promise.resolve().then(() => this.#pump());
  }

  /** Writes queued output until the queue is empty; socket back-pressure pauses it. */
  async #pump(): Promise<void> {
    try {
      while (this.#queue.length > 0 && this.#state !== "closed") {
        const chunk = this.#queue.length === 1 ? this.#queue[0] : concat(this.#queue);
        this.#queue = [];
        for (let off = 0; off < chunk.length;) {
          const n = await this.#conn.write(chunk.subarray(off));
          off += n;
          this.#queued -= n;
        }
      }
    } catch (e) {
      if (this.#state !== "closed") {
        log("channel").info("channel {id}: writing failed: {error}", { id: this.id, error: e });
        this.#close("write failed");
      }
    } finally {
      this.#pumping = undefined;
    }
  }

  /** The session finished: flush, send FIN, give the peer time to close, then close (§6). */
  async #finish(why: "bye" | "input ended") {
    if (this.#state !== "open") return;
    this.#state = "closing";
    this.#closeReason = why;
    while (this.#pumping) await this.#pumping;
    if (this.#isClosed()) return;
    if (this.#eof) return this.#close(why);
    try {
      await this.#conn.closeWrite();
    } catch {
      return this.#close(why);
    }
    if (this.#isClosed()) return;
    this.#linger = this.#clock.setTimeout(() => this.#close(why), this.#lingerMs);
  }

  /** A method, not a field test, because the state changes across awaits. */
  #isClosed(): boolean {
    return this.#state === "closed";
  }

  #close(reason: CloseReason) {
    if (this.#state === "closed") return;
    this.#state = "closed";
    if (this.#linger !== undefined) this.#clock.clearTimeout(this.#linger);
    this.#queue = [];
    this.#queued = 0;
    try {
      this.#conn.close();
    } catch {
      // already closed by the peer or the runtime
    }
    // Not inside the current call: an overflow happens inside `deliver`, and the monitor
    // should not see its subscribers change while it is delivering.
    queueMicrotask(() => this.session.close());
    log("channel").info("channel {id} from {peer} closed ({reason})", {
      id: this.id,
      peer: this.peer,
      reason,
    });
    Promise.allSettled([this.#reading, this.#pumping]).then(() => this.#resolveDone());
  }
}
