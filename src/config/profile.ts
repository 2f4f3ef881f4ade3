/**
 * Phone profiles: plain-text files that say how to drive one phone model over HTTP (the
 * vendor's "phone configuration file"). Supporting another model means writing a profile,
 * not code. The grammar is the configuration file's (`key = value`, `#`/`;` comments) plus
 * `[section]` headers; the top of `profiles/snom.cfg` is the user-facing description.
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
 * [AnswerCall callId]        the variant used when the server knows the phone's call id
 * [monitorAutoConfiguration] which phone setting receives which notification URL
 * [monitorProvisioning]      or: the URLs are loaded by provisioning; lines to print
 * ```
 *
 * Placeholders are `{name}` with a plain name; any other brace text (a JSON body) is literal.
 */

import { type Finding, FindingList } from "./findings.ts";
import { nearest, readLines } from "./lines.ts";

/** Channel commands a profile may define (docs/channel-protocol.md §3). */
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

/**
 * Phone notifications the monitor can receive, each set into one phone setting. What each
 * does to the device's calls: docs/phone-profiles.md §2.3.
 */
export const NOTIFICATIONS = [
  "onIncomingCall",
  "onOutgoingCall",
  "onConnected",
  "onDisconnected",
  "onMissedCall",
  "onRejected",
  "onForwarded",
  "onRemoteBusy",
  "onCallCancelled",
  "onHold",
  "onUnhold",
  "onTransfer",
  "onBlindTransfer",
  "onAttendedTransfer",
  "onTransferFailed",
  "onOffhook",
  "onOnhook",
  "onIdle",
  "onSetup",
] as const;

/** A notification name of `[monitorAutoConfiguration]`. */
export type NotificationName = (typeof NOTIFICATIONS)[number];

/** Placeholders a command request may use (`{callId}` only in a `[Command callId]`). */
export const COMMAND_PLACEHOLDERS = ["number", "numberKeys", "extension", "callId"] as const;

/**
 * Commands that act on one call and may have a `[Command callId]` variant, used when the
 * server knows the phone's own id of that call (docs/phone-profiles.md §2.2).
 */
export const CALL_ID_COMMANDS: ReadonlySet<string> = new Set([
  "AnswerCall",
  "ClearConnection",
  "HoldCall",
  "RetrieveCall",
]);

/** Placeholders of a `[monitorProvisioning]` `line` (docs/phone-profiles.md §2.4). */
export const LINE_PLACEHOLDERS = ["setting", "url"] as const;

/** Placeholders of a `[monitorProvisioning]` `extra` line. */
export const EXTRA_PLACEHOLDERS = ["serverAddress", "extension"] as const;

/** Placeholders a `[monitorAutoConfiguration]` request may use (plus every notification). */
export const MONITOR_PLACEHOLDERS = ["settings", "extension"] as const;

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
  /** True when `resource` or `body` uses `{number}` or `{numberKeys}`. */
  readonly usesNumber: boolean;
  /** True when `resource` or `body` uses `{callId}`. */
  readonly usesCallId?: boolean;
  /** The line of the section header, for log lines that point back at the profile. */
  readonly line: number;
}

/**
 * The lines an administrator loads into a phone that takes its action URLs from
 * provisioning only (docs/phone-profiles.md §2.4).
 */
export interface ProvisioningLines {
  /** One line per notification: `{setting}` and `{url}` (the URL as it is, unencoded). */
  readonly line: string;
  /** Further lines, in order: `{serverAddress}` and `{extension}`. */
  readonly extra: readonly string[];
}

/** How the monitor points a phone's action URLs at the server. */
export interface MonitorConfiguration {
  /**
   * The request(s) that write the settings; `{settings}` expands to `name=value&...`. With
   * `provisioning`, the request(s) that only check the phone answers.
   */
  readonly steps: readonly RequestStep[];
  /** Set when the URLs are loaded by provisioning, not written over HTTP. */
  readonly provisioning?: ProvisioningLines;
  /** Notification → the phone setting that holds its URL. */
  readonly notifications: ReadonlyMap<NotificationName, string>;
  /** Query the monitor appends to every notification URL, with the phone's `$variables`. */
  readonly variables: string;
}

