/**
 * One phone as the server drives it: its address and profile, its serial queue, what it
 * last answered, and the authentication it uses.
 *
 * Authentication (docs/snom.md §3.2, §3.4): the first request goes out without credentials
 * unless the profile says `auth = basic`; the phone's challenge decides the scheme (Digest
 * before Basic). After one success the scheme is reused: Basic credentials are sent up front,
 * and a Digest nonce is reused with a rising nonce count, as common Digest clients do; a
 * `stale` or new nonce is answered once more. A refusal of credentials that were just
 * computed from a fresh challenge is final: the phone is not asked again for
 * `authCooldownMs`, so the server never walks a SNOM into its three-strike lock-out. A page
 * with the profile's `lockoutMarker` means the phone is locked: not asked again for
 * `lockCooldownMs`.
 *
 * Cool-down states: `open` → (`AuthFailed` | `PhoneLocked`) until a time → `open`; any
 * change of the phone's address, credentials or auth setting opens it at once.
 */

import { randomBytes } from "node:crypto";
import type { CallCommand, ErrorReason, Outcome } from "../contract.ts";
import { type Clock, sleep } from "../clock.ts";
import { basicAuthorization, type PhoneReply, type PhoneTransport } from "../http/mod.ts";
import { log } from "../log/mod.ts";
import { VERSION } from "../version.ts";
import { type Challenge, chooseChallenge, digestAuthorization, parseChallenges } from "./auth.ts";
import {
  commandSteps,
  type NotificationName,
  type Profile,
  type RequestStep,
  type SuccessRule,
} from "../config/mod.ts";
import { Serial } from "../serial.ts";
import { type ExpandedStep, expandStep, type TemplateValues } from "./template.ts";
import { Reach, type ReachStatus } from "./reach.ts";
import { errorText } from "../text.ts";

/** Where a phone is and how to reach it. */
export interface PhoneTarget {
  readonly extension: string;
  readonly host: string;
  readonly port: number;
  readonly protocol: "HTTP" | "HTTPS";
  readonly profile: Profile;
  readonly username?: string;
  readonly password?: string;
  /** True for a simulated phone started by `demoPhones`. */
  readonly demo: boolean;
}

/** What the registry gives every phone. */
export interface PhoneContext {
  readonly transport: PhoneTransport;
  readonly clock: Clock;
  /**
   * How long a command may take from its arrival to its answer (`phoneTimeoutSeconds`), time
   * spent waiting behind other commands included; read when the command arrives.
   */
  readonly timeoutMs: () => number;
  readonly authCooldownMs: number;
  readonly lockCooldownMs: number;
  /** Commands allowed to wait behind the running one; more are refused at once. */
  readonly maxQueued: number;
  /** A fresh Digest client nonce. */
  readonly cnonce?: () => string;
}

/** The result of one command or configuration, for the status page. */
export interface CommandRecord {
  readonly at: number;
  readonly command: string;
  readonly ok: boolean;
  readonly reason?: ErrorReason;
  readonly detail?: string;
  /** How long it took, queue wait excluded. */
  readonly ms: number;
}

/** One phone's line on the status page. Never carries the password. */
export interface PhoneStatus extends ReachStatus {
  readonly extension: string;
  readonly host: string;
  readonly port: number;
  readonly protocol: "HTTP" | "HTTPS";
  readonly profile: string;
  readonly demo: boolean;
  /** The scheme in use: learnt from the phone's challenge, or "unknown" before the first. */
  readonly auth: "none" | "basic" | "digest" | "unknown";
  /** True while a request to the phone is in flight. */
  readonly busy: boolean;
  /** Commands waiting behind the running one. */
  readonly queued: number;
  readonly last?: CommandRecord;
  readonly lastError?: CommandRecord;
  /** While set and in the future, commands fail at once with `blockedReason`. */
  readonly blockedUntil?: number;
  readonly blockedReason?: "AuthFailed" | "PhoneLocked";
}

type AuthState =
  | { readonly kind: "unknown" }
  | { readonly kind: "none" }
  | { readonly kind: "basic" }
  | { kind: "digest"; readonly challenge: Challenge; nc: number };

type Failure = { readonly ok: false; readonly reason: ErrorReason; readonly detail: string };
const fail = (reason: ErrorReason, detail: string): Failure => ({ ok: false, reason, detail });

