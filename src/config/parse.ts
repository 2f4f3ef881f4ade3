/**
 * Parses the configuration file (docs/configuration.md) into a frozen {@link ConfigSnapshot}, or into the
 * findings that say why it cannot be used. Pure: no I/O, so reload and `--check-config` share it.
 */

import { dirname, isAbsolute, resolve } from "node:path";
import { type Finding, FindingList } from "./findings.ts";
import { nearest, readLines } from "./lines.ts";
import { KEY_NAMES, type KeyDef, KEYS, type RawValues, SECRET_KEYS } from "./schema.ts";
import {
  type CloudPhoneConfig,
  type ConfigSnapshot,
  demoExtensions,
  type PhoneConfig,
  type ProviderAuth,
  type ProviderConfig,
} from "./types.ts";

/** The result of a parse: a snapshot when there is no error, and every finding either way. */
export interface ParseResult {
  readonly snapshot?: ConfigSnapshot;
  readonly findings: readonly Finding[];
  /**
   * True when the file sets nothing at all (empty, or only comments): never applied over
   * settings in effect, since it is far more likely a file being written than a wish for
   * every default (docs/configuration.md §3).
   */
  readonly empty: boolean;
  /** The profiles its `phone=` lines name, with their lines, even when the file has errors. */
  readonly profiles: ReadonlyMap<string, number>;
}

/** The key table by lower-case name: keys match case-insensitively (docs/configuration.md §1). */
const BY_NAME = new Map<string, (typeof KEYS)[number]>(KEYS.map((k) => [k.name.toLowerCase(), k]));

const EXTENSION = /^[A-Za-z0-9_.+-]{1,32}$/;
const HOST = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]*)(?::(\d{1,5}))?$/;

/** The host part that makes a `phone=` line a provider extension (docs/cloud-phones.md §2). */
const CLOUD_HOST = "provider";

/**
 * Parses `<extension>@<host>[:<port>] <profile> [<username> <password>]`, or
 * `<extension>@provider` for an extension of the provider account.
 */
function parsePhone(value: string, line: number): PhoneConfig | CloudPhoneConfig | string {
  const grammar = "expected '<extension>@<host>[:<port>] <profile file> [<username> <password>]'";
  const tokens = value.split(/\s+/).filter((t) => t !== "");
  const cloud = tokens[0]?.toLowerCase().endsWith("@" + CLOUD_HOST);
  if (cloud) {
    const extension = tokens[0].slice(0, -CLOUD_HOST.length - 1);
    if (tokens.length !== 1) {
      return `phone ${extension}@${CLOUD_HOST} is an extension of the provider and takes ` +
        `no profile or credentials, got ${tokens.length} words`;
    }
    if (!EXTENSION.test(extension)) {
      return `phone extension must be 1-32 letters, digits or '_.+-', got '${extension}'`;
    }
    return { extension, line };
  }
  if (tokens.length !== 2 && tokens.length !== 4) {
    return tokens.length === 3
      ? `phone has a username but no password; ${grammar}`
      : `phone ${grammar}, got ${tokens.length} words`;
  }
  const at = tokens[0].lastIndexOf("@");
  if (at < 0) return `phone ${grammar}, got '${tokens[0]}' without '@'`;
  const extension = tokens[0].slice(0, at);
  const hostPart = tokens[0].slice(at + 1);
  if (!EXTENSION.test(extension)) {
    return `phone extension must be 1-32 letters, digits or '_.+-', got '${extension}'`;
  }
  const m = HOST.exec(hostPart);
  if (!m) {
    return `phone host must be an address or host name with optional :port, got '${hostPart}'`;
  }
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65535)) {
    return `phone port must be a port number 1-65535, got '${m[2]}'`;
  }
  const host = m[1].startsWith("[") ? m[1].slice(1, -1) : m[1];
  return {
    extension,
    host,
    port,
    profile: tokens[1],
    username: tokens[2],
    password: tokens[3],
    line,
  };
}

