/**
 * The channel codec (docs/channel-protocol.md §1–§5): bytes in, typed requests out; replies and
 * events in, text lines out. No I/O and no clock, so transcripts can be replayed through it
 * whole or one byte at a time and must give the same lines (docs/architecture.md §9.1, §9.3).
 */

import type { CallCommandName, CallEvent, CallInfo, ErrorReason, RawReply } from "../contract.ts";
import type { DeviceInfoMode } from "../config/mod.ts";
import { percentEncode } from "../net.ts";

// ---------------------------------------------------------------------------------------------
// Framing (§1)

/** One input line, or the notice that a line was too long and was discarded (§1). */
export type InputItem =
  | { readonly kind: "line"; readonly text: string }
  | { readonly kind: "tooLong"; readonly bytes: number };

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines: LF, CR LF and a lone CR each end a line (§1). Each line is
 * decoded as UTF-8 with U+FFFD for bad bytes; CR and LF never occur inside a multi-byte UTF-8
 * sequence, so splitting bytes before decoding is exact. A line longer than `maxLineBytes` is
 * dropped as it arrives (memory stays bounded) and reported once, when it ends.
 *
 * States: `collecting` (bytes of the current line are kept) and `discarding` (the current line
 * passed the limit; its bytes are counted, not kept). `afterCR` remembers a CR at the end of
 * one chunk so that an LF at the start of the next is not read as an empty line.
 */
export class LineDecoder {
  /** Longest line kept, in bytes without the line end; may change between chunks. */
  maxLineBytes: number;
  #buf = new Uint8Array(256);
  #len = 0;
  #discarding = false;
  #discarded = 0;
  #afterCR = false;
  readonly #text = new TextDecoder("utf-8", { fatal: false });

  constructor(maxLineBytes: number) {
    this.maxLineBytes = maxLineBytes;
  }