const USER_AGENT = `PhoneCompanionServer/${VERSION}`;

/** True when the reply is the phone's lock-out page (the profile's `lockoutMarker`, if any). */
function isLockoutPage(reply: Extract<PhoneReply, { kind: "response" }>, marker: string): boolean {
  return marker !== "" && reply.body.includes(marker);
}

function matches(rules: readonly SuccessRule[], reply: PhoneReply): boolean {
  if (reply.kind === "closed") return rules.includes("closed");
  if (reply.kind !== "response") return false;
  const s = reply.status;
  return rules.some((r) =>
    r === s || (r === "2xx" && s >= 200 && s < 300) || (r === "3xx" && s >= 300 && s < 400)
  );
}

/** A phone the registry drives. */
export class Phone {
  #target: PhoneTarget;
  readonly #ctx: PhoneContext;
  readonly #queue = new Serial();
  #auth: AuthState;
  #blocked?: { reason: "AuthFailed" | "PhoneLocked"; until: number; detail: string };
  #last?: CommandRecord;
  #lastError?: CommandRecord;
  #retired = false;
  #busy = false;
  /** When the phone last let a request time out; cleared by any reply. */
  #silentSince?: number;
  /** Ends requests in flight when the server stops. */
  readonly #stopping = new AbortController();
  readonly #reach: Reach;

  constructor(target: PhoneTarget, ctx: PhoneContext) {
    this.#target = target;
    this.#ctx = ctx;
    this.#auth = this.#initialAuth();
    this.#reach = new Reach(ctx.clock);
  }

  /** The phone's current address and profile. */
  get target(): PhoneTarget {
    return this.#target;
  }

  /**
   * Takes a changed configuration. Queued commands keep their place and use the new one;
   * a changed address or login forgets the learnt scheme and any cool-down.
   */
  update(target: PhoneTarget): void {
    const a = this.#target;
    const relogin = a.host !== target.host || a.port !== target.port ||
      a.protocol !== target.protocol || a.username !== target.username ||
      a.password !== target.password || a.profile.auth !== target.profile.auth;
    this.#target = target;
    if (relogin) {
      this.#auth = this.#initialAuth();
      this.#blocked = undefined;
    }
    if (a.host !== target.host || a.port !== target.port || a.protocol !== target.protocol) {
      this.#reach.reset();
    }
  }