/** What the lines of a file set, before defaults and cross-checks. */
interface ReadFile {
  /** Key name → parsed value, for the keys the file sets. */
  readonly values: Map<string, unknown>;
  /** Key name → the line that set it (the last one, when set twice). */
  readonly seenAt: Map<string, number>;
  readonly phones: PhoneConfig[];
  readonly cloudPhones: CloudPhoneConfig[];
  /** Extension → the line of its phone. */
  readonly extensions: Map<string, number>;
  /** Profile name → the first line that names it. */
  readonly profiles: Map<string, number>;
  /** Lines that are neither blank nor comments. */
  readonly settings: number;
}

/**
 * Parses configuration text. `file` is the absolute path the text came from; relative paths
 * in it are resolved against its folder. The lines are read, defaults filled in, then the
 * keys are checked against each other before the snapshot is made.
 */
export function parseConfig(text: string, file: string): ParseResult {
  const found = new FindingList(file);
  const read = readFile(text, found);
  const v = withDefaults(read.values);
  const lineOf = (key: string) => read.seenAt.get(key) ?? 0;
  const dir = dirname(file);
  const absolute = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));

  checkDemoPhones(v, read.extensions, lineOf, found);
  checkPhoneAddresses(read.phones, found);
  noteCompatibilityKeys(v, read.seenAt, lineOf, found);
  const provider = providerOf(v, lineOf, absolute, found);
  checkCloudPhones(read.cloudPhones, provider, found);

  const empty = read.settings === 0;
  if (empty) {
    found.all.push({
      level: "warning",
      file,
      message: "the file sets nothing (it is empty or holds only comments): every key takes " +
        "its default, and a running server keeps the settings in effect",
    });
  }
  const findings = found.all;
  if (found.failed) return { findings, empty, profiles: read.profiles };

  const secrets = [
    ...[...SECRET_KEYS].map((name) => String(read.values.get(name) ?? "")),
    ...read.phones.map((p) => p.password ?? ""),
  ].filter((s) => s !== "");
  const demo = demoExtensions(v.demoPhones);
  const snapshot: ConfigSnapshot = {
    file,
    dir,
    server: {
      port: v.serverPort,
      bindAddress: v.serverBindAddress,
      httpPort: v.serverHttpPort,
      callbackUrl: v.serverCallbackUrl,
      allowedClients: v.serverAllowedClients,
      maxChannels: v.serverMaxChannels,
      adminPassword: v.adminPassword,
      callbackKeyFile: absolute(v.serverCallbackKeyFile),
    },
    log: {
      filePath: absolute(v.serverLogFilePath),
      level: v.logLevel,
      maxBytes: v.logMaxBytes,
      maxFiles: v.logMaxFiles,
      format: v.logFormat,
    },
    journal: { path: absolute(v.journalPath), days: v.journalDays },
    phones: read.phones,
    cloudPhones: read.cloudPhones,
    demoPhones: v.demoPhones,
    demoYealinkPhones: v.demoYealinkPhones.filter((e) => demo.includes(e)),
    phoneTimeoutSeconds: v.phoneTimeoutSeconds,
    phoneCheckSeconds: v.phoneCheckSeconds,
    channel: {
      deviceInformation: v.channelDeviceInformation,
      errorDetail: v.channelErrorDetail,
      maxLineBytes: v.channelMaxLineBytes,
      maxQueueBytes: v.channelMaxQueueBytes,
    },
    provider,
    configReloadSeconds: v.configReloadSeconds,
    secrets,
  };
  return { snapshot: deepFreeze(snapshot), findings, empty, profiles: read.profiles };
}

/** Reads every line: `phone=` lines into phones, the other keys into values. */
function readFile(text: string, found: FindingList): ReadFile {
  const read: ReadFile & { settings: number } = {
    values: new Map(),
    seenAt: new Map(),
    phones: [],
    cloudPhones: [],
    extensions: new Map(),
    profiles: new Map(),
    settings: 0,
  };
  for (const l of readLines(text)) {
    read.settings++; // every line that is not blank or a comment
    if (l.kind === "invalid") {
      // The line is not echoed: it may be a password written without its key.
      found.error(l.line, undefined, "expected 'key = value', got a line without '='");
    } else if (l.kind === "section") {
      found.error(l.line, undefined, `sections are not used in this file, got '[${l.name}]'`);
    } else if (l.key.toLowerCase() === "phone") {
      readPhone(l.value, l.line, read, found);
    } else {
      readKey(l.key, l.value, l.line, read, found);
    }
  }
  return read;
}

