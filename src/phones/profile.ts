/**
 * Phone profiles: plain-text files that say how to drive one phone model over HTTP (the
 * vendor's "phone configuration file"). Supporting another model means writing a profile,
 * not code. The grammar is the configuration file's (`key = value`, `#`/`;` comments) plus
 * `[section]` headers; see the top of `profiles/snom.cfg` for the user-facing description.
 *
 * ```
 * protocol = HTTP            connection defaults (top of the file)
 * port = 80
 * auth = auto                auto | basic | digest | none
 * lockoutMarker = blocked    body text of the phone's "login locked" page
 *
 * [MakeCall]                 one section per request; a repeated section is the next step
 * method = GET
 * resource = /command.htm?number={number}
 * success = 2xx 302 closed   which outcomes count as success
 *
 * [TransferCall number]      the variant used when the command carries a number
 * [monitorAutoConfiguration] which phone setting receives which notification URL
 * ```
 */

import { type Finding, nearest, readLines } from "../config/mod.ts";

/** Channel commands a profile may define (channel-protocol.md §3). */
export const PROFILE_COMMANDS = [
  "MakeCall",
  "AnswerCall",
  "ClearConnection",
  "HoldCall",
  "RetrieveCall",
  "TransferCall",
  "ConsultationCall",
  "ConferenceCall",
  "AlternateCall",
  "ReconnectCall",
] as const;

/** A command name a profile may define. */
export type ProfileCommand = (typeof PROFILE_COMMANDS)[number];

/** Phone notifications the monitor can receive, each set into one phone setting. */
export const NOTIFICATIONS = [
  "onIncomingCall",
  "onOutgoingCall",
  "onConnected",
  "onDisconnected",
  "onMissedCall",
  "onHold",
  "onUnhold",
  "onTransfer",
  "onBlindTransfer",
  "onAttendedTransfer",
  "onOffhook",
  "onOnhook",
  "onSetup",
] as const;

/** A notification name of `[monitorAutoConfiguration]`. */
export type NotificationName = (typeof NOTIFICATIONS)[number];

/** What counts as success for one request: a status, a class such as 2xx, or "closed". */
export type SuccessRule = number | "2xx" | "3xx" | "closed";

/** One HTTP request of a command's sequence. Placeholders are still in `resource`/`body`. */
export interface RequestStep {
  readonly method: "GET" | "POST" | "PUT";
  readonly resource: string;
  readonly contentType: string;
  readonly accept: string;
  readonly body: string;
  readonly success: readonly SuccessRule[];
  /** Pause after this step before the next, in milliseconds. */
  readonly delayMs: number;
  readonly line: number;
}

/** How the monitor points a phone's action URLs at the server. */
export interface MonitorConfiguration {
  /** The request(s) that write the settings; `{settings}` expands to `name=value&...`. */
  readonly steps: readonly RequestStep[];
  /** Notification → the phone setting that holds its URL. */
  readonly notifications: ReadonlyMap<NotificationName, string>;
  /** Query appended to every notification URL, with the phone's own `$variables`. */
  readonly variables: string;
}

/** A parsed profile, frozen. */
export interface Profile {
  readonly name: string;
  readonly file: string;
  readonly protocol: "HTTP" | "HTTPS";
  readonly port: number;
  readonly auth: "auto" | "basic" | "digest" | "none";
  readonly lockoutMarker: string;
  /** Keyed by command, or by `"<command> number"` for the with-number variant. */
  readonly commands: ReadonlyMap<string, readonly RequestStep[]>;
  readonly monitor?: MonitorConfiguration;
}

const TOP_KEYS = ["protocol", "port", "auth", "lockoutMarker"];
const STEP_KEYS = ["method", "resource", "content_type", "accept", "body", "success", "delayMs"];
const NUMBER_VARIANTS = new Set<string>(["MakeCall", "TransferCall", "ConsultationCall"]);

function parseSuccess(value: string): SuccessRule[] | undefined {
  const rules: SuccessRule[] = [];
  for (const word of value.split(/[\s,]+/).filter((w) => w !== "")) {
    const l = word.toLowerCase();
    if (l === "2xx" || l === "3xx" || l === "closed") rules.push(l);
    else if (/^[1-5]\d\d$/.test(word)) rules.push(Number(word));
    else return undefined;
  }
  return rules.length > 0 ? rules : undefined;
}

/** The result of parsing a profile: the profile when there is no error, and every finding. */
export interface ProfileResult {
  readonly profile?: Profile;
  readonly findings: readonly Finding[];
}

