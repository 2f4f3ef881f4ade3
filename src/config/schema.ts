/**
 * Every configuration key: its name, default, origin, meaning and value grammar
 * (docs/configuration.md §5). The parser, the generated default file and `--check-config` all read
 * this one table, so a key is documented where it is defined.
 */

import { type Cidr, DEFAULT_ALLOWED_CLIENTS, parseCidr } from "./cidr.ts";

/** The outcome of parsing one value: the value, or what was expected instead. */
export type ValueResult<T> = { ok: true; value: T } | { ok: false; expected: string };

/** One configuration key. `phone` is handled separately because it repeats. */
export interface KeyDef<T = unknown> {
  readonly name: string;
  /** The default as it would be written in the file; undefined means "not set". */
  readonly default?: string;
  readonly source: "vendor" | "ours";
  /** One or two sentences for the generated file and the README. */
  readonly doc: string;
  /** Secret values never reach a log line, the status page or an error message. */
  readonly secret?: boolean;
  /** An example written (commented out) into the generated file when there is no default. */
  readonly example?: string;
  readonly parse: (value: string) => ValueResult<T>;
  /**
   * A value that parses but is probably a mistake: the warning to report (docs/configuration.md
   * §1), without the value when the key is secret.
   */
  warn?(value: T): string | undefined;
}

const ok = <T>(value: T): ValueResult<T> => ({ ok: true, value });
const no = (expected: string): ValueResult<never> => ({ ok: false, expected });

function integer(min: number, max: number, what: string) {
  return (v: string): ValueResult<number> => {
    if (!/^\d+$/.test(v)) return no(`${what} ${min}-${max}`);
    const n = Number(v);
    return n >= min && n <= max ? ok(n) : no(`${what} ${min}-${max}`);
  };
}

const port = integer(1, 65535, "a port number");

function oneOf<const T extends string>(values: readonly T[], canonical = values) {
  return (v: string): ValueResult<T> => {
    const i = values.findIndex((x) => x.toLowerCase() === v.toLowerCase());
    return i >= 0 ? ok(canonical[i]) : no(`one of ${values.join(", ")}`);
  };
}

/** Comma-separated extensions (digits), each once; empty: none. */
function extensionList(v: string): ValueResult<readonly string[]> {
  const items = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  if (!items.every((s) => /^\d{1,10}$/.test(s))) return no("extensions separated by commas");
  return ok([...new Set(items)]);
}

function text(v: string): ValueResult<string> {
  return ok(v);
}

function nonEmpty(what: string) {
  return (v: string): ValueResult<string> => (v === "" ? no(what) : ok(v));
}

function onOff(v: string): ValueResult<boolean> {
  const l = v.toLowerCase();
  if (["on", "true", "yes", "1"].includes(l)) return ok(true);
  if (["off", "false", "no", "0"].includes(l)) return ok(false);
  return no("on or off");
}

/**
 * Size units, all counted in 1024s (as Windows shows file sizes): `10 MB`, `10MB` and
 * `10 MiB` are the same size.
 */
const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1 << 20,
  mb: 1 << 20,
  mib: 1 << 20,
  g: 1 << 30,
  gb: 1 << 30,
  gib: 1 << 30,
};

function bytes(min: number, max: number) {
  return (v: string): ValueResult<number> => {
    const m = /^(\d+)\s*([a-zA-Z]*)$/.exec(v);
    const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
    const expected = `a size of ${min}-${max} bytes, such as 10 MB, 512 KB or 65536`;
    if (!m || unit === undefined) return no(expected);
    const n = Number(m[1]) * unit;
    return n >= min && n <= max ? ok(n) : no(expected);
  };
}

function cidrList(v: string): ValueResult<readonly Cidr[]> {
  const parts = v.split(/[\s,]+/).filter((p) => p !== "");
  const out: Cidr[] = [];
  for (const p of parts) {
    const c = parseCidr(p);
    if (!c) return no(`a list of CIDR ranges such as 192.168.0.0/16, and '${p}' is not one`);
    out.push(c);
  }
  return out.length > 0 ? ok(out) : no("a list of CIDR ranges such as 192.168.0.0/16");
}

