/**
 * Reachability checks (docs/status-page.md §4): a phone is checked without credentials, so a
 * check is never a failed login; changes are logged once; the rounds follow
 * `phoneCheckSeconds`.
 */

import assert from "node:assert/strict";
import { LogService } from "../../src/log/mod.ts";
import { PhoneRegistry } from "../../src/phones/mod.ts";
import { SimNetwork } from "../../src/simulator/mod.ts";
import { phoneLine, settingsFrom } from "../fakes/phone_settings.ts";
import { call, ManualClock } from "../helpers.ts";

/** Collects log lines for the length of a test. */
async function collectLog(): Promise<{ lines: string[]; service: LogService }> {
  const lines: string[] = [];
  const service = new LogService((line) => lines.push(line));
  await service.start("info");
  return { lines, service };
}

Deno.test("a phone that asks for a login is reachable by its 401, and no check is a failed login", async () => {
  const network = new SimNetwork();
  const phone = await network.addPhone({
    extension: "101",
    auth: "digest",
    username: "admin",
    password: "right",
  });
  const registry = new PhoneRegistry({ timeoutMs: 1000 });
  try {
    // Even with a wrong password on the phone= line: a check never sends it.
    await registry.apply(
      await settingsFrom(
        phoneLine("101", phone.port, "snom.cfg", { username: "admin", password: "wrong" }) +
          "\nphoneCheckSeconds = 3600",
      ),
    );
    for (let i = 0; i < 6; i++) await registry.checkNow();
    const [status] = registry.status();
    assert.equal(status.reachable, "reachable");
    assert.equal(status.reachDetail, "answered HTTP 401");
    assert.equal(phone.failedLogins, 0);
    assert.equal(phone.lockedUntil, 0);
    assert.ok(phone.requests.length >= 6, `${phone.requests.length} checks reached the phone`);
    for (const r of phone.requests) {
      assert.equal(r.method, "GET");
      assert.equal(r.target, "/");
      assert.ok(!r.headers.some(([name]) => name.toLowerCase() === "authorization"));
      assert.equal(r.outcome, 401);
    }
  } finally {
    await registry.close();
    await network.close();
  }
});

Deno.test("a phone that goes away is unreachable and back again, each change logged once", async () => {
  const log = await collectLog();
  const network = new SimNetwork();
  let phone = await network.addPhone({ extension: "101" });
  const port = phone.port;
  const registry = new PhoneRegistry({ timeoutMs: 1000 });
  try {
    await registry.apply(await settingsFrom(`${phoneLine("101", port)}\nphoneCheckSeconds = 3600`));
    await registry.checkNow();
    const up = registry.status()[0];
    assert.equal(up.reachable, "reachable");
    assert.ok(up.reachableSince !== undefined && up.checkedAt !== undefined);

    await phone.close();
    await registry.checkNow();
    await registry.checkNow();
    const down = registry.status()[0];
    assert.equal(down.reachable, "unreachable");
    assert.match(down.reachDetail ?? "", /refused|connect/i);
    const warnings = log.lines.filter((l) =>
      / WARN .*phone 101 at 127\.0\.0\.1:\d+ is unreachable/.test(l)
    );
    assert.equal(warnings.length, 1, log.lines.join("\n"));

    phone = await network.addPhone({ extension: "101", port });
    await registry.checkNow();
    await registry.checkNow();
    assert.equal(registry.status()[0].reachable, "reachable");
    const back = log.lines.filter((l) => / INFO .*phone 101 at .* is reachable again$/.test(l));
    assert.equal(back.length, 1, log.lines.join("\n"));
  } finally {
    await registry.close();
    await network.close();
    await log.service.close();
  }
});

Deno.test("a command's own reply tells whether the phone is reachable, without any check", async () => {
  const network = new SimNetwork();
  const phone = await network.addPhone({ extension: "101" });
  const registry = new PhoneRegistry({ timeoutMs: 1000 });
  try {
    await registry.apply(await settingsFrom(phoneLine("101", phone.port)));
    assert.equal(registry.status()[0].reachable, "unknown", "checks are off");
    assert.deepEqual(await registry.execute(call("101", "AnswerCall")), { ok: true });
    assert.equal(registry.status()[0].reachable, "reachable");
    await phone.close();
    assert.equal((await registry.execute(call("101", "AnswerCall"))).ok, false);
    assert.equal(registry.status()[0].reachable, "unreachable");
  } finally {
    await registry.close();
    await network.close();
  }
});

Deno.test("checks run at once, then every phoneCheckSeconds after the last round; 0 stops them", async () => {
  const clock = new ManualClock();
  const network = new SimNetwork();
  const phone = await network.addPhone({ extension: "101" });
  const registry = new PhoneRegistry({ timeoutMs: 1000, clock });
  const checks = () => phone.requests.filter((r) => r.target === "/").length;
  const settle = async (count: number) => {
    for (let i = 0; i < 200 && checks() < count; i++) await new Promise((r) => setTimeout(r, 5));
    // The round's end schedules the next one.
    await clock.nextTimer((ms) => ms === 60_000).catch(() => {});
  };
  try {
    await registry.apply(
      await settingsFrom(`${phoneLine("101", phone.port)}\nphoneCheckSeconds = 60`),
    );
    await settle(1);
    assert.equal(checks(), 1, "the first round runs at start");
    clock.advance(59_000);
    assert.equal(checks(), 1);
    clock.advance(1_000);
    await settle(2);
    assert.equal(checks(), 2, "the next round after phoneCheckSeconds");

    await registry.apply(
      await settingsFrom(`${phoneLine("101", phone.port)}\nphoneCheckSeconds = 0`),
    );
    assert.equal(clock.pending, 0, "no timer is left with checks off");
    clock.advance(600_000);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(checks(), 2);
  } finally {
    await registry.close();
    await network.close();
  }
});
