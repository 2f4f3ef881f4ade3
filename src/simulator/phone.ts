/**
 * A simulated SNOM desk phone: a real HTTP server on a loopback address that behaves as
 * docs/snom.md §9 specifies — `command.htm` keys and `number=`, `dummy.htm`/`settings.htm`
 * settings, `info.htm`, Basic or Digest login with the three-strike lock-out, a call model,
 * and action URLs fired with SNOM's `$variable` substitution. Tests can make it slow, drop
 * connections, answer a given status, or close without a reply.
 */

import type { Clock } from "../clock.ts";
import { ACTION_SETTINGS, ActionSender, type FiredAction, substitute } from "./actions.ts";
import { type DigestOptions, LoginGuard } from "./auth.ts";
import { type Effect, isKnownKey } from "./calls.ts";
import { RawHttpServer, type RawRequest, type SimReply } from "./http_server.ts";
import { hostPort } from "../net.ts";
import { escapeHtml } from "../text.ts";

/** How a simulated phone starts. Every field but `extension` has a default. */
export interface SimPhoneOptions {
  readonly extension: string;
  /** Shown to called parties as `$display_remote`. Default `Phone <extension>`. */
  readonly displayName?: string;
  /** Loopback address to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** Login: none (default), basic (`http_scheme=off`) or digest (`http_scheme=on`). */
  readonly auth?: "none" | "basic" | "digest";
  /** `http_user`; default `admin` when auth is set. */
  readonly username?: string;
  /** `http_pass`; default `admin` when auth is set. */
  readonly password?: string;
  /** Digest challenges offered, one per algorithm. Default `["MD5"]`. */
  readonly digestAlgorithms?: readonly ("MD5" | "SHA-256")[];
  /** Digest with `qop="auth"` (default) or the RFC 2069 form without qop. */
  readonly digestQop?: "auth" | "none";
  /** When false, each nonce serves one request (reuse → 401 stale=true). Default true. */
  readonly digestNonceReuse?: boolean;
  /** Realm of the challenges. Default `snom`. */
  readonly realm?: string;
  /** Serve HTTPS with this PEM certificate and key. */
  readonly tls?: { readonly cert: string; readonly key: string };
  /** How long the first lock-out lasts. Default 60 000 ms, as on a SNOM. */
  readonly lockoutMs?: number;
  /** Status of the lock-out page (whose body says "blocked"). Default 403. */
  readonly lockoutStatus?: number;
  /** Status when `use_hidden_tags=on` refuses remote control. Default 403. */
  readonly hiddenTagsStatus?: number;
  /** Hardware name in `info.htm` and page titles. Default `D785`. */
  readonly model?: string;
  /** Settings to start with (they count as stored). */
  readonly settings?: Readonly<Record<string, string>>;
  /** How `number=` answers: 302 to index.htm (default), closed without a reply, or 200. */
  readonly dialReply?: DialReply;
  /** `$remote`/`$local` as `user@host` (default) or `sip:user@host`. */
  readonly remoteFormat?: RemoteFormat;
  /** Substituted values percent-encoded (default) or raw, as some phones send them. */
  readonly actionEncoding?: "percent" | "raw";
  /** How long one action URL may take. Default 2000 ms. */
  readonly actionTimeoutMs?: number;
  /** A second concurrent request: served (default), reset, or made to wait. */
  readonly concurrency?: Concurrency;
  /** Time for the lock-out. Default the system clock. */
  readonly clock?: Pick<Clock, "now">;
}

/** How `number=` answers. */
export type DialReply = "302" | "closed" | "200";
/** The text of `$remote` and `$local`. */
export type RemoteFormat = "user@host" | "sip:user@host";
/** What a second concurrent request gets. */
export type Concurrency = "allow" | "refuse" | "stall";

/**
 * A fault that every request meets until it is cleared: `drop` resets the connection
 * without acting, `close` acts and closes without a reply, a number is answered with that
 * status without acting (302 carries `Location: /index.htm`).
 */
export type SimFault = "drop" | "close" | number;

/** One request the phone received, and how it was answered. */
export interface RequestRecord {
  readonly at: number;
  readonly method: string;
  /** The request target exactly as it arrived. */
  readonly target: string;
  readonly path: string;
  readonly params: URLSearchParams;
  readonly headers: readonly (readonly [string, string])[];
  readonly body: string;
  /** A status, or `closed`/`reset` when the connection ended without one. */
  outcome?: number | "closed" | "reset";
  /** True when the request carried a login that was accepted. */
  authorized?: boolean;
}

import { Handset, type SimSwitch } from "./_handset.ts";

export type { SimEndpoint, SimSwitch } from "./_handset.ts";