  /**
   * Checks that the phone is there (docs/status-page.md §4): one `GET /` without credentials
   * in this phone's queue, so it can never count as a failed login (docs/snom.md §3.4). Any
   * HTTP answer, a 401 included, proves the phone is there. A phone busy with commands is not
   * checked: their replies tell the same. Never rejects.
   */
  async check(): Promise<void> {
    if (this.#retired || this.#busy || this.#queue.busy) return;
    await this.#queue.run(async () => {
      const t = this.#target;
      const timeoutMs = this.#ctx.timeoutMs();
      const reply = await this.#ctx.transport.exchange({
        protocol: t.protocol,
        host: t.host,
        port: t.port,
        method: "GET",
        target: "/",
        headers: [["User-Agent", USER_AGENT], ["Accept", "*/*"], ["Connection", "keep-alive"]],
        body: "",
        timeoutMs,
      });
      if (this.#target === t) this.#reach.observe(t, reply, timeoutMs);
    }, () => undefined).catch(() => undefined);
  }

  /** Fails every waiting command; the one in flight finishes. Later commands fail at once. */
  retire(detail: string): void {
    this.#retired = true;
    this.#queue.cancelWaiting(detail);
  }

  /** Ends the request in flight at once (the server is stopping); call after `retire`. */
  abort(): void {
    this.#stopping.abort();
  }

  /** Resolves when the phone has nothing in flight and nothing waiting. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /**
   * Sends a call command: the profile's request sequence, in this phone's queue. Its deadline
   * counts from the command's arrival at the server.
   */
  execute(call: CallCommand, callId?: string): Promise<Outcome> {
    const { name: command, number } = call;
    return this.#enqueue(command, async (deadline) => {
      const t = this.#target;
      const steps = commandSteps(t.profile, command, number !== undefined, !!callId);
      if (steps === "NotSupported") {
        return fail(
          "NotSupported",
          `profile ${t.profile.name} has no [${command}${
            number === undefined ? "" : " number"
          }] section`,
        );
      }
      if (steps === "NumberRequired") {
        return fail("InvalidNumber", `profile ${t.profile.name} needs a number for ${command}`);
      }
      if (steps === "CallIdRequired") {
        return fail(
          "NotSupported",
          `profile ${t.profile.name} has only [${command} callId], and the server knows no call id ` +
            "of the phone's call (monitor the device)",
        );
      }
      return await this.#run(steps, { number, extension: t.extension, callId }, deadline);
    }, call.arrivedAt);
  }

  /**
   * Writes the notification URLs into the phone with the profile's
   * `[monitorAutoConfiguration]` request(s), in this phone's queue.
   */
  configureMonitoring(urls: ReadonlyMap<NotificationName, string>): Promise<Outcome> {
    return this.#enqueue("configureMonitoring", async (deadline) => {
      const t = this.#target;
      const monitor = t.profile.monitor;
      if (!monitor) {
        return fail("NotSupported", `profile ${t.profile.name} has no [monitorAutoConfiguration]`);
      }
      return await this.#run(monitor.steps, {
        extension: t.extension,
        urls,
        settings: monitor.notifications,
      }, deadline);
    });
  }

  /** The local address a connection to this phone leaves from, in this phone's queue. */
  localAddress(): Promise<string> {
    if (this.#retired) {
      return Promise.reject(new Error(`phone ${this.#target.extension} is no longer configured`));
    }
    return new Promise((resolve, reject) => {
      this.#queue.run(
        async () => {
          try {
            const t = this.#target;
            resolve(await this.#ctx.transport.localAddress(t.host, t.port, this.#ctx.timeoutMs()));
          } catch (e) {
            reject(e);
          }
        },
        (reason) => reject(new Error(reason)),
      );
    });
  }

  /** The phone's line on the status page. */
  status(): PhoneStatus {
    const t = this.#target;
    const blocked = this.#blocked && this.#blocked.until > this.#ctx.clock.now()
      ? this.#blocked
      : undefined;
    return {
      extension: t.extension,
      host: t.host,
      port: t.port,
      protocol: t.protocol,
      profile: t.profile.name,
      demo: t.demo,
      auth: this.#auth.kind,
      busy: this.#busy,
      queued: this.#queue.waiting,
      last: this.#last,
      lastError: this.#lastError,
      blockedUntil: blocked?.until,
      blockedReason: blocked?.reason,
      ...this.#reach.status(),
    };
  }

  #initialAuth(): AuthState {
    const t = this.#target;
    if (t.profile.auth === "none" || t.username === undefined) return { kind: "none" };
    return t.profile.auth === "basic" ? { kind: "basic" } : { kind: "unknown" };
  }

  /**
   * Runs a command in this phone's queue. Its deadline is set when it arrives: whatever waits
   * before it, it is answered within `timeoutMs` of its arrival (docs/channel-protocol.md
   * §3.4).
   */
  #enqueue(
    command: string,
    job: (deadline: number) => Promise<Outcome>,
    arrivedAt?: number,
  ): Promise<Outcome> {
    const arrived = arrivedAt ?? this.#ctx.clock.now();
    const deadline = arrived + this.#ctx.timeoutMs();
    const removed = (detail: string): Outcome =>
      this.#record(command, fail("UnknownDevice", detail), 0);
    if (this.#retired) {
      return Promise.resolve(removed(`phone ${this.#target.extension} is no longer configured`));
    }
    if (this.#queue.waiting >= this.#ctx.maxQueued) {
      return Promise.resolve(this.#record(
        command,
        fail("Timeout", `${this.#queue.waiting} commands are already waiting for this phone`),
        0,
      ));
    }
    const outcome = this.#queue.run(async () => {
      const started = this.#ctx.clock.now();
      this.#busy = true;
      let result: Outcome;
      try {
        result = this.#blockedOutcome() ?? this.#stillSilent(arrived) ??
          (started >= deadline
            ? fail("Timeout", `waited ${started - arrived} ms behind other commands to this phone`)
            : await job(deadline));
      } catch (e) {
        result = fail(
          "PhoneUnreachable",
          `unexpected error: ${errorText(e)}`,
        );
      } finally {
        this.#busy = false;
      }
      return this.#record(command, result, this.#ctx.clock.now() - started);
    }, removed);
    return outcome;
  }

  #record(command: string, outcome: Outcome, ms: number): Outcome {
    const t = this.#target;
    const record: CommandRecord = outcome.ok
      ? { at: this.#ctx.clock.now(), command, ok: true, ms }
      : {
        at: this.#ctx.clock.now(),
        command,
        ok: false,
        reason: outcome.reason,
        detail: outcome.detail,
        ms,
      };
    this.#last = record;
    if (!outcome.ok) {
      this.#lastError = record;
      log("phones").warning("{command} on {extension} ({host}) failed: {reason}: {detail}", {
        command,
        extension: t.extension,
        host: t.host,
        reason: outcome.reason,
        detail: outcome.detail ?? "",
      });
    } else {
      log("phones").info("{command} on {extension} ({host}) done in {ms} ms", {
        command,
        extension: t.extension,
        host: t.host,
        ms,
      });
    }
    return outcome;
  }

  /** The phone did not answer in time: from now on {@link #stillSilent} holds. */
  #silent(detail: string): Failure {
    this.#silentSince = this.#ctx.clock.now();
    return fail("Timeout", detail);
  }

  /**
   * The silence rule, kept here alone: a command that arrived before the phone's last
   * silence, while no reply has come since, would only wait for the same silence, so it fails
   * at once with `PhoneUnreachable` when its turn comes (the commands waiting behind the
   * silent one, one after another, without a request). Commands that arrive later try the
   * phone again, one at a time.
   */
  #stillSilent(arrived: number): Failure | undefined {
    const since = this.#silentSince;
    if (since === undefined || arrived > since) return undefined;
    return fail(
      "PhoneUnreachable",
      `phone ${this.#target.extension} did not answer the command before this one`,
    );
  }

  #blockedOutcome(): Failure | undefined {
    const b = this.#blocked;
    if (!b) return undefined;
    const now = this.#ctx.clock.now();
    if (b.until <= now) {
      this.#blocked = undefined;
      return undefined;
    }
    const seconds = Math.ceil((b.until - now) / 1000);
    return fail(b.reason, `${b.detail}; not asking the phone again for ${seconds} s`);
  }

  #block(reason: "AuthFailed" | "PhoneLocked", detail: string): Failure {
    const ms = reason === "AuthFailed" ? this.#ctx.authCooldownMs : this.#ctx.lockCooldownMs;
    this.#blocked = { reason, until: this.#ctx.clock.now() + ms, detail };
    if (reason === "AuthFailed") this.#auth = this.#initialAuth();
    return fail(reason, detail);
  }

  async #run(
    steps: readonly RequestStep[],
    values: TemplateValues,
    deadline: number,
  ): Promise<Outcome> {
    for (let i = 0; i < steps.length; i++) {
      const step = steps[i];
      const outcome = await this.#step(step, expandStep(step, values), deadline);
      if (!outcome.ok) {
        const where = steps.length > 1 ? `step ${i + 1} of ${steps.length}: ` : "";
        return { ...outcome, detail: `${where}${outcome.detail ?? ""}` };
      }
      if (step.delayMs > 0 && i + 1 < steps.length) await sleep(step.delayMs, this.#ctx.clock);
    }
    return { ok: true };
  }

  /** One request, with authentication, classified against the step's success rule. */
  async #step(step: RequestStep, request: ExpandedStep, deadline: number): Promise<Outcome> {
    const t = this.#target;
    const reply = await this.#exchange(request, deadline);
    if ("reason" in reply) return reply;
    // The path only: a query may carry the action URLs with their callback keys.
    const [path, query] = request.target.split("?", 2);
    log("phones").debug("{method} {target} to {extension}: {reply}", {
      method: request.method,
      target: query === undefined ? path : `${path}?… (${query.split("&").length} parameters)`,
      extension: t.extension,
      reply: reply.kind === "response" ? reply.status : reply.kind,
    });
    if (reply.kind === "response" && isLockoutPage(reply, t.profile.lockoutMarker)) {
      return this.#block(
        "PhoneLocked",
        `the phone answered ${reply.status} with its lock-out page ('${t.profile.lockoutMarker}')`,
      );
    }
    if (matches(step.success, reply)) return { ok: true };
    switch (reply.kind) {
      case "timeout":
        return this.#silent(`no reply in time (phoneTimeoutSeconds)`);
      case "unreachable":
        return fail("PhoneUnreachable", `cannot reach ${t.host}:${t.port}: ${reply.message}`);
      case "closed":
        return fail("PhoneUnreachable", "the phone closed the connection without a reply");
      case "malformed":
        return fail("PhoneRefused", `the phone's reply is not HTTP: ${reply.message}`);
      case "response": {
        const hint = reply.status === 403 ? " (is use_hidden_tags on in the phone?)" : "";
        return fail("PhoneRefused", `the phone answered HTTP ${reply.status}${hint}`);
      }
    }
  }

  /**
   * Sends a request and answers the phone's login challenge. Returns the final reply, or an
   * AuthFailed outcome when logging in failed (and starts the cool-down).
   */
  async #exchange(request: ExpandedStep, deadline: number): Promise<PhoneReply | Failure> {
    const t = this.#target;
    let authorization = this.#authorization(request);
    let sentState = this.#auth;
    let answeredFresh = false;
    for (;;) {
      const headers: [string, string][] = [
        ["User-Agent", USER_AGENT],
        ["Accept", request.accept || "*/*"],
        ["Connection", "keep-alive"],
      ];
      if (request.contentType !== "") headers.push(["Content-Type", request.contentType]);
      if (authorization) headers.push(["Authorization", authorization]);
      const left = deadline - this.#ctx.clock.now();
      if (left <= 0) return this.#silent("no time left for another request before the deadline");
      const reply = await this.#ctx.transport.exchange({
        protocol: t.protocol,
        host: t.host,
        port: t.port,
        method: request.method,
        target: request.target,
        headers,
        body: request.body,
        timeoutMs: left,
        signal: this.#stopping.signal,
      });
      if (reply.kind !== "timeout" && reply.kind !== "unreachable") this.#silentSince = undefined;
      this.#reach.observe(t, reply, this.#ctx.timeoutMs());
      // A 401 that is the lock-out page is not a login to answer; `#step` reports it.
      if (reply.kind !== "response" || reply.status !== 401) return reply;
      if (isLockoutPage(reply, t.profile.lockoutMarker)) return reply;
      if (t.username === undefined || t.profile.auth === "none") {
        return this.#block(
          "AuthFailed",
          "the phone asks for a login, but its phone= line has no username and password",
        );
      }
      const challenges = parseChallenges(
        reply.headers.filter(([n]) => n === "www-authenticate").map(([, v]) => v),
      );
      const chosen = chooseChallenge(challenges, t.profile.auth);
      if (!chosen) {
        const offered = challenges.map((c) => c.scheme).join(", ") || "no known scheme";
        return this.#block(
          "AuthFailed",
          `the phone asks for ${offered}; profile ${t.profile.name} allows auth = ${t.profile.auth}`,
        );
      }
      const digest = chosen.scheme.toLowerCase() === "digest";
      const refused = answeredFresh ||
        (sentState.kind === "basic" && authorization !== undefined && !digest) ||
        (sentState.kind === "digest" && digest &&
          chosen.params.get("nonce") === sentState.challenge.params.get("nonce") &&
          chosen.params.get("stale")?.toLowerCase() !== "true");
      if (refused) {
        return this.#block("AuthFailed", "the phone refused the username and password (HTTP 401)");
      }
      this.#auth = digest ? { kind: "digest", challenge: chosen, nc: 0 } : { kind: "basic" };
      sentState = this.#auth;
      authorization = this.#authorization(request);
      answeredFresh = true;
    }
  }

  #authorization(request: ExpandedStep): string | undefined {
    const t = this.#target;
    const auth = this.#auth;
    if (t.username === undefined) return undefined;
    const password = t.password ?? "";
    if (auth.kind === "basic") return basicAuthorization(t.username, password);
    if (auth.kind !== "digest") return undefined;
    auth.nc += 1;
    return digestAuthorization(auth.challenge, {
      username: t.username,
      password,
      method: request.method,
      uri: request.target,
      body: request.body,
      nc: auth.nc,
      cnonce: this.#ctx.cnonce?.() ?? randomBytes(16).toString("hex"),
    });
  }
}