/** A parsed profile, frozen. */
export interface Profile {
  readonly name: string;
  readonly file: string;
  readonly protocol: "HTTP" | "HTTPS";
  readonly port: number;
  readonly auth: "auto" | "basic" | "digest" | "none";
  /** Text that marks the phone's lock-out page; "" turns the check off. */
  readonly lockoutMarker: string;
  /** Keyed by command, or by `"<command> number"` for the with-number variant. */
  readonly commands: ReadonlyMap<string, readonly RequestStep[]>;
  readonly monitor?: MonitorConfiguration;
}

/** The result of parsing a profile: the profile when there is no error, and every finding. */
export interface ProfileResult {
  readonly profile?: Profile;
  readonly findings: readonly Finding[];
}

/**
 * The steps to send for `command`, with or without a number, or why there are none.
 * With a number, `[Command number]` wins; a plain `[Command]` serves only when it uses the
 * number. Without one, only a `[Command]` that does not need the number serves.
 */
export function commandSteps(
  profile: Profile,
  command: ProfileCommand,
  hasNumber: boolean,
  hasCallId = false,
): readonly RequestStep[] | "NotSupported" | "NumberRequired" | "CallIdRequired" {
  const plain = profile.commands.get(command);
  const byCallId = profile.commands.get(`${command} callId`);
  if (!hasNumber && byCallId) {
    if (hasCallId) return byCallId;
    if (!plain) return "CallIdRequired";
  }
  if (hasNumber) {
    const variant = profile.commands.get(`${command} number`);
    if (variant) return variant;
    if (plain && plain.some((s) => s.usesNumber)) return plain;
    return "NotSupported";
  }
  if (plain && !plain.some((s) => s.usesNumber)) return plain;
  if (plain || profile.commands.has(`${command} number`)) return "NumberRequired";
  return "NotSupported";
}

const TOP_KEYS = ["protocol", "port", "auth", "lockoutMarker"];
const STEP_KEYS = ["method", "resource", "content_type", "accept", "body", "success", "delayMs"];
const MONITOR_KEYS = [...STEP_KEYS, ...NOTIFICATIONS, "variables"];
const PROVISIONING_KEYS = [...MONITOR_KEYS, "line", "extra"];
const MONITOR_SECTIONS = new Set(["monitorAutoConfiguration", "monitorProvisioning"]);
const NUMBER_VARIANTS = new Set<string>(["MakeCall", "TransferCall", "ConsultationCall"]);
const PLACEHOLDER = /\{([A-Za-z][A-Za-z0-9_]*)\}/g;

/** The placeholder names used in a text, in order. */
export function placeholdersIn(text: string): string[] {
  return [...text.matchAll(PLACEHOLDER)].map((m) => m[1]);
}

/**
 * Fills the placeholders of a text, as request templates and provisioning lines write them
 * (docs/phone-profiles.md §2): `value(name)` gives the text, or undefined to leave the
 * placeholder as written. Any other brace text (a JSON body) stays literal.
 */
export function fillPlaceholders(
  text: string,
  value: (name: string) => string | undefined,
): string {
  return text.replace(PLACEHOLDER, (whole, name: string) => value(name) ?? whole);
}

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

type Field = { value: string; line: number };
type Section = { key: string; line: number; fields: Map<string, Field>; extra?: Field[] };

/** What a profile's lines hold: the connection defaults on top, then its sections. */
interface ProfileText {
  readonly top: Map<string, Field>;
  readonly sections: Section[];
}

/** The connection a profile asks for: its top keys, checked. */
interface Connection {
  readonly protocol: Profile["protocol"];
  readonly port: number;
  readonly auth: Profile["auth"];
}