/** One `phone=` line: a desk phone or a cloud phone, unless its extension is taken. */
function readPhone(value: string, line: number, read: ReadFile, found: FindingList): void {
  const p = parsePhone(value, line);
  if (typeof p === "string") return found.error(line, "phone", p);
  const taken = read.extensions.get(p.extension);
  if (taken !== undefined) {
    return found.error(
      line,
      "phone",
      `extension ${p.extension} is already used by the phone on line ${taken}`,
    );
  }
  read.extensions.set(p.extension, line);
  if (!("profile" in p)) return void read.cloudPhones.push(p);
  read.phones.push(p);
  if (!read.profiles.has(p.profile)) read.profiles.set(p.profile, line);
}

/** One `key = value` line of the key table; a later line of the same key wins. */
function readKey(
  key: string,
  value: string,
  line: number,
  read: ReadFile,
  found: FindingList,
): void {
  const def = BY_NAME.get(key.toLowerCase());
  if (!def) {
    const hint = nearest(key, KEY_NAMES);
    return found.warning(
      line,
      key,
      `unknown key '${key}'` + (hint ? `, did you mean '${hint}'?` : ", ignored"),
    );
  }
  if (read.seenAt.has(def.name)) {
    found.warning(
      line,
      def.name,
      `${def.name} is also set on line ${read.seenAt.get(def.name)}; this later line wins`,
    );
    read.values.delete(def.name);
  }
  read.seenAt.set(def.name, line);
  const r = def.parse(value);
  if (!r.ok) {
    const got = SECRET_KEYS.has(def.name) ? "a value that is not (value not shown)" : `'${value}'`;
    return found.error(line, def.name, `${def.name} must be ${r.expected}, got ${got}`);
  }
  read.values.set(def.name, r.value);
  const doubt = (def as KeyDef).warn?.(r.value);
  if (doubt) found.warning(line, def.name, doubt);
}

/** Every key's value: as the file set it, else its default. */
function withDefaults(values: ReadonlyMap<string, unknown>): RawValues {
  const all = new Map(values);
  for (const def of KEYS) {
    if (all.has(def.name)) continue;
    const fallback = "default" in def ? def.default : "";
    const r = def.parse(fallback);
    if (r.ok) all.set(def.name, r.value);
  }
  return Object.fromEntries(all) as RawValues;
}

/** Demo phones must not take a listed phone's extension; demoYealinkPhones must be demo phones. */
function checkDemoPhones(
  v: RawValues,
  extensions: ReadonlyMap<string, number>,
  lineOf: (key: string) => number,
  found: FindingList,
): void {
  const demo = demoExtensions(v.demoPhones);
  const clash = demo.find((ext) => extensions.has(ext));
  if (clash !== undefined) {
    found.error(
      lineOf("demoPhones"),
      "demoPhones",
      `demo phone ${clash} clashes with the phone on line ${extensions.get(clash)}; ` +
        `set demoPhones = 0 to use only the phones listed here`,
    );
  }
  for (const e of v.demoYealinkPhones) {
    if (demo.includes(e)) continue;
    found.warning(
      lineOf("demoYealinkPhones"),
      "demoYealinkPhones",
      `demoYealinkPhones names ${e}, which is not a demo phone ` +
        (v.demoPhones === 0
          ? "(demoPhones = 0 starts none)"
          : `(demoPhones = ${v.demoPhones} starts 101-${100 + v.demoPhones})`),
    );
  }
}

/** Two phones at one address are most likely a copy-and-paste slip. */
function checkPhoneAddresses(phones: readonly PhoneConfig[], found: FindingList): void {
  const hosts = new Map<string, number>();
  for (const p of phones) {
    const at = `${p.host.toLowerCase()}:${p.port ?? ""}`;
    const first = hosts.get(at);
    if (first === undefined) hosts.set(at, p.line);
    else {
      found.warning(
        p.line,
        "phone",
        `phone ${p.extension} has the same address as the phone on line ${first}`,
      );
    }
  }
}

