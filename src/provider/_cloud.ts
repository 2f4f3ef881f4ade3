/**
 * Cloud phones: extensions of the provider account used as devices (docs/cloud-phones.md).
 * This file resolves an extension number to the provider's extension id and devices (cached
 * per account, dropped on reload and when a command finds them stale) and carries out the
 * call commands through Call Control (docs/provider.md §7), with RingOut (§6) where the
 * account may not use Call Control. Every request goes through the account's shared session
 * and rate-limit gate.
 *
 * The party a command acts on is found from the extension's active calls and their
 * telephony sessions, or from the party states the event subscription reported.
 */

import { byDeadline, type Clock } from "../clock.ts";
import type {
  CallCommand,
  CallCommandName,
  CloudListener,
  CloudPartyReport,
  CloudPort,
  CloudSnapshot,
  ErrorReason,
  Outcome,
  Settings,
} from "../contract.ts";
import { log } from "../log/mod.ts";
import type { ProviderAccount } from "./_account.ts";
import { ProviderError } from "./_errors.ts";
import {
  DEFAULT_TIMING,
  EventSubscription,
  type SubscriptionStatus,
  type SubscriptionTiming,
} from "./_events.ts";
import { record, text } from "./_json.ts";

const API = "/restapi/v1.0/account/~";
/** How long after `TransferCall <ext>` a MakeCall names the target (docs/channel-protocol.md §3.2). */
const TRANSFER_WINDOW_MS = 60_000;

/** One extension as the provider's lists give it. */
interface Extension {
  readonly id: string;
  readonly devices: readonly { readonly id: string; readonly online: boolean }[];
}

/** A party of the extension in a telephony session. */
export interface Party {
  readonly sessionId: string;
  readonly partyId: string;
  readonly status: string;
  readonly reason: string;
  readonly direction: "incoming" | "outgoing";
  readonly remote: string;
  readonly displayName: string;
}

type Failure = { readonly ok: false; readonly reason: ErrorReason; readonly detail?: string };

const logger = () => log("provider");

/** The number a party object names for one side: phone number, else extension number. */
function sideNumber(side: unknown): string {
  const s = record(side);
  const n = text(s.phoneNumber) || text(s.extensionNumber);
  return n.replace(/^tel:/i, "").replace(/\s+/g, "");
}

/**
 * Reads one party of a telephony session (REST or event shape) if it belongs to the
 * extension `extensionId`; undefined otherwise or when malformed.
 */
export function readParty(
  sessionId: string,
  value: unknown,
  extensionId: string,
): Party | undefined {
  const p = record(value);
  const owner = text(record(p.owner).extensionId) || text(p.extensionId);
  if (owner === "" || owner !== extensionId) return undefined;
  const partyId = text(p.id);
  const status = record(p.status);
  const code = text(status.code);
  if (partyId === "" || code === "" || sessionId === "") return undefined;
  const incoming = text(p.direction) === "Inbound";
  const other = incoming ? p.from : p.to;
  return {
    sessionId,
    partyId,
    status: code,
    reason: text(status.reason),
    direction: incoming ? "incoming" : "outgoing",
    remote: sideNumber(other),
    displayName: text(record(other).name),
  };
}

/** A party as the monitor gets it. */
export function toReport(device: string, p: Party): CloudPartyReport {
  return {
    device,
    callId: p.sessionId,
    status: p.status,
    reason: p.reason,
    direction: p.direction,
    remote: p.remote,
    displayName: p.displayName,
  };
}

/** `to` of a call-out or transfer: short digit strings are extension numbers. */
function target(number: string): Record<string, string> {
  return /^\d{1,6}$/.test(number) ? { extensionNumber: number } : { phoneNumber: number };
}

const ACTIVE = new Set(["Answered", "Hold"]);

/** The cloud phones of one provider service; see the module comment. */
export class CloudPhones implements CloudPort {
  readonly #account: () => ProviderAccount | undefined;
  readonly #clock: Clock;
  #settings?: Settings;
  #devices = new Set<string>();
  #directory?: Promise<Map<string, Extension>>;
  /** The account refused Call Control's call-out: MakeCall uses RingOut. */
  #callOutRefused = false;
  readonly #pendingTransfer = new Map<string, number>();
  /** Watched devices and their extension ids. */
  readonly #watched = new Map<string, string>();
  readonly #events: EventSubscription;
  protected listener?: CloudListener;