/** Parses profile text; `file` names it in findings, `name` is how the config refers to it. */
export function parseProfile(text: string, file: string, name = file): ProfileResult {
  const findings: Finding[] = [];
  const error = (line: number, message: string, key?: string) =>
    findings.push({ level: "error", file, line, key, message });
  const warn = (line: number, message: string, key?: string) =>
    findings.push({ level: "warning", file, line, key, message });

  const top = new Map<string, { value: string; line: number }>();
  const commands = new Map<string, RequestStep[]>();
  const notifications = new Map<NotificationName, string>();
  let variables = "";
  let monitorSteps: RequestStep[] | undefined;
  let section:
    | { key: string; line: number; fields: Map<string, { value: string; line: number }> }
    | undefined;
  const sections: typeof section[] = [];

  for (const l of readLines(text)) {
    if (l.kind === "invalid") {
      error(l.line, `expected 'key = value' or '[section]', got '${l.text}'`);
    } else if (l.kind === "section") {
      const [cmdWord, variant, extra] = l.name.split(/\s+/);
      const known = [...PROFILE_COMMANDS, "monitorAutoConfiguration"] as string[];
      const cmd = known.find((c) => c.toLowerCase() === (cmdWord ?? "").toLowerCase());
      if (!cmd) {
        const hint = nearest(cmdWord ?? "", known);
        error(
          l.line,
          `unknown section '[${l.name}]'` + (hint ? `, did you mean '[${hint}]'?` : ""),
        );
        section = undefined;
        continue;
      }
      if (extra !== undefined || (variant !== undefined && variant.toLowerCase() !== "number")) {
        error(l.line, `a section is '[${cmd}]' or '[${cmd} number]', got '[${l.name}]'`);
        section = undefined;
        continue;
      }
      if (variant !== undefined && !NUMBER_VARIANTS.has(cmd)) {
        error(l.line, `${cmd} takes no number, so '[${cmd} number]' is never used`);
        section = undefined;
        continue;
      }
      section = { key: variant ? `${cmd} number` : cmd, line: l.line, fields: new Map() };
      sections.push(section);
    } else if (!section) {
      const key = TOP_KEYS.find((k) => k.toLowerCase() === l.key.toLowerCase());
      if (!key) {
        const hint = nearest(l.key, TOP_KEYS);
        warn(
          l.line,
          `unknown key '${l.key}'` + (hint ? `, did you mean '${hint}'?` : ", ignored"),
          l.key,
        );
      } else if (top.has(key)) {
        error(l.line, `${key} is already set on line ${top.get(key)!.line}`, key);
      } else top.set(key, { value: l.value, line: l.line });
    } else {
      const allowed = section.key === "monitorAutoConfiguration"
        ? [...STEP_KEYS, ...NOTIFICATIONS, "variables"]
        : STEP_KEYS;
      const key = allowed.find((k) => k.toLowerCase() === l.key.toLowerCase());
      if (!key) {
        const hint = nearest(l.key, allowed);
        warn(
          l.line,
          `unknown key '${l.key}'` + (hint ? `, did you mean '${hint}'?` : ", ignored"),
          l.key,
        );
      } else if (section.fields.has(key)) {
        error(l.line, `${key} is already set on line ${section.fields.get(key)!.line}`, key);
      } else section.fields.set(key, { value: l.value, line: l.line });
    }
  }

  const protocol = (top.get("protocol")?.value ?? "HTTP").toUpperCase();
  if (protocol !== "HTTP" && protocol !== "HTTPS") {
    error(
      top.get("protocol")!.line,
      `protocol must be HTTP or HTTPS, got '${top.get("protocol")!.value}'`,
      "protocol",
    );
  }
  const portText = top.get("port")?.value ?? (protocol === "HTTPS" ? "443" : "80");
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) {
    error(top.get("port")!.line, `port must be a port number 1-65535, got '${portText}'`, "port");
  }
  const auth = (top.get("auth")?.value ?? "auto").toLowerCase();
  if (!["auto", "basic", "digest", "none"].includes(auth)) {
    error(
      top.get("auth")!.line,
      `auth must be one of auto, basic, digest, none, got '${top.get("auth")!.value}'`,
      "auth",
    );
  }

  for (const s of sections) {
    if (!s) continue;
    const f = (k: string) => s.fields.get(k);
    const method = (f("method")?.value ?? "GET").toUpperCase();
    if (method !== "GET" && method !== "POST" && method !== "PUT") {
      error(
        f("method")!.line,
        `method must be GET, POST or PUT, got '${f("method")!.value}'`,
        "method",
      );
    }
    const resource = f("resource")?.value ?? "";
    if (!resource.startsWith("/")) {
      error(
        f("resource")?.line ?? s.line,
        `resource must be a path starting with '/', got '${resource}'`,
        "resource",
      );
    }
    const success = f("success") ? parseSuccess(f("success")!.value) : ["2xx" as const];
    if (!success) {
      error(
        f("success")!.line,
        `success must list statuses such as 200, 2xx, 302, 3xx or closed, got '${
          f("success")!.value
        }'`,
        "success",
      );
    }
    const delayText = f("delayMs")?.value ?? "0";
    if (!/^\d{1,5}$/.test(delayText)) {
      error(
        f("delayMs")!.line,
        `delayMs must be a number of milliseconds 0-99999, got '${delayText}'`,
        "delayMs",
      );
    }
    const step: RequestStep = {
      method: method as RequestStep["method"],
      resource,
      contentType: f("content_type")?.value ?? "",
      accept: f("accept")?.value ?? "",
      body: f("body")?.value ?? "",
      success: success ?? [],
      delayMs: Number(delayText),
      line: s.line,
    };
    if (s.key === "monitorAutoConfiguration") {
      (monitorSteps ??= []).push(step);
      for (const n of NOTIFICATIONS) {
        const setting = f(n);
        if (setting) notifications.set(n, setting.value);
      }
      if (f("variables")) variables = f("variables")!.value;
    } else {
      const list = commands.get(s.key) ?? [];
      list.push(step);
      commands.set(s.key, list);
    }
  }
  if (monitorSteps && notifications.size === 0) {
    error(
      sections.find((s) => s?.key === "monitorAutoConfiguration")!.line,
      "monitorAutoConfiguration names no notification such as onIncomingCall",
    );
  }

  if (findings.some((x) => x.level === "error")) return { findings };
  const profile: Profile = {
    name,
    file,
    protocol: protocol as Profile["protocol"],
    port,
    auth: auth as Profile["auth"],
    lockoutMarker: top.get("lockoutMarker")?.value ?? "blocked",
    commands,
    monitor: monitorSteps ? { steps: monitorSteps, notifications, variables } : undefined,
  };
  return { profile: Object.freeze(profile), findings };
}