/** Parses profile text; `file` names it in findings, `name` is how the config refers to it. */
export function parseProfile(text: string, file: string, name = file): ProfileResult {
  const found = new FindingList(file);
  const { top, sections } = readProfile(text, found);
  const connection = connectionOf(top, found);
  const { commands, monitor } = requestsOf(sections, found);
  if (found.failed) return { findings: found.all };
  const profile: Profile = {
    name,
    file,
    ...connection,
    lockoutMarker: top.get("lockoutMarker")?.value ?? "blocked",
    commands,
    monitor,
  };
  return { profile: Object.freeze(profile), findings: found.all };
}

/** Reads the lines into the top keys and the sections, each key checked against its place. */
function readProfile(text: string, found: FindingList): ProfileText {
  const top = new Map<string, Field>();
  const sections: Section[] = [];
  let section: Section | undefined;
  let skipping = false;
  for (const l of readLines(text)) {
    if (l.kind === "invalid") {
      found.error(l.line, undefined, `expected 'key = value' or '[section]', got '${l.text}'`);
    } else if (l.kind === "section") {
      section = sectionOf(l.name, l.line, found);
      skipping = section === undefined;
      if (section) sections.push(section);
    } else if (!skipping) {
      // Keys before the first section are connection defaults; then the section's own.
      const fields = section?.fields ?? top;
      const allowed = !section
        ? TOP_KEYS
        : section.key === "monitorAutoConfiguration"
        ? MONITOR_KEYS
        : section.key === "monitorProvisioning"
        ? PROVISIONING_KEYS
        : STEP_KEYS;
      const key = allowed.find((k) => k.toLowerCase() === l.key.toLowerCase());
      if (!key) {
        const hint = nearest(l.key, allowed);
        found.warning(
          l.line,
          undefined,
          `unknown key '${l.key}'` + (hint ? `, did you mean '${hint}'?` : ", ignored"),
        );
      } else if (key === "extra" && section) {
        // The one repeatable key: each `extra` is one more line, in order.
        (section.extra ??= []).push({ value: l.value, line: l.line });
      } else if (fields.has(key)) {
        found.error(l.line, key, `${key} is already set on line ${fields.get(key)!.line}`);
      } else fields.set(key, { value: l.value, line: l.line });
    }
  }
  return { top, sections };
}

/** `protocol`, `port` and `auth` of the top of the file, with their defaults. */
function connectionOf(top: ReadonlyMap<string, Field>, found: FindingList): Connection {
  const protocolField = top.get("protocol");
  const protocol = (protocolField?.value ?? "HTTP").toUpperCase();
  if (protocol !== "HTTP" && protocol !== "HTTPS") {
    found.error(
      protocolField!.line,
      "protocol",
      `protocol must be HTTP or HTTPS, got '${protocolField!.value}'`,
    );
  }
  const portField = top.get("port");
  const portText = portField?.value ?? (protocol === "HTTPS" ? "443" : "80");
  const port = Number(portText);
  if (!/^\d{1,5}$/.test(portText) || port < 1 || port > 65535) {
    found.error(portField!.line, "port", `port must be a port number 1-65535, got '${portText}'`);
  }
  const authField = top.get("auth");
  const auth = (authField?.value ?? "auto").toLowerCase();
  if (!["auto", "basic", "digest", "none"].includes(auth)) {
    found.error(
      authField!.line,
      "auth",
      `auth must be one of auto, basic, digest, none, got '${authField!.value}'`,
    );
  }
  return {
    protocol: protocol as Profile["protocol"],
    port,
    auth: auth as Profile["auth"],
  };
}