  constructor(
    account: () => ProviderAccount | undefined,
    clock: Clock,
    timing: Partial<SubscriptionTiming> = {},
  ) {
    this.#account = account;
    this.#clock = clock;
    this.#events = new EventSubscription({
      account,
      clock,
      timing: { ...DEFAULT_TIMING, ...timing },
      confirmMs: () => (this.#settings?.config.provider?.timeoutSeconds ?? 30) * 1000,
      eventFilters: [`${API}/telephony/sessions`],
      notified: (event) => this.#notified(event),
      resubscribed: () => this.#reconcile(),
    });
  }

  /**
   * New settings: the extension and device lists are read again when next needed; devices
   * no longer configured are not watched any more.
   */
  apply(settings: Settings): void {
    this.#settings = settings;
    this.#devices = new Set(settings.config.cloudPhones.map((p) => p.extension));
    this.#directory = undefined;
    for (const device of [...this.#watched.keys()]) {
      if (!this.#devices.has(device)) this.unwatch(device);
    }
  }

  /**
   * The provider account changed: what was learnt about the old one is forgotten, and the
   * event subscription is made again on the new one for the devices still watched, whose
   * calls are then reconciled (docs/cloud-phones.md §6).
   */
  accountChanged(): void {
    this.#directory = undefined;
    this.#callOutRefused = false;
    this.#events.restart("the provider settings changed");
  }

  has(device: string): boolean {
    return this.#devices.has(device);
  }

  listen(listener: CloudListener): void {
    this.listener = listener;
  }

  /**
   * Watches an extension (docs/cloud-phones.md §4): makes sure the one WebSocket subscription
   * is live, then reads the extension's calls in progress so the monitor can adopt them.
   */
  async watch(device: string): ReturnType<CloudPort["watch"]> {
    try {
      if (!this.has(device)) return { ok: false, reason: "UnknownDevice" };
      const account = this.#account();
      if (!account) return { ok: false, reason: "MonitorFailed", detail: "no provider" };
      const ext = await this.#resolve(account, device);
      if (!("id" in ext)) return ext;
      this.#watched.set(device, ext.id);
      await this.#events.ensure();
      const parties = await this.partiesOf(account, ext.id);
      return { ok: true, snapshot: snapshotOf(device, parties) };
    } catch (e) {
      const detail = e instanceof ProviderError ? e.reason : String(e);
      logger().warning("cannot watch cloud phone {device}: {detail}", { device, detail });
      this.unwatch(device);
      return { ok: false, reason: "MonitorFailed", detail };
    }
  }

  /** Stops watching; the subscription closes with the last watched extension. */
  unwatch(device: string): void {
    this.#watched.delete(device);
    if (this.#watched.size === 0) this.#events.close("no cloud phone is monitored");
  }

  /** Whether the event subscription is live. */
  get subscribed(): boolean {
    return this.#events.state === "live";
  }

  /** The event subscription for the status page (docs/cloud-phones.md §6); no token. */
  status(): SubscriptionStatus & { readonly watched: number } {
    return { ...this.#events.status(), watched: this.#watched.size };
  }

  /** Closes the subscription (the server stops). */
  close(): void {
    this.#watched.clear();
    this.#events.close("the server stops");
  }

  /** One event of the subscription: the parties of watched extensions become reports. */
  #notified(event: Record<string, unknown>): void {
    try {
      const body = record(event.body);
      const sessionId = text(body.telephonySessionId);
      const parties = Array.isArray(body.parties) ? body.parties : [];
      for (const [device, extensionId] of this.#watched) {
        for (const p of parties) {
          const party = readParty(sessionId, p, extensionId);
          if (party) this.listener?.report(toReport(device, party));
        }
      }
    } catch (e) {
      logger().warning("an event from the provider was ignored: {error}", { error: e });
    }
  }

  /**
   * Events may have been lost (docs/cloud-phones.md §6): every watched extension's calls are
   * read again, from the account's active calls (one Heavy request for all of them) and
   * their sessions, and handed to the monitor as a reconciliation. Never rejects.
   */
  async #reconcile(): Promise<void> {
    const account = this.#account();
    if (!account || this.#watched.size === 0) return;
    try {
      for (const device of [...this.#watched.keys()]) {
        const ext = await this.#resolve(account, device);
        if ("id" in ext && this.#watched.has(device)) this.#watched.set(device, ext.id);
      }
      const byDevice = await this.#partiesOfAll(account, this.#watched);
      for (const [device, parties] of byDevice) {
        this.listener?.reconcile(snapshotOf(device, parties));
      }
    } catch (e) {
      const detail = e instanceof ProviderError ? e.reason : String(e);
      logger().warning(
        "cannot reconcile the calls of cloud phones after the subscription was made again: " +
          "{detail}; calls that ended meanwhile end at their next event or timeout",
        { detail },
      );
    }
  }

  /** The parties of several extensions from the account's active calls. */
  async #partiesOfAll(
    account: ProviderAccount,
    watched: ReadonlyMap<string, string>,
  ): Promise<Map<string, Party[]>> {
    const list = await account.api("GET", `${API}/active-calls?perPage=1000`);
    if (list.status < 200 || list.status >= 300) throw new ProviderError(list.status, list.reason);
    const out = new Map<string, Party[]>([...watched.keys()].map((d) => [d, []]));
    for (const sid of sessionIds(list.body)) {
      const raw = await this.#sessionParties(account, sid);
      for (const [device, extensionId] of watched) out.get(device)?.push(...live(raw, extensionId));
    }
    return out;
  }

  async execute(call: CallCommand): Promise<Outcome> {
    const { device, name: command, number } = call;
    const seconds = this.#settings?.config.phoneTimeoutSeconds ?? 5;
    return await byDeadline(
      this.#run(device, command, number),
      call.arrivedAt + seconds * 1000,
      () => ({ ok: false, reason: "Timeout", detail: "the provider did not answer" }),
      this.#clock,
    );
  }

  async #run(device: string, command: CallCommandName, number?: string): Promise<Outcome> {
    try {
      if (!this.has(device)) return { ok: false, reason: "UnknownDevice" };
      const account = this.#account();
      if (!account) {
        return { ok: false, reason: "PhoneUnreachable", detail: "no provider is configured" };
      }
      const ext = await this.#resolve(account, device);
      if (!("id" in ext)) return ext;
      switch (command) {
        case "MakeCall":
          return await this.#makeCall(account, device, ext, number ?? "");
        case "AnswerCall":
          return await this.#onParty(
            account,
            ext,
            (p) => p.direction === "incoming" && p.status === "Proceeding",
            "no ringing call",
            (p) => this.#action(account, p, "POST", "/answer", { deviceId: this.#online(ext) }),
          );
        case "HoldCall":
          return await this.#onParty(
            account,
            ext,
            (p) => p.status === "Answered",
            "no active call",
            (p) => this.#action(account, p, "POST", "/hold"),
          );
        case "RetrieveCall":
          return await this.#onParty(
            account,
            ext,
            (p) => p.status === "Hold",
            "no held call",
            (p) => this.#action(account, p, "POST", "/unhold"),
          );
        case "ClearConnection":
          return await this.#clear(account, ext);
        case "TransferCall":
          return await this.#onParty(
            account,
            ext,
            (p) => ACTIVE.has(p.status),
            "no call to transfer",
            (p) => {
              if (number) return this.#action(account, p, "POST", "/transfer", target(number));
              this.#pendingTransfer.set(device, this.#clock.now());
              return Promise.resolve({ ok: true });
            },
          );
        default:
          return { ok: false, reason: "NotSupported" };
      }
    } catch (e) {
      if (e instanceof ProviderError) {
        // No answer at all, or an answer that refused what was needed first.
        return {
          ok: false,
          reason: e.status === 0 ? "PhoneUnreachable" : "PhoneRefused",
          detail: e.reason,
        };
      }
      logger().error("a command for cloud phone {device} failed: {error}", { device, error: e });
      return { ok: false, reason: "PhoneRefused", detail: "internal error, see the log" };
    }
  }

  async #makeCall(
    account: ProviderAccount,
    device: string,
    ext: Extension,
    number: string,
  ): Promise<Outcome> {
    const pending = this.#pendingTransfer.get(device);
    this.#pendingTransfer.delete(device);
    if (pending !== undefined && this.#clock.now() - pending <= TRANSFER_WINDOW_MS) {
      // The vendor's two-step transfer: this MakeCall names the target.
      return await this.#onParty(
        account,
        ext,
        (p) => ACTIVE.has(p.status),
        "no call to transfer",
        (p) => this.#action(account, p, "POST", "/transfer", target(number)),
      );
    }
    if (!this.#callOutRefused) {
      const deviceId = this.#online(ext);
      if (deviceId === undefined) {
        return { ok: false, reason: "PhoneUnreachable", detail: "no online device" };
      }
      const answer = await account.api("POST", `${API}/telephony/call-out`, {
        from: { deviceId },
        to: target(number),
      });
      if (answer.status >= 200 && answer.status < 300) return { ok: true };
      if (answer.status !== 403 || !/CMN-401|permission/i.test(answer.reason)) {
        return this.#refused(answer);
      }
      this.#callOutRefused = true;
      logger().warning(
        "the provider account may not use Call Control ({reason}); MakeCall on cloud phones " +
          "uses RingOut from now on (docs/cloud-phones.md §3)",
        { reason: answer.reason },
      );
    }
    const answer = await account.api("POST", `${API}/extension/${ext.id}/ring-out`, {
      to: { phoneNumber: number },
      playPrompt: false,
    });
    return answer.status >= 200 && answer.status < 300 ? { ok: true } : this.#refused(answer);
  }

  async #clear(account: ProviderAccount, ext: Extension): Promise<Outcome> {
    const parties = await this.#parties(account, ext);
    const active = parties.find((p) => ACTIVE.has(p.status)) ??
      parties.find((p) => p.direction === "outgoing" && /^(Setup|Proceeding)$/.test(p.status));
    if (active) return await this.#action(account, active, "DELETE", "");
    const ringing = parties.find((p) => p.direction === "incoming" && p.status === "Proceeding");
    if (ringing) return await this.#action(account, ringing, "POST", "/reject");
    return { ok: false, reason: "PhoneRefused", detail: "no call" };
  }

  async #onParty(
    account: ProviderAccount,
    ext: Extension,
    wanted: (p: Party) => boolean,
    none: string,
    act: (p: Party) => Promise<Outcome>,
  ): Promise<Outcome> {
    const party = (await this.#parties(account, ext)).find(wanted);
    return party ? await act(party) : { ok: false, reason: "PhoneRefused", detail: none };
  }

  async #action(
    account: ProviderAccount,
    p: Party,
    method: string,
    suffix: string,
    body?: unknown,
  ): Promise<Outcome> {
    const path = `${API}/telephony/sessions/${encodeURIComponent(p.sessionId)}/parties/` +
      `${encodeURIComponent(p.partyId)}${suffix}`;
    const answer = await account.api(method, path, body);
    return answer.status >= 200 && answer.status < 300 ? { ok: true } : this.#refused(answer);
  }

  #refused(answer: { readonly status: number; readonly reason: string }): Failure {
    // A resource the provider does not know may mean the lists are stale.
    if (answer.status === 404) this.#directory = undefined;
    return { ok: false, reason: "PhoneRefused", detail: answer.reason };
  }

  #online(ext: Extension): string | undefined {
    return ext.devices.find((d) => d.online)?.id;
  }

  /** The extension's parties now, from its active calls and their sessions. */
  async #parties(account: ProviderAccount, ext: Extension): Promise<Party[]> {
    return await this.partiesOf(account, ext.id);
  }

  /** Every party of the extension; a {@link ProviderError} when the list was refused. */
  protected async partiesOf(account: ProviderAccount, extensionId: string): Promise<Party[]> {
    const list = await account.api("GET", `${API}/extension/${extensionId}/active-calls`);
    if (list.status < 200 || list.status >= 300) throw new ProviderError(list.status, list.reason);
    const parties: Party[] = [];
    for (const sid of sessionIds(list.body)) {
      parties.push(...live(await this.#sessionParties(account, sid), extensionId));
    }
    return parties;
  }

  /** The raw parties of one telephony session, with its id; none when it is gone. */
  async #sessionParties(
    account: ProviderAccount,
    sid: string,
  ): Promise<{ readonly sid: string; readonly parties: readonly unknown[] }> {
    const session = await account.api(
      "GET",
      `${API}/telephony/sessions/${encodeURIComponent(sid)}`,
    );
    if (session.status < 200 || session.status >= 300) return { sid, parties: [] };
    const list = record(session.body).parties;
    return { sid, parties: Array.isArray(list) ? list : [] };
  }

  /** The extension id of a device, from the cached lists; read again once when missing. */
  protected async resolveId(device: string): Promise<string | Failure> {
    const account = this.#account();
    if (!account) return { ok: false, reason: "PhoneUnreachable", detail: "no provider" };
    const ext = await this.#resolve(account, device);
    return "id" in ext ? ext.id : ext;
  }

  async #resolve(account: ProviderAccount, device: string): Promise<Extension | Failure> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const fresh = this.#directory === undefined;
      const directory = this.#directory ??= this.#readDirectory(account);
      let map: Map<string, Extension>;
      try {
        map = await directory;
      } catch (e) {
        if (this.#directory === directory) this.#directory = undefined;
        throw e;
      }
      const ext = map.get(device);
      if (ext) return ext;
      if (fresh) break;
      this.#directory = undefined;
    }
    return {
      ok: false,
      reason: "UnknownDevice",
      detail: `the provider account has no extension ${device}`,
    };
  }

  async #readDirectory(account: ProviderAccount): Promise<Map<string, Extension>> {
    const [extensions, devices] = await Promise.all([
      account.api("GET", `${API}/extension?perPage=1000`),
      account.api("GET", `${API}/device?perPage=1000`),
    ]);
    for (const answer of [extensions, devices]) {
      if (answer.status < 200 || answer.status >= 300) {
        throw new ProviderError(answer.status, answer.reason);
      }
    }
    const byId = new Map<string, { number: string; devices: Extension["devices"][number][] }>();
    const records = (v: unknown) => {
      const r = record(v).records;
      return Array.isArray(r) ? r : [];
    };
    for (const e of records(extensions.body)) {
      const id = text(record(e).id);
      const number = text(record(e).extensionNumber);
      if (id !== "" && number !== "") byId.set(id, { number, devices: [] });
    }
    for (const d of records(devices.body)) {
      const r = record(d);
      const owner = byId.get(text(record(r.extension).id));
      const id = text(r.id);
      if (owner && id !== "") owner.devices.push({ id, online: text(r.status) === "Online" });
    }
    const map = new Map<string, Extension>();
    for (const [id, e] of byId) map.set(e.number, { id, devices: e.devices });
    logger().info("the provider account lists {count} extension(s)", { count: map.size });
    return map;
  }
}

/** The parties of one extension in a session that have not left the call. */
function live(
  session: { readonly sid: string; readonly parties: readonly unknown[] },
  extensionId: string,
): Party[] {
  const out: Party[] = [];
  for (const p of session.parties) {
    const party = readParty(session.sid, p, extensionId);
    if (party && party.status !== "Disconnected" && party.status !== "Gone") out.push(party);
  }
  return out;
}

/** The telephony session ids of an active-calls list, each once. */
function sessionIds(body: unknown): Set<string> {
  const sessions = new Set<string>();
  const records = record(body).records;
  for (const r of Array.isArray(records) ? records : []) {
    const sid = text(record(r).telephonySessionId);
    if (sid !== "") sessions.add(sid);
  }
  return sessions;
}

/** The calls of an extension as a snapshot for the monitor. */
export function snapshotOf(device: string, parties: readonly Party[]): CloudSnapshot {
  return { device, parties: parties.map((p) => toReport(device, p)) };
}
