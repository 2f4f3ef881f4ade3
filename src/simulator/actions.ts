/**
 * Action URLs of a simulated SNOM (docs/snom.md §5, §9.6): which setting fires for which
 * event, `$variable` substitution, and a sender that fires one GET at a time, in event
 * order, with a short timeout, ignoring the reply but for its status.
 *
 * The sender is the server's own phone client (src/http/client.ts), which puts the target on
 * the request line as it is, so a URL with raw (unencoded) substituted values goes out exactly
 * as a phone that does not encode them would send it (§5.5).
 */

import { sleep } from "../clock.ts";
import { netTransport, type PhoneReply } from "../http/mod.ts";
import type { SimEventName } from "./calls.ts";

/**
 * The setting that holds each event's URL (§5.1); some have no `_url` suffix. Events without
 * a SNOM setting fire nothing.
 */
export const ACTION_SETTINGS: Readonly<Partial<Record<SimEventName, string>>> = {
  incoming: "action_incoming_url",
  outgoing: "action_outgoing_url",
  connected: "action_connected_url",
  disconnected: "action_disconnected_url",
  missed: "action_missed_url",
  hold: "action_hold",
  unhold: "action_unhold",
  transfer: "action_transfer",
  blind_transfer: "action_blind_transfer",
  attended_transfer: "action_attended_transfer",
  received_attended_transfer: "action_received_attended_transfer",
  offhook: "action_offhook_url",
  onhook: "action_onhook_url",
  dnd_on: "action_dnd_on_url",
  dnd_off: "action_dnd_off_url",
  setup: "action_setup_url",
};

/** Runtime variables (§5.3), longest first so `$display_remote` wins over a shorter name. */
const RUNTIME = [
  "expansion_module",
  "nr_ongoing_calls",
  "display_remote",
  "display_local",
  "longpress_key",
  "cancel_reason",
  "context_url",
  "active_user",
  "active_host",
  "active_key",
  "active_url",
  "phone_ip",
  "local_ip",
  "csta_id",
  "call-id",
  "remote",
  "local",
  "mac",
];

/**
 * Replaces every `$name` in `template`. Runtime variables come from `runtime`; any other
 * name is a setting (`$user_name1`), blank when unknown or a password (§5.2). With
 * `encode`, substituted values are percent-encoded; without, they go in verbatim.
 */
export function substitute(
  template: string,
  runtime: Readonly<Record<string, string>>,
  setting: (name: string) => string | undefined,
  encode: boolean,
): string {
  const value = (word: string): [string, string] => {
    if (word.startsWith("call-id")) return [runtime["call-id"] ?? "", word.slice(7)];
    const name = /^[A-Za-z0-9_]+/.exec(word)?.[0] ?? "";
    const rest = word.slice(name.length);
    if (RUNTIME.includes(name)) return [runtime[name] ?? "", rest];
    const stored = setting(name);
    if (stored !== undefined) return [/pass|pwd|secret/i.test(name) ? "" : stored, rest];
    const prefix = RUNTIME.find((r) => name.startsWith(r));
    if (prefix !== undefined) return [runtime[prefix] ?? "", word.slice(prefix.length)];
    return ["", rest];
  };
  return template.replace(/\$([A-Za-z0-9_-]+)/g, (_whole, word: string) => {
    const [v, rest] = value(word);
    return (encode ? encodeURIComponent(v) : v) + rest;
  });
}

/** One action URL fired, and what became of it. */
export interface FiredAction {
  readonly event: SimEventName;
  /** The URL after substitution, as sent (without any fragment). */
  readonly url: string;
  /** The status of the reply, or why there was none. */
  status?: number;
  error?: string;
}

/**
 * Sends action URLs one at a time, in the order they were queued. A URL that cannot be
 * sent is recorded with its error and skipped; the next one still goes.
 */
export class ActionSender {
  readonly #queue: FiredAction[] = [];
  readonly #userAgent: string;
  readonly #timeoutMs: () => number;
  readonly #delayMs: () => number;
  /** Aborted by {@link close}: ends the wait before a URL and the request in flight. */
  readonly #closing = new AbortController();
  #running?: Promise<void>;
  #closed = false;

  /** `delayMs` is read before each URL: how long to wait before sending it. */
  constructor(userAgent: string, timeoutMs: () => number, delayMs: () => number = () => 0) {
    this.#userAgent = userAgent;
    this.#timeoutMs = timeoutMs;
    this.#delayMs = delayMs;
  }

  /** Queues a URL; the record is updated once it was sent. */
  send(action: FiredAction): void {
    if (this.#closed) return;
    this.#queue.push(action);
    this.#running ??= this.#drain();
  }

  /** Resolves once every queued URL was sent or failed. */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  /** Drops what is queued and aborts what is in flight. */
  close(): void {
    this.#closed = true;
    this.#queue.length = 0;
    this.#closing.abort();
  }

  async #drain() {
    for (let a = this.#queue.shift(); a; a = this.#queue.shift()) {
      const delay = this.#delayMs();
      if (delay > 0) await sleep(delay, undefined, this.#closing.signal);
      if (this.#closed) break;
      await this.#fire(a);
    }
    this.#running = undefined;
  }

  async #fire(action: FiredAction): Promise<void> {
    const m = /^(https?):\/\/(\[[^\]]+\]|[^/:?#]+)(?::(\d+))?(.*)$/i.exec(action.url);
    if (!m) {
      action.error = "not an http(s) URL";
      return;
    }
    const https = m[1].toLowerCase() === "https";
    const host = m[2].startsWith("[") ? m[2].slice(1, -1) : m[2];
    const port = m[3] ? Number(m[3]) : https ? 443 : 80;
    const rest = m[4];
    const target = rest === "" ? "/" : rest.startsWith("/") ? rest : `/${rest}`;
    const reply = await netTransport.exchange({
      protocol: https ? "HTTPS" : "HTTP",
      host,
      port,
      method: "GET",
      target,
      headers: [["User-Agent", this.#userAgent], ["Accept", "*/*"], ["Connection", "close"]],
      body: "",
      timeoutMs: this.#timeoutMs(),
      signal: this.#closing.signal,
    });
    if (reply.kind === "response") action.status = reply.status;
    else action.error = noStatus(reply);
  }
}

/** What became of an action URL that got no status back. */
function noStatus(reply: Exclude<PhoneReply, { kind: "response" }>): string {
  switch (reply.kind) {
    case "closed":
      return "closed without a reply";
    case "timeout":
      return "timeout";
    case "malformed":
      return "not an HTTP reply";
    case "unreachable":
      return reply.message;
  }
}
