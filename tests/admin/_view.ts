/** Status views for the page tests: a small server and a big one, at fixed times. */

import type { PhoneView, StatusView } from "../../src/admin/mod.ts";

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

/** A view of `phones` phones and `channels` channels, every second phone in a call. */
export function bigView(phones: number, channels: number): StatusView {
  const base = sampleView();
  const list: PhoneView[] = [];
  for (let i = 0; i < phones; i++) {
    const extension = String(1000 + i);
    list.push({
      extension,
      address: `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}:80`,
      demo: false,
      reachable: i % 50 === 0 ? "unreachable" : "reachable",
      reachableSince: NOW - i * 1000,
      checkedAt: NOW - 1000,
      reachDetail: i % 50 === 0 ? "no answer within 5000 ms" : "answered HTTP 401",
      monitoredBy: i % 3,
      callsKnown: true,
      calls: i % 2 === 0
        ? [{ state: "connected", remote: `+4930${i}`, displayName: `Customer ${i}` }]
        : [],
      last: { at: NOW - i * 10, command: "MakeCall", ok: true, ms: 30 },
    });
  }
  return {
    ...base,
    phones: list,
    channels: Array.from({ length: channels }, (_, i) => ({
      id: i + 1,
      peer: `10.1.${Math.floor(i / 250)}.${(i % 250) + 1}:${40000 + i}`,
      connectedSince: NOW - i * 60_000,
      handshake: "STLI;Version=2",
      mode: "standard",
      monitored: [String(1000 + 2 * i), String(1001 + 2 * i)],
      commands: i * 3,
    })),
    problems: Array.from({ length: 100 }, (_, i) => ({
      at: NOW - i * 1000,
      level: i % 10 === 0 ? "error" : "warning",
      area: "phones",
      message: `phone ${1000 + i} at 10.0.0.${i + 1}:80 is unreachable: no answer within 5000 ms`,
      count: 1,
    })),
  };
}
