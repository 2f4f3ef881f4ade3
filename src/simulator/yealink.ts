/**
 * A simulated Yealink desk phone (docs/yealink.md §8): a real HTTP server on a loopback
 * address that answers Action URI requests (`/servlet?key=…`, `phonecfg=get`) with Basic
 * login, obeys only the addresses of `features.action_uri_limit_ip` (403 from others), asks
 * "Allow remote control?" the first time each trusted address sends a request (the
 * `promptAnswer` option plays the user), runs the SNOM simulator's call model, and fires the
 * `action_url.<event>` URLs it was provisioned with, substituting `$call_id` and the other
 * variables raw, as the phone does.
 *
 * Trust, from one address's side:
 *
 * ```
 *   not on the list ──▶ 403 on every request
 *   on the list, first request ──prompt──▶ accepted: obeyed from now on
 *                                      └─▶ refused: 403 from now on (until it restarts)
 *   features.show_action_uri_option = 0: obeyed without a prompt
 * ```
 */

import { ActionSender, type FiredAction } from "./actions.ts";
import type { Effect, SimCall, SimEventName } from "./calls.ts";
import { RawHttpServer, type RawRequest, type SimReply } from "./http_server.ts";
import { Handset, type SimSwitch } from "./_handset.ts";
import type { RequestRecord } from "./phone.ts";
import { hostPort } from "../net.ts";

/** How a simulated Yealink starts. Every field but `extension` has a default. */
export interface YealinkOptions {
  readonly extension: string;
  /** Shown to called parties as `$display_remote`. Default `Phone <extension>`. */
  readonly displayName?: string;
  /** Loopback address to listen on. Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: a free port. */
  readonly port?: number;
  /** Web login (Basic). Default admin / admin. */
  readonly username?: string;
  readonly password?: string;
  /** Provisioning lines loaded at start (`key = value`), e.g. `action_url.*` lines. */
  readonly provisioning?: string;
  /** How the phone's user answers "Allow remote control?". Default `accept`. */
  readonly promptAnswer?: "accept" | "refuse";
  /** Model name for `$model` and `phonecfg=get`. Default `SIP-T46U`. */
  readonly model?: string;
  /** How long one action URL may take. Default 2000 ms. */
  readonly actionTimeoutMs?: number;
}

/**
 * Which action URL setting each call-model event fires; every one is a documented event
 * (docs/yealink.md §4). A completed transfer fires `transfer_finished` once: the model's
 * `transfer` comes with every transfer, its `blind_transfer`/`attended_transfer` (SNOM's
 * own settings) fire nothing here. `busy` and `idle` are the phone's state: it has a call
 * now, or no call any more.
 */
export const YEALINK_ACTION_SETTINGS: Readonly<Partial<Record<SimEventName, string>>> = {
  incoming: "action_url.incoming_call",
  outgoing: "action_url.outgoing_call",
  connected: "action_url.call_established",
  disconnected: "action_url.call_terminated",
  missed: "action_url.missed_call",
  rejected: "action_url.reject_incoming_call",
  forwarded: "action_url.forward_incoming_call",
  remote_busy: "action_url.remote_busy",
  cancelled: "action_url.cancel_callout",
  hold: "action_url.hold",
  unhold: "action_url.unhold",
  transfer: "action_url.transfer_finished",
  transfer_failed: "action_url.transfer_failed",
  offhook: "action_url.off_hook",
  onhook: "action_url.on_hook",
  dnd_on: "action_url.dnd_on",
  dnd_off: "action_url.dnd_off",
  busy: "action_url.idle_to_busy",
  idle: "action_url.busy_to_idle",
  setup: "action_url.setup_completed",
};

/** Action URL variables (docs/yealink.md §4), longest first so a longer name wins. */
const VARIABLES = [
  "display_remote",
  "display_local",
  "active_user",
  "active_host",
  "active_url",
  "firmware",
  "call_id",
  "remote",
  "model",
  "local",
  "mac",
  "ip",
];