/** A running simulated phone. Start one with `SimNetwork.addPhone`. */
export class SimPhone extends Handset {
  readonly host: string;
  readonly model: string;
  readonly mac: string;
  /** Every request received, oldest first. */
  readonly requests: RequestRecord[] = [];
  /** Every action URL fired, oldest first, with its result once sent. */
  readonly actions: FiredAction[] = [];
  /** Wait this long before answering each request. */
  delayMs = 0;
  /** A fault every request meets, until set back to undefined. */
  fault: SimFault | undefined;
  dialReply: DialReply;
  remoteFormat: RemoteFormat;
  actionEncoding: "percent" | "raw";
  concurrency: Concurrency;
  lockoutStatus: number;
  hiddenTagsStatus: number;
  /**
   * Wait this long before sending each action URL. At 0 (the default) an action URL may
   * reach its receiver before the reply to the request that caused it, as on a real phone.
   */
  actionDelayMs = 0;
  /** The most requests that were ever in progress at once. */
  maxConcurrent = 0;

  readonly #settings = new Map<string, string>();
  readonly #stored = new Map<string, string>();
  readonly #perms = new Map<string, "R" | "RW">();
  readonly #guard: LoginGuard;
  readonly #digest: DigestOptions;
  readonly #sender: ActionSender;
  readonly #now: () => number;
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  readonly #tls: boolean;
  #server?: RawHttpServer;
  #inProgress = 0;
  #serial: Promise<unknown> = Promise.resolve();
  #closed = false;

