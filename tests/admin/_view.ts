/** A status view for the page tests, at a fixed time. */

import type { StatusView } from "../../src/admin/mod.ts";

/** 2026-11-26 10:15:00 UTC. */
export const NOW = Date.UTC(2026, 10, 26, 10, 15, 0);

/** A view with two phones (one unreachable, one in a call), one channel and one problem. */
export function sampleView(overrides: Partial<StatusView> = {}): StatusView {
  return {
    version: "9.9.9",
    now: NOW,
    startedAt: NOW - 3_600_000,
    listeners: { channel: "0.0.0.0:26535", http: "0.0.0.0:26536", problems: [] },
    configuration: {
      file: "/srv/pcs/phone-companion.cfg",
      valid: true,
      findings: [{
        level: "warning",
        file: "/srv/pcs/phone-companion.cfg",
        line: 7,
        message: "unknown key 'serverprot', did you mean 'serverPort'?",
      }],
    },
    provider: { configured: false, state: "not configured", healthy: true },
    phones: [
      {
        extension: "101",
        address: "192.168.1.21:80",
        demo: false,
        reachable: "reachable",
        reachableSince: NOW - 600_000,
        checkedAt: NOW - 5_000,
        reachDetail: "answered HTTP 401",
        monitoredBy: 2,
        callsKnown: true,
        calls: [{ state: "connected", remote: "102", displayName: "<b>Jane</b>" }],
        last: { at: NOW - 60_000, command: "MakeCall", ok: true, ms: 42 },
      },
      {
        extension: "102",
        address: "192.168.1.22:80",
        demo: false,
        reachable: "unreachable",
        reachableSince: NOW - 120_000,
        checkedAt: NOW - 5_000,
        reachDetail: "connection refused",
        monitoredBy: 1,
        callsKnown: true,
        calls: [{ state: "connected", remote: "101", displayName: "" }],
        last: {
          at: NOW - 30_000,
          command: "AnswerCall",
          ok: false,
          reason: "PhoneUnreachable",
          detail: "cannot reach 192.168.1.22:80: connection refused",
          ms: 3,
        },
      },
    ],
    channels: [{
      id: 7,
      peer: "192.168.1.50:50123",
      connectedSince: NOW - 900_000,
      handshake: "STLI;Version=2",
      mode: "extended",
      monitored: ["101", "102"],
      commands: 12,
    }],
    refusedChannels: 0,
    problems: [{
      at: NOW - 120_000,
      level: "warning",
      area: "phones",
      message: "phone 102 at 192.168.1.22:80 is unreachable: connection refused",
      count: 1,
    }],
    ...overrides,
  };
}