function callbackUrl(v: string): ValueResult<string> {
  if (v.toLowerCase() === "auto") return ok("auto");
  try {
    const u = new URL(v);
    if ((u.protocol === "http:" || u.protocol === "https:") && u.search === "" && u.hash === "") {
      return ok(u.href.replace(/\/+$/, ""));
    }
  } catch { /* reported below */ }
  return no("auto or a base URL such as http://192.168.1.10:26536");
}

function hostname(v: string): ValueResult<string> {
  return /^[A-Za-z0-9.\-:[\]]+$/.test(v) ? ok(v) : no("a host name or address");
}

function bindAddress(v: string): ValueResult<string> {
  return /^[0-9A-Fa-f.:]+$/.test(v) ? ok(v) : no("an IP address such as 0.0.0.0 or ::");
}

/** Shorter admin passwords are a warning (docs/configuration.md §1). */
export const ADMIN_PASSWORD_MIN = 10;

/** The keys of docs/configuration.md, in the order the generated file lists them. */
export const KEYS = [
  {
    name: "serverPort",
    default: "26535",
    source: "vendor",
    doc: "TCP port of the plug-in channel.",
    parse: port,
  },
  {
    name: "serverBindAddress",
    default: "0.0.0.0",
    source: "ours",
    doc: "Address the channel and HTTP listeners bind to (0.0.0.0: every IPv4 interface).",
    parse: bindAddress,
  },
  {
    name: "serverHttpPort",
    default: "26536",
    source: "ours",
    doc: "HTTP port for phone event callbacks and the status page.",
    parse: port,
  },
  {
    name: "serverCallbackUrl",
    default: "auto",
    source: "ours",
    doc: "Base URL phones use to reach this server, e.g. http://192.168.1.10:26536. " +
      "auto: the local address that routes to each phone.",
    parse: callbackUrl,
  },
  {
    name: "serverAllowedClients",
    default: DEFAULT_ALLOWED_CLIENTS,
    source: "ours",
    doc: "CIDR ranges allowed to open a channel (default: loopback and private ranges).",
    parse: cidrList,
  },
  {
    name: "serverMaxChannels",
    default: "1024",
    source: "ours",
    doc: "Most open channels at once; the next connection is closed at once.",
    parse: integer(1, 100000, "a whole number"),
  },
  {
    name: "serverLogFilePath",
    default: "phone-companion.log",
    source: "vendor",
    doc: "Log file, relative to this file's folder.",
    parse: nonEmpty("a file path"),
  },
  {
    name: "journalPath",
    default: "phone-companion-calls.sqlite",
    source: "ours",
    doc: "The call journal, an SQLite file relative to this file's folder: every call of every " +
      "configured phone, read through /api/calls (docs/call-journal.md).",
    parse: nonEmpty("a file path"),
  },
  {
    name: "journalDays",
    default: "90",
    source: "ours",
    doc: "Days a call stays in the journal; older calls are deleted at start and every hour. " +
      "0: no journal (and phones are set up only when a channel monitors them).",
    parse: integer(0, 36500, "a number of days"),
  },
  {
    name: "logLevel",
    default: "info",
    source: "ours",
    doc: "debug, info, warning or error.",
    parse: oneOf(["debug", "info", "warning", "error"] as const),
  },
  {
    name: "logFormat",
    default: "text",
    source: "ours",
    doc: "text: one readable line per record; json: JSON Lines (one JSON object per record, " +
      "LogTape's JSON Lines formatter) for log collectors. Applies to the console and the file.",
    parse: oneOf(["text", "json"] as const),
  },
  {
    name: "logMaxBytes",
    default: "10MiB",
    source: "ours",
    doc: "Size at which the log file is rotated.",
    parse: bytes(4096, 1 << 30),
  },
  {
    name: "logMaxFiles",
    default: "5",
    source: "ours",
    doc: "How many rotated log files are kept.",
    parse: integer(1, 100, "a whole number"),
  },
  {
    name: "serverCallbackKeyFile",
    default: "callback-key",
    source: "ours",
    doc: "The server's secret key for the callback keys of phones whose action URLs are " +
      "provisioned (Yealink), relative to this file's folder. Created on first need, " +
      "readable by its owner only; deleting it means provisioning those phones again. Keep " +
      "it out of version control and out of shared backups.",
    parse: nonEmpty("a file path"),
  },
  {
    name: "adminPassword",
    source: "ours",
    secret: true,
    doc: "Password for the status page, /metrics and /api/status from other hosts (user name: " +
      "admin); once it is set, /healthz answers other hosts without it. When empty, all of " +
      "them answer this computer only. Use at least 10 characters.",
    parse: text,
    warn: (v: string) =>
      v !== "" && [...v].length < ADMIN_PASSWORD_MIN
        ? `adminPassword is shorter than ${ADMIN_PASSWORD_MIN} characters; ` +
          "anyone who can reach the status page can guess it quickly"
        : undefined,
  },
  {
    name: "phoneTimeoutSeconds",
    default: "5",
    source: "ours",
    doc: "How long a command to a phone may take from its arrival to its answer, time spent " +
      "waiting behind other commands to the same phone included.",
    parse: integer(1, 120, "a number of seconds"),
  },
  {
    name: "phoneCheckSeconds",
    default: "60",
    source: "ours",
    doc: "How often every phone is checked for reachability (a connection and a request " +
      "without credentials, so it never counts as a failed login). 0: no checks.",
    parse: integer(0, 86400, "a number of seconds"),
  },
  {
    name: "demoPhones",
    default: "0",
    source: "ours",
    doc: "Start this many simulated phones (extensions 101, 102, ...) on loopback, SNOMs " +
      "unless demoYealinkPhones names them, to try every command and event without hardware. " +
      "Set 0 once real phones are listed.",
    parse: integer(0, 50, "a whole number"),
  },
  {
    name: "demoYealinkPhones",
    source: "ours",
    example: "102",
    doc: "Demo phones (of demoPhones) that are simulated Yealink phones instead of SNOMs, " +
      "comma-separated, e.g. 102. The server loads their provisioning lines into them itself.",
    parse: extensionList,
  },
  {
    name: "channelDeviceInformation",
    default: "standard",
    source: "ours",
    doc: "Default DeviceInformation mode of new channels: off, standard or extended.",
    parse: oneOf(["off", "standard", "extended"] as const),
  },
  {
    name: "channelErrorDetail",
    default: "off",
    source: "ours",
    doc: "on: ERROR replies carry a fourth token with the reason, e.g. PhoneUnreachable. " +
      "Off by default because clients may compare whole lines.",
    parse: onOff,
  },
  {
    name: "channelMaxLineBytes",
    default: "65536",
    source: "ours",
    doc: "Longest accepted input line and reply line.",
    parse: bytes(256, 16 << 20),
  },
  {
    name: "channelMaxQueueBytes",
    default: "1MiB",
    source: "ours",
    doc: "Unsent output above which a stuck channel is closed.",
    parse: bytes(4096, 1 << 30),
  },
  {
    name: "configReloadSeconds",
    default: "5",
    source: "ours",
    doc: "How often this file is checked for changes.",
    parse: integer(1, 3600, "a number of seconds"),
  },
  {
    name: "providerId",
    source: "vendor",
    example: "ringcentral",
    doc: "ringcentral, alliancephones or custom. Empty: no provider; RawCommand answers ERROR.",
    parse: (
      v: string,
    ) => (v === "" ? ok("") : oneOf(["ringcentral", "alliancephones", "custom"])(v)),
  },
  {
    name: "providerHostname",
    source: "vendor",
    example: "platform.ringcentral.com",
    doc: "Provider API host (ringcentral: platform.ringcentral.com when empty).",
    parse: (v: string) => (v === "" ? ok("") : hostname(v)),
  },
  {
    name: "providerPort",
    default: "443",
    source: "vendor",
    doc: "Provider API port.",
    parse: port,
  },
  {
    name: "providerProtocol",
    default: "HTTPS",
    source: "vendor",
    doc: "HTTP or HTTPS.",
    parse: oneOf(["HTTP", "HTTPS"] as const),
  },
  {
    name: "providerClientId",
    source: "vendor",
    doc: "OAuth client id.",
    parse: text,
  },
  {
    name: "providerClientSecret",
    source: "vendor",
    secret: true,
    doc: "OAuth client secret.",
    parse: text,
  },
  {
    name: "providerJwt",
    source: "ours",
    secret: true,
    doc:
      "RingCentral JWT credential; when set, the JWT grant is used instead of the password grant.",
    parse: text,
  },
  {
    name: "providerUsername",
    source: "vendor",
    doc: "User for the (legacy) OAuth password grant, or for Basic auth with providerAuth = basic.",
    parse: text,
  },
  {
    name: "providerPassword",
    source: "vendor",
    secret: true,
    doc: "Password for the password grant, or for Basic auth with providerAuth = basic.",
    parse: text,
  },
  {
    name: "providerAuth",
    default: "auto",
    source: "ours",
    doc: "How requests are authorised: auto (OAuth for ringcentral and alliancephones, " +
      "none for custom), oauth, bearer (providerToken), basic or none.",
    parse: oneOf(["auto", "oauth", "bearer", "basic", "none"] as const),
  },
  {
    name: "providerToken",
    source: "ours",
    secret: true,
    doc: "Static bearer token for providerAuth = bearer.",
    parse: text,
  },
  {
    name: "providerTimeoutSeconds",
    default: "30",
    source: "ours",
    doc: "How long one request to the provider may take.",
    parse: integer(1, 300, "a number of seconds"),
  },
  {
    name: "providerSslVerificationFilename",
    source: "vendor",
    doc: "PEM file of CA certificates trusted for the provider, added to the built-in roots.",
    parse: text,
  },
  {
    name: "providerSslVerificationPath",
    source: "vendor",
    doc: "Folder of PEM CA files (*.pem, *.crt) trusted for the provider, same use.",
    parse: text,
  },
  {
    name: "providerMinProtocolVersion",
    default: "TLS1_VERSION",
    source: "vendor",
    doc: "SSL3_VERSION, TLS1_VERSION, TLS1_1_VERSION or TLS1_2_VERSION. The runtime speaks " +
      "TLS 1.2 and 1.3 only, so every value is met.",
    parse: oneOf(["SSL3_VERSION", "TLS1_VERSION", "TLS1_1_VERSION", "TLS1_2_VERSION"] as const),
  },
  {
    name: "providerVerifyDepth",
    default: "4",
    source: "vendor",
    doc: "Accepted for compatibility; the runtime has no such setting, so it is ignored.",
    parse: integer(1, 100, "a whole number"),
  },
] as const satisfies readonly KeyDef[];

/** Names of all single-valued keys plus `phone`, as written in docs/configuration.md. */
export const KEY_NAMES: readonly string[] = [...KEYS.map((k) => k.name), "phone"];

/** The names of keys whose values are secret. */
export const SECRET_KEYS: ReadonlySet<string> = new Set(
  KEYS.filter((k) => "secret" in k && k.secret).map((k) => k.name),
);

type KeyList = typeof KEYS;
type ValueOf<K> = K extends { parse: (v: string) => ValueResult<infer T> } ? T : never;

/** The parsed value of every single-valued key; absent keys without default are "". */
export type RawValues = { -readonly [K in KeyList[number] as K["name"]]: ValueOf<K> };
