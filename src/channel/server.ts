/**
 * The channel listener as a server component (docs/channel-protocol.md §6, docs/configuration.md "Live
 * reload"): accepts plug-in connections on `serverBindAddress:serverPort`, applies the
 * allow-list and the channel limit, and follows new settings without dropping open channels.
 */

import { type Clock, systemClock } from "../clock.ts";
import { addressAllowed, type Cidr, type DeviceInfoMode } from "../config/mod.ts";
import { log, RepeatedWarning } from "../log/mod.ts";
import { AcceptLoop } from "../listen.ts";
import { Serial } from "../serial.ts";
import type { CommandHandler, Component, Settings } from "../contract.ts";
import type { ChannelLimits } from "./session.ts";
import { Connection, peerOf } from "./_connection.ts";

/** What a channel server is built from; everything else comes from `apply(settings)`. */
export interface ChannelServerOptions {
  /** The server behind every channel (the dispatcher; a fake in tests). */
  readonly handler: CommandHandler;
  readonly clock?: Clock;
  /** How long a channel waits for the client to close after `BYE` (default 2000 ms). */
  readonly lingerMs?: number;
  /** Opens a TCP listener; tests pass one that fails on purpose. Default `Deno.listen`. */
  readonly listen?: (at: { hostname: string; port: number }) => Deno.TcpListener;
}

/** One open channel, for the status page. */
export interface ChannelStatus {
  readonly id: number;
  /** `host:port` of the client (`[v6]:port` for IPv6). */
  readonly peer: string;
  /** Clock milliseconds when the channel opened. */
  readonly connectedSince: number;
  readonly mode: DeviceInfoMode;
  readonly monitored: readonly string[];
  readonly queuedBytes: number;
  readonly pendingCommands: number;
  /** Lines the client sent so far. */
  readonly commands: number;
  /** `STLI` or `STLI;Version=2`; undefined before the handshake. */
  readonly handshake?: string;
}

/** The channel server, for the status page. */
export interface ChannelServerStatus {
  /** Where the listener is bound; undefined before the first `apply` and after `close`. */
  readonly listening?: { readonly hostname: string; readonly port: number };
  readonly maxChannels: number;
  /** Connections refused since start (allow-list or channel limit). */
  readonly refused: number;
  /** Accepts that failed since start (a client that reset before it was accepted, say). */
  readonly acceptErrors: number;
  readonly channels: readonly ChannelStatus[];
}

/** Thrown by the first `apply` when the channel port cannot be bound. */
export class ChannelBindError extends Error {
  constructor(hostname: string, port: number, options?: ErrorOptions) {
    super(`cannot listen for channels on ${hostname}:${port}`, options);
    this.name = "ChannelBindError";
  }
}

/** Channel ids are unique per process, so subscribers of several servers never collide. */
let lastChannelId = 0;

interface ListenerConfig {
  readonly hostname: string;
  readonly port: number;
}