  /** Use `SimNetwork.addPhone`, which also starts the server. */
  constructor(options: SimPhoneOptions, sw: SimSwitch) {
    super(options.extension, options.displayName ?? `Phone ${options.extension}`, sw);
    this.host = options.host ?? "127.0.0.1";
    this.model = options.model ?? "D785";
    this.mac = "000413" + simpleHash(options.extension).slice(0, 6).toUpperCase();
    this.dialReply = options.dialReply ?? "302";
    this.remoteFormat = options.remoteFormat ?? "user@host";
    this.actionEncoding = options.actionEncoding ?? "percent";
    this.concurrency = options.concurrency ?? "allow";
    this.lockoutStatus = options.lockoutStatus ?? 403;
    this.hiddenTagsStatus = options.hiddenTagsStatus ?? 403;
    this.#tls = options.tls !== undefined;
    this.#now = options.clock ? () => options.clock!.now() : () => Date.now();
    const lockoutMs = options.lockoutMs ?? 60_000;
    this.#guard = new LoginGuard(this.#now, () => lockoutMs);
    this.#digest = {
      realm: options.realm ?? "snom",
      algorithms: options.digestAlgorithms ?? ["MD5"],
      qop: options.digestQop ?? "auth",
      nonceReuse: options.digestNonceReuse ?? true,
    };
    const actionTimeoutMs = options.actionTimeoutMs ?? 2000;
    this.#sender = new ActionSender(
      `Mozilla/4.0 (compatible; snom${this.model}-SIP 10.1.33.33 2010.12-00004-g9ba52f5 ${this.mac} SXM:0 UXM:0)`,
      () => actionTimeoutMs,
      () => this.actionDelayMs,
    );
    const auth = options.auth ?? "none";
    const initial: Record<string, string> = {
      http_user: auth === "none" ? "" : options.username ?? "admin",
      http_pass: auth === "none" ? "" : options.password ?? "admin",
      http_scheme: auth === "digest" ? "on" : "off",
      use_hidden_tags: "off",
      user_name1: this.extension,
      user_host1: sw.domain,
      user_realname1: this.displayName,
      ...options.settings,
    };
    for (const [k, v] of Object.entries(initial)) {
      this.#settings.set(k, v);
      this.#stored.set(k, v);
    }
  }

  /** Starts the HTTP server. */
  async start(options: SimPhoneOptions): Promise<void> {
    this.#server = await RawHttpServer.listen({
      host: this.host,
      port: options.port ?? 0,
      tls: options.tls,
      handler: (r) => this.#handle(r),
    });
  }

  /** The port the phone's web server listens on. */
  get port(): number {
    return this.#server?.port ?? 0;
  }

  /** The phone's web address, e.g. `http://127.0.0.1:40123`. */
  get url(): string {
    return `${this.#tls ? "https" : "http"}://${hostPort(this.host, this.port)}`;
  }

  /** The settings in effect (as `dummy.htm` left them). */
  get settings(): ReadonlyMap<string, string> {
    return new Map(this.#settings);
  }

  /** The settings written to flash (`store_settings=save`); a reboot restores these. */
  get storedSettings(): ReadonlyMap<string, string> {
    return new Map(this.#stored);
  }

  /** Whether do-not-disturb is on. */
  get dnd(): boolean {
    return this.sim.dnd;
  }

  /** Bad logins since the last good one. */
  get failedLogins(): number {
    return this.#guard.failures;
  }

  /** When the login lock ends, or 0 when the phone is not locked. */
  get lockedUntil(): number {
    return this.#guard.lockedUntil;
  }

  /** Makes a setting read-only (`R`) or writable (`RW`, the default) over HTTP. */
  setPermission(name: string, perm: "R" | "RW"): void {
    this.#perms.set(name, perm);
  }

  /** Presses keys on the phone, as `command.htm?key=` would. */
  press(...keys: string[]): void {
    for (const k of keys) {
      if (!isKnownKey(k)) throw new Error(`unknown SNOM key '${k}'`);
    }
    this.apply(this.sim.press(keys));
  }

  /**
   * Restarts the phone: calls are gone, settings are what was stored, and once up it calls
   * `action_setup_url` ("Setup finished", docs/snom.md §5.1), as a SNOM does after booting.
   */
  reboot(): void {
    this.apply(this.sim.releaseAll());
    this.#settings.clear();
    for (const [k, v] of this.#stored) this.#settings.set(k, v);
    this.fire({ kind: "event", name: "setup" });
  }

  /** Resolves when every action URL fired so far has been sent (or failed). */
  actionsIdle(): Promise<void> {
    return this.#sender.idle();
  }

  /** Stops the server, the action URLs and the timers; the phone leaves the network. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.network.detach(this);
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#sender.close();
    await this.#server?.close();
  }

  #address(user: string): string {
    const address = `${user}@${this.network.domain}`;
    return this.remoteFormat === "sip:user@host" ? `sip:${address}` : address;
  }

  protected fire(e: Extract<Effect, { kind: "event" }>): void {
    if (this.#closed) return;
    const setting = ACTION_SETTINGS[e.name];
    const template = setting === undefined ? "" : this.#settings.get(setting) ?? "";
    if (template.trim() === "") return;
    const call = e.call;
    const calls = this.sim.calls;
    const runtime: Record<string, string> = {
      local: this.#address(this.extension),
      remote: call ? this.#address(call.remote.user) : "",
      display_local: this.displayName,
      display_remote: call?.remote.display ?? "",
      "call-id": call?.callId ?? "",
      active_url: this.#address(this.extension),
      active_user: this.extension,
      active_host: this.network.domain,
      active_key: call ? "P1" : "",
      csta_id: call
        ? String(Math.max(1, calls.findIndex((c) => c.callId === call.callId) + 1))
        : "",
      phone_ip: this.host,
      local_ip: this.host,
      nr_ongoing_calls: String(calls.length),
      mac: this.mac,
      cancel_reason: e.cancelReason ?? "",
      expansion_module: "",
      longpress_key: "",
      context_url: "",
    };
    // Variables in a fragment are filled in, but a fragment is never sent.
    const withoutFragment = template.split("#")[0];
    const url = substitute(
      withoutFragment,
      runtime,
      (name) => this.#settings.get(name),
      this.actionEncoding === "percent",
    );
    const action: FiredAction = { event: e.name, url };
    this.actions.push(action);
    this.#sender.send(action);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.#timers.delete(t);
        resolve();
      }, ms);
      this.#timers.add(t);
    });
  }

  async #handle(r: RawRequest): Promise<SimReply> {
    this.#inProgress += 1;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.#inProgress);
    try {
      if (this.#inProgress > 1 && this.concurrency === "refuse") return { kind: "reset" };
      if (this.concurrency === "stall") {
        const before = this.#serial;
        let release!: () => void;
        this.#serial = new Promise<void>((resolve) => (release = resolve));
        await before;
        try {
          return await this.#serve(r);
        } finally {
          release();
        }
      }
      return await this.#serve(r);
    } finally {
      this.#inProgress -= 1;
    }
  }

  async #serve(r: RawRequest): Promise<SimReply> {
    const q = r.target.indexOf("?");
    const path = q < 0 ? r.target : r.target.slice(0, q);
    const params = new URLSearchParams(q < 0 ? "" : r.target.slice(q + 1));
    const contentType = header(r, "content-type") ?? "";
    if (r.method === "POST" && contentType.includes("x-www-form-urlencoded")) {
      for (const [k, v] of new URLSearchParams(r.body)) params.append(k, v);
    }
    const record: RequestRecord = {
      at: this.#now(),
      method: r.method,
      target: r.target,
      path,
      params,
      headers: r.headers,
      body: r.body,
    };
    this.requests.push(record);
    const reply = await this.#answer(r, record);
    record.outcome = reply.kind === "reply"
      ? reply.status
      : reply.kind === "close"
      ? "closed"
      : "reset";
    return reply;
  }

  async #answer(r: RawRequest, record: RequestRecord): Promise<SimReply> {
    if (this.delayMs > 0) await this.#sleep(this.delayMs);
    if (this.#closed) return { kind: "reset" };
    const fault = this.fault;
    if (fault === "drop") return { kind: "reset" };
    if (typeof fault === "number") {
      return this.#page(fault, `Error ${fault}`, fault === 302 ? [["Location", "/index.htm"]] : []);
    }

    const user = this.#settings.get("http_user") ?? "";
    if (user !== "") {
      const verdict = this.#guard.check(
        {
          user,
          pass: this.#settings.get("http_pass") ?? "",
          scheme: this.#settings.get("http_scheme") === "on" ? "digest" : "basic",
        },
        this.#digest,
        { method: r.method, target: r.target, authorization: header(r, "authorization") },
      );
      if (verdict.kind === "locked") {
        const seconds = Math.ceil((verdict.until - this.#now()) / 1000);
        return this.#page(
          this.lockoutStatus,
          `Too many failed logins: access blocked for ${seconds} seconds`,
        );
      }
      if (verdict.kind === "challenge") {
        return this.#page(401, "401 Unauthorized", verdict.headers);
      }
      record.authorized = true;
    }

    const reply = this.#route(record);
    return fault === "close" ? { kind: "close" } : reply;
  }

  #route(record: RequestRecord): SimReply {
    const p = record.params;
    switch (record.path) {
      case "/":
      case "/index.htm":
        return this.#page(200, `snom ${this.model}`);
      case "/info.htm":
        return this.#page(
          200,
          `Hardware: ${this.model}<br>Mac:${this.mac}<br>Firmware: snom${this.model}-SIP 10.1.33.33`,
        );
      case "/command.htm":
        if (this.#settings.get("use_hidden_tags") === "on") {
          return this.#page(this.hiddenTagsStatus, "Remote control is not allowed (hidden tags)");
        }
        return this.#command(p);
      case "/dummy.htm":
      case "/settings.htm":
        if (p.get("settings") === "save") {
          if (this.#settings.get("use_hidden_tags") === "on") {
            return this.#page(this.hiddenTagsStatus, "Settings cannot be changed (hidden tags)");
          }
          return this.#saveSettings(p);
        }
        if (record.path === "/settings.htm") return this.#listSettings();
        return this.#page(200, "");
      default:
        return this.#page(404, "Not Found");
    }
  }

  #command(p: URLSearchParams): SimReply {
    let dialled = false;
    for (const [name, value] of p) {
      if (name === "key") {
        const keys = value.split(";").filter((e) => e !== "").map((e) => e.split(",")[0]);
        const unknown = keys.filter((k) => !isKnownKey(k));
        if (unknown.length > 0) return this.#page(400, `Unknown key ${unknown.join(", ")}`);
        this.apply(this.sim.press(keys));
      } else if (name === "number") {
        this.apply(this.sim.dial(value));
        dialled = true;
      } else if (name === "RELEASE_ALL_CALLS") {
        this.apply(this.sim.releaseAll());
      }
      // key_dtmf, LOGOFFALL, LOGOFFLINE, REREGISTER and outgoing_uri change no call here.
    }
    if (dialled) {
      if (this.dialReply === "closed") return { kind: "close" };
      if (this.dialReply === "302") return this.#page(302, "Moved", [["Location", "/index.htm"]]);
    }
    return this.#page(200, `snom ${this.model}`);
  }

  #saveSettings(p: URLSearchParams): SimReply {
    const store = p.get("store_settings") === "save";
    for (const [name, value] of p) {
      if (name === "settings" || name === "store_settings") continue;
      if (this.#perms.get(name) === "R") continue;
      this.#settings.set(name, value);
      if (store) this.#stored.set(name, value);
    }
    return this.#page(200, "Settings saved");
  }

  #listSettings(): SimReply {
    const lines = [...this.#settings]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}: ${/pass/i.test(k) ? "" : escapeHtml(v)}`);
    return this.#page(200, `<pre>\n${lines.join("\n")}\n</pre>`);
  }

  #page(
    status: number,
    text: string,
    extra: readonly (readonly [string, string])[] = [],
  ): SimReply {
    return {
      kind: "reply",
      status,
      headers: [["Server", "snom embedded"], ["Content-Type", "text/html"], ...extra],
      body: `<html><head><title>snom ${this.model}</title></head><body>${text}</body></html>`,
    };
  }
}

function header(r: RawRequest, name: string): string | undefined {
  return r.headers.find(([n]) => n === name)?.[1];
}

function simpleHash(s: string): string {
  let h = 0x811c9dc5;
  for (const c of s) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h.toString(16).padStart(8, "0");
}