/** Key values the simulated phone accepts besides digits and the call-id forms. */
const PLAIN_KEYS = new Set([
  "OK",
  "ENTER",
  "CALLEND",
  "HOLD",
  "F_HOLD",
  "F_TRANSFER",
  "F_CONFERENCE",
  "SPEAKER",
  "MUTE",
  "VOLUME_UP",
  "VOLUME_DOWN",
  "POUND",
  "STAR",
]);

const FIRMWARE = "108.86.0.45";

/**
 * Replaces every `$variable` in `template` with its value, raw (the phone does not encode);
 * an unknown `$word` stays as written.
 */
export function substituteYealink(template: string, values: Readonly<Record<string, string>>) {
  return template.replace(/\$([A-Za-z_]+)/g, (whole, word: string) => {
    const name = VARIABLES.find((v) => word.startsWith(v));
    return name === undefined ? whole : (values[name] ?? "") + word.slice(name.length);
  });
}

/** Parses provisioning text: `key = value` lines; `#` starts a comment line. */
export function parseProvisioning(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    out.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  return out;
}

/** True when `address` is on a `features.action_uri_limit_ip` list (`*` per octet, `any`). */
export function trustedBy(list: string, address: string): boolean {
  const plain = address.replace(/^::ffff:/i, "");
  return list.split(",").map((e) => e.trim()).filter((e) => e !== "").some((entry) => {
    if (entry.toLowerCase() === "any") return true;
    const pattern = entry.split(".");
    const parts = plain.split(".");
    return pattern.length === parts.length && pattern.every((p, i) => p === "*" || p === parts[i]);
  });
}

/** A running simulated Yealink. Start one with `SimNetwork.addYealink`. */
export class YealinkPhone extends Handset {
  readonly host: string;
  readonly model: string;
  readonly mac: string;
  /** Every request received, oldest first. */
  readonly requests: RequestRecord[] = [];
  /** Every action URL fired, oldest first, with its result once sent. */
  readonly actions: FiredAction[] = [];
  /** How the phone's user answers the remote-control prompt for an address not yet asked. */
  promptAnswer: "accept" | "refuse";
  /** How often the prompt was shown. */
  prompts = 0;

  readonly #settings = new Map<string, string>();
  readonly #username: string;
  readonly #password: string;
  readonly #sender: ActionSender;
  /** The prompt's answer per trusted address. */
  readonly #decided = new Map<string, boolean>();
  /** The phone's own call ids (small numbers) for the network's call ids. */
  readonly #localIds = new Map<string, string>();
  #nextLocalId = 100;
  /** Whether the phone has a call, for idle_to_busy and busy_to_idle. */
  #busy = false;
  #server?: RawHttpServer;
  #closed = false;

  /** Use `SimNetwork.addYealink`, which also starts the server. */
  constructor(options: YealinkOptions, sw: SimSwitch) {
    super(options.extension, options.displayName ?? `Phone ${options.extension}`, sw);
    this.host = options.host ?? "127.0.0.1";
    this.model = options.model ?? "SIP-T46U";
    this.mac = "805ec0" + [...options.extension].map((c) => c.charCodeAt(0) % 10).join("")
      .padStart(6, "0").slice(-6);
    this.promptAnswer = options.promptAnswer ?? "accept";
    this.#username = options.username ?? "admin";
    this.#password = options.password ?? "admin";
    const timeoutMs = options.actionTimeoutMs ?? 2000;
    this.#sender = new ActionSender(`Yealink ${this.model} ${FIRMWARE}`, () => timeoutMs);
    this.#settings.set("features.action_uri.enable", "1");
    this.#settings.set("features.show_action_uri_option", "1");
    this.#settings.set("features.action_uri_limit_ip", "");
    if (options.provisioning) this.provision(options.provisioning);
  }

