/**
 * What the status page shows, as the admin folder asks for it (docs/status-page.md §1).
 * `server/` builds it from the components; the page never sees their own status shapes, so a
 * component can change its JSON status without breaking the page. Times are epoch
 * milliseconds; the page turns them into the browser's local time.
 */

import type { CallRow, CallState } from "../contract.ts";

/** Everything the page shows, at one moment. */
export interface StatusView {
  readonly version: string;
  /** When this view was made. */
  readonly now: number;
  readonly startedAt: number;
  readonly listeners: ListenersView;
  readonly configuration: ConfigurationView;
  readonly provider: ProviderView;
  readonly phones: readonly PhoneView[];
  readonly channels: readonly ChannelView[];
  /** Channels refused since start (allow-list or channel limit). */
  readonly refusedChannels: number;
  /** The last warnings and errors, newest first. */
  readonly problems: readonly ProblemView[];
  /** Today's calls from the journal (docs/status-page.md §8); absent: no journal part. */
  readonly calls?: CallsView;
}

/** The Calls view: today's calls and the missed ones per phone (docs/status-page.md §8). */
export interface CallsView {
  /** Why the journal cannot be read ("the call journal is off …"), when it cannot. */
  readonly unavailable?: string;
  /** The start of today on the server's clock, epoch milliseconds. */
  readonly since: number;
  /** Today's latest calls, newest first. */
  readonly today: readonly CallRow[];
  /** True when today had more calls than {@link today} holds. */
  readonly more: boolean;
  /** Missed calls today, per phone. */
  readonly missed: readonly { readonly device: string; readonly count: number }[];
}

/** Where the two listeners are. */
export interface ListenersView {
  /** `host:port` of the channel listener, or undefined when it is not listening. */
  readonly channel?: string;
  readonly http?: string;
  /** Why a listener is not where the configuration wants it. */
  readonly problems: readonly string[];
  /** Why the log file cannot be written, when it cannot. */
  readonly logFileProblem?: string;
}

/** The configuration file in effect and its last check. */
export interface ConfigurationView {
  readonly file: string;
  /** False when the file's latest text has errors and the last good settings run. */
  readonly valid: boolean;
  /** When the file was last read with a change (undefined: not since start). */
  readonly checkedAt?: number;
  readonly findings: readonly FindingView[];
}

/** One finding of the configuration file or a profile it names. */
export interface FindingView {
  readonly level: "error" | "warning" | "info";
  readonly file: string;
  readonly line?: number;
  readonly message: string;
}

/** The provider session in words. */
export interface ProviderView {
  readonly configured: boolean;
  /** e.g. `ringcentral`. */
  readonly id?: string;
  /** `logged in`, `not logged in yet`, `login refused`, … or `ready` without a login. */
  readonly state: string;
  readonly healthy: boolean;
  /** The last error, when there is one. */
  readonly detail?: string;
  /**
   * The cloud phones' event subscription in words (`live`, `reconnecting since …`), when
   * cloud phones are configured (docs/cloud-phones.md §6).
   */
  readonly events?: string;
}

/** One phone's row. */
export interface PhoneView {
  readonly extension: string;
  /** `host:port`. */
  readonly address: string;
  readonly demo: boolean;
  readonly reachable: "unknown" | "reachable" | "unreachable";
  readonly reachableSince?: number;
  readonly checkedAt?: number;
  readonly reachDetail?: string;
  /** Channels monitoring the phone now. */
  readonly monitoredBy: number;
  /** True when some channel monitored it this run, so its calls are known. */
  readonly callsKnown: boolean;
  readonly calls: readonly CallView[];
  readonly last?: LastCommandView;
  /** Set while the phone is left alone after a refused login or its lock-out page. */
  readonly blockedUntil?: number;
  readonly blockedReason?: string;
  /**
   * For a phone whose action URLs are provisioned (docs/yealink.md §5): the lines to load,
   * with its callback URLs (shown only behind the page's access rule), or why they are unknown.
   */
  readonly provisioning?: { readonly lines?: readonly string[]; readonly error?: string };
}

/** One call on a phone. */
export interface CallView {
  readonly state: CallState;
  readonly remote: string;
  readonly displayName: string;
}

/** A phone's last command and its result. */
export interface LastCommandView {
  readonly at: number;
  readonly command: string;
  readonly ok: boolean;
  readonly reason?: string;
  readonly detail?: string;
  readonly ms: number;
}

/** One open channel. */
export interface ChannelView {
  readonly id: number;
  readonly peer: string;
  readonly connectedSince: number;
  /** `STLI` or `STLI;Version=2`; undefined before the handshake. */
  readonly handshake?: string;
  /** DeviceInformation mode. */
  readonly mode: string;
  readonly monitored: readonly string[];
  readonly commands: number;
}

/** One warning or error of the log. */
export interface ProblemView {
  readonly at: number;
  readonly level: string;
  readonly area: string;
  readonly message: string;
  readonly count: number;
}

/** The answer of `/healthz` (docs/status-page.md §5). */
export interface Health {
  readonly ok: boolean;
  /** One sentence per problem; empty when ok. */
  readonly reasons: readonly string[];
}

/** The text of `/metrics` (docs/status-page.md §6). */
export interface MetricsText {
  readonly contentType: string;
  readonly body: string;
}
