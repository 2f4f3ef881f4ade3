/**
 * Cloud phones: extensions of the provider account used as devices (docs/cloud-phones.md).
 * This file resolves an extension number to the provider's extension id and devices (cached
 * per account, dropped on reload and when a command finds them stale) and carries out the
 * call commands through Call Control (docs/provider.md §7), with RingOut (§6) where the
 * account may not use Call Control. Every request goes through the account's shared session
 * and rate-limit gate.
 *
 * The party a command acts on is found from the telephony sessions the event subscription
 * named for the extension (each read again, group Light), or, for an extension not watched,
 * from its active calls (group Heavy, docs/provider.md §13). Every list is read to its last
 * page.
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

/** One extension of the account, by its id. */
interface Extension {
  readonly id: string;
}

/** One device of an extension. */
interface Device {
  readonly id: string;
  readonly online: boolean;
}

/**
 * The device types whose devices can place and answer calls for the extension. An
 * extension's device list gives only `HardPhone` devices unless `type` names another, so
 * each type is asked for (docs/cloud-phones.md §2).
 */
const DEVICE_TYPES = ["HardPhone", "SoftPhone"] as const;
/** Pages read of one list at most. */
const MAX_PAGES = 50;

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

/** The extension a raw party (REST or event shape) belongs to; "" for outside parties. */
function ownerOf(value: unknown): string {
  const p = record(value);
  return text(record(p.owner).extensionId) || text(p.extensionId);
}

/**
 * The parties of `extensionId` in one session, each with the status the channel should see.
 * A call between two extensions of the account is special: the caller's party is `Answered`
 * as soon as the callee's phone starts ringing (docs/cloud-phones.md §4), so while another
 * extension's inbound party of the same session still rings, the caller's call counts as
 * ringing at the far end (`Proceeding`), not connected.
 */