  /** Feeds bytes; returns the lines they complete, in order. */
  push(chunk: Uint8Array): InputItem[] {
    const out: InputItem[] = [];
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i];
      if (b !== LF && b !== CR) continue;
      if (b === LF && this.#afterCR && i === start && this.#len === 0 && !this.#discarding) {
        this.#afterCR = false;
        start = i + 1;
        continue;
      }
      this.#append(chunk.subarray(start, i));
      out.push(this.#take());
      this.#afterCR = b === CR;
      start = i + 1;
    }
    if (start < chunk.length) {
      this.#afterCR = false;
      this.#append(chunk.subarray(start));
    }
    return out;
  }

  /** The input ended: a last line without a line end still counts (lenient). */
  end(): InputItem[] {
    if (this.#len === 0 && !this.#discarding) return [];
    return [this.#take()];
  }

  /** Bytes of the unfinished line held now (for the status page and tests). */
  get buffered(): number {
    return this.#len;
  }

  #append(bytes: Uint8Array) {
    if (bytes.length === 0) return;
    if (this.#discarding) {
      this.#discarded += bytes.length;
      return;
    }
    const need = this.#len + bytes.length;
    if (need > this.maxLineBytes) {
      this.#discarding = true;
      this.#discarded = need;
      this.#len = 0;
      if (this.#buf.length > 4096) this.#buf = new Uint8Array(256);
      return;
    }
    if (need > this.#buf.length) {
      let size = this.#buf.length * 2;
      while (size < need) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(bytes, this.#len);
    this.#len = need;
  }

  #take(): InputItem {
    if (this.#discarding) {
      const bytes = this.#discarded;
      this.#discarding = false;
      this.#discarded = 0;
      return { kind: "tooLong", bytes };
    }
    const text = this.#text.decode(this.#buf.subarray(0, this.#len));
    this.#len = 0;
    if (this.#buf.length > 4096) this.#buf = new Uint8Array(256);
    return { kind: "line", text };
  }
}

/** Splits an input line into tokens; runs of spaces (and tabs) count as one (§1). */
export function tokenize(line: string): string[] {
  return line.split(/[ \t]+/).filter((t) => t !== "");
}

// ---------------------------------------------------------------------------------------------
// Requests (§2, §3, §5)

/** Session options a handshake names (§2); an option it leaves out takes its default. */
export interface HandshakeOptions {
  /** Present when the handshake named `Version` (always 2: other versions are refused). */
  readonly version?: 2;
  readonly deviceInformation?: DeviceInfoMode;
}

/** Why a channel itself refuses a line; the reason token of an ERROR reply. */
export type ChannelReason = ErrorReason | "UnsupportedVersion" | "InvalidOption";

/** Status token of a reply (§3). */
export type ReplyStatus = "SUCCESS" | "ERROR" | "INVALCMD" | "INVALNUMPARAM";

/** A reply line before formatting. */
export interface Reply {
  readonly status: ReplyStatus;
  readonly subject: string;
  /** Reason token, written only on ERROR replies with `channelErrorDetail = on`. */
  readonly reason?: ChannelReason;
  /** Rest of the line after the subject (the RawCommand JSON, §5), written as is. */
  readonly payload?: string;
}

/** Commands that act on the monitor rather than on a phone. */
export type MonitorCommandName = "MonitorStart" | "MonitorStop";

/** What one input line asks for, validated as far as it can be without the server. */
export type LineRequest =
  | { readonly kind: "empty" }
  | {
    readonly kind: "handshake";
    /** True for the bare `STLI`, which gets the bare reply. */
    readonly bare: boolean;
    readonly options: HandshakeOptions;
  }
  | { readonly kind: "bye" }
  | { readonly kind: "monitor"; readonly command: MonitorCommandName; readonly device: string }
  | {
    readonly kind: "call";
    readonly command: CallCommandName;
    readonly device: string;
    /** Normalised dial string; undefined when the command has none. */
    readonly number?: string;
  }
  | { readonly kind: "raw"; readonly line: string }
  /** The line is answered at once without the server (INVALCMD, INVALNUMPARAM, ...). */
  | { readonly kind: "reply"; readonly reply: Reply };

/** How many arguments after the command word a command takes (§3). */
interface Arity {
  readonly min: number;
  /** Infinity: every further token belongs to the number. */
  readonly max: number;
}

type CommandName = CallCommandName | MonitorCommandName | "BYE";

const COMMANDS: ReadonlyMap<string, { name: CommandName; arity: Arity }> = new Map(
  ([
    ["MonitorStart", 1, 1],
    ["MonitorStop", 1, 1],
    ["MakeCall", 2, Infinity],
    ["AnswerCall", 1, 1],
    ["ClearConnection", 1, 1],
    ["HoldCall", 1, 1],
    ["RetrieveCall", 1, 1],
    ["TransferCall", 1, Infinity],
    ["ConsultationCall", 2, Infinity],
    ["ConferenceCall", 1, 1],
    ["AlternateCall", 1, 1],
    ["ReconnectCall", 1, 1],
    ["BYE", 0, 0],
  ] as const).map(([name, min, max]) => [name.toLowerCase(), { name, arity: { min, max } }]),
);

/** Commands whose trailing tokens form a dial string (§3.3). */
const DIALS: ReadonlySet<CommandName> = new Set(["MakeCall", "ConsultationCall", "TransferCall"]);

/**
 * Turns the tokens of a dial string into the number to dial (§3): spaces, dashes, dots,
 * slashes and parentheses go, a leading `+` stays, digits, `#` and `*` are allowed. Returns
 * undefined for anything else, including an empty result.
 */
export function normalizeNumber(tokens: readonly string[]): string | undefined {
  const joined = tokens.join("").replace(/[\s\-./()]/g, "");
  return /^\+?[0-9#*]+$/.test(joined) ? joined : undefined;
}

const HANDSHAKE_WORD = "stli";

/** Parses `STLI[;Key=Value]...` (§2). Unknown keys are ignored; bad values refuse it. */
function parseHandshake(word: string, extra: number): LineRequest {
  const reply = (status: ReplyStatus, reason?: ChannelReason): LineRequest => ({
    kind: "reply",
    reply: { status, subject: "STLI", reason },
  });
  if (extra > 0) return reply("INVALNUMPARAM");
  const parts = word.split(";");
  if (parts.length === 1) return { kind: "handshake", bare: true, options: {} };
  let version: 2 | undefined;
  let deviceInformation: DeviceInfoMode | undefined;
  for (const part of parts.slice(1)) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (key === "version") {
      if (value !== "2") return reply("ERROR", "UnsupportedVersion");
      version = 2;
    } else if (key === "deviceinformation") {
      const mode = value.toLowerCase();
      if (mode !== "off" && mode !== "standard" && mode !== "extended") {
        return reply("ERROR", "InvalidOption");
      }
      deviceInformation = mode;
    }
  }
  return { kind: "handshake", bare: false, options: { version, deviceInformation } };
}

/**
 * Parses one input line (§2, §3, §5). Never throws: every line gets a request, and a line
 * that is not a valid command gets its reply here.
 */
export function parseLine(line: string): LineRequest {
  const trimmed = line.replace(/^[ \t]+/, "");
  if (trimmed.startsWith("{")) return { kind: "raw", line: trimmed.replace(/[ \t]+$/, "") };
  const tokens = tokenize(trimmed);
  if (tokens.length === 0) return { kind: "empty" };
  const [word, ...args] = tokens;
  const lower = word.toLowerCase();
  if (lower === HANDSHAKE_WORD || lower.startsWith(HANDSHAKE_WORD + ";")) {
    return parseHandshake(word, args.length);
  }
  const known = COMMANDS.get(lower);
  if (!known) return { kind: "reply", reply: { status: "INVALCMD", subject: word } };
  const { name, arity } = known;
  if (args.length < arity.min || args.length > arity.max) {
    return { kind: "reply", reply: { status: "INVALNUMPARAM", subject: name } };
  }
  if (name === "BYE") return { kind: "bye" };
  const device = args[0];
  if (name === "MonitorStart" || name === "MonitorStop") {
    return { kind: "monitor", command: name, device };
  }
  if (DIALS.has(name) && args.length > 1) {
    const number = normalizeNumber(args.slice(1));
    if (number === undefined) {
      return {
        kind: "reply",
        reply: { status: "ERROR", subject: name, reason: "InvalidNumber" },
      };
    }
    return { kind: "call", command: name, device, number };
  }
  return { kind: "call", command: name, device };
}

// ---------------------------------------------------------------------------------------------
// Replies (§2, §3, §5)

/** `error_ind <STATUS> <Subject>[ <reason>|<payload>]` (§3); the reason only when asked for. */
export function formatReply(reply: Reply, errorDetail: boolean): string {
  let line = `error_ind ${reply.status} ${reply.subject}`;
  if (reply.payload !== undefined) line += ` ${reply.payload}`;
  else if (errorDetail && reply.status === "ERROR" && reply.reason) line += ` ${reply.reason}`;
  return line;
}

/** Bytes a string takes in UTF-8, without encoding it. */
export function utf8Length(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const d = text.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 4;
        i++;
      } else n += 3;
    } else n += 3;
  }
  return n;
}

