/**
 * The status page's view and the health check, built from the components
 * (docs/status-page.md §1, §5). The page declares what it shows (`StatusView` in
 * `admin/`); this is the one place that knows both that and every component's status.
 */

import type { Finding } from "../config/mod.ts";
import type { ChannelServer } from "../channel/mod.ts";
import type { Monitor, Provisioning } from "../monitor/mod.ts";
import type { PhoneRegistry } from "../phones/mod.ts";
import type { ProviderService } from "../provider/mod.ts";
import type {
  AdminServer,
  CallsView,
  Health,
  PhoneView,
  ProviderView,
  StatusView,
} from "../admin/mod.ts";
import type { Problem } from "../log/mod.ts";
import type { CallJournalReader, Settings } from "../contract.ts";
import { hostPort } from "../net.ts";
import { VERSION } from "../version.ts";

/** What the view is made from. */
export interface ViewParts {
  readonly now: number;
  readonly startedAt: number;
  readonly settings: Settings;
  /** The findings of the text in effect or, after a rejected change, of the rejected text. */
  readonly findings: readonly Finding[];
  /** When the file was last read with a change. */
  readonly checkedAt?: number;
  /** False when the latest text of the file was rejected. */
  readonly valid: boolean;
  readonly phones: PhoneRegistry;
  readonly monitor: Monitor;
  readonly provider: ProviderService;
  readonly channel: ChannelServer;
  readonly http: AdminServer;
  readonly journal: CallJournalReader;
  readonly problems: readonly Problem[];
  readonly logFileProblem?: string;
}

const SESSION_WORDS: Record<string, string> = {
  idle: "not logged in yet",
  acquiring: "logging in",
  ready: "logged in",
  refused: "login refused",
  failed: "login failed",
  closed: "closed",
};

const EVENT_WORDS: Record<string, string> = {
  off: "not subscribed (no cloud phone is monitored)",
  connecting: "subscribing",
  live: "live",
  reconnecting: "reconnecting",
};

function providerView(provider: ProviderService): ProviderView {
  const s = provider.status();
  if (!s.configured) return { configured: false, state: "not configured", healthy: true };
  // A provider outage shows here and nowhere else: SNOM phones do not depend on it.
  const e = s.events;
  const eventsDown = e?.state === "reconnecting";
  const events = e &&
    (EVENT_WORDS[e.state] ?? e.state) +
      (eventsDown && e.since !== undefined ? ` since ${new Date(e.since).toISOString()}` : "") +
      (eventsDown && e.lastError ? `: ${e.lastError}` : "");
  const withEvents = events === undefined ? {} : { events };
  if (!s.session) {
    return { configured: true, id: s.id, state: "ready", healthy: !eventsDown, ...withEvents };
  }
  const state = s.session.state;
  return {
    configured: true,
    id: s.id,
    state: SESSION_WORDS[state] ?? state,
    healthy: state !== "refused" && state !== "failed" && !eventsDown,
    detail: s.session.lastError,
    ...withEvents,
  };
}

/** Why the listeners are not where the configuration wants them; empty when they are. */
function listenerProblems(parts: ViewParts): string[] {
  const out: string[] = [];
  const { port } = parts.settings.config.server;
  const channel = parts.channel.address;
  if (!channel) out.push("the channel listener is not listening");
  else if (channel.port !== port) {
    out.push(`the channel listener is on port ${channel.port}, not on the configured ${port}`);
  }
  const http = parts.http.status();
  if (typeof http.error === "string" && http.error !== "") out.push(http.error);
  else if (!parts.http.address) out.push("the HTTP listener is not listening");
  return out;
}

/** The page's view of the server now. */
export function statusView(parts: ViewParts): StatusView {
  const monitor = parts.monitor.status();
  const devices = new Map(monitor.devices.map((d) => [d.device, d]));
  const phones: PhoneView[] = parts.phones.status().map((p) => {
    const device = devices.get(p.extension);
    const blocked = p.blockedUntil !== undefined;
    return {
      extension: p.extension,
      address: hostPort(p.host, p.port),
      demo: p.demo,
      reachable: p.reachable,
      reachableSince: p.reachableSince,
      checkedAt: p.checkedAt,
      reachDetail: p.reachDetail,
      monitoredBy: device?.subscribers ?? 0,
      callsKnown: device !== undefined,
      calls: (device?.calls ?? []).map((c) => ({
        state: c.state,
        remote: c.remote,
        displayName: c.displayName,
      })),
      last: p.last && {
        at: p.last.at,
        command: p.last.command,
        ok: p.last.ok,
        reason: p.last.ok ? undefined : p.last.reason,
        detail: p.last.ok ? undefined : p.last.detail,
        ms: p.last.ms,
      },
      blockedUntil: blocked ? p.blockedUntil : undefined,
      blockedReason: blocked ? p.blockedReason : undefined,
      provisioning: provisioningView(monitor.provisioning[p.extension]),
    };
  });
  const channel = parts.channel.status();
  const http = parts.http.address;
  return {
    version: VERSION,
    now: parts.now,
    startedAt: parts.startedAt,
    listeners: {
      channel: parts.channel.address
        ? hostPort(parts.channel.address.hostname, parts.channel.address.port)
        : undefined,
      http: http ? hostPort(http.hostname, http.port) : undefined,
      problems: listenerProblems(parts),
      logFileProblem: parts.logFileProblem,
    },
    configuration: {
      file: parts.settings.config.file,
      valid: parts.valid,
      checkedAt: parts.checkedAt,
      findings: parts.findings.map((f) => ({
        level: f.level,
        file: f.file,
        line: f.line,
        message: f.message,
      })),
    },
    provider: providerView(parts.provider),
    phones,
    channels: channel.channels.map((c) => ({
      id: c.id,
      peer: c.peer,
      connectedSince: c.connectedSince,
      handshake: c.handshake,
      mode: c.mode,
      monitored: c.monitored,
      commands: c.commands,
    })),
    refusedChannels: channel.refused,
    problems: parts.problems,
    calls: callsView(parts.journal, parts.now),
  };
}

/** Calls the Calls view shows at most. */
const CALLS_SHOWN = 50;

/** Today's calls and missed calls per phone (docs/status-page.md §8). */
function callsView(journal: CallJournalReader, now: number): CallsView {
  const day = new Date(now);
  day.setHours(0, 0, 0, 0);
  const since = day.getTime();
  const unavailable = journal.unavailable();
  if (unavailable) return { unavailable, since, today: [], more: false, missed: [] };
  try {
    const page = journal.query({ since, limit: CALLS_SHOWN });
    return {
      since,
      today: page.calls,
      more: page.next !== undefined,
      missed: journal.countByDevice("missed", since),
    };
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    return {
      unavailable: `the call journal cannot be read: ${detail}`,
      since,
      today: [],
      more: false,
      missed: [],
    };
  }
}

/**
 * `/healthz` (docs/status-page.md §5): both listeners where the configuration wants them,
 * and the configuration file's latest text in effect.
 */
export function health(parts: ViewParts): Health {
  const reasons = listenerProblems(parts);
  if (!parts.valid) {
    reasons.push("the configuration file has errors; running on the last good settings");
  }
  return { ok: reasons.length === 0, reasons };
}

function provisioningView(
  p: Provisioning | undefined,
): PhoneView["provisioning"] {
  if (!p) return undefined;
  return "lines" in p ? { lines: p.lines } : { error: p.error };
}