export function partiesIn(
  sessionId: string,
  raw: readonly unknown[],
  extensionId: string,
): Party[] {
  const calleeRings = raw.some((q) => {
    const r = record(q);
    const owner = ownerOf(q);
    return owner !== "" && owner !== extensionId && text(r.direction) === "Inbound" &&
      /^(Setup|Proceeding)$/.test(text(record(r.status).code));
  });
  const out: Party[] = [];
  for (const value of raw) {
    const party = readParty(sessionId, value, extensionId);
    if (!party) continue;
    out.push(
      calleeRings && party.direction === "outgoing" && party.status === "Answered"
        ? { ...party, status: "Proceeding" }
        : party,
    );
  }
  return out;
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

/** A short digit string is an extension number of the account. */
function isExtensionNumber(number: string): boolean {
  return /^\d{1,6}$/.test(number);
}

/**
 * `to` of a call-out or transfer: an extension number as such; any other number as a phone
 * number, which the extension's dialling plan completes when it is not in E.164 form.
 */
function target(number: string): Record<string, string> {
  return isExtensionNumber(number) ? { extensionNumber: number } : { phoneNumber: number };
}

const ACTIVE = new Set(["Answered", "Hold"]);
const ENDED = new Set(["Disconnected", "Gone"]);
/** Sessions whose last notification `sequence` is kept. */
const REMEMBERED_SESSIONS = 10_000;

/** The cloud phones of one provider service; see the module comment. */
export class CloudPhones implements CloudPort {
  readonly #account: () => ProviderAccount | undefined;
  readonly #clock: Clock;
  #settings?: Settings;
  #devices = new Set<string>();
  /** The account's extension ids by number, read when first needed. */
  #directory?: Promise<Map<string, string>>;
  /** Each extension's devices, read when a command first needs one. */
  readonly #deviceLists = new Map<string, Promise<Device[]>>();
  /** The telephony sessions the events named per extension id, while they last. */
  readonly #sessionsOf = new Map<string, Set<string>>();
  /** The last notification `sequence` per telephony session, to drop stale ones. */
  readonly #lastSequence = new Map<string, number>();
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
    this.#forget();
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
    this.#forget();
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
      const parties = await this.#snapshot(account, device, ext.id);
      return { ok: true, snapshot: snapshotOf(device, parties) };
    } catch (e) {
      const detail = e instanceof ProviderError ? e.reason : String(e);
      logger().warning("cannot watch cloud phone {device}: {detail}", { device, detail });
      this.unwatch(device);
      return { ok: false, reason: "MonitorFailed", detail };
    }
  }

  /** Watches that arrived together, whose calls are read with one list. */
  #batch?: {
    readonly watched: Map<string, string>;
    readonly parties: Promise<Map<string, Party[]>>;
  };

  /**
   * The calls in progress of a device being watched. Watches that arrive together (the journal
   * follows every cloud phone at start, all waiting for the one subscription) share one read
   * of the account's active calls: that list is in the Heavy group, 10 a minute by default
   * (docs/provider.md §13.1), so one read per extension would run into the limit with a dozen
   * cloud phones. A watch on its own reads its extension's list.
   */
  #snapshot(account: ProviderAccount, device: string, extensionId: string): Promise<Party[]> {
    let batch = this.#batch;
    if (!batch) {
      const watched = new Map<string, string>();
      // Runs after the other watches waiting on the same subscription have joined: their
      // continuations are queued before this one.
      const parties = Promise.resolve().then(async () => {
        if (this.#batch?.watched === watched) this.#batch = undefined;
        if (watched.size > 1) return await this.#partiesOfAll(account, watched);
        const [[only, id]] = watched;
        return new Map([[only, await this.#partiesOf(account, id)]]);
      });
      batch = this.#batch = { watched, parties };
    }
    batch.watched.set(device, extensionId);
    return batch.parties.then((byDevice) => byDevice.get(device) ?? []);
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
      if (this.#stale(sessionId, Number(body.sequence))) return;
      for (const [device, extensionId] of this.#watched) {
        for (const party of partiesIn(sessionId, parties, extensionId)) {
          this.#remember(extensionId, party);
          this.listener?.report(toReport(device, party));
        }
      }
    } catch (e) {
      logger().warning("an event from the provider was ignored: {error}", { error: e });
    }
  }

  /**
   * Whether a notification is older than one already handled for its session: the platform
   * may deliver them out of `sequence` order (docs/provider.md §13.3), and each carries the
   * whole state of its parties, so an older one would undo a newer state.
   */
  #stale(sessionId: string, sequence: number): boolean {
    if (sessionId === "" || !Number.isFinite(sequence)) return false;
    const last = this.#lastSequence.get(sessionId);
    if (last !== undefined && sequence <= last) {
      logger().debug("an out-of-order event of session {sessionId} was dropped", { sessionId });
      return true;
    }
    this.#lastSequence.delete(sessionId);
    this.#lastSequence.set(sessionId, sequence);
    if (this.#lastSequence.size > REMEMBERED_SESSIONS) {
      this.#lastSequence.delete(this.#lastSequence.keys().next().value!);
    }
    return false;
  }

  /** Keeps which sessions an extension has a live party in, for its commands. */
  #remember(extensionId: string, party: Party): void {
    let sessions = this.#sessionsOf.get(extensionId);
    if (ENDED.has(party.status)) {
      sessions?.delete(party.sessionId);
      return;
    }
    if (!sessions) this.#sessionsOf.set(extensionId, sessions = new Set());
    sessions.add(party.sessionId);
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
    return await this.#partiesIn(account, `${API}/active-calls?perPage=1000`, watched);
  }

  /**
   * The live parties of each extension (by key: device, extension id) in the sessions an
   * active-calls list names; a {@link ProviderError} when the list was refused.
   */
  async #partiesIn(
    account: ProviderAccount,
    listPath: string,
    extensions: ReadonlyMap<string, string>,
  ): Promise<Map<string, Party[]>> {
    const calls = await readList(account, listPath);
    const out = new Map<string, Party[]>([...extensions.keys()].map((k) => [k, []]));
    for (const sid of sessionIds(calls)) {
      const raw = await this.#sessionParties(account, sid);
      for (const [key, extensionId] of extensions) {
        const parties = live(raw, extensionId);
        for (const p of parties) this.#remember(extensionId, p);
        out.get(key)?.push(...parties);
      }
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
            async (p) => {
              // The platform needs the device to answer on.
              const deviceId = await this.#online(account, ext);
              if (deviceId === undefined) {
                return {
                  ok: false,
                  reason: "PhoneUnreachable",
                  detail: "no online device to answer on",
                };
              }
              return await this.#action(account, p, "POST", "/answer", { deviceId });
            },
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
      const deviceId = await this.#online(account, ext);
      if (deviceId === undefined) {
        return { ok: false, reason: "PhoneUnreachable", detail: "no online device" };
      }
      const answer = await account.api("POST", `${API}/telephony/call-out`, {
        from: { deviceId },
        to: target(number),
      });
      if (answer.status >= 200 && answer.status < 300) {
        // The new call's session, so that a command right after it finds the call before
        // its first event arrives.
        const session = record(record(answer.body).session);
        const parties = Array.isArray(session.parties) ? session.parties : [];
        for (const p of partiesIn(text(session.id), parties, ext.id)) this.#remember(ext.id, p);
        return { ok: true };
      }
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
    return await this.#ringOut(account, ext, number);
  }

  /**
   * RingOut (docs/cloud-phones.md §3): the platform first rings `from`, the forwarding number
   * of the extension's online device, then connects it to `to`, which must be a phone number:
   * RingOut cannot dial an extension number.
   */
  async #ringOut(account: ProviderAccount, ext: Extension, number: string): Promise<Outcome> {
    if (isExtensionNumber(number)) {
      return {
        ok: false,
        reason: "PhoneRefused",
        detail: "RingOut dials phone numbers only; extension numbers need Call Control",
      };
    }
    const deviceId = await this.#online(account, ext);
    const numbers = await readList(account, `${API}/extension/${ext.id}/forwarding-number`);
    const forwarding = numbers.map(record).find((n) => text(record(n.device).id) === deviceId) ??
      numbers.map(record).find((n) => text(n.id) !== "");
    if (!forwarding) {
      return {
        ok: false,
        reason: "PhoneRefused",
        detail: "the extension has no forwarding number for RingOut to ring first",
      };
    }
    const answer = await account.api("POST", `${API}/extension/${ext.id}/ring-out`, {
      from: { forwardingNumberId: text(forwarding.id) },
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
    if (answer.status === 404) this.#forget();
    return { ok: false, reason: "PhoneRefused", detail: answer.reason };
  }

  /** What was read of the account's extensions and devices is read again when next needed. */
  #forget(): void {
    this.#directory = undefined;
    this.#deviceLists.clear();
  }

  /**
   * The id of an online device of the extension (docs/cloud-phones.md §2): its devices are
   * read when a command first needs one, and read again when none of those known was online.
   */
  async #online(account: ProviderAccount, ext: Extension): Promise<string | undefined> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const cached = this.#deviceLists.get(ext.id);
      const reading = cached ?? this.#readDevices(account, ext.id);
      if (!cached) this.#deviceLists.set(ext.id, reading);
      let devices: Device[];
      try {
        devices = await reading;
      } catch (e) {
        if (this.#deviceLists.get(ext.id) === reading) this.#deviceLists.delete(ext.id);
        throw e;
      }
      const online = devices.find((d) => d.online);
      if (online) return online.id;
      if (this.#deviceLists.get(ext.id) === reading) this.#deviceLists.delete(ext.id);
      if (!cached) break;
    }
    return undefined;
  }

  /**
   * The extension's parties now. A watched extension's sessions are known from its events,
   * so only they are read (group Light); otherwise its active calls are listed (Heavy).
   */
  async #parties(account: ProviderAccount, ext: Extension): Promise<Party[]> {
    const watched = this.#events.state === "live" &&
      [...this.#watched.values()].includes(ext.id);
    if (!watched) return await this.#partiesOf(account, ext.id);
    const parties: Party[] = [];
    for (const sid of [...(this.#sessionsOf.get(ext.id) ?? [])]) {
      const found = live(await this.#sessionParties(account, sid), ext.id);
      if (found.length === 0) this.#sessionsOf.get(ext.id)?.delete(sid);
      parties.push(...found);
    }
    return parties;
  }

  /** Every party of the extension, from its active calls; a {@link ProviderError} when refused. */
  async #partiesOf(account: ProviderAccount, extensionId: string): Promise<Party[]> {
    const path = `${API}/extension/${extensionId}/active-calls`;
    const byId = await this.#partiesIn(account, path, new Map([[extensionId, extensionId]]));
    return byId.get(extensionId) ?? [];
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

  /**
   * The extension of a device number (docs/cloud-phones.md §2), from the account's extension
   * list, read once for every cloud phone (one Medium request per 1,000 extensions). A number
   * the cached list does not have is looked up again once, in a list read anew.
   */
  async #resolve(account: ProviderAccount, device: string): Promise<Extension | Failure> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const fresh = this.#directory === undefined;
      const reading = this.#directory ??= this.#readDirectory(account);
      let byNumber: Map<string, string>;
      try {
        byNumber = await reading;
      } catch (e) {
        if (this.#directory === reading) this.#directory = undefined;
        throw e;
      }
      const id = byNumber.get(device);
      if (id !== undefined) return { id };
      if (fresh) break;
      if (this.#directory === reading) this.#directory = undefined;
    }
    return {
      ok: false,
      reason: "UnknownDevice",
      detail: `the provider account has no extension ${device}`,
    };
  }

  async #readDirectory(account: ProviderAccount): Promise<Map<string, string>> {
    const records = await readList(account, `${API}/extension?perPage=1000`);
    const byNumber = new Map<string, string>();
    for (const e of records.map(record)) {
      const id = text(e.id);
      const number = text(e.extensionNumber);
      if (id !== "" && number !== "") byNumber.set(number, id);
    }
    logger().info("the provider account lists {count} extension(s)", { count: byNumber.size });
    return byNumber;
  }

  /** The extension's devices of every type that can place and answer calls. */
  async #readDevices(account: ProviderAccount, extensionId: string): Promise<Device[]> {
    const devices: Device[] = [];
    for (const type of DEVICE_TYPES) {
      const list = await readList(account, `${API}/extension/${extensionId}/device?type=${type}`);
      for (const d of list.map(record)) {
        if (text(d.id) !== "") {
          devices.push({ id: text(d.id), online: text(d.status) === "Online" });
        }
      }
    }
    return devices;
  }
}

/**
 * Every record of a list, page by page as its `navigation.nextPage` names them (at most
 * {@link MAX_PAGES}); a next page on another origin is not followed. A refused page is a
 * {@link ProviderError}.
 */
async function readList(account: ProviderAccount, path: string): Promise<unknown[]> {
  const out: unknown[] = [];
  let next: string | undefined = path;
  for (let page = 0; next !== undefined && page < MAX_PAGES; page++) {
    const answer = await account.api("GET", next);
    if (answer.status < 200 || answer.status >= 300) {
      throw new ProviderError(answer.status, answer.reason);
    }
    const body = record(answer.body);
    if (Array.isArray(body.records)) out.push(...body.records);
    next = samePath(account.origin, text(record(record(body.navigation).nextPage).uri));
  }
  return out;
}

/** The path and query of a URI on `origin`; undefined for none or another origin. */
function samePath(origin: string, uri: string): string | undefined {
  if (uri === "") return undefined;
  try {
    const url = new URL(uri, origin);
    return url.origin === new URL(origin).origin ? url.pathname + url.search : undefined;
  } catch {
    return undefined;
  }
}

/** The parties of one extension in a session that have not left the call. */
function live(
  session: { readonly sid: string; readonly parties: readonly unknown[] },
  extensionId: string,
): Party[] {
  return partiesIn(session.sid, session.parties, extensionId).filter((p) => !ENDED.has(p.status));
}

/** The telephony session ids of active-call records, each once. */
function sessionIds(records: readonly unknown[]): Set<string> {
  const sessions = new Set<string>();
  for (const r of records) {
    const sid = text(record(r).telephonySessionId);
    if (sid !== "") sessions.add(sid);
  }
  return sessions;
}

/** The calls of an extension as a snapshot for the monitor. */
export function snapshotOf(device: string, parties: readonly Party[]): CloudSnapshot {
  return { device, parties: parties.map((p) => toReport(device, p)) };
}