/** The command sections as request steps, and the monitor section as its configuration. */
function requestsOf(
  sections: readonly Section[],
  found: FindingList,
): { commands: Map<string, RequestStep[]>; monitor?: MonitorConfiguration } {
  const commands = new Map<string, RequestStep[]>();
  const notifications = new Map<NotificationName, string>();
  let variables = "";
  let monitorSteps: RequestStep[] | undefined;
  let provisioning: ProvisioningLines | undefined;
  const monitorKinds = new Set(
    sections.filter((s) => MONITOR_SECTIONS.has(s.key)).map((s) => s.key),
  );
  if (monitorKinds.size > 1) {
    found.error(
      sections.find((s) => s.key === "monitorProvisioning")!.line,
      undefined,
      "a profile has [monitorAutoConfiguration] or [monitorProvisioning], not both",
    );
  }
  for (const s of sections) {
    const step = parseStep(s, s.key, found);
    if (s.key === "monitorProvisioning") provisioning = parseProvisioning(s, provisioning, found);
    if (!MONITOR_SECTIONS.has(s.key)) {
      commands.set(s.key, [...commands.get(s.key) ?? [], step]);
      continue;
    }
    (monitorSteps ??= []).push(step);
    for (const n of NOTIFICATIONS) {
      const setting = s.fields.get(n);
      if (!setting) continue;
      if (!/^[A-Za-z0-9_.-]+$/.test(setting.value)) {
        found.error(
          setting.line,
          n,
          `${n} must name a phone setting such as action_incoming_url, got '${setting.value}'`,
        );
      } else notifications.set(n, setting.value);
    }
    const vars = s.fields.get("variables");
    if (vars) variables = vars.value.replace(/^[?&]+/, "");
  }
  checkNumberUse(commands, found);
  if (monitorSteps && notifications.size === 0) {
    const first = sections.find((s) => MONITOR_SECTIONS.has(s.key))!;
    found.error(first.line, undefined, `${first.key} names no notification such as onIncomingCall`);
  }
  const monitor = monitorSteps
    ? { steps: monitorSteps, notifications, variables, provisioning }
    : undefined;
  return { commands, monitor };
}

/** A command that takes a number but never sends it is most likely a slip. */
function checkNumberUse(commands: ReadonlyMap<string, RequestStep[]>, found: FindingList): void {
  for (const [key, steps] of commands) {
    if (steps.some((s) => s.usesNumber)) continue;
    const line = steps[0].line;
    if (key.endsWith(" number")) {
      found.warning(
        line,
        undefined,
        `[${key}] never uses {number} or {numberKeys}, so the number is not sent`,
      );
    } else if (key === "MakeCall" || key === "ConsultationCall") {
      found.warning(
        line,
        undefined,
        `[${key}] never uses {number}, so the phone cannot know what to dial`,
      );
    }
  }
}

function sectionOf(title: string, line: number, found: FindingList): Section | undefined {
  const error = (line: number, message: string) => found.error(line, undefined, message);
  const [word, variant, extra] = title.split(/\s+/);
  const known = [...PROFILE_COMMANDS, ...MONITOR_SECTIONS] as string[];
  const cmd = known.find((c) => c.toLowerCase() === (word ?? "").toLowerCase());
  if (!cmd) {
    const hint = nearest(word ?? "", known);
    error(line, `unknown section '[${title}]'` + (hint ? `, did you mean '[${hint}]'?` : ""));
    return undefined;
  }
  const kind = variant?.toLowerCase();
  if (extra !== undefined || (kind !== undefined && kind !== "number" && kind !== "callid")) {
    error(
      line,
      `a section is '[${cmd}]', '[${cmd} number]' or '[${cmd} callId]', got '[${title}]'`,
    );
    return undefined;
  }
  if (kind === "number" && !NUMBER_VARIANTS.has(cmd)) {
    error(line, `${cmd} takes no number, so '[${cmd} number]' is never used`);
    return undefined;
  }
  if (kind === "callid" && !CALL_ID_COMMANDS.has(cmd)) {
    error(
      line,
      `'[${cmd} callId]' is never used: only ${[...CALL_ID_COMMANDS].join(", ")} act on one call`,
    );
    return undefined;
  }
  const key = kind === "number" ? `${cmd} number` : kind === "callid" ? `${cmd} callId` : cmd;
  return { key, line, fields: new Map() };
}