/** The vendor's TLS keys, accepted for compatibility, and what becomes of them. */
function noteCompatibilityKeys(
  v: RawValues,
  seenAt: ReadonlyMap<string, number>,
  lineOf: (key: string) => number,
  found: FindingList,
): void {
  if (seenAt.has("providerVerifyDepth")) {
    found.info(
      lineOf("providerVerifyDepth"),
      "providerVerifyDepth",
      "providerVerifyDepth is accepted for compatibility and ignored: the runtime has no such setting",
    );
  }
  if (
    seenAt.has("providerMinProtocolVersion") && v.providerMinProtocolVersion !== "TLS1_2_VERSION"
  ) {
    found.info(
      lineOf("providerMinProtocolVersion"),
      "providerMinProtocolVersion",
      `the runtime always uses TLS 1.2 or newer, which meets providerMinProtocolVersion = ${v.providerMinProtocolVersion}`,
    );
  }
}

/** The provider account when `providerId` names one, with what its authorisation lacks. */
function providerOf(
  v: RawValues,
  lineOf: (key: string) => number,
  absolute: (path: string) => string,
  found: FindingList,
): ProviderConfig | undefined {
  if (v.providerId === "") return undefined;
  const id = v.providerId as ProviderConfig["id"];
  const idLine = lineOf("providerId");
  const hostname = v.providerHostname !== ""
    ? v.providerHostname
    : id === "ringcentral"
    ? "platform.ringcentral.com"
    : "";
  if (hostname === "") {
    found.error(idLine, "providerHostname", `providerId = ${id} needs providerHostname`);
  }
  const auth: ProviderAuth = v.providerAuth === "auto"
    ? (id === "custom" ? "none" : "oauth")
    : v.providerAuth;
  for (const [key, message] of credentialsLacking(v, auth)) found.warning(idLine, key, message);
  return {
    id,
    protocol: v.providerProtocol,
    hostname,
    port: v.providerPort,
    auth,
    clientId: v.providerClientId,
    clientSecret: v.providerClientSecret,
    jwt: v.providerJwt,
    username: v.providerUsername,
    password: v.providerPassword,
    token: v.providerToken,
    timeoutSeconds: v.providerTimeoutSeconds,
    caFile: v.providerSslVerificationFilename === ""
      ? undefined
      : absolute(v.providerSslVerificationFilename),
    caPath: v.providerSslVerificationPath === ""
      ? undefined
      : absolute(v.providerSslVerificationPath),
    minProtocolVersion: v.providerMinProtocolVersion,
    verifyDepth: v.providerVerifyDepth,
  };
}

/** What the chosen authorisation needs and the file does not give, as warnings. */
function credentialsLacking(v: RawValues, auth: ProviderAuth): [key: string, message: string][] {
  const lacking: [string, string][] = [];
  if (auth === "oauth") {
    if (v.providerClientId === "" || v.providerClientSecret === "") {
      lacking.push([
        "providerClientId",
        "OAuth needs providerClientId and providerClientSecret; RawCommand will answer ERROR",
      ]);
    }
    if (v.providerJwt === "" && (v.providerUsername === "" || v.providerPassword === "")) {
      lacking.push([
        "providerJwt",
        "OAuth needs providerJwt, or providerUsername and providerPassword; RawCommand will answer ERROR",
      ]);
    }
  } else if (auth === "bearer" && v.providerToken === "") {
    lacking.push(["providerToken", "providerAuth = bearer needs providerToken"]);
  } else if (auth === "basic" && (v.providerUsername === "" || v.providerPassword === "")) {
    lacking.push([
      "providerUsername",
      "providerAuth = basic needs providerUsername and providerPassword",
    ]);
  }
  return lacking;
}

/** Cloud phones need a RingCentral account (docs/cloud-phones.md §2). */
function checkCloudPhones(
  cloudPhones: readonly CloudPhoneConfig[],
  provider: ProviderConfig | undefined,
  found: FindingList,
): void {
  if (provider?.id === "ringcentral" || provider?.id === "alliancephones") return;
  for (const p of cloudPhones) {
    found.error(
      p.line,
      "phone",
      `phone ${p.extension}@${CLOUD_HOST} needs a provider account: set providerId = ` +
        `ringcentral or alliancephones` + (provider ? `, got ${provider.id}` : ""),
    );
  }
}

/** Freezes an object graph so no component can change the shared snapshot. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
