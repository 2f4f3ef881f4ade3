/**
 * Parses the configuration file (docs/configuration.md) into a frozen {@link ConfigSnapshot}, or into the
 * findings that say why it cannot be used. Pure: no I/O, so reload and `--check-config` share it.
 */

import { dirname, isAbsolute, resolve } from "node:path";
import { type Finding, hasErrors } from "./findings.ts";
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

/**
 * Parses configuration text. `file` is the absolute path the text came from; relative paths
 * in it are resolved against its folder.
 */
export function parseConfig(text: string, file: string): ParseResult {
  const findings: Finding[] = [];
  const error = (line: number, key: string | undefined, message: string) =>
    findings.push({ level: "error", file, line, key, message });
  const warn = (line: number, key: string | undefined, message: string) =>
    findings.push({ level: "warning", file, line, key, message });
  const info = (line: number, key: string, message: string) =>
    findings.push({ level: "info", file, line, key, message });

  const values = new Map<string, unknown>();
  const seenAt = new Map<string, number>();
  const phones: PhoneConfig[] = [];
  const cloudPhones: CloudPhoneConfig[] = [];
  const extensions = new Map<string, number>();
  const profiles = new Map<string, number>();
  let settings = 0;

  for (const l of readLines(text)) {
    settings++; // every line that is not blank or a comment
    if (l.kind === "invalid") {
      // The line is not echoed: it may be a password written without its key.
      error(l.line, undefined, "expected 'key = value', got a line without '='");
      continue;
    }
    if (l.kind === "section") {
      error(l.line, undefined, `sections are not used in this file, got '[${l.name}]'`);
      continue;
    }
    const lower = l.key.toLowerCase();
    if (lower === "phone") {
      const p = parsePhone(l.value, l.line);
      if (typeof p === "string") {
        error(l.line, "phone", p);
      } else if (extensions.has(p.extension)) {
        error(
          l.line,
          "phone",
          `extension ${p.extension} is already used by the phone on line ${
            extensions.get(p.extension)
          }`,
        );
      } else {
        extensions.set(p.extension, l.line);
        if (!("profile" in p)) cloudPhones.push(p);
        else {
          phones.push(p);
          if (!profiles.has(p.profile)) profiles.set(p.profile, l.line);
        }
      }
      continue;
    }
    const def = BY_NAME.get(lower);
    if (!def) {
      const hint = nearest(l.key, KEY_NAMES);
      warn(
        l.line,
        l.key,
        `unknown key '${l.key}'` + (hint ? `, did you mean '${hint}'?` : ", ignored"),
      );
      continue;
    }
    if (seenAt.has(def.name)) {
      warn(
        l.line,
        def.name,
        `${def.name} is also set on line ${seenAt.get(def.name)}; this later line wins`,
      );
      values.delete(def.name);
    }
    seenAt.set(def.name, l.line);
    const r = def.parse(l.value);
    if (!r.ok) {
      const got = SECRET_KEYS.has(def.name)
        ? "a value that is not (value not shown)"
        : `'${l.value}'`;
      error(l.line, def.name, `${def.name} must be ${r.expected}, got ${got}`);
      continue;
    }
    values.set(def.name, r.value);
    const doubt = (def as KeyDef).warn?.(r.value);
    if (doubt) warn(l.line, def.name, doubt);
  }

  for (const def of KEYS) {
    if (values.has(def.name)) continue;
    const fallback = "default" in def ? def.default : "";
    const r = def.parse(fallback);
    if (r.ok) values.set(def.name, r.value);
  }
  const v = Object.fromEntries(values) as RawValues;
  const lineOf = (key: string) => seenAt.get(key) ?? 0;
  const dir = dirname(file);
  const absolute = (p: string) => (isAbsolute(p) ? p : resolve(dir, p));
  const demo = demoExtensions(v.demoPhones);

  for (const ext of demoExtensions(v.demoPhones)) {
    if (extensions.has(ext)) {
      error(
        lineOf("demoPhones"),
        "demoPhones",
        `demo phone ${ext} clashes with the phone on line ${extensions.get(ext)}; ` +
          `set demoPhones = 0 to use only the phones listed here`,
      );
      break;
    }
  }
  for (const e of v.demoYealinkPhones) {
    if (demo.includes(e)) continue;
    warn(
      lineOf("demoYealinkPhones"),
      "demoYealinkPhones",
      `demoYealinkPhones names ${e}, which is not a demo phone ` +
        (v.demoPhones === 0
          ? "(demoPhones = 0 starts none)"
          : `(demoPhones = ${v.demoPhones} starts 101-${100 + v.demoPhones})`),
    );
  }
  const hosts = new Map<string, number>();
  for (const p of phones) {
    const at = `${p.host.toLowerCase()}:${p.port ?? ""}`;
    if (hosts.has(at)) {
      warn(
        p.line,
        "phone",
        `phone ${p.extension} has the same address as the phone on line ${hosts.get(at)}`,
      );
    } else hosts.set(at, p.line);
  }

  if (seenAt.has("providerVerifyDepth")) {
    info(
      lineOf("providerVerifyDepth"),
      "providerVerifyDepth",
      "providerVerifyDepth is accepted for compatibility and ignored: the runtime has no such setting",
    );
  }
  if (
    seenAt.has("providerMinProtocolVersion") && v.providerMinProtocolVersion !== "TLS1_2_VERSION"
  ) {
    info(
      lineOf("providerMinProtocolVersion"),
      "providerMinProtocolVersion",
      `the runtime always uses TLS 1.2 or newer, which meets providerMinProtocolVersion = ${v.providerMinProtocolVersion}`,
    );
  }

  let provider: ProviderConfig | undefined;
  if (v.providerId !== "") {
    const id = v.providerId as ProviderConfig["id"];
    const hostname = v.providerHostname !== ""
      ? v.providerHostname
      : id === "ringcentral"
      ? "platform.ringcentral.com"
      : "";
    if (hostname === "") {
      error(lineOf("providerId"), "providerHostname", `providerId = ${id} needs providerHostname`);
    }
    const auth: ProviderAuth = v.providerAuth === "auto"
      ? (id === "custom" ? "none" : "oauth")
      : v.providerAuth;
    const idLine = lineOf("providerId");
    if (auth === "oauth") {
      if (v.providerClientId === "" || v.providerClientSecret === "") {
        warn(
          idLine,
          "providerClientId",
          "OAuth needs providerClientId and providerClientSecret; RawCommand will answer ERROR",
        );
      }
      if (v.providerJwt === "" && (v.providerUsername === "" || v.providerPassword === "")) {
        warn(
          idLine,
          "providerJwt",
          "OAuth needs providerJwt, or providerUsername and providerPassword; RawCommand will answer ERROR",
        );
      }
    } else if (auth === "bearer" && v.providerToken === "") {
      warn(idLine, "providerToken", "providerAuth = bearer needs providerToken");
    } else if (auth === "basic" && (v.providerUsername === "" || v.providerPassword === "")) {
      warn(
        idLine,
        "providerUsername",
        "providerAuth = basic needs providerUsername and providerPassword",
      );
    }
    provider = {
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

  if (
    cloudPhones.length > 0 && provider?.id !== "ringcentral" && provider?.id !== "alliancephones"
  ) {
    for (const p of cloudPhones) {
      error(
        p.line,
        "phone",
        `phone ${p.extension}@${CLOUD_HOST} needs a provider account: set providerId = ` +
          `ringcentral or alliancephones` + (provider ? `, got ${provider.id}` : ""),
      );
    }
  }

  const empty = settings === 0;
  if (empty) {
    findings.push({
      level: "warning",
      file,
      message: "the file sets nothing (it is empty or holds only comments): every key takes " +
        "its default, and a running server keeps the settings in effect",
    });
  }
  if (hasErrors(findings)) return { findings, empty, profiles };

  const secrets = [
    ...[...SECRET_KEYS].map((name) => String(values.get(name) ?? "")),
    ...phones.map((p) => p.password ?? ""),
  ].filter((s) => s !== "");

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
    },
    log: {
      filePath: absolute(v.serverLogFilePath),
      level: v.logLevel,
      maxBytes: v.logMaxBytes,
      maxFiles: v.logMaxFiles,
      format: v.logFormat,
    },
    phones,
    cloudPhones,
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
  return { snapshot: deepFreeze(snapshot), findings, empty, profiles };
}

/** Freezes an object graph so no component can change the shared snapshot. */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object" && !ArrayBuffer.isView(value) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