/** The `line` and `extra` keys of `[monitorProvisioning]`, checked. */
function parseProvisioning(
  s: Section,
  before: ProvisioningLines | undefined,
  found: FindingList,
): ProvisioningLines | undefined {
  const error = (line: number, message: string, key?: string) => found.error(line, key, message);
  const check = (field: Field, key: string, allowed: readonly string[]) => {
    for (const p of placeholdersIn(field.value)) {
      if (!allowed.includes(p)) {
        error(
          field.line,
          `unknown placeholder '{${p}}' in ${key}; known: ${
            allowed.map((a) => `{${a}}`).join(" ")
          }`,
          key,
        );
      }
    }
  };
  const line = s.fields.get("line");
  for (const e of s.extra ?? []) check(e, "extra", EXTRA_PLACEHOLDERS);
  if (!line) {
    if (before) return before;
    error(s.line, "monitorProvisioning needs line = ..., e.g. line = {setting} = {url}", "line");
    return undefined;
  }
  check(line, "line", LINE_PLACEHOLDERS);
  if (!placeholdersIn(line.value).includes("url")) {
    error(line.line, "line must use {url}, e.g. line = {setting} = {url}", "line");
  }
  return {
    line: line.value,
    extra: [...(before?.extra ?? []), ...(s.extra ?? []).map((e) => e.value)],
  };
}

function parseStep(s: Section, kind: string, found: FindingList): RequestStep {
  const error = (line: number, message: string, key?: string) => found.error(line, key, message);
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
  } else if ([...resource].some((c) => c <= " " || c === "\u007f")) {
    error(
      f("resource")!.line,
      "resource must not contain spaces or control characters; write a space as %20",
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
  const body = f("body")?.value ?? "";
  if (body !== "" && method === "GET") {
    found.warning(f("body")!.line, "body", "a GET request carries no body; use method = POST");
  }
  const { usesNumber, usesCallId } = checkPlaceholders(s, kind, found);
  return {
    method: method as RequestStep["method"],
    resource,
    contentType: f("content_type")?.value ?? "",
    accept: f("accept")?.value ?? "",
    body,
    success: success ?? [],
    delayMs: Number(delayText),
    usesNumber,
    usesCallId,
    line: s.line,
  };
}

/**
 * The placeholders a step's resource and body use, each checked against what its section
 * knows; whether it sends the number and the call id.
 */
function checkPlaceholders(
  s: Section,
  kind: string,
  found: FindingList,
): { usesNumber: boolean; usesCallId: boolean } {
  const f = (k: string) => s.fields.get(k);
  const error = (line: number, message: string, key?: string) => found.error(line, key, message);
  const allowed: readonly string[] = kind === "monitorAutoConfiguration"
    ? [...MONITOR_PLACEHOLDERS, ...NOTIFICATIONS]
    : kind === "monitorProvisioning"
    ? ["extension"]
    : kind.endsWith(" callId")
    ? COMMAND_PLACEHOLDERS
    : COMMAND_PLACEHOLDERS.filter((p) => p !== "callId");
  let usesNumber = false;
  let usesCallId = false;
  for (const key of ["resource", "body"]) {
    const field = f(key);
    if (!field) continue;
    for (const p of placeholdersIn(field.value)) {
      if (p === "number" || p === "numberKeys") usesNumber = true;
      if (p === "callId") usesCallId = true;
      if (p === "callId" && !allowed.includes(p)) {
        error(
          field.line,
          `{callId} is only known in a '[Command callId]' section, e.g. '[${
            s.key.split(" ")[0]
          } callId]'`,
          key,
        );
      } else if (!allowed.includes(p)) {
        const hint = nearest(p, allowed);
        error(
          field.line,
          `unknown placeholder '{${p}}'` +
            (hint
              ? `, did you mean '{${hint}}'?`
              : `; known: ${allowed.map((a) => `{${a}}`).join(" ")}`),
          key,
        );
      }
    }
  }
  return { usesNumber, usesCallId };
}