/**
 * The reply to a RawCommand (§5), the one place its line is made:
 * `error_ind SUCCESS RawCommand {"status":…,"body":…}` or
 * `error_ind ERROR RawCommand {"status":…,"error":"…"}`, compact JSON on one line whose
 * whole length with CR LF stays within `maxLineBytes`. A body that does not fit becomes ERROR
 * `ResponseTooLarge`, never a cut line; an error text that does not fit is shortened with `…`.
 */
export function rawCommandReply(reply: RawReply, maxLineBytes: number): Reply {
  const subject = "RawCommand";
  const lineBytes = (status: string, payload: string) =>
    utf8Length(`error_ind ${status} ${subject} `) + utf8Length(payload) + 2;
  if (reply.ok) {
    const payload = JSON.stringify({ status: reply.status, body: reply.body });
    if (lineBytes("SUCCESS", payload) <= maxLineBytes) {
      return { status: "SUCCESS", subject, payload };
    }
  }
  let text = reply.ok ? "ResponseTooLarge" : reply.error;
  let payload = JSON.stringify({ status: reply.status, error: text });
  while (lineBytes("ERROR", payload) > maxLineBytes && text.length > 0) {
    const over = lineBytes("ERROR", payload) - maxLineBytes;
    text = text.slice(0, Math.max(0, text.length - Math.max(over, 1) - 1)).trimEnd();
    payload = JSON.stringify({ status: reply.status, error: text === "" ? "" : text + "…" });
  }
  return { status: "ERROR", subject, payload };
}

const MODE_NAME: Record<DeviceInfoMode, string> = {
  off: "Off",
  standard: "Standard",
  extended: "Extended",
};

/**
 * The reply to an accepted handshake (§2): bare `STLI` gets the bare reply; otherwise the
 * options in effect are echoed, `Version` only when the client named it.
 */
export function formatHandshakeReply(
  bare: boolean,
  options: HandshakeOptions,
  mode: DeviceInfoMode,
): string {
  if (bare) return "error_ind SUCCESS STLI";
  const version = options.version === undefined ? "" : `;Version=${options.version}`;
  return `error_ind SUCCESS STLI${version};DeviceInformation=${MODE_NAME[mode]}`;
}

/** The canonical spelling of a DeviceInformation mode, as the handshake reply shows it. */
export function modeName(mode: DeviceInfoMode): string {
  return MODE_NAME[mode];
}

