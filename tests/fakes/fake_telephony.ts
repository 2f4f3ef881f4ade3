/**
 * The telephony part of the fake provider (docs/provider.md §6–§8, §13, docs/cloud-phones.md):
 * the account's extensions, their devices and forwarding numbers, Call Control's call-out and
 * party actions, RingOut, active calls and telephony sessions, in the shapes RingCentral's SDK
 * definitions give (tests/fixtures/ringcentral/operations.json). It is reached only through a
 * documented operation, already matched, permission-checked and with its required fields
 * present. Every party change is handed to `onChange` (the fake's WebSocket gateway turns it
 * into a notification). Test controls play the other side: an inbound call rings (`ring`), the
 * far end answers (`farAnswer`) or hangs up (`farHangUp`).
 *
 * Lists are paged as RingCentral pages them (`page`, `perPage` default 100, `navigation` with
 * `nextPage` while there are more). An extension's device list has only `HardPhone` devices
 * unless `type` names another, as the operation's `type` parameter defaults to `HardPhone`.
 */

/** One device of an extension. */
export interface FakeDevice {
  readonly id: string;
  readonly online: boolean;
  /** Default `HardPhone`. */
  readonly type?: "HardPhone" | "SoftPhone" | "WebPhone";
}

/** One extension of the fake account. */
export interface FakeExtension {
  readonly id: string;
  readonly extensionNumber: string;
  /** Its devices; `online` false makes call-out impossible. */
  readonly devices: readonly FakeDevice[];
}

/** One party of a fake telephony session, in RingCentral's shape. */
export interface FakeParty {
  readonly id: string;
  readonly extensionId?: string;
  readonly direction: "Inbound" | "Outbound";
  readonly from: {
    readonly phoneNumber?: string;
    readonly extensionNumber?: string;
    readonly name?: string;
  };
  readonly to: {
    readonly phoneNumber?: string;
    readonly extensionNumber?: string;
    readonly name?: string;
  };
  status: { code: string; reason?: string };
}

/** One fake telephony session. */
export interface FakeSession {
  readonly id: string;
  readonly parties: FakeParty[];
}

