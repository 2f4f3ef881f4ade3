/**
 * The profiles and the simulated phones use only the event settings the vendors document,
 * as docs/yealink.md §4 and docs/snom.md §5.1 list them, and the Yealink profile subscribes
 * every documented event those lists give a notification.
 */

import assert from "node:assert/strict";
import { parseProfile, type Profile } from "../../src/config/mod.ts";
import { BUILTIN_PROFILES } from "../../src/server/mod.ts";
import { ACTION_SETTINGS, YEALINK_ACTION_SETTINGS } from "../../src/simulator/mod.ts";

const docs = (name: string) => Deno.readTextFile(new URL(`../../docs/${name}`, import.meta.url));

/** The table rows of the part of `text` between the headings `from` and `to`, as cells. */
function rows(text: string, from: string, to: string): string[][] {
  const part = text.slice(text.indexOf(from), text.indexOf(to, text.indexOf(from)));
  return part.split("\n").filter((l) => l.startsWith("| ") && l.includes("`")).map((l) =>
    l.split("|").slice(1, -1).map((c) => c.trim())
  );
}

const ticked = (cell: string) => [...cell.matchAll(/`([^`]+)`/g)].map((m) => m[1]);

async function profile(file: string): Promise<Profile> {
  const text = await Deno.readTextFile(`${BUILTIN_PROFILES}/${file}`);
  const { profile } = parseProfile(text, file);
  assert.ok(profile, file);
  return profile;
}

Deno.test("the Yealink profile and the simulated Yealink use only documented events, and every one the list maps", async () => {
  const table = rows(await docs("yealink.md"), "## 4.", "## 5.");
  const documented = new Set(table.flatMap((r) => ticked(r[0]).map((e) => `action_url.${e}`)));
  assert.ok(documented.has("action_url.reject_incoming_call"), "the table was read");
  for (const setting of Object.values(YEALINK_ACTION_SETTINGS)) {
    assert.ok(documented.has(setting!), `the simulator fires ${setting}`);
  }
  const subscribed = (await profile("yealink.cfg")).monitor!.notifications;
  for (const [notification, setting] of subscribed) {
    assert.ok(documented.has(setting), `yealink.cfg subscribes ${setting} (${notification})`);
  }
  for (const r of table) {
    const events = ticked(r[0]);
    const notifications = ticked(r[2]).filter((n) => /^on[A-Z]/.test(n));
    if (notifications.length === 0) continue;
    events.forEach((e, i) => {
      const n = notifications[Math.min(i, notifications.length - 1)];
      assert.equal(subscribed.get(n as never), `action_url.${e}`, `${e} is subscribed as ${n}`);
    });
  }
});

Deno.test("the SNOM profile and the simulated SNOM use only documented action URL settings", async () => {
  const table = rows(await docs("snom.md"), "### 5.1", "### 5.2");
  const documented = new Set(table.flatMap((r) => ticked(r[1])));
  assert.ok(documented.has("action_blind_transfer"), "the table was read");
  for (const setting of Object.values(ACTION_SETTINGS)) {
    assert.ok(documented.has(setting!), `the simulator fires ${setting}`);
  }
  for (const [n, setting] of (await profile("snom.cfg")).monitor!.notifications) {
    assert.ok(documented.has(setting), `snom.cfg subscribes ${setting} (${n})`);
  }
});
