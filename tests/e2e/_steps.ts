/**
 * Steps of a call scenario over real sockets: do one thing (a channel command, or something
 * a person does on a simulated phone), wait until every phone has reported it, and collect
 * what each channel got, so the test can compare whole lines per device.
 */

import assert from "node:assert/strict";
import type { StliClient } from "../fakes/stli_client.ts";
import type { TestServer } from "./_server.ts";

/** What one step did to each channel: all its lines, and them split by device. */
export interface StepLines {
  readonly lines: string[];
  readonly replies: string[];
  readonly byDevice: Record<string, string[]>;
}

/**
 * Sends `what.command` on channel `what.on` (or runs `what`, something done on a phone), lets
 * every phone send its action URLs, and drains every channel. The issuer's reply is part of
 * its lines.
 */
export async function step(
  pcs: TestServer,
  channels: readonly StliClient[],
  what: { readonly on: StliClient; readonly command: string } | (() => unknown),
): Promise<StepLines[]> {
  let first: string[] = [];
  let issuer: StliClient | undefined;
  if (typeof what === "function") what();
  else {
    issuer = what.on;
    await issuer.sendLine(what.command);
    first = await issuer.sync();
  }
  await pcs.phonesIdle();
  return await Promise.all(channels.map(async (c) => {
    const lines = [...(c === issuer ? first : []), ...await c.sync()];
    return { lines, ...split(lines) };
  }));
}

/** Lines split into replies (`error_ind ...`) and each device's events (the device is the second token). */
function split(lines: readonly string[]): Pick<StepLines, "replies" | "byDevice"> {
  const replies: string[] = [];
  const byDevice: Record<string, string[]> = {};
  for (const line of lines) {
    if (line.startsWith("error_ind ")) replies.push(line);
    else (byDevice[line.split(" ")[1]] ??= []).push(line);
  }
  return { replies, byDevice };
}

/** The call reference in the one line of `lines` that `pattern` (with one group) matches. */
export function refIn(lines: readonly string[], pattern: RegExp): number {
  const found = lines.map((l) => pattern.exec(l)).filter((m) => m !== null);
  assert.equal(found.length, 1, `one line matching ${pattern} in ${JSON.stringify(lines)}`);
  return Number(found[0]![1]);
}

/** Asserts that `reply` comes before every event of `device` in `lines` (§3 ordering). */
export function assertReplyFirst(lines: readonly string[], reply: string, device: string): void {
  const at = lines.indexOf(reply);
  assert.ok(at >= 0, `${reply} in ${JSON.stringify(lines)}`);
  const firstEvent = lines.findIndex((l) =>
    !l.startsWith("error_ind ") && l.split(" ")[1] === device
  );
  assert.ok(firstEvent < 0 || at < firstEvent, `${reply} before the events of ${device}: ${lines}`);
}