// ---------------------------------------------------------------------------------------------
// Events (§4)

/** Whitespace and control characters: never inside a token the server writes (§1). */
const UNSAFE = /[\s\p{Cc}]/gu;
/** In a DeviceInformation call entry, also the separators of the entry and the list. */
const UNSAFE_IN_CALL = /[\s\p{Cc}:,()]/gu;

const utf8 = new TextEncoder();

function percent(ch: string): string {
  return Array.from(
    utf8.encode(ch),
    (b) => "%" + b.toString(16).toUpperCase().padStart(2, "0"),
  ).join("");
}

/** A value as one token: unsafe characters percent-encoded, so no token has a space. */
function safe(value: string, unsafe: RegExp): string {
  return value.replace(unsafe, percent);
}

/** Percent-encodes a display name strictly (RFC 3986 unreserved stay), for Extended mode. */
export function encodeDisplayName(name: string): string {
  return percentEncode(name);
}

/**
 * An event line from its name and values: an empty value in the middle becomes `""`, empty
 * values at the end are left out (§1).
 */
function eventLine(name: string, values: readonly string[]): string {
  let end = values.length;
  while (end > 0 && values[end - 1] === "") end--;
  const tokens = values.slice(0, end).map((v) => (v === "" ? '""' : safe(v, UNSAFE)));
  return [name, ...tokens].join(" ");
}

function callEntry(call: CallInfo, extended: boolean): string {
  const entry = `${call.callRef}:${call.state}:${safe(call.remote, UNSAFE_IN_CALL)}`;
  return extended ? `${entry}:${encodeDisplayName(call.displayName)}` : entry;
}

/** `DeviceInformation <dev> <numberOfCalls> (<calls>)` (§4 "Event values"). */
export function formatDeviceInformation(
  device: string,
  calls: readonly CallInfo[],
  mode: DeviceInfoMode,
): string {
  const list = calls.map((c) => callEntry(c, mode === "extended")).join(",");
  return `DeviceInformation ${safe(device, UNSAFE)} ${calls.length} (${list})`;
}

/** Events after which a DeviceInformation line follows, unless the mode is Off (§4). */
const WITH_DEVICE_INFO: ReadonlySet<CallEvent["type"]> = new Set([
  "Delivered",
  "Originated",
  "Initiated",
  "ConnectionCleared",
]);

/** The event line(s) of one call event for a channel in `mode` (§4 table). */
export function formatEvent(event: CallEvent, mode: DeviceInfoMode): string[] {
  // One event goes to every channel monitoring its device: it is formatted once per mode.
  let byMode = formatted.get(event);
  if (!byMode) formatted.set(event, byMode = new Map());
  let lines = byMode.get(mode);
  if (!lines) byMode.set(mode, lines = Object.freeze(formatLines(event, mode)) as string[]);
  return lines;
}

/** Each event's lines by DeviceInformation mode, kept as long as the event is. */
const formatted = new WeakMap<CallEvent, Map<DeviceInfoMode, string[]>>();

function formatLines(event: CallEvent, mode: DeviceInfoMode): string[] {
  const dev = event.device;
  let line: string;
  switch (event.type) {
    case "Delivered":
      line = eventLine("Delivered", [dev, "newCall", dev, event.caller, dev]);
      break;
    case "Originated":
      line = eventLine("Originated", [dev, "newCall", dev, event.called, dev]);
      break;
    case "Initiated":
      line = eventLine("Initiated", [dev, "makeCall", String(event.callRef), dev]);
      break;
    case "Established":
      line = event.direction === "incoming"
        ? eventLine("Established", [dev, "newCall", dev, event.remote, dev])
        : eventLine("Established", [dev, "newCall", event.remote, dev, event.remote]);
      break;
    case "ConnectionCleared":
      // The contract's one cause: clients know only normalClearing (docs/channel-protocol.md
      // §4); why the call ended stays on the event for the call's record.
      line = eventLine("ConnectionCleared", [dev, "normalClearing", dev]);
      break;
    case "Held":
      line = eventLine("Held", [dev, "normal", dev]);
      break;
    case "Retrieved":
      line = eventLine("Retrieved", [dev, "normal", dev]);
      break;
    case "Transferred":
      line = eventLine("Transferred", [dev, "transfer", dev, event.remote]);
      break;
  }
  if (mode === "off" || !WITH_DEVICE_INFO.has(event.type)) return [line];
  return [line, formatDeviceInformation(dev, event.calls, mode)];
}
