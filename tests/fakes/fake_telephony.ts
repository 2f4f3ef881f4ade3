/**
 * The telephony part of the fake provider (docs/provider.md §6–§8, docs/cloud-phones.md): the
 * account's extension and device lists, Call Control's call-out and party actions, RingOut,
 * active calls and telephony sessions, with every party change handed to `onChange` (the
 * fake's WebSocket gateway turns it into a notification). Test controls play the other side:
 * an inbound call rings (`ring`), the far end answers (`farAnswer`) or hangs up (`farHangUp`).
 */

/** One extension of the fake account. */
export interface FakeExtension {
  readonly id: string;
  readonly extensionNumber: string;
  /** Its devices; `online` false makes call-out impossible. */
  readonly devices: readonly { readonly id: string; readonly online: boolean }[];
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

const API = "/restapi/v1.0/account/~";

function json(status: number, body: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json" },
  });
}

function rcError(status: number, code: string, message: string): Response {
  return json(status, { errorCode: code, message, errors: [{ errorCode: code, message }] });
}

/** The fake's telephony; see the module comment. */
export class FakeTelephony {
  readonly extensions: FakeExtension[] = [
    { id: "62001", extensionNumber: "201", devices: [{ id: "80201", online: true }] },
    { id: "62002", extensionNumber: "202", devices: [{ id: "80202", online: true }] },
  ];
  readonly sessions = new Map<string, FakeSession>();
  /** "refused": call-out answers 403 CMN-401, as for an app without CallControl. */
  callControl: "allowed" | "refused" = "allowed";
  /**
   * Told of every call-out the fake accepted, with the session and its target, after the
   * session's first notification: a test can play the called side (a simulated SNOM phone).
   */
  onCallOut: (sessionId: string, to: { phoneNumber?: string; extensionNumber?: string }) => void =
    () => {};
  /** Told of every party change of a session, in order. */
  onChange: (session: FakeSession) => void = () => {};
  #next = 1000;
  /** Reads of an active-calls list (an extension's or the account's). */
  activeCallReads = 0;
  readonly ringOuts: { extensionId: string; to: string }[] = [];

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

  /** The far end of an outbound call answered. */
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

  /** The group of a telephony route, as RingCentral documents it (docs/provider.md §4). */
  groupOf(method: string, path: string): string | undefined {
    if (path === `${API}/telephony/call-out`) return "Heavy";
    if (/^\/restapi\/v1\.0\/account\/~\/extension\/\d+\/ring-out$/.test(path)) return "Heavy";
    if (path.startsWith(`${API}/telephony/sessions/`)) return "Light";
    if (/\/active-calls$/.test(path)) return "Heavy";
    if (path === `${API}/extension` || path === `${API}/device`) {
      return method === "GET" ? "Medium" : undefined;
    }
    return undefined;
  }