function json(status: number, body: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

function rcError(status: number, code: string, message: string): Response {
  return json(status, { errorCode: code, message, errors: [{ errorCode: code, message }] });
}

const ENDED = /^(Disconnected|Gone)$/;
/** RingCentral's default page size (the `perPage` parameters of the list operations). */
const PER_PAGE = 100;

/** A record of an object body; `{}` for anything else. */
function fields(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === "object" ? value as Record<string, unknown> : {};
}

/** The fake's telephony; see the module comment. */
export class FakeTelephony {
  readonly extensions: FakeExtension[] = [
    {
      id: "62001",
      extensionNumber: "201",
      devices: [{ id: "80201", online: true, type: "SoftPhone" }],
    },
    { id: "62002", extensionNumber: "202", devices: [{ id: "80202", online: true }] },
  ];
  readonly sessions = new Map<string, FakeSession>();
  /**
   * Told of every call-out the fake accepted to a number outside the account, with the
   * session and its target, after the session's first notification: a test can play the
   * called side (a simulated SNOM phone).
   */
  onCallOut: (sessionId: string, to: { phoneNumber?: string; extensionNumber?: string }) => void =
    () => {};
  /** Told of every party change of a session, in order. */
  onChange: (session: FakeSession) => void = () => {};
  /** The origin list URIs name (`navigation`), set by the fake provider. */
  origin = "http://127.0.0.1";
  #next = 1000;
  /** Reads of an active-calls list (an extension's or the account's). */
  activeCallReads = 0;
  readonly ringOuts: { extensionId: string; from: unknown; to: string }[] = [];

  /** A session by id, or throws. */
  session(id: string): FakeSession {
    const s = this.sessions.get(id);
    if (!s) throw new Error(`no fake session ${id}`);
    return s;
  }

  /** The extension's own party of a session. */
  partyOf(sessionId: string, extensionNumber: string): FakeParty {
    const ext = this.#ext(extensionNumber);
    const p = this.session(sessionId).parties.find((p) => p.extensionId === ext.id);
    if (!p) throw new Error(`extension ${extensionNumber} has no party in ${sessionId}`);
    return p;
  }

  /** An inbound call from `from` rings at the extension; returns the session id. */
  ring(extensionNumber: string, from: string, name = ""): string {
    const ext = this.#ext(extensionNumber);
    const id = `s-${++this.#next}`;
    const session: FakeSession = {
      id,
      parties: [
        {
          id: `p-${++this.#next}`,
          direction: "Outbound",
          from: { phoneNumber: from, name },
          to: { extensionNumber },
          status: { code: "Answered" },
        },
        {
          id: `p-${++this.#next}`,
          extensionId: ext.id,
          direction: "Inbound",
          from: { phoneNumber: from, name },
          to: { extensionNumber },
          status: { code: "Proceeding" },
        },
      ],
    };
    this.sessions.set(id, session);
    this.onChange(session);
    return id;
  }

  /** The far end of an outbound call answered (an extension of the account picks up too). */
  farAnswer(sessionId: string): void {
    const s = this.session(sessionId);
    for (const p of s.parties) {
      if (p.extensionId && p.status.code !== "Hold") p.status = { code: "Answered" };
    }
    this.onChange(s);
  }

  /** The far end hung up: every party of the session is Disconnected. */
  farHangUp(sessionId: string): void {
    const s = this.session(sessionId);
    for (const p of s.parties) p.status = { code: "Disconnected" };
    this.onChange(s);
    this.sessions.delete(sessionId);
  }

  /** Sets a party's status, as a RingCentral app or desk phone would, and notifies. */
  setStatus(sessionId: string, extensionNumber: string, code: string, reason?: string): void {
    const p = this.partyOf(sessionId, extensionNumber);
    p.status = reason ? { code, reason } : { code };
    this.onChange(this.session(sessionId));
  }

  /**
   * Answers one documented operation (by its name in the fixture), or undefined when the
   * fake has no such resource.
   */
  route(
    operation: string,
    params: Readonly<Record<string, string>>,
    query: URLSearchParams,
    body: unknown,
  ): Response | undefined {
    const b = fields(body);
    switch (operation) {
      case "listExtensions": {
        const number = query.get("extensionNumber");
        const records = this.extensions
          .filter((e) => number === null || e.extensionNumber === number)
          .map((e) => ({
            id: Number(e.id),
            extensionNumber: e.extensionNumber,
            type: "User",
            status: "Enabled",
          }));
        return this.#page(query, records);
      }
      case "readExtension": {
        if (params.extensionId === "~") {
          return json(200, {
            uri: `${this.origin}/restapi/v1.0/account/~/extension/~`,
            id: 101,
            extensionNumber: "101",
            name: "Test User",
            type: "User",
            status: "Enabled",
          });
        }
        const e = this.extensions.find((e) => e.id === params.extensionId);
        return e ? json(200, { id: Number(e.id), extensionNumber: e.extensionNumber }) : undefined;
      }
      case "listExtensionDevices": {
        const e = this.extensions.find((e) => e.id === params.extensionId);
        if (!e) return undefined;
        const type = query.get("type") ?? "HardPhone";
        const records = e.devices.filter((d) => (d.type ?? "HardPhone") === type).map((d) => ({
          id: d.id,
          type: d.type ?? "HardPhone",
          status: d.online ? "Online" : "Offline",
          extension: { id: Number(e.id), extensionNumber: e.extensionNumber },
        }));
        return this.#page(query, records);
      }
      case "listForwardingNumbers": {
        const e = this.extensions.find((e) => e.id === params.extensionId);
        if (!e) return undefined;
        const records = e.devices.map((d) => ({
          id: `fw-${d.id}`,
          phoneNumber: `+1555${d.id}`,
          label: d.type ?? "HardPhone",
          type: "PhoneLine",
          features: ["CallFlip", "CallForwarding"],
          device: { id: d.id },
        }));
        return this.#page(query, records);
      }
      case "createRingOut":
        return this.#ringOut(params.extensionId, b);
      case "readRingOut":
      case "deleteRingOut": {
        if (Number(params.ringoutId) > this.ringOuts.length || !/^\d+$/.test(params.ringoutId)) {
          return undefined;
        }
        if (operation === "deleteRingOut") return new Response(null, { status: 204 });
        return json(200, {
          id: Number(params.ringoutId),
          status: { callStatus: "Success", callerStatus: "Finished", calleeStatus: "Finished" },
        });
      }
      case "listAccountActiveCalls":
      case "listExtensionActiveCalls": {
        this.activeCallReads++;
        const only = params.extensionId;
        const records = [...this.sessions.values()]
          .filter((s) =>
            s.parties.some((p) =>
              p.extensionId !== undefined && (only === undefined || p.extensionId === only) &&
              !ENDED.test(p.status.code)
            )
          )
          .map((s) => ({ id: `log-${s.id}`, telephonySessionId: s.id, result: "In Progress" }));
        return this.#page(query, records);
      }
      case "createCallOut":
        return this.#callOut(b);
      case "readCallSession": {
        const s = this.sessions.get(params.telephonySessionId);
        return s ? json(200, this.#sessionJson(s)) : rcError(404, "CMN-102", "Session not found");
      }
      case "deleteCallParty":
        return this.#partyAction(params, undefined, b);
      case "answerCallParty":
        return this.#partyAction(params, "answer", b);
      case "holdCallParty":
        return this.#partyAction(params, "hold", b);
      case "unholdCallParty":
        return this.#partyAction(params, "unhold", b);
      case "rejectParty":
        return this.#partyAction(params, "reject", b);
      case "transferCallParty":
        return this.#partyAction(params, "transfer", b);
      default:
        return undefined;
    }
  }

  /** One page of a list, with RingCentral's `paging` and `navigation`. */
  #page(query: URLSearchParams, records: readonly unknown[]): Response {
    const perPage = Math.max(1, Math.min(1000, Number(query.get("perPage") ?? PER_PAGE) || 1));
    const page = Math.max(1, Number(query.get("page") ?? "1") || 1);
    const slice = records.slice((page - 1) * perPage, page * perPage);
    const navigation: Record<string, unknown> = {};
    if (page * perPage < records.length) {
      const next = new URLSearchParams(query);
      next.set("page", String(page + 1));
      next.set("perPage", String(perPage));
      navigation.nextPage = { uri: `${this.origin}${this.#path}?${next}` };
    }
    return json(200, {
      records: slice,
      paging: { page, perPage, pageStart: (page - 1) * perPage, totalElements: records.length },
      navigation,
    });
  }

  /** The path of the request being answered, for `navigation` URIs. */
  #path = "";

  /** Called by the fake provider before `route`. */
  answering(path: string): void {
    this.#path = path;
  }

  #ringOut(extensionId: string, body: Record<string, unknown>): Response {
    const to = fields(body.to).phoneNumber;
    const from = fields(body.from);
    if (typeof from.phoneNumber !== "string" && typeof from.forwardingNumberId !== "string") {
      return rcError(400, "CMN-101", "Parameter [from.phoneNumber] value is invalid");
    }
    // E.164, or a national number the extension's dialling plan completes; not an extension
    // number (RingOut's `to` has no extensionNumber).
    if (typeof to !== "string" || !/^\+?\d{7,15}$/.test(to)) {
      return rcError(400, "CMN-101", "Parameter [to.phoneNumber] value is invalid");
    }
    this.ringOuts.push({ extensionId, from: body.from, to });
    const id = this.ringOuts.length;
    return json(200, {
      id,
      uri: `${this.origin}/restapi/v1.0/account/~/extension/${extensionId}/ring-out/${id}`,
      status: {
        callStatus: "InProgress",
        callerStatus: "InProgress",
        calleeStatus: "InProgress",
      },
    });
  }

  #callOut(body: Record<string, unknown>): Response {
    const deviceId = fields(body.from).deviceId;
    const to = fields(body.to) as { phoneNumber?: string; extensionNumber?: string };
    const ext = this.extensions.find((e) => e.devices.some((d) => d.id === deviceId));
    if (!ext) return rcError(404, "CMN-102", "Resource for parameter [deviceId] is not found");
    if (!ext.devices.find((d) => d.id === deviceId)?.online) {
      return rcError(400, "TAS-104", "Device is offline");
    }
    if (typeof to.phoneNumber !== "string" && typeof to.extensionNumber !== "string") {
      return rcError(400, "CMN-101", "Parameter [to] is invalid");
    }
    const id = `s-${++this.#next}`;
    const caller: FakeParty = {
      id: `p-${++this.#next}`,
      extensionId: ext.id,
      direction: "Outbound",
      from: { extensionNumber: ext.extensionNumber },
      to: { ...to },
      status: { code: "Setup" },
    };
    const session: FakeSession = { id, parties: [caller] };
    this.sessions.set(id, session);
    const callee = this.extensions.find((e) => e.extensionNumber === to.extensionNumber);
    queueMicrotask(() => {
      if (!this.sessions.has(id)) return;
      this.onChange(session);
      if (!callee) {
        this.onCallOut(id, { ...to });
        return;
      }
      // A call to another extension of the account: the caller's party is Answered as soon
      // as the callee's call handling starts (its phone rings), not when it picks up.
      caller.status = { code: "Answered" };
      session.parties.push({
        id: `p-${++this.#next}`,
        extensionId: callee.id,
        direction: "Inbound",
        from: { extensionNumber: ext.extensionNumber },
        to: { extensionNumber: callee.extensionNumber },
        status: { code: "Proceeding" },
      });
      this.onChange(session);
    });
    return json(201, { session: this.#sessionJson(session) });
  }

  #partyAction(
    params: Readonly<Record<string, string>>,
    action: string | undefined,
    body: Record<string, unknown>,
  ): Response {
    const s = this.sessions.get(params.telephonySessionId);
    const p = s?.parties.find((p) => p.id === params.partyId);
    if (!s || !p) return rcError(404, "CMN-102", "Resource for parameter [partyId] is not found");
    const code = p.status.code;
    const done = (status: FakeParty["status"], everyone = false) => {
      for (const q of everyone ? s.parties : [p]) q.status = status;
      this.onChange(s);
      if (s.parties.every((q) => ENDED.test(q.status.code))) this.sessions.delete(s.id);
      return json(200, {
        id: p.id,
        status: p.status,
        direction: p.direction,
        from: p.from,
        to: p.to,
      });
    };
    const refuse = () => rcError(409, "TAS-102", `Party is in state ${code}`);
    switch (action) {
      case undefined:
        if (ENDED.test(code)) return refuse();
        // With two parties, the call ends for both.
        done({ code: "Disconnected" }, s.parties.length <= 2);
        return new Response(null, { status: 204 });
      case "answer": {
        if (code !== "Proceeding" || p.direction !== "Inbound") return refuse();
        const own = this.extensions.find((e) => e.id === p.extensionId);
        if (!own?.devices.some((d) => d.id === body.deviceId)) {
          return rcError(400, "CMN-101", "Parameter [deviceId] value is invalid");
        }
        // Both sides are connected now.
        for (const q of s.parties) {
          if (q !== p && !ENDED.test(q.status.code)) q.status = { code: "Answered" };
        }
        return done({ code: "Answered" });
      }
      case "hold":
        return code === "Answered" ? done({ code: "Hold" }) : refuse();
      case "unhold":
        return code === "Hold" ? done({ code: "Answered" }) : refuse();
      case "reject":
        return code === "Proceeding" && p.direction === "Inbound"
          ? done({ code: "Disconnected", reason: "Rejected" })
          : refuse();
      case "transfer":
        if (code !== "Answered" && code !== "Hold") return refuse();
        return done({ code: "Disconnected", reason: "BlindTransfer" });
      default:
        return undefined as never;
    }
  }

  #sessionJson(s: FakeSession): unknown {
    return {
      id: s.id,
      origin: { type: "Call" },
      creationTime: new Date(0).toISOString(),
      parties: s.parties.map((p) => ({
        id: p.id,
        direction: p.direction,
        from: p.from,
        to: p.to,
        status: p.status,
        muted: false,
        ...(p.extensionId ? { owner: { accountId: "1", extensionId: p.extensionId } } : {}),
      })),
    };
  }

  #ext(extensionNumber: string): FakeExtension {
    const e = this.extensions.find((e) => e.extensionNumber === extensionNumber);
    if (!e) throw new Error(`no fake extension ${extensionNumber}`);
    return e;
  }
}
