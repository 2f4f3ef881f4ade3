/**
 * The resolved configuration snapshot: every key parsed, defaulted and cross-checked, paths
 * made absolute. Components receive it through `apply(snapshot)` and never see raw text.
 */

import type { Cidr } from "./cidr.ts";

/** DeviceInformation mode of a channel (docs/channel-protocol.md §2, §4). */
export type DeviceInfoMode = "off" | "standard" | "extended";

/** How log records are written: readable lines or JSON Lines (docs/configuration.md §6). */
export type LogFormatName = "text" | "json";

/** Log levels the config accepts. */
export type LogLevelName = "debug" | "info" | "warning" | "error";

/** One `phone=` line (docs/configuration.md §1). */
export interface PhoneConfig {
  readonly extension: string;
  readonly host: string;
  /** Port as written; undefined means the profile's default port. */
  readonly port?: number;
  /** The profile file name as written on the line, e.g. `snom.cfg`. */
  readonly profile: string;
  readonly username?: string;
  readonly password?: string;
  /** Line of the config file this phone came from; 0 for demo phones. */
  readonly line: number;
}

/**
 * One `phone=<extension>@provider` line: an extension of the provider account, used as a
 * device like a SNOM phone (docs/cloud-phones.md §2).
 */
export interface CloudPhoneConfig {
  /** The extension number at the provider, also the device name on the channel. */
  readonly extension: string;
  /** Line of the config file this phone came from. */
  readonly line: number;
}

/** Provider authorisation scheme after `auto` is resolved. */
export type ProviderAuth = "oauth" | "bearer" | "basic" | "none";

/** The `provider*` keys, present only when `providerId` is set. */
export interface ProviderConfig {
  readonly id: "ringcentral" | "alliancephones" | "custom";
  readonly protocol: "HTTP" | "HTTPS";
  readonly hostname: string;
  readonly port: number;
  readonly auth: ProviderAuth;
  readonly clientId: string;
  readonly clientSecret: string;
  readonly jwt: string;
  readonly username: string;
  readonly password: string;
  readonly token: string;
  readonly timeoutSeconds: number;
  /** Absolute path of the CA bundle, or undefined. */
  readonly caFile?: string;
  /** Absolute path of a folder of CA files, or undefined. */
  readonly caPath?: string;
  readonly minProtocolVersion: string;
  readonly verifyDepth: number;
}

/**
 * The extensions of `count` demo phones: 101, 102, … (docs/configuration.md §5, `demoPhones`).
 * The one place that numbering is written.
 */
export function demoExtensions(count: number): string[] {
  return Array.from({ length: count }, (_, i) => String(101 + i));
}

/** Everything the server needs from the configuration file, frozen. */
export interface ConfigSnapshot {
  /** Absolute path of the configuration file. */
  readonly file: string;
  /** Folder that relative paths are resolved against. */
  readonly dir: string;
  readonly server: {
    readonly port: number;
    readonly bindAddress: string;
    readonly httpPort: number;
    /** A base URL without trailing slash, or "auto". */
    readonly callbackUrl: string;
    readonly allowedClients: readonly Cidr[];
    readonly maxChannels: number;
    readonly adminPassword: string;
    /** Absolute path of the callback key file (docs/yealink.md §5.1). */
    readonly callbackKeyFile: string;
  };
  readonly log: {
    /** Absolute path of the log file. */
    readonly filePath: string;
    readonly level: LogLevelName;
    readonly maxBytes: number;
    readonly maxFiles: number;
    readonly format: LogFormatName;
  };
  /** The call journal (docs/call-journal.md §3). */
  readonly journal: {
    /** Absolute path of the SQLite file. */
    readonly path: string;
    /** Days calls are kept; 0: no journal. */
    readonly days: number;
  };
  readonly phones: readonly PhoneConfig[];
  /** `phone=<extension>@provider` lines (docs/cloud-phones.md §2). */
  readonly cloudPhones: readonly CloudPhoneConfig[];
  readonly demoPhones: number;
  /** Demo extensions that are simulated Yealinks rather than SNOMs (docs/yealink.md §8). */
  readonly demoYealinkPhones: readonly string[];
  readonly phoneTimeoutSeconds: number;
  /** Seconds between reachability checks of every phone; 0: none (docs/configuration.md §5). */
  readonly phoneCheckSeconds: number;
  readonly channel: {
    readonly deviceInformation: DeviceInfoMode;
    readonly errorDetail: boolean;
    readonly maxLineBytes: number;
    readonly maxQueueBytes: number;
  };
  readonly provider?: ProviderConfig;
  readonly configReloadSeconds: number;
  /** Every secret value of this file, so log sinks can redact them. */
  readonly secrets: readonly string[];
}