  /** Answers a telephony request, or undefined when the path is not one of these. */
  route(method: string, path: string, body: string): Response | undefined {
    if (method === "GET" && path === `${API}/extension`) {
      return json(200, {
        records: this.extensions.map((e) => ({
          id: Number(e.id),
          extensionNumber: e.extensionNumber,
          type: "User",
          status: "Enabled",
        })),
        paging: { page: 1, perPage: 1000 },
      });
    }
    if (method === "GET" && path === `${API}/device`) {
      return json(200, {
        records: this.extensions.flatMap((e) =>
          e.devices.map((d) => ({
            id: d.id,
            type: "SoftPhone",
            status: d.online ? "Online" : "Offline",
            extension: { id: Number(e.id), extensionNumber: e.extensionNumber },
          }))
        ),
      });
    }
    let parsed: Record<string, unknown> = {};
    if (body !== "") {
      try {
        parsed = JSON.parse(body);
      } catch {
        return rcError(400, "CMN-101", "Request body is not valid JSON");
      }
    }
    if (method === "POST" && path === `${API}/telephony/call-out`) return this.#callOut(parsed);
    const ringOut = path.match(/^\/restapi\/v1\.0\/account\/~\/extension\/(\d+)\/ring-out$/);
    if (ringOut && method === "POST") {
      const to = (parsed.to as { phoneNumber?: string } | undefined)?.phoneNumber;
      if (typeof to !== "string") return rcError(400, "CMN-101", "Parameter [to] is invalid");
      this.ringOuts.push({ extensionId: ringOut[1], to });
      return json(200, {
        id: this.ringOuts.length,
        status: {
          callStatus: "InProgress",
          callerStatus: "InProgress",
          calleeStatus: "InProgress",
        },
      });
    }
    // The active calls of one extension, or of the whole account.
    const active = path.match(
      /^\/restapi\/v1\.0\/account\/~(?:\/extension\/(\d+))?\/active-calls$/,
    );
    if (active && method === "GET") {
      this.activeCallReads++;
      const records = [...this.sessions.values()]
        .filter((s) =>
          s.parties.some((p) =>
            p.extensionId !== undefined &&
            (active[1] === undefined || p.extensionId === active[1]) &&
            !/^(Disconnected|Gone)$/.test(p.status.code)
          )
        )
        .map((s) => ({ id: `log-${s.id}`, telephonySessionId: s.id, result: "In Progress" }));
      return json(200, { records });
    }
    const session = path.match(/^\/restapi\/v1\.0\/account\/~\/telephony\/sessions\/([^/]+)$/);
    if (session && method === "GET") {
      const s = this.sessions.get(decodeURIComponent(session[1]));
      return s ? json(200, this.#sessionJson(s)) : rcError(404, "CMN-102", "Session not found");
    }
    const party = path.match(
      /^\/restapi\/v1\.0\/account\/~\/telephony\/sessions\/([^/]+)\/parties\/([^/]+)(?:\/([a-z]+))?$/,
    );
    if (party) return this.#partyAction(method, party[1], party[2], party[3], parsed);
    return undefined;
  }

  #callOut(body: Record<string, unknown>): Response {
    if (this.callControl === "refused") {
      return rcError(
        403,
        "CMN-401",
        "In order to call this API endpoint, application needs to have [CallControl] permission",
      );
    }
    const deviceId = (body.from as { deviceId?: unknown } | undefined)?.deviceId;
    const to = body.to as { phoneNumber?: string; extensionNumber?: string } | undefined;
    const ext = this.extensions.find((e) => e.devices.some((d) => d.id === deviceId));
    if (!ext) return rcError(404, "CMN-102", "Resource for parameter [deviceId] is not found");
    if (!ext.devices.find((d) => d.id === deviceId)?.online) {
      return rcError(400, "TAS-104", "Device is offline");
    }
    if (!to || (typeof to.phoneNumber !== "string" && typeof to.extensionNumber !== "string")) {
      return rcError(400, "CMN-101", "Parameter [to] is invalid");
    }
    const id = `s-${++this.#next}`;
    const session: FakeSession = {
      id,
      parties: [{
        id: `p-${++this.#next}`,
        extensionId: ext.id,
        direction: "Outbound",
        from: { extensionNumber: ext.extensionNumber },
        to: { ...to },
        status: { code: "Setup" },
      }],
    };
    this.sessions.set(id, session);
    queueMicrotask(() => {
      if (!this.sessions.has(id)) return;
      this.onChange(session);
      this.onCallOut(id, { ...to });
    });
    return json(201, { session: this.#sessionJson(session) });
  }

  #partyAction(
    method: string,
    sid: string,
    pid: string,
    action: string | undefined,
    body: Record<string, unknown>,
  ): Response {
    const s = this.sessions.get(decodeURIComponent(sid));
    const p = s?.parties.find((p) => p.id === decodeURIComponent(pid));
    if (!s || !p) return rcError(404, "CMN-102", "Resource for parameter [partyId] is not found");
    const code = p.status.code;
    const done = (status: FakeParty["status"], everyone = false) => {
      for (const q of everyone ? s.parties : [p]) q.status = status;
      this.onChange(s);
      if (s.parties.every((q) => /^(Disconnected|Gone)$/.test(q.status.code))) {
        this.sessions.delete(s.id);
      }
      return json(200, {
        id: p.id,
        status: p.status,
        direction: p.direction,
        from: p.from,
        to: p.to,
      });
    };
    const refuse = () => rcError(409, "TAS-102", `Party is in state ${code}`);
    if (method === "DELETE" && action === undefined) {
      if (/^(Disconnected|Gone)$/.test(code)) return refuse();
      // With two parties, the call ends for both.
      done({ code: "Disconnected" }, s.parties.length <= 2);
      return new Response(null, { status: 204 });
    }
    if (method !== "POST") return rcError(405, "CMN-405", "Method not allowed");
    switch (action) {
      case "answer":
        if (code !== "Proceeding" || p.direction !== "Inbound") return refuse();
        if (typeof body.deviceId !== "string") {
          return rcError(400, "CMN-101", "Parameter [deviceId] is invalid");
        }
        return done({ code: "Answered" });
      case "hold":
        return code === "Answered" ? done({ code: "Hold" }) : refuse();
      case "unhold":
        return code === "Hold" ? done({ code: "Answered" }) : refuse();
      case "reject":
        return code === "Proceeding" && p.direction === "Inbound"
          ? done({ code: "Disconnected", reason: "Rejected" })
          : refuse();
      case "transfer": {
        const targets = ["phoneNumber", "extensionNumber", "voicemail", "parkOrbit"]
          .filter((k) => typeof body[k] === "string");
        if (targets.length !== 1) return rcError(400, "CMN-101", "Exactly one transfer target");
        if (code !== "Answered" && code !== "Hold") return refuse();
        return done({ code: "Disconnected", reason: "BlindTransfer" });
      }
      default:
        return rcError(404, "CMN-102", "Resource for parameter [action] is not found");
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