/** The STLI channel server (docs/channel-protocol.md): a {@link Component}. */
export class ChannelServer implements Component {
  readonly name = "channel";
  readonly #handler: CommandHandler;
  readonly #clock: Clock;
  readonly #lingerMs: number;
  readonly #listen: (at: ListenerConfig) => Deno.TcpListener;
  /** The current listener's accept loop; a rebind closes it and waits for its socket to go. */
  #accepting?: AcceptLoop<Deno.TcpConn, Deno.TcpListener>;
  #listenerConfig?: ListenerConfig;
  #everBound = false;
  /** Settings are applied one at a time, in order. */
  readonly #applying = new Serial();
  readonly #connections = new Set<Connection>();
  #allowed: readonly Cidr[] = [];
  #maxChannels = 0;
  #refused = 0;
  #acceptErrors = 0;
  #closed = false;
  /** Refusals and failed accepts: anyone can cause them, so they are summarised. */
  readonly #refusals = new RepeatedWarning(() => log("channel"));
  readonly #acceptProblems = new RepeatedWarning(() => log("channel"));
  /** Shared by every open channel, so limits changed by a reload reach them at once. */
  readonly #limits: ChannelLimits = {
    errorDetail: false,
    maxLineBytes: 65536,
    maxQueueBytes: 1 << 20,
  };
  #deviceInformation: DeviceInfoMode = "standard";

  constructor(options: ChannelServerOptions) {
    this.#handler = options.handler;
    this.#clock = options.clock ?? systemClock;
    this.#lingerMs = options.lingerMs ?? 2000;
    this.#listen = options.listen ??
      ((at) => Deno.listen({ hostname: at.hostname, port: at.port, transport: "tcp" }));
  }

  /** Where the listener is bound now. */
  get address(): Deno.NetAddr | undefined {
    return this.#accepting?.listener?.addr as Deno.NetAddr | undefined;
  }

  /**
   * Takes new settings: limits and the allow-list at once; DeviceInformation default for new
   * channels; a changed port or bind address rebinds while open channels stay connected.
   * Resolves when the listener is in place. The first call rejects with
   * {@link ChannelBindError} when the port cannot be bound; later calls log it and keep the
   * old listener. Calls are handled one at a time.
   */
  apply(settings: Settings): Promise<void> {
    return this.#applying.run(() => this.#apply(settings));
  }

  async #apply(settings: Settings): Promise<void> {
    if (this.#closed) return;
    const { server, channel } = settings.config;
    this.#allowed = server.allowedClients;
    this.#maxChannels = server.maxChannels;
    this.#deviceInformation = channel.deviceInformation;
    this.#limits.errorDetail = channel.errorDetail;
    this.#limits.maxLineBytes = channel.maxLineBytes;
    this.#limits.maxQueueBytes = channel.maxQueueBytes;
    const wanted = { hostname: server.bindAddress, port: server.port };
    const now = this.#listenerConfig;
    if (now && now.hostname === wanted.hostname && now.port === wanted.port) return;
    await this.#bind(wanted);
  }

  async #bind(wanted: ListenerConfig) {
    const old = this.#accepting;
    const oldConfig = this.#listenerConfig;
    let listener: Deno.TcpListener;
    try {
      listener = this.#listen(wanted);
    } catch (e) {
      if (!old || !oldConfig) {
        if (!this.#everBound) {
          throw new ChannelBindError(wanted.hostname, wanted.port, { cause: e });
        }
        log("channel").error("cannot listen for channels on {hostname}:{port}: {error}", {
          ...wanted,
          error: e,
        });
        return;
      }
      const samePort = e instanceof Deno.errors.AddrInUse && wanted.port === oldConfig.port;
      const taken = samePort ? await this.#listenInsteadOf(old, oldConfig, wanted) : undefined;
      if (!taken) {
        log("channel").error(
          "cannot listen for channels on {hostname}:{port}: {error}; still listening on {old}",
          { ...wanted, error: e, old: this.address ? peerOf(this.address) : "nothing" },
        );
        return;
      }
      listener = taken;
    }
    if (old && this.#accepting === old) await this.#stopListening(old);
    this.#listenerConfig = wanted;
    this.#everBound = true;
    this.#serve(listener, wanted);
    log("channel").info("listening for channels on {address}", {
      address: peerOf(listener.addr as Deno.NetAddr),
    });
  }

  /**
   * The same port on another address can clash with the old listener (0.0.0.0:P and
   * 10.0.0.5:P): the old one goes first, and comes back if the new one still cannot be bound.
   * Returns the new listener, or undefined with the old one listening again (or, if even that
   * fails, none: open channels stay, new ones wait for a working setting).
   */
  async #listenInsteadOf(
    old: AcceptLoop<Deno.TcpConn, Deno.TcpListener>,
    oldConfig: ListenerConfig,
    wanted: ListenerConfig,
  ): Promise<Deno.TcpListener | undefined> {
    await this.#stopListening(old);
    try {
      return this.#listen(wanted);
    } catch {
      try {
        this.#serve(this.#listen(oldConfig), oldConfig);
      } catch (e) {
        this.#listenerConfig = undefined;
        log("channel").error(
          "cannot listen for channels on {hostname}:{port} again: {error}; open channels " +
            "stay connected, new ones cannot connect until the setting changes",
          { ...oldConfig, error: e },
        );
      }
      return undefined;
    }
  }

  /**
   * Makes `listener` (bound to `at`) the current one and accepts channels on it until it is
   * closed (src/listen.ts): failed accepts are counted and summarised in the log, and should
   * the listener break, that is logged and it is opened on `at` again.
   */
  #serve(listener: Deno.TcpListener, at: ListenerConfig) {
    this.#accepting = new AcceptLoop({
      listener,
      listen: () => this.#listen(at),
      take: (conn) => this.#admit(conn),
      failed: (stage, error) => {
        this.#acceptErrors++;
        if (stage === "accept") {
          this.#acceptProblems.note("accept", "accepting a channel failed: {error}", { error });
        } else this.#acceptProblems.note("admit", "taking a channel failed: {error}", { error });
      },
      lost: (error) =>
        log("channel").error("the channel listener stopped ({error}); listening again", { error }),
      // The first failure in a row is an error; the retries, every second, are summarised.
      relistenFailed: (error, attempt) => {
        const message = "cannot listen for channels on {hostname}:{port}: {error}; retrying";
        if (attempt === 1) log("channel").error(message, { ...at, error });
        else this.#acceptProblems.note("listen", message, { ...at, error });
      },
      clock: this.#clock,
    });
  }

  /** Closes a listener and waits until its socket is released (its accept has ended). */
  async #stopListening(accepting: AcceptLoop<Deno.TcpConn, Deno.TcpListener>) {
    if (this.#accepting === accepting) this.#accepting = undefined;
    await accepting.close();
  }

  #admit(conn: Deno.TcpConn) {
    const addr = conn.remoteAddr;
    let refusal: string | undefined;
    if (this.#closed) refusal = "the server is closing";
    else if (!addressAllowed(addr.hostname, this.#allowed)) {
      refusal = "its address is not in serverAllowedClients";
    } else if (this.#connections.size >= this.#maxChannels) {
      refusal = `serverMaxChannels (${this.#maxChannels}) channels are open`;
    }
    if (refusal) {
      this.#refused++;
      try {
        conn.close();
      } catch {
        // the client already went away
      }
      this.#refusals.note(refusal, "refused a channel from {peer}: {why}", {
        peer: peerOf(addr),
        why: refusal,
      });
      return;
    }
    try {
      conn.setKeepAlive(true);
    } catch (e) {
      log("channel").warning("cannot enable TCP keep-alive: {error}", { error: e });
    }
    try {
      // Lines go out as soon as they are written. With Nagle's algorithm a write that follows
      // one not yet acknowledged (the Initiated line right after a MakeCall reply) waits for
      // the client's delayed ACK, some 40 ms; the output queue already batches what it can.
      conn.setNoDelay(true);
    } catch (e) {
      log("channel").warning("cannot disable Nagle's algorithm: {error}", { error: e });
    }
    const connection = new Connection({
      id: ++lastChannelId,
      conn,
      handler: this.#handler,
      clock: this.#clock,
      deviceInformation: this.#deviceInformation,
      limits: this.#limits,
      lingerMs: this.#lingerMs,
    });
    this.#connections.add(connection);
    connection.done.then(() => this.#connections.delete(connection));
  }

  /** Open channels, listener and refusals, for the status page. */
  status(): ChannelServerStatus {
    const addr = this.address;
    return {
      listening: addr ? { hostname: addr.hostname, port: addr.port } : undefined,
      maxChannels: this.#maxChannels,
      refused: this.#refused,
      acceptErrors: this.#acceptErrors,
      channels: [...this.#connections].map((c) => ({
        id: c.id,
        peer: c.peer,
        connectedSince: c.connectedSince,
        mode: c.session.mode,
        monitored: c.session.monitored,
        queuedBytes: c.queuedBytes,
        pendingCommands: c.session.pending,
        commands: c.session.commands,
        handshake: c.session.handshake,
      })),
    };
  }

  /** Stops listening, closes every channel (releasing its monitors) and waits for them. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#refusals.close();
    this.#acceptProblems.close();
    await this.#applying.idle();
    const accepting = this.#accepting;
    this.#listenerConfig = undefined;
    const stopped = accepting ? this.#stopListening(accepting) : undefined;
    const connections = [...this.#connections];
    for (const c of connections) c.close("server closing");
    await Promise.all([stopped, ...connections.map((c) => c.done)]);
  }
}