  /** Starts the HTTP server. */
  async start(options: YealinkOptions): Promise<void> {
    this.#server = await RawHttpServer.listen({
      host: this.host,
      port: options.port ?? 0,
      handler: (r) => this.#handle(r),
    });
  }

  /** The port the phone's web server listens on. */
  get port(): number {
    return this.#server?.port ?? 0;
  }

  /** The web login the phone wants (Basic). */
  get login(): { readonly username: string; readonly password: string } {
    return { username: this.#username, password: this.#password };
  }

  /** The phone's web address, e.g. `http://127.0.0.1:40123`. */
  get url(): string {
    return `http://${hostPort(this.host, this.port)}`;
  }

  /** The phone's own id of a call (its `$call_id`), given the network's id. */
  localId(callId: string): string {
    let id = this.#localIds.get(callId);
    if (id === undefined) {
      id = String(this.#nextLocalId++);
      this.#localIds.set(callId, id);
    }
    return id;
  }

  /** The settings in effect. */
  get settings(): ReadonlyMap<string, string> {
    return new Map(this.#settings);
  }

  /** Loads provisioning lines (`key = value`), as when the phone fetches its config file. */
  provision(text: string): void {
    for (const [k, v] of parseProvisioning(text)) this.#settings.set(k, v);
  }

  /**
   * The phone's user presses keys on the phone itself, named as the call model names them
   * (`DND`, `CANCEL`, `ENTER`, digits, ...): what the Action URI would not do for them.
   */
  press(...keys: string[]): void {
    this.apply(this.sim.press(keys));
  }

  /** Restarts: calls are gone, prompts are asked again, `setup_completed` fires. */
  reboot(): void {
    this.apply(this.sim.releaseAll());
    this.#decided.clear();
    this.fire({ kind: "event", name: "setup" });
  }

  /** Resolves when every action URL fired so far has been sent (or failed). */
  actionsIdle(): Promise<void> {
    return this.#sender.idle();
  }

  /** Stops the server and the action URLs; the phone leaves the network. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.network.detach(this);
    this.#sender.close();
    await this.#server?.close();
  }

  protected fire(e: Extract<Effect, { kind: "event" }>): void {
    const setting = YEALINK_ACTION_SETTINGS[e.name];
    if (setting) this.#send(setting, e.name, e.call);
  }

  /** Reports the events, then whether the phone went from idle to busy or back. */
  protected override apply(effects: readonly Effect[]): void {
    super.apply(effects);
    const busy = this.sim.calls.length > 0;
    if (busy === this.#busy) return;
    this.#busy = busy;
    this.fire({ kind: "event", name: busy ? "busy" : "idle" });
  }

  /** Fires the URL of one action URL setting, if it holds one. */
  #send(setting: string, event: SimEventName, call: SimCall | undefined): void {
    if (this.#closed) return;
    const template = this.#settings.get(setting) ?? "";
    if (template.trim() === "") return;
    const domain = this.network.domain;
    const url = substituteYealink(template, {
      call_id: call ? this.localId(call.callId) : "",
      remote: call ? `sip:${call.remote.user}@${domain}` : "",
      display_remote: call?.remote.display ?? "",
      local: `sip:${this.extension}@${domain}`,
      display_local: this.displayName,
      active_url: `sip:${this.extension}@${domain}`,
      active_user: this.extension,
      active_host: domain,
      mac: this.mac,
      ip: this.host,
      model: this.model,
      firmware: FIRMWARE,
    });
    const action: FiredAction = { event, url };
    this.actions.push(action);
    this.#sender.send(action);
  }

  /** The network's id of the call the phone knows as `local`. */
  #networkId(local: string): string | undefined {
    for (const [network, id] of this.#localIds) {
      if (id === local && this.sim.calls.some((c) => c.callId === network)) return network;
    }
    return undefined;
  }

  async #handle(r: RawRequest): Promise<SimReply> {
    const q = r.target.indexOf("?");
    const path = q < 0 ? r.target : r.target.slice(0, q);
    const params = new URLSearchParams(q < 0 ? "" : r.target.slice(q + 1));
    const record: RequestRecord = {
      at: Date.now(),
      method: r.method,
      target: r.target,
      path,
      params,
      headers: r.headers,
      body: r.body,
    };
    this.requests.push(record);
    const reply = await Promise.resolve(this.#answer(r, record));
    record.outcome = reply.kind === "reply" ? reply.status : "closed";
    return reply;
  }

  #answer(r: RawRequest, record: RequestRecord): SimReply {
    if (this.#closed) return { kind: "reset" };
    const servlet = ["/servlet", "/cgi-bin/ConfigManApp.com", "/cgi-bin/cgiServer.exx"];
    if (!servlet.includes(record.path)) {
      return record.path === "/" ? this.#page(200, this.model) : this.#page(404, "Not Found");
    }
    if (this.#settings.get("features.action_uri.enable") === "0") {
      return this.#page(403, "Action URI is disabled");
    }
    const address = r.remoteAddress;
    if (!trustedBy(this.#settings.get("features.action_uri_limit_ip") ?? "", address)) {
      return this.#page(403, "Forbidden: not in the Action URI Allow IP List");
    }
    const expected = "Basic " + btoa(`${this.#username}:${this.#password}`);
    const authorization = r.headers.find(([n]) => n === "authorization")?.[1];
    if (authorization !== expected) {
      return this.#page(401, "Unauthorized", [["WWW-Authenticate", 'Basic realm="Yealink"']]);
    }
    record.authorized = true;
    if (this.#settings.get("features.show_action_uri_option") !== "0") {
      if (!this.#decided.has(address)) {
        this.prompts += 1;
        this.#decided.set(address, this.promptAnswer === "accept");
      }
      if (!this.#decided.get(address)) return this.#page(403, "Remote control was not allowed");
    }
    const p = record.params;
    if (p.get("phonecfg") === "get") {
      return this.#page(
        200,
        `model=${this.model}\nfirmware=${FIRMWARE}\naccount1=${this.extension} registered\ndnd=0`,
      );
    }
    const key = p.get("key");
    if (key === null) return this.#page(400, "Missing key");
    return this.#keys(key);
  }

  #keys(value: string): SimReply {
    if (value.startsWith("number=")) {
      const number = value.slice(7);
      if (!/^\+?[0-9*#]+$/.test(number)) return this.#page(400, "Invalid number");
      this.apply(this.sim.dial(number));
      return this.#page(200, "OK");
    }
    const keys = value.split(";").filter((k) => k !== "");
    const bad = keys.filter((k) =>
      !PLAIN_KEYS.has(k) && !/^[0-9]$/.test(k) && !/^(ASW|CANCEL|HOLD|UNHOLD):.+$/.test(k)
    );
    if (bad.length > 0) return this.#page(400, `Unknown key ${bad.join(", ")}`);
    for (const k of keys) this.#key(k);
    return this.#page(200, "OK");
  }

  #key(k: string): void {
    const m = /^(ASW|CANCEL|HOLD|UNHOLD):(.+)$/.exec(k);
    const model = this.sim;
    if (m) {
      const id = this.#networkId(m[2]);
      if (id === undefined) return;
      if (m[1] === "ASW") this.apply(model.answer(id));
      else if (m[1] === "CANCEL") this.apply(model.hangUp(id));
      else if (m[1] === "HOLD") this.apply(model.hold(id));
      else this.apply(model.unhold(id));
      return;
    }
    if (/^[0-9]$/.test(k) || k === "POUND" || k === "STAR") {
      this.apply(model.press([k === "POUND" ? "#" : k === "STAR" ? "*" : k]));
      return;
    }
    switch (k) {
      case "OK":
      case "ENTER":
        this.apply(model.press(["ENTER"]));
        return;
      case "CALLEND": {
        const active = model.calls.find((c) => c.state === "connected" || c.state === "dialing");
        this.apply(model.hangUp(active?.callId));
        return;
      }
      case "HOLD":
      case "F_HOLD": {
        const active = model.calls.find((c) => c.state === "connected");
        if (active) this.apply(model.hold(active.callId));
        return;
      }
      case "F_TRANSFER":
        // Pressed again while the phone waits for the target, it completes a blind transfer.
        this.apply(model.press([model.entry?.mode === "transfer" ? "ENTER" : "TRANSFER"]));
        return;
      default:
        // Conference, speaker, mute and volume change no call here.
        return;
    }
  }

  #page(
    status: number,
    text: string,
    extra: readonly (readonly [string, string])[] = [],
  ): SimReply {
    return {
      kind: "reply",
      status,
      headers: [["Server", "Yealink embed httpd"], ["Content-Type", "text/plain"], ...extra],
      body: text,
    };
  }
}
